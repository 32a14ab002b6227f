// Every default the model leaves implicit, in one place: what Envoy uses when a field is absent,
// and the values istiod always writes. Translation and the data path both read them from here.

import type { CircuitBreakers, Cluster } from "./types.js";

/** 10 000 ms: Istio's meshConfig connectTimeout, written on every cluster it builds. */
export const ISTIO_CONNECT_TIMEOUT_MS = 10_000;
/** 3 600 000 ms (1 h): Envoy's common_http_protocol_options.idle_timeout default for upstream connections. */
export const ENVOY_UPSTREAM_IDLE_TIMEOUT_MS = 3_600_000;
/** 5 000 ms: Envoy's dns_refresh_rate default (STRICT_DNS / LOGICAL_DNS). */
export const ENVOY_DNS_REFRESH_MS = 5_000;
/** 4294967295: Istio's value for every circuit-breaker threshold it does not set (overriding Envoy's 1024/3). */
export const ISTIO_UNLIMITED_THRESHOLD = 4_294_967_295;
/** 1024: Envoy's ring hash minimum_ring_size default. */
export const ENVOY_MIN_RING_SIZE = 1024;
/** 8 388 608 (8M): Envoy's ring hash maximum_ring_size default. */
export const ENVOY_MAX_RING_SIZE = 8_388_608;
/** 65537: Envoy's maglev table_size default. */
export const ENVOY_MAGLEV_TABLE_SIZE = 65_537;
/** 10 %: Envoy's slow_start_config min_weight_percent default (Istio warmup.minimumPercent too). */
export const ENVOY_SLOW_START_MIN_WEIGHT_PERCENT = 10;
/** 1.0 (linear): Envoy's slow_start_config aggression default. */
export const ENVOY_SLOW_START_AGGRESSION = 1;

/** Circuit breakers istiod writes when a DestinationRule sets none. */
export function istioDefaultCircuitBreakers(): CircuitBreakers {
  return {
    maxConnections: ISTIO_UNLIMITED_THRESHOLD,
    maxPendingRequests: ISTIO_UNLIMITED_THRESHOLD,
    maxRequests: ISTIO_UNLIMITED_THRESHOLD,
    maxRetries: ISTIO_UNLIMITED_THRESHOLD,
  };
}

/** The idle timeout upstream connections of this cluster close after, ms (0 in the model = Envoy's "off"). */
export function upstreamIdleTimeoutMs(c: Cluster): number {
  const ms = c.httpProtocolOptions?.commonHttpProtocolOptions?.idleTimeoutMs;
  return ms === undefined || ms === 0 ? ENVOY_UPSTREAM_IDLE_TIMEOUT_MS : ms;
}

/** max_requests_per_connection, undefined when unlimited. */
export function maxRequestsPerConnection(c: Cluster): number | undefined {
  const n = c.httpProtocolOptions?.commonHttpProtocolOptions?.maxRequestsPerConnection;
  return n !== undefined && n > 0 ? n : undefined;
}

/** The DNS refresh period of a STRICT_DNS / LOGICAL_DNS cluster, ms. */
export function dnsRefreshRateMs(c: Cluster): number {
  return c.dnsRefreshRateMs !== undefined && c.dnsRefreshRateMs > 0 ? c.dnsRefreshRateMs : ENVOY_DNS_REFRESH_MS;
}
