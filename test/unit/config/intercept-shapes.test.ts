// --intercept builds the listeners and clusters istiod builds for a sidecar behind istio-iptables:
// compared field by field (names, addresses, listener filters, chain order and filterChainMatch,
// terminal filters and their targets) with a real istiod listener dump of a Bookinfo sidecar
// (test/fixtures/istiod-sidecar-listeners.configdump.json: istio/istio @ 86c9f01fd735 :
// istioctl/pkg/authz/testdata/configdump.yaml, Apache-2.0), rendered through /config_dump's JSON.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { listenerJson } from "../../../src/admin/config-dump/listener-json.js";
import { defaultInterception } from "../../../src/config/istio/interception.js";
import type { Listener } from "../../../src/config/model/types.js";
import { doc, run, se } from "./helpers.js";

type J = Record<string, any>;

const dump = JSON.parse(readFileSync(new URL("../../fixtures/istiod-sidecar-listeners.configdump.json", import.meta.url), "utf8")) as J;
const realListeners: J[] = dump.configs.flatMap((c: J) => (c.dynamic_listeners ?? []).map((l: J) => l.active_state.listener));
const real = (name: string): J => {
  const l = realListeners.find((x) => x.name === name);
  if (l === undefined) throw new Error(`no ${name} in the dump`);
  return l;
};

/** Istio 1.23 renamed InboundPassthroughClusterIpv4 (the dump's version) to InboundPassthroughCluster. */
const rename = (s: string | undefined): string | undefined => (s === "InboundPassthroughClusterIpv4" ? "InboundPassthroughCluster" : s);

function target(c: J): string | undefined {
  const t = c.filters[c.filters.length - 1].typed_config;
  return rename(t.cluster ?? t.rds?.route_config_name ?? t.route_config?.name);
}

/** A chain as compared: its match, its network filters (or only the terminal one), what the terminal filter targets. */
function chain(c: J | undefined, o: { names: boolean; allFilters: boolean }): J | undefined {
  if (c === undefined) return undefined;
  const names: string[] = c.filters.map((f: J) => f.name);
  return {
    ...(o.names ? { name: c.name } : {}),
    match: c.filter_chain_match ?? {},
    filters: o.allFilters ? names : names.slice(-1),
    target: target(c),
  };
}

function shape(l: J, o: { names: boolean; allFilters: boolean; plaintextOnly?: boolean }): J {
  const chains = (l.filter_chains as J[]).filter((c) => !o.plaintextOnly || c.filter_chain_match?.transport_protocol !== "tls");
  return {
    name: l.name,
    address: l.address,
    traffic_direction: l.traffic_direction,
    use_original_dst: l.use_original_dst,
    bind_to_port: l.bind_to_port,
    listener_filters: (l.listener_filters ?? []).map((f: J) => ({ name: f.name, filter_disabled: f.filter_disabled })),
    listener_filters_timeout: l.listener_filters_timeout,
    continue_on_listener_filters_timeout: l.continue_on_listener_filters_timeout,
    chains: chains.map((c) => chain(c, o)),
    default_chain: chain(l.default_filter_chain, { ...o, names: true }),
  };
}

const ours = (ls: Listener[], name: string): J => {
  const l = ls.find((x) => x.name === name);
  if (l === undefined) throw new Error(`no ${name} among ${ls.map((x) => x.name).join(", ")}`);
  return JSON.parse(JSON.stringify(listenerJson(l))) as J;
};

// The dump's workload: an app on port 80 (HTTP), calling Bookinfo on 9080 and kube-dns on 53.
const bookinfo =
  se("reviews", "default", "  hosts: [reviews.default.svc.cluster.local]\n  addresses: [10.96.1.1]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: [{number: 9080, name: http, protocol: HTTP}]\n  endpoints: [{address: 10.1.0.1}]") +
  se("ratings", "default", "  hosts: [ratings.default.svc.cluster.local]\n  addresses: [10.96.1.2]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: [{number: 9080, name: http, protocol: HTTP}]\n  endpoints: [{address: 10.1.0.2}]") +
  se("kube-dns", "kube-system", "  hosts: [kube-dns.kube-system.svc.cluster.local]\n  addresses: [10.96.0.10]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: [{number: 53, name: dns-tcp, protocol: TCP}]\n  endpoints: [{address: 10.244.0.2}]") +
  doc("Sidecar", "default", "default", "  ingress:\n  - port: {number: 80, protocol: HTTP, name: http}\n  egress:\n  - hosts: ['*/*']");

