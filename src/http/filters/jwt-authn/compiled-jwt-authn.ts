// CompiledJwtAuthn: a JwtAuthentication config compiled once per snapshot — JWKS parsed into
// KeyObjects, token locations merged across providers (Envoy's extractor order: headers, then
// query parameters, then cookies), audiences normalised. `check` decides one request synchronously.
//
// Requirement: istiod's "any provider, or allow_missing": no token passes (authorization decides),
// a token must verify against the provider of its issuer. A provider whose JWKS the supervisor has
// not fetched yet (remoteJwks only) is "pending": a token of its issuer passes unverified, so a
// valid token is never refused because its keys are still on the way.

import type { JwtAuthentication, JwtProvider } from "../../../config/model/jwt-authn.js";
import type { RequestAuthInfo } from "../../../observability/stream-info.js";
import type { RequestHeaders } from "../../http-message.js";
import { parseJwks, type JwkKey } from "./jwks.js";
import { parseJwt, verifyJwtSignature, type ParsedJwt } from "./jwt-token.js";
import { JwtStatus, type JwtStatusValue } from "./jwt-status.js";

interface CompiledProvider {
  name: string;
  issuer: string;
  /** Normalised audiences; empty = any. */
  audiences: Set<string>;
  /** undefined = pending (JWKS not fetched yet). */
  keys: JwkKey[] | undefined;
  forward: boolean;
  forwardPayloadHeader: string | undefined;
  claimToHeaders: Array<{ header: string; path: string[] }>;
  skewSec: number;
  /** Claims whose space-delimited string becomes a list in request.auth.claims (Envoy's normalize_payload_in_metadata). */
  spaceDelimited: string[];
}

interface Location {
  kind: "header" | "param" | "cookie";
  /** Lower-case header name / parameter / cookie name. */
  name: string;
  prefix: string;
  providers: CompiledProvider[];
}

export type JwtOutcome =
  | { kind: "missing" }
  | { kind: "pending" }
  | { kind: "denied"; status: JwtStatusValue }
  | { kind: "ok"; auth: RequestAuthInfo };

/** Envoy's audience comparison ignores the scheme and a trailing slash. */
function normAudience(a: string): string {
  let s = a.startsWith("https://") ? a.slice(8) : a.startsWith("http://") ? a.slice(7) : a;
  if (s.endsWith("/")) s = s.slice(0, -1);
  return s;
}

export class CompiledJwtAuthn {
  readonly locations: Location[] = [];
  readonly bypassCorsPreflight: boolean;
  /** Lower-case payload/claim header names: a client's own copies are removed first (Envoy's sanitizePayloadHeaders). */
  private readonly payloadHeaders: string[];
  private readonly hasParams: boolean;
  private readonly hasCookies: boolean;

  constructor(config: JwtAuthentication) {
    this.bypassCorsPreflight = config.bypassCorsPreflight === true;
    const headers: Location[] = [];
    const params: Location[] = [];
    const cookies: Location[] = [];
    const at = (list: Location[], kind: Location["kind"], name: string, prefix: string): Location => {
      let l = list.find((x) => x.name === name && x.prefix === prefix);
      if (l === undefined) list.push((l = { kind, name, prefix, providers: [] }));
      return l;
    };
    for (const [name, p] of Object.entries(config.providers)) {
      const cp = compileProvider(name, p);
      const none = (p.fromHeaders?.length ?? 0) === 0 && (p.fromParams?.length ?? 0) === 0 && (p.fromCookies?.length ?? 0) === 0;
      // Envoy's default locations: `Authorization: Bearer <token>` and the access_token parameter.
      const fh = none ? [{ name: "Authorization", valuePrefix: "Bearer " }] : (p.fromHeaders ?? []);
      const fp = none ? ["access_token"] : (p.fromParams ?? []);
      for (const h of fh) at(headers, "header", h.name.toLowerCase(), h.valuePrefix ?? "").providers.push(cp);
      for (const q of fp) at(params, "param", q, "").providers.push(cp);
      for (const c of p.fromCookies ?? []) at(cookies, "cookie", c, "").providers.push(cp);
    }
    this.locations.push(...headers, ...params, ...cookies);
    const names = new Set<string>();
    for (const p of Object.values(config.providers)) {
      if (p.forwardPayloadHeader !== undefined) names.add(p.forwardPayloadHeader.toLowerCase());
      for (const c of p.claimToHeaders ?? []) names.add(c.headerName.toLowerCase());
    }
    this.payloadHeaders = [...names];
    this.hasParams = params.length > 0;
    this.hasCookies = cookies.length > 0;
  }

