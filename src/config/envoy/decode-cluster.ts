// envoy.config.cluster.v3.Cluster (CDS, or the bootstrap's static_resources) → the model's Cluster:
// discovery type, endpoints (inline load_assignment, or v2's `hosts`; EDS clusters get theirs from
// ClusterLoadAssignment resources), load balancing, circuit breakers, outlier detection, TLS
// (transport_socket and transport_socket_matches), protocol and connection options, and istiod's
// `istio` metadata (the service and subset the cluster fronts). Upstream network filters
// (istiod's `istio.metadata_exchange`) are carried in `Cluster.filters`, not run.

import { isIP } from "node:net";
import type { Cluster, ClusterType, HttpProtocolOptions, TransportSocketMatch } from "../model/types.js";
import { circuitBreakers, commonHttpProtocolOptions, loadBalancing, outlierDetection, typedExtensionProtocolOptions } from "./decode-cluster-options.js";
import { at, checkFields, durationMs, enumOf, isObject, list, num, obj, str, uint, DecodeState } from "./decode-common.js";
import { clusterLoadAssignmentInto, localityLbEndpoints } from "./decode-endpoints.js";
import { decodeTransportSocketInto, decodeUpstreamTlsContextInto } from "./decode-tls-context.js";
import { http1ProtocolOptions, http2ProtocolOptions } from "./decode-http2-options.js";
import type { DecodeContext, Decoded, Json } from "./decoded.js";

const INTERNAL_UPSTREAM = "type.googleapis.com/envoy.extensions.transport_sockets.internal_upstream.v3.InternalUpstreamTransport";

const TYPES = ["STATIC", "STRICT_DNS", "LOGICAL_DNS", "EDS", "ORIGINAL_DST"] as const;

/** Fields read here and in decode-cluster-options.ts. */
const HANDLED = [
  "name", "type", "eds_cluster_config", "connect_timeout", "lb_policy", "load_balancing_policy", "ring_hash_lb_config", "maglev_lb_config", "least_request_lb_config",
  "round_robin_lb_config", "original_dst_lb_config", "common_lb_config", "circuit_breakers", "outlier_detection", "transport_socket", "transport_socket_matches",
  "typed_extension_protocol_options", "upstream_connection_options", "dns_refresh_rate", "upstream_bind_config", "filters", "metadata", "load_assignment",
  // v2 forms istiod 1.4 sent.
  "hosts", "tls_context", "http2_protocol_options", "http_protocol_options", "common_http_protocol_options", "max_requests_per_connection", "protocol_selection",
];

const FATAL: Record<string, string> = {
  cluster_type: "custom cluster types (aggregate, dynamic forward proxy, …) are not supported by Outrigger",
  lb_subset_config: "subset load balancing is not supported by Outrigger",
  upstream_config: "custom upstream connection pools are not supported by Outrigger",
  lrs_server: "load reporting (LRS) is not supported by Outrigger",
};

const IGNORED: Record<string, string> = {
  dns_lookup_family: "addresses of every family the resolver returns are used",
  respect_dns_ttl: "DNS TTLs are not honoured: dns_refresh_rate applies",
  dns_failure_refresh_rate: "dns_failure_refresh_rate is not supported: dns_refresh_rate applies",
  dns_resolvers: "the system resolver is used",
  dns_resolution_config: "the system resolver is used",
  typed_dns_resolver_config: "the system resolver is used",
  use_tcp_for_dns_lookups: "the system resolver is used",
  cleanup_interval: "ORIGINAL_DST hosts are not pooled per address beyond their connections; ignored",
  per_connection_buffer_limit_bytes: "per_connection_buffer_limit_bytes is not supported: Node's stream buffering applies",
  health_checks: "active health checks are not supported: endpoints are healthy unless EDS or outlier detection says otherwise",
  alt_stat_name: "alt_stat_name is not supported; stats use the cluster name",
  track_cluster_stats: "ignored",
  track_timeout_budgets: "ignored",
  preconnect_policy: "preconnecting is not supported; ignored",
  close_connections_on_host_health_failure: "ignored",
  ignore_health_on_host_removal: "ignored",
  connection_pool_per_downstream_connection: "ignored",
  wait_for_warm_on_init: "ignored",
  upstream_http_protocol_options: "ignored",
  load_balancing_policy_config: "ignored",
};

