// Envoy's Listener (envoy.config.listener.v3.Listener, proto JSON — decoded.ts) → the model's
// Listener: address (and additional_addresses), direction, listener filters with istiod's
// filter_disabled, the original-destination hand-off, filter chains and the default chain.
// The same decoder serves xDS (LDS), the bootstrap's static listeners and the Istio YAML path;
// README "Joining a mesh: xDS and Envoy's bootstrap" lists what is an error and what a note.

import type { FilterChain, Listener, ListenerFilterConfig, ListenerFilterName, TrafficDirection } from "../model/types.js";
import { at, bool, checkFields, DecodeState, durationMs, enumOf, isObject, list, obj, socketAddress, str, typedConfig, uint } from "./decode-common.js";
import type { DecodeContext, Decoded, Json } from "./decoded.js";
import { decodeFilterChain } from "./decode-filter-chain.js";

/** Listener filter config types and (untyped, 1.4-era) names → the model's filter. */
const LISTENER_FILTERS: Record<string, ListenerFilterName> = {
  "envoy.extensions.filters.listener.original_dst.v3.OriginalDst": "envoy.filters.listener.original_dst",
  "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector": "envoy.filters.listener.tls_inspector",
  "envoy.extensions.filters.listener.http_inspector.v3.HttpInspector": "envoy.filters.listener.http_inspector",
  "envoy.filters.listener.original_dst": "envoy.filters.listener.original_dst",
  "envoy.filters.listener.tls_inspector": "envoy.filters.listener.tls_inspector",
  "envoy.filters.listener.http_inspector": "envoy.filters.listener.http_inspector",
  "envoy.listener.original_dst": "envoy.filters.listener.original_dst",
  "envoy.listener.tls_inspector": "envoy.filters.listener.tls_inspector",
  "envoy.listener.http_inspector": "envoy.filters.listener.http_inspector",
};

const LISTENER_FATAL: Record<string, string> = {
  udp_listener_config: "UDP listeners are not supported by Outrigger",
  api_listener: "API listeners are not supported by Outrigger",
  listener_specifier: "listener_specifier is not supported by Outrigger",
  filter_chain_matcher: "filter_chain_matcher (matcher trees) is not supported by Outrigger; use filter_chain_match",
  enable_mptcp: "MPTCP is not supported by Outrigger",
  reuse_port: "the deprecated reuse_port is not supported",
};

const LISTENER_NOTED: Record<string, string> = {
  per_connection_buffer_limit_bytes: "per_connection_buffer_limit_bytes is not supported: Node's stream buffering applies",
  socket_options: "listener socket_options are not supported; ignored",
  access_log: "listener access logs (connections no filter chain took) are not written",
  connection_balance_config: "connection_balance_config is not supported: the kernel balances (SO_REUSEPORT)",
  enable_reuse_port: "enable_reuse_port is not configurable: workers always share the port (SO_REUSEPORT)",
  drain_type: "drain_type is not supported; ignored",
  freebind: "freebind is not supported; ignored",
  tcp_backlog_size: "tcp_backlog_size is not supported: Node's backlog applies",
  tcp_fast_open_queue_length: "TCP Fast Open is not supported; ignored",
  metadata: "listener metadata is not used",
  stat_prefix: "stat_prefix is not supported: stats are named after the listener",
  ignore_global_conn_limit: "ignore_global_conn_limit is not supported; ignored",
  max_connections_to_accept_per_socket_event: "max_connections_to_accept_per_socket_event is not supported; ignored",
  bind_to_port_addresses: "ignored",
};

/** Envoy filter_disabled, in the forms istiod writes: one destination_port_range, or an or_match of them. */
function filterDisabled(v: unknown, path: string, st: DecodeState): ListenerFilterConfig["disabledForDestinationPorts"] {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  const range = (r: unknown, p: string): { start: number; end: number } | undefined => {
    const ro = obj(r, p, st);
    if (ro === undefined) return undefined;
    const keys = Object.keys(ro);
    if (keys.length !== 1 || ro.destination_port_range === undefined) return st.error(p, `only destination_port_range rules are supported in filter_disabled (got ${keys.join(", ") || "none"})`);
    const rp = at(p, "destination_port_range");
    const pr = obj(ro.destination_port_range, rp, st) ?? {};
    checkFields(pr, rp, st, ["start", "end"]);
    const start = uint(pr.start ?? 0, at(rp, "start"), st, 65536);
    const end = uint(pr.end ?? 0, at(rp, "end"), st, 65536);
    if (start === undefined || end === undefined) return undefined;
    if (end <= start) return st.error(rp, `end (${end}) must be greater than start (${start})`);
    return { start, end };
  };
  if (o.or_match !== undefined) {
    const mp = at(path, "or_match");
    const mo = obj(o.or_match, mp, st) ?? {};
    checkFields(mo, mp, st, ["rules"]);
    if (Object.keys(o).length !== 1) st.error(path, "or_match must be the only rule");
    return list(mo.rules, at(mp, "rules"), st).flatMap((r, i) => range(r, at(at(mp, "rules"), i)) ?? []);
  }
  const r = range(o, path);
  return r === undefined ? undefined : [r];
}

