// Envoy's JWT authentication filter config (envoy.extensions.filters.http.jwt_authn.v3.
// JwtAuthentication) → the model. Provider settings that tighten validation (subjects,
// max_lifetime, require_expiration) or choose another requirement source are errors when set,
// since ignoring them would accept tokens Envoy refuses.

import type { JwtAuthentication, JwtProvider, JwtRequirement } from "../model/jwt-authn.js";
import { at, bool, checkFields, DecodeState, durationMs, isObject, list, obj, str, strList, uint } from "./decode-common.js";
import type { Json } from "./decoded.js";

function requirement(v: unknown, path: string, st: DecodeState): JwtRequirement | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["provider_name", "requires_any", "requires_all", "allow_missing", "allow_missing_or_failed"], {
    provider_and_audiences: "provider_and_audiences is not supported by Outrigger",
  });
  const r: JwtRequirement = {};
  const many = (k: "requires_any" | "requires_all"): JwtRequirement[] | undefined => {
    const lo = obj(o[k], at(path, k), st);
    if (lo === undefined) return undefined;
    const out: JwtRequirement[] = [];
    list(lo.requirements, at(at(path, k), "requirements"), st).forEach((x, i) => {
      const d = requirement(x, at(at(at(path, k), "requirements"), i), st);
      if (d !== undefined) out.push(d);
    });
    return out;
  };
  const name = str(o.provider_name, at(path, "provider_name"), st);
  if (name !== undefined) r.providerName = name;
  if (o.requires_any !== undefined) r.requiresAny = { requirements: many("requires_any") ?? [] };
  if (o.requires_all !== undefined) r.requiresAll = { requirements: many("requires_all") ?? [] };
  if (o.allow_missing !== undefined) r.allowMissing = {};
  if (o.allow_missing_or_failed !== undefined) r.allowMissingOrFailed = {};
  if (Object.keys(r).length !== 1) return st.error(path, "exactly one of provider_name, requires_any, requires_all, allow_missing, allow_missing_or_failed must be set");
  return r;
}

function provider(v: unknown, path: string, st: DecodeState): JwtProvider | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(
    o,
    path,
    st,
    ["issuer", "audiences", "remote_jwks", "local_jwks", "forward", "from_headers", "from_params", "from_cookies", "forward_payload_header", "payload_in_metadata", "normalize_payload_in_metadata", "clock_skew_seconds", "claim_to_headers"],
    {
      subjects: "JWT subject constraints are not supported by Outrigger",
      max_lifetime: "JWT max_lifetime is not supported by Outrigger",
      require_expiration: "require_expiration is not supported by Outrigger",
      failed_status_in_metadata: "failed_status_in_metadata is not supported by Outrigger",
    },
    {
      pad_forward_payload_header: "pad_forward_payload_header is not supported: the payload header is unpadded base64url",
      header_in_metadata: "header_in_metadata is not supported; ignored",
      jwt_cache_config: "the JWT cache is not configurable; ignored",
      clear_route_cache: "clear_route_cache is not supported; ignored",
    },
  );
  const issuer = str(o.issuer, at(path, "issuer"), st) ?? "";
  const p: JwtProvider = { issuer };
  const aud = strList(o.audiences, at(path, "audiences"), st);
  if (aud.length > 0) p.audiences = aud;
  if (o.remote_jwks !== undefined && o.local_jwks !== undefined) st.error(path, "only one of remote_jwks, local_jwks may be set");
  if (o.remote_jwks !== undefined) {
    const rp = at(path, "remote_jwks");
    const ro = obj(o.remote_jwks, rp, st) ?? {};
    checkFields(ro, rp, st, ["http_uri", "cache_duration", "async_fetch", "retry_policy"]);
    const hp = at(rp, "http_uri");
    const ho = obj(ro.http_uri, hp, st);
    if (ho === undefined) return st.error(hp, "required");
    checkFields(ho, hp, st, ["uri", "cluster", "timeout"]);
    const uri = str(ho.uri, at(hp, "uri"), st);
    if (uri === undefined) return st.error(at(hp, "uri"), "required");
    // Envoy's HttpUri.timeout is required (proto validation).
    const timeoutMs = durationMs(ho.timeout, at(hp, "timeout"), st);
    if (timeoutMs === undefined) return st.error(at(hp, "timeout"), "required");
    const remote: NonNullable<JwtProvider["remoteJwks"]> = { httpUri: { uri, timeoutMs } };
    const cluster = str(ho.cluster, at(hp, "cluster"), st);
    if (cluster !== undefined) remote.httpUri = { uri, cluster, timeoutMs: remote.httpUri.timeoutMs };
    const cache = durationMs(ro.cache_duration, at(rp, "cache_duration"), st);
    if (cache !== undefined) remote.cacheDurationMs = cache;
    if (ro.async_fetch !== undefined) {
      const ao = obj(ro.async_fetch, at(rp, "async_fetch"), st) ?? {};
      checkFields(ao, at(rp, "async_fetch"), st, ["failed_refetch_duration", "fast_listener"]);
      const f = durationMs(ao.failed_refetch_duration, at(at(rp, "async_fetch"), "failed_refetch_duration"), st);
      remote.asyncFetch = f !== undefined ? { failedRefetchDurationMs: f } : {};
    }
    if (ro.retry_policy !== undefined) st.note(at(rp, "retry_policy"), "JWKS fetch retry_policy is not supported: a failed fetch is retried on the next refresh");
    p.remoteJwks = remote;
  }
  if (o.local_jwks !== undefined) {
    const lp = at(path, "local_jwks");
    const lo = obj(o.local_jwks, lp, st) ?? {};
    if (lo.inline_string !== undefined) {
      const s = str(lo.inline_string, at(lp, "inline_string"), st);
      if (s !== undefined) p.localJwks = { inlineString: s };
    } else st.error(lp, "only an inline_string local JWKS is supported");
  }
  if (p.remoteJwks === undefined && p.localJwks === undefined && st.errors.length === 0) st.error(path, "one of remote_jwks, local_jwks is required");
  if (bool(o.forward, at(path, "forward"), st) === true) p.forward = true;
  const headers: NonNullable<JwtProvider["fromHeaders"]> = [];
  list(o.from_headers, at(path, "from_headers"), st).forEach((h, i) => {
    const hp = at(at(path, "from_headers"), i);
    const ho = obj(h, hp, st);
    const name = ho === undefined ? undefined : str(ho.name, at(hp, "name"), st);
    if (ho === undefined || name === undefined) return;
    const prefix = str(ho.value_prefix, at(hp, "value_prefix"), st);
    headers.push(prefix !== undefined ? { name, valuePrefix: prefix } : { name });
  });
  if (headers.length > 0) p.fromHeaders = headers;
  const params = strList(o.from_params, at(path, "from_params"), st);
  if (params.length > 0) p.fromParams = params;
  const cookies = strList(o.from_cookies, at(path, "from_cookies"), st);
  if (cookies.length > 0) p.fromCookies = cookies;
  const fph = str(o.forward_payload_header, at(path, "forward_payload_header"), st);
  if (fph !== undefined && fph !== "") p.forwardPayloadHeader = fph;
  const pim = str(o.payload_in_metadata, at(path, "payload_in_metadata"), st);
  if (pim !== undefined && pim !== "") p.payloadInMetadata = pim;
  if (o.normalize_payload_in_metadata !== undefined) {
    const no = obj(o.normalize_payload_in_metadata, at(path, "normalize_payload_in_metadata"), st) ?? {};
    p.normalizePayloadInMetadata = { spaceDelimitedClaims: strList(no.space_delimited_claims, at(at(path, "normalize_payload_in_metadata"), "space_delimited_claims"), st) };
  }
  const skew = uint(o.clock_skew_seconds, at(path, "clock_skew_seconds"), st);
  if (skew !== undefined) p.clockSkewSeconds = skew;
  const claims: NonNullable<JwtProvider["claimToHeaders"]> = [];
  list(o.claim_to_headers, at(path, "claim_to_headers"), st).forEach((c, i) => {
    const cp = at(at(path, "claim_to_headers"), i);
    const co = obj(c, cp, st);
    if (co === undefined) return;
    const headerName = str(co.header_name, at(cp, "header_name"), st);
    const claimName = str(co.claim_name, at(cp, "claim_name"), st);
    if (headerName !== undefined && claimName !== undefined) claims.push({ headerName, claimName });
  });
  if (claims.length > 0) p.claimToHeaders = claims;
  return p;
}

