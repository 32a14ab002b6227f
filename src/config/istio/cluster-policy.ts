// A DestinationRule's effective traffic policy → the Envoy cluster fields istiod writes for it:
// load balancer (+ ring hash / maglev / slow start), circuit breakers, connection options,
// outlier detection (+ panic threshold) and locality priorities / weights.

import type { CircuitBreakers, Cluster, Locality, OutlierDetection, OutlierDetectionConfig, TrafficPolicy } from "../model/types.js";
import { applyLocalityLb, effectiveLocalityLbSetting, usesLocalityWeightedLb } from "./locality-lb.js";

/** 4294967295: Istio's default for every circuit-breaker threshold (overriding Envoy's 1024/3). */
export const UNLIMITED = 4_294_967_295;
/** 1024: Envoy's default ring hash minimum_ring_size. */
export const DEFAULT_MIN_RING_SIZE = 1024;
/** 8 388 608 (8M): Envoy's default ring hash maximum_ring_size. */
export const DEFAULT_MAX_RING_SIZE = 8_388_608;
/** 65537: Envoy's default maglev table size. */
export const DEFAULT_MAGLEV_TABLE_SIZE = 65_537;

export interface ClusterPolicyContext {
  proxyLocality: Locality;
  proxyLabels: Record<string, string>;
}

export function defaultCircuitBreakers(): CircuitBreakers {
  return { maxConnections: UNLIMITED, maxPendingRequests: UNLIMITED, maxRequests: UNLIMITED, maxRetries: UNLIMITED };
}

/** istiod applyConnectionPool: a value only counts when > 0 (it cannot tell 0 from unset). */
export function circuitBreakersFor(policy: TrafficPolicy | undefined): CircuitBreakers {
  const cb = defaultCircuitBreakers();
  const http = policy?.connectionPool?.http;
  const tcp = policy?.connectionPool?.tcp;
  if ((http?.http2MaxRequests ?? 0) > 0) cb.maxRequests = http?.http2MaxRequests as number;
  if ((http?.http1MaxPendingRequests ?? 0) > 0) cb.maxPendingRequests = http?.http1MaxPendingRequests as number;
  if ((http?.maxRetries ?? 0) > 0) cb.maxRetries = http?.maxRetries as number;
  if ((tcp?.maxConnections ?? 0) > 0) cb.maxConnections = tcp?.maxConnections as number;
  return cb;
}

/** istiod applyOutlierDetection, with Envoy's defaults filled in for unset fields. */
export function outlierDetectionFor(od: OutlierDetection): OutlierDetectionConfig {
  const c5 = od.consecutive5xxErrors;
  const cg = od.consecutiveGatewayErrors;
  const split = od.splitExternalLocalOriginErrors === true;
  const cl = od.consecutiveLocalOriginFailures ?? 0;
  // 30 000 ms: Envoy's base_ejection_time default.
  const base = od.baseEjectionTimeMs ?? 30_000;
  return {
    // 5: Envoy's consecutive_5xx default, enforced at 100% by default; Istio enforces only when > 0.
    consecutive5xx: c5 ?? 5,
    enforcingConsecutive5xx: c5 === undefined || c5 > 0 ? 100 : 0,
    // 5 with enforcing 0: Envoy's gateway-failure defaults (tracked, never ejects) unless Istio sets it.
    consecutiveGatewayFailure: cg ?? 5,
    enforcingConsecutiveGatewayFailure: cg !== undefined && cg > 0 ? 100 : 0,
    consecutiveLocalOriginFailure: split && cl > 0 ? cl : 5,
    enforcingConsecutiveLocalOriginFailure: 100,
    splitExternalLocalOriginErrors: split,
    // 10 000 ms: Envoy's outlier detection interval default.
    intervalMs: od.intervalMs ?? 10_000,
    baseEjectionTimeMs: base,
    // 300 000 ms: Envoy's max_ejection_time default, or the base when that is larger.
    maxEjectionTimeMs: Math.max(300_000, base),
    // 10%: Envoy's default; istiod only overrides a value > 0.
    maxEjectionPercent: (od.maxEjectionPercent ?? 0) > 0 ? (od.maxEjectionPercent as number) : 10,
  };
}

