// The Envoy-shaped configuration model the data path sees: listeners, route configurations,
// clusters with their endpoints. Istio YAML translates into it; xDS will decode into it.
// Plain JSON-serialisable data only (it crosses worker_threads via postMessage).

/** One immutable, versioned configuration. */
export interface Snapshot {
  /** Monotonic version string, e.g. "2026-11-22T05:00:00.000Z/3". */
  version: string;
  listeners: Listener[];
  /** Route configurations by name (Envoy RDS names: "9080", "inbound|8080||", …). */
  routeConfigs: Record<string, RouteConfiguration>;
  /** Clusters by name (`outbound|9080|v1|reviews.shop.svc.cluster.local`, `inbound|8080||`, …). */
  clusters: Record<string, Cluster>;
  /**
   * SDS secrets by name: the workload certificate (`default`) and the mesh root (`ROOTCA`), from
   * `--certs`, the Istio CA client or (later) SDS. TLS transport sockets refer to them by name.
   * Absent = none.
   */
  secrets?: Record<string, Secret>;
}

/** The SDS secret names istio-agent serves (workload certificate and mesh root). */
export const WORKLOAD_SECRET = "default";
export const ROOT_CA_SECRET = "ROOTCA";

/** Envoy's Secret: a certificate with its key, or a validation context (trusted CAs). PEM text. */
export interface Secret {
  name: string;
  /** The certificate chain (leaf first; may end with the root, as istio-agent writes it) and its private key. */
  tlsCertificate?: { certificateChain: string; privateKey: string };
  /** Trusted CA certificates (PEM bundle). */
  validationContext?: { trustedCa: string };
}

export type { JwtAuthentication } from "./jwt-authn.js";
export type { RbacConfig } from "./rbac.js";
import type { JwtAuthentication } from "./jwt-authn.js";
import type { RbacConfig } from "./rbac.js";

export type { AccessLogConfig, IstioStatsConfig, PeerMetadataConfig, TracingConfig } from "./telemetry.js";
import type { AccessLogConfig, IstioStatsConfig, PeerMetadataConfig, TracingConfig } from "./telemetry.js";

export type TrafficDirection = "INBOUND" | "OUTBOUND" | "UNSPECIFIED";

export interface Listener {
  /** Envoy-style name: `0.0.0.0_9080`, `127.0.0.1_15001`, … */
  name: string;
  address: string;
  port: number;
  trafficDirection: TrafficDirection;
  /**
   * Listener filters, run in order on each accepted connection before a filter chain is chosen
   * (`envoy.filters.listener.original_dst`, `…tls_inspector`, `…http_inspector`).
   */
  listenerFilters: ListenerFilterConfig[];
  /** Chosen per connection by `filterChainMatch`, in Envoy's selection order. */
  filterChains: FilterChain[];
  /** Used when no chain matches; absent = such a connection is closed. */
  defaultFilterChain?: FilterChain;
  /**
   * Envoy use_original_dst (virtualOutbound / virtualInbound): after the listener filters learnt
   * the connection's original destination, hand it to the listener whose address:port is that
   * destination (else 0.0.0.0:port), if one exists; otherwise this listener's own chains take it.
   */
  useOriginalDst?: boolean;
  /**
   * Envoy bind_to_port; false = no socket: the listener only takes connections handed over by a
   * useOriginalDst listener (istiod's per-port outbound listeners). Absent = true.
   */
  bindToPort?: boolean;
  /** Envoy transparent (IP_TRANSPARENT, TPROXY interception). Absent = false. */
  transparent?: boolean;
  /**
   * Envoy additional_addresses: more addresses bound on the same port with the same filter chains
   * (istiod gives a dual-stack proxy's wildcard listeners `::` next to `0.0.0.0`). The hand-off of
   * a use_original_dst listener finds the listener by any of its addresses. IPv6 ones are bound
   * v6-only (Envoy's default, ipv4_compat off) so they do not collide with the IPv4 address.
   */
  additionalAddresses?: Array<{ address: string }>;
  /** Envoy listener_filters_timeout in ms; 0 = none. Absent = Envoy's 15 000. */
  listenerFiltersTimeoutMs?: number;
  /** Envoy continue_on_listener_filters_timeout: on timeout, go on to chain matching instead of closing. */
  continueOnListenerFiltersTimeout?: boolean;
}

export interface ListenerFilterConfig {
  name: ListenerFilterName;
  /**
   * Envoy filter_disabled, in the one form istiod writes: the filter is skipped for connections
   * whose (original) destination port is in one of these ranges (start inclusive, end exclusive).
   */
  disabledForDestinationPorts?: Array<{ start: number; end: number }>;
}

export type ListenerFilterName = "envoy.filters.listener.original_dst" | "envoy.filters.listener.tls_inspector" | "envoy.filters.listener.http_inspector";

/** An address range in Envoy's CidrRange form. */
export interface CidrRange {
  addressPrefix: string;
  prefixLen: number;
}