// istiod's dumps come from its default protocolDetectionTimeout (0s); Outrigger's default is 100 ms.
const translate = (extra = "", opts = {}) => run(bookinfo + extra, { namespace: "default", intercept: { ...defaultInterception(), protocolDetectionTimeoutMs: 0 }, ...opts });

describe("--intercept: the shapes of a real istiod sidecar dump", () => {
  it("virtualOutbound: 0.0.0.0:15001, use_original_dst, blackhole chain for 15001 then the catch-all to PassthroughCluster", () => {
    const r = translate();
    expect(r.messages).toEqual([]);
    expect(shape(ours(r.snapshot.listeners, "virtualOutbound"), { names: true, allFilters: true })).toEqual(shape(real("virtualOutbound"), { names: true, allFilters: true }));
  });

  it("virtualInbound: original_dst, tls_inspector and http_inspector with istiod's filter_disabled ranges, no timeout, blackhole / catch-all HTTP / catch-all TCP / per-port chains (the plaintext ones: mTLS is not built yet)", () => {
    const r = translate();
    const got = shape(ours(r.snapshot.listeners, "virtualInbound"), { names: true, allFilters: false });
    expect(got).toEqual(shape(real("virtualInbound"), { names: true, allFilters: false, plaintextOnly: true }));
    expect(got.listener_filters[2].filter_disabled).toEqual({ or_match: { rules: [{ destination_port_range: { start: 80, end: 81 } }, { destination_port_range: { start: 15006, end: 15007 } }] } });
  });

  it("an HTTP port: 0.0.0.0_9080, not bound, tls_inspector + http_inspector, the HCM on RDS 9080 for plaintext HTTP, PassthroughFilterChain for the rest", () => {
    const r = translate();
    // istiod leaves these chains unnamed; outrigger names them (names key in-place updates on the workers).
    expect(shape(ours(r.snapshot.listeners, "0.0.0.0_9080"), { names: false, allFilters: true })).toEqual({
      ...shape(real("0.0.0.0_9080"), { names: false, allFilters: true }),
      // istiod adds tls_inspector to HTTP listeners only when some chain needs SNI/ALPN; the dump's older istiod always did.
      listener_filters: [{ name: "envoy.filters.listener.http_inspector", filter_disabled: undefined }],
    });
  });

  it("a TCP port on a service address: <VIP>_<port>, not bound, one tcp_proxy chain to the service", () => {
    const r = translate();
    const got = shape(ours(r.snapshot.listeners, "10.96.0.10_53"), { names: false, allFilters: true });
    // Current istiod writes listener_filters_timeout 0s and continue_on_listener_filters_timeout on every outbound listener; the 2023 dump's did not.
    expect({ ...got, listener_filters_timeout: undefined, continue_on_listener_filters_timeout: undefined }).toEqual(shape(real("10.96.0.10_53"), { names: false, allFilters: true }));
    expect(got.listener_filters_timeout).toBe("0s");
  });

  it("the listener set: per-port outbound listeners, virtualOutbound, virtualInbound; the default 127.0.0.1:15001 listener is dropped with a summary line", () => {
    const r = translate("", { defaultOutbound: { address: "127.0.0.1", port: 15001 } });
    expect(r.snapshot.listeners.map((l) => l.name)).toEqual(["10.96.0.10_53", "0.0.0.0_9080", "virtualOutbound", "virtualInbound"]);
    expect(r.summary).toContain("default outbound listener 127.0.0.1:15001 is off: --intercept listens on 0.0.0.0:15001");
    expect(r.summary).toContain("interception REDIRECT: virtualOutbound 0.0.0.0:15001, virtualInbound 0.0.0.0:15006, proxy uid 1337; outboundTrafficPolicy ALLOW_ANY (default)");
    // On another port it stays, beside the virtual listeners.
    const kept = translate("", { defaultOutbound: { address: "127.0.0.1", port: 15101 } });
    expect(kept.snapshot.listeners.map((l) => l.name)).toContain("127.0.0.1_15101");
  });

  it("without --intercept nothing changes: the Sidecar ingress port is a bound listener, no virtual listeners or passthrough clusters", () => {
    const r = run(bookinfo, { namespace: "default" });
    expect(r.snapshot.listeners.map((l) => l.name)).toEqual(["0.0.0.0_80"]);
    expect(Object.keys(r.snapshot.clusters).filter((c) => !c.startsWith("outbound|") && !c.startsWith("inbound|"))).toEqual([]);
    expect(r.snapshot.routeConfigs["9080"]!.virtualHosts.map((v) => v.name)).not.toContain("allow_any");
  });

  it("TPROXY: both virtual listeners are transparent; custom capture ports", () => {
    const r = translate("", { intercept: { outboundPort: 16001, inboundPort: 16006, mode: "TPROXY", proxyUid: 1337 } });
    const vo = r.snapshot.listeners.find((l) => l.name === "virtualOutbound")!;
    const vi = r.snapshot.listeners.find((l) => l.name === "virtualInbound")!;
    expect([vo.port, vo.transparent, vi.port, vi.transparent]).toEqual([16001, true, 16006, true]);
    expect(vo.filterChains[0]!.filterChainMatch).toEqual({ destinationPort: 16001 });
    expect(vi.filterChains[0]!.filterChainMatch).toEqual({ destinationPort: 16006 });
    expect(vi.listenerFilters[1]).toEqual({ name: "envoy.filters.listener.tls_inspector", disabledForDestinationPorts: [{ start: 16006, end: 16007 }] });
    expect(translate().snapshot.listeners.find((l) => l.name === "virtualInbound")!.transparent).toBeUndefined();
  });

  it("dual stack: `::` is an additional address of the virtual listeners and the 0.0.0.0_<port> listeners (istiod actualWildcards[1:]), not of <VIP>_<port>; the catch-alls take ::/0 too; the inbound clusters get ::6 as an extra source address", () => {
    const r = translate("", { intercept: { ...defaultInterception(), dualStack: true } });
    const by = (name: string): Listener => r.snapshot.listeners.find((l) => l.name === name)!;
    for (const n of ["virtualOutbound", "virtualInbound", "0.0.0.0_9080"]) expect([n, by(n).address, by(n).additionalAddresses]).toEqual([n, "0.0.0.0", [{ address: "::" }]]);
    expect(by("10.96.0.10_53").additionalAddresses).toBeUndefined();
    const vi = by("virtualInbound");
    for (const c of ["virtualInbound-catchall-http", "virtualInbound"]) {
      expect(vi.filterChains.find((x) => x.name === c)!.filterChainMatch?.prefixRanges).toEqual([{ addressPrefix: "0.0.0.0", prefixLen: 0 }, { addressPrefix: "::", prefixLen: 0 }]);
    }
    expect(r.summary).toContain("interception REDIRECT dual-stack: virtualOutbound 0.0.0.0:15001 + [::]:15001, virtualInbound 0.0.0.0:15006 + [::]:15006, proxy uid 1337; outboundTrafficPolicy ALLOW_ANY (default)");
    // The inbound clusters dial an IPv6 app address from ::6 (istiod extra_source_addresses).
    const dualBind = { sourceAddress: "127.0.0.6", extraSourceAddresses: ["::6"] };
    expect([r.snapshot.clusters["InboundPassthroughCluster"]!.upstreamBindConfig, r.snapshot.clusters["inbound|80||"]!.upstreamBindConfig]).toEqual([dualBind, dualBind]);
    // Single stack (the default): no additional address anywhere, IPv4 catch-alls only, 127.0.0.6 alone.
    const v4 = translate();
    expect(v4.snapshot.clusters["InboundPassthroughCluster"]!.upstreamBindConfig).toEqual({ sourceAddress: "127.0.0.6" });
    expect(v4.snapshot.listeners.filter((l) => l.additionalAddresses !== undefined)).toEqual([]);
    expect(v4.snapshot.listeners.find((l) => l.name === "virtualInbound")!.filterChains.find((x) => x.name === "virtualInbound")!.filterChainMatch?.prefixRanges).toEqual([{ addressPrefix: "0.0.0.0", prefixLen: 0 }]);
  });
});

