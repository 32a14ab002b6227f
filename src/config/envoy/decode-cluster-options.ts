// Parts of envoy.config.cluster.v3.Cluster with their own messages: load-balancer configs (the
// lb_policy enum's companions and the typed load_balancing_policy), circuit breakers, outlier
// detection and the upstream HttpProtocolOptions — each with Envoy's defaults for unset fields.

import type { Cluster, CircuitBreakers, HttpProtocolOptions, OutlierDetectionConfig } from "../model/types.js";
import { at, bool, checkFields, durationMs, isObject, list, num, obj, typedConfig, uint, type DecodeState } from "./decode-common.js";
import type { Json } from "./decoded.js";
import { http1ProtocolOptions, http2ProtocolOptions } from "./decode-http2-options.js";

const UINT32_MAX = 4_294_967_295;

/** Envoy's thresholds when a cluster sets none (or leaves a field unset). */
export const ENVOY_DEFAULT_CIRCUIT_BREAKERS: CircuitBreakers = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 };

export function circuitBreakers(v: unknown, path: string, st: DecodeState): CircuitBreakers {
  const o = obj(v, path, st);
  let out: CircuitBreakers = { ...ENVOY_DEFAULT_CIRCUIT_BREAKERS };
  if (o === undefined) return out;
  checkFields(o, path, st, ["thresholds"], {}, { per_host_thresholds: "per-host circuit breakers are not supported; ignored" });
  list(o.thresholds, at(path, "thresholds"), st).forEach((x, i) => {
    const p = at(at(path, "thresholds"), i);
    const t = obj(x, p, st);
    if (t === undefined) return;
    const priority = t.priority ?? "DEFAULT";
    if (priority !== "DEFAULT" && priority !== 0) {
      st.note(p, "HIGH priority thresholds are not used: every request has the default priority");
      return;
    }
    checkFields(t, p, st, ["priority", "max_connections", "max_pending_requests", "max_requests", "max_retries", "track_remaining"], {}, {
      retry_budget: "retry budgets are not supported: max_retries applies",
      max_connection_pools: "max_connection_pools is not supported; ignored",
    });
    out = {
      maxConnections: uint(t.max_connections ?? 1024, at(p, "max_connections"), st) ?? 1024,
      maxPendingRequests: uint(t.max_pending_requests ?? 1024, at(p, "max_pending_requests"), st) ?? 1024,
      maxRequests: uint(t.max_requests ?? 1024, at(p, "max_requests"), st) ?? 1024,
      maxRetries: uint(t.max_retries ?? 3, at(p, "max_retries"), st) ?? 3,
    };
  });
  return out;
}