/**
 * Envoy FilterChainMatch. Every field set must match; among matching chains the most specific
 * wins, field by field in this order: destination port, destination IP, server name, transport
 * protocol, application protocols, direct source IP, source type, source IP, source port.
 */
export interface FilterChainMatch {
  destinationPort?: number;
  prefixRanges?: CidrRange[];
  serverNames?: string[];
  /** `raw_buffer` (plaintext) or `tls` (set by the tls_inspector listener filter). */
  transportProtocol?: string;
  applicationProtocols?: string[];
  directSourcePrefixRanges?: CidrRange[];
  sourceType?: "ANY" | "SAME_IP_OR_LOOPBACK" | "EXTERNAL";
  sourcePrefixRanges?: CidrRange[];
  sourcePorts?: number[];
}

export interface FilterChain {
  /** Envoy's filter chain name (shows in access logs and config_dump). */
  name: string;
  filterChainMatch: FilterChainMatch;
  /** Absent = `envoy.transport_sockets.raw_buffer` (plaintext). */
  transportSocket?: TransportSocketConfig;
  /** Network filters in order; the last one is terminal (HTTP connection manager or TCP proxy). */
  filters: NetworkFilter[];
}

export const TLS_TRANSPORT_SOCKET = "envoy.transport_sockets.tls";

export interface TransportSocketConfig {
  /** `envoy.transport_sockets.raw_buffer` or `envoy.transport_sockets.tls`. */
  name: string;
  /** For `…tls`: a DownstreamTlsContext on a filter chain, an UpstreamTlsContext on a cluster. */
  typedConfig?: DownstreamTlsContext | UpstreamTlsContext;
}

/** Envoy DataSource: a file read when the context is built, or inline PEM. */
export interface DataSource {
  filename?: string;
  inlineString?: string;
}

/** Envoy SdsSecretConfig: a secret of the snapshot by name (`default`, `ROOTCA`, a credentialName). */
export interface SdsSecretConfig {
  name: string;
}

export type TlsProtocolVersion = "TLS_AUTO" | "TLSv1_0" | "TLSv1_1" | "TLSv1_2" | "TLSv1_3";

export interface TlsParameters {
  /** Absent/TLS_AUTO = TLSv1_2 (Envoy's default for both sides). */
  tlsMinimumProtocolVersion?: TlsProtocolVersion;
  /** Absent/TLS_AUTO = TLSv1_3 (Envoy's default for both sides). */
  tlsMaximumProtocolVersion?: TlsProtocolVersion;
  /** OpenSSL cipher names; absent = Envoy's defaults. */
  cipherSuites?: string[];
  ecdhCurves?: string[];
}

export type SanType = "URI" | "DNS" | "EMAIL" | "IP_ADDRESS";

export interface CertificateValidationContext {
  trustedCa?: DataSource;
  /**
   * Envoy match_typed_subject_alt_names: the peer certificate must carry a SAN of the given type
   * matching one of these (any one suffices). Empty/absent = any SAN.
   */
  matchTypedSubjectAltNames?: Array<{ sanType: SanType; matcher: StringMatcher }>;
  /** ACCEPT_UNTRUSTED: DestinationRule insecureSkipVerify. Absent = VERIFY_TRUST_CHAIN. */
  trustChainVerification?: "VERIFY_TRUST_CHAIN" | "ACCEPT_UNTRUSTED";
}

export interface CommonTlsContext {
  tlsParams?: TlsParameters;
  /** Certificates from files or inline (DestinationRule MUTUAL with file paths). */
  tlsCertificates?: Array<{ certificateChain: DataSource; privateKey: DataSource }>;
  /** Certificates from the snapshot's secrets (istiod: `default`). */
  tlsCertificateSdsSecretConfigs?: SdsSecretConfig[];
  validationContext?: CertificateValidationContext;
  /**
   * Envoy combined_validation_context: the SAN rules here, the trusted CA from a secret (istiod:
   * `ROOTCA`). Exactly one of validationContext / combinedValidationContext, or neither (no peer validation).
   */
  combinedValidationContext?: { defaultValidationContext: CertificateValidationContext; validationContextSdsSecretConfig: SdsSecretConfig };
  alpnProtocols?: string[];
}

/** Envoy DownstreamTlsContext (a filter chain's TLS: the proxy is the server). */
export interface DownstreamTlsContext {
  commonTlsContext: CommonTlsContext;
  /** Envoy require_client_certificate (istiod sets it for mTLS). Absent = false. */
  requireClientCertificate?: boolean;
}

/** Envoy UpstreamTlsContext (a cluster's TLS: the proxy is the client). */
export interface UpstreamTlsContext {
  commonTlsContext: CommonTlsContext;
  /** SNI sent; absent = none. */
  sni?: string;
}

