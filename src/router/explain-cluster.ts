// The policies of one cluster as `explain` reports them: discovery, load balancing, connection
// pool and circuit breakers, outlier detection, TLS, subset and endpoints — what Istio's
// DestinationRule turned into.

import type { Cluster, Snapshot, TransportSocketConfig, UpstreamTlsContext } from "../config/model/types.js";

export interface ClusterPolicy {
  name: string;
  /** False: the route names a cluster the snapshot lacks (Envoy: 503 NC). */
  found: boolean;
  service?: string | undefined;
  subset?: string | undefined;
  type?: string;
  lbPolicy?: string;
  connectTimeoutMs?: number;
  /** `plaintext` or the transport socket's name. */
  tls?: string;
  circuitBreakers?: { maxConnections: number; maxPendingRequests: number; maxRequests: number; maxRetries: number } | undefined;
  outlierDetection?: { consecutive5xx: number; consecutiveGatewayFailure: number; intervalMs: number; baseEjectionTimeMs: number; maxEjectionPercent: number } | undefined;
  connectionPool?: { idleTimeoutMs?: number | undefined; maxRequestsPerConnection?: number | undefined; maxConnectionDurationMs?: number | undefined } | undefined;
  /**
   * The protocol requests go upstream in: `HTTP/2`, `downstream's protocol` or `HTTP/1.1`, with
   * why when the translation says (`HTTP/2 (port protocol GRPC)`).
   */
  upstreamProtocol?: string;
  hashing?: string | undefined;
  slowStartWindowMs?: number | undefined;
  /** `address:port` of each endpoint (DNS names as configured), with locality and priority. */
  endpoints?: Array<{ address: string; weight: number; locality: string; priority: number; health: string }>;
}

/** `why`: the translation's account of the upstream protocol (Istio YAML); absent for Envoy resources. */
export function clusterPolicy(s: Snapshot, name: string, why?: string): ClusterPolicy {
  const c = s.clusters[name];
  if (c === undefined) return { name, found: false };
  const o = c.outlierDetection;
  const cp = c.httpProtocolOptions;
  return {
    name,
    found: true,
    service: c.serviceHost,
    subset: c.subset !== undefined && c.subset !== "" ? c.subset : undefined,
    type: c.type,
    lbPolicy: c.lbPolicy,
    connectTimeoutMs: c.connectTimeoutMs,
    tls: describeTls(c),
    circuitBreakers: c.circuitBreakers,
    outlierDetection: o !== undefined
      ? { consecutive5xx: o.consecutive5xx, consecutiveGatewayFailure: o.consecutiveGatewayFailure, intervalMs: o.intervalMs, baseEjectionTimeMs: o.baseEjectionTimeMs, maxEjectionPercent: o.maxEjectionPercent }
      : undefined,
    connectionPool: cp !== undefined
      ? {
          idleTimeoutMs: cp.commonHttpProtocolOptions?.idleTimeoutMs,
          maxRequestsPerConnection: cp.commonHttpProtocolOptions?.maxRequestsPerConnection,
          maxConnectionDurationMs: cp.commonHttpProtocolOptions?.maxConnectionDurationMs,
        }
      : undefined,
    upstreamProtocol: why ?? upstreamProtocol(c),
    hashing: c.ringHashLbConfig !== undefined ? `ring hash ${c.ringHashLbConfig.minimumRingSize}..${c.ringHashLbConfig.maximumRingSize}` : c.maglevLbConfig !== undefined ? `maglev table ${c.maglevLbConfig.tableSize}` : undefined,
    slowStartWindowMs: c.slowStart?.windowMs,
    endpoints: c.loadAssignment.endpoints.flatMap((g) =>
      g.lbEndpoints.map((ep) => ({
        address: ep.address.includes(":") ? `[${ep.address}]:${ep.port}` : `${ep.address}:${ep.port}`,
        weight: ep.weight,
        locality: [g.locality.region, g.locality.zone, g.locality.subZone].filter((x) => x !== undefined && x !== "").join("/"),
        priority: g.priority,
        health: ep.healthStatus,
      })),
    ),
  };
}

/** The upstream protocol from the cluster's HTTP protocol options alone (Envoy's default: HTTP/1.1). */
function upstreamProtocol(c: Cluster): string {
  const hpo = c.httpProtocolOptions;
  if (hpo?.useDownstreamProtocolConfig !== undefined) return "downstream's protocol (use_downstream_protocol_config)";
  const h2 = hpo?.explicitHttpConfig?.http2ProtocolOptions;
  if (h2 !== undefined) return `HTTP/2 (explicit_http_config)${h2.maxConcurrentStreams !== undefined ? `, max concurrent streams ${h2.maxConcurrentStreams}` : ""}`;
  return "HTTP/1.1";
}

/** The cluster's upstream transport in a line: plaintext, TLS (with its SNI), or auto mTLS by endpoint label. */
function describeTls(c: Cluster): string {
  const one = (t: TransportSocketConfig | undefined): string => {
    if (t === undefined || t.name === "envoy.transport_sockets.raw_buffer") return "plaintext";
    const sni = (t.typedConfig as UpstreamTlsContext | undefined)?.sni;
    return sni !== undefined && sni !== "" ? `${t.name} (sni ${sni})` : t.name;
  };
  if (c.transportSocketMatches !== undefined && c.transportSocketMatches.length > 0) {
    const parts = c.transportSocketMatches.map((m) => `${Object.keys(m.match).length > 0 ? Object.entries(m.match).map(([k, v]) => `${k}=${v}`).join(",") : "other"} endpoints: ${one(m.transportSocket)}`);
    return `by endpoint (${parts.join("; ")})`;
  }
  return one(c.transportSocket);
}