function serviceMetadata(v: unknown, st: DecodeState, c: Cluster): void {
  const m = obj(v, "metadata", st);
  const fm = m !== undefined && isObject(m.filter_metadata) ? m.filter_metadata : {};
  const istio = isObject(fm.istio) ? fm.istio : {};
  const ours = isObject(fm.outrigger) ? fm.outrigger : {};
  const services = Array.isArray(istio.services) ? istio.services : [];
  const first = services.find(isObject);
  if (first !== undefined && typeof first.host === "string") c.serviceHost = first.host;
  if (typeof ours.subset === "string") c.subset = ours.subset;
  else if (typeof istio.subset === "string") c.subset = istio.subset;
  else if (c.serviceHost !== undefined) c.subset = "";
}

/** BindConfig.source_address and extra_source_addresses (or the deprecated additional_source_addresses): SocketAddress messages, IPs only. */
function upstreamBind(v: unknown, st: DecodeState): Cluster["upstreamBindConfig"] | undefined {
  const path = "upstream_bind_config";
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["source_address", "extra_source_addresses", "additional_source_addresses"], {}, { freebind: "freebind is not supported; ignored", socket_options: "socket options are not supported; ignored", local_address_selector: "ignored" });
  const ip = (x: unknown, p: string): string | undefined => {
    const sa = obj(x, p, st);
    if (sa === undefined) return st.error(p, "a socket address is required");
    const a = str(sa.address, at(p, "address"), st);
    if (a === undefined || isIP(a) === 0) return st.error(at(p, "address"), `expected an IP address, got ${JSON.stringify(sa.address)}`);
    if (uint(sa.port_value ?? 0, at(p, "port_value"), st, 65535) !== 0) st.note(at(p, "port_value"), "a fixed source port is not supported; the kernel picks one");
    return a;
  };
  const src = ip(o.source_address, at(path, "source_address"));
  if (src === undefined) return undefined;
  const out: NonNullable<Cluster["upstreamBindConfig"]> = { sourceAddress: src };
  const extra: string[] = [];
  list(o.extra_source_addresses, at(path, "extra_source_addresses"), st).forEach((x, i) => {
    const p = at(at(path, "extra_source_addresses"), i);
    const e = obj(x, p, st);
    if (e === undefined) return;
    if (e.socket_options !== undefined) st.note(at(p, "socket_options"), "socket options are not supported; ignored");
    const a = ip(e.address, at(p, "address"));
    if (a !== undefined) extra.push(a);
  });
  list(o.additional_source_addresses, at(path, "additional_source_addresses"), st).forEach((x, i) => {
    const a = ip(x, at(at(path, "additional_source_addresses"), i));
    if (a !== undefined) extra.push(a);
  });
  if (extra.length > 0) out.extraSourceAddresses = extra;
  return out;
}

function transportSocketMatches(v: unknown, st: DecodeState): TransportSocketMatch[] {
  const out: TransportSocketMatch[] = [];
  list(v, "transport_socket_matches", st).forEach((x, i) => {
    const p = at("transport_socket_matches", i);
    const o = obj(x, p, st);
    if (o === undefined) return;
    checkFields(o, p, st, ["name", "match", "transport_socket"]);
    const name = str(o.name, at(p, "name"), st);
    if (name === undefined || name === "") return void st.error(at(p, "name"), "a name is required");
    const match: Record<string, string> = {};
    for (const [k, val] of Object.entries(obj(o.match, at(p, "match"), st) ?? {})) {
      if (typeof val === "string") match[k] = val;
      else st.error(at(at(p, "match"), k), "only string values are supported (endpoint labels are strings)");
    }
    const ts = decodeTransportSocketInto(o.transport_socket, "upstream", at(p, "transport_socket"), st);
    if (ts === undefined) return void (o.transport_socket === undefined && st.error(at(p, "transport_socket"), "a transport socket is required"));
    out.push({ name, match, transportSocket: ts });
  });
  return out;
}