/**
 * Envoy transport_socket_matches: an endpoint whose labels (Envoy: endpoint metadata
 * `envoy.transport_socket_match`) contain every `match` entry uses that transport socket; the
 * first match wins; none = the cluster's transportSocket. istiod's auto mTLS: `tlsMode-istio`
 * (match `{tlsMode: "istio"}` → ISTIO_MUTUAL) then `tlsMode-disabled` (match `{}` → raw_buffer).
 * Endpoint labels carry `security.istio.io/tlsMode`, copied as `tlsMode` by translation.
 */
export interface TransportSocketMatch {
  name: string;
  match: Record<string, string>;
  transportSocket: TransportSocketConfig;
}

export const HTTP_CONNECTION_MANAGER = "envoy.filters.network.http_connection_manager";
export const TCP_PROXY = "envoy.filters.network.tcp_proxy";
/** Envoy's network RBAC filter (istiod puts it before tcp_proxy on inbound TCP chains). Non-terminal. */
export const NETWORK_RBAC_FILTER = "envoy.filters.network.rbac";

export type NetworkFilter =
  | { name: typeof HTTP_CONNECTION_MANAGER; typedConfig: HttpConnectionManager }
  | { name: typeof TCP_PROXY; typedConfig: TcpProxy }
  | { name: typeof NETWORK_RBAC_FILTER; typedConfig: RbacConfig }
  | NoopNetworkFilter;

/**
 * A filter istiod sends that Outrigger accepts but does not run (telemetry-only, or Istio's
 * internals such as `istio_authn`): kept with its original Envoy config so `/config_dump` shows
 * it and the decoder's note is logged. The data path skips it. Never terminal.
 */
export interface NoopFilter {
  /** The filter's Envoy typed_config as received (proto JSON with its `@type`); absent when it had none. */
  typedConfig?: Record<string, unknown>;
  /** Why it does nothing here (shown in /config_dump and logged once per snapshot). */
  reason: string;
  /** The HTTP filter entry's `disabled: true` / `is_optional: true` as received, so /config_dump writes them back. */
  disabled?: true;
  isOptional?: true;
}

/** The model name of every network filter that is carried but not run; its Envoy name is `noop.filterName`. */
export const NOOP_NETWORK_FILTER = "outrigger.noop";

/** A non-terminal network filter carried but not run (see NoopFilter), e.g. istiod's TCP `istio.metadata_exchange`. */
export interface NoopNetworkFilter {
  name: typeof NOOP_NETWORK_FILTER;
  typedConfig?: undefined;
  noop: NoopFilter & {
    /** Envoy's filter name as received (`istio_authn`, `istio.metadata_exchange`, …). */
    filterName: string;
  };
}

export const HTTP_FAULT_FILTER = "envoy.filters.http.fault";
export const HTTP_ROUTER_FILTER = "envoy.filters.http.router";
/** Istio's HTTP peer-metadata exchange (x-envoy-peer-metadata headers); first in istiod's chain. */
export const ISTIO_METADATA_EXCHANGE_FILTER = "istio.metadata_exchange";
/** Istio's standard metrics (istio_requests_total, …); just before the router in istiod's chain. */
export const ISTIO_STATS_FILTER = "istio.stats";
/** Envoy's JWT authentication (Istio RequestAuthentication); after the metadata exchange. */
export const HTTP_JWT_AUTHN_FILTER = "envoy.filters.http.jwt_authn";
/** Envoy's HTTP RBAC (Istio AuthorizationPolicy); after jwt_authn. */
export const HTTP_RBAC_FILTER = "envoy.filters.http.rbac";
/** Envoy's CORS filter: answers preflights and adds the CORS response headers per the route's / virtual host's CorsPolicy. */
export const HTTP_CORS_FILTER = "envoy.filters.http.cors";
/** Istio's ALPN override (outbound HCMs): upstream mTLS offers istio-http/1.1 / istio-h2 by codec. */
export const ISTIO_ALPN_FILTER = "istio.alpn";
/** Envoy's external authorization (istiod: AuthorizationPolicy action CUSTOM). */
export const HTTP_EXT_AUTHZ_FILTER = "envoy.filters.http.ext_authz";

/**
 * Envoy's ExtAuthz as Outrigger runs it: **fail closed, without calling the authorizer** — a
 * request the filter applies to is answered as Envoy answers when the authorization service cannot
 * be reached with failure_mode_allow false (status_on_error, 403 by default, flag UAEX). istiod's
 * CUSTOM policies scope it with filter_enabled_metadata (the shadow RBAC's effective policy id), so
 * only the requests the CUSTOM policy selects are refused.
 */
export interface ExtAuthzConfig {
  /** Envoy status_on_error; absent = 403. */
  statusOnError?: number;
  /** Envoy failure_mode_allow: the service's failure lets requests through — so every request passes here. */
  failureModeAllow?: boolean;
  /** Envoy filter_enabled_metadata in the one form istiod writes: a string at `filter`/`key` of the stream's dynamic metadata. Absent = every request. */
  filterEnabledMetadata?: { filter: string; key: string; matcher: StringMatcher };
  /** The ExtAuthz config as received (proto JSON with its "@type"), for /config_dump. */
  original: Record<string, unknown>;
}

