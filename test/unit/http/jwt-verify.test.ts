// JWT parsing and signature checks (jwt_verify_lib's reasons) and JWKS parsing, without sockets.

import { describe, expect, it } from "vitest";
import { parseJwks } from "../../../src/http/filters/jwt-authn/jwks.js";
import { JwtStatus } from "../../../src/http/filters/jwt-authn/jwt-status.js";
import { parseJwt, verifyJwtSignature, type ParsedJwt } from "../../../src/http/filters/jwt-authn/jwt-token.js";
import { demoJwt, istioJwks, istioKey, keyPair, signJwt } from "../../helpers/jwt-tokens.js";

const seg = (v: unknown): string => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
const HDR = seg({ alg: "RS256" });

function parsed(token: string): ParsedJwt {
  const p = parseJwt(token);
  if (typeof p === "string") throw new Error(p);
  return p;
}

describe("parseJwt", () => {
  it("reads Istio's demo token", () => {
    const p = parsed(demoJwt());
    expect(p).toMatchObject({ alg: "RS256", iss: "testing@secure.istio.io", sub: "testing@secure.istio.io", exp: 4685989700, nbf: 0, aud: [] });
  });

  it.each([
    ["a.b", JwtStatus.BadFormat],
    ["a.b.c.d", JwtStatus.BadFormat],
    [`!!.${seg({})}.x`, JwtStatus.HeaderBadBase64],
    [`${seg("[1]")}.${seg({})}.x`, JwtStatus.HeaderBadJson],
    [`${seg({ typ: "JWT" })}.${seg({})}.x`, JwtStatus.HeaderBadAlg],
    [`${seg({ alg: "HS256" })}.${seg({})}.x`, JwtStatus.HeaderNotImplementedAlg],
    [`${seg({ alg: "none" })}.${seg({})}.`, JwtStatus.HeaderNotImplementedAlg],
    [`${seg({ alg: "RS256", kid: 5 })}.${seg({})}.x`, JwtStatus.HeaderBadKid],
    [`${HDR}.!!.x`, JwtStatus.PayloadBadBase64],
    [`${HDR}.${seg("nope")}.x`, JwtStatus.PayloadBadJson],
    [`${HDR}.${seg({ iss: 1 })}.x`, JwtStatus.IssNotString],
    [`${HDR}.${seg({ sub: {} })}.x`, JwtStatus.SubNotString],
    [`${HDR}.${seg({ exp: "soon" })}.x`, JwtStatus.ExpNotInteger],
    [`${HDR}.${seg({ nbf: -1 })}.x`, JwtStatus.NbfNotInteger],
    [`${HDR}.${seg({ iat: "x" })}.x`, JwtStatus.IatNotInteger],
    [`${HDR}.${seg({ aud: [1] })}.x`, JwtStatus.AudNotString],
    [`${HDR}.${seg({})}.!!`, JwtStatus.SignatureBadBase64],
  ])("%s → %s", (token, status) => {
    expect(parseJwt(token)).toBe(status);
  });
});

describe("verifyJwtSignature", () => {
  it("RS256 with Istio's key and JWKS; a changed payload fails", () => {
    const keys = parseJwks(istioJwks());
    expect(verifyJwtSignature(parsed(demoJwt()), keys)).toBeUndefined();
    const [h, , s] = demoJwt().split(".");
    expect(verifyJwtSignature(parsed(`${h}.${seg({ iss: "x" })}.${s}`), keys)).toBe(JwtStatus.VerificationFail);
  });

  it("PS256, ES256, ES384 and EdDSA with generated keys; the key type and curve must fit the alg", () => {
    const rsa = { privateKey: istioKey(), jwk: JSON.parse(istioJwks()).keys[0] as Record<string, unknown> };
    const e256 = keyPair("ec256", "e256");
    const e384 = keyPair("ec384", "e384");
    const ed = keyPair("ed25519", "ed");
    const keys = parseJwks(JSON.stringify({ keys: [rsa.jwk, e256.jwk, e384.jwk, ed.jwk] }));
    for (const [alg, k, kid] of [["PS256", rsa.privateKey, rsa.jwk["kid"]], ["ES256", e256.privateKey, "e256"], ["ES384", e384.privateKey, "e384"], ["EdDSA", ed.privateKey, "ed"]] as const) {
      expect(verifyJwtSignature(parsed(signJwt({ iss: "i" }, { alg, key: k, kid: kid as string })), keys), alg).toBeUndefined();
      // Without a kid every fitting key is tried.
      expect(verifyJwtSignature(parsed(signJwt({ iss: "i" }, { alg, key: k, kid: null })), keys), `${alg} no kid`).toBeUndefined();
    }
    // ES384 signature claiming ES256: the P-256 key is the only fit, and it does not verify.
    const forged = signJwt({ iss: "i" }, { alg: "ES384", key: e384.privateKey, kid: null }).split(".");
    const es256Header = seg({ alg: "ES256" });
    expect(verifyJwtSignature(parsed(`${es256Header}.${forged[1]}.${forged[2]}`), keys)).toBe(JwtStatus.VerificationFail);
    // A key pinned to another alg does not count.
    const pinned = parseJwks(JSON.stringify({ keys: [{ ...e256.jwk, alg: "ES384" }] }));
    expect(verifyJwtSignature(parsed(signJwt({ iss: "i" }, { alg: "ES256", key: e256.privateKey, kid: "e256" })), pinned)).toBe(JwtStatus.JwksKidAlgMismatch);
  });
});

describe("parseJwks", () => {
  it("keeps only public signing keys; private members are not kept", () => {
    const e = keyPair("ec256", "e");
    const priv = e.privateKey.export({ format: "jwk" });
    const keys = parseJwks(JSON.stringify({ keys: [{ ...priv, kid: "p" }, { ...e.jwk, use: "enc" }, { kty: "oct", k: "AAAA" }, { kty: "RSA", n: 1 }] }));
    expect(keys.map((k) => [k.kid, k.key.type])).toEqual([["p", "public"]]);
  });

  it.each([
    ["{", "JWKS is not valid JSON"],
    ["[]", 'JWKS has no "keys" array'],
    ['{"keys":[]}', "JWKS doesn't have any valid public key"],
    ['{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}', "JWKS doesn't have any valid public key"],
  ])("%s → %s", (text, msg) => {
    expect(() => parseJwks(text)).toThrow(msg);
  });
});
