// A listener's filter chains (envoy.config.listener.v3.FilterChain): the match, the transport
// socket (DownstreamTlsContext) and the network filters — HTTP connection manager, TCP proxy,
// network RBAC, and Istio's TCP filters (`istio.stats` becomes its TCP proxy's istioStats;
// `istio.metadata_exchange`, `istio_authn` and Mixer are carried as no-ops).

import {
  HTTP_CONNECTION_MANAGER,
  ISTIO_STATS_FILTER,
  NETWORK_RBAC_FILTER,
  NOOP_NETWORK_FILTER,
  TCP_PROXY,
  type FilterChain,
  type FilterChainMatch,
  type IstioStatsConfig,
  type NetworkFilter,
  type TrafficDirection,
} from "../model/types.js";
import { at, bool, checkFields, cidrRange, DecodeState, enumOf, list, obj, str, strList, typedConfig, uint } from "./decode-common.js";
import type { Json } from "./decoded.js";
import { decodeHcm } from "./decode-hcm.js";
import { decodeIstioStats, isWasmType, nullVmPlugin, STATS_TYPE } from "./decode-istio-filters.js";
import { decodeRbac } from "./decode-rbac.js";
import { decodeTcpProxy } from "./decode-tcp-proxy.js";
import { decodeTransportSocketInto } from "./decode-tls-context.js";

const NETWORK_TYPES: Record<string, string> = {
  "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager": HTTP_CONNECTION_MANAGER,
  "envoy.config.filter.network.http_connection_manager.v2.HttpConnectionManager": HTTP_CONNECTION_MANAGER,
  "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy": TCP_PROXY,
  "envoy.config.filter.network.tcp_proxy.v2.TcpProxy": TCP_PROXY,
  "envoy.extensions.filters.network.rbac.v3.RBAC": NETWORK_RBAC_FILTER,
  "envoy.config.filter.network.rbac.v2.RBAC": NETWORK_RBAC_FILTER,
  [STATS_TYPE]: ISTIO_STATS_FILTER,
};

/** Untyped (1.4-era) network filter names. */
const NETWORK_NAMES: Record<string, string> = {
  "envoy.http_connection_manager": HTTP_CONNECTION_MANAGER,
  [HTTP_CONNECTION_MANAGER]: HTTP_CONNECTION_MANAGER,
  "envoy.tcp_proxy": TCP_PROXY,
  [TCP_PROXY]: TCP_PROXY,
};

/** Network filters carried but not run, by config type (or untyped name), and why. */
export const NOOP_NETWORK_FILTERS: Record<string, string> = {
  "envoy.tcp.metadataexchange.config.MetadataExchange": "Istio's TCP metadata exchange (ALPN istio-peer-exchange) is not supported; peer identity comes from the TLS handshake",
  "io.istio.network.authn.Config": "istio_authn: the peer identity comes from the TLS handshake",
  "istio.envoy.config.filter.network.authn.v2alpha1.FilterConfig": "istio_authn: the peer identity comes from the TLS handshake",
  "istio.mixer.v1.config.client.TcpClientConfig": "Mixer (Istio <= 1.7 telemetry/policy) is not supported; Istio's TCP metrics are recorded natively",
  mixer: "Mixer (Istio <= 1.7 telemetry/policy) is not supported; Istio's TCP metrics are recorded natively",
  "envoy.wasm.metadata_exchange": "Istio's TCP metadata exchange is not supported; peer identity comes from the TLS handshake",
  // Untyped (no typed_config) entries, by name.
  "istio.metadata_exchange": "Istio's TCP metadata exchange is not supported; peer identity comes from the TLS handshake",
  istio_authn: "istio_authn: the peer identity comes from the TLS handshake",
};

