// An HTTP connection manager's http_filters → the model's HttpFilterConfig list. The filter is
// chosen by its typed_config's type (as Envoy does), else by name (the 1.4-era untyped form). A
// filter Outrigger cannot run is a decode error naming it, unless it is `is_optional`, disabled
// by default (`disabled: true`, enabled per route) or a telemetry/internal filter listed in
// NOOP_HTTP_FILTERS: those are carried as NoopFilters (original typed_config kept, with a reason).

import {
  HTTP_EXT_AUTHZ_FILTER,
  type ExtAuthzConfig,
  HTTP_CORS_FILTER,
  HTTP_FAULT_FILTER,
  HTTP_GRPC_STATS_FILTER,
  HTTP_JWT_AUTHN_FILTER,
  HTTP_RBAC_FILTER,
  HTTP_ROUTER_FILTER,
  ISTIO_ALPN_FILTER,
  ISTIO_METADATA_EXCHANGE_FILTER,
  ISTIO_STATS_FILTER,
  type HttpFilterConfig,
  type NoopFilter,
  type TrafficDirection,
} from "../model/types.js";
import { at, bool, checkFields, DecodeState, isObject, list, obj, str, stringMatcher, typedConfig } from "./decode-common.js";
import type { Json } from "./decoded.js";
import { ALPN_TYPE, decodeIstioAlpn, decodeIstioStats, isWasmType, nullVmPlugin, PEER_METADATA_TYPES, STATS_TYPE } from "./decode-istio-filters.js";
import { decodeJwtAuthn } from "./decode-jwt-authn.js";
import { decodeRbac } from "./decode-rbac.js";

/** Config message type (v3 and the 1.4-era v2) → the Envoy filter it configures. */
const TYPE_TO_FILTER: Record<string, string> = {
  "envoy.extensions.filters.http.router.v3.Router": HTTP_ROUTER_FILTER,
  "envoy.config.filter.http.router.v2.Router": HTTP_ROUTER_FILTER,
  "envoy.extensions.filters.http.fault.v3.HTTPFault": HTTP_FAULT_FILTER,
  "envoy.config.filter.http.fault.v2.HTTPFault": HTTP_FAULT_FILTER,
  "envoy.extensions.filters.http.cors.v3.Cors": HTTP_CORS_FILTER,
  "envoy.config.filter.http.cors.v2.Cors": HTTP_CORS_FILTER,
  "envoy.extensions.filters.http.rbac.v3.RBAC": HTTP_RBAC_FILTER,
  "envoy.config.filter.http.rbac.v2.RBAC": HTTP_RBAC_FILTER,
  "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication": HTTP_JWT_AUTHN_FILTER,
  "envoy.config.filter.http.jwt_authn.v2alpha.JwtAuthentication": HTTP_JWT_AUTHN_FILTER,
  "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz": HTTP_EXT_AUTHZ_FILTER,
  "envoy.extensions.filters.http.grpc_stats.v3.FilterConfig": HTTP_GRPC_STATS_FILTER,
  "envoy.config.filter.http.grpc_stats.v2alpha.FilterConfig": HTTP_GRPC_STATS_FILTER,
  [STATS_TYPE]: ISTIO_STATS_FILTER,
  [ALPN_TYPE]: ISTIO_ALPN_FILTER,
  "io.istio.http.peer_metadata.Config": ISTIO_METADATA_EXCHANGE_FILTER,
};

/** Untyped (1.4-era `config` Struct or none) filter names → the Envoy filter. */
const NAME_TO_FILTER: Record<string, string> = {
  "envoy.router": HTTP_ROUTER_FILTER,
  [HTTP_ROUTER_FILTER]: HTTP_ROUTER_FILTER,
  "envoy.fault": HTTP_FAULT_FILTER,
  [HTTP_FAULT_FILTER]: HTTP_FAULT_FILTER,
  "envoy.cors": HTTP_CORS_FILTER,
  [HTTP_CORS_FILTER]: HTTP_CORS_FILTER,
  "envoy.filters.http.grpc_stats": HTTP_GRPC_STATS_FILTER,
};

/**
 * Filters carried but not run, by config type or (untyped) name, and why. Telemetry Outrigger
 * records natively or does not have, and Istio internals whose work Outrigger does elsewhere.
 */
