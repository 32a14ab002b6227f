// HTTP/2, gRPC and upgrade settings in Envoy's resources: the connection manager's codec_type,
// http2_protocol_options and upgrade_configs; a route's max_stream_duration, max_grpc_timeout,
// grpc_timeout_offset and upgrade_configs; a cluster's upstream protocol (explicit, downstream's,
// auto, v2's cluster-level fields). Each decodes into the model, is printed back by /config_dump
// as it came, and every bad value is an error naming its field path.
import { describe, expect, it } from "vitest";
import { clusterJson } from "../../../src/admin/config-dump/cluster-json.js";
import { listenerJson } from "../../../src/admin/config-dump/listener-json.js";
import { routeConfigJson } from "../../../src/admin/config-dump/route-config-json.js";
import { decodeCluster } from "../../../src/config/envoy/decode-cluster.js";
import { decodeListener } from "../../../src/config/envoy/decode-listener.js";
import { decodeRouteConfiguration } from "../../../src/config/envoy/decode-route-config.js";
import type { Decoded, Json } from "../../../src/config/envoy/decoded.js";
import type { Cluster, HttpConnectionManager, Listener, RouteAction, RouteConfiguration } from "../../../src/config/model/types.js";

const ctx = { origin: "xds" as const };
const T = (t: string): string => `type.googleapis.com/${t}`;
const ROUTER = { name: "envoy.filters.http.router", typed_config: { "@type": T("envoy.extensions.filters.http.router.v3.Router") } };
const HPO = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

function ok<T>(d: Decoded<T>): { value: T; notes: string[] } {
  if (!d.ok) throw new Error(d.errors.join("; "));
  return { value: d.value, notes: d.notes.map((n) => `${n.path}: ${n.message}`) };
}
function bad<T>(d: Decoded<T>): string[] {
  if (d.ok) throw new Error("decoded, expected errors");
  return d.errors;
}

const listener = (hcmFields: Json): Decoded<Listener> =>
  decodeListener(
    {
      name: "l",
      address: { socket_address: { address: "0.0.0.0", port_value: 15006 } },
      filter_chains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: { "@type": T("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"), stat_prefix: "s", rds: { route_config_name: "r", config_source: { ads: {} } }, http_filters: [ROUTER], ...hcmFields } }] }],
    },
    ctx,
  );
const hcmOf = (l: Listener): HttpConnectionManager => (l.filterChains[0]!.filters[0] as { typedConfig: HttpConnectionManager }).typedConfig;
const HP = "filter_chains[0].filters[0].typed_config";

const routeConfig = (route: Json): Decoded<RouteConfiguration> => decodeRouteConfiguration({ name: "rc", virtual_hosts: [{ name: "vh", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "c", ...route } }] }] }, ctx);
const actionOf = (rc: RouteConfiguration): RouteAction => rc.virtualHosts[0]!.routes[0]!.route!;
const RP = "virtual_hosts[0].routes[0].route";

const cluster = (extra: Json): Decoded<Cluster> => decodeCluster({ name: "c", ...extra }, ctx);
const withHpo = (fields: Json): Decoded<Cluster> => cluster({ typed_extension_protocol_options: { [HPO]: { "@type": T(HPO), ...fields } } });
const HPOP = `typed_extension_protocol_options["${HPO}"]`;

