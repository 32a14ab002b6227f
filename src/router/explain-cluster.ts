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
  connectionPool?: { idleTimeoutMs?: number | undefined; maxRequestsPerConnection?: number | undefined; maxConnectionDurationMs?: number | undefined; http2?: boolean } | undefined;
  hashing?: string | undefined;
  slowStartWindowMs?: number | undefined;
  /** `address:port` of each endpoint (DNS names as configured), with locality and priority. */
  endpoints?: Array<{ address: string; weight: number; locality: string; priority: number; health: string }>;
}

export function clusterPolicy(s: Snapshot, name: string): ClusterPolicy {
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
          http2: cp.explicitHttpConfig !== undefined ? true : undefined,
        }
      : undefined,
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
