// JWT test material: Istio's sample key/JWKS/tokens (istio/security/tools/jwt/samples) and a
// signer for tokens the tests need (expired, not yet valid, other audiences, other algorithms).

import { createPrivateKey, generateKeyPairSync, sign, constants, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { sharedPath } from "./shared-dir.js";

const SAMPLES = sharedPath("istio-samples", "istio", "security", "tools", "jwt", "samples");
export const ISTIO_ISSUER = "testing@secure.istio.io";
export const ISTIO_KID = "DHFbpoIUqrY8t2zpA2qXfCmr5VO5ZEr4RzHU_-envvQ";
export const istioJwks = (): string => readFileSync(`${SAMPLES}/jwks.json`, "utf8");
export const istioKey = (): KeyObject => createPrivateKey(readFileSync(`${SAMPLES}/key.pem`, "utf8"));
export const demoJwt = (): string => readFileSync(`${SAMPLES}/demo.jwt`, "utf8").trim();
export const groupsScopeJwt = (): string => readFileSync(`${SAMPLES}/groups-scope.jwt`, "utf8").trim();

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString("base64url");

/** Signs `payload` (JOSE: ES* as r||s, PS* with the digest-length salt). */
export function signJwt(payload: Record<string, unknown>, opts: { key?: KeyObject; alg?: string; kid?: string | null; header?: Record<string, unknown> } = {}): string {
  const alg = opts.alg ?? "RS256";
  const header: Record<string, unknown> = { alg, typ: "JWT", ...opts.header };
  const kid = opts.kid === undefined ? ISTIO_KID : opts.kid;
  if (kid !== null) header["kid"] = kid;
  const input = `${b64(header)}.${b64(payload)}`;
  const key = opts.key ?? istioKey();
  const hash = alg === "EdDSA" ? null : `sha${alg.slice(2)}`;
  let sig: Buffer;
  if (alg.startsWith("ES")) sig = sign(hash, Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
  else if (alg.startsWith("PS")) sig = sign(hash, Buffer.from(input), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
  else sig = sign(hash, Buffer.from(input), key);
  return `${input}.${sig.toString("base64url")}`;
}

/** A fresh key pair and its public JWK (with `kid`). */
export function keyPair(kind: "ec256" | "ec384" | "ed25519" | "rsa", kid: string): { privateKey: KeyObject; jwk: Record<string, unknown> } {
  const kp =
    kind === "ec256"
      ? generateKeyPairSync("ec", { namedCurve: "P-256" })
      : kind === "ec384"
        ? generateKeyPairSync("ec", { namedCurve: "P-384" })
        : kind === "ed25519"
          ? generateKeyPairSync("ed25519")
          : generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { privateKey: kp.privateKey, jwk: { ...kp.publicKey.export({ format: "jwk" }), kid } };
}