/** Applies the policy to an outbound cluster built with defaults (type, endpoints grouped by locality). */
export function applyTrafficPolicy(c: Cluster, policy: TrafficPolicy | undefined, ctx: ClusterPolicyContext): void {
  const cp = policy?.connectionPool;
  c.circuitBreakers = circuitBreakersFor(policy);
  if (cp?.tcp?.connectTimeoutMs !== undefined) c.connectTimeoutMs = cp.tcp.connectTimeoutMs;
  const idle = cp?.http?.idleTimeoutMs ?? cp?.tcp?.idleTimeoutMs;
  if (idle !== undefined) c.idleTimeoutMs = idle;
  if ((cp?.http?.maxRequestsPerConnection ?? 0) > 0) c.maxRequestsPerConnection = cp?.http?.maxRequestsPerConnection as number;
  if (cp?.tcp?.maxConnectionDurationMs !== undefined) c.maxConnectionDurationMs = cp.tcp.maxConnectionDurationMs;
  const ka = cp?.tcp?.tcpKeepalive;
  if (ka) {
    // Envoy's keepalive time/interval are whole seconds; istiod truncates.
    const k: NonNullable<Cluster["tcpKeepalive"]> = {};
    if ((ka.probes ?? 0) > 0) k.probes = ka.probes as number;
    if (ka.timeMs !== undefined) k.timeMs = Math.trunc(ka.timeMs / 1000) * 1000;
    if (ka.intervalMs !== undefined) k.intervalMs = Math.trunc(ka.intervalMs / 1000) * 1000;
    c.tcpKeepalive = k;
  }

  const od = policy?.outlierDetection;
  if (od) {
    c.outlierDetection = outlierDetectionFor(od);
    // Istio sets the panic threshold from minHealthPercent, 0 (panic mode off) when unset.
    c.healthyPanicThreshold = od.minHealthPercent ?? 0;
  }

  applyLoadBalancer(c, policy);

  if (c.type !== "ORIGINAL_DST") {
    const setting = effectiveLocalityLbSetting(policy?.loadBalancer?.localityLbSetting);
    if (usesLocalityWeightedLb(setting, od !== undefined)) c.localityWeightedLb = true;
    c.loadAssignment = {
      endpoints: applyLocalityLb(c.loadAssignment.endpoints, {
        proxyLocality: ctx.proxyLocality,
        proxyLabels: ctx.proxyLabels,
        setting,
        outlierDetection: od !== undefined,
        // STATIC service entries are EDS clusters in istiod; failoverPriority is not applied to STRICT_DNS.
        failoverPriorityApplies: c.type === "STATIC" || c.type === "EDS",
      }),
    };
  }
}

function applyLoadBalancer(c: Cluster, policy: TrafficPolicy | undefined): void {
  const lb = policy?.loadBalancer;
  if (lb?.simple === "PASSTHROUGH") {
    // istiod turns a PASSTHROUGH load balancer into an original-destination cluster.
    c.type = "ORIGINAL_DST";
    c.loadAssignment = { endpoints: [] };
  }
  if (c.type === "ORIGINAL_DST") {
    // Envoy requires CLUSTER_PROVIDED for ORIGINAL_DST clusters.
    c.lbPolicy = "CLUSTER_PROVIDED";
    return;
  }
  // LEAST_CONN is the deprecated name of LEAST_REQUEST; unset/UNSPECIFIED is Istio's default LEAST_REQUEST.
  c.lbPolicy = lb?.simple === "ROUND_ROBIN" ? "ROUND_ROBIN" : lb?.simple === "RANDOM" ? "RANDOM" : "LEAST_REQUEST";
  const ch = lb?.consistentHash;
  if (ch) {
    if (ch.maglev) {
      c.lbPolicy = "MAGLEV";
      c.maglevLbConfig = { tableSize: ch.maglev.tableSize || DEFAULT_MAGLEV_TABLE_SIZE };
    } else {
      c.lbPolicy = "RING_HASH";
      const min = (ch.ringHash ? ch.ringHash.minimumRingSize : ch.minimumRingSize) || DEFAULT_MIN_RING_SIZE;
      c.ringHashLbConfig = { minimumRingSize: min, maximumRingSize: DEFAULT_MAX_RING_SIZE };
    }
  }
  // Slow start exists only for round robin and least request (Envoy's lb configs carry it).
  if (c.lbPolicy === "ROUND_ROBIN" || c.lbPolicy === "LEAST_REQUEST") {
    if (lb?.warmup) {
      // Istio API defaults: aggression 1 (linear), minimumPercent 10.
      c.slowStart = { windowMs: lb.warmup.durationMs, aggression: lb.warmup.aggression ?? 1, minWeightPercent: lb.warmup.minimumPercent ?? 10 };
    } else if (lb?.warmupDurationMs !== undefined) {
      c.slowStart = { windowMs: lb.warmupDurationMs, aggression: 1, minWeightPercent: 10 };
    }
  }
}
