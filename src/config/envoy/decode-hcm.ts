// Envoy's HTTP connection manager (envoy.extensions.filters.network.http_connection_manager.v3.
// HttpConnectionManager, and the 1.4-era v2 message) → the model. Routes come by RDS name or
// inline (decoded by the route decoder); the settings istiod writes that Outrigger already does
// (or whose default it keeps) pass silently, the others are notes, and the few that decide where
// requests go or who may send them (scoped routes, remote-address trust) are errors.

import type { ForwardClientCertDetails, HttpConnectionManager, TrafficDirection } from "../model/types.js";
import { decodeAccessLogs } from "./decode-access-log.js";
import { at, bool, checkFields, DecodeState, durationMs, enumOf, obj, str, typedConfig } from "./decode-common.js";
import { http2ProtocolOptions } from "./decode-http2-options.js";
import { upgradeConfigs } from "./decode-upgrade-configs.js";
import type { Json } from "./decoded.js";
import { decodeHttpFilters } from "./decode-http-filters.js";
import { decodeRouteConfiguration } from "./decode-route-config.js";
import { decodeTracing } from "./decode-tracing.js";

const FCC = ["SANITIZE", "FORWARD_ONLY", "APPEND_FORWARD", "SANITIZE_SET", "ALWAYS_FORWARD_ONLY"] as const satisfies readonly ForwardClientCertDetails[];

/** Fields that are accepted without a note: Outrigger does the same (or has no such knob and Envoy's default matches). */
const QUIET = [
  "stat_prefix",
  "rds",
  "route_config",
  "http_filters",
  "access_log",
  "tracing",
  "forward_client_cert_details",
  "set_current_client_cert_details",
  "codec_type",
  "http2_protocol_options",
  "request_id_extension",
  "normalize_path",
  "use_remote_address",
  "upgrade_configs",
  "merge_slashes",
  "path_with_escaped_slashes_action",
  "internal_address_config",
  "generate_request_id",
  "preserve_external_request_id",
  "stream_idle_timeout",
];

export function decodeHcm(o: Json, path: string, st: DecodeState, direction: TrafficDirection | undefined): HttpConnectionManager | undefined {
  checkFields(o, path, st, QUIET, {
    scoped_routes: "scoped routes (SRDS) are not supported by Outrigger",
    xff_num_trusted_hops: "xff_num_trusted_hops is not supported: the downstream address is the connection's peer",
    original_ip_detection_extensions: "original IP detection extensions are not supported by Outrigger",
    strip_matching_host_port: "strip_matching_host_port is not supported by Outrigger",
    strip_any_host_port: "strip_any_host_port is not supported by Outrigger",
  });
  const statPrefix = str(o.stat_prefix, at(path, "stat_prefix"), st);
  if (statPrefix === undefined) st.error(at(path, "stat_prefix"), "required");
  const h: HttpConnectionManager = { statPrefix: statPrefix ?? "", routeConfigName: "", httpFilters: [] };
  if ((o.rds !== undefined) === (o.route_config !== undefined)) st.error(path, "exactly one of rds, route_config must be set");
  if (o.rds !== undefined) {
    const rp = at(path, "rds");
    const ro = obj(o.rds, rp, st) ?? {};
    checkFields(ro, rp, st, ["route_config_name", "config_source"]);
    const name = str(ro.route_config_name, at(rp, "route_config_name"), st);
    if (name === undefined || name === "") st.error(at(rp, "route_config_name"), "required");
    else h.routeConfigName = name;
    // Where the route configuration comes from: the snapshot holds RDS resources by name whatever the source says,
    // but only ADS (and the bootstrap's static resources) feed it.
    const cs = obj(ro.config_source, at(rp, "config_source"), st);
    if (cs !== undefined && cs.ads === undefined) st.note(at(rp, "config_source"), "only ADS delivers route configurations here; this config source is not subscribed separately");
  }
  if (o.route_config !== undefined) {
    const rp = at(path, "route_config");
    const ro = obj(o.route_config, rp, st);
    if (ro !== undefined) {
      const r = decodeRouteConfiguration(ro, st.ctx);
      if (r.ok) {
        h.routeConfig = r.value;
        h.routeConfigName = r.value.name;
        for (const n of r.notes) st.notes.push({ path: n.path === "" ? rp : `${rp}.${n.path}`, message: n.message });
      } else for (const e of r.errors) st.errors.push(`${rp}: ${e}`);
    }
  }
  h.httpFilters = decodeHttpFilters(o.http_filters, at(path, "http_filters"), st, { direction });
  const logs = decodeAccessLogs(o.access_log, at(path, "access_log"), st);
  if (logs !== undefined) h.accessLog = logs;
  if (o.tracing !== undefined) {
    const t = decodeTracing(o.tracing, at(path, "tracing"), st);
    if (t !== undefined) h.tracing = t;
  }
  const fcc = enumOf(o.forward_client_cert_details, FCC, at(path, "forward_client_cert_details"), st);
  if (fcc !== undefined && fcc !== "SANITIZE") h.forwardClientCertDetails = fcc;
  if (o.set_current_client_cert_details !== undefined) {
    const sp = at(path, "set_current_client_cert_details");
    const so = obj(o.set_current_client_cert_details, sp, st) ?? {};
    checkFields(so, sp, st, ["subject", "cert", "chain", "dns", "uri"]);
    const d: NonNullable<HttpConnectionManager["setCurrentClientCertDetails"]> = {};
    for (const k of ["subject", "cert", "chain", "dns", "uri"] as const) {
      const b = bool(so[k], at(sp, k), st);
      if (b !== undefined) d[k] = b;
    }
    h.setCurrentClientCertDetails = d;
  }
  const codec = enumOf(o.codec_type, ["AUTO", "HTTP1", "HTTP2", "HTTP3"] as const, at(path, "codec_type"), st);
  if (codec === "HTTP3") st.note(at(path, "codec_type"), "HTTP3 (QUIC) is not supported: connections are served as AUTO (HTTP/1.1 or HTTP/2)");
  else if (codec === "HTTP1" || codec === "HTTP2") h.codecType = codec;
  const h2 = http2ProtocolOptions(o.http2_protocol_options, at(path, "http2_protocol_options"), st);
  if (h2 !== undefined) h.http2ProtocolOptions = h2;
  const up = upgradeConfigs(o.upgrade_configs, at(path, "upgrade_configs"), st, false);
  if (up !== undefined) h.upgradeConfigs = up;
  quietFields(o, path, st);
  return h;
}


