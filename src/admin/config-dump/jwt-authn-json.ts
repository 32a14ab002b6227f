// The jwt_authn filter config as Envoy's envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication
// JSON (what istiod writes for RequestAuthentication), for /config_dump.

import type { JwtAuthentication, JwtProvider, JwtRequirement } from "../../config/model/jwt-authn.js";
import { compact, duration, nonEmpty, typeUrl, type Json } from "./envoy-json.js";

export const JWT_AUTHN_TYPE = "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication";

function requirementJson(r: JwtRequirement): Json {
  return compact({
    provider_name: r.providerName,
    requires_any: r.requiresAny !== undefined ? { requirements: r.requiresAny.requirements.map(requirementJson) } : undefined,
    requires_all: r.requiresAll !== undefined ? { requirements: r.requiresAll.requirements.map(requirementJson) } : undefined,
    allow_missing: r.allowMissing !== undefined ? {} : undefined,
    allow_missing_or_failed: r.allowMissingOrFailed !== undefined ? {} : undefined,
  });
}

function providerJson(p: JwtProvider): Json {
  const remote = p.remoteJwks;
  return compact({
    issuer: p.issuer,
    audiences: nonEmpty(p.audiences),
    remote_jwks:
      remote !== undefined
        ? compact({
            http_uri: compact({ uri: remote.httpUri.uri, cluster: remote.httpUri.cluster, timeout: duration(remote.httpUri.timeoutMs) }),
            cache_duration: remote.cacheDurationMs !== undefined ? duration(remote.cacheDurationMs) : undefined,
            async_fetch: remote.asyncFetch !== undefined ? compact({ failed_refetch_duration: remote.asyncFetch.failedRefetchDurationMs !== undefined ? duration(remote.asyncFetch.failedRefetchDurationMs) : undefined }) : undefined,
          })
        : undefined,
    local_jwks: p.localJwks !== undefined ? { inline_string: p.localJwks.inlineString } : undefined,
    forward: p.forward === true ? true : undefined,
    from_headers: nonEmpty(p.fromHeaders?.map((h) => compact({ name: h.name, value_prefix: h.valuePrefix }))),
    from_params: nonEmpty(p.fromParams),
    from_cookies: nonEmpty(p.fromCookies),
    forward_payload_header: p.forwardPayloadHeader,
    payload_in_metadata: p.payloadInMetadata,
    normalize_payload_in_metadata: p.normalizePayloadInMetadata !== undefined ? { space_delimited_claims: p.normalizePayloadInMetadata.spaceDelimitedClaims } : undefined,
    clock_skew_seconds: p.clockSkewSeconds,
    claim_to_headers: nonEmpty(p.claimToHeaders?.map((c) => ({ header_name: c.headerName, claim_name: c.claimName }))),
  });
}

export function jwtAuthnJson(c: JwtAuthentication): Json {
  return compact({
    "@type": typeUrl(JWT_AUTHN_TYPE),
    providers: Object.fromEntries(Object.entries(c.providers).map(([n, p]) => [n, providerJson(p)])),
    rules: c.rules?.map((r) => compact({ match: { prefix: r.match.prefix }, requires: r.requires !== undefined ? requirementJson(r.requires) : undefined })),
    requirement_map: c.requirementMap !== undefined ? Object.fromEntries(Object.entries(c.requirementMap).map(([n, r]) => [n, requirementJson(r)])) : undefined,
    bypass_cors_preflight: c.bypassCorsPreflight === true ? true : undefined,
  });
}