describe("connection manager: codec_type, http2_protocol_options, upgrade_configs", () => {
  it("istiod's HCM: AUTO codec left out of the model, websocket upgrades kept, printed back as sent", () => {
    const d = ok(listener({ codec_type: "AUTO", upgrade_configs: [{ upgrade_type: "websocket" }] }));
    expect(d.notes).toEqual([]);
    const h = hcmOf(d.value);
    expect(h.codecType).toBeUndefined();
    expect(h.upgradeConfigs).toEqual([{ upgradeType: "websocket" }]);
    const back = JSON.stringify(listenerJson(d.value));
    expect(back).toContain('"upgrade_configs":[{"upgrade_type":"websocket"}]');
    expect(back).not.toContain("codec_type");
  });

  it("codec HTTP1 / HTTP2 forced, HTTP/2 settings (the waypoint's max_concurrent_streams and allow_connect), enabled: false", () => {
    const d = ok(listener({ codec_type: "HTTP2", http2_protocol_options: { max_concurrent_streams: 100, initial_stream_window_size: 65536, initial_connection_window_size: { value: 1048576 }, allow_connect: true }, upgrade_configs: [{ upgrade_type: "websocket", enabled: false }, { upgrade_type: "h2c" }] }));
    const h = hcmOf(d.value);
    expect(h.codecType).toBe("HTTP2");
    expect(h.http2ProtocolOptions).toEqual({ maxConcurrentStreams: 100, initialStreamWindowSize: 65536, initialConnectionWindowSize: 1048576, allowConnect: true });
    expect(h.upgradeConfigs).toEqual([{ upgradeType: "websocket", enabled: false }, { upgradeType: "h2c" }]);
    const again = ok(decodeListener(listenerJson(d.value), ctx));
    expect(hcmOf(again.value)).toEqual(h);
    expect(hcmOf(ok(listener({ codec_type: "HTTP1" })).value).codecType).toBe("HTTP1");
  });

  it("a malformed HTTP/2 message ends the connection unless override_stream_error_on_invalid_http_message (or the deprecated field) says reset the stream; printed back", () => {
    const h = (o: Record<string, unknown>) => hcmOf(ok(listener({ http2_protocol_options: o })).value).http2ProtocolOptions;
    expect(h({ override_stream_error_on_invalid_http_message: { value: true } })).toEqual({ streamErrorOnInvalidHttpMessage: true });
    expect(h({ stream_error_on_invalid_http_messaging: true })).toEqual({ streamErrorOnInvalidHttpMessage: true });
    expect(h({ stream_error_on_invalid_http_messaging: true, override_stream_error_on_invalid_http_message: false })).toEqual({ streamErrorOnInvalidHttpMessage: false });
    expect(h({})).toEqual({});
    const d = ok(listener({ http2_protocol_options: { override_stream_error_on_invalid_http_message: true } }));
    expect(hcmOf(ok(decodeListener(listenerJson(d.value), ctx)).value).http2ProtocolOptions).toEqual({ streamErrorOnInvalidHttpMessage: true });
  });

  it("notes what it does not do: HTTP3, HTTP/2 knobs nghttp2 owns, per-upgrade filters, CONNECT", () => {
    const d = ok(listener({ codec_type: "HTTP3", http2_protocol_options: { hpack_table_size: 0, connection_keepalive: { interval: "1s" } }, upgrade_configs: [{ upgrade_type: "websocket", filters: [] }, { upgrade_type: "CONNECT" }] }));
    expect(hcmOf(d.value).codecType).toBeUndefined();
    expect(hcmOf(d.value).http2ProtocolOptions).toEqual({});
    expect([...d.notes].sort()).toEqual([
      // A CONNECT upgrade is istiod's HBONE connect_terminate: the listener stays unbound, as before.
      "filter_chains: HBONE termination (HTTP CONNECT tunnels) is not supported: the listener is not bound",
      `${HP}.codec_type: HTTP3 (QUIC) is not supported: connections are served as AUTO (HTTP/1.1 or HTTP/2)`,
      `${HP}.http2_protocol_options.connection_keepalive: HTTP/2 PING keepalive is not supported; ignored`,
      `${HP}.http2_protocol_options.hpack_table_size: hpack_table_size is not supported; the HPACK table stays at 4096 bytes`,
      `${HP}.upgrade_configs[0].filters: per-upgrade filter chains are not supported: the connection manager's filters apply`,
      `${HP}.upgrade_configs[1].upgrade_type: CONNECT requests are not proxied by Outrigger (HBONE termination is not supported)`,
    ]);
  });

  it("refuses bad values, naming the field", () => {
    expect(bad(listener({ codec_type: "SPDY" }))).toEqual([`${HP}.codec_type: expected one of AUTO, HTTP1, HTTP2, HTTP3, got "SPDY"`]);
    expect(bad(listener({ http2_protocol_options: { max_concurrent_streams: 0 } }))).toEqual([`${HP}.http2_protocol_options.max_concurrent_streams: expected an integer between 1 and 2147483647, got 0`]);
    expect(bad(listener({ http2_protocol_options: { initial_stream_window_size: 1000 } }))).toEqual([`${HP}.http2_protocol_options.initial_stream_window_size: expected an integer between 65535 and 2147483647, got 1000`]);
    expect(bad(listener({ http2_protocol_options: { initial_connection_window_size: 2147483648 } }))).toEqual([`${HP}.http2_protocol_options.initial_connection_window_size: expected an integer between 65535 and 2147483647, got 2147483648`]);
    expect(bad(listener({ http2_protocol_options: { allow_connect: "yes" } }))).toEqual([`${HP}.http2_protocol_options.allow_connect: expected true or false, got "yes"`]);
    expect(bad(listener({ http2_protocol_options: [] }))).toEqual([`${HP}.http2_protocol_options: expected an object, got []`]);
    expect(bad(listener({ upgrade_configs: {} }))).toEqual([`${HP}.upgrade_configs: expected a list, got {}`]);
    expect(bad(listener({ upgrade_configs: [{}] }))).toEqual([`${HP}.upgrade_configs[0].upgrade_type: an upgrade type is required`]);
    expect(bad(listener({ upgrade_configs: [{ upgrade_type: 7 }] }))).toEqual([`${HP}.upgrade_configs[0].upgrade_type: expected a string, got 7`]);
    expect(bad(listener({ upgrade_configs: [{ upgrade_type: "websocket" }, { upgrade_type: "WebSocket" }] }))).toEqual([`${HP}.upgrade_configs[1].upgrade_type: upgrade type "WebSocket" is configured more than once`]);
    expect(bad(listener({ upgrade_configs: [{ upgrade_type: "websocket", enabled: "no" }] }))).toEqual([`${HP}.upgrade_configs[0].enabled: expected true or false, got "no"`]);
  });
});

