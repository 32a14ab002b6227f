// envoy.config.route.v3.Route → the model's Route: match, one action (route / redirect /
// direct_response), header mutations, per-filter configs (fault, CORS) and metadata. The model's
// `source` (the Istio rule a route came from) and a redirect's `derivePort` have no Envoy field: they
// travel in metadata.filter_metadata.outrigger; istiod's own filter_metadata.istio.config (the
// VirtualService it came from) is the source when that is absent.

import { readFileSync } from "node:fs";
import { HTTP_CORS_FILTER, HTTP_FAULT_FILTER, type DirectResponseAction, type RedirectAction, type RedirectResponseCode, type Route } from "../model/types.js";
import { decodeCorsPolicy } from "./decode-cors.js";
import { at, checkFields, dataSource, enumOf, isObject, obj, str, uint, type DecodeState } from "./decode-common.js";
import { HEADER_OPS_FIELDS, headerOps } from "./decode-header-ops.js";
import { perFilterConfigs } from "./decode-per-filter-config.js";
import { routeAction } from "./decode-route-action.js";
import { routeMatch } from "./decode-route-match.js";

/** Envoy's default max_direct_response_body_size_bytes. */
export const DEFAULT_MAX_DIRECT_RESPONSE_BODY_BYTES = 4096;

const REDIRECT_CODES = ["MOVED_PERMANENTLY", "FOUND", "SEE_OTHER", "TEMPORARY_REDIRECT", "PERMANENT_REDIRECT"] as const;
const REDIRECT_STATUS: Record<(typeof REDIRECT_CODES)[number], RedirectResponseCode> = { MOVED_PERMANENTLY: 301, FOUND: 302, SEE_OTHER: 303, TEMPORARY_REDIRECT: 307, PERMANENT_REDIRECT: 308 };

function redirect(v: unknown, path: string, st: DecodeState): RedirectAction | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["scheme_redirect", "https_redirect", "host_redirect", "port_redirect", "path_redirect", "prefix_rewrite", "response_code"], { regex_rewrite: "regex redirects are not supported by Outrigger" }, { strip_query: "strip_query is not supported: the query string is kept" });
  const code = enumOf(o.response_code ?? "MOVED_PERMANENTLY", REDIRECT_CODES, at(path, "response_code"), st);
  if (code === undefined) return undefined;
  const r: RedirectAction = { responseCode: REDIRECT_STATUS[code] };
  if (o.https_redirect === true) r.schemeRedirect = "https";
  const scheme = str(o.scheme_redirect, at(path, "scheme_redirect"), st);
  if (scheme !== undefined && scheme !== "") r.schemeRedirect = scheme;
  const host = str(o.host_redirect, at(path, "host_redirect"), st);
  if (host !== undefined && host !== "") r.hostRedirect = host;
  const port = uint(o.port_redirect, at(path, "port_redirect"), st, 65535);
  if (port !== undefined && port !== 0) r.portRedirect = port;
  const p = str(o.path_redirect, at(path, "path_redirect"), st);
  if (p !== undefined && p !== "") r.pathRedirect = p;
  const pr = str(o.prefix_rewrite, at(path, "prefix_rewrite"), st);
  if (pr !== undefined && pr !== "") r.prefixRewrite = pr;
  if (r.pathRedirect !== undefined && r.prefixRewrite !== undefined) st.error(path, "path_redirect and prefix_rewrite cannot both be set");
  return r;
}

function directResponse(v: unknown, path: string, st: DecodeState, maxBody: number): DirectResponseAction | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["status", "body"], {}, { body_format: "body_format is not supported: the body is sent as configured" });
  const status = uint(o.status, at(path, "status"), st, 599);
  if (status === undefined || status < 100) return st.error(at(path, "status"), "a status between 100 and 599 is required");
  const d: DirectResponseAction = { status };
  const ds = dataSource(o.body, at(path, "body"), st);
  if (ds !== undefined) {
    let body = ds.inlineString;
    if (ds.filename !== undefined) {
      // Envoy reads the file when the route configuration is loaded.
      try {
        body = readFileSync(ds.filename, "utf8");
      } catch (e) {
        return st.error(at(path, "body.filename"), `cannot read ${ds.filename}: ${(e as Error).message}`);
      }
    }
    if (body !== undefined && Buffer.byteLength(body) > maxBody) return st.error(at(path, "body"), `the body is ${Buffer.byteLength(body)} bytes, more than max_direct_response_body_size_bytes (${maxBody})`);
    if (body !== undefined) d.body = body;
  }
  return d;
}

