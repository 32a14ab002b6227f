// A model RouteConfiguration as Envoy's envoy.config.route.v3.RouteConfiguration JSON: virtual
// hosts, routes with match / route / redirect / direct_response, header mutations and the fault
// filter's per-route config. The Istio rule a route came from (`source`) has no Envoy field: it
// goes under metadata.filter_metadata.outrigger.

import { corsPolicyJson } from "./cors-json.js";
import { upgradeConfigsJson } from "./http2-options-json.js";
import { HTTP_CORS_FILTER, HTTP_FAULT_FILTER, type FaultPolicy, type HashPolicy, type RedirectAction, type RetryPolicy, type Route, type RouteAction, type RouteConfiguration, type RouteMatch, type VirtualHost, type WeightedCluster } from "../../config/model/types.js";
import { compact, duration, fractionalPercent, headerMatcher, headerValueOptions, nonEmpty, outriggerMetadata, stringMatcher, typeUrl, type Json } from "./envoy-json.js";

/** Envoy's RedirectResponseCode names; MOVED_PERMANENTLY (301) is the zero value. */
const REDIRECT_CODES: Record<number, string | undefined> = { 301: undefined, 302: "FOUND", 303: "SEE_OTHER", 307: "TEMPORARY_REDIRECT", 308: "PERMANENT_REDIRECT" };

function matchJson(m: RouteMatch): Json {
  return compact({
    prefix: m.prefix,
    path: m.path,
    safe_regex: m.safeRegex !== undefined ? { regex: m.safeRegex } : undefined,
    // true is the default (BoolValue unset).
    case_sensitive: m.caseSensitive === false ? false : undefined,
    headers: nonEmpty(m.headers.map(headerMatcher)),
    query_parameters: nonEmpty(m.queryParameters.map((q) => compact({ name: q.name, string_match: q.stringMatch !== undefined ? stringMatcher(q.stringMatch) : undefined, present_match: q.presentMatch }))),
  });
}

function retryPolicyJson(p: RetryPolicy): Json {
  return compact({
    retry_on: p.retryOn.join(","),
    num_retries: p.numRetries,
    per_try_timeout: p.perTryTimeoutMs !== undefined && p.perTryTimeoutMs > 0 ? duration(p.perTryTimeoutMs) : undefined,
    retry_priority: p.retryRemoteLocalities === true
      ? { name: "envoy.retry_priorities.previous_priorities", typed_config: { "@type": typeUrl("envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig"), update_frequency: 2 } }
      : undefined,
    retry_host_predicate: p.retryHostPredicatePreviousHosts
      ? [{ name: "envoy.retry_host_predicates.previous_hosts", typed_config: { "@type": typeUrl("envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate") } }]
      : undefined,
    // int64: a string in proto3 JSON.
    host_selection_retry_max_attempts: String(p.hostSelectionRetryMaxAttempts),
    retriable_status_codes: nonEmpty(p.retriableStatusCodes),
    // Istio writes retry_back_off only for a VirtualService `retries.backoff`; Envoy's default is 25 ms / 10 × base.
    retry_back_off: p.backoffBaseMs !== 25 || p.backoffMaxMs !== p.backoffBaseMs * 10 ? { base_interval: duration(p.backoffBaseMs), max_interval: duration(p.backoffMaxMs) } : undefined,
    retriable_headers: nonEmpty(p.retriableHeaders.map(headerMatcher)),
  });
}

function hashPolicyJson(h: HashPolicy): Json {
  return compact({
    header: h.header !== undefined ? { header_name: h.header.headerName } : undefined,
    cookie: h.cookie !== undefined ? compact({ name: h.cookie.name, ttl: h.cookie.ttlMs !== undefined ? duration(h.cookie.ttlMs) : undefined, path: h.cookie.path }) : undefined,
    connection_properties: h.connectionProperties !== undefined ? { source_ip: h.connectionProperties.sourceIp } : undefined,
    query_parameter: h.queryParameter !== undefined ? { name: h.queryParameter.name } : undefined,
    terminal: h.terminal === true ? true : undefined,
  });
}

function weightedClusterJson(c: WeightedCluster): Json {
  return compact({
    name: c.name,
    weight: c.weight,
    request_headers_to_add: headerValueOptions(c.requestHeadersToAdd),
    request_headers_to_remove: nonEmpty(c.requestHeadersToRemove),
    response_headers_to_add: headerValueOptions(c.responseHeadersToAdd),
    response_headers_to_remove: nonEmpty(c.responseHeadersToRemove),
  });
}

