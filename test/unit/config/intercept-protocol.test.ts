// Protocol selection with --intercept, as istiod: a ServiceEntry port's protocol is its `protocol`
// field (empty = sniffed); HTTP ports share 0.0.0.0_<port>; TCP and TLS ports listen on the
// service address; sniffed ports get the TCP chains plus an HTTP chain picked by http_inspector.

import { describe, expect, it } from "vitest";
import { defaultInterception } from "../../../src/config/istio/interception.js";
import { HTTP_CONNECTION_MANAGER, TCP_PROXY, type FilterChain, type Listener } from "../../../src/config/model/types.js";
import { doc, run, se } from "./helpers.js";

const intercept = { intercept: defaultInterception(), telemetryFilters: false };
const byName = (ls: Listener[], name: string): Listener => {
  const l = ls.find((x) => x.name === name);
  if (!l) throw new Error(`no ${name} among ${ls.map((x) => x.name).join(", ")}`);
  return l;
};
/** A chain as [match, terminal filter, its cluster or route configuration]. */
const summary = (c: FilterChain | undefined) => {
  if (!c) return undefined;
  const f = c.filters[0]!;
  return [c.filterChainMatch, f.name === TCP_PROXY ? "tcp" : "http", f.name === TCP_PROXY ? (f.typedConfig.cluster ?? f.typedConfig.weightedClusters) : f.name === HTTP_CONNECTION_MANAGER ? f.typedConfig.routeConfigName : undefined];
};
const shape = (l: Listener) => ({ filters: l.listenerFilters.map((f) => f.name.replace("envoy.filters.listener.", "")), chains: l.filterChains.map(summary), default: summary(l.defaultFilterChain) });
const HTTP_MATCH = { transportProtocol: "raw_buffer", applicationProtocols: ["http/1.1", "h2c"] };

