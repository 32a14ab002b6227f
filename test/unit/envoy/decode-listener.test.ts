// The Listener decoder field by field: what maps onto the model, what is carried as a no-op, and
// every refusal naming its field path and reason.
import { describe, expect, it } from "vitest";
import { decodeListener } from "../../../src/config/envoy/decode-listener.js";
import type { Json } from "../../../src/config/envoy/decoded.js";
import type { Listener, TcpProxy } from "../../../src/config/model/types.js";

const T = (t: string): string => `type.googleapis.com/${t}`;
const ctx = { origin: "xds" as const };

function tcp(extra: Json = {}): Json {
  return { name: "envoy.filters.network.tcp_proxy", typed_config: { "@type": T("envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"), stat_prefix: "s", cluster: "c", ...extra } };
}
function listener(filters: Json[], extra: Json = {}, chain: Json = {}): Json {
  return { name: "l", address: { socket_address: { address: "0.0.0.0", port_value: 80 } }, traffic_direction: "OUTBOUND", filter_chains: [{ filters, ...chain }], ...extra };
}
function ok(json: Json): { value: Listener; notes: Array<{ path: string; message: string }> } {
  const r = decodeListener(json, ctx);
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r;
}
function errors(json: Json): string[] {
  const r = decodeListener(json, ctx);
  if (r.ok) throw new Error("decoded, expected errors");
  return r.errors;
}
const tcpOf = (l: Listener): TcpProxy => (l.filterChains[0]!.filters.at(-1) as { typedConfig: TcpProxy }).typedConfig;