function listenerFilter(v: unknown, path: string, st: DecodeState, internal: boolean): ListenerFilterConfig | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["name", "typed_config", "config", "filter_disabled"], { config_discovery: "extension config discovery (ECDS) is not supported by Outrigger" });
  const name = str(o.name, at(path, "name"), st) ?? "";
  const tc = o.typed_config !== undefined ? typedConfig(o.typed_config, at(path, "typed_config"), st) : undefined;
  const filter = LISTENER_FILTERS[tc?.type ?? name];
  // istiod adds original_src (mark 1337) to TPROXY inbound listeners: connections still flow, only from the proxy's own address.
  if (filter === undefined && (tc?.type === "envoy.extensions.filters.listener.original_src.v3.OriginalSrc" || name === "envoy.filters.listener.original_src" || name === "envoy.listener.original_src")) {
    st.note(path, "original_src is not supported: upstream connections come from the proxy's address, not the client's");
    return undefined;
  }
  if (filter === undefined) {
    // An internal listener never receives connections here: what it would run does not matter.
    if (internal) {
      st.note(path, `listener filter ${name} of an internal listener is not run`);
      return undefined;
    }
    return st.error(tc !== undefined ? at(path, "typed_config.@type") : at(path, "name"), `listener filter ${name}${tc !== undefined ? ` (${tc.type})` : ""} is not supported by Outrigger (original_dst, tls_inspector, http_inspector)`);
  }
  if (tc !== undefined) {
    checkFields(tc.fields, at(path, "typed_config"), st, [], {}, {
      enable_ja3_fingerprinting: "JA3 fingerprinting is not supported; ignored",
      enable_ja4_fingerprinting: "JA4 fingerprinting is not supported; ignored",
      initial_read_buffer_size: "initial_read_buffer_size is not supported; ignored",
    });
  }
  const f: ListenerFilterConfig = { name: filter };
  const disabled = filterDisabled(o.filter_disabled, at(path, "filter_disabled"), st);
  if (disabled !== undefined && disabled.length > 0) f.disabledForDestinationPorts = disabled;
  return f;
}

/** Whether a chain's connection manager accepts CONNECT upgrades (istiod's HBONE `connect_terminate`). */
function terminatesConnect(chains: unknown): boolean {
  if (!Array.isArray(chains)) return false;
  return chains.some((c) =>
    isObject(c) && Array.isArray(c.filters) &&
    c.filters.some((f) => {
      const tc = isObject(f) ? f.typed_config : undefined;
      return isObject(tc) && Array.isArray(tc.upgrade_configs) && tc.upgrade_configs.some((u) => isObject(u) && typeof u.upgrade_type === "string" && u.upgrade_type.toUpperCase() === "CONNECT");
    }),
  );
}

/**
 * A chain of an internal (or HBONE) listener: it never runs here, so what Outrigger could not run in it is a
 * note, and such a chain is left out rather than refusing the whole listener.
 */
function inertChain(v: unknown, path: string, st: DecodeState, dir: TrafficDirection | undefined, index: number): FilterChain | undefined {
  const sub = new DecodeState(st.ctx);
  const c = decodeFilterChain(v, path, sub, dir, index);
  st.notes.push(...sub.notes);
  if (sub.errors.length === 0) return c;
  for (const e of sub.errors) st.note(path, `left out (the listener never receives connections here): ${e}`);
  return undefined;
}