describe("--intercept: clusters", () => {
  it("PassthroughCluster, BlackHoleCluster and InboundPassthroughCluster as istiod builds them", () => {
    const c = translate().snapshot.clusters;
    expect(c["PassthroughCluster"]).toEqual({
      name: "PassthroughCluster",
      type: "ORIGINAL_DST",
      lbPolicy: "CLUSTER_PROVIDED",
      connectTimeoutMs: 10_000,
      loadAssignment: { endpoints: [] },
      circuitBreakers: { maxConnections: 4294967295, maxPendingRequests: 4294967295, maxRequests: 4294967295, maxRetries: 4294967295 },
      // The downstream's protocol, both halves written (empty) as istiod writes them.
      httpProtocolOptions: { commonHttpProtocolOptions: { idleTimeoutMs: 300_000 }, useDownstreamProtocolConfig: { httpProtocolOptions: {}, http2ProtocolOptions: {} } },
    });
    expect(c["InboundPassthroughCluster"]).toEqual({ ...c["PassthroughCluster"], name: "InboundPassthroughCluster", upstreamBindConfig: { sourceAddress: "127.0.0.6" } });
    expect(c["BlackHoleCluster"]).toEqual({ name: "BlackHoleCluster", type: "STATIC", lbPolicy: "ROUND_ROBIN", connectTimeoutMs: 10_000, loadAssignment: { endpoints: [] } });
  });

  it("inbound|<port>||: ORIGINAL_DST from 127.0.0.6 (istiod buildInboundClusters without an endpoint address), STATIC to the defaultEndpoint otherwise", () => {
    const r = translate(doc("Sidecar", "pinned", "default", "  workloadSelector: {labels: {app: web}}\n  ingress:\n  - port: {number: 80, protocol: HTTP, name: http}\n  - port: {number: 8081, protocol: TCP, name: tcp}\n    defaultEndpoint: 127.0.0.1:9081"), { proxyLabels: { app: "web" } });
    expect(r.messages).toEqual([]);
    expect(r.snapshot.clusters["inbound|80||"]).toMatchObject({ type: "ORIGINAL_DST", lbPolicy: "CLUSTER_PROVIDED", loadAssignment: { endpoints: [] }, upstreamBindConfig: { sourceAddress: "127.0.0.6" } });
    const pinned = r.snapshot.clusters["inbound|8081||"]!;
    expect(pinned).toMatchObject({ type: "STATIC", loadAssignment: { endpoints: [{ lbEndpoints: [{ address: "127.0.0.1", port: 9081 }] }] } });
    expect(pinned.upstreamBindConfig).toBeUndefined();
    const vi = ours(r.snapshot.listeners, "virtualInbound");
    expect(vi.filter_chains.slice(3).map((c: J) => [c.name, c.filter_chain_match, target(c)])).toEqual([
      ["0.0.0.0_80", { destination_port: 80, transport_protocol: "raw_buffer" }, "inbound|80||"],
      ["0.0.0.0_8081", { destination_port: 8081 }, "inbound|8081||"],
    ]);
    expect(r.snapshot.routeConfigs["InboundPassthroughCluster"]!.virtualHosts[0]).toMatchObject({ name: "inbound|http|0", domains: ["*"], routes: [{ route: { cluster: "InboundPassthroughCluster", timeoutMs: 0 } }] });
  });

  it("without Sidecar ingress, the inbound ports are those of the ServiceEntries in the proxy's namespace that select it (targetPort, the SE protocol, no name inference)", () => {
    const selecting = se("web", "shop", "  hosts: [web.shop.svc.cluster.local]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  workloadSelector: {labels: {app: web}}\n  ports:\n  - {number: 80, name: http, protocol: HTTP, targetPort: 8080}\n  - {number: 9000, name: http-admin}\n  - {number: 5432, name: pg, protocol: TCP}\n  - {number: 53, name: dns, protocol: UDP}");
    const other = se("other", "shop", "  hosts: [other.shop.svc.cluster.local]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  workloadSelector: {labels: {app: other}}\n  ports: [{number: 7000, name: tcp, protocol: TCP}]");
    const elsewhere = se("web2", "prod", "  hosts: [web.prod.svc.cluster.local]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  workloadSelector: {labels: {app: web}}\n  ports: [{number: 7001, name: tcp, protocol: TCP}]");
    const r = run(selecting + other + elsewhere, { intercept: defaultInterception(), proxyLabels: { app: "web" } });
    const vi = r.snapshot.listeners.find((l) => l.name === "virtualInbound")!;
    expect(vi.filterChains.slice(3).map((c) => [c.name, c.filterChainMatch])).toEqual([
      ["0.0.0.0_5432", { destinationPort: 5432 }],
      ["0.0.0.0_8080", { destinationPort: 8080, transportProtocol: "raw_buffer" }],
      ["0.0.0.0_9000", { destinationPort: 9000, transportProtocol: "raw_buffer", applicationProtocols: ["http/1.1", "h2c"] }],
      ["0.0.0.0_9000", { destinationPort: 9000, transportProtocol: "raw_buffer" }],
    ]);
    expect(vi.listenerFilters[2]!.disabledForDestinationPorts).toEqual([{ start: 5432, end: 5433 }, { start: 8080, end: 8081 }, { start: 15006, end: 15007 }]);
    expect(Object.keys(r.snapshot.clusters).filter((c) => c.startsWith("inbound|"))).toEqual(["inbound|5432||", "inbound|8080||", "inbound|9000||"]);
    expect(r.warningMessages).toEqual([expect.stringContaining("port 53 (UDP) is not routed")]);
  });
});
