// Istio RequestAuthentication (security.istio.io/v1, v1beta1) → Envoy jwt_authn on this proxy's
// inbound HTTP connection managers, as istiod builds it (pilot/pkg/security/authn
// convertToEnvoyJwtConfig): the jwtRules of every RequestAuthentication that selects the proxy
// (root namespace mesh-wide, its namespace, a matching selector) are merged into one filter:
// rules sorted by issuer, providers `origins-<n>`, a requirement that lets a request without a
// token pass to authorization, CORS preflight bypassed, `scope` / `permission` split into lists.
// jwksUri keys are inlined (local_jwks) from the supervisor's JWKS resolver, as istiod inlines
// them; a jwksUri whose keys are not fetched yet stays a remote_jwks provider, which the filter
// treats as pending (its tokens pass unverified) — see README "RequestAuthentication".

import { parseJwks } from "../../http/filters/jwt-authn/jwks.js";
import type { JwtAuthentication, JwtProvider } from "../model/jwt-authn.js";
import { HTTP_CONNECTION_MANAGER, HTTP_JWT_AUTHN_FILTER } from "../model/types.js";
import type { FieldPath } from "./doc-issues.js";
import { parseDurationMs } from "./duration.js";
import { insertHttpFilter } from "./http-filter-order.js";
import type { JwksLookup } from "./jwks-lookup.js";
import type { ConfigRef } from "./parsed-config.js";
import type { ParsedSecurity, SecurityContext } from "./security.js";
import type { SpecReader } from "./spec-reader.js";
import { labelsMatch } from "./workload-selector.js";
import { parsePolicyTarget, TARGETED_NOT_APPLIED } from "./policy-target.js";

/** istiod's JWKS fetch timeout when a rule sets none (PILOT_JWT_... default 5 s). */
export const DEFAULT_JWKS_TIMEOUT_MS = 5000;
/** istiod's PILOT_JWT_PUB_KEY_REFRESH_INTERVAL. */
export const JWKS_REFRESH_MS = 20 * 60_000;

export interface JwtRule {
  issuer: string;
  audiences?: string[];
  jwksUri?: string;
  jwks?: string;
  fromHeaders?: Array<{ name: string; prefix?: string }>;
  fromParams?: string[];
  fromCookies?: string[];
  outputPayloadToHeader?: string;
  outputClaimToHeaders?: Array<{ header: string; claim: string }>;
  forwardOriginalToken?: boolean;
  timeoutMs?: number;
}

export interface ParsedRequestAuthentication {
  ref: ConfigRef;
  /** metadata.creationTimestamp (istiod orders same-level resources by age). */
  createdAt?: string;
  /** selector.matchLabels; undefined = every workload of the namespace. */
  selector?: Record<string, string>;
  /** targetRef(s) set: for gateways / waypoints, never a sidecar. */
  targeted?: boolean;
  jwtRules: JwtRule[];
}

const RULE_FIELDS = ["issuer", "audiences", "jwksUri", "jwks", "fromHeaders", "fromParams", "fromCookies", "outputPayloadToHeader", "outputClaimToHeaders", "forwardOriginalToken", "timeout"];
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function validJwksUri(uri: string): string | undefined {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return `invalid jwksUri "${uri}"`;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return `jwksUri "${uri}": scheme must be http or https`;
  if (u.hostname === "") return `jwksUri "${uri}": host must be set`;
  return undefined;
}

function nonEmpty(r: SpecReader, vs: string[] | undefined, p: FieldPath, what: string): void {
  (vs ?? []).forEach((v, i) => {
    if (v === "") r.issues.error([...p, i], `${what} must be non-empty`);
  });
}