export const NOOP_HTTP_FILTERS: Record<string, string> = {
  [HTTP_GRPC_STATS_FILTER]: "gRPC statistics (grpc_stats counters) are not collected",
  "istio.mixer.v1.config.client.HttpClientConfig": "Mixer (Istio <= 1.7 telemetry/policy) is not supported; Istio's standard metrics are recorded natively",
  mixer: "Mixer (Istio <= 1.7 telemetry/policy) is not supported; Istio's standard metrics are recorded natively",
  "istio.envoy.config.filter.http.authn.v2alpha1.FilterConfig": "istio_authn: the peer identity comes from the TLS handshake and request.auth.* from jwt_authn",
  "io.istio.network.authn.Config": "istio_authn: the peer identity comes from the TLS handshake",
  istio_authn: "istio_authn: the peer identity comes from the TLS handshake and request.auth.* from jwt_authn",
  "io.istio.http.connect_baggage.Config": "connect_baggage (HBONE) is not supported",
  "io.istio.http.connect_authority.Config": "connect_authority (HBONE) is not supported",
  // pilot-agent's bootstrap puts brotli/zstd/gzip compressors on the 15090 Prometheus listener.
  "envoy.extensions.filters.http.compressor.v3.Compressor": "response compression is not supported: responses are sent uncompressed (identity), which every client accepts",
  // istiod >= 1.22's connect_authority on the HBONE (15008) listener.
  "envoy.extensions.filters.http.set_filter_state.v3.Config": "set_filter_state (HBONE connect_authority) is not supported",
  "envoy.wasm.null.stackdriver": "Stackdriver telemetry is not supported",
  "envoy.wasm.attributegen": "attribute generation (telemetry) is not supported",
};

/** Filter-level fault injection (for every request) has no place in the model: Istio writes faults per route. */
const FAULT_FATAL: Record<string, string> = {
  delay: "filter-level fault delay is not supported (faults are per route: typed_per_filter_config)",
  abort: "filter-level fault abort is not supported (faults are per route: typed_per_filter_config)",
  headers: "fault header matching is not supported by Outrigger",
  downstream_nodes: "fault downstream_nodes is not supported by Outrigger",
  response_rate_limit: "fault response_rate_limit is not supported by Outrigger",
};

interface FilterDecodeOptions {
  direction: TrafficDirection | undefined;
}

function noop(name: string, raw: Json | undefined, reason: string, path: string, st: DecodeState, entry: Json = {}): HttpFilterConfig {
  st.note(path, `${name} is carried but not run: ${reason}`);
  const n: NoopFilter = raw !== undefined ? { typedConfig: raw, reason } : { reason };
  if (entry.disabled === true) n.disabled = true;
  if (entry.is_optional === true) n.isOptional = true;
  return { name, noop: n };
}

