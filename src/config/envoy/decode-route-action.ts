// envoy.config.route.v3.RouteAction → the model's RouteAction: destination (cluster or weighted
// clusters), rewrites, timeout, retry policy, hash policy and mirrors, with Envoy's defaults.
// max stream duration and gRPC timeout rules, route-level upgrades. Routing choices the data path
// cannot make (cluster_header, metadata_match, …) are errors; tunables it lacks are notes.

import type { HashPolicy, RequestMirrorPolicy, RetryPolicy, RouteAction, WeightedCluster } from "../model/types.js";
import { at, bool, checkFields, durationMs, enumOf, fractionalPercent, headerMatcher, isObject, list, obj, regexOf, str, typedConfig, uint, type DecodeState } from "./decode-common.js";
import { HEADER_OPS_FIELDS, headerOps } from "./decode-header-ops.js";
import { upgradeConfigs } from "./decode-upgrade-configs.js";

const PREVIOUS_HOSTS = new Set(["envoy.retry_host_predicates.previous_hosts", "envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"]);
const PREVIOUS_PRIORITIES = new Set(["envoy.retry_priorities.previous_priorities", "envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig"]);

/** Envoy's retry back-off defaults: 25 ms base, 10 × base max. */
const DEFAULT_BACKOFF_BASE_MS = 25;

export function retryPolicy(v: unknown, path: string, st: DecodeState): RetryPolicy | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["retry_on", "num_retries", "per_try_timeout", "retry_priority", "retry_host_predicate", "host_selection_retry_max_attempts", "retriable_status_codes", "retry_back_off", "retriable_headers"], {}, {
    per_try_idle_timeout: "per_try_idle_timeout is not supported; per_try_timeout applies",
    retriable_request_headers: "retriable_request_headers is not supported: every request is retriable",
    rate_limited_retry_back_off: "rate-limited retry back-off is not supported; retry_back_off applies",
    retry_options_predicates: "retry options predicates are not supported; ignored",
  });
  const retryOn = (str(o.retry_on, at(path, "retry_on"), st) ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  const p: RetryPolicy = {
    retryOn,
    // UInt32Value; Envoy's default is 1.
    numRetries: uint(o.num_retries ?? 1, at(path, "num_retries"), st) ?? 1,
    retriableStatusCodes: [],
    retriableHeaders: [],
    retryHostPredicatePreviousHosts: false,
    // int64; Envoy's default is 1.
    hostSelectionRetryMaxAttempts: uint(o.host_selection_retry_max_attempts ?? 1, at(path, "host_selection_retry_max_attempts"), st, Number.MAX_SAFE_INTEGER) ?? 1,
    backoffBaseMs: DEFAULT_BACKOFF_BASE_MS,
    backoffMaxMs: DEFAULT_BACKOFF_BASE_MS * 10,
  };
  const ptt = durationMs(o.per_try_timeout, at(path, "per_try_timeout"), st);
  if (ptt !== undefined && ptt > 0) p.perTryTimeoutMs = ptt;
  list(o.retriable_status_codes, at(path, "retriable_status_codes"), st).forEach((c, i) => {
    const n = uint(c, at(at(path, "retriable_status_codes"), i), st);
    if (n !== undefined) p.retriableStatusCodes.push(n);
  });
  list(o.retriable_headers, at(path, "retriable_headers"), st).forEach((h, i) => {
    const m = headerMatcher(h, at(at(path, "retriable_headers"), i), st);
    if (m !== undefined) p.retriableHeaders.push(m);
  });
  list(o.retry_host_predicate, at(path, "retry_host_predicate"), st).forEach((x, i) => {
    const pp = at(at(path, "retry_host_predicate"), i);
    const e = obj(x, pp, st);
    if (e === undefined) return;
    const name = str(e.name, at(pp, "name"), st) ?? "";
    const type = e.typed_config !== undefined ? typedConfig(e.typed_config, at(pp, "typed_config"), st)?.type : undefined;
    if (PREVIOUS_HOSTS.has(name) || (type !== undefined && PREVIOUS_HOSTS.has(type))) p.retryHostPredicatePreviousHosts = true;
    else st.note(pp, `retry host predicate ${JSON.stringify(name)} is not supported; ignored`);
  });
  if (o.retry_priority !== undefined) {
    const rp = obj(o.retry_priority, at(path, "retry_priority"), st);
    const name = rp !== undefined ? str(rp.name, at(path, "retry_priority.name"), st) ?? "" : "";
    const type = rp?.typed_config !== undefined ? typedConfig(rp.typed_config, at(path, "retry_priority.typed_config"), st)?.type : undefined;
    if (PREVIOUS_PRIORITIES.has(name) || (type !== undefined && PREVIOUS_PRIORITIES.has(type))) p.retryRemoteLocalities = true;
    else st.note(at(path, "retry_priority"), `retry priority ${JSON.stringify(name)} is not supported; ignored`);
  }
  if (o.retry_back_off !== undefined) {
    const b = obj(o.retry_back_off, at(path, "retry_back_off"), st);
    if (b !== undefined) {
      const base = durationMs(b.base_interval, at(path, "retry_back_off.base_interval"), st);
      if (base === undefined || base <= 0) st.error(at(path, "retry_back_off.base_interval"), "a base interval greater than 0 is required");
      else {
        const max = durationMs(b.max_interval, at(path, "retry_back_off.max_interval"), st) ?? base * 10;
        if (max < base) st.error(at(path, "retry_back_off.max_interval"), "must be at least base_interval");
        p.backoffBaseMs = base;
        p.backoffMaxMs = max;
      }
    }
  }
  return p;
}

