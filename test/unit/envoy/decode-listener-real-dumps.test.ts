// istiod's real output decodes: every listener of a 2023 sidecar/waypoint ListenersConfigDump and
// of an Istio 1.4-era productpage sidecar (v2 names and type URLs, Mixer filters, camelCase JSON
// as istioctl printed it). Errors and notes are listed exactly. Inline route configurations are
// the route decoder's (its own suite decodes these dumps' routes): here each is swapped for an
// RDS reference of the same name, so this suite states the listener decoder's verdict alone.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeListener } from "../../../src/config/envoy/decode-listener.js";
import type { Json } from "../../../src/config/envoy/decoded.js";
import { HTTP_CONNECTION_MANAGER, NOOP_NETWORK_FILTER, TCP_PROXY, type Listener } from "../../../src/config/model/types.js";
import { builtInHttpFilters } from "../../../src/http/filters/http-filter-registry.js";
import { sharedPath } from "../../helpers/shared-dir.js";

/** Every decoded connection manager's HTTP filters build in the worker's registry (no-ops skipped, istio.alpn native). */
function expectRunnable(listeners: Iterable<Listener>): number {
  let built = 0;
  for (const l of listeners)
    for (const c of [...l.filterChains, ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])])
      for (const f of c.filters)
        if (f.name === HTTP_CONNECTION_MANAGER) {
          expect(() => builtInHttpFilters().build(f.typedConfig.httpFilters), `${l.name}/${c.name}`).not.toThrow();
          built++;
        }
  return built;
}

/** Every inline route_config → rds with the same name (see the header). */
function withoutInlineRoutes(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutInlineRoutes);
  if (typeof v !== "object" || v === null) return v;
  const o = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withoutInlineRoutes(x)])) as Json;
  if (o.route_config !== undefined && o.http_filters !== undefined) {
    const name = (o.route_config as Json).name ?? "inline";
    delete o.route_config;
    o.rds = { route_config_name: name, config_source: { ads: {} } };
  }
  return o;
}

interface Outcome {
  listeners: Map<string, Listener>;
  /** "name: error" for every listener refused. */
  errors: string[];
  /** "path :: message" → count, indices blanked. */
  notes: Record<string, number>;
}

function decodeAll(listeners: Json[]): Outcome {
  const out: Outcome = { listeners: new Map(), errors: [], notes: {} };
  for (const l of listeners) {
    const r = decodeListener(withoutInlineRoutes(l) as Json, { origin: "xds" });
    if (!r.ok) {
      out.errors.push(...r.errors.map((e) => `${String(l.name)}: ${e}`));
      continue;
    }
    out.listeners.set(r.value.name, r.value);
    for (const n of r.notes) {
      const k = `${n.path.replace(/\[\d+\]/g, "[]")} :: ${n.message}`;
      out.notes[k] = (out.notes[k] ?? 0) + 1;
    }
  }
  return out;
}

/** istioctl -o json printed proto JSON with lowerCamelCase names; decoded.ts' form is snake_case. */
function snakeCase(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(snakeCase);
  if (typeof v !== "object" || v === null) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.startsWith("@") ? k : k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snakeCase(x)]));
}

