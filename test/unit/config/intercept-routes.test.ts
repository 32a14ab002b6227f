// VirtualService tls[] and tcp[] routes on intercepted listeners, every match field: sniHosts,
// destinationSubnets, port, sourceLabels, sourceNamespace, gateways; weights; istiod's validation.

import { describe, expect, it } from "vitest";
import { defaultInterception } from "../../../src/config/istio/interception.js";
import { TCP_PROXY, type FilterChain, type Listener } from "../../../src/config/model/types.js";
import { doc, run, se } from "./helpers.js";

const intercept = { intercept: defaultInterception(), telemetryFilters: false, proxyLabels: { app: "web", version: "v1" } };
const byName = (ls: Listener[], name: string): Listener => {
  const l = ls.find((x) => x.name === name);
  if (!l) throw new Error(`no ${name} among ${ls.map((x) => x.name).join(", ")}`);
  return l;
};
const route = (c: FilterChain | undefined) => {
  const f = c?.filters[0];
  if (f?.name !== TCP_PROXY) return undefined;
  return [c!.filterChainMatch, f.typedConfig.cluster ?? f.typedConfig.weightedClusters, f.typedConfig.statPrefix];
};
const routes = (l: Listener) => ({ chains: l.filterChains.map(route), default: route(l.defaultFilterChain) });

// TLS passthrough to an external host without an address: the listener is shared, chains match SNI.
const tlsSE = se("ext", "shop", "  hosts: [api.example.com, eu.api.example.com]\n  resolution: DNS\n  ports: [{number: 443, name: tls, protocol: TLS}]") + se("eu", "shop", "  hosts: [eu.example.com]\n  resolution: DNS\n  ports: [{number: 443, name: tls, protocol: TLS}]");
const tlsVS = (match: string, dest = "    - destination: {host: eu.example.com}"): string => doc("VirtualService", "tls-vs", "shop", `  hosts: [api.example.com, eu.api.example.com]\n  tls:\n  - match:\n${match}\n    route:\n${dest}`);