function hashPolicy(v: unknown, path: string, st: DecodeState): HashPolicy | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["header", "cookie", "connection_properties", "query_parameter", "terminal"], { filter_state: "hashing on filter state is not supported by Outrigger" });
  const h: HashPolicy = {};
  const kinds = ["header", "cookie", "connection_properties", "query_parameter", "filter_state"].filter((k) => o[k] !== undefined);
  if (kinds.length !== 1) return st.error(path, `exactly one of header, cookie, connection_properties, query_parameter must be set (got ${kinds.length})`);
  if (o.header !== undefined) {
    const x = obj(o.header, at(path, "header"), st) ?? {};
    checkFields(x, at(path, "header"), st, ["header_name"], { regex_rewrite: "hashing on a rewritten header is not supported by Outrigger" });
    const name = str(x.header_name, at(path, "header.header_name"), st);
    if (name === undefined || name === "") return st.error(at(path, "header.header_name"), "a header name is required");
    h.header = { headerName: name.toLowerCase() };
  }
  if (o.cookie !== undefined) {
    const x = obj(o.cookie, at(path, "cookie"), st) ?? {};
    checkFields(x, at(path, "cookie"), st, ["name", "ttl", "path"], {}, { attributes: "cookie attributes are not supported; ignored" });
    const name = str(x.name, at(path, "cookie.name"), st);
    if (name === undefined || name === "") return st.error(at(path, "cookie.name"), "a cookie name is required");
    h.cookie = { name };
    const ttl = durationMs(x.ttl, at(path, "cookie.ttl"), st);
    if (ttl !== undefined) h.cookie.ttlMs = ttl;
    const cp = str(x.path, at(path, "cookie.path"), st);
    if (cp !== undefined && cp !== "") h.cookie.path = cp;
  }
  if (o.connection_properties !== undefined) {
    const x = obj(o.connection_properties, at(path, "connection_properties"), st) ?? {};
    h.connectionProperties = { sourceIp: bool(x.source_ip, at(path, "connection_properties.source_ip"), st) ?? false };
  }
  if (o.query_parameter !== undefined) {
    const x = obj(o.query_parameter, at(path, "query_parameter"), st) ?? {};
    const name = str(x.name, at(path, "query_parameter.name"), st);
    if (name === undefined || name === "") return st.error(at(path, "query_parameter.name"), "a query parameter name is required");
    h.queryParameter = { name };
  }
  if (bool(o.terminal, at(path, "terminal"), st) === true) h.terminal = true;
  return h;
}