describe("Listener", () => {
  it("maps address, direction, listener filters with istiod's filter_disabled, timeouts and flags", () => {
    const { value, notes } = ok(
      listener([tcp()], {
        additional_addresses: [{ address: { socket_address: { address: "::", port_value: 80 } } }],
        listener_filters: [
          { name: "envoy.filters.listener.tls_inspector", typed_config: { "@type": T("envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector") }, filter_disabled: { destination_port_range: { start: 15006, end: 15007 } } },
          { name: "envoy.listener.http_inspector", filter_disabled: { or_match: { rules: [{ destination_port_range: { start: 80, end: 81 } }, { destination_port_range: { start: 443, end: 444 } }] } } },
        ],
        listener_filters_timeout: "0.1s",
        continue_on_listener_filters_timeout: true,
        use_original_dst: true,
        bind_to_port: false,
        transparent: { value: true },
      }),
    );
    expect(notes).toEqual([]);
    expect(value).toEqual({
      name: "l",
      address: "0.0.0.0",
      port: 80,
      trafficDirection: "OUTBOUND",
      additionalAddresses: [{ address: "::" }],
      listenerFilters: [
        { name: "envoy.filters.listener.tls_inspector", disabledForDestinationPorts: [{ start: 15006, end: 15007 }] },
        { name: "envoy.filters.listener.http_inspector", disabledForDestinationPorts: [{ start: 80, end: 81 }, { start: 443, end: 444 }] },
      ],
      listenerFiltersTimeoutMs: 100,
      continueOnListenerFiltersTimeout: true,
      useOriginalDst: true,
      bindToPort: false,
      transparent: true,
      filterChains: [{ name: "filter_chain_0", filterChainMatch: {}, filters: [{ name: "envoy.filters.network.tcp_proxy", typedConfig: { statPrefix: "s", cluster: "c", idleTimeoutMs: 3_600_000, maxConnectAttempts: 1 } }] }],
    });
  });

  it("istiod's TPROXY original_src listener filter is a note: connections come from the proxy's address", () => {
    const { value, notes } = ok(listener([tcp()], { listener_filters: [{ name: "envoy.filters.listener.original_src", typed_config: { "@type": T("envoy.extensions.filters.listener.original_src.v3.OriginalSrc"), mark: 1337 } }] }));
    expect(value.listenerFilters).toEqual([]);
    expect(notes).toEqual([{ path: "listener_filters[0]", message: "original_src is not supported: upstream connections come from the proxy's address, not the client's" }]);
  });

  it("decodes every filter_chain_match field and a default chain", () => {
    const match = {
      destination_port: 8080,
      prefix_ranges: [{ address_prefix: "10.0.0.0", prefix_len: 8 }],
      server_names: ["a.example"],
      transport_protocol: "tls",
      application_protocols: ["istio-peer-exchange", "istio"],
      direct_source_prefix_ranges: [{ address_prefix: "127.0.0.1", prefix_len: 32 }],
      source_type: "SAME_IP_OR_LOOPBACK",
      source_prefix_ranges: [{ address_prefix: "::1", prefix_len: 128 }],
      source_ports: [1234],
    };
    const { value } = ok(listener([tcp()], { default_filter_chain: { name: "PassthroughFilterChain", filters: [tcp({ cluster: "PassthroughCluster" })] } }, { name: "c1", filter_chain_match: match }));
    expect(value.filterChains[0]!.filterChainMatch).toEqual({
      destinationPort: 8080,
      prefixRanges: [{ addressPrefix: "10.0.0.0", prefixLen: 8 }],
      serverNames: ["a.example"],
      transportProtocol: "tls",
      applicationProtocols: ["istio-peer-exchange", "istio"],
      directSourcePrefixRanges: [{ addressPrefix: "127.0.0.1", prefixLen: 32 }],
      sourceType: "SAME_IP_OR_LOOPBACK",
      sourcePrefixRanges: [{ addressPrefix: "::1", prefixLen: 128 }],
      sourcePorts: [1234],
    });
    expect(value.defaultFilterChain?.name).toBe("PassthroughFilterChain");
  });

  it("refuses what it cannot honour, naming the field and the reason", () => {
    expect(errors({ name: "l", address: { socket_address: { address: "0.0.0.0", port_value: 99999 } }, filter_chains: [{ filters: [tcp()] }] })).toEqual(["address.socket_address.port_value: expected an integer between 0 and 65535, got 99999"]);
    expect(errors({ name: "l", address: { pipe: { path: "/x" } }, filter_chains: [{ filters: [tcp()] }] })).toEqual(["address.pipe: a Unix socket (pipe) address is not supported here"]);
    expect(errors(listener([tcp()], { udp_listener_config: {} }))).toEqual(["udp_listener_config: UDP listeners are not supported by Outrigger"]);
    expect(errors(listener([tcp()], { listener_filters: [{ name: "envoy.filters.listener.proxy_protocol" }] }))).toEqual([
      "listener_filters[0].name: listener filter envoy.filters.listener.proxy_protocol is not supported by Outrigger (original_dst, tls_inspector, http_inspector)",
    ]);
    expect(errors(listener([tcp()], { listener_filters: [{ name: "envoy.filters.listener.tls_inspector", filter_disabled: { destination_port_range: { start: 10, end: 10 } } }] }))).toEqual([
      "listener_filters[0].filter_disabled.destination_port_range: end (10) must be greater than start (10)",
    ]);
    expect(errors(listener([tcp()], { listener_filters: [{ name: "envoy.filters.listener.tls_inspector", filter_disabled: { not_match: {} } }] }))).toEqual([
      "listener_filters[0].filter_disabled: only destination_port_range rules are supported in filter_disabled (got not_match)",
    ]);
    expect(errors(listener([tcp()], {}, { use_proxy_proto: true }))).toEqual(["filter_chains[0].use_proxy_proto: the PROXY protocol is not supported by Outrigger"]);
    expect(errors(listener([tcp()], {}, { filter_chain_match: { address_suffix: "x" } }))).toEqual(["filter_chains[0].filter_chain_match.address_suffix: address_suffix is not supported by Outrigger"]);
    expect(errors(listener([tcp()], {}, { filter_chain_match: { prefix_ranges: [{ address_prefix: "10.0.0.0", prefix_len: 33 }] } }))).toEqual([
      "filter_chains[0].filter_chain_match.prefix_ranges[0].prefix_len: expected an integer between 0 and 32, got 33",
    ]);
    expect(errors(listener([tcp()], { additional_addresses: [{ address: { socket_address: { address: "::", port_value: 81 } } }] }))).toEqual([
      "additional_addresses[0].address.socket_address.port_value: an additional address must use the listener's port 80 (got 81)",
    ]);
    expect(errors(listener([tcp()], { listener_filters_timeout: "15" }))).toEqual(['listener_filters_timeout: expected a duration such as "1.5s", got "15"']);
    expect(errors({ name: "l", address: { socket_address: { address: "0.0.0.0", port_value: 80 } } })).toEqual(["filter_chains: a listener needs at least one filter chain or a default_filter_chain"]);
  });

  it("a filter chain needs exactly one terminal filter, last", () => {
    expect(errors(listener([tcp(), { name: "envoy.filters.network.rbac", typed_config: { "@type": T("envoy.extensions.filters.network.rbac.v3.RBAC"), stat_prefix: "tcp." } }]))).toEqual([
      "filter_chains[0].filters: a filter chain needs exactly one terminal filter (envoy.filters.network.http_connection_manager or envoy.filters.network.tcp_proxy), last (got envoy.filters.network.tcp_proxy, envoy.filters.network.rbac)",
    ]);
    expect(errors(listener([{ name: "envoy.filters.network.redis_proxy", typed_config: { "@type": T("envoy.extensions.filters.network.redis_proxy.v3.RedisProxy") } }]))).toEqual([
      "filter_chains[0].filters[0].typed_config.@type: network filter envoy.filters.network.redis_proxy (envoy.extensions.filters.network.redis_proxy.v3.RedisProxy) is not supported by Outrigger",
    ]);
  });

  it("notes fields it ignores; an unspecified traffic_direction stays unspecified (drain_listeners?inboundonly leaves it up)", () => {
    const { value, notes } = ok({ ...listener([tcp()], { per_connection_buffer_limit_bytes: 32768 }), traffic_direction: undefined });
    expect(value.trafficDirection).toBe("UNSPECIFIED");
    expect(notes).toEqual([{ path: "per_connection_buffer_limit_bytes", message: "per_connection_buffer_limit_bytes is not supported: Node's stream buffering applies" }]);
  });
});

