// evaluateHashPolicies: a request's consistent-hash key from a route's hash policies, as Envoy's
// HashPolicyImpl computes it (policies in order, combined by rotate-and-xor, `terminal` stops once
// a hash exists; a cookie policy with a ttl generates the cookie when the request has none).

import type { HashPolicy } from "../config/model/types.js";
import type { HashInput, HashPolicyEvaluator, HashResult } from "./cluster-api.js";
import { hex64, xxHash64 } from "./xxhash64.js";

const MASK = 0xffffffffffffffffn;

/**
 * HashInput may carry the downstream port: Envoy hashes `ip:port` of the downstream connection to
 * generate a cookie value, so clients behind one NAT get different cookies.
 */
export type HashInputWithPort = HashInput & { sourcePort?: number };

export function evaluateHashPolicies(policies: readonly HashPolicy[], input: HashInputWithPort): HashResult {
  let hash: bigint | undefined;
  let setCookie: string | undefined;
  for (const policy of policies) {
    let h: bigint | undefined;
    if (policy.header !== undefined) {
      h = headerHash(policy.header.headerName, input);
    } else if (policy.cookie !== undefined) {
      const c = policy.cookie;
      const value = cookieValue(input, c.name);
      if (value !== undefined && value !== "") {
        h = xxHash64(value);
      } else if (c.ttlMs !== undefined) {
        const generated = hex64(xxHash64(`${input.sourceIp}:${input.sourcePort ?? 0}`));
        setCookie = makeSetCookie(c.name, generated, c.ttlMs, c.path);
        h = xxHash64(generated);
      }
    } else if (policy.connectionProperties?.sourceIp === true) {
      if (input.sourceIp !== "") h = xxHash64(input.sourceIp);
    } else if (policy.queryParameter !== undefined) {
      const v = queryValue(input.path, policy.queryParameter.name);
      if (v !== undefined) h = xxHash64(v);
    }
    if (h !== undefined) {
      // Rotating the old value keeps duplicate policies from cancelling out (Envoy).
      hash = hash === undefined ? h : (((hash << 1n) | (hash >> 63n)) & MASK) ^ h;
    }
    if (policy.terminal === true && hash !== undefined) break;
  }
  return setCookie === undefined ? { hash } : { hash, setCookie };
}

/** evaluateHashPolicies is the router's HashPolicyEvaluator. */
export const hashPolicyEvaluator: HashPolicyEvaluator = evaluateHashPolicies;

/** Envoy hashes every value of the header, sorted so their order does not matter, chaining the seed. */
function headerHash(name: string, input: HashInput): bigint | undefined {
  const lower = name.toLowerCase();
  if (lower === ":path") return xxHash64(input.path);
  const values = input.headers.getAll(lower === ":authority" ? "host" : lower);
  if (values.length === 0) return undefined;
  if (values.length === 1) return xxHash64(values[0]!);
  values.sort();
  let seed = 0n;
  for (const v of values) seed = xxHash64(v, seed);
  return seed;
}

/** The first cookie named `name` across the Cookie headers, quotes stripped (Envoy parseCookieValue). */
export function cookieValue(input: HashInput, name: string): string | undefined {
  for (const header of input.headers.getAll("cookie")) {
    for (const part of header.split(";")) {
      const eq = part.indexOf("=");
      if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
      let v = part.slice(eq + 1).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      return v;
    }
  }
  return undefined;
}

/** Envoy makeSetCookieValue: `name="value"; Max-Age=s; Path=p; HttpOnly` (Max-Age omitted for ttl 0: a session cookie). */
export function makeSetCookie(name: string, value: string, ttlMs: number, path: string | undefined): string {
  let out = `${name}="${value}"`;
  const maxAge = Math.floor(ttlMs / 1000);
  if (maxAge > 0) out += `; Max-Age=${maxAge}`;
  if (path !== undefined && path !== "") out += `; Path=${path}`;
  return out + "; HttpOnly";
}

/** The raw (not percent-decoded) first value of query parameter `name`; "" for a bare `?name`. */
function queryValue(path: string, name: string): string | undefined {
  const q = path.indexOf("?");
  if (q === -1) return undefined;
  let end = path.indexOf("#", q);
  if (end === -1) end = path.length;
  for (const param of path.slice(q + 1, end).split("&")) {
    const eq = param.indexOf("=");
    if ((eq === -1 ? param : param.slice(0, eq)) === name) return eq === -1 ? "" : param.slice(eq + 1);
  }
  return undefined;
}
