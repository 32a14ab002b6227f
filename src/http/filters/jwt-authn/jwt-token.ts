// One JWT (RFC 7519, JWS compact form): parsing with jwt_verify_lib's checks and failure reasons,
// and signature verification against a provider's JWKS with node:crypto.

import { constants, verify as cryptoVerify } from "node:crypto";
import type { JwkKey } from "./jwks.js";
import { JwtStatus, type JwtStatusValue } from "./jwt-status.js";

export interface ParsedJwt {
  alg: string;
  kid: string | undefined;
  iss: string;
  sub: string;
  aud: string[];
  /** Seconds since the epoch; 0 = absent. */
  exp: number;
  nbf: number;
  payload: Record<string, unknown>;
  /** The payload segment as sent (Envoy forwards it as is in forward_payload_header). */
  payloadB64: string;
  /** `header.payload`, the signed input. */
  signedInput: string;
  signature: Buffer;
}

interface AlgSpec {
  kty: JwkKey["kty"];
  hash: string | null;
  pss?: boolean;
  /** EC: the curve the key must be on. */
  crv?: string;
}

/** The algorithms we verify; `none` and HMAC are not among them (`Jwt header [alg] is not supported`). */
const ALGS: Record<string, AlgSpec> = {
  RS256: { kty: "RSA", hash: "sha256" },
  RS384: { kty: "RSA", hash: "sha384" },
  RS512: { kty: "RSA", hash: "sha512" },
  PS256: { kty: "RSA", hash: "sha256", pss: true },
  PS384: { kty: "RSA", hash: "sha384", pss: true },
  PS512: { kty: "RSA", hash: "sha512", pss: true },
  ES256: { kty: "EC", hash: "sha256", crv: "P-256" },
  ES384: { kty: "EC", hash: "sha384", crv: "P-384" },
  ES512: { kty: "EC", hash: "sha512", crv: "P-521" },
  EdDSA: { kty: "OKP", hash: null, crv: "Ed25519" },
};

const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

function b64(seg: string): Buffer | undefined {
  return B64URL.test(seg) ? Buffer.from(seg, "base64url") : undefined;
}

function jsonObject(buf: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(buf.toString("utf8"));
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function intClaim(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;
}

/** Parses a compact JWS; a string is the failure reason. */
export function parseJwt(token: string): ParsedJwt | JwtStatusValue {
  const d1 = token.indexOf(".");
  const d2 = d1 < 0 ? -1 : token.indexOf(".", d1 + 1);
  if (d1 < 0 || d2 < 0 || token.indexOf(".", d2 + 1) >= 0) return JwtStatus.BadFormat;
  const hb = b64(token.slice(0, d1));
  if (hb === undefined) return JwtStatus.HeaderBadBase64;
  const header = jsonObject(hb);
  if (header === undefined) return JwtStatus.HeaderBadJson;
  const alg = header["alg"];
  if (typeof alg !== "string") return JwtStatus.HeaderBadAlg;
  if (ALGS[alg] === undefined) return JwtStatus.HeaderNotImplementedAlg;
  const kid = header["kid"];
  if (kid !== undefined && typeof kid !== "string") return JwtStatus.HeaderBadKid;
  const payloadB64 = token.slice(d1 + 1, d2);
  const pb = b64(payloadB64);
  if (pb === undefined) return JwtStatus.PayloadBadBase64;
  const payload = jsonObject(pb);
  if (payload === undefined) return JwtStatus.PayloadBadJson;
  const iss = payload["iss"] ?? "";
  if (typeof iss !== "string") return JwtStatus.IssNotString;
  const sub = payload["sub"] ?? "";
  if (typeof sub !== "string") return JwtStatus.SubNotString;
  let exp = 0;
  let nbf = 0;
  if (payload["iat"] !== undefined && intClaim(payload["iat"]) === undefined) return JwtStatus.IatNotInteger;
  if (payload["nbf"] !== undefined) {
    const v = intClaim(payload["nbf"]);
    if (v === undefined) return JwtStatus.NbfNotInteger;
    nbf = v;
  }
  if (payload["exp"] !== undefined) {
    const v = intClaim(payload["exp"]);
    if (v === undefined) return JwtStatus.ExpNotInteger;
    exp = v;
  }
  let aud: string[] = [];
  const a = payload["aud"];
  if (typeof a === "string") aud = [a];
  else if (Array.isArray(a)) {
    if (!a.every((x) => typeof x === "string")) return JwtStatus.AudNotString;
    aud = a as string[];
  } else if (a !== undefined) return JwtStatus.AudNotString;
  const signature = b64(token.slice(d2 + 1));
  if (signature === undefined) return JwtStatus.SignatureBadBase64;
  return { alg, kid, iss, sub, aud, exp, nbf, payload, payloadB64, signedInput: token.slice(0, d2), signature };
}

/**
 * Verifies the signature with the JWKS keys that fit (kid when the token names one, the key's alg
 * when it pins one, the key type and curve the algorithm needs): no fitting key →
 * `Jwks doesn't have key to match kid or alg from Jwt`; fitting keys but no valid signature →
 * `Jwt verification fails`.
 */
export function verifyJwtSignature(jwt: ParsedJwt, keys: readonly JwkKey[]): JwtStatusValue | undefined {
  const spec = ALGS[jwt.alg]!;
  let tried = false;
  const data = Buffer.from(jwt.signedInput, "latin1");
  for (const k of keys) {
    if (jwt.kid !== undefined && k.kid !== undefined && k.kid !== jwt.kid) continue;
    if (k.alg !== undefined && k.alg !== jwt.alg) continue;
    if (k.kty !== spec.kty) continue;
    if (spec.crv !== undefined && k.crv !== spec.crv) continue;
    tried = true;
    let ok = false;
    try {
      if (spec.kty === "RSA") {
        ok = cryptoVerify(spec.hash, data, spec.pss ? { key: k.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } : k.key, jwt.signature);
      } else if (spec.kty === "EC") {
        // JOSE carries r||s (IEEE P1363), not DER.
        ok = cryptoVerify(spec.hash, data, { key: k.key, dsaEncoding: "ieee-p1363" }, jwt.signature);
      } else {
        ok = cryptoVerify(null, data, k.key, jwt.signature);
      }
    } catch {
      ok = false;
    }
    if (ok) return undefined;
  }
  return tried ? JwtStatus.VerificationFail : JwtStatus.JwksKidAlgMismatch;
}