/** The QUIET fields whose value Outrigger does not honour get their note here. */
function quietFields(o: Json, path: string, st: DecodeState): void {
  if (o.request_id_extension !== undefined) {
    const tc = typedConfig(obj(o.request_id_extension, at(path, "request_id_extension"), st)?.typed_config, at(path, "request_id_extension.typed_config"), st);
    if (tc !== undefined && tc.type !== "envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig") st.note(at(path, "request_id_extension"), `request ID extension ${tc.type} is not supported: UUID request IDs are generated`);
  }
  // The connection manager always resolves dot segments (path-normalize.ts), as normalize_path: true does.
  if (bool(o.normalize_path, at(path, "normalize_path"), st) === false) st.note(at(path, "normalize_path"), "paths are always normalised (RFC 3986 dot segments)");
  if (bool(o.merge_slashes, at(path, "merge_slashes"), st) === true) st.note(at(path, "merge_slashes"), "merge_slashes is not supported: repeated slashes are kept");
  const esc = enumOf(o.path_with_escaped_slashes_action, ["IMPLEMENTATION_SPECIFIC_DEFAULT", "KEEP_UNCHANGED", "REJECT_REQUEST", "UNESCAPE_AND_REDIRECT", "UNESCAPE_AND_FORWARD"] as const, at(path, "path_with_escaped_slashes_action"), st);
  if (esc !== undefined && esc !== "IMPLEMENTATION_SPECIFIC_DEFAULT" && esc !== "KEEP_UNCHANGED") st.note(at(path, "path_with_escaped_slashes_action"), `${esc} is not supported: escaped slashes are kept unchanged`);
  if (bool(o.use_remote_address, at(path, "use_remote_address"), st) === true) st.note(at(path, "use_remote_address"), "use_remote_address is not supported: x-forwarded-for is passed through unchanged");
  if (o.internal_address_config !== undefined) st.note(at(path, "internal_address_config"), "internal_address_config is not supported: Envoy's default internal ranges (loopback, RFC 1918, ULA) apply");
  if (bool(o.generate_request_id, at(path, "generate_request_id"), st) === false) st.note(at(path, "generate_request_id"), "request IDs are always generated when missing");
  if (bool(o.preserve_external_request_id, at(path, "preserve_external_request_id"), st) === true) st.note(at(path, "preserve_external_request_id"), "preserve_external_request_id is not configurable");
  const idle = durationMs(o.stream_idle_timeout, at(path, "stream_idle_timeout"), st);
  if (idle !== undefined && idle !== 0) st.note(at(path, "stream_idle_timeout"), "stream_idle_timeout is not supported: streams are not closed for idleness");
}