function httpFilter(v: unknown, path: string, st: DecodeState, opts: FilterDecodeOptions): HttpFilterConfig | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["name", "typed_config", "config", "is_optional", "disabled"], {}, {});
  const name = str(o.name, at(path, "name"), st) ?? "";
  const optional = bool(o.is_optional, at(path, "is_optional"), st) === true;
  const disabled = bool(o.disabled, at(path, "disabled"), st) === true;
  const raw = obj(o.typed_config, at(path, "typed_config"), st);
  const tp = at(path, "typed_config");
  if (o.config_discovery !== undefined) {
    if (optional) return noop(name, undefined, "its config comes from extension config discovery (ECDS), which Outrigger does not have", path, st, o);
    return st.error(at(path, "config_discovery"), `http filter ${name}: extension config discovery (ECDS) is not supported by Outrigger`);
  }
  const tc = raw !== undefined ? typedConfig(raw, tp, st) : undefined;
  let type = tc?.type;
  let fields: Json = tc?.fields ?? obj(o.config, at(path, "config"), st) ?? {};
  let fieldsPath = raw !== undefined ? tp : at(path, "config");
  // Istio's null-VM Wasm plugins are its native filters.
  if (type !== undefined && isWasmType(type)) {
    // An optional filter's unusable Wasm is no error: decode it aside and keep it as a no-op.
    const plugin = nullVmPlugin(fields, tp, optional ? new DecodeState(st.ctx) : st);
    if (plugin === undefined) return optional ? noop(name, raw, "a Wasm filter (Outrigger runs no Wasm)", path, st, o) : undefined;
    fieldsPath = at(tp, "config.configuration");
    if (plugin.code === "envoy.wasm.stats") [type, fields] = [STATS_TYPE, plugin.configuration];
    else if (plugin.code === "envoy.wasm.metadata_exchange") [type, fields] = ["io.istio.http.peer_metadata.Config", {}];
    else if (NOOP_HTTP_FILTERS[plugin.code] !== undefined) return noop(name, raw, NOOP_HTTP_FILTERS[plugin.code]!, path, st, o);
    else return optional ? noop(name, raw, `null-VM Wasm plugin ${plugin.code} is not supported`, path, st, o) : st.error(tp, `http filter ${name}: null-VM Wasm plugin ${plugin.code} is not supported by Outrigger`);
  }
  const key = type ?? name;
  const filter = type !== undefined ? (TYPE_TO_FILTER[type] ?? (PEER_METADATA_TYPES.has(type) ? ISTIO_METADATA_EXCHANGE_FILTER : undefined)) : NAME_TO_FILTER[name];
  if (disabled) {
    // A security filter enabled per route must not silently become a no-op: the route would go unchecked.
    if (filter === HTTP_RBAC_FILTER || filter === HTTP_JWT_AUTHN_FILTER || filter === HTTP_EXT_AUTHZ_FILTER || (filter === undefined && !optional && NOOP_HTTP_FILTERS[key] === undefined && NOOP_HTTP_FILTERS[name] === undefined)) {
      return st.error(at(path, "disabled"), `http filter ${name}: a filter disabled by default and enabled per route is not supported by Outrigger`);
    }
    return noop(filter ?? name, raw, "disabled by default (enabled per route), and per-route enabling is not supported", path, st, o);
  }
  // Istio <= 1.5's istio_authn enforced origin (JWT) authentication itself: a no-op would let tokenless requests in.
  if (type === "istio.envoy.config.filter.http.authn.v2alpha1.FilterConfig") {
    const policy = obj(fields.policy, at(fieldsPath, "policy"), st) ?? {};
    if (Array.isArray(policy.origins) && policy.origins.length > 0 && policy.origin_is_optional !== true) {
      return st.error(at(fieldsPath, "policy.origins"), "istio_authn origin (JWT) authentication of Istio <= 1.5 is not supported by Outrigger");
    }
  }
  // Mixer's HTTP client could also deny requests (policy checks): only its report-only form is a no-op.
  if (type === "istio.mixer.v1.config.client.HttpClientConfig") {
    const services = obj(fields.service_configs, at(fieldsPath, "service_configs"), st) ?? {};
    const checking = Object.entries(services).filter(([, c]) => !(typeof c === "object" && c !== null && (c as Json).disable_check_calls === true));
    if (checking.length > 0) return st.error(at(fieldsPath, "service_configs"), `Mixer policy checks (service configs ${checking.map(([k]) => k).join(", ")} without disable_check_calls) are not supported by Outrigger`);
  }
  const noopReason = NOOP_HTTP_FILTERS[filter ?? key] ?? NOOP_HTTP_FILTERS[name];
  if (noopReason !== undefined) return noop(filter ?? name, raw, noopReason, path, st, o);
  switch (filter) {
    case HTTP_ROUTER_FILTER:
      checkFields(fields, fieldsPath, st, [], {}, {
        dynamic_stats: "dynamic_stats is not configurable; ignored",
        start_child_span: "start_child_span is not supported; ignored",
        suppress_envoy_headers: "suppress_envoy_headers is not supported: x-envoy-* response headers are written",
        upstream_log: "upstream_log is not supported; not written",
        strict_check_headers: "strict_check_headers is not supported; ignored",
        respect_expected_rq_timeout: "respect_expected_rq_timeout is not supported; ignored",
        suppress_grpc_request_failure_code_stats: "ignored",
        upstream_http_filters: "upstream HTTP filters are not supported; ignored",
      });
      return { name: HTTP_ROUTER_FILTER };
    case HTTP_FAULT_FILTER:
      checkFields(fields, fieldsPath, st, [], FAULT_FATAL, { max_active_faults: "max_active_faults is not supported: faults are not capped", disable_downstream_cluster_stats: "ignored" });
      return { name: HTTP_FAULT_FILTER };
    case HTTP_CORS_FILTER:
      checkFields(fields, fieldsPath, st, []);
      return { name: HTTP_CORS_FILTER };
    case HTTP_RBAC_FILTER: {
      const c = decodeRbac(fields, fieldsPath, st, false);
      return c && { name: HTTP_RBAC_FILTER, typedConfig: c };
    }
    case HTTP_JWT_AUTHN_FILTER: {
      const c = decodeJwtAuthn(fields, fieldsPath, st);
      return c && { name: HTTP_JWT_AUTHN_FILTER, typedConfig: c };
    }
    case ISTIO_STATS_FILTER:
      return { name: ISTIO_STATS_FILTER, typedConfig: decodeIstioStats(fields, fieldsPath, st, opts.direction) };
    case ISTIO_METADATA_EXCHANGE_FILTER:
      // Discovery/propagation settings: Outrigger exchanges Istio's x-envoy-peer-metadata headers and removes them.
      return { name: ISTIO_METADATA_EXCHANGE_FILTER, typedConfig: { removeHeaders: true } };
    case ISTIO_ALPN_FILTER:
      return { name: ISTIO_ALPN_FILTER, typedConfig: decodeIstioAlpn(fields, fieldsPath, st) };
    case HTTP_EXT_AUTHZ_FILTER: {
      const c = decodeExtAuthz(fields, fieldsPath, st, raw ?? {});
      return c && { name: HTTP_EXT_AUTHZ_FILTER, typedConfig: c };
    }
  }
  if (optional) return noop(name, raw, `${type ?? name} is not supported by Outrigger (is_optional)`, path, st, o);
  return st.error(type !== undefined ? at(tp, "@type") : at(path, "name"), `http filter ${name}${type !== undefined ? ` (${type})` : ""} is not supported by Outrigger`);
}