describe("tls[] routes (TLS passthrough by SNI)", () => {
  it("SNI hosts become the chain's serverNames (sorted); weighted destinations; the VS name as stat prefix", () => {
    const r = run(
      tlsSE + tlsVS("    - sniHosts: [eu.api.example.com, api.example.com]", "    - destination: {host: eu.example.com}\n      weight: 80\n    - destination: {host: api.example.com}\n      weight: 20"),
      intercept,
    );
    expect(r.messages).toEqual([]);
    expect(routes(byName(r.snapshot.listeners, "0.0.0.0_443")).chains).toEqual([
      [{ serverNames: ["api.example.com", "eu.api.example.com"] }, [{ name: "outbound|443||eu.example.com", weight: 80 }, { name: "outbound|443||api.example.com", weight: 20 }], "tls-vs.shop"],
      // eu.example.com has no tls[] rule: its own SNI chain.
      [{ serverNames: ["eu.example.com"] }, "outbound|443||eu.example.com", "outbound|443||eu.example.com"],
    ]);
    expect(byName(r.snapshot.listeners, "0.0.0.0_443").listenerFilters.map((f) => f.name)).toEqual(["envoy.filters.listener.tls_inspector"]);
  });

  it("destinationSubnets add a prefix match to the SNI chain", () => {
    const r = run(tlsSE + tlsVS("    - sniHosts: [api.example.com]\n      destinationSubnets: [192.168.0.0/16, 10.0.0.1]"), intercept);
    expect(routes(byName(r.snapshot.listeners, "0.0.0.0_443")).chains[0]).toEqual([
      { serverNames: ["api.example.com"], prefixRanges: [{ addressPrefix: "10.0.0.1", prefixLen: 32 }, { addressPrefix: "192.168.0.0", prefixLen: 16 }] },
      "outbound|443||eu.example.com",
      "outbound|443||eu.example.com",
    ]);
  });

  it.each([
    ["port of another listener", "    - sniHosts: [api.example.com]\n      port: 8443"],
    ["sourceLabels this proxy does not have", "    - sniHosts: [api.example.com]\n      sourceLabels: {app: other}"],
    ["sourceNamespace of another namespace", "    - sniHosts: [api.example.com]\n      sourceNamespace: prod"],
    ["gateways without mesh", "    - sniHosts: [api.example.com]\n      gateways: [istio-system/egress]"],
  ])("a match with a %s does not apply: the service's own chain", (_what, match) => {
    const r = run(tlsSE + tlsVS(match), intercept);
    expect(r.messages).toEqual([]);
    // Each host of the ServiceEntry is its own service: api.example.com gets its own SNI chain.
    expect(routes(byName(r.snapshot.listeners, "0.0.0.0_443")).chains[0]).toEqual([{ serverNames: ["api.example.com"] }, "outbound|443||api.example.com", "outbound|443||api.example.com"]);
  });

  it.each([
    ["port 443", "    - sniHosts: [api.example.com]\n      port: 443"],
    ["sourceLabels of this proxy", "    - sniHosts: [api.example.com]\n      sourceLabels: {app: web}"],
    ["this sourceNamespace", "    - sniHosts: [api.example.com]\n      sourceNamespace: shop"],
    ["gateways with mesh", "    - sniHosts: [api.example.com]\n      gateways: [mesh, istio-system/egress]"],
  ])("a match on %s applies", (_what, match) => {
    const r = run(tlsSE + tlsVS(match), intercept);
    expect(r.messages).toEqual([]);
    expect(routes(byName(r.snapshot.listeners, "0.0.0.0_443")).chains[0]).toEqual([{ serverNames: ["api.example.com"] }, "outbound|443||eu.example.com", "outbound|443||eu.example.com"]);
  });

  it("a later match with the same SNI hosts and subnets is not added twice (istiod's runtime-predicate dedupe)", () => {
    const vs = doc("VirtualService", "tls-vs", "shop", "  hosts: [api.example.com]\n  tls:\n  - match: [{sniHosts: [api.example.com]}]\n    route: [{destination: {host: eu.example.com}}]\n  - match: [{sniHosts: [api.example.com]}]\n    route: [{destination: {host: api.example.com}}]");
    const r = run(tlsSE + vs, intercept);
    const chains = routes(byName(r.snapshot.listeners, "0.0.0.0_443")).chains;
    expect(chains.filter((c) => JSON.stringify(c![0]) === JSON.stringify({ serverNames: ["api.example.com"] }))).toEqual([[{ serverNames: ["api.example.com"] }, "outbound|443||eu.example.com", "outbound|443||eu.example.com"]]);
  });

  it("validation: a match is required, with SNI hosts covered by the VirtualService hosts; subnets, ports and labels are checked", () => {
    const r = run(
      doc(
        "VirtualService",
        "bad",
        "shop",
        "  hosts: ['*.example.com']\n  tls:\n  - match:\n    - sniHosts: []\n    - sniHosts: [other.org, 'a.example.com']\n      destinationSubnets: [10.0.0.0/33]\n      port: 70000\n      sourceLabels: {'bad key!': x}\n    route: [{destination: {host: a.example.com}}]\n  - route: [{destination: {host: a.example.com}}]\n  - match: [{sniHosts: [a.example.com]}]",
      ),
    );
    expect(r.messages).toEqual([
      "mesh/config.yaml:10: spec.tls[0].match[0].sniHosts: tls match must have at least one SNI host",
      "mesh/config.yaml:11: spec.tls[0].match[1].sniHosts[0]: the SNI host other.org is not a match on the virtual service hosts",
      expect.stringMatching(/^mesh\/config.yaml:12: spec.tls\[0\].match\[1\].destinationSubnets\[0\]: /),
      expect.stringMatching(/^mesh\/config.yaml:13: spec.tls\[0\].match\[1\].port: /),
      expect.stringMatching(/^mesh\/config.yaml:14: spec.tls\[0\].match\[1\].sourceLabels: /),
      "mesh/config.yaml:16: spec.tls[1].match: TLS route must have at least one match condition",
      "mesh/config.yaml:17: spec.tls[2].route: TLS route is required",
    ]);
  });
});