export function outlierDetection(v: unknown, path: string, st: DecodeState): OutlierDetectionConfig | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  const handled = ["consecutive_5xx", "enforcing_consecutive_5xx", "consecutive_gateway_failure", "enforcing_consecutive_gateway_failure", "consecutive_local_origin_failure", "enforcing_consecutive_local_origin_failure", "split_external_local_origin_errors", "interval", "base_ejection_time", "max_ejection_time", "max_ejection_percent", "enforcing_success_rate", "enforcing_failure_percentage", "enforcing_failure_percentage_local_origin", "enforcing_local_origin_success_rate"];
  // Thresholds of the success-rate and failure-percentage detectors: meaningless while those are not enforced.
  const quiet = ["success_rate_minimum_hosts", "success_rate_request_volume", "success_rate_stdev_factor", "failure_percentage_threshold", "failure_percentage_minimum_hosts", "failure_percentage_request_volume"];
  checkFields(o, path, st, [...handled, ...quiet]);
  const u = (k: string, dflt: number, max = UINT32_MAX): number => uint(o[k] ?? dflt, at(path, k), st, max) ?? dflt;
  const d = (k: string, dflt: number): number => durationMs(o[k], at(path, k), st) ?? dflt;
  const base = d("base_ejection_time", 30_000);
  const od: OutlierDetectionConfig = {
    consecutive5xx: u("consecutive_5xx", 5),
    enforcingConsecutive5xx: u("enforcing_consecutive_5xx", 100, 100),
    consecutiveGatewayFailure: u("consecutive_gateway_failure", 5),
    enforcingConsecutiveGatewayFailure: u("enforcing_consecutive_gateway_failure", 0, 100),
    consecutiveLocalOriginFailure: u("consecutive_local_origin_failure", 5),
    enforcingConsecutiveLocalOriginFailure: u("enforcing_consecutive_local_origin_failure", 100, 100),
    splitExternalLocalOriginErrors: bool(o.split_external_local_origin_errors, at(path, "split_external_local_origin_errors"), st) ?? false,
    intervalMs: d("interval", 10_000),
    baseEjectionTimeMs: base,
    maxEjectionTimeMs: d("max_ejection_time", Math.max(300_000, base)),
    maxEjectionPercent: u("max_ejection_percent", 10, 100),
  };
  // Envoy enforces success-rate ejection at 100% unless told otherwise; Outrigger has no such detector.
  if (u("enforcing_success_rate", 100, 100) > 0) st.note(at(path, "enforcing_success_rate"), "success-rate ejection is not supported (istiod sets enforcing_success_rate 0)");
  for (const k of ["enforcing_failure_percentage", "enforcing_failure_percentage_local_origin", "enforcing_local_origin_success_rate"]) {
    if (u(k, 0, 100) > 0) st.note(at(path, k), "this ejection detector is not supported; ignored");
  }
  return od;
}

type SlowStart = NonNullable<Cluster["slowStart"]>;

function slowStart(v: unknown, path: string, st: DecodeState): SlowStart | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["slow_start_window", "aggression", "min_weight_percent"]);
  const windowMs = durationMs(o.slow_start_window, at(path, "slow_start_window"), st);
  if (windowMs === undefined) return st.error(at(path, "slow_start_window"), "a slow start window is required");
  const ag = isObject(o.aggression) ? o.aggression : undefined;
  if (ag !== undefined && typeof ag.runtime_key === "string" && ag.runtime_key !== "") st.note(at(path, "aggression.runtime_key"), "runtime overrides are not supported; default_value applies");
  const aggression = ag !== undefined ? num(ag.default_value ?? 1, at(path, "aggression.default_value"), st) ?? 1 : 1;
  const minWeightPercent = o.min_weight_percent !== undefined ? num(o.min_weight_percent, at(path, "min_weight_percent"), st) ?? 10 : 10;
  if (aggression <= 0) st.error(at(path, "aggression"), "must be greater than 0");
  return { windowMs, aggression, minWeightPercent };
}

/** The lb_policy enum, with v2's ORIGINAL_DST_LB (4) as CLUSTER_PROVIDED. */
export const LB_POLICIES = ["ROUND_ROBIN", "LEAST_REQUEST", "RING_HASH", "RANDOM", "ORIGINAL_DST_LB", "MAGLEV", "CLUSTER_PROVIDED", "LOAD_BALANCING_POLICY_CONFIG"] as const;

/** What the load-balancing fields set on the model. */
export type LbFields = Pick<Cluster, "lbPolicy" | "ringHashLbConfig" | "maglevLbConfig" | "slowStart">;

function ringHash(o: Json, path: string, st: DecodeState, out: LbFields): void {
  checkFields(o, path, st, ["minimum_ring_size", "maximum_ring_size", "hash_function"], {}, { use_hostname_for_hashing: "hashing on hostnames is not supported: addresses are hashed", hash_balance_factor: "bounded-load hashing is not supported; ignored", consistent_hashing_lb_config: "ignored", locality_weighted_lb_config: "ignored" });
  if (o.hash_function !== undefined && o.hash_function !== "XX_HASH" && o.hash_function !== 0) st.note(at(path, "hash_function"), "only XX_HASH is supported; XX_HASH applies");
  const min = uint(o.minimum_ring_size ?? 1024, at(path, "minimum_ring_size"), st, 8_388_608) ?? 1024;
  const max = uint(o.maximum_ring_size ?? 8_388_608, at(path, "maximum_ring_size"), st, 8_388_608) ?? 8_388_608;
  if (min > max) st.error(path, `minimum_ring_size ${min} is larger than maximum_ring_size ${max}`);
  out.ringHashLbConfig = { minimumRingSize: min, maximumRingSize: max };
}