/** Envoy's gRPC statistics filter (istiod puts it in every HTTP chain). */
export const HTTP_GRPC_STATS_FILTER = "envoy.filters.http.grpc_stats";

/** istio.alpn's FilterConfig: the ALPN list offered upstream per upstream protocol. */
export interface IstioAlpnConfig {
  alpnOverride: Array<{ upstreamProtocol: "HTTP10" | "HTTP11" | "HTTP2"; alpnOverride: string[] }>;
}

/** Envoy's CorsPolicy (route or virtual host `typed_per_filter_config["envoy.filters.http.cors"]`; Istio VirtualService `corsPolicy`). */
export interface CorsPolicy {
  allowOriginStringMatch: StringMatcher[];
  /** Comma-separated, as Envoy keeps them. */
  allowMethods?: string;
  allowHeaders?: string;
  exposeHeaders?: string;
  /** Seconds, as a string (Envoy's max_age). */
  maxAge?: string;
  allowCredentials?: boolean;
  /** Envoy allow_private_network_access. */
  allowPrivateNetworkAccess?: boolean;
  /** Absent = true (Envoy's default): a preflight from an origin the policy does not allow is forwarded upstream; false = answered locally (200 without CORS headers). Istio `unmatchedPreflights: IGNORE` sets false, anything else true. */
  forwardNotMatchingPreflights?: boolean;
  /** Envoy filter_enabled (percent); absent = 100%. */
  filterEnabled?: FractionalPercent;
  /** Envoy shadow_enabled; absent = none. */
  shadowEnabled?: FractionalPercent;
}

/** One entry of an HTTP connection manager's filter chain; the router is always last. */
export interface HttpFilterConfig {
  /** Envoy's filter name (`envoy.filters.http.fault`, `envoy.filters.http.router`, …). */
  name: string;
  /** The filter's own config (`istio.stats`: IstioStatsConfig, …); absent = the filter's defaults. */
  typedConfig?: IstioStatsConfig | PeerMetadataConfig | JwtAuthentication | RbacConfig | IstioAlpnConfig | ExtAuthzConfig;
  /** Set when the filter is carried but not run (the HTTP filter registry skips it); see NoopFilter. */
  noop?: NoopFilter;
}

/** Envoy HCM forward_client_cert_details. Absent = SANITIZE (Envoy's default: x-forwarded-client-cert removed). */
export type ForwardClientCertDetails = "SANITIZE" | "FORWARD_ONLY" | "APPEND_FORWARD" | "SANITIZE_SET" | "ALWAYS_FORWARD_ONLY";

export interface HttpConnectionManager {
  /** Envoy stat_prefix, e.g. `outbound_0.0.0.0_9080`. */
  statPrefix: string;
  /** Name of the route configuration in `Snapshot.routeConfigs` (RDS); with `routeConfig`, that inline config's name. */
  routeConfigName: string;
  /**
   * Envoy's inline `route_config` (istiod's inbound HCMs, the bootstrap's 15021/15090 listeners):
   * when set, the connection manager routes by it and `Snapshot.routeConfigs` is not consulted.
   */
  routeConfig?: RouteConfiguration;
  /** HTTP filters in decode order (encode runs them in reverse); the router is last. */
  httpFilters: HttpFilterConfig[];
  /** Access logs written when each stream ends (Envoy's HCM access_log); absent = none. */
  accessLog?: AccessLogConfig[];
  /** Tracing (Envoy's HCM tracing); absent = no spans (context is still passed through). */
  tracing?: TracingConfig;
  /** What happens to x-forwarded-client-cert (istiod inbound: APPEND_FORWARD). Absent = SANITIZE. */
  forwardClientCertDetails?: ForwardClientCertDetails;
  /** Which fields of the client certificate go into XFCC besides By and Hash (istiod inbound: subject, dns, uri). */
  setCurrentClientCertDetails?: { subject?: boolean; cert?: boolean; chain?: boolean; dns?: boolean; uri?: boolean };
  /**
   * Envoy codec_type. AUTO (absent) = HTTP/2 when the connection starts with the HTTP/2 preface or
   * TLS negotiated ALPN `h2`, HTTP/1.x otherwise. HTTP1 / HTTP2 force one codec.
   */
  codecType?: "AUTO" | "HTTP1" | "HTTP2";
  /** Envoy http2_protocol_options of downstream HTTP/2 connections (SETTINGS we send); absent = Envoy's defaults. */
  http2ProtocolOptions?: Http2ProtocolOptions;
  /**
   * Envoy upgrade_configs: the upgrade types (`websocket`, …) this connection manager lets through
   * (istiod: `[{upgradeType: "websocket"}]` on every HTTP connection manager). A request asking
   * for any other upgrade is answered 403 with details `upgrade_failed`, as Envoy does. Absent = none.
   */
  upgradeConfigs?: UpgradeConfig[];
}

