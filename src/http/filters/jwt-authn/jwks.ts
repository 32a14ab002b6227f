// JWKS parsing (RFC 7517) into node:crypto KeyObjects, once per snapshot: RSA, EC (P-256/384/521)
// and OKP (Ed25519) public keys. Keys that cannot be used (private-only, `use` other than `sig`,
// unknown kty, bad parameters) are skipped as Envoy's jwt_verify_lib skips them; a JWKS with no
// usable key at all is an error (Envoy: "Jwks doesn't have any valid public key").

import { createPublicKey, type KeyObject } from "node:crypto";

export interface JwkKey {
  kid: string | undefined;
  /** The JWK's `alg`, when it pins one. */
  alg: string | undefined;
  kty: "RSA" | "EC" | "OKP";
  /** EC curve / OKP subtype (`P-256`, `Ed25519`). */
  crv: string | undefined;
  key: KeyObject;
}

/** Parses a JWKS document (or a single JWK); throws with the reason when nothing usable is in it. */
export function parseJwks(text: string): JwkKey[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error("JWKS is not valid JSON");
  }
  if (doc === null || typeof doc !== "object") throw new Error("JWKS is not a JSON object");
  const o = doc as Record<string, unknown>;
  const list: unknown[] = Array.isArray(o["keys"]) ? o["keys"] : typeof o["kty"] === "string" ? [o] : [];
  if (!Array.isArray(o["keys"]) && list.length === 0) throw new Error('JWKS has no "keys" array');
  const out: JwkKey[] = [];
  for (const k of list) {
    const key = toKey(k);
    if (key !== undefined) out.push(key);
  }
  if (out.length === 0) throw new Error("JWKS doesn't have any valid public key");
  return out;
}

function toKey(k: unknown): JwkKey | undefined {
  if (k === null || typeof k !== "object") return undefined;
  const j = k as Record<string, unknown>;
  const kty = j["kty"];
  if (kty !== "RSA" && kty !== "EC" && kty !== "OKP") return undefined;
  if (j["use"] !== undefined && j["use"] !== "sig") return undefined;
  const kid = typeof j["kid"] === "string" ? j["kid"] : undefined;
  const alg = typeof j["alg"] === "string" ? j["alg"] : undefined;
  const crv = typeof j["crv"] === "string" ? j["crv"] : undefined;
  // Only the public members: a JWKS carrying a private key must not make us hold a private KeyObject.
  const pub: Record<string, unknown> = { kty };
  for (const m of kty === "RSA" ? ["n", "e"] : kty === "EC" ? ["crv", "x", "y"] : ["crv", "x"]) {
    if (typeof j[m] !== "string") return undefined;
    pub[m] = j[m];
  }
  try {
    const key = createPublicKey({ key: pub as never, format: "jwk" });
    return { kid, alg, kty, crv, key };
  } catch {
    return undefined;
  }
}