function maglev(o: Json, path: string, st: DecodeState, out: LbFields): void {
  checkFields(o, path, st, ["table_size"], {}, { use_hostname_for_hashing: "hashing on hostnames is not supported: addresses are hashed", hash_balance_factor: "bounded-load hashing is not supported; ignored", consistent_hashing_lb_config: "ignored", locality_weighted_lb_config: "ignored" });
  const size = uint(o.table_size ?? 65537, at(path, "table_size"), st, 5_000_011) ?? 65537;
  out.maglevLbConfig = { tableSize: size };
}

function leastRequest(o: Json, path: string, st: DecodeState, out: LbFields): void {
  checkFields(o, path, st, ["choice_count", "slow_start_config"], {}, { active_request_bias: "active_request_bias is not supported; ignored", locality_lb_config: "ignored", enable_full_scan: "ignored", selection_method: "ignored" });
  const cc = uint(o.choice_count, at(path, "choice_count"), st);
  if (cc !== undefined && cc !== 2) st.note(at(path, "choice_count"), "only the power of two choices is supported; 2 applies");
  const ss = slowStart(o.slow_start_config, at(path, "slow_start_config"), st);
  if (ss !== undefined) out.slowStart = ss;
}

function roundRobin(o: Json, path: string, st: DecodeState, out: LbFields): void {
  checkFields(o, path, st, ["slow_start_config"], {}, { locality_lb_config: "ignored" });
  const ss = slowStart(o.slow_start_config, at(path, "slow_start_config"), st);
  if (ss !== undefined) out.slowStart = ss;
}

const TYPED_POLICIES: Record<string, { policy: Cluster["lbPolicy"]; read?: (o: Json, path: string, st: DecodeState, out: LbFields) => void }> = {
  "envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin": { policy: "ROUND_ROBIN", read: roundRobin },
  "envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest": { policy: "LEAST_REQUEST", read: leastRequest },
  "envoy.extensions.load_balancing_policies.random.v3.Random": { policy: "RANDOM" },
  "envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash": { policy: "RING_HASH", read: ringHash },
  "envoy.extensions.load_balancing_policies.maglev.v3.Maglev": { policy: "MAGLEV", read: maglev },
  "envoy.extensions.load_balancing_policies.cluster_provided.v3.ClusterProvided": { policy: "CLUSTER_PROVIDED" },
};