function filterChainMatch(v: unknown, path: string, st: DecodeState): FilterChainMatch {
  const o = obj(v, path, st);
  const m: FilterChainMatch = {};
  if (o === undefined) return m;
  checkFields(o, path, st, ["destination_port", "prefix_ranges", "server_names", "transport_protocol", "application_protocols", "direct_source_prefix_ranges", "source_type", "source_prefix_ranges", "source_ports"], {
    address_suffix: "address_suffix is not supported by Outrigger",
    suffix_len: "suffix_len is not supported by Outrigger",
  });
  const port = uint(o.destination_port, at(path, "destination_port"), st, 65535);
  if (port !== undefined) m.destinationPort = port;
  const ranges = (k: string) => {
    const out = list(o[k], at(path, k), st).flatMap((r, i) => cidrRange(r, at(at(path, k), i), st) ?? []);
    return out.length > 0 ? out : undefined;
  };
  const pr = ranges("prefix_ranges");
  if (pr) m.prefixRanges = pr;
  const sn = strList(o.server_names, at(path, "server_names"), st);
  if (sn.length > 0) m.serverNames = sn;
  const tp = str(o.transport_protocol, at(path, "transport_protocol"), st);
  if (tp !== undefined && tp !== "") m.transportProtocol = tp;
  const ap = strList(o.application_protocols, at(path, "application_protocols"), st);
  if (ap.length > 0) m.applicationProtocols = ap;
  const dsr = ranges("direct_source_prefix_ranges");
  if (dsr) m.directSourcePrefixRanges = dsr;
  const stype = enumOf(o.source_type, ["ANY", "SAME_IP_OR_LOOPBACK", "EXTERNAL"] as const, at(path, "source_type"), st);
  if (stype !== undefined && stype !== "ANY") m.sourceType = stype;
  const sr = ranges("source_prefix_ranges");
  if (sr) m.sourcePrefixRanges = sr;
  const sp = list(o.source_ports, at(path, "source_ports"), st).flatMap((p, i) => uint(p, at(at(path, "source_ports"), i), st, 65535) ?? []);
  if (sp.length > 0) m.sourcePorts = sp;
  return m;
}

function noopNetwork(filterName: string, raw: Json | undefined, reason: string, path: string, st: DecodeState): NetworkFilter {
  st.note(path, `${filterName} is carried but not run: ${reason}`);
  return { name: NOOP_NETWORK_FILTER, noop: raw !== undefined ? { filterName, typedConfig: raw, reason } : { filterName, reason } };
}

/** One network filter; `istio.stats` comes back as its stats config, for the TCP proxy after it. */
function networkFilter(v: unknown, path: string, st: DecodeState, direction: TrafficDirection | undefined): NetworkFilter | { stats: IstioStatsConfig } | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["name", "typed_config", "config"], { config_discovery: "extension config discovery (ECDS) is not supported by Outrigger" });
  const name = str(o.name, at(path, "name"), st) ?? "";
  const raw = obj(o.typed_config, at(path, "typed_config"), st);
  const tp = raw !== undefined ? at(path, "typed_config") : at(path, "config");
  const tc = raw !== undefined ? typedConfig(raw, tp, st) : undefined;
  let type = tc?.type;
  let fields = tc?.fields ?? obj(o.config, at(path, "config"), st) ?? {};
  if (type !== undefined && isWasmType(type)) {
    const plugin = nullVmPlugin(fields, tp, st);
    if (plugin === undefined) return undefined;
    if (plugin.code === "envoy.wasm.stats") [type, fields] = [STATS_TYPE, plugin.configuration];
    else if (NOOP_NETWORK_FILTERS[plugin.code] !== undefined) return noopNetwork(name, raw, NOOP_NETWORK_FILTERS[plugin.code]!, path, st);
    else return st.error(tp, `network filter ${name}: null-VM Wasm plugin ${plugin.code} is not supported by Outrigger`);
  }
  const kind = type !== undefined ? NETWORK_TYPES[type] : NETWORK_NAMES[name];
  // Mixer's TCP client could also close connections (policy checks): only its report-only form is a no-op.
  if (type === "istio.mixer.v1.config.client.TcpClientConfig" && fields.disable_check_calls !== true) {
    return st.error(at(tp, "disable_check_calls"), "Mixer policy checks are not supported by Outrigger (only report-only Mixer, disable_check_calls: true)");
  }
  const reason = NOOP_NETWORK_FILTERS[type ?? name] ?? NOOP_NETWORK_FILTERS[name];
  if (kind === undefined && reason !== undefined) return noopNetwork(name, raw, reason, path, st);
  switch (kind) {
    case HTTP_CONNECTION_MANAGER: {
      const h = decodeHcm(fields, tp, st, direction);
      return h && { name: HTTP_CONNECTION_MANAGER, typedConfig: h };
    }
    case TCP_PROXY: {
      const t = decodeTcpProxy(fields, tp, st);
      return t && { name: TCP_PROXY, typedConfig: t };
    }
    case NETWORK_RBAC_FILTER: {
      const r = decodeRbac(fields, tp, st, true);
      return r && { name: NETWORK_RBAC_FILTER, typedConfig: r };
    }
    case ISTIO_STATS_FILTER:
      return { stats: decodeIstioStats(fields, tp, st, direction) };
  }
  return st.error(type !== undefined ? at(tp, "@type") : at(path, "name"), `network filter ${name}${type !== undefined ? ` (${type})` : ""} is not supported by Outrigger`);
}