/** Envoy UpgradeConfig (connection manager or route level). */
export interface UpgradeConfig {
  /** Case-insensitive upgrade token, e.g. `websocket`. */
  upgradeType: string;
  /** Absent = true. On a route, false turns an upgrade the connection manager allows off. */
  enabled?: boolean;
}

/** Envoy tcp_proxy: bytes both ways between the downstream connection and one upstream host. */
export interface TcpProxy {
  /** Envoy stat_prefix, e.g. `outbound|3306||mysql.db.svc.cluster.local`. */
  statPrefix: string;
  /** Exactly one of cluster / weightedClusters. */
  cluster?: string;
  weightedClusters?: Array<{ name: string; weight: number }>;
  /** Close after this long without bytes either way; 0 = never. Envoy/Istio default 1 h. */
  idleTimeoutMs: number;
  /** Upstream connect attempts before giving up (Envoy default 1). */
  maxConnectAttempts: number;
  /** Access logs written when each connection ends; absent = none. */
  accessLog?: AccessLogConfig[];
  /** Istio's TCP metrics for this chain (the `istio.stats` network filter before tcp_proxy); absent = none. */
  istioStats?: IstioStatsConfig;
}

export interface RouteConfiguration {
  name: string;
  virtualHosts: VirtualHost[];
  /**
   * Envoy ignore_port_in_host_matching: the request's `:authority` port is ignored when choosing
   * the virtual host (istiod >= 1.28 writes portless domains with it). Absent = false.
   */
  ignorePortInHostMatching?: boolean;
}

export interface VirtualHost {
  /** e.g. `reviews.shop.svc.cluster.local:9080`, `allow_any`, `inbound|http|8080`. */
  name: string;
  /** Envoy domain forms: exact `a.b`, `a.b:9080`, wildcard `*.b`, `*`. Lower-case. */
  domains: string[];
  routes: Route[];
  /** Per-virtual-host config of HTTP filters (CORS); a route's own entry wins. */
  typedPerFilterConfig?: { [HTTP_CORS_FILTER]?: CorsPolicy };
}

/** One Envoy route: exactly one match (Istio expands each `match[]` block into its own route). */
export interface Route {
  /** Istio rule `name` when given, else `default` or generated. Shows in access logs. */
  name: string;
  match: RouteMatch;
  /** Exactly one of route / redirect / directResponse is set. */
  route?: RouteAction;
  redirect?: RedirectAction;
  directResponse?: DirectResponseAction;
  requestHeadersToAdd: HeaderValueOption[];
  requestHeadersToRemove: string[];
  responseHeadersToAdd: HeaderValueOption[];
  responseHeadersToRemove: string[];
  /** Per-route config of HTTP filters, by filter name (Istio's `fault` → the fault filter's). */
  typedPerFilterConfig?: { [HTTP_FAULT_FILTER]?: FaultPolicy; [HTTP_CORS_FILTER]?: CorsPolicy };
  /** Where the rule came from, for config_dump readers (`shop/reviews-vs http[0] match[1]`). */
  source?: string;
}

export interface StringMatcher {
  exact?: string;
  prefix?: string;
  suffix?: string;
  contains?: string;
  /** RE2 syntax, matched against the whole value (Envoy safe_regex full-match semantics). */
  safeRegex?: string;
  ignoreCase?: boolean;
}

export interface RouteMatch {
  /** Path matching on the path without query string. Exactly one of these (none = match all). */
  prefix?: string;
  path?: string;
  safeRegex?: string;
  /** Default true. Istio `ignoreUriCase` sets false. */
  caseSensitive: boolean;
  /**
   * Header matchers, AND'd. Pseudo-headers `:method`, `:authority`, `:scheme`, `:path` are
   * matched like Envoy does (authority includes the port when the client sent one).
   */
  headers: HeaderMatcher[];
  queryParameters: QueryParameterMatcher[];
}

export interface HeaderMatcher {
  /** Lower-case header name or pseudo-header. */
  name: string;
  /** Absent with presentMatch also absent = presence match. */
  stringMatch?: StringMatcher;
  /** true: header must be present (any value); false: header must be absent. */
  presentMatch?: boolean;
  /** Invert the result (Istio `withoutHeaders`). */
  invertMatch?: boolean;
}

export interface QueryParameterMatcher {
  name: string;
  /** Absent = presence match. */
  stringMatch?: StringMatcher;
  presentMatch?: boolean;
}

export interface WeightedCluster {
  name: string;
  weight: number;
  requestHeadersToAdd: HeaderValueOption[];
  requestHeadersToRemove: string[];
  responseHeadersToAdd: HeaderValueOption[];
  responseHeadersToRemove: string[];
}