const ACTIONS = ["route", "redirect", "direct_response", "filter_action", "non_forwarding_action"] as const;

export function route(v: unknown, path: string, st: DecodeState, maxBody: number): Route | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["name", "match", ...ACTIONS, "metadata", "typed_per_filter_config", ...HEADER_OPS_FIELDS], {}, {
    decorator: "decorator is not supported: spans are named after the route",
    tracing: "per-route tracing is not supported; the connection manager's applies",
    per_request_buffer_limit_bytes: "per_request_buffer_limit_bytes is not supported; ignored",
    stat_prefix: "per-route stats are not supported; ignored",
    request_body_buffer_limit: "request_body_buffer_limit is not supported; ignored",
  });
  const match = routeMatch(o.match, at(path, "match"), st);
  const actions = ACTIONS.filter((k) => o[k] !== undefined);
  if (actions.length !== 1) return st.error(path, `exactly one of route, redirect, direct_response must be set (got ${actions.length === 0 ? "none" : actions.join(", ")})`);
  if (match === undefined) return undefined;
  const r: Route = { name: str(o.name, at(path, "name"), st) ?? "", match, ...headerOps(o, path, st) };
  const tpfc = perFilterConfigs(o.typed_per_filter_config, at(path, "typed_per_filter_config"), st, "route");
  switch (actions[0]) {
    case "route": {
      const a = routeAction(o.route, at(path, "route"), st);
      if (a !== undefined) r.route = a;
      // RouteAction.cors (deprecated): the typed per-filter config wins when both are set.
      if (isObject(o.route) && o.route.cors !== undefined && tpfc.cors === undefined) {
        const c = decodeCorsPolicy(obj(o.route.cors, at(path, "route.cors"), st) ?? {}, at(path, "route.cors"));
        if (c.ok) {
          tpfc.cors = c.value;
          for (const n of c.notes) st.note(n.path, n.message);
        } else st.errors.push(...c.errors);
      }
      break;
    }
    case "redirect": {
      const x = redirect(o.redirect, at(path, "redirect"), st);
      if (x !== undefined) r.redirect = x;
      break;
    }
    case "direct_response": {
      const x = directResponse(o.direct_response, at(path, "direct_response"), st, maxBody);
      if (x !== undefined) r.directResponse = x;
      break;
    }
    default:
      return st.error(at(path, actions[0]!), `${actions[0]} routes are not supported by Outrigger`);
  }
  if (tpfc.fault !== undefined || tpfc.cors !== undefined) {
    r.typedPerFilterConfig = {};
    if (tpfc.fault !== undefined) r.typedPerFilterConfig[HTTP_FAULT_FILTER] = tpfc.fault;
    if (tpfc.cors !== undefined) r.typedPerFilterConfig[HTTP_CORS_FILTER] = tpfc.cors;
  }
  routeMetadata(o.metadata, at(path, "metadata"), st, r);
  return r;
}

function routeMetadata(v: unknown, path: string, st: DecodeState, r: Route): void {
  const m = obj(v, path, st);
  const fm = m !== undefined ? obj(m.filter_metadata, at(path, "filter_metadata"), st) : undefined;
  if (fm === undefined) return;
  const ours = isObject(fm.outrigger) ? fm.outrigger : {};
  const istio = isObject(fm.istio) ? fm.istio : {};
  if (typeof ours.source === "string") r.source = ours.source;
  else if (typeof istio.config === "string") r.source = istio.config;
  if (r.redirect !== undefined && (ours.derive_port === "FROM_PROTOCOL_DEFAULT" || ours.derive_port === "FROM_REQUEST_PORT")) r.redirect.derivePort = ours.derive_port;
}