export function mirrorPolicy(v: unknown, path: string, st: DecodeState): RequestMirrorPolicy | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["cluster", "runtime_fraction", "disable_shadow_host_suffix_append", "runtime_key"], { cluster_header: "mirroring to a cluster named by a header is not supported by Outrigger" }, { trace_sampled: "trace_sampled is not supported; the mirrored request keeps the sampling decision" });
  const cluster = str(o.cluster, at(path, "cluster"), st);
  if (cluster === undefined || cluster === "") return st.error(at(path, "cluster"), "a cluster is required");
  const m: RequestMirrorPolicy = { cluster, disableShadowHostSuffixAppend: bool(o.disable_shadow_host_suffix_append, at(path, "disable_shadow_host_suffix_append"), st) ?? false };
  if (o.runtime_fraction !== undefined) {
    const rf = obj(o.runtime_fraction, at(path, "runtime_fraction"), st) ?? {};
    const f = fractionalPercent(rf.default_value, at(path, "runtime_fraction.default_value"), st);
    if (f !== undefined) m.percentage = f;
    if (typeof rf.runtime_key === "string" && rf.runtime_key !== "") st.note(at(path, "runtime_fraction.runtime_key"), "runtime overrides are not supported; default_value applies");
  }
  if (o.runtime_key !== undefined) st.note(at(path, "runtime_key"), "v2 runtime_key is not supported: every request is mirrored");
  return m;
}

function weightedClusters(v: unknown, path: string, st: DecodeState): WeightedCluster[] | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["clusters", "total_weight"], { header_name: "picking the weighted cluster by a header is not supported by Outrigger" }, { runtime_key_prefix: "runtime overrides of the weights are not supported; the configured weights apply" });
  const out: WeightedCluster[] = [];
  list(o.clusters, at(path, "clusters"), st).forEach((x, i) => {
    const p = at(at(path, "clusters"), i);
    const c = obj(x, p, st);
    if (c === undefined) return;
    checkFields(c, p, st, ["name", "weight", ...HEADER_OPS_FIELDS], {
      cluster_header: "a weighted cluster named by a header is not supported by Outrigger",
      metadata_match: "subset load balancing (metadata_match) is not supported by Outrigger",
    }, {
      typed_per_filter_config: "per-cluster filter configs are not supported; ignored",
      host_rewrite_literal: "per-cluster host rewrite is not supported; ignored",
      runtime_key_prefix: "runtime overrides of the weights are not supported; the configured weight applies",
    });
    const name = str(c.name, at(p, "name"), st);
    if (name === undefined || name === "") return void st.error(at(p, "name"), "a cluster name is required");
    const weight = uint(c.weight ?? 0, at(p, "weight"), st) ?? 0;
    out.push({ name, weight, ...headerOps(c, p, st) });
  });
  if (out.length === 0) return st.error(at(path, "clusters"), "at least one cluster is required");
  const sum = out.reduce((s, c) => s + c.weight, 0);
  if (o.total_weight !== undefined) {
    const total = uint(o.total_weight, at(path, "total_weight"), st);
    if (total !== undefined && total !== sum) return st.error(at(path, "total_weight"), `the cluster weights add up to ${sum}, not ${total}`);
  }
  if (sum === 0) return st.error(at(path, "clusters"), "the sum of the weights must be greater than 0");
  return out;
}

/** A request_mirror_policies list (route, virtual host or route configuration). */
export function mirrorPolicies(v: unknown, path: string, st: DecodeState): RequestMirrorPolicy[] {
  const out: RequestMirrorPolicy[] = [];
  list(v, path, st).forEach((m, i) => {
    const x = mirrorPolicy(m, at(path, i), st);
    if (x !== undefined) out.push(x);
  });
  return out;
}