export interface RouteAction {
  /** Single destination (no weights). Exactly one of cluster / weightedClusters. */
  cluster?: string;
  weightedClusters?: WeightedCluster[];
  /** Replace the matched path prefix (Istio `rewrite.uri` with a prefix/exact match). */
  prefixRewrite?: string;
  /** Istio `rewrite.uriRegexRewrite`: RE2 pattern, substitution with \1 style groups. */
  regexRewrite?: { pattern: string; substitution: string };
  /** Istio `rewrite.authority`. */
  hostRewriteLiteral?: string;
  /**
   * Route timeout in ms, covering every retry (Envoy semantics). 0 or absent = disabled, which is
   * what Istio writes when a VirtualService sets no `timeout`.
   */
  timeoutMs?: number;
  /** Absent = no retries (Istio always writes one: its default policy when `retries` is unset). */
  retryPolicy?: RetryPolicy;
  /** Envoy hash_policy (from a DestinationRule consistentHash), evaluated in order. */
  hashPolicy?: HashPolicy[];
  /** Envoy request_mirror_policies (Istio `mirror` / `mirrors`). */
  requestMirrorPolicies?: RequestMirrorPolicy[];
  /**
   * Envoy max_stream_duration (istiod writes it on every route: `max_stream_duration` and
   * `grpc_timeout_header_max` both the VirtualService timeout, 0 when unset). For a gRPC request
   * carrying `grpc-timeout`, grpcTimeoutHeaderMaxMs set means: that header bounds the stream,
   * capped at this value (0 = uncapped), minus grpcTimeoutHeaderOffsetMs. 0/absent maxStreamDurationMs = no bound.
   */
  maxStreamDuration?: { maxStreamDurationMs?: number; grpcTimeoutHeaderMaxMs?: number; grpcTimeoutHeaderOffsetMs?: number };
  /** Envoy's deprecated max_grpc_timeout (Istio before 1.10): grpc-timeout replaces the route timeout, capped here (0 = uncapped). */
  maxGrpcTimeoutMs?: number;
  /** Envoy's deprecated grpc_timeout_offset. */
  grpcTimeoutOffsetMs?: number;
  /** Envoy route-level upgrade_configs: per upgrade type, enabled or not on this route. */
  upgradeConfigs?: UpgradeConfig[];
}

/** Envoy FractionalPercent: numerator / denominator. */
export interface FractionalPercent {
  numerator: number;
  denominator: "HUNDRED" | "TEN_THOUSAND" | "MILLION";
}

export interface RetryPolicy {
  /**
   * Envoy retry_on conditions: `5xx`, `gateway-error`, `reset`, `reset-before-request`,
   * `connect-failure`, `envoy-ratelimited`, `retriable-4xx`, `refused-stream`,
   * `retriable-status-codes`, `retriable-headers`, and the gRPC ones (`cancelled`,
   * `deadline-exceeded`, `internal`, `resource-exhausted`, `unavailable`).
   */
  retryOn: string[];
  /** Retries after the first attempt. */
  numRetries: number;
  /** Per-attempt timeout in ms; absent/0 = the route timeout. */
  perTryTimeoutMs?: number;
  retriableStatusCodes: number[];
  /** `retriable-headers`: a response matching any of these is retried. */
  retriableHeaders: HeaderMatcher[];
  /** Envoy previous_hosts retry host predicate (Istio sets it except for consistent hash). */
  retryHostPredicatePreviousHosts: boolean;
  /** 5: Istio's host_selection_retry_max_attempts. */
  hostSelectionRetryMaxAttempts: number;
  /** 25 ms: Envoy's default back-off base interval; Istio `retries.backoff` overrides. */
  backoffBaseMs: number;
  /** Default 10 × base (250 ms). */
  backoffMaxMs: number;
  /** Istio `retryRemoteLocalities`: retries may go to other localities (priorities). */
  retryRemoteLocalities?: boolean;
}

export interface FaultPolicy {
  delay?: { fixedDelayMs: number; percentage: FractionalPercent };
  abort?: { httpStatus?: number; grpcStatus?: number; percentage: FractionalPercent };
}

export interface RequestMirrorPolicy {
  cluster: string;
  /** Absent = 100% (Istio: mirrorPercentage unset means all requests). */
  percentage?: FractionalPercent;
  /** Istio >= 1.28 sets this (no `-shadow` suffix on the mirrored Host). */
  disableShadowHostSuffixAppend: boolean;
}

export interface HashPolicy {
  header?: { headerName: string };
  /** Generated (Set-Cookie) when absent from the request and ttlMs is set, as Envoy does. */
  cookie?: { name: string; ttlMs?: number; path?: string };
  connectionProperties?: { sourceIp: boolean };
  queryParameter?: { name: string };
  terminal?: boolean;
}

export type RedirectResponseCode = 301 | 302 | 303 | 307 | 308;

