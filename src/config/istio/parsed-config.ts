// The validated, normalised form of each supported Istio resource: hosts resolved, durations in
// ms, enums checked. The builders work on these, never on raw YAML.

import type { CorsPolicy, FaultPolicy, FractionalPercent, HeaderValueOption, StringMatcher } from "../model/types.js";
import type { TrafficPolicy } from "./istio-traffic-policy.js";
import type { Protocol } from "./protocol.js";

export interface ConfigRef {
  kind: string;
  name: string;
  namespace: string;
  /** `file` of the source document, for summaries. */
  file: string;
}

export interface ParsedPort {
  number: number;
  /** Resolved protocol; undefined = unset (Istio's "unsupported"): detected, and the cluster speaks the downstream's protocol. */
  protocol: Protocol | undefined;
  name: string;
  targetPort?: number;
}

export interface ParsedEndpoint {
  address: string;
  /** Port overrides by service port name. */
  ports: Record<string, number>;
  labels: Record<string, string>;
  /** `region/zone/subzone`. */
  locality?: string;
  weight: number;
  network?: string;
  /** WorkloadEntry `serviceAccount` (in the ServiceEntry's namespace): a server SAN for ISTIO_MUTUAL. */
  serviceAccount?: string;
}

export type Resolution = "NONE" | "STATIC" | "DNS" | "DNS_ROUND_ROBIN";

export interface ParsedServiceEntry {
  ref: ConfigRef;
  hosts: string[];
  addresses: string[];
  ports: ParsedPort[];
  location: "MESH_EXTERNAL" | "MESH_INTERNAL";
  resolution: Resolution;
  endpoints: ParsedEndpoint[];
  workloadSelector?: Record<string, string>;
  exportTo: string[];
  /** `subjectAltNames`: the identities the service's servers present (ISTIO_MUTUAL SAN check). */
  subjectAltNames?: string[];
}

export interface ParsedWorkloadEntry {
  ref: ConfigRef;
  endpoint: ParsedEndpoint;
}

export interface ParsedTrafficPolicy {
  /** Top-level settings (no portLevelSettings). */
  policy: TrafficPolicy;
  portLevel: Array<{ port: number; policy: TrafficPolicy }>;
}

export interface ParsedSubset {
  name: string;
  labels: Record<string, string>;
  trafficPolicy?: ParsedTrafficPolicy;
}

export interface ParsedDestinationRule {
  ref: ConfigRef;
  host: string;
  trafficPolicy?: ParsedTrafficPolicy;
  subsets: ParsedSubset[];
  exportTo: string[];
  workloadSelector?: Record<string, string>;
}

export interface ParsedHeaderOps {
  /** `set` then `add`, each sorted by name, as istiod emits them. */
  requestHeadersToAdd: HeaderValueOption[];
  requestHeadersToRemove: string[];
  responseHeadersToAdd: HeaderValueOption[];
  responseHeadersToRemove: string[];
  /** `:authority`/`host` set through headers: becomes a host rewrite. */
  authority?: string;
}

export interface ParsedHeaderMatch {
  name: string;
  /** undefined = presence match. */
  match?: StringMatcher;
}

export interface ParsedMatch {
  name?: string;
  uri?: StringMatcher;
  scheme?: StringMatcher;
  method?: StringMatcher;
  authority?: StringMatcher;
  headers: ParsedHeaderMatch[];
  withoutHeaders: ParsedHeaderMatch[];
  queryParams: ParsedHeaderMatch[];
  port?: number;
  ignoreUriCase: boolean;
  sourceLabels?: Record<string, string>;
  sourceNamespace?: string;
  gateways: string[];
}

export interface ParsedDestination {
  /** Resolved FQDN. */
  host: string;
  subset?: string;
  port?: number;
}

export interface ParsedRouteDestination {
  destination: ParsedDestination;
  weight: number;
  headers?: ParsedHeaderOps;
}

export interface ParsedRedirect {
  uri?: string;
  authority?: string;
  scheme?: string;
  port?: number;
  derivePort?: "FROM_PROTOCOL_DEFAULT" | "FROM_REQUEST_PORT";
  redirectCode: number;
}

export interface ParsedRewrite {
  uri?: string;
  uriRegexRewrite?: { match: string; rewrite: string };
  authority?: string;
}

export interface ParsedHttpRoute {
  index: number;
  name?: string;
  match: ParsedMatch[];
  route: ParsedRouteDestination[];
  redirect?: ParsedRedirect;
  directResponse?: { status: number; body?: string };
  rewrite?: ParsedRewrite;
  headers?: ParsedHeaderOps;
  /** `timeout`; absent = disabled (0). */
  timeoutMs?: number;
  /** `retries` as written; absent = Istio's default policy. */
  retries?: ParsedRetries;
  fault?: FaultPolicy;
  /** `corsPolicy`, translated as istiod does (the route's typed_per_filter_config["envoy.filters.http.cors"]). */
  cors?: CorsPolicy;
  /** `mirror` then `mirrors[]`, with istiod's percentage already resolved; 0% mirrors are dropped. */
  mirrors: ParsedMirror[];
}

export interface ParsedRetries {
  /** 0 disables retries (no retry policy). */
  attempts: number;
  retryOn?: string;
  perTryTimeoutMs?: number;
  retryRemoteLocalities?: boolean;
  retryIgnorePreviousHosts?: boolean;
  backoffMs?: number;
}

export interface ParsedMirror {
  destination: ParsedDestination;
  percentage: FractionalPercent;
}

/** One `tcp[].match[]` block (Istio L4MatchAttributes). */
export interface ParsedL4Match {
  port?: number;
  destinationSubnets: string[];
  sourceLabels?: Record<string, string>;
  sourceNamespace?: string;
  gateways: string[];
}

/** One `tcp[]` rule: the first whose match applies to a TCP listener routes it. */
export interface ParsedTcpRoute {
  index: number;
  match: ParsedL4Match[];
  route: ParsedRouteDestination[];
}

/** One `tls[]` match: SNI hosts (required) plus the L4 fields. */
export interface ParsedTlsMatch extends ParsedL4Match {
  sniHosts: string[];
}

/** One `tls[]` rule: routes TLS connections by SNI (passthrough) to weighted destinations. */
export interface ParsedTlsRoute {
  index: number;
  match: ParsedTlsMatch[];
  route: ParsedRouteDestination[];
}

export interface ParsedVirtualService {
  ref: ConfigRef;
  /** Resolved hosts (lower-case FQDNs or wildcards). */
  hosts: string[];
  gateways: string[];
  exportTo: string[];
  http: ParsedHttpRoute[];
  tcp: ParsedTcpRoute[];
  tls: ParsedTlsRoute[];
}

export interface ParsedSidecarPort {
  number: number;
  protocol: string | undefined;
  name: string | undefined;
}

export interface ParsedSidecarIngress {
  index: number;
  port: ParsedSidecarPort;
  bind: string;
  /** host:port of the local application. */
  defaultEndpoint?: { address: string; port: number };
}

export interface ParsedSidecarEgress {
  index: number;
  port?: ParsedSidecarPort;
  bind?: string;
  /** `ns/dnsName` entries, `.` already replaced by the Sidecar's namespace. */
  hosts: Array<{ namespace: string; host: string }>;
}

export interface ParsedSidecar {
  ref: ConfigRef;
  workloadSelector?: Record<string, string>;
  ingress: ParsedSidecarIngress[];
  egress: ParsedSidecarEgress[];
  outboundTrafficPolicy?: "REGISTRY_ONLY" | "ALLOW_ANY";
}