describe("route: max_stream_duration, max_grpc_timeout, grpc_timeout_offset, upgrade_configs", () => {
  it("istiod's max_stream_duration (both the VirtualService timeout, 0s unset) and a route upgrade switch", () => {
    const d = ok(routeConfig({ timeout: "5s", max_stream_duration: { max_stream_duration: "5s", grpc_timeout_header_max: "5s", grpc_timeout_header_offset: "0.010s" }, upgrade_configs: [{ upgrade_type: "websocket", enabled: false }] }));
    expect(d.notes).toEqual([]);
    expect(actionOf(d.value)).toMatchObject({ timeoutMs: 5000, maxStreamDuration: { maxStreamDurationMs: 5000, grpcTimeoutHeaderMaxMs: 5000, grpcTimeoutHeaderOffsetMs: 10 }, upgradeConfigs: [{ upgradeType: "websocket", enabled: false }] });
    const back = ok(decodeRouteConfiguration(routeConfigJson(d.value), ctx));
    expect(back.value).toEqual(d.value);
    const zero = actionOf(ok(routeConfig({ timeout: "0s", max_stream_duration: { max_stream_duration: "0s", grpc_timeout_header_max: "0s" } })).value);
    expect(zero.maxStreamDuration).toEqual({ maxStreamDurationMs: 0, grpcTimeoutHeaderMaxMs: 0 });
    expect(JSON.stringify(routeConfigJson(ok(routeConfig({ max_stream_duration: { max_stream_duration: "0s", grpc_timeout_header_max: "0s" } })).value))).toContain('"max_stream_duration":{"max_stream_duration":"0s","grpc_timeout_header_max":"0s"}');
  });

  it("the deprecated max_grpc_timeout / grpc_timeout_offset (Istio before 1.10) kept as written", () => {
    const d = ok(routeConfig({ max_grpc_timeout: "0s", grpc_timeout_offset: "0.5s" }));
    expect(actionOf(d.value)).toMatchObject({ maxGrpcTimeoutMs: 0, grpcTimeoutOffsetMs: 500 });
    expect(routeConfigJson(d.value)).toMatchObject({ virtual_hosts: [{ routes: [{ route: { max_grpc_timeout: "0s", grpc_timeout_offset: "0.500s" } }] }] });
    expect(actionOf(ok(decodeRouteConfiguration(routeConfigJson(d.value), ctx)).value)).toEqual(actionOf(d.value));
  });

  it("a route CONNECT upgrade with connect_config is kept and printed back; connect_config elsewhere is a note", () => {
    const d = ok(routeConfig({ upgrade_configs: [{ upgrade_type: "CONNECT", connect_config: {} }, { upgrade_type: "websocket", connect_config: {} }] }));
    expect(actionOf(d.value).upgradeConfigs).toEqual([{ upgradeType: "CONNECT" }, { upgradeType: "websocket" }]);
    expect(d.notes).toEqual([`${RP}.upgrade_configs[0].upgrade_type: CONNECT requests are not proxied by Outrigger (HBONE termination is not supported)`, `${RP}.upgrade_configs[1].connect_config: connect_config applies to CONNECT upgrades only; ignored`]);
    expect(routeConfigJson(d.value)).toMatchObject({ virtual_hosts: [{ routes: [{ route: { upgrade_configs: [{ upgrade_type: "CONNECT", connect_config: {} }, { upgrade_type: "websocket" }] } }] }] });
  });

  it("refuses bad values, naming the field", () => {
    expect(bad(routeConfig({ max_stream_duration: "5s" }))).toEqual([`${RP}.max_stream_duration: expected an object, got "5s"`]);
    expect(bad(routeConfig({ max_stream_duration: { max_stream_duration: "5m" } }))).toEqual([`${RP}.max_stream_duration.max_stream_duration: expected a duration such as "1.5s", got "5m"`]);
    expect(bad(routeConfig({ max_stream_duration: { grpc_timeout_header_max: -1 } }))).toEqual([`${RP}.max_stream_duration.grpc_timeout_header_max: expected a duration such as "1.5s", got -1`]);
    expect(bad(routeConfig({ max_stream_duration: { grpc_timeout_header_offset: "x" } }))).toEqual([`${RP}.max_stream_duration.grpc_timeout_header_offset: expected a duration such as "1.5s", got "x"`]);
    expect(bad(routeConfig({ max_grpc_timeout: 3 }))).toEqual([`${RP}.max_grpc_timeout: expected a duration such as "1.5s", got 3`]);
    expect(bad(routeConfig({ grpc_timeout_offset: "-1s" }))).toEqual([`${RP}.grpc_timeout_offset: expected a duration such as "1.5s", got "-1s"`]);
    expect(bad(routeConfig({ upgrade_configs: [{ upgrade_type: "" }] }))).toEqual([`${RP}.upgrade_configs[0].upgrade_type: an upgrade type is required`]);
    const unknown = ok(routeConfig({ max_stream_duration: { max_stream_duration: "1s", other: 1 } }));
    expect(unknown.notes).toEqual([`${RP}.max_stream_duration.other: not supported by Outrigger; ignored`]);
  });
});

