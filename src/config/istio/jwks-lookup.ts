// JwksLookup: how translation gets the keys behind a RequestAuthentication `jwksUri`. istiod
// fetches jwksUri itself and inlines the keys (PILOT_JWT_ENABLE_REMOTE_JWKS=false); here the
// supervisor's JwksResolver (src/security/jwks/jwks-resolver.ts) plays that part. Translation is
// synchronous: a lookup answers from the cache and starts a fetch for a URI it has not seen.

export type JwksAnswer =
  /** The JWKS document, as last fetched successfully. */
  | { jwks: string }
  /** No keys yet; `reason` says why (first fetch running, or the last fetch's failure). */
  | { pending: string };

export interface JwksLookup {
  /** Keys for `uri`; `timeoutMs` bounds a fetch this lookup starts. */
  lookup(uri: string, timeoutMs: number): JwksAnswer;
}
