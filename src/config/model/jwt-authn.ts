// Envoy's JWT authentication filter config (envoy.extensions.filters.http.jwt_authn.v3.
// JwtAuthentication) as istiod writes it for RequestAuthentication, camelCase. Plain JSON.

export interface JwtAuthentication {
  /** Providers by name (istiod: `origins-<n>` / the issuer). */
  providers: Record<string, JwtProvider>;
  /** Istio writes one requirement per route: any provider, or allow missing/failed (authz decides). */
  rules?: Array<{ match: { prefix: string }; requires?: JwtRequirement }>;
  /** Envoy requirement_map by name (istiod `requirement_map` + `use_requirement_name` per route). */
  requirementMap?: Record<string, JwtRequirement>;
  /** Envoy bypass_cors_preflight (istiod: true). */
  bypassCorsPreflight?: boolean;
}

export interface JwtRequirement {
  providerName?: string;
  requiresAny?: { requirements: JwtRequirement[] };
  requiresAll?: { requirements: JwtRequirement[] };
  /** A request without a token passes. */
  allowMissing?: Record<string, never>;
  /** A request without a token, or with a failing one, passes (authz decides). */
  allowMissingOrFailed?: Record<string, never>;
}

export interface JwtProvider {
  issuer: string;
  audiences?: string[];
  /** Exactly one of remoteJwks / localJwks. */
  remoteJwks?: {
    httpUri: { uri: string; cluster?: string; timeoutMs: number };
    /** Refresh interval; Envoy default 5 min (istiod: PILOT_JWT_PUB_KEY_REFRESH_INTERVAL 20 min on its side). */
    cacheDurationMs?: number;
    /** Envoy async_fetch: fetched on start, the filter does not wait on the request path. */
    asyncFetch?: { failedRefetchDurationMs?: number };
    retryPolicy?: { numRetries: number; baseIntervalMs: number; maxIntervalMs: number };
  };
  localJwks?: { inlineString: string };
  /** Envoy from_headers (istiod: Authorization: Bearer by default). */
  fromHeaders?: Array<{ name: string; valuePrefix?: string }>;
  fromParams?: string[];
  fromCookies?: string[];
  /** Keep the token on the request (Istio forwardOriginalToken). Absent = false: removed. */
  forward?: boolean;
  /** Header to write the base64url payload into (Istio outputPayloadToHeader). */
  forwardPayloadHeader?: string;
  /** Claims copied into headers (Istio outputClaimToHeaders). */
  claimToHeaders?: Array<{ headerName: string; claimName: string }>;
  /** Dynamic metadata key for the payload (istiod: `payload`). */
  payloadInMetadata?: string;
  /** Claims whose space-delimited string value is split into a list (istiod: `permission`, `scope`). */
  normalizePayloadInMetadata?: { spaceDelimitedClaims: string[] };
  /** Envoy clock_skew_seconds; default 60. */
  clockSkewSeconds?: number;
}
