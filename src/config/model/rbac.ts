// Envoy's RBAC filter config (envoy.extensions.filters.http.rbac.v3.RBAC and
// envoy.extensions.filters.network.rbac.v3.RBAC), in the shape istiod writes for
// AuthorizationPolicy, camelCase. Plain JSON (crosses worker_threads). The issue-10 xDS decoder
// maps Envoy's proto onto exactly these fields.

import type { CidrRange, HeaderMatcher, StringMatcher } from "./types.js";

export interface RbacConfig {
  /** Envoy stat_prefix of the network filter (`tcp.`); absent for HTTP. */
  statPrefix?: string;
  /** The enforced rules; absent = no enforcement (only shadow rules). */
  rules?: RbacRules;
  /** Envoy shadow_rules (Istio AUDIT and dry-run): evaluated, never enforced. */
  shadowRules?: RbacRules;
  /** Envoy shadow_rules_stat_prefix (istiod: `istio_dry_run_allow_` / `istio_dry_run_deny_`). */
  shadowRulesStatPrefix?: string;
}

export interface RbacRules {
  /** ALLOW: a request matching a policy is allowed, others denied. DENY: the reverse. LOG: audit only. */
  action: "ALLOW" | "DENY" | "LOG";
  /** Policies by name (istiod: `ns[NS]-policy[NAME]-rule[I]`), in insertion order. */
  policies: Record<string, RbacPolicy>;
}

/** A policy matches when any permission AND any principal match. */
export interface RbacPolicy {
  permissions: RbacPermission[];
  principals: RbacPrincipal[];
}

/** Exactly one field set, as Envoy's oneof. */
export interface RbacPermission {
  any?: true;
  andRules?: { rules: RbacPermission[] };
  orRules?: { rules: RbacPermission[] };
  notRule?: RbacPermission;
  header?: HeaderMatcher;
  /** Matched against the path without query (Envoy url_path). */
  urlPath?: { path: StringMatcher };
  /**
   * Envoy uri_template (a TypedExtensionConfig `uri-template` holding a UriTemplateMatchConfig):
   * the path without query against a template, `*` one segment, `**` the rest. istiod writes it
   * for AuthorizationPolicy paths with `{*}` / `{**}`.
   */
  uriTemplate?: { pathTemplate: string };
  destinationIp?: CidrRange;
  destinationPort?: number;
  /** TLS SNI of the downstream connection. */
  requestedServerName?: StringMatcher;
  metadata?: RbacMetadataMatcher;
}

/** Exactly one field set, as Envoy's oneof. */
export interface RbacPrincipal {
  any?: true;
  andIds?: { ids: RbacPrincipal[] };
  orIds?: { ids: RbacPrincipal[] };
  notId?: RbacPrincipal;
  /** Envoy: matched against the peer certificate's first URI SAN, `spiffe://` included (else its subject), as istiod writes it; absent principalName = any peer with a certificate. */
  authenticated?: { principalName?: StringMatcher };
  /** The socket's peer address (Istio source.ip / ipBlocks). */
  directRemoteIp?: CidrRange;
  /** The client address after x-forwarded-for processing (Istio remote.ip / remoteIpBlocks). */
  remoteIp?: CidrRange;
  header?: HeaderMatcher;
  metadata?: RbacMetadataMatcher;
}

/**
 * Envoy MetadataMatcher on dynamic metadata. istiod matches JWT facts as
 * `filter: "istio_authn"`, `path: ["request.auth.principal"]` (also `request.auth.audiences`,
 * `request.auth.presenter`, `request.auth.claims` + claim path): the data path answers them from
 * StreamInfo.requestAuth.
 */
export interface RbacMetadataMatcher {
  filter: string;
  path: string[];
  value: RbacValueMatcher;
}

/** Envoy ValueMatcher subset istiod uses. */
export interface RbacValueMatcher {
  stringMatch?: StringMatcher;
  /** A list value matches when one element matches. */
  listMatch?: { oneOf: RbacValueMatcher };
  presentMatch?: boolean;
}