function networkFilters(v: unknown, path: string, st: DecodeState, direction: TrafficDirection | undefined): NetworkFilter[] {
  const out: NetworkFilter[] = [];
  let stats: { config: IstioStatsConfig; path: string } | undefined;
  const items = list(v, path, st);
  items.forEach((f, i) => {
    const p = at(path, i);
    const d = networkFilter(f, p, st, direction);
    if (d === undefined) return;
    if ("stats" in d) {
      stats = { config: d.stats, path: p };
      return;
    }
    if (d.name === TCP_PROXY && stats !== undefined) {
      d.typedConfig.istioStats = stats.config;
      stats = undefined;
    }
    out.push(d);
  });
  // istio.stats only feeds a TCP proxy after it; before an HTTP connection manager the HTTP filter does the work.
  if (stats !== undefined) st.note(stats.path, "istio.stats network filter without a tcp_proxy after it: not run");
  if (st.errors.length > 0) return out;
  const terminals = out.filter((f) => f.name === HTTP_CONNECTION_MANAGER || f.name === TCP_PROXY);
  const last = out[out.length - 1];
  if (terminals.length !== 1 || last === undefined || terminals[0] !== last) {
    st.error(path, `a filter chain needs exactly one terminal filter (${HTTP_CONNECTION_MANAGER} or ${TCP_PROXY}), last (got ${out.map((f) => (f.name === NOOP_NETWORK_FILTER ? f.noop.filterName : f.name)).join(", ") || "none"})`);
  }
  return out;
}

export function decodeFilterChain(v: unknown, path: string, st: DecodeState, direction: TrafficDirection | undefined, index: number): FilterChain | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["filter_chain_match", "filters", "transport_socket", "name", "metadata", "use_proxy_proto"], {
    tls_context: "the v2 tls_context is not supported; use transport_socket",
    on_demand_configuration: "on-demand filter chains are not supported by Outrigger",
  }, {
    transport_socket_connect_timeout: "transport_socket_connect_timeout is not supported; the listener filters timeout applies",
  });
  if (bool(o.use_proxy_proto, at(path, "use_proxy_proto"), st) === true) st.error(at(path, "use_proxy_proto"), "the PROXY protocol is not supported by Outrigger");
  const name = str(o.name, at(path, "name"), st);
  const chain: FilterChain = {
    // Envoy names unnamed chains internally; the position keeps them apart here.
    name: name !== undefined && name !== "" ? name : `filter_chain_${index}`,
    filterChainMatch: filterChainMatch(o.filter_chain_match, at(path, "filter_chain_match"), st),
    filters: networkFilters(o.filters, at(path, "filters"), st, direction),
  };
  if (o.transport_socket !== undefined) {
    const t = decodeTransportSocketInto(o.transport_socket, "downstream", at(path, "transport_socket"), st);
    // raw_buffer is the model's absent transport socket.
    if (t !== undefined && t.typedConfig !== undefined) chain.transportSocket = t;
  }
  return chain;
}