describe("cluster: upstream protocol", () => {
  it("explicit HTTP/2 with settings (istiod: HTTP2/GRPC ports, h2UpgradePolicy, maxConcurrentStreams), printed back", () => {
    const d = ok(withHpo({ explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 10 } } }));
    expect(d.notes).toEqual([]);
    expect(d.value.httpProtocolOptions).toEqual({ explicitHttpConfig: { http2ProtocolOptions: { maxConcurrentStreams: 10 } } });
    expect(clusterJson(d.value)).toMatchObject({ typed_extension_protocol_options: { [HPO]: { explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 10 } } } } });
    expect(ok(decodeCluster(clusterJson(d.value), ctx)).value.httpProtocolOptions).toEqual(d.value.httpProtocolOptions);
  });

  it("explicit HTTP/1.1 (istiod: preserve header case) and the downstream's protocol with both halves (istiod: detection ports, passthrough, useClientProtocol)", () => {
    const h1 = ok(withHpo({ explicit_http_config: { http_protocol_options: { header_key_format: { stateful_formatter: {} } } } }));
    expect(h1.value.httpProtocolOptions).toEqual({ explicitHttpConfig: { httpProtocolOptions: {} } });
    expect(h1.notes).toEqual([`${HPOP}.explicit_http_config.http_protocol_options.header_key_format: header_key_format is not supported; ignored`]);
    const dn = ok(withHpo({ common_http_protocol_options: { idle_timeout: "300s" }, use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} } }));
    expect(dn.notes).toEqual([]);
    expect(dn.value.httpProtocolOptions).toEqual({ commonHttpProtocolOptions: { idleTimeoutMs: 300_000 }, useDownstreamProtocolConfig: { httpProtocolOptions: {}, http2ProtocolOptions: {} } });
    expect(clusterJson(dn.value)).toMatchObject({ typed_extension_protocol_options: { [HPO]: { use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} } } } });
    expect(ok(decodeCluster(clusterJson(dn.value), ctx)).value.httpProtocolOptions).toEqual(dn.value.httpProtocolOptions);
    expect(ok(withHpo({ use_downstream_protocol_config: {} })).value.httpProtocolOptions).toEqual({ useDownstreamProtocolConfig: {} });
  });

  it("auto_config (ALPN) is HTTP/1.1 here, with a note", () => {
    const d = ok(withHpo({ auto_config: { http_protocol_options: {}, http2_protocol_options: {} } }));
    expect(d.value.httpProtocolOptions).toEqual({});
    expect(d.notes).toEqual([`${HPOP}.auto_config: ALPN protocol selection (auto_config) is not supported: the upstream is spoken to in HTTP/1.1`]);
  });

  it("v2: cluster-level http2_protocol_options = explicit HTTP/2; with protocol_selection USE_DOWNSTREAM_PROTOCOL = the downstream's", () => {
    expect(ok(cluster({ http2_protocol_options: { max_concurrent_streams: 1073741824 } })).value.httpProtocolOptions).toEqual({ explicitHttpConfig: { http2ProtocolOptions: { maxConcurrentStreams: 1073741824 } } });
    expect(ok(cluster({ http2_protocol_options: {}, protocol_selection: "USE_DOWNSTREAM_PROTOCOL" })).value.httpProtocolOptions).toEqual({ useDownstreamProtocolConfig: { http2ProtocolOptions: {} } });
    expect(ok(cluster({ http_protocol_options: {}, http2_protocol_options: {}, protocol_selection: 1 })).value.httpProtocolOptions).toEqual({ useDownstreamProtocolConfig: { httpProtocolOptions: {}, http2ProtocolOptions: {} } });
    expect(ok(cluster({ http_protocol_options: {} })).value.httpProtocolOptions).toEqual({});
  });

  it("refuses bad values, naming the field", () => {
    expect(bad(withHpo({ explicit_http_config: {} }))).toEqual([`${HPOP}.explicit_http_config: one of http_protocol_options, http2_protocol_options is required`]);
    expect(bad(withHpo({ explicit_http_config: { http_protocol_options: {}, http2_protocol_options: {} } }))).toEqual([`${HPOP}.explicit_http_config: only one of http_protocol_options, http2_protocol_options may be set`]);
    expect(bad(withHpo({ explicit_http_config: { http2_protocol_options: { max_concurrent_streams: "many" } } }))).toEqual([`${HPOP}.explicit_http_config.http2_protocol_options.max_concurrent_streams: expected an integer between 0 and 4294967295, got "many"`]);
    expect(bad(withHpo({ explicit_http_config: { http2_protocol_options: { initial_stream_window_size: 100 } } }))).toEqual([`${HPOP}.explicit_http_config.http2_protocol_options.initial_stream_window_size: expected an integer between 65535 and 2147483647, got 100`]);
    expect(bad(withHpo({ explicit_http_config: { http2_protocol_options: {} }, use_downstream_protocol_config: {} }))).toEqual([`${HPOP}: only one of explicit_http_config, use_downstream_protocol_config, auto_config may be set (got explicit_http_config, use_downstream_protocol_config)`]);
    expect(bad(withHpo({ use_downstream_protocol_config: { http2_protocol_options: { max_concurrent_streams: 0 } } }))).toEqual([`${HPOP}.use_downstream_protocol_config.http2_protocol_options.max_concurrent_streams: expected an integer between 1 and 2147483647, got 0`]);
    expect(bad(withHpo({ use_downstream_protocol_config: { http3_protocol_options: {} } }))).toEqual([`${HPOP}.use_downstream_protocol_config.http3_protocol_options: upstream HTTP/3 is not supported by Outrigger`]);
    expect(bad(withHpo({ use_downstream_protocol_config: "yes" }))).toEqual([`${HPOP}.use_downstream_protocol_config: expected an object, got "yes"`]);
    expect(bad(cluster({ http2_protocol_options: { initial_connection_window_size: 1 } }))).toEqual([`http2_protocol_options.initial_connection_window_size: expected an integer between 65535 and 2147483647, got 1`]);
    expect(bad(cluster({ http2_protocol_options: {}, protocol_selection: "SOMETIMES" }))).toEqual([`protocol_selection: expected one of USE_CONFIGURED_PROTOCOL, USE_DOWNSTREAM_PROTOCOL, got "SOMETIMES"`]);
  });
});