  /** Finds the request's token, verifies it, and on success rewrites the headers as configured. */
  check(req: RequestHeaders, nowMs: number): JwtOutcome {
    // Headers only a verified token may set: never let the client supply them.
    for (const h of this.payloadHeaders) req.headers.remove(h);
    let query: URLSearchParams | undefined;
    let cookieMap: Map<string, string> | undefined;
    for (const loc of this.locations) {
      let token: string | undefined;
      if (loc.kind === "header") {
        const v = req.headers.get(loc.name);
        if (v === undefined || !v.startsWith(loc.prefix)) continue;
        token = v.slice(loc.prefix.length).trim();
      } else if (loc.kind === "param") {
        if (!this.hasParams) continue;
        if (query === undefined) {
          // Most requests have no query string: no parse, no allocation.
          const q = req.path.indexOf("?");
          if (q < 0) continue;
          query = new URLSearchParams(req.path.slice(q + 1));
        }
        token = query.get(loc.name) ?? undefined;
      } else {
        if (!this.hasCookies || !req.headers.has("cookie")) continue;
        cookieMap ??= parseCookies(req.headers.getAll("cookie"));
        token = cookieMap.get(loc.name);
      }
      if (token === undefined || token === "") continue;
      return this.verify(req, loc, token, nowMs);
    }
    return { kind: "missing" };
  }

  private verify(req: RequestHeaders, loc: Location, token: string, nowMs: number): JwtOutcome {
    const jwt = parseJwt(token);
    if (typeof jwt === "string") return { kind: "denied", status: jwt };
    // Only a provider that both reads this location and names this issuer may verify it.
    let first: JwtStatusValue | undefined;
    let pending = false;
    for (const p of loc.providers) {
      if (p.issuer !== jwt.iss) continue;
      if (p.keys === undefined) {
        pending = true;
        continue;
      }
      const s = checkWith(p, jwt, nowMs);
      if (s === undefined) {
        if (!p.forward && loc.kind === "header") req.headers.remove(loc.name);
        if (p.forwardPayloadHeader !== undefined) req.headers.set(p.forwardPayloadHeader, jwt.payloadB64);
        for (const c of p.claimToHeaders) {
          const v = claimString(jwt.payload, c.path);
          if (v !== undefined) req.headers.set(c.header, v);
        }
        const azp = jwt.payload["azp"];
        return { kind: "ok", auth: { principal: `${jwt.iss}/${jwt.sub}`, issuer: jwt.iss, subject: jwt.sub, audiences: jwt.aud, presenter: typeof azp === "string" ? azp : "", claims: normalizeClaims(jwt.payload, p.spaceDelimited) } };
      }
      first ??= s;
    }
    if (first !== undefined) return { kind: "denied", status: first };
    if (pending) return { kind: "pending" };
    return { kind: "denied", status: JwtStatus.UnknownIssuer };
  }
}

/** jwt_verify_lib's order: time constraints, audiences, then the signature. */
function checkWith(p: CompiledProvider, jwt: ParsedJwt, nowMs: number): JwtStatusValue | undefined {
  const now = Math.floor(nowMs / 1000);
  if (jwt.nbf !== 0 && now + p.skewSec < jwt.nbf) return JwtStatus.NotYetValid;
  if (jwt.exp !== 0 && now > jwt.exp + p.skewSec) return JwtStatus.Expired;
  if (p.audiences.size > 0 && !jwt.aud.some((a) => p.audiences.has(normAudience(a)))) return JwtStatus.AudienceNotAllowed;
  return verifyJwtSignature(jwt, p.keys!);
}

function compileProvider(name: string, p: JwtProvider): CompiledProvider {
  let keys: JwkKey[] | undefined;
  if (p.localJwks !== undefined) {
    try {
      keys = parseJwks(p.localJwks.inlineString);
    } catch (e) {
      throw new Error(`jwt_authn provider ${name}: ${(e as Error).message}`);
    }
  }
  return {
    name,
    issuer: p.issuer,
    audiences: new Set((p.audiences ?? []).map(normAudience)),
    keys,
    forward: p.forward === true,
    forwardPayloadHeader: p.forwardPayloadHeader,
    claimToHeaders: (p.claimToHeaders ?? []).map((c) => ({ header: c.headerName, path: c.claimName.split(".") })),
    skewSec: p.clockSkewSeconds ?? 60,
    spaceDelimited: p.normalizePayloadInMetadata?.spaceDelimitedClaims ?? [],
  };
}

/** `scope: "a b"` → `["a", "b"]` for the listed claims (a copy only when one needs splitting). */
function normalizeClaims(payload: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  let out = payload;
  for (const n of names) {
    const v = payload[n];
    if (typeof v !== "string") continue;
    if (out === payload) out = { ...payload };
    out[n] = v.split(" ").filter((x) => x !== "");
  }
  return out;
}

/** A claim as a header value: strings as they are, numbers and booleans printed; nested by `a.b`. */
function claimString(payload: Record<string, unknown>, path: string[]): string | undefined {
  let v: unknown = payload;
  for (const k of path) {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return undefined;
}

function parseCookies(values: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of values) {
    for (const part of line.split(";")) {
      const eq = part.indexOf("=");
      if (eq < 0) continue;
      const k = part.slice(0, eq).trim();
      if (!m.has(k)) m.set(k, part.slice(eq + 1).trim());
    }
  }
  return m;
}
