// A DestinationRule's effective traffic policy → the Envoy cluster fields istiod writes for it:
// load balancer (+ ring hash / maglev / slow start), circuit breakers, connection options,
// outlier detection (+ panic threshold) and locality priorities / weights.

import {
  ENVOY_MAGLEV_TABLE_SIZE,
  ENVOY_MAX_RING_SIZE,
  ENVOY_MIN_RING_SIZE,
  ENVOY_SLOW_START_AGGRESSION,
  ENVOY_SLOW_START_MIN_WEIGHT_PERCENT,
  istioDefaultCircuitBreakers,
} from "../model/defaults.js";
import type { CircuitBreakers, Cluster, HttpProtocolOptions, Locality, OutlierDetectionConfig } from "../model/types.js";
import type { OutlierDetection, TrafficPolicy } from "./istio-traffic-policy.js";
import type { ClusterTlsOptions } from "./cluster-tls.js";
import { applyLocalityLb, effectiveLocalityLbSetting, usesLocalityWeightedLb } from "./locality-lb.js";
import type { Protocol } from "./protocol.js";
import { decideUpstreamProtocol, upstreamProtocolFor, type MeshH2UpgradePolicy, type UpstreamProtocolInput } from "./upstream-protocol.js";

export interface ClusterPolicyContext {
  /** MeshConfig h2UpgradePolicy; absent = DO_NOT_UPGRADE. */
  meshH2UpgradePolicy?: MeshH2UpgradePolicy | undefined;
  /** Filled while building: cluster name → its upstream protocol and why (for `validate` / `explain`). */
  upstreamProtocols?: Record<string, string>;
  proxyLocality: Locality;
  proxyLabels: Record<string, string>;
  /** Upstream TLS (DestinationRule tls, auto mTLS); absent = plaintext clusters. */
  tls?: ClusterTlsOptions;
}

/** istiod applyConnectionPool: a value only counts when > 0 (it cannot tell 0 from unset). */
export function circuitBreakersFor(policy: TrafficPolicy | undefined): CircuitBreakers {
  const cb = istioDefaultCircuitBreakers();
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

/**
 * Applies the policy to an outbound cluster built with defaults (type, endpoints grouped by
 * locality); `protocol` is the service port's (undefined = detection), which picks the upstream protocol.
 */
export function applyTrafficPolicy(c: Cluster, policy: TrafficPolicy | undefined, ctx: ClusterPolicyContext, protocol: Protocol | undefined): void {
  const cp = policy?.connectionPool;
  c.circuitBreakers = circuitBreakersFor(policy);
  if (cp?.tcp?.connectTimeoutMs !== undefined) c.connectTimeoutMs = cp.tcp.connectTimeoutMs;
  const upstream: UpstreamProtocolInput = { protocol, direction: "outbound", meshH2UpgradePolicy: ctx.meshH2UpgradePolicy };
  const hpo = httpProtocolOptionsFor(policy, upstream);
  if (ctx.upstreamProtocols !== undefined) ctx.upstreamProtocols[c.name] = decideUpstreamProtocol(cp?.http, upstream).reason;
  if (hpo !== undefined) c.httpProtocolOptions = hpo;
  const ka = cp?.tcp?.tcpKeepalive;
  if (ka) {
    // Envoy's keepalive time/interval are whole seconds; istiod truncates.
    const k: NonNullable<Cluster["upstreamConnectionOptions"]>["tcpKeepalive"] = {};
    if ((ka.probes ?? 0) > 0) k.keepaliveProbes = ka.probes as number;
    if (ka.timeMs !== undefined) k.keepaliveTimeMs = Math.trunc(ka.timeMs / 1000) * 1000;
    if (ka.intervalMs !== undefined) k.keepaliveIntervalMs = Math.trunc(ka.intervalMs / 1000) * 1000;
    c.upstreamConnectionOptions = { tcpKeepalive: k };
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

/**
 * istiod's HttpProtocolOptions for a cluster: idle timeout (http, else tcp), max requests per
 * connection (only when > 0), max connection duration, and the upstream protocol (upstream-protocol.ts).
 * Undefined when none of them is set (Envoy's defaults apply: HTTP/1.1).
 */
export function httpProtocolOptionsFor(policy: TrafficPolicy | undefined, upstream: UpstreamProtocolInput): HttpProtocolOptions | undefined {
  const cp = policy?.connectionPool;
  const common: NonNullable<HttpProtocolOptions["commonHttpProtocolOptions"]> = {};
  const idle = cp?.http?.idleTimeoutMs ?? cp?.tcp?.idleTimeoutMs;
  if (idle !== undefined) common.idleTimeoutMs = idle;
  if ((cp?.http?.maxRequestsPerConnection ?? 0) > 0) common.maxRequestsPerConnection = cp?.http?.maxRequestsPerConnection as number;
  if (cp?.tcp?.maxConnectionDurationMs !== undefined) common.maxConnectionDurationMs = cp.tcp.maxConnectionDurationMs;
  const out: HttpProtocolOptions = {};
  // istiod writes the (maybe empty) common options whenever one of these or maxConcurrentStreams is set.
  if (Object.keys(common).length > 0 || (cp?.http?.maxConcurrentStreams ?? 0) > 0) out.commonHttpProtocolOptions = common;
  Object.assign(out, upstreamProtocolFor(cp?.http, upstream));
  return Object.keys(out).length > 0 ? out : undefined;
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
      c.maglevLbConfig = { tableSize: ch.maglev.tableSize || ENVOY_MAGLEV_TABLE_SIZE };
    } else {
      c.lbPolicy = "RING_HASH";
      const min = (ch.ringHash ? ch.ringHash.minimumRingSize : ch.minimumRingSize) || ENVOY_MIN_RING_SIZE;
      c.ringHashLbConfig = { minimumRingSize: min, maximumRingSize: ENVOY_MAX_RING_SIZE };
    }
  }
  // Slow start exists only for round robin and least request (Envoy's lb configs carry it).
  if (c.lbPolicy === "ROUND_ROBIN" || c.lbPolicy === "LEAST_REQUEST") {
    if (lb?.warmup) {
      // Istio API defaults: aggression 1 (linear), minimumPercent 10.
      c.slowStart = {
        windowMs: lb.warmup.durationMs,
        aggression: lb.warmup.aggression ?? ENVOY_SLOW_START_AGGRESSION,
        minWeightPercent: lb.warmup.minimumPercent ?? ENVOY_SLOW_START_MIN_WEIGHT_PERCENT,
      };
    } else if (lb?.warmupDurationMs !== undefined) {
      c.slowStart = { windowMs: lb.warmupDurationMs, aggression: ENVOY_SLOW_START_AGGRESSION, minWeightPercent: ENVOY_SLOW_START_MIN_WEIGHT_PERCENT };
    }
  }
}
