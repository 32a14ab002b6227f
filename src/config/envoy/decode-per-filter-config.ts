// typed_per_filter_config of routes and virtual hosts: the fault filter's HTTPFault and the CORS
// policy become the model's; telemetry-only filters' configs (Istio's stats, 1.4-era mixer) are
// notes; per-route configs that would change security decisions (RBAC, JWT, ext_authz) are errors,
// since Outrigger cannot apply them and ignoring them could let a request through.

import { HTTP_CORS_FILTER, HTTP_FAULT_FILTER, type CorsPolicy, type FaultPolicy } from "../model/types.js";
import { decodeCorsPolicy } from "./decode-cors.js";
import { at, bool, checkFields, durationMs, fractionalPercent, isObject, obj, typedConfig, uint, type DecodeState } from "./decode-common.js";
import type { Json } from "./decoded.js";

const FAULT_NAMES = new Set([HTTP_FAULT_FILTER, "envoy.fault"]);
const FAULT_TYPES = new Set(["envoy.extensions.filters.http.fault.v3.HTTPFault", "envoy.config.filter.http.fault.v2.HTTPFault"]);
const CORS_NAMES = new Set([HTTP_CORS_FILTER, "envoy.cors"]);
const SECURITY_FILTERS = new Set(["envoy.filters.http.rbac", "envoy.filters.http.jwt_authn", "envoy.filters.http.ext_authz", "envoy.rbac", "envoy.ext_authz", "envoy.filters.http.oauth2"]);

const ZERO_PERCENT = { numerator: 0, denominator: "HUNDRED" as const };

function fault(o: Json, path: string, st: DecodeState): FaultPolicy | undefined {
  checkFields(o, path, st, ["delay", "abort"], {
    headers: "faults limited to matching headers are not supported by Outrigger",
    upstream_cluster: "faults limited to an upstream cluster are not supported by Outrigger",
    downstream_nodes: "faults limited to downstream nodes are not supported by Outrigger",
  }, {
    max_active_faults: "max_active_faults is not supported: faults are not capped",
    response_rate_limit: "response rate limiting faults are not supported; ignored",
    delay_duration_runtime: "runtime overrides are not supported",
    abort_http_status_runtime: "runtime overrides are not supported",
    abort_grpc_status_runtime: "runtime overrides are not supported",
    abort_percent_runtime: "runtime overrides are not supported",
    delay_percent_runtime: "runtime overrides are not supported",
    disable_downstream_cluster_stats: "ignored",
    filter_metadata: "ignored",
  });
  const f: FaultPolicy = {};
  const d = obj(o.delay, at(path, "delay"), st);
  if (d !== undefined) {
    const p = at(path, "delay");
    checkFields(d, p, st, ["fixed_delay", "percentage", "type"], { header_delay: "header-controlled delays are not supported by Outrigger" });
    const ms = durationMs(d.fixed_delay, at(p, "fixed_delay"), st);
    if (ms === undefined) {
      if (d.header_delay === undefined) st.error(at(p, "fixed_delay"), "a fixed delay is required");
    } else f.delay = { fixedDelayMs: ms, percentage: fractionalPercent(d.percentage, at(p, "percentage"), st) ?? ZERO_PERCENT };
  }
  const a = obj(o.abort, at(path, "abort"), st);
  if (a !== undefined) {
    const p = at(path, "abort");
    checkFields(a, p, st, ["http_status", "grpc_status", "percentage"], { header_abort: "header-controlled aborts are not supported by Outrigger" });
    const abort: NonNullable<FaultPolicy["abort"]> = { percentage: fractionalPercent(a.percentage, at(p, "percentage"), st) ?? ZERO_PERCENT };
    if (a.http_status !== undefined) {
      const s = uint(a.http_status, at(p, "http_status"), st, 599);
      if (s !== undefined && s < 200) st.error(at(p, "http_status"), "must be between 200 and 599");
      else if (s !== undefined) abort.httpStatus = s;
    }
    if (a.grpc_status !== undefined) {
      const s = uint(a.grpc_status, at(p, "grpc_status"), st);
      if (s !== undefined) abort.grpcStatus = s;
    }
    if (abort.httpStatus === undefined && abort.grpcStatus === undefined && a.header_abort === undefined) st.error(p, "one of http_status, grpc_status is required");
    f.abort = abort;
  }
  return f;
}

/** What a route / virtual host carries per filter. */
export interface PerFilterConfigs {
  fault?: FaultPolicy;
  cors?: CorsPolicy;
}

/**
 * The whole typed_per_filter_config map. A value may be wrapped in envoy.config.route.v3.FilterConfig
 * ({config, is_optional, disabled}); `disabled` has no meaning for the filters Outrigger runs per
 * route and is an error for the fault and CORS filters (they would run anyway).
 */
export function perFilterConfigs(v: unknown, path: string, st: DecodeState, where: "route" | "virtual host"): PerFilterConfigs {
  const out: PerFilterConfigs = {};
  const m = obj(v, path, st);
  if (m === undefined) return out;
  for (const [name, raw] of Object.entries(m)) {
    const p = `${path}[${JSON.stringify(name)}]`;
    let tc = typedConfig(raw, p, st);
    if (tc === undefined) continue;
    let optional = false;
    if (tc.type === "envoy.config.route.v3.FilterConfig") {
      optional = bool(tc.fields.is_optional, at(p, "is_optional"), st) === true;
      if (bool(tc.fields.disabled, at(p, "disabled"), st) === true) {
        if (FAULT_NAMES.has(name) || CORS_NAMES.has(name)) st.error(at(p, "disabled"), `disabling ${name} per ${where} is not supported by Outrigger`);
        else st.note(p, `${name} disabled per ${where}: not run by Outrigger anyway`);
        continue;
      }
      if (tc.fields.config === undefined) continue;
      tc = typedConfig(tc.fields.config, at(p, "config"), st);
      if (tc === undefined) continue;
    }
    if (FAULT_NAMES.has(name) || FAULT_TYPES.has(tc.type)) {
      if (where === "virtual host") st.error(p, "a per-virtual-host fault config is not supported by Outrigger (per route only)");
      else if (!FAULT_TYPES.has(tc.type)) st.error(at(p, "@type"), `expected envoy.extensions.filters.http.fault.v3.HTTPFault, got ${tc.type}`);
      else out.fault = fault(tc.fields, p, st);
    } else if (CORS_NAMES.has(name)) {
      const r = decodeCorsPolicy(isObject(raw) && tc.type !== "envoy.config.route.v3.FilterConfig" && !tc.typedStruct ? (raw as Json) : { "@type": `type.googleapis.com/${tc.type}`, ...tc.fields }, p);
      if (r.ok) {
        out.cors = r.value;
        for (const n of r.notes) st.note(n.path, n.message);
      } else for (const e of r.errors) st.errors.push(e);
    } else if (SECURITY_FILTERS.has(name)) {
      st.error(p, `a per-${where === "route" ? "route" : "virtual-host"} ${name} config is not supported by Outrigger: it would change access decisions`);
    } else {
      st.note(p, optional ? `optional config of filter ${name}: not run by Outrigger; ignored` : `config of filter ${name}: not run by Outrigger; ignored`);
    }
  }
  return out;
}