/** lb_policy with its *_lb_config, or the typed load_balancing_policy (its first policy Outrigger has, as Envoy picks the first it supports). */
export function loadBalancing(o: Json, st: DecodeState): LbFields | undefined {
  const out: LbFields = { lbPolicy: "ROUND_ROBIN" };
  if (o.load_balancing_policy !== undefined) {
    const lbp = obj(o.load_balancing_policy, "load_balancing_policy", st) ?? {};
    const policies = list(lbp.policies, "load_balancing_policy.policies", st);
    for (let i = 0; i < policies.length; i++) {
      const p = at("load_balancing_policy.policies", i);
      const e = obj(policies[i], p, st);
      const tec = e !== undefined ? obj(e.typed_extension_config, at(p, "typed_extension_config"), st) : undefined;
      const tc = tec !== undefined ? typedConfig(tec.typed_config, at(p, "typed_extension_config.typed_config"), st) : undefined;
      if (tc === undefined) continue;
      const known = TYPED_POLICIES[tc.type];
      if (known === undefined) {
        st.note(p, `load balancing policy ${tc.type} is not supported; trying the next one`);
        continue;
      }
      out.lbPolicy = known.policy;
      known.read?.(tc.fields, at(p, "typed_extension_config.typed_config"), st, out);
      return out;
    }
    return st.error("load_balancing_policy", "none of the load balancing policies is supported by Outrigger (round_robin, least_request, random, ring_hash, maglev, cluster_provided)");
  }
  const p = o.lb_policy === undefined ? "ROUND_ROBIN" : LB_POLICIES.find((x, i) => x === o.lb_policy || i === o.lb_policy);
  if (p === undefined) return st.error("lb_policy", `expected one of ROUND_ROBIN, LEAST_REQUEST, RING_HASH, RANDOM, MAGLEV, CLUSTER_PROVIDED, got ${JSON.stringify(o.lb_policy)}`);
  if (p === "LOAD_BALANCING_POLICY_CONFIG") return st.error("lb_policy", "LOAD_BALANCING_POLICY_CONFIG needs load_balancing_policy");
  out.lbPolicy = p === "ORIGINAL_DST_LB" ? "CLUSTER_PROVIDED" : p;
  const configs: Array<[string, Cluster["lbPolicy"], (o: Json, path: string, st: DecodeState, out: LbFields) => void]> = [
    ["ring_hash_lb_config", "RING_HASH", ringHash],
    ["maglev_lb_config", "MAGLEV", maglev],
    ["least_request_lb_config", "LEAST_REQUEST", leastRequest],
    ["round_robin_lb_config", "ROUND_ROBIN", roundRobin],
  ];
  for (const [k, policy, read] of configs) {
    const c = obj(o[k], k, st);
    if (c === undefined) continue;
    if (policy !== out.lbPolicy) st.note(k, `ignored: lb_policy is ${out.lbPolicy}`);
    else read(c, k, st, out);
  }
  if (o.original_dst_lb_config !== undefined) st.note("original_dst_lb_config", "ignored: the connection's original destination is used");
  return out;
}

/** envoy.extensions.upstreams.http.v3.HttpProtocolOptions (fields, no "@type"). */
export function httpProtocolOptions(o: Json, path: string, st: DecodeState): HttpProtocolOptions {
  checkFields(o, path, st, ["common_http_protocol_options", "explicit_http_config", "use_downstream_protocol_config", "auto_config"], {}, {
    upstream_http_protocol_options: "upstream_http_protocol_options are not supported; ignored",
    http_filters: "upstream HTTP filters are not supported; ignored",
    header_validation_config: "ignored",
    outlier_detection: "HTTP-level outlier detection settings are not supported; ignored",
  });
  const h: HttpProtocolOptions = {};
  const c = obj(o.common_http_protocol_options, at(path, "common_http_protocol_options"), st);
  if (c !== undefined) h.commonHttpProtocolOptions = commonHttpProtocolOptions(c, at(path, "common_http_protocol_options"), st);
  const chosen = ["explicit_http_config", "use_downstream_protocol_config", "auto_config"].filter((k) => o[k] !== undefined);
  if (chosen.length > 1) st.error(path, `only one of explicit_http_config, use_downstream_protocol_config, auto_config may be set (got ${chosen.join(", ")})`);
  const e = obj(o.explicit_http_config, at(path, "explicit_http_config"), st);
  if (e !== undefined) {
    const p = at(path, "explicit_http_config");
    checkFields(e, p, st, ["http_protocol_options", "http2_protocol_options", "http3_protocol_options"]);
    if (e.http3_protocol_options !== undefined) st.error(at(p, "http3_protocol_options"), "upstream HTTP/3 is not supported by Outrigger");
    else if (e.http2_protocol_options !== undefined) {
      const h2 = http2ProtocolOptions(e.http2_protocol_options, at(p, "http2_protocol_options"), st);
      if (h2 !== undefined) h.explicitHttpConfig = { http2ProtocolOptions: h2 };
    } else if (e.http_protocol_options !== undefined) {
      const h1 = http1ProtocolOptions(e.http_protocol_options, at(p, "http_protocol_options"), st);
      if (h1 !== undefined) h.explicitHttpConfig = { httpProtocolOptions: h1 };
    } else st.error(p, "one of http_protocol_options, http2_protocol_options is required");
    if (e.http_protocol_options !== undefined && e.http2_protocol_options !== undefined) st.error(p, "only one of http_protocol_options, http2_protocol_options may be set");
  }
  const d = obj(o.use_downstream_protocol_config, at(path, "use_downstream_protocol_config"), st);
  if (d !== undefined) h.useDownstreamProtocolConfig = useDownstreamHttpConfig(d, at(path, "use_downstream_protocol_config"), st);
  const a = obj(o.auto_config, at(path, "auto_config"), st);
  if (a !== undefined) {
    // Envoy picks the protocol by ALPN with the upstream (TLS only); Outrigger's pools offer no
    // ALPN choice, and HTTP/1.1 is what Envoy falls back to when the upstream does not answer h2.
    useDownstreamHttpConfig(a, at(path, "auto_config"), st, ["alternate_protocols_cache_options"]);
    st.note(at(path, "auto_config"), "ALPN protocol selection (auto_config) is not supported: the upstream is spoken to in HTTP/1.1");
  }
  return h;
}