describe("real istiod listeners (2023, v3)", () => {
  const dump = JSON.parse(readFileSync(sharedPath("envoy-config-dumps", "istio-istioctl-authz-testdata-listeners.configdump.json"), "utf8")) as { configs: Array<{ static_listeners: Array<{ listener: Json }>; dynamic_listeners: Array<{ active_state: { listener: Json } }> }> };
  const ld = dump.configs[0]!;
  const all = [...ld.static_listeners.map((s) => s.listener), ...ld.dynamic_listeners.map((d) => d.active_state.listener)];
  const r = decodeAll(all);

  it("decodes every listener, virtualInbound's ext_authz (CUSTOM authorization) included: it runs fail-closed", () => {
    expect(all).toHaveLength(29);
    expect(r.errors).toEqual([]);
    const vi = r.listeners.get("virtualInbound")!;
    const ext = vi.filterChains.flatMap((c) => c.filters).flatMap((f) => (f.name === HTTP_CONNECTION_MANAGER ? f.typedConfig.httpFilters : [])).filter((f) => f.name === "envoy.filters.http.ext_authz");
    expect(ext).toHaveLength(4);
    expect(ext[0]!.typedConfig).toMatchObject({ filterEnabledMetadata: { filter: "envoy.filters.http.rbac", key: "istio_ext_authz_shadow_effective_policy_id", matcher: { prefix: "istio-ext-authz" } } });
  });

  it("notes what is carried or ignored", () => {
    expect(r.notes).toEqual({
      "filter_chains[].filters[].typed_config.http_filters[] :: envoy.filters.http.grpc_stats is carried but not run: gRPC statistics (grpc_stats counters) are not collected": 17,
      "filter_chains[].filters[].typed_config.tracing :: tracing without a provider: no spans are exported": 17,
      "filter_chains[].filters[] :: istio.metadata_exchange is carried but not run: Istio's TCP metadata exchange (ALPN istio-peer-exchange) is not supported; peer identity comes from the TLS handshake": 8,
      "filter_chains[].filters[].typed_config.disable_host_header_fallback :: disable_host_header_fallback is not supported; ignored": 4,
      "filter_chains[].filters[] :: istio_authn is carried but not run: istio_authn: the peer identity comes from the TLS handshake": 8,
      "filter_chains[].filters[].typed_config.server_name :: not supported by Outrigger; ignored": 6,
      "filter_chains[].filters[].typed_config.http_filters[].typed_config :: ext_authz runs fail-closed: the authorization service is not called, and the requests it applies to are refused as Envoy refuses them when the service cannot be reached (status_on_error, UAEX)": 5,
      "filter_chains[].filters[].typed_config.http_filters[].typed_config.disable_host_header_fallback :: disable_host_header_fallback is not supported; ignored": 5,
      "filter_chains :: HBONE termination (HTTP CONNECT tunnels) is not supported: the listener is not bound": 1,
      "filter_chains[].filters[].typed_config.http_filters[] :: connect_baggage is carried but not run: connect_baggage (HBONE) is not supported": 1,
      "filter_chains[].filters[].typed_config.http_filters[] :: connect_authority is carried but not run: connect_authority (HBONE) is not supported": 1,
      "filter_chains[].filters[].typed_config.upgrade_configs[].upgrade_type :: CONNECT requests are not proxied by Outrigger (HBONE termination is not supported)": 1,
      "internal_listener :: an internal listener (HBONE / waypoint plumbing) takes connections only from internal upstreams, which Outrigger does not have: it never receives any": 2,
      "listener_filters[] :: listener filter set_dst_address of an internal listener is not run": 2,
      "filter_chains[] :: left out (the listener never receives connections here): filter_chains[0].filters[0].typed_config.tunneling_config: tcp_proxy tunneling (HTTP CONNECT / HBONE) is not supported by Outrigger": 1,
    });
  });

  it("every decoded HTTP filter chain builds in the worker's filter registry", () => {
    expect(expectRunnable(r.listeners.values())).toBeGreaterThan(10);
  });

  it("maps the shapes istiod writes onto the model", () => {
    const outbound = r.listeners.get("0.0.0.0_9080")!;
    expect(outbound).toMatchObject({ address: "0.0.0.0", port: 9080, trafficDirection: "OUTBOUND", bindToPort: false, continueOnListenerFiltersTimeout: true });
    expect(outbound.listenerFilters.map((f) => f.name)).toEqual(["envoy.filters.listener.tls_inspector", "envoy.filters.listener.http_inspector"]);
    const hcm = outbound.filterChains.flatMap((c) => c.filters).find((f) => f.name === HTTP_CONNECTION_MANAGER)!;
    expect(hcm.typedConfig).toMatchObject({ routeConfigName: "9080" });
    expect(hcm.name === HTTP_CONNECTION_MANAGER && hcm.typedConfig.httpFilters.map((f) => [f.name, f.noop !== undefined])).toEqual([
      ["istio.metadata_exchange", false],
      ["envoy.filters.http.grpc_stats", true],
      ["istio.alpn", false],
      ["envoy.filters.http.fault", false],
      ["envoy.filters.http.cors", false],
      ["istio.stats", false],
      ["envoy.filters.http.router", false],
    ]);
    const vo = r.listeners.get("virtualOutbound")!;
    expect(vo).toMatchObject({ address: "0.0.0.0", port: 15001, useOriginalDst: true, trafficDirection: "OUTBOUND" });
    // istio.stats before tcp_proxy becomes the proxy's Istio stats; the reporter follows the direction.
    const tcp = vo.filterChains.flatMap((c) => c.filters).find((f) => f.name === TCP_PROXY)!;
    expect(tcp.typedConfig).toMatchObject({ istioStats: { reporter: "source", metrics: [] }, idleTimeoutMs: 3_600_000, maxConnectAttempts: 1 });
    // HBONE termination cannot be served: the listener stays unbound rather than refusing the update.
    const ct = r.listeners.get("connect_terminate")!;
    expect(ct).toMatchObject({ address: "0.0.0.0", port: 15008, bindToPort: false });
    expect(ct.filterChains[0]!.transportSocket?.typedConfig).toMatchObject({ requireClientCertificate: true, commonTlsContext: { tlsParams: { tlsMinimumProtocolVersion: "TLSv1_3" }, tlsCertificateSdsSecretConfigs: [{ name: "default" }] } });
    expect(ct.filterChains[0]!.filters[0]).toMatchObject({ name: NOOP_NETWORK_FILTER, noop: { filterName: "istio_authn", typedConfig: { "@type": "type.googleapis.com/udpa.type.v1.TypedStruct", type_url: "type.googleapis.com/io.istio.network.authn.Config" } } });
    expect(r.listeners.get("main_internal")).toMatchObject({ address: "", port: 0, bindToPort: false });
  });
});