describe("protocol selection with --intercept", () => {
  it("a ServiceEntry port named http but without protocol is sniffed (no name inference): TCP default chain + HTTP chain on RDS <port>", () => {
    const r = run(se("web", "shop", "  hosts: [web.example.com]\n  resolution: DNS\n  ports: [{number: 8000, name: http}]"), intercept);
    expect(r.messages).toEqual([]);
    expect(shape(byName(r.snapshot.listeners, "0.0.0.0_8000"))).toEqual({
      filters: ["http_inspector"],
      chains: [[HTTP_MATCH, "http", "8000"]],
      default: [{}, "tcp", "outbound|8000||web.example.com"],
    });
    expect(r.snapshot.routeConfigs["8000"]!.virtualHosts.map((v) => v.name)).toEqual(["web.example.com:8000", "allow_any"]);
  });

  it("a sniffed port on a service address: <VIP>_<port>, its own route configuration <host>:<port> with only that service", () => {
    const r = run(
      se("a", "shop", "  hosts: [a.shop.svc.cluster.local]\n  addresses: [10.96.5.1]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: [{number: 7000, name: web}]\n  endpoints: [{address: 10.1.5.1}]") +
        se("b", "shop", "  hosts: [b.shop.svc.cluster.local]\n  addresses: [10.96.5.2]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: [{number: 7000, name: web}]\n  endpoints: [{address: 10.1.5.2}]"),
      intercept,
    );
    expect(shape(byName(r.snapshot.listeners, "10.96.5.1_7000"))).toEqual({ filters: ["http_inspector"], chains: [[HTTP_MATCH, "http", "a.shop.svc.cluster.local:7000"]], default: [{}, "tcp", "outbound|7000||a.shop.svc.cluster.local"] });
    expect(byName(r.snapshot.listeners, "10.96.5.1_7000").bindToPort).toBe(false);
    expect(r.snapshot.routeConfigs["a.shop.svc.cluster.local:7000"]!.virtualHosts.map((v) => v.name)).toEqual(["a.shop.svc.cluster.local:7000", "allow_any"]);
    expect(r.snapshot.routeConfigs["b.shop.svc.cluster.local:7000"]!.virtualHosts.map((v) => v.name)).toEqual(["b.shop.svc.cluster.local:7000", "allow_any"]);
  });

  it("HTTP and TCP services on one port without addresses: one sniffed 0.0.0.0_<port> (HTTP chain + the TCP one as default)", () => {
    const r = run(
      se("api", "shop", "  hosts: [api.example.com]\n  resolution: DNS\n  ports: [{number: 8080, name: http, protocol: HTTP}]") +
        se("raw", "shop", "  hosts: [raw.example.com]\n  resolution: DNS\n  ports: [{number: 8080, name: tcp, protocol: TCP}]"),
      intercept,
    );
    expect(shape(byName(r.snapshot.listeners, "0.0.0.0_8080"))).toEqual({ filters: ["http_inspector"], chains: [[HTTP_MATCH, "http", "8080"]], default: [{}, "tcp", "outbound|8080||raw.example.com"] });
    expect(r.snapshot.listeners.filter((l) => l.port === 8080)).toHaveLength(1);
  });

  it("TLS ports: SNI chains when the listener is shared (no address), a plain chain on a service address; tls_inspector only where SNI is matched", () => {
    const r = run(
      se("ext", "shop", "  hosts: [api.example.com, '*.cdn.example.com']\n  resolution: NONE\n  ports: [{number: 443, name: https, protocol: HTTPS}]") +
        se("vip", "shop", "  hosts: [vip.example.com]\n  addresses: [240.0.0.9]\n  resolution: DNS\n  ports: [{number: 443, name: tls, protocol: TLS}]"),
      intercept,
    );
    expect(r.messages).toEqual([]);
    expect(shape(byName(r.snapshot.listeners, "0.0.0.0_443"))).toEqual({
      filters: ["tls_inspector"],
      chains: [
        [{ serverNames: ["*.cdn.example.com"] }, "tcp", "outbound|443||*.cdn.example.com"],
        [{ serverNames: ["api.example.com"] }, "tcp", "outbound|443||api.example.com"],
      ],
      default: [{}, "tcp", "PassthroughCluster"],
    });
    expect(shape(byName(r.snapshot.listeners, "240.0.0.9_443"))).toEqual({ filters: [], chains: [[{}, "tcp", "outbound|443||vip.example.com"]], default: undefined });
  });

  it("CIDR addresses: 0.0.0.0_<port> with a destination-prefix match; a /32 is a dedicated listener; UDP gets none (warned)", () => {
    const r = run(
      se("net", "shop", "  hosts: [db.corp.internal]\n  addresses: [10.20.0.0/16]\n  resolution: NONE\n  ports: [{number: 5432, name: pg, protocol: TCP}]") +
        se("one", "shop", "  hosts: [one.corp.internal]\n  addresses: [10.30.0.1/32]\n  resolution: NONE\n  ports: [{number: 5432, name: pg, protocol: TCP}, {number: 53, name: dns, protocol: UDP}]"),
      intercept,
    );
    expect(r.warningMessages).toEqual(["mesh/config.yaml:21: warning: spec.ports[1]: port 53 (UDP) is not routed: UDP is not supported"]);
    expect(shape(byName(r.snapshot.listeners, "0.0.0.0_5432"))).toEqual({
      filters: [],
      chains: [[{ prefixRanges: [{ addressPrefix: "10.20.0.0", prefixLen: 16 }] }, "tcp", "outbound|5432||db.corp.internal"]],
      default: [{}, "tcp", "PassthroughCluster"],
    });
    expect(shape(byName(r.snapshot.listeners, "10.30.0.1_5432")).chains).toEqual([[{}, "tcp", "outbound|5432||one.corp.internal"]]);
    expect(r.snapshot.listeners.some((l) => l.port === 53)).toBe(false);
  });

  it("inbound: a Sidecar ingress port without a known protocol is sniffed (HTTP chain + TCP chain); http_inspector stays on for it", () => {
    const r = run(doc("Sidecar", "default", "shop", "  ingress:\n  - port: {number: 9000, name: app}\n  - port: {number: 9001, protocol: TCP, name: raw}\n  - port: {number: 9002, protocol: UDP, name: udp}"), intercept);
    const vi = byName(r.snapshot.listeners, "virtualInbound");
    expect(vi.filterChains.slice(3).map((c) => [c.name, ...summary(c)!])).toEqual([
      ["0.0.0.0_9000", { destinationPort: 9000, ...HTTP_MATCH }, "http", "inbound|9000||"],
      ["0.0.0.0_9000", { destinationPort: 9000, transportProtocol: "raw_buffer" }, "tcp", "inbound|9000||"],
      ["0.0.0.0_9001", { destinationPort: 9001 }, "tcp", "inbound|9001||"],
    ]);
    expect(vi.listenerFilters[2]!.disabledForDestinationPorts).toEqual([{ start: 9001, end: 9002 }, { start: 15006, end: 15007 }]);
    expect(r.warningMessages).toEqual(["mesh/config.yaml:10: warning: spec.ingress[2].port: ingress port 9002 is skipped: UDP is not supported"]);
  });
});