const CLUSTER_SPECIFIERS = ["cluster", "weighted_clusters", "cluster_header", "cluster_specifier_plugin", "inline_cluster_specifier_plugin"] as const;

export function routeAction(v: unknown, path: string, st: DecodeState): RouteAction | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["cluster", "weighted_clusters", "prefix_rewrite", "regex_rewrite", "host_rewrite_literal", "host_rewrite", "timeout", "retry_policy", "hash_policy", "request_mirror_policies", "request_mirror_policy", "cluster_not_found_response_code", "cors", "max_stream_duration", "max_grpc_timeout", "grpc_timeout_offset", "upgrade_configs"], {
    cluster_header: "a cluster named by a request header is not supported by Outrigger",
    cluster_specifier_plugin: "cluster specifier plugins are not supported by Outrigger",
    inline_cluster_specifier_plugin: "cluster specifier plugins are not supported by Outrigger",
    metadata_match: "subset load balancing (metadata_match) is not supported by Outrigger",
    path_rewrite_policy: "URI template rewrites are not supported by Outrigger",
    host_rewrite_header: "host rewrite from a header is not supported by Outrigger",
    host_rewrite_path_regex: "host rewrite from the path is not supported by Outrigger",
  }, {
    idle_timeout: "per-route stream idle_timeout is not supported yet; the connection manager's applies",
    auto_host_rewrite: "auto_host_rewrite is not supported: the Host header is kept",
    priority: "route priority is not supported: the default priority's circuit breakers apply",
    rate_limits: "rate limits are not supported; ignored",
    include_vh_rate_limits: "rate limits are not supported; ignored",
    internal_redirect_policy: "internal redirects are not supported: the upstream's redirect is returned",
    internal_redirect_action: "internal redirects are not supported: the upstream's redirect is returned",
    max_internal_redirects: "internal redirects are not supported",
    hedge_policy: "request hedging is not supported; ignored",
    append_x_forwarded_host: "append_x_forwarded_host is not supported; ignored",
    early_data_policy: "early data is not supported; ignored",
  });
  const specs = CLUSTER_SPECIFIERS.filter((k) => o[k] !== undefined);
  if (specs.length !== 1) return st.error(path, `exactly one of cluster, weighted_clusters, cluster_header, cluster_specifier_plugin must be set (got ${specs.length === 0 ? "none" : specs.join(", ")})`);
  const a: RouteAction = {};
  if (o.cluster !== undefined) {
    const c = str(o.cluster, at(path, "cluster"), st);
    if (c === undefined || c === "") return st.error(at(path, "cluster"), "a cluster name is required");
    a.cluster = c;
  }
  if (o.weighted_clusters !== undefined) {
    const w = weightedClusters(o.weighted_clusters, at(path, "weighted_clusters"), st);
    if (w !== undefined) a.weightedClusters = w;
  }
  if (o.cluster_not_found_response_code !== undefined) {
    const code = enumOf(o.cluster_not_found_response_code, ["SERVICE_UNAVAILABLE", "NOT_FOUND", "INTERNAL_SERVER_ERROR"] as const, at(path, "cluster_not_found_response_code"), st);
    if (code !== undefined && code !== "SERVICE_UNAVAILABLE") st.note(at(path, "cluster_not_found_response_code"), `${code} is not supported: a missing cluster answers 503`);
  }
  const pr = str(o.prefix_rewrite, at(path, "prefix_rewrite"), st);
  if (pr !== undefined && pr !== "") a.prefixRewrite = pr;
  if (o.regex_rewrite !== undefined) {
    const rr = obj(o.regex_rewrite, at(path, "regex_rewrite"), st) ?? {};
    const pattern = regexOf(rr.pattern, at(path, "regex_rewrite.pattern"), st);
    const substitution = str(rr.substitution, at(path, "regex_rewrite.substitution"), st) ?? "";
    if (pattern === undefined) st.error(at(path, "regex_rewrite.pattern"), "a pattern is required");
    else a.regexRewrite = { pattern, substitution };
  }
  if (a.prefixRewrite !== undefined && a.regexRewrite !== undefined) st.error(path, "prefix_rewrite and regex_rewrite cannot both be set");
  // v2 called host_rewrite_literal `host_rewrite`.
  const host = str(o.host_rewrite_literal ?? o.host_rewrite, at(path, o.host_rewrite_literal !== undefined ? "host_rewrite_literal" : "host_rewrite"), st);
  if (host !== undefined && host !== "") a.hostRewriteLiteral = host;
  // Envoy's default route timeout is 15 s; 0s disables it (what istiod writes without a VirtualService timeout).
  const timeout = o.timeout === undefined ? 15_000 : durationMs(o.timeout, at(path, "timeout"), st);
  if (timeout !== undefined) a.timeoutMs = timeout;
  if (o.retry_policy !== undefined) {
    const rp = retryPolicy(o.retry_policy, at(path, "retry_policy"), st);
    if (rp !== undefined) a.retryPolicy = rp;
  }
  const hp: HashPolicy[] = [];
  list(o.hash_policy, at(path, "hash_policy"), st).forEach((h, i) => {
    const x = hashPolicy(h, at(at(path, "hash_policy"), i), st);
    if (x !== undefined) hp.push(x);
  });
  if (hp.length > 0) a.hashPolicy = hp;
  const mirrors = mirrorPolicies(o.request_mirror_policies, at(path, "request_mirror_policies"), st);
  if (isObject(o.request_mirror_policy)) {
    const x = mirrorPolicy(o.request_mirror_policy, at(path, "request_mirror_policy"), st);
    if (x !== undefined) mirrors.push(x);
  }
  if (mirrors.length > 0) a.requestMirrorPolicies = mirrors;
  if (o.max_stream_duration !== undefined) {
    const msd = maxStreamDuration(o.max_stream_duration, at(path, "max_stream_duration"), st);
    if (msd !== undefined) a.maxStreamDuration = msd;
  }
  // Deprecated (Istio before 1.10 wrote max_grpc_timeout); kept as written for the router and config_dump.
  const mgt = durationMs(o.max_grpc_timeout, at(path, "max_grpc_timeout"), st);
  if (mgt !== undefined) a.maxGrpcTimeoutMs = mgt;
  const gto = durationMs(o.grpc_timeout_offset, at(path, "grpc_timeout_offset"), st);
  if (gto !== undefined) a.grpcTimeoutOffsetMs = gto;
  const up = upgradeConfigs(o.upgrade_configs, at(path, "upgrade_configs"), st, true);
  if (up !== undefined) a.upgradeConfigs = up;
  return a;
}

/** RouteAction.MaxStreamDuration: the three durations as written (0 = no bound / uncapped). */
function maxStreamDuration(v: unknown, path: string, st: DecodeState): NonNullable<RouteAction["maxStreamDuration"]> | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["max_stream_duration", "grpc_timeout_header_max", "grpc_timeout_header_offset"]);
  const out: NonNullable<RouteAction["maxStreamDuration"]> = {};
  const m = durationMs(o.max_stream_duration, at(path, "max_stream_duration"), st);
  if (m !== undefined) out.maxStreamDurationMs = m;
  const g = durationMs(o.grpc_timeout_header_max, at(path, "grpc_timeout_header_max"), st);
  if (g !== undefined) out.grpcTimeoutHeaderMaxMs = g;
  const off = durationMs(o.grpc_timeout_header_offset, at(path, "grpc_timeout_header_offset"), st);
  if (off !== undefined) out.grpcTimeoutHeaderOffsetMs = off;
  return out;
}