describe("real istiod listeners (Istio 1.4 era, v2)", () => {
  const all = snakeCase(JSON.parse(readFileSync(sharedPath("envoy-config-dumps", "bookinfo-productpage-istio1.4-era", "lds.json"), "utf8"))) as Json[];
  const r = decodeAll(all);

  it("decodes every listener: v2 names and types map to the v3 decoders, Mixer is a no-op", () => {
    expect(all).toHaveLength(20);
    expect(r.errors).toEqual([]);
    expect(r.notes).toEqual({
      "filter_chains[].filters[].typed_config.server_name :: not supported by Outrigger; ignored": 2,
      "filter_chains[].filters[].typed_config.http_filters[] :: mixer is carried but not run: Mixer (Istio <= 1.7 telemetry/policy) is not supported; Istio's standard metrics are recorded natively": 7,
      "filter_chains[].filters[].typed_config.tracing :: tracing without a provider: no spans are exported": 7,
      "filter_chains[].filters[] :: mixer is carried but not run: Mixer (Istio <= 1.7 telemetry/policy) is not supported; Istio's TCP metrics are recorded natively": 13,
      "filter_chains[].filters[].typed_config.tracing.operation_name :: operation_name is not supported; the span name is the route's": 5,
    });
  });

  it("every decoded HTTP filter chain builds in the worker's filter registry (Mixer skipped)", () => {
    expect(expectRunnable(r.listeners.values())).toBeGreaterThan(3);
  });

  it("keeps deprecated_v1.bind_to_port, the 1.4 listener filter names and the v2 HCM/tcp_proxy", () => {
    const l = r.listeners.get("0.0.0.0_9080");
    expect(l).toMatchObject({ bindToPort: false, trafficDirection: "OUTBOUND" });
    const vi = r.listeners.get("virtualInbound")!;
    expect(vi.listenerFilters.map((f) => f.name)).toEqual(["envoy.filters.listener.original_dst"]);
    const inspected = [...r.listeners.values()].filter((x) => x.listenerFilters.length === 2).map((x) => [x.name, x.listenerFilters.map((f) => f.name)]);
    expect(inspected).toEqual([
      ["169.169.0.10_9153", ["envoy.filters.listener.tls_inspector", "envoy.filters.listener.http_inspector"]],
      ["169.169.242.173_15020", ["envoy.filters.listener.tls_inspector", "envoy.filters.listener.http_inspector"]],
    ]);
    expect(vi.listenerFiltersTimeoutMs).toBe(1000);
    const tcps = [...r.listeners.values()].flatMap((x) => x.filterChains.flatMap((c) => c.filters)).filter((f) => f.name === TCP_PROXY);
    expect(tcps.length).toBeGreaterThan(10);
  });
});

describe("pilot-agent's rendered bootstrap: the static 15090 (Prometheus) and 15021 (health) listeners", () => {
  const boot = JSON.parse(readFileSync(new URL("../../fixtures/istio-dumps/bootstrap-default-golden.json", import.meta.url), "utf8")) as { static_resources: { listeners: Json[] } };
  const r = decodeAll(boot.static_resources.listeners);

  it("decode, the compressors carried as no-ops", () => {
    expect(r.errors).toEqual([]);
    expect([...r.listeners.keys()]).toEqual(["0.0.0.0_15090", "0.0.0.0_15021"]);
    const prom = r.listeners.get("0.0.0.0_15090")!.filterChains[0]!.filters[0]!;
    expect(prom.name === HTTP_CONNECTION_MANAGER && prom.typedConfig.httpFilters.map((f) => [f.name, f.noop?.reason])).toEqual([
      ["envoy.filters.http.compressor.brotli", "response compression is not supported: responses are sent uncompressed (identity), which every client accepts"],
      ["envoy.filters.http.compressor.zstd", "response compression is not supported: responses are sent uncompressed (identity), which every client accepts"],
      ["envoy.filters.http.compressor.gzip", "response compression is not supported: responses are sent uncompressed (identity), which every client accepts"],
      ["envoy.filters.http.router", undefined],
    ]);
    const c = "response compression is not supported: responses are sent uncompressed (identity), which every client accepts";
    expect(r.notes).toEqual({
      "bypass_overload_manager :: not supported by Outrigger; ignored": 2,
      [`filter_chains[].filters[].typed_config.http_filters[] :: envoy.filters.http.compressor.brotli is carried but not run: ${c}`]: 1,
      [`filter_chains[].filters[].typed_config.http_filters[] :: envoy.filters.http.compressor.gzip is carried but not run: ${c}`]: 1,
      [`filter_chains[].filters[].typed_config.http_filters[] :: envoy.filters.http.compressor.zstd is carried but not run: ${c}`]: 1,
      "ignore_global_conn_limit :: ignore_global_conn_limit is not supported; ignored": 2,
    });
  });
});