export interface RedirectAction {
  schemeRedirect?: string;
  hostRedirect?: string;
  portRedirect?: number;
  /** Replace the whole path (Istio `redirect.uri`). */
  pathRedirect?: string;
  /** Replace only the matched prefix (Istio `redirect.uri` when the match was a prefix). */
  prefixRewrite?: string;
  /** FROM_PROTOCOL_DEFAULT: 80/443 from the scheme; FROM_REQUEST_PORT: the request's port. */
  derivePort?: "FROM_PROTOCOL_DEFAULT" | "FROM_REQUEST_PORT";
  responseCode: RedirectResponseCode;
}

export interface DirectResponseAction {
  status: number;
  body?: string;
}

export interface HeaderValueOption {
  key: string;
  value: string;
  /** Istio `set` → OVERWRITE_IF_EXISTS_OR_ADD; `add` → APPEND_IF_EXISTS_OR_ADD. */
  appendAction: "APPEND_IF_EXISTS_OR_ADD" | "OVERWRITE_IF_EXISTS_OR_ADD";
}

/**
 * Envoy discovery types. STRICT_DNS: every address a name resolves to is its own host (Istio
 * `resolution: DNS`); LOGICAL_DNS: one host whose new connections go to the first address of the
 * latest resolution (Istio `DNS_ROUND_ROBIN`).
 */
export type ClusterType = "STATIC" | "STRICT_DNS" | "LOGICAL_DNS" | "EDS" | "ORIGINAL_DST";

export interface Cluster {
  name: string;
  /** Absent = plaintext (`envoy.transport_sockets.raw_buffer`). */
  transportSocket?: TransportSocketConfig;
  /** Per-endpoint transport sockets (istiod's auto mTLS); tried before transportSocket. */
  transportSocketMatches?: TransportSocketMatch[];
  type: ClusterType;
  /** Envoy/Istio default: LEAST_REQUEST. */
  lbPolicy: "ROUND_ROBIN" | "LEAST_REQUEST" | "RANDOM" | "RING_HASH" | "MAGLEV" | "CLUSTER_PROVIDED";
  /** Envoy connect_timeout. Istio always writes its meshConfig connectTimeout (10 000 ms). */
  connectTimeoutMs: number;
  loadAssignment: ClusterLoadAssignment;
  /** The service this cluster fronts, for stats/access log (`reviews.shop.svc.cluster.local`). */
  serviceHost?: string;
  /** Subset name or "" when none. */
  subset?: string;
  /**
   * Envoy circuit breaker thresholds (default priority). Istio writes 4294967295 for every one
   * it does not set; enforced per cluster across all workers.
   */
  circuitBreakers?: CircuitBreakers;
  /** Envoy outlier_detection; absent = no outlier detection (Istio: only when the DR sets it). */
  outlierDetection?: OutlierDetectionConfig;
  /** Envoy common_lb_config.healthy_panic_threshold, percent. Absent = Envoy's default 50. */
  healthyPanicThreshold?: number;
  ringHashLbConfig?: { minimumRingSize: number; maximumRingSize: number };
  maglevLbConfig?: { tableSize: number };
  /** Envoy slow_start_config (Istio `warmup`). */
  slowStart?: { windowMs: number; aggression: number; minWeightPercent: number };
  /** Envoy locality_weighted_lb_config: weights in LocalityLbEndpoints.loadBalancingWeight apply. */
  localityWeightedLb?: boolean;
  /**
   * Envoy typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
   * (Istio connectionPool.http, and tcp.idleTimeout / maxConnectionDuration). Absent = Envoy's defaults.
   */
  httpProtocolOptions?: HttpProtocolOptions;
  /** Envoy upstream_connection_options (Istio connectionPool.tcp.tcpKeepalive). */
  upstreamConnectionOptions?: { tcpKeepalive: TcpKeepalive };
  /**
   * Envoy's upstream network filters (istiod: `istio.metadata_exchange` on clusters to mesh
   * services): carried with their original config so `/config_dump` shows them, not run.
   */
  filters?: Array<NoopFilter & { filterName: string }>;
  /** Envoy dns_refresh_rate for STRICT_DNS / LOGICAL_DNS clusters; absent = Envoy's 5 000 ms. */
  dnsRefreshRateMs?: number;
  /**
   * Envoy upstream_bind_config.source_address: upstream connections are made from this address
   * (InboundPassthroughCluster and inbound clusters: 127.0.0.6). Absent = the kernel's choice.
   */
  upstreamBindConfig?: {
    sourceAddress: string;
    /** Envoy extra_source_addresses: for a host of another IP family, its address of that family (istiod: ::6 beside 127.0.0.6). */
    extraSourceAddresses?: string[];
  };
}