function parseRule(r: SpecReader, v: unknown, p: FieldPath): JwtRule | undefined {
  const o = r.obj(v, p, RULE_FIELDS);
  if (!o) return undefined;
  const issuer = r.str(o, "issuer", p) ?? "";
  if (issuer === "") r.issues.error([...p, "issuer"], "issuer must be set");
  const rule: JwtRule = { issuer };
  const aud = r.strArr(o, "audiences", p);
  if (aud !== undefined) {
    nonEmpty(r, aud, [...p, "audiences"], "audience");
    if (aud.length > 0) rule.audiences = aud;
  }
  const uri = r.str(o, "jwksUri", p);
  if (uri !== undefined && uri !== "") {
    const bad = validJwksUri(uri);
    if (bad !== undefined) r.issues.error([...p, "jwksUri"], bad);
    else rule.jwksUri = uri;
  }
  const jwks = r.str(o, "jwks", p);
  if (jwks !== undefined && jwks !== "") {
    // Checked here so a bad inline JWKS is a config error at its line, not a refused snapshot.
    try {
      parseJwks(jwks);
      rule.jwks = jwks;
    } catch (e) {
      r.issues.error([...p, "jwks"], `jwks is not a valid JSON Web Key Set: ${(e as Error).message}`);
    }
    if (uri !== undefined && uri !== "") r.issues.warn([...p, "jwksUri"], "jwks and jwksUri are both set: the inline jwks is used");
  }
  const hs = r.arr(o, "fromHeaders", p);
  if (hs !== undefined) {
    rule.fromHeaders = [];
    hs.forEach((h, i) => {
      const hp = [...p, "fromHeaders", i];
      const ho = r.obj(h, hp, ["name", "prefix"]);
      if (!ho) return;
      const name = r.str(ho, "name", hp) ?? "";
      if (name === "") r.issues.error([...hp, "name"], "location header name must be non-empty");
      else if (!HEADER_NAME.test(name)) r.issues.error([...hp, "name"], `invalid header name "${name}"`);
      const prefix = r.str(ho, "prefix", hp);
      rule.fromHeaders!.push(prefix !== undefined && prefix !== "" ? { name, prefix } : { name });
    });
  }
  const ps = r.strArr(o, "fromParams", p);
  if (ps !== undefined) {
    nonEmpty(r, ps, [...p, "fromParams"], "location query must be non-empty;");
    rule.fromParams = ps;
  }
  const cs = r.strArr(o, "fromCookies", p);
  if (cs !== undefined) {
    nonEmpty(r, cs, [...p, "fromCookies"], "cookie name");
    rule.fromCookies = cs;
  }
  const out = r.str(o, "outputPayloadToHeader", p);
  if (out !== undefined && out !== "") {
    if (!HEADER_NAME.test(out)) r.issues.error([...p, "outputPayloadToHeader"], `invalid header name "${out}"`);
    rule.outputPayloadToHeader = out;
  }
  const ch = r.arr(o, "outputClaimToHeaders", p);
  if (ch !== undefined) {
    rule.outputClaimToHeaders = [];
    ch.forEach((c, i) => {
      const cp = [...p, "outputClaimToHeaders", i];
      const co = r.obj(c, cp, ["header", "claim"]);
      if (!co) return;
      const header = r.str(co, "header", cp) ?? "";
      const claim = r.str(co, "claim", cp) ?? "";
      if (header === "") r.issues.error([...cp, "header"], "outputClaimToHeaders header must be non-empty");
      else if (!HEADER_NAME.test(header)) r.issues.error([...cp, "header"], `invalid header name "${header}"`);
      if (claim === "") r.issues.error([...cp, "claim"], "outputClaimToHeaders claim must be non-empty");
      rule.outputClaimToHeaders!.push({ header, claim });
    });
  }
  const fwd = r.bool(o, "forwardOriginalToken", p);
  if (fwd !== undefined) rule.forwardOriginalToken = fwd;
  if (o["timeout"] !== undefined && o["timeout"] !== null) {
    const ms = parseDurationMs(o["timeout"]);
    if (ms === undefined || ms <= 0) r.issues.error([...p, "timeout"], `invalid timeout ${JSON.stringify(o["timeout"])}: must be a positive duration`);
    else rule.timeoutMs = ms;
  }
  return rule;
}