/** UseDownstreamHttpConfig (and AutoHttpConfig's same two fields): both kept as written. */
function useDownstreamHttpConfig(d: Json, path: string, st: DecodeState, more: readonly string[] = []): NonNullable<HttpProtocolOptions["useDownstreamProtocolConfig"]> {
  checkFields(d, path, st, ["http_protocol_options", "http2_protocol_options", ...more], { http3_protocol_options: "upstream HTTP/3 is not supported by Outrigger" });
  const out: NonNullable<HttpProtocolOptions["useDownstreamProtocolConfig"]> = {};
  const h1 = http1ProtocolOptions(d.http_protocol_options, at(path, "http_protocol_options"), st);
  if (h1 !== undefined) out.httpProtocolOptions = h1;
  const h2 = http2ProtocolOptions(d.http2_protocol_options, at(path, "http2_protocol_options"), st);
  if (h2 !== undefined) out.http2ProtocolOptions = h2;
  return out;
}

export function commonHttpProtocolOptions(c: Json, path: string, st: DecodeState): NonNullable<HttpProtocolOptions["commonHttpProtocolOptions"]> {
  checkFields(c, path, st, ["idle_timeout", "max_requests_per_connection", "max_connection_duration"], {}, {
    max_headers_count: "max_headers_count is not supported; the upstream codecs' default limits apply",
    max_stream_duration: "max_stream_duration is not supported yet",
    headers_with_underscores_action: "headers_with_underscores_action applies to downstream connections only; ignored",
    max_response_headers_kb: "ignored",
  });
  const out: NonNullable<HttpProtocolOptions["commonHttpProtocolOptions"]> = {};
  const idle = durationMs(c.idle_timeout, at(path, "idle_timeout"), st);
  if (idle !== undefined) out.idleTimeoutMs = idle;
  const mr = uint(c.max_requests_per_connection, at(path, "max_requests_per_connection"), st);
  if (mr !== undefined) out.maxRequestsPerConnection = mr;
  const md = durationMs(c.max_connection_duration, at(path, "max_connection_duration"), st);
  if (md !== undefined) out.maxConnectionDurationMs = md;
  return out;
}

export const HTTP_PROTOCOL_OPTIONS_KEY = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

/** typed_extension_protocol_options: the upstream HTTP options, under their name (or the legacy name). */
export function typedExtensionProtocolOptions(v: unknown, path: string, st: DecodeState): HttpProtocolOptions | undefined {
  const m = obj(v, path, st);
  if (m === undefined) return undefined;
  let out: HttpProtocolOptions | undefined;
  for (const [k, x] of Object.entries(m)) {
    const p = `${path}[${JSON.stringify(k)}]`;
    const tc = typedConfig(x, p, st);
    if (tc === undefined) continue;
    if (tc.type === HTTP_PROTOCOL_OPTIONS_KEY) out = httpProtocolOptions(tc.fields, p, st);
    else st.note(p, `protocol options ${tc.type} are not supported; ignored`);
  }
  return out;
}