/** Envoy HttpProtocolOptions, as much of it as the data path and config_dump readers use. */
export interface HttpProtocolOptions {
  commonHttpProtocolOptions?: {
    /** Close pooled upstream connections idle this long; absent = Envoy's 1 h. */
    idleTimeoutMs?: number;
    /** Absent/0 = unlimited. */
    maxRequestsPerConnection?: number;
    /** Close upstream connections this old (once idle). */
    maxConnectionDurationMs?: number;
  };
  /**
   * explicit_http_config: the upstream protocol, exactly one of the two set (istiod: HTTP/2 for a
   * port whose protocol is HTTP2 or GRPC, and for DestinationRule h2UpgradePolicy UPGRADE).
   * Absent with no useDownstreamProtocolConfig = HTTP/1.1 (Envoy's default).
   */
  explicitHttpConfig?: { httpProtocolOptions?: Record<string, never>; http2ProtocolOptions?: Http2ProtocolOptions };
  /**
   * use_downstream_protocol_config: the upstream speaks the downstream's protocol (HTTP/2 for an
   * HTTP/2 request, HTTP/1.1 otherwise). istiod: ports of unknown protocol (detection), the
   * passthrough clusters, DestinationRule useClientProtocol.
   */
  useDownstreamProtocolConfig?: { httpProtocolOptions?: Record<string, never>; http2ProtocolOptions?: Http2ProtocolOptions };
}

/**
 * Envoy Http2ProtocolOptions (downstream on the connection manager, upstream on a cluster), the
 * fields Outrigger honours. Absent fields = Envoy's defaults (`HTTP2_DEFAULTS`).
 */
export interface Http2ProtocolOptions {
  /** SETTINGS_MAX_CONCURRENT_STREAMS we advertise (downstream) / streams we open per connection (upstream). Envoy default 2147483647. Istio maxConcurrentStreams. */
  maxConcurrentStreams?: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE; Envoy default 268435456 (256 MiB). */
  initialStreamWindowSize?: number;
  /** Connection-level window; Envoy default 268435456 (256 MiB). */
  initialConnectionWindowSize?: number;
  /** Envoy allow_connect (extended CONNECT, RFC 8441). Kept for config_dump. */
  allowConnect?: boolean;
  /**
   * override_stream_error_on_invalid_http_message (or the deprecated
   * stream_error_on_invalid_http_messaging): true resets only the stream of a malformed message;
   * absent/false (Envoy's default) ends the connection with GOAWAY PROTOCOL_ERROR.
   */
  streamErrorOnInvalidHttpMessage?: boolean;
}

/** Envoy's Http2ProtocolOptions defaults (envoy/config/core/v3/protocol.proto). */
export const HTTP2_DEFAULTS = {
  maxConcurrentStreams: 2147483647,
  initialStreamWindowSize: 268435456,
  initialConnectionWindowSize: 268435456,
} as const;

/** Envoy TcpKeepalive (seconds in Envoy, ms here; istiod truncates to whole seconds). */
export interface TcpKeepalive {
  keepaliveProbes?: number;
  keepaliveTimeMs?: number;
  keepaliveIntervalMs?: number;
}

export interface CircuitBreakers {
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
}

/** Envoy's OutlierDetection as Istio fills it (durations in ms, percents 0-100). */
export interface OutlierDetectionConfig {
  /** 5: Envoy default. Istio consecutive5xxErrors (0 disables: enforcing 0). */
  consecutive5xx: number;
  enforcingConsecutive5xx: number;
  /** Istio consecutiveGatewayErrors; Envoy default enforcing 0. */
  consecutiveGatewayFailure: number;
  enforcingConsecutiveGatewayFailure: number;
  /** Istio consecutiveLocalOriginFailures (needs splitExternalLocalOriginErrors). */
  consecutiveLocalOriginFailure: number;
  enforcingConsecutiveLocalOriginFailure: number;
  splitExternalLocalOriginErrors: boolean;
  /** 10 000 ms: Envoy default interval. */
  intervalMs: number;
  /** 30 000 ms: Envoy default base ejection time. */
  baseEjectionTimeMs: number;
  /** 300 000 ms (or base if larger): Envoy default max ejection time. */
  maxEjectionTimeMs: number;
  /** 10: Envoy default; at least one host is always ejectable. */
  maxEjectionPercent: number;
}

export interface ClusterLoadAssignment {
  endpoints: LocalityLbEndpoints[];
}

export interface Locality {
  region?: string;
  zone?: string;
  subZone?: string;
}

export interface LocalityLbEndpoints {
  locality: Locality;
  priority: number;
  /** Sum of endpoint weights unless explicitly set. */
  loadBalancingWeight?: number;
  lbEndpoints: LbEndpoint[];
}

export interface LbEndpoint {
  /** IP address, or a DNS name for STRICT_DNS / LOGICAL_DNS clusters ("" with `pipe`). */
  address: string;
  /** 0 with `pipe`. */
  port: number;
  /**
   * Envoy's Pipe address: a Unix domain socket path (the bootstrap's `xds-grpc` / `sds-grpc`
   * clusters). Connections go to the path; `address`/`port` are "" / 0. Relative paths are resolved
   * against the working directory when the bootstrap is read.
   */
  pipe?: string;
  /** Default 1. */
  weight: number;
  labels: Record<string, string>;
  healthStatus: "HEALTHY" | "UNHEALTHY" | "DRAINING";
}