function routeActionJson(a: RouteAction): Json {
  return compact({
    cluster: a.cluster,
    weighted_clusters: a.weightedClusters !== undefined ? { clusters: a.weightedClusters.map(weightedClusterJson) } : undefined,
    prefix_rewrite: a.prefixRewrite,
    regex_rewrite: a.regexRewrite !== undefined ? { pattern: { regex: a.regexRewrite.pattern }, substitution: a.regexRewrite.substitution } : undefined,
    host_rewrite_literal: a.hostRewriteLiteral,
    // Istio always writes the route timeout; 0s = disabled.
    timeout: duration(a.timeoutMs ?? 0),
    retry_policy: a.retryPolicy !== undefined ? retryPolicyJson(a.retryPolicy) : undefined,
    request_mirror_policies: nonEmpty(
      a.requestMirrorPolicies?.map((m) =>
        compact({
          cluster: m.cluster,
          runtime_fraction: m.percentage !== undefined ? { default_value: fractionalPercent(m.percentage) } : undefined,
          disable_shadow_host_suffix_append: m.disableShadowHostSuffixAppend ? true : undefined,
        }),
      ),
    ),
    hash_policy: nonEmpty(a.hashPolicy?.map(hashPolicyJson)),
    upgrade_configs: upgradeConfigsJson(a.upgradeConfigs, true),
    max_stream_duration: a.maxStreamDuration !== undefined
      ? compact({
          max_stream_duration: a.maxStreamDuration.maxStreamDurationMs !== undefined ? duration(a.maxStreamDuration.maxStreamDurationMs) : undefined,
          grpc_timeout_header_max: a.maxStreamDuration.grpcTimeoutHeaderMaxMs !== undefined ? duration(a.maxStreamDuration.grpcTimeoutHeaderMaxMs) : undefined,
          grpc_timeout_header_offset: a.maxStreamDuration.grpcTimeoutHeaderOffsetMs !== undefined ? duration(a.maxStreamDuration.grpcTimeoutHeaderOffsetMs) : undefined,
        })
      : undefined,
    max_grpc_timeout: a.maxGrpcTimeoutMs !== undefined ? duration(a.maxGrpcTimeoutMs) : undefined,
    grpc_timeout_offset: a.grpcTimeoutOffsetMs !== undefined ? duration(a.grpcTimeoutOffsetMs) : undefined,
  });
}

function redirectJson(r: RedirectAction): Json {
  return compact({
    scheme_redirect: r.schemeRedirect,
    host_redirect: r.hostRedirect,
    port_redirect: r.portRedirect,
    path_redirect: r.pathRedirect,
    prefix_rewrite: r.prefixRewrite,
    response_code: REDIRECT_CODES[r.responseCode],
  });
}

export function faultJson(f: FaultPolicy): Json {
  return compact({
    "@type": typeUrl("envoy.extensions.filters.http.fault.v3.HTTPFault"),
    delay: f.delay !== undefined ? { fixed_delay: duration(f.delay.fixedDelayMs), percentage: fractionalPercent(f.delay.percentage) } : undefined,
    abort: f.abort !== undefined ? compact({ http_status: f.abort.httpStatus, grpc_status: f.abort.grpcStatus, percentage: fractionalPercent(f.abort.percentage) }) : undefined,
  });
}

export function routeJson(r: Route): Json {
  const fault = r.typedPerFilterConfig?.[HTTP_FAULT_FILTER];
  const cors = r.typedPerFilterConfig?.[HTTP_CORS_FILTER];
  return compact({
    name: r.name,
    match: matchJson(r.match),
    route: r.route !== undefined ? routeActionJson(r.route) : undefined,
    redirect: r.redirect !== undefined ? redirectJson(r.redirect) : undefined,
    direct_response: r.directResponse !== undefined ? compact({ status: r.directResponse.status, body: r.directResponse.body !== undefined ? { inline_string: r.directResponse.body } : undefined }) : undefined,
    // A redirect's derivePort has no Envoy field (istiod resolves it into port_redirect).
    metadata: outriggerMetadata({ source: r.source, derive_port: r.redirect?.derivePort }),
    request_headers_to_add: headerValueOptions(r.requestHeadersToAdd),
    request_headers_to_remove: nonEmpty(r.requestHeadersToRemove),
    response_headers_to_add: headerValueOptions(r.responseHeadersToAdd),
    response_headers_to_remove: nonEmpty(r.responseHeadersToRemove),
    typed_per_filter_config: fault !== undefined || cors !== undefined
      ? compact({ [HTTP_FAULT_FILTER]: fault !== undefined ? faultJson(fault) : undefined, [HTTP_CORS_FILTER]: cors !== undefined ? corsPolicyJson(cors) : undefined })
      : undefined,
  });
}

function virtualHostJson(v: VirtualHost): Json {
  const cors = v.typedPerFilterConfig?.[HTTP_CORS_FILTER];
  return compact({ name: v.name, domains: v.domains, routes: v.routes.map(routeJson), typed_per_filter_config: cors !== undefined ? { [HTTP_CORS_FILTER]: corsPolicyJson(cors) } : undefined });
}

export function routeConfigJson(rc: RouteConfiguration): Json {
  return {
    "@type": typeUrl("envoy.config.route.v3.RouteConfiguration"),
    name: rc.name,
    virtual_hosts: rc.virtualHosts.map(virtualHostJson),
    // istiod writes false: routes may name clusters CDS has not delivered yet.
    validate_clusters: false,
    ...(rc.ignorePortInHostMatching === true ? { ignore_port_in_host_matching: true } : {}),
  };
}