/** Envoy's HttpStatus codes by name (status_on_error.code), the ones an authorizer error plausibly uses. */
const HTTP_STATUS_NAMES: Record<string, number> = {
  BadRequest: 400, Unauthorized: 401, Forbidden: 403, NotFound: 404, TooManyRequests: 429,
  InternalServerError: 500, BadGateway: 502, ServiceUnavailable: 503, GatewayTimeout: 504,
};

/**
 * ExtAuthz → the fail-closed model (ExtAuthzConfig): the authorization service is not called; the
 * settings about calling it are kept only in `original`. failure_mode_allow true (Envoy lets
 * requests through when the service fails) → the filter lets every request through.
 */
function decodeExtAuthz(o: Json, path: string, st: DecodeState, raw: Json): ExtAuthzConfig | undefined {
  const c: ExtAuthzConfig = { original: raw };
  const failOpen = bool(o.failure_mode_allow, at(path, "failure_mode_allow"), st) === true;
  st.note(path, failOpen ? "ext_authz: the authorization service is not called; failure_mode_allow lets every request through, as Envoy does when the service fails" : "ext_authz runs fail-closed: the authorization service is not called, and the requests it applies to are refused as Envoy refuses them when the service cannot be reached (status_on_error, UAEX)");
  if (failOpen) c.failureModeAllow = true;
  const soe = obj(o.status_on_error, at(path, "status_on_error"), st);
  if (soe !== undefined) {
    const code = soe.code;
    const n = typeof code === "number" ? code : typeof code === "string" ? (HTTP_STATUS_NAMES[code] ?? Number(code)) : NaN;
    if (!Number.isInteger(n) || n < 200 || n > 599) return st.error(at(at(path, "status_on_error"), "code"), `status_on_error code ${JSON.stringify(code)} is not an HTTP status Outrigger knows`);
    c.statusOnError = n;
  }
  const fem = obj(o.filter_enabled_metadata, at(path, "filter_enabled_metadata"), st);
  if (fem !== undefined) {
    const fp = at(path, "filter_enabled_metadata");
    const keys = list(fem.path, at(fp, "path"), st);
    const value = obj(fem.value, at(fp, "value"), st);
    const key = keys.length === 1 && isObject(keys[0]) && typeof keys[0].key === "string" ? keys[0].key : undefined;
    const matcher = value !== undefined && value.string_match !== undefined ? stringMatcher(value.string_match, at(at(fp, "value"), "string_match"), st) : undefined;
    const filter = str(fem.filter, at(fp, "filter"), st);
    if (key === undefined || matcher === undefined || filter === undefined || fem.invert === true) {
      return st.error(fp, "filter_enabled_metadata: only a string match on one key of a filter's metadata (istiod's form) is supported");
    }
    c.filterEnabledMetadata = { filter, key, matcher };
  }
  if (o.filter_enabled !== undefined || o.deny_at_disable !== undefined) return st.error(path, "ext_authz filter_enabled / deny_at_disable runtime fractions are not supported by Outrigger");
  return c;
}

/** http_filters → the model's list; the router must be present and last. */
export function decodeHttpFilters(v: unknown, path: string, st: DecodeState, opts: FilterDecodeOptions): HttpFilterConfig[] {
  const out: HttpFilterConfig[] = [];
  // Protobuf's JSON parser takes a lone value for a repeated field; Istio <= 1.5 bootstraps wrote `http_filters: {name: envoy.router}`.
  const items = isObject(v) ? [v] : list(v, path, st);
  items.forEach((f, i) => {
    const d = httpFilter(f, at(path, i), st, opts);
    if (d !== undefined) out.push(d);
  });
  const routerAt = out.findIndex((f) => f.name === HTTP_ROUTER_FILTER && f.noop === undefined);
  if (items.length > 0 && out.length === items.length && (routerAt < 0 || routerAt !== out.length - 1)) {
    st.error(path, `${HTTP_ROUTER_FILTER} must be the last http filter (got ${out.map((f) => f.name).join(", ")})`);
  }
  if (items.length === 0) st.error(path, `at least ${HTTP_ROUTER_FILTER} is required`);
  return out;
}