describe("network filters", () => {
  it("tcp_proxy: weighted clusters, idle timeout 0 (off), attempts, access log; istio.stats before it becomes its istioStats", () => {
    const stats = { name: "istio.stats", typed_config: { "@type": T("udpa.type.v1.TypedStruct"), type_url: T("stats.PluginConfig"), value: { tcp_reporting_duration: "15s", metrics: [{ name: "tcp_sent_bytes_total", drop: true }] } } };
    const { value } = ok(
      listener([stats, tcp({ cluster: undefined, weighted_clusters: { clusters: [{ name: "a", weight: 90 }, { name: "b", weight: 10 }] }, idle_timeout: "0s", max_connect_attempts: 3, access_log: [{ name: "envoy.access_loggers.file", typed_config: { "@type": T("envoy.extensions.access_loggers.file.v3.FileAccessLog"), path: "/dev/stdout" } }] })]),
    );
    expect(tcpOf(value)).toEqual({
      statPrefix: "s",
      weightedClusters: [{ name: "a", weight: 90 }, { name: "b", weight: 10 }],
      idleTimeoutMs: 0,
      maxConnectAttempts: 3,
      accessLog: [{ name: "envoy.access_loggers.file", path: "/dev/stdout", format: { kind: "text", text: expect.stringContaining("%START_TIME%") } }],
      istioStats: { reporter: "source", metrics: [{ name: "tcp_sent_bytes_total", drop: true }], tcpReportingDurationMs: 15000 },
    });
    expect(errors(listener([tcp({ tunneling_config: { hostname: "x" } })]))).toEqual(["filter_chains[0].filters[0].typed_config.tunneling_config: tcp_proxy tunneling (HTTP CONNECT / HBONE) is not supported by Outrigger"]);
    expect(errors(listener([tcp({ cluster: undefined })]))).toEqual(["filter_chains[0].filters[0].typed_config: exactly one of cluster, weighted_clusters must be set"]);
    expect(errors(listener([tcp({ max_connect_attempts: 0 })]))).toEqual(["filter_chains[0].filters[0].typed_config.max_connect_attempts: must be at least 1"]);
  });

  it("TCP metadata exchange, istio_authn and Mixer are carried as no-ops with their config", () => {
    const mx = { name: "istio.metadata_exchange", typed_config: { "@type": T("envoy.tcp.metadataexchange.config.MetadataExchange"), protocol: "istio-peer-exchange" } };
    const { value, notes } = ok(listener([mx, tcp()]));
    expect(value.filterChains[0]!.filters[0]).toEqual({ name: "outrigger.noop", noop: { filterName: "istio.metadata_exchange", typedConfig: mx.typed_config, reason: expect.stringContaining("TCP metadata exchange") } });
    expect(notes.map((n) => n.path)).toEqual(["filter_chains[0].filters[0]"]);
  });

  it("Mixer's TCP client is a no-op only when report-only", () => {
    const mixer = (extra: Json) => ({ name: "mixer", typed_config: { "@type": T("istio.mixer.v1.config.client.TcpClientConfig"), transport: {}, ...extra } });
    expect(ok(listener([mixer({ disable_check_calls: true }), tcp()])).value.filterChains[0]!.filters[0]!.name).toBe("outrigger.noop");
    expect(errors(listener([mixer({}), tcp()]))).toEqual(["filter_chains[0].filters[0].typed_config.disable_check_calls: Mixer policy checks are not supported by Outrigger (only report-only Mixer, disable_check_calls: true)"]);
  });

  it("the null-VM Wasm and TypedStruct forms of Istio's TCP filters (Istio 1.6-1.11)", () => {
    const stats = { name: "istio.stats", typed_config: { "@type": T("envoy.extensions.filters.network.wasm.v3.Wasm"), config: { vm_config: { runtime: "envoy.wasm.runtime.null", code: { local: { inline_string: "envoy.wasm.stats" } } }, configuration: { "@type": T("google.protobuf.StringValue"), value: '{"metrics":[{"name":"tcp_connections_opened_total","tags_to_remove":["source_version"]}]}' } } } };
    const mx = { name: "istio.metadata_exchange", typed_config: { "@type": T("udpa.type.v1.TypedStruct"), type_url: T("envoy.tcp.metadataexchange.config.MetadataExchange"), value: { protocol: "istio-peer-exchange" } } };
    const { value } = ok({ ...listener([mx, stats, tcp()]), traffic_direction: "INBOUND" });
    expect(value.filterChains[0]!.filters.map((f) => f.name)).toEqual(["outrigger.noop", "envoy.filters.network.tcp_proxy"]);
    expect(tcpOf(value).istioStats).toEqual({ reporter: "destination", metrics: [{ name: "tcp_connections_opened_total", tagsToRemove: ["source_version"] }] });
    const bad = { name: "istio.stats", typed_config: { ...stats.typed_config, config: { ...stats.typed_config.config, configuration: { "@type": T("google.protobuf.StringValue"), value: "{metrics" } } } };
    expect(errors(listener([bad, tcp()]))[0]).toMatch(/^filter_chains\[0\]\.filters\[0\]\.typed_config\.config\.configuration\.value: not valid JSON: /);
  });

  it("network RBAC with istiod's principals (filter_state peer principal, legacy header exact_match)", () => {
    const rbac = {
      name: "envoy.filters.network.rbac",
      typed_config: {
        "@type": T("envoy.extensions.filters.network.rbac.v3.RBAC"),
        stat_prefix: "tcp.",
        rules: { action: "DENY", policies: { "ns[foo]-policy[p]-rule[0]": { permissions: [{ destination_port: 5432 }], principals: [{ filter_state: { key: "io.istio.peer_principal", string_match: { exact: "spiffe://cluster.local/ns/foo/sa/bar" } } }, { direct_remote_ip: { address_prefix: "10.0.0.0", prefix_len: 8 } }] } } },
        shadow_rules: { policies: {} },
        shadow_rules_stat_prefix: "istio_dry_run_allow_",
      },
    };
    const { value } = ok(listener([rbac, tcp()]));
    expect(value.filterChains[0]!.filters[0]).toEqual({
      name: "envoy.filters.network.rbac",
      typedConfig: {
        statPrefix: "tcp.",
        rules: { action: "DENY", policies: { "ns[foo]-policy[p]-rule[0]": { permissions: [{ destinationPort: 5432 }], principals: [{ authenticated: { principalName: { exact: "spiffe://cluster.local/ns/foo/sa/bar" } } }, { directRemoteIp: { addressPrefix: "10.0.0.0", prefixLen: 8 } }] } } },
        shadowRules: { action: "ALLOW", policies: {} },
        shadowRulesStatPrefix: "istio_dry_run_allow_",
      },
    });
    const bad = (policy: Json) => errors(listener([{ name: "envoy.filters.network.rbac", typed_config: { "@type": T("envoy.extensions.filters.network.rbac.v3.RBAC"), stat_prefix: "t", rules: { policies: { p: policy } } } }, tcp()]));
    expect(bad({ permissions: [{ any: true }], principals: [{ any: true }], condition: { call_expr: {} } })).toEqual(["filter_chains[0].filters[0].typed_config.rules.policies.p.condition: CEL conditions in RBAC policies are not supported by Outrigger"]);
    expect(bad({ permissions: [{ destination_port_range: { start: 1, end: 2 } }], principals: [{ any: true }] })).toEqual(["filter_chains[0].filters[0].typed_config.rules.policies.p.permissions[0].destination_port_range: destination_port_range is not supported by Outrigger"]);
    expect(bad({ permissions: [{ any: true }], principals: [{ filter_state: { key: "io.istio.peer_namespace", string_match: { exact: "x" } } }] })).toEqual([
      'filter_chains[0].filters[0].typed_config.rules.policies.p.principals[0].filter_state.key: filter state key "io.istio.peer_namespace" is not supported (only io.istio.peer_principal)',
    ]);
    expect(bad({ permissions: [{ any: true, header: { name: "x" } }], principals: [{ any: true }] })).toEqual(["filter_chains[0].filters[0].typed_config.rules.policies.p.permissions[0]: exactly one permission rule must be set, got any, header"]);
  });
});