// A TCP service on a VIP, and a catch-all TCP service on a CIDR.
const tcpSE =
  se("db", "shop", "  hosts: [db.shop.svc.cluster.local]\n  addresses: [10.96.9.9]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: [{number: 5432, name: pg, protocol: TCP}]\n  endpoints: [{address: 10.1.9.1, labels: {version: v1}}, {address: 10.1.9.2, labels: {version: v2}}]") +
  doc("DestinationRule", "db", "shop", "  host: db.shop.svc.cluster.local\n  subsets:\n  - {name: v1, labels: {version: v1}}\n  - {name: v2, labels: {version: v2}}");
const tcpVS = (body: string): string => doc("VirtualService", "db-vs", "shop", `  hosts: [db.shop.svc.cluster.local]\n  tcp:\n${body}`);
const v = (subset: string): string => `outbound|5432|${subset}|db.shop.svc.cluster.local`;

describe("tcp[] routes on intercepted listeners", () => {
  it("destinationSubnets become their own prefix-matched chain, before the default route", () => {
    const r = run(tcpSE + tcpVS("  - match: [{destinationSubnets: [10.96.9.9/32]}, {destinationSubnets: [10.96.0.0/16], port: 5432}]\n    route: [{destination: {host: db.shop.svc.cluster.local, subset: v2}}]"), intercept);
    expect(r.messages).toEqual([]);
    expect(routes(byName(r.snapshot.listeners, "10.96.9.9_5432"))).toEqual({
      chains: [[{ prefixRanges: [{ addressPrefix: "10.96.0.0", prefixLen: 16 }, { addressPrefix: "10.96.9.9", prefixLen: 32 }] }, v("v2"), v("v2")]],
      default: [{}, v(""), v("")],
    });
  });

  it("the first rule whose match applies (port, sourceLabels, sourceNamespace, gateways) routes the whole listener; weights", () => {
    const rules = [
      "  - match: [{port: 6543}]\n    route: [{destination: {host: db.shop.svc.cluster.local, subset: v1}}]",
      "  - match: [{sourceLabels: {app: other}}]\n    route: [{destination: {host: db.shop.svc.cluster.local, subset: v1}}]",
      "  - match: [{sourceNamespace: prod}, {gateways: [istio-system/gw]}]\n    route: [{destination: {host: db.shop.svc.cluster.local, subset: v1}}]",
      "  - match: [{sourceLabels: {version: v1}, port: 5432, sourceNamespace: shop, gateways: [mesh]}]\n    route:\n    - {destination: {host: db.shop.svc.cluster.local, subset: v1}, weight: 90}\n    - {destination: {host: db.shop.svc.cluster.local, subset: v2}, weight: 10}",
      "  - route: [{destination: {host: db.shop.svc.cluster.local, subset: v2}}]",
    ].join("\n");
    const r = run(tcpSE + tcpVS(rules), intercept);
    expect(r.messages).toEqual([]);
    expect(routes(byName(r.snapshot.listeners, "10.96.9.9_5432"))).toEqual({
      chains: [[{}, [{ name: v("v1"), weight: 90 }, { name: v("v2"), weight: 10 }], "db-vs.shop"]],
      default: undefined,
    });
  });

  it("a rule without match routes everything; no rule: the service itself", () => {
    expect(routes(byName(run(tcpSE + tcpVS("  - route: [{destination: {host: db.shop.svc.cluster.local, subset: v2}}]"), intercept).snapshot.listeners, "10.96.9.9_5432")).chains).toEqual([[{}, v("v2"), v("v2")]]);
    expect(routes(byName(run(tcpSE, intercept).snapshot.listeners, "10.96.9.9_5432")).chains).toEqual([[{}, v(""), v("")]]);
  });
});