export function parseRequestAuthentication(r: SpecReader, spec: unknown, ref: ConfigRef, createdAt?: string): ParsedRequestAuthentication | undefined {
  const o = r.obj(spec ?? {}, [], ["selector", "targetRef", "targetRefs", "jwtRules"]);
  if (!o) return undefined;
  const out: ParsedRequestAuthentication = { ref, jwtRules: [], ...(createdAt !== undefined ? { createdAt } : {}), ...parsePolicyTarget(r, o) };
  const rules = r.arr(o, "jwtRules", []);
  (rules ?? []).forEach((v, i) => {
    const rule = parseRule(r, v, ["jwtRules", i]);
    if (rule !== undefined) out.jwtRules.push(rule);
  });
  return out;
}

function selects(p: ParsedRequestAuthentication, ctx: SecurityContext): string | undefined {
  if (p.targeted === true) return TARGETED_NOT_APPLIED;
  const ns = p.ref.namespace;
  if (ns !== ctx.namespace && ns !== ctx.rootNamespace) return `namespace ${ns}: not this proxy's (${ctx.namespace})`;
  if (p.selector !== undefined && !labelsMatch(p.selector, ctx.proxyLabels)) return "selector does not match this proxy's labels";
  return undefined;
}

function orderKey(p: ParsedRequestAuthentication, ctx: SecurityContext): string {
  return `${p.ref.namespace === ctx.rootNamespace && ctx.rootNamespace !== ctx.namespace ? 0 : 1}|${p.createdAt ?? ""}|${p.ref.namespace}/${p.ref.name}`;
}

/** One jwtRule as istiod writes its provider; `note` gets why a jwksUri provider is pending. */
export function buildJwtProvider(rule: JwtRule, jwks: JwksLookup | undefined, note: (m: string) => void): JwtProvider {
  const p: JwtProvider = { issuer: rule.issuer };
  if (rule.audiences !== undefined) p.audiences = rule.audiences;
  const timeoutMs = rule.timeoutMs ?? DEFAULT_JWKS_TIMEOUT_MS;
  if (rule.jwks !== undefined) p.localJwks = { inlineString: rule.jwks };
  else if (rule.jwksUri !== undefined) {
    const a = jwks?.lookup(rule.jwksUri, timeoutMs) ?? { pending: "no JWKS resolver (keys are fetched only by `outrigger run`)" };
    if ("jwks" in a) p.localJwks = { inlineString: a.jwks };
    else {
      p.remoteJwks = { httpUri: { uri: rule.jwksUri, timeoutMs }, cacheDurationMs: JWKS_REFRESH_MS, asyncFetch: {} };
      note(`issuer ${rule.issuer}: JWKS ${rule.jwksUri} not available (${a.pending}); its tokens pass unverified until the keys are fetched`);
    }
  } else {
    // istiod would resolve the issuer's OpenID discovery document; not done here.
    p.remoteJwks = { httpUri: { uri: "", timeoutMs }, cacheDurationMs: JWKS_REFRESH_MS, asyncFetch: {} };
    note(`issuer ${rule.issuer}: neither jwks nor jwksUri set (OpenID discovery is not supported); its tokens pass unverified`);
  }
  if (rule.fromHeaders !== undefined && rule.fromHeaders.length > 0) p.fromHeaders = rule.fromHeaders.map((h) => (h.prefix !== undefined ? { name: h.name, valuePrefix: h.prefix } : { name: h.name }));
  if (rule.fromParams !== undefined && rule.fromParams.length > 0) p.fromParams = rule.fromParams;
  if (rule.fromCookies !== undefined && rule.fromCookies.length > 0) p.fromCookies = rule.fromCookies;
  if (rule.forwardOriginalToken === true) p.forward = true;
  if (rule.outputPayloadToHeader !== undefined) p.forwardPayloadHeader = rule.outputPayloadToHeader;
  if (rule.outputClaimToHeaders !== undefined && rule.outputClaimToHeaders.length > 0) p.claimToHeaders = rule.outputClaimToHeaders.map((c) => ({ headerName: c.header, claimName: c.claim }));
  p.payloadInMetadata = "payload";
  p.normalizePayloadInMetadata = { spaceDelimitedClaims: ["permission", "scope"] };
  return p;
}