/** The fields of a jwt_authn typed_config (no "@type"). */
export function decodeJwtAuthn(o: Json, path: string, st: DecodeState): JwtAuthentication | undefined {
  checkFields(o, path, st, ["providers", "rules", "requirement_map", "bypass_cors_preflight"], {
    filter_state_rules: "filter_state_rules are not supported by Outrigger",
  }, { stat_prefix: "stat_prefix is not supported; the default stat names apply" });
  const providers: Record<string, JwtProvider> = {};
  for (const [name, pv] of Object.entries(obj(o.providers, at(path, "providers"), st) ?? {})) {
    const p = provider(pv, at(at(path, "providers"), name), st);
    if (p !== undefined) providers[name] = p;
  }
  const c: JwtAuthentication = { providers };
  if (o.rules !== undefined) {
    const rs: NonNullable<JwtAuthentication["rules"]> = [];
    list(o.rules, at(path, "rules"), st).forEach((r, i) => {
      const rp = at(at(path, "rules"), i);
      const ro = obj(r, rp, st);
      if (ro === undefined) return;
      checkFields(ro, rp, st, ["match", "requires"], { requirement_name: "requirement_name rules are not supported by Outrigger" });
      const mo = obj(ro.match, at(rp, "match"), st) ?? {};
      const prefix = str(mo.prefix, at(at(rp, "match"), "prefix"), st);
      if (prefix === undefined || Object.keys(mo).length !== 1) return st.error(at(rp, "match"), "only a prefix match is supported in jwt_authn rules");
      const rule: NonNullable<JwtAuthentication["rules"]>[number] = { match: { prefix } };
      if (ro.requires !== undefined && isObject(ro.requires)) {
        const req = requirement(ro.requires, at(rp, "requires"), st);
        if (req !== undefined) rule.requires = req;
      }
      rs.push(rule);
    });
    c.rules = rs;
  }
  if (o.requirement_map !== undefined) {
    const m: Record<string, JwtRequirement> = {};
    for (const [name, rv] of Object.entries(obj(o.requirement_map, at(path, "requirement_map"), st) ?? {})) {
      const r = requirement(rv, at(at(path, "requirement_map"), name), st);
      if (r !== undefined) m[name] = r;
    }
    c.requirementMap = m;
  }
  if (bool(o.bypass_cors_preflight, at(path, "bypass_cors_preflight"), st) === true) c.bypassCorsPreflight = true;
  return c;
}