function decodeListenerInto(o: Json, st: DecodeState): Listener | undefined {
  checkFields(
    o,
    "",
    st,
    ["name", "address", "additional_addresses", "traffic_direction", "listener_filters", "listener_filters_timeout", "continue_on_listener_filters_timeout", "use_original_dst", "bind_to_port", "transparent", "filter_chains", "default_filter_chain", "internal_listener", "deprecated_v1"],
    LISTENER_FATAL,
    LISTENER_NOTED,
  );
  const internal = o.internal_listener !== undefined;
  // istiod's `connect_terminate` (15008): HBONE, mTLS then HTTP/2 CONNECT. Outrigger cannot terminate
  // it, so the listener is kept unbound (peers get a refused connection on that port) instead of
  // refusing every listener of the update.
  const hbone = !internal && terminatesConnect(o.filter_chains);
  if (hbone) st.note("filter_chains", "HBONE termination (HTTP CONNECT tunnels) is not supported: the listener is not bound");
  const inert = internal || hbone;
  let address = { address: "", port: 0 };
  if (internal && o.address === undefined) {
    st.note("internal_listener", "an internal listener (HBONE / waypoint plumbing) takes connections only from internal upstreams, which Outrigger does not have: it never receives any");
  } else {
    const a = socketAddress(o.address, "address", st);
    if (a !== undefined) address = a;
  }
  const name = str(o.name, "name", st);
  const direction = enumOf(o.traffic_direction ?? "UNSPECIFIED", ["UNSPECIFIED", "INBOUND", "OUTBOUND"] as const, "traffic_direction", st);
  // UNSPECIFIED stays unspecified: drain_listeners?inboundonly leaves such listeners (the bootstrap's 15021 / 15090) alone, as Envoy.
  const trafficDirection: TrafficDirection = direction ?? "UNSPECIFIED";
  const l: Listener = {
    name: name !== undefined && name !== "" ? name : `${address.address}_${address.port}`,
    address: address.address,
    port: address.port,
    trafficDirection,
    listenerFilters: list(o.listener_filters, "listener_filters", st).flatMap((f, i) => listenerFilter(f, at("listener_filters", i), st, internal) ?? []),
    filterChains: [],
  };
  const dir = trafficDirection;
  l.filterChains = list(o.filter_chains, "filter_chains", st).flatMap((c, i) => (inert ? inertChain(c, at("filter_chains", i), st, dir, i) : decodeFilterChain(c, at("filter_chains", i), st, dir, i)) ?? []);
  if (o.default_filter_chain !== undefined) {
    const d = (inert ? inertChain : decodeFilterChain)(o.default_filter_chain, "default_filter_chain", st, dir, l.filterChains.length);
    if (d !== undefined) l.defaultFilterChain = d;
  }
  if (l.filterChains.length === 0 && l.defaultFilterChain === undefined && !inert && st.errors.length === 0) st.error("filter_chains", "a listener needs at least one filter chain or a default_filter_chain");
  const extra: NonNullable<Listener["additionalAddresses"]> = [];
  list(o.additional_addresses, "additional_addresses", st).forEach((x, i) => {
    const p = at("additional_addresses", i);
    const xo = obj(x, p, st);
    if (xo === undefined) return;
    checkFields(xo, p, st, ["address"], {}, { socket_options: "socket_options are not supported; ignored" });
    const a = socketAddress(xo.address, at(p, "address"), st);
    if (a === undefined) return;
    if (a.port !== address.port) return st.error(at(p, "address.socket_address.port_value"), `an additional address must use the listener's port ${address.port} (got ${a.port})`);
    extra.push({ address: a.address });
  });
  if (extra.length > 0) l.additionalAddresses = extra;
  const timeout = durationMs(o.listener_filters_timeout, "listener_filters_timeout", st);
  if (timeout !== undefined) l.listenerFiltersTimeoutMs = timeout;
  const flags = { continue_on_listener_filters_timeout: "continueOnListenerFiltersTimeout", use_original_dst: "useOriginalDst", bind_to_port: "bindToPort", transparent: "transparent" } as const;
  for (const [k, field] of Object.entries(flags)) {
    const b = bool(o[k], k, st);
    if (b !== undefined) l[field] = b;
  }
  // The v2 API's way to say bind_to_port (istiod <= 1.4 wrote it on its per-port outbound listeners).
  if (o.deprecated_v1 !== undefined) {
    const dv = obj(o.deprecated_v1, "deprecated_v1", st) ?? {};
    checkFields(dv, "deprecated_v1", st, ["bind_to_port"]);
    const b = bool(dv.bind_to_port, "deprecated_v1.bind_to_port", st);
    if (b !== undefined && l.bindToPort === undefined) l.bindToPort = b;
  }
  // An internal listener has no socket of its own.
  if (inert) l.bindToPort = false;
  return l;
}

export function decodeListener(json: Json, ctx: DecodeContext): Decoded<Listener> {
  const st = new DecodeState(ctx);
  return st.result(decodeListenerInto(json, st));
}