/**
 * istiod's JwtAuthentication for the merged providers (already in istiod's order): one provider
 * → any(origins-0, allow_missing); several → any(P0, …, Pn, all(any(P0, allow_missing), …)), where
 * the inner AND makes a token, when present, valid for its provider and the outer providers cover
 * providers sharing a location.
 */
export function buildJwtAuthentication(list: readonly JwtProvider[]): JwtAuthentication {
  const providers: Record<string, JwtProvider> = {};
  const names: string[] = [];
  list.forEach((p, i) => {
    const name = `origins-${i}`;
    providers[name] = p;
    names.push(name);
  });
  const inner = names.map((providerName) => ({ requiresAny: { requirements: [{ providerName }, { allowMissing: {} }] } }));
  const requires = inner.length === 1 ? inner[0]! : { requiresAny: { requirements: [...names.map((providerName) => ({ providerName })), { requiresAll: { requirements: inner } }] } };
  return { providers, rules: [{ match: { prefix: "/" }, requires }], bypassCorsPreflight: true };
}

export function applyRequestAuthentication(resources: ReadonlyArray<ParsedSecurity<ParsedRequestAuthentication>>, ctx: SecurityContext): void {
  const applied: Array<ParsedSecurity<ParsedRequestAuthentication>> = [];
  for (const res of resources) {
    const why = selects(res.value, ctx);
    if (why !== undefined) ctx.summary.push(`${res.line}: not applied (${why})`);
    else applied.push(res);
  }
  applied.sort((a, b) => (orderKey(a.value, ctx) < orderKey(b.value, ctx) ? -1 : orderKey(a.value, ctx) > orderKey(b.value, ctx) ? 1 : 0));
  const providers: Array<{ issuer: string; p: JwtProvider }> = [];
  for (const res of applied) {
    const pending: string[] = [];
    res.value.jwtRules.forEach((rule, i) =>
      providers.push({
        issuer: rule.issuer,
        p: buildJwtProvider(rule, ctx.jwks, (m) => {
          pending.push(rule.issuer);
          res.issues.warn(["jwtRules", i], m);
        }),
      }),
    );
    const n = res.value.jwtRules.length;
    ctx.summary.push(`${res.line}: ${n} jwtRule(s) (${res.value.jwtRules.map((r) => r.issuer).join(", ")}) on inbound HTTP${pending.length > 0 ? `; JWKS pending for ${pending.join(", ")}` : ""}`);
  }
  if (providers.length === 0) return;
  // istiod sorts the merged rules by issuer (stable: same issuers keep the policies' order).
  providers.sort((a, b) => (a.issuer < b.issuer ? -1 : a.issuer > b.issuer ? 1 : 0));
  const config = buildJwtAuthentication(providers.map((x) => x.p));
  for (const l of ctx.listeners) {
    if (l.trafficDirection !== "INBOUND") continue;
    for (const chain of [...l.filterChains, ...(l.defaultFilterChain !== undefined ? [l.defaultFilterChain] : [])]) {
      const terminal = chain.filters[chain.filters.length - 1];
      if (terminal !== undefined && terminal.name === HTTP_CONNECTION_MANAGER) insertHttpFilter(terminal.typedConfig, { name: HTTP_JWT_AUTHN_FILTER, typedConfig: config });
    }
  }
}
