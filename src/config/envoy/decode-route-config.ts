// envoy.config.route.v3.RouteConfiguration (RDS, or inline in a connection manager) → the model's
// RouteConfiguration. The model keeps header mutations and retry/mirror policies per route only:
// those of the virtual host and of the route configuration are folded into each route in the order
// Envoy applies them (route, then virtual host, then route configuration; reversed with
// most_specific_header_mutations_wins), and a virtual host's retry policy applies to the routes that
// have none, as do its (or the route configuration's) request_mirror_policies, as in Envoy.

import { HTTP_CORS_FILTER, type RequestMirrorPolicy, type RouteConfiguration, type VirtualHost } from "../model/types.js";
import { decodeCorsPolicy } from "./decode-cors.js";
import { at, bool, checkFields, list, obj, str, strList, uint, DecodeState } from "./decode-common.js";
import { HEADER_OPS_FIELDS, headerOps, type HeaderOps } from "./decode-header-ops.js";
import { perFilterConfigs } from "./decode-per-filter-config.js";
import { mirrorPolicies, retryPolicy } from "./decode-route-action.js";
import { DEFAULT_MAX_DIRECT_RESPONSE_BODY_BYTES, route } from "./decode-route.js";
import type { DecodeContext, Decoded, Json } from "./decoded.js";

function isEmpty(h: HeaderOps): boolean {
  return h.requestHeadersToAdd.length + h.requestHeadersToRemove.length + h.responseHeadersToAdd.length + h.responseHeadersToRemove.length === 0;
}

function fold(inner: HeaderOps, outer: HeaderOps, outerWins: boolean): HeaderOps {
  const cat = <T>(a: T[], b: T[]): T[] => (outerWins ? [...a, ...b] : [...b, ...a]);
  return {
    requestHeadersToAdd: cat(inner.requestHeadersToAdd, outer.requestHeadersToAdd),
    requestHeadersToRemove: cat(inner.requestHeadersToRemove, outer.requestHeadersToRemove),
    responseHeadersToAdd: cat(inner.responseHeadersToAdd, outer.responseHeadersToAdd),
    responseHeadersToRemove: cat(inner.responseHeadersToRemove, outer.responseHeadersToRemove),
  };
}

function virtualHost(v: unknown, path: string, st: DecodeState, maxBody: number, global: HeaderOps, mostSpecificWins: boolean, seen: Set<string>, globalMirrors: RequestMirrorPolicy[]): VirtualHost | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["name", "domains", "routes", "typed_per_filter_config", "cors", "retry_policy", "request_mirror_policies", "metadata", ...HEADER_OPS_FIELDS], {
    require_tls: "require_tls is not supported by Outrigger",
    matcher: "the generic matcher tree is not supported by Outrigger: use routes",
  }, {
    virtual_clusters: "virtual clusters are not supported; ignored",
    rate_limits: "rate limits are not supported; ignored",
    include_request_attempt_count: "x-envoy-attempt-count is not added to upstream requests",
    include_attempt_count_in_response: "x-envoy-attempt-count is not added to responses",
    hedge_policy: "request hedging is not supported; ignored",
    per_request_buffer_limit_bytes: "per_request_buffer_limit_bytes is not supported; ignored",
    retry_policy_typed_config: "typed retry policies are not supported; ignored",
    request_body_buffer_limit: "request_body_buffer_limit is not supported; ignored",
  });
  const name = str(o.name, at(path, "name"), st);
  if (name === undefined || name === "") return st.error(at(path, "name"), "a virtual host name is required");
  const domains = strList(o.domains, at(path, "domains"), st).map((d) => d.toLowerCase());
  if (domains.length === 0) st.error(at(path, "domains"), "at least one domain is required");
  for (const d of domains) {
    if (seen.has(d)) st.error(at(path, "domains"), `duplicate domain ${JSON.stringify(d)}: only unique values for domains are permitted`);
    seen.add(d);
  }
  const own = fold(headerOps(o, path, st), global, !mostSpecificWins);
  const vhRetry = o.retry_policy !== undefined ? retryPolicy(o.retry_policy, at(path, "retry_policy"), st) : undefined;
  // Envoy: the most specific non-empty mirror policy list wins (route, virtual host, route configuration); never merged.
  const vhMirrors = mirrorPolicies(o.request_mirror_policies, at(path, "request_mirror_policies"), st);
  const defaultMirrors = vhMirrors.length > 0 ? vhMirrors : globalMirrors;
  const vh: VirtualHost = { name, domains, routes: [] };
  list(o.routes, at(path, "routes"), st).forEach((x, i) => {
    const r = route(x, at(at(path, "routes"), i), st, maxBody);
    if (r === undefined) return;
    if (!isEmpty(own)) Object.assign(r, fold({ requestHeadersToAdd: r.requestHeadersToAdd, requestHeadersToRemove: r.requestHeadersToRemove, responseHeadersToAdd: r.responseHeadersToAdd, responseHeadersToRemove: r.responseHeadersToRemove }, own, !mostSpecificWins));
    if (vhRetry !== undefined && r.route !== undefined && r.route.retryPolicy === undefined) r.route.retryPolicy = structuredClone(vhRetry);
    if (defaultMirrors.length > 0 && r.route !== undefined && r.route.requestMirrorPolicies === undefined) r.route.requestMirrorPolicies = structuredClone(defaultMirrors);
    vh.routes.push(r);
  });
  const tpfc = perFilterConfigs(o.typed_per_filter_config, at(path, "typed_per_filter_config"), st, "virtual host");
  let cors = tpfc.cors;
  if (cors === undefined && o.cors !== undefined) {
    const c = decodeCorsPolicy(obj(o.cors, at(path, "cors"), st) ?? {}, at(path, "cors"));
    if (c.ok) {
      cors = c.value;
      for (const n of c.notes) st.note(n.path, n.message);
    } else st.errors.push(...c.errors);
  }
  if (cors !== undefined) vh.typedPerFilterConfig = { [HTTP_CORS_FILTER]: cors };
  return vh;
}