function upstreamFilters(v: unknown, st: DecodeState): NonNullable<Cluster["filters"]> {
  const out: NonNullable<Cluster["filters"]> = [];
  list(v, "filters", st).forEach((x, i) => {
    const p = at("filters", i);
    const o = obj(x, p, st);
    if (o === undefined) return;
    const name = str(o.name, at(p, "name"), st);
    if (name === undefined || name === "") return void st.error(at(p, "name"), "a filter name is required");
    const reason = name === "istio.metadata_exchange" || name === "envoy.filters.network.upstream.metadata_exchange"
      ? "Istio's upstream TCP metadata exchange: peer metadata is not exchanged on upstream connections"
      : "upstream network filters are not run by Outrigger";
    const f: NonNullable<Cluster["filters"]>[number] = { filterName: name, reason };
    if (isObject(o.typed_config)) f.typedConfig = structuredClone(o.typed_config);
    st.note(p, `${name}: carried, not run (${reason})`);
    out.push(f);
  });
  return out;
}

export function decodeCluster(json: Json, ctx: DecodeContext): Decoded<Cluster> {
  const st = new DecodeState(ctx);
  return st.result(clusterInto(json, st));
}

function clusterInto(o: Json, st: DecodeState): Cluster | undefined {
  checkFields(o, "", st, HANDLED, FATAL, IGNORED);
  const name = str(o.name, "name", st);
  if (name === undefined || name === "") return st.error("name", "a cluster name is required");
  // The discovery type's zero value is STATIC.
  const type: ClusterType | undefined = enumOf(o.type ?? "STATIC", TYPES, "type", st);
  const lb = loadBalancing(o, st);
  if (type === undefined || lb === undefined) return undefined;
  const c: Cluster = { name, type, lbPolicy: lb.lbPolicy, connectTimeoutMs: durationMs(o.connect_timeout, "connect_timeout", st) ?? 5_000, loadAssignment: { endpoints: [] } };
  if (lb.ringHashLbConfig !== undefined) c.ringHashLbConfig = lb.ringHashLbConfig;
  if (lb.maglevLbConfig !== undefined) c.maglevLbConfig = lb.maglevLbConfig;
  if (lb.slowStart !== undefined) c.slowStart = lb.slowStart;
  // Envoy: ORIGINAL_DST and CLUSTER_PROVIDED go together.
  if ((type === "ORIGINAL_DST") !== (c.lbPolicy === "CLUSTER_PROVIDED")) st.error("lb_policy", type === "ORIGINAL_DST" ? `an ORIGINAL_DST cluster needs lb_policy CLUSTER_PROVIDED, got ${c.lbPolicy}` : `lb_policy CLUSTER_PROVIDED is only valid for ORIGINAL_DST clusters (type ${type})`);

  // Endpoints.
  if (type === "EDS") {
    const eds = obj(o.eds_cluster_config, "eds_cluster_config", st);
    const sn = eds !== undefined ? str(eds.service_name, "eds_cluster_config.service_name", st) : undefined;
    // EDS resources are keyed by cluster name here; istiod always names them so.
    if (sn !== undefined && sn !== "" && sn !== name) st.error("eds_cluster_config.service_name", `an EDS service name other than the cluster's own (${JSON.stringify(sn)}) is not supported by Outrigger`);
    if (o.load_assignment !== undefined) st.note("load_assignment", "ignored for an EDS cluster: endpoints come from EDS");
    const src = eds !== undefined ? obj(eds.eds_config, "eds_cluster_config.eds_config", st) : undefined;
    if (src !== undefined && src.ads === undefined) st.note("eds_cluster_config.eds_config", "only ADS is supported: the endpoints are requested on the ADS stream");
  } else {
    if (o.eds_cluster_config !== undefined) st.note("eds_cluster_config", `ignored for a ${type} cluster`);
    if (o.load_assignment !== undefined) {
      const la = obj(o.load_assignment, "load_assignment", st);
      if (la !== undefined) {
        // cluster_name of an inline assignment is not checked by Envoy.
        const x = clusterLoadAssignmentInto({ cluster_name: name, ...la }, "load_assignment", st);
        if (x !== undefined) c.loadAssignment = { endpoints: x.endpoints };
      }
    } else if (o.hosts !== undefined) {
      st.note("hosts", "deprecated v2 hosts read as load_assignment");
      c.loadAssignment = { endpoints: localityLbEndpoints([{ lb_endpoints: list(o.hosts, "hosts", st).map((h) => ({ endpoint: { address: h } })) }], "hosts", st) };
    }
    const n = c.loadAssignment.endpoints.reduce((s, g) => s + g.lbEndpoints.length, 0);
    if (type === "ORIGINAL_DST" && n > 0) st.error("load_assignment", "an ORIGINAL_DST cluster cannot have endpoints");
    if (type === "LOGICAL_DNS" && (c.loadAssignment.endpoints.length !== 1 || n !== 1)) st.error("load_assignment", "a LOGICAL_DNS cluster needs exactly one locality with exactly one endpoint");
    if (type === "STRICT_DNS" || type === "LOGICAL_DNS") {
      const rate = durationMs(o.dns_refresh_rate, "dns_refresh_rate", st);
      if (rate !== undefined) {
        if (rate < 1) st.error("dns_refresh_rate", "must be at least 1ms");
        else c.dnsRefreshRateMs = rate;
      }
    }
  }
  if (o.dns_refresh_rate !== undefined && type !== "STRICT_DNS" && type !== "LOGICAL_DNS") st.note("dns_refresh_rate", `ignored for a ${type} cluster`);

  // Envoy applies its default thresholds (1024 / 1024 / 1024 / 3) to a cluster that sets none.
  c.circuitBreakers = circuitBreakers(o.circuit_breakers, "circuit_breakers", st);
  const od = outlierDetection(o.outlier_detection, "outlier_detection", st);
  if (od !== undefined) c.outlierDetection = od;

  const common = obj(o.common_lb_config, "common_lb_config", st);
  if (common !== undefined) {
    checkFields(common, "common_lb_config", st, ["healthy_panic_threshold", "locality_weighted_lb_config"], {}, { zone_aware_lb_config: "zone-aware routing is not supported; ignored" });
    if (common.healthy_panic_threshold !== undefined) {
      const t = num(common.healthy_panic_threshold, "common_lb_config.healthy_panic_threshold", st);
      if (t !== undefined && (t < 0 || t > 100)) st.error("common_lb_config.healthy_panic_threshold", "must be between 0 and 100");
      else if (t !== undefined) c.healthyPanicThreshold = t;
    }
    if (common.locality_weighted_lb_config !== undefined) c.localityWeightedLb = true;
  }

  // TLS: transport_socket, or v2's tls_context. An internal_upstream socket (ambient waypoints,
  // HBONE) hands connections to an Envoy internal listener, which Outrigger does not have: the
  // cluster is kept (so routes to it answer 503 UH, not NC, and the rest of the update is used)
  // and its internal endpoints are dropped by the endpoint decoder.
  const tsType = isObject(o.transport_socket) && isObject(o.transport_socket.typed_config) ? o.transport_socket.typed_config["@type"] : undefined;
  if (tsType === INTERNAL_UPSTREAM) {
    st.note("transport_socket", "internal_upstream (Envoy internal listeners) is not supported: the cluster has no reachable endpoint");
  } else if (o.transport_socket !== undefined) {
    const ts = decodeTransportSocketInto(o.transport_socket, "upstream", "transport_socket", st);
    if (ts !== undefined) c.transportSocket = ts;
  } else if (o.tls_context !== undefined) {
    const t = decodeUpstreamTlsContextInto(obj(o.tls_context, "tls_context", st) ?? {}, "tls_context", st);
    if (t !== undefined) c.transportSocket = { name: "envoy.transport_sockets.tls", typedConfig: t };
  }
  const tsm = transportSocketMatches(o.transport_socket_matches, st);
  if (tsm.length > 0) c.transportSocketMatches = tsm;

  // Upstream HTTP options: typed_extension_protocol_options, or v2's cluster-level fields.
  let hpo: HttpProtocolOptions | undefined = typedExtensionProtocolOptions(o.typed_extension_protocol_options, "typed_extension_protocol_options", st);
  if (o.http2_protocol_options !== undefined || o.common_http_protocol_options !== undefined || o.max_requests_per_connection !== undefined || o.protocol_selection !== undefined || o.http_protocol_options !== undefined) {
    hpo ??= {};
    // v2: http2_protocol_options on the cluster = explicit HTTP/2 (USE_CONFIGURED_PROTOCOL), or
    // the HTTP/2 half of USE_DOWNSTREAM_PROTOCOL.
    const h2 = http2ProtocolOptions(o.http2_protocol_options, "http2_protocol_options", st);
    const h1 = http1ProtocolOptions(o.http_protocol_options, "http_protocol_options", st);
    const co = obj(o.common_http_protocol_options, "common_http_protocol_options", st);
    if (co !== undefined) hpo.commonHttpProtocolOptions = commonHttpProtocolOptions(co, "common_http_protocol_options", st);
    const mr = uint(o.max_requests_per_connection, "max_requests_per_connection", st);
    if (mr !== undefined) hpo.commonHttpProtocolOptions = { ...hpo.commonHttpProtocolOptions, maxRequestsPerConnection: mr };
    const sel = enumOf(o.protocol_selection, ["USE_CONFIGURED_PROTOCOL", "USE_DOWNSTREAM_PROTOCOL"] as const, "protocol_selection", st);
    if (sel === "USE_DOWNSTREAM_PROTOCOL") {
      hpo.useDownstreamProtocolConfig = { ...(h1 !== undefined ? { httpProtocolOptions: h1 } : {}), ...(h2 !== undefined ? { http2ProtocolOptions: h2 } : {}) };
    } else if (h2 !== undefined) hpo.explicitHttpConfig = { http2ProtocolOptions: h2 };
  }
  if (hpo !== undefined) c.httpProtocolOptions = hpo;

  const uco = obj(o.upstream_connection_options, "upstream_connection_options", st);
  if (uco !== undefined) {
    checkFields(uco, "upstream_connection_options", st, ["tcp_keepalive"], {}, { set_local_interface_name_on_upstream_connections: "ignored", happy_eyeballs_config: "happy eyeballs is not supported; ignored" });
    const ka = obj(uco.tcp_keepalive, "upstream_connection_options.tcp_keepalive", st);
    if (ka !== undefined) {
      const p = "upstream_connection_options.tcp_keepalive";
      checkFields(ka, p, st, ["keepalive_probes", "keepalive_time", "keepalive_interval"]);
      const k: NonNullable<Cluster["upstreamConnectionOptions"]>["tcpKeepalive"] = {};
      const probes = uint(ka.keepalive_probes, at(p, "keepalive_probes"), st);
      const time = uint(ka.keepalive_time, at(p, "keepalive_time"), st);
      const interval = uint(ka.keepalive_interval, at(p, "keepalive_interval"), st);
      // Seconds in Envoy.
      if (probes !== undefined) k.keepaliveProbes = probes;
      if (time !== undefined) k.keepaliveTimeMs = time * 1000;
      if (interval !== undefined) k.keepaliveIntervalMs = interval * 1000;
      c.upstreamConnectionOptions = { tcpKeepalive: k };
    }
  }
  const bind = upstreamBind(o.upstream_bind_config, st);
  if (bind !== undefined) c.upstreamBindConfig = bind;
  const filters = upstreamFilters(o.filters, st);
  if (filters.length > 0) c.filters = filters;
  serviceMetadata(o.metadata, st, c);
  return c;
}