export function decodeRouteConfiguration(json: Json, ctx: DecodeContext): Decoded<RouteConfiguration> {
  const st = new DecodeState(ctx);
  return st.result(routeConfigurationInto(json, "", st));
}

/** State form, for a connection manager's inline route_config. */
export function routeConfigurationInto(o: Json, path: string, st: DecodeState): RouteConfiguration | undefined {
  checkFields(o, path, st, ["name", "virtual_hosts", "validate_clusters", "ignore_port_in_host_matching", "max_direct_response_body_size_bytes", "most_specific_header_mutations_wins", "request_mirror_policies", ...HEADER_OPS_FIELDS], {
    vhds: "on-demand virtual hosts (VHDS) are not supported by Outrigger",
    cluster_specifier_plugins: "cluster specifier plugins are not supported by Outrigger",
  }, {
    internal_only_headers: "internal_only_headers are not stripped from external requests",
    typed_per_filter_config: "route-configuration filter configs are not supported; ignored",
    metadata: "ignored",
    ignore_path_parameters_in_path_matching: "ignore_path_parameters_in_path_matching is not supported; path parameters take part in matching",
    request_headers_to_add_on_response_to_local_reply: "ignored",
  });
  const name = str(o.name, at(path, "name"), st) ?? "";
  const maxBody = uint(o.max_direct_response_body_size_bytes ?? DEFAULT_MAX_DIRECT_RESPONSE_BODY_BYTES, at(path, "max_direct_response_body_size_bytes"), st) ?? DEFAULT_MAX_DIRECT_RESPONSE_BODY_BYTES;
  const mostSpecificWins = bool(o.most_specific_header_mutations_wins, at(path, "most_specific_header_mutations_wins"), st) === true;
  const global = headerOps(o, path, st);
  if (bool(o.validate_clusters, at(path, "validate_clusters"), st) === true) st.note(at(path, "validate_clusters"), "routes to unknown clusters are accepted and answer 503 (NC), as with validate_clusters false");
  const globalMirrors = mirrorPolicies(o.request_mirror_policies, at(path, "request_mirror_policies"), st);
  const seen = new Set<string>();
  const rc: RouteConfiguration = { name, virtualHosts: [] };
  list(o.virtual_hosts, at(path, "virtual_hosts"), st).forEach((x, i) => {
    const vh = virtualHost(x, at(at(path, "virtual_hosts"), i), st, maxBody, global, mostSpecificWins, seen, globalMirrors);
    if (vh !== undefined) rc.virtualHosts.push(vh);
  });
  if (bool(o.ignore_port_in_host_matching, at(path, "ignore_port_in_host_matching"), st) === true) rc.ignorePortInHostMatching = true;
  return rc;
}
