import { istioHttpFilters, istioTcpStats } from "../../helpers/model.js";
import { describe, expect, it } from "vitest";
import { doc, reviewsSE, run, se } from "./helpers.js";
import { hcmOfListener as hcm } from "../../helpers/model.js";

const ratingsProd = se("ratings", "prod", "  hosts: [ratings.prod.svc.cluster.local]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: [{number: 9080, name: http}, {number: 80, name: http-web}]\n  endpoints: [{address: 10.3.0.1}]");
const ext = se("ext", "shop", "  hosts: [api.example.com]\n  resolution: DNS\n  ports: [{number: 443, name: https, protocol: HTTPS}, {number: 8080, name: http}]");

describe("Sidecar listeners", () => {
  it("ingress → INBOUND listener, inbound route config and STATIC cluster to the defaultEndpoint", () => {
    const r = run(
      doc(
        "Sidecar",
        "default",
        "shop",
        `  ingress:
  - port: {number: 8080, protocol: HTTP, name: http}
    defaultEndpoint: 0.0.0.0:18080
  - port: {number: 9090, name: http-admin}
    bind: 127.0.0.1
    defaultEndpoint: 127.0.0.1:19090
  - port: {number: 3306, name: mysql, protocol: MYSQL}
    defaultEndpoint: 127.0.0.1:3307`,
      ),
    );
    expect(r.messages).toEqual([]);
    expect(r.warningMessages).toEqual([]);
    expect(r.snapshot.listeners).toEqual([
      hcmListener("0.0.0.0_8080", "0.0.0.0", 8080, "INBOUND", "inbound_0.0.0.0_8080", "inbound|8080||"),
      hcmListener("127.0.0.1_9090", "127.0.0.1", 9090, "INBOUND", "inbound_127.0.0.1_9090", "inbound|9090||"),
      // A TCP-family ingress port forwards bytes to the app through inbound|3306||.
      {
        name: "0.0.0.0_3306",
        address: "0.0.0.0",
        port: 3306,
        trafficDirection: "INBOUND",
        listenerFilters: [],
        filterChains: [{ name: "inbound_0.0.0.0_3306", filterChainMatch: {}, filters: [{ name: "envoy.filters.network.tcp_proxy", typedConfig: { statPrefix: "inbound|3306||", cluster: "inbound|3306||", idleTimeoutMs: 3_600_000, maxConnectAttempts: 1, istioStats: istioTcpStats("INBOUND") } }] }],
      },
    ]);
    expect(r.snapshot.clusters["inbound|3306||"]!.loadAssignment.endpoints[0]?.lbEndpoints[0]).toMatchObject({ address: "127.0.0.1", port: 3307 });
    expect(r.snapshot.routeConfigs["inbound|8080||"]).toEqual({
      name: "inbound|8080||",
      virtualHosts: [
        {
          name: "inbound|http|8080",
          domains: ["*"],
          routes: [{ name: "default", match: { prefix: "/", caseSensitive: true, headers: [], queryParameters: [] }, route: { cluster: "inbound|8080||", timeoutMs: 0, retryPolicy: expect.objectContaining({ retryOn: ["reset-before-request"], numRetries: 2 }), maxStreamDuration: { maxStreamDurationMs: 0, grpcTimeoutHeaderMaxMs: 0 } }, requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] }],
        },
      ],
    });
    const c = r.snapshot.clusters["inbound|8080||"]!;
    expect(c).toMatchObject({ type: "STATIC", connectTimeoutMs: 10000, circuitBreakers: { maxConnections: 4294967295, maxPendingRequests: 4294967295, maxRequests: 4294967295, maxRetries: 4294967295 } });
    // 0.0.0.0 in defaultEndpoint means the proxy's own address: the app is reached on loopback.
    expect(c.loadAssignment.endpoints[0]?.lbEndpoints[0]).toMatchObject({ address: "127.0.0.1", port: 18080 });
  });

  it("egress with a port → OUTBOUND listener with its own filtered route config; default bind 127.0.0.1", () => {
    const r = run(
      reviewsSE +
        ratingsProd +
        ext +
        doc(
          "Sidecar",
          "default",
          "shop",
          `  egress:
  - port: {number: 9080, name: http, protocol: HTTP}
    hosts: [./*]
  - port: {number: 9081, name: http}
    bind: 10.0.0.5
    hosts: [prod/ratings.prod.svc.cluster.local]
  - hosts: ['*/*']`,
        ),
    );
    expect(r.messages).toEqual([]);
    expect(r.snapshot.listeners.map((l) => [l.name, l.trafficDirection, hcm(l).statPrefix, hcm(l).routeConfigName])).toEqual([
      ["127.0.0.1_9080", "OUTBOUND", "outbound_127.0.0.1_9080", "9080"],
      ["10.0.0.5_9081", "OUTBOUND", "outbound_10.0.0.5_9081", "10.0.0.5_9081"],
    ]);
    expect(r.snapshot.routeConfigs["9080"]!.virtualHosts.map((v) => v.name)).toEqual(["reviews.shop.svc.cluster.local:9080"]);
    // Port 9081 has no service on it; the filter still applies.
    expect(r.snapshot.routeConfigs["10.0.0.5_9081"]!.virtualHosts).toEqual([]);
    // Other ports come from the catch-all egress.
    expect(r.snapshot.routeConfigs["80"]!.virtualHosts.map((v) => v.name)).toEqual(["ratings.prod.svc.cluster.local:80"]);
    expect(r.snapshot.routeConfigs["8080"]!.virtualHosts.map((v) => v.name)).toEqual(["api.example.com:8080"]);
  });

  it("egress host filters: namespace, wildcard names, ~ imports nothing", () => {
    const filtered = (hosts: string) =>
      run(reviewsSE + ratingsProd + doc("Sidecar", "s", "shop", `  egress:\n  - port: {number: 9080, name: http}\n    hosts: ${hosts}`)).snapshot.routeConfigs["9080"]!.virtualHosts.map((v) => v.name);
    expect(filtered("['*/*']")).toEqual(["ratings.prod.svc.cluster.local:9080", "reviews.shop.svc.cluster.local:9080"]);
    expect(filtered("['prod/*']")).toEqual(["ratings.prod.svc.cluster.local:9080"]);
    expect(filtered("['*/*.shop.svc.cluster.local']")).toEqual(["reviews.shop.svc.cluster.local:9080"]);
    expect(filtered("['~/*']")).toEqual([]);
  });

  it("the egress entry without port filters the default outbound listener", () => {
    const r = run(reviewsSE + ratingsProd + doc("Sidecar", "s", "shop", "  egress:\n  - hosts: [prod/*]"), { defaultOutbound: { address: "127.0.0.1", port: 15001 } });
    expect(r.snapshot.routeConfigs["outbound_http_proxy"]!.virtualHosts.map((v) => v.name)).toEqual(["ratings.prod.svc.cluster.local:80", "ratings.prod.svc.cluster.local:9080"]);
  });

  it("two listeners on the same address:port are an error", () => {
    const r = run(doc("Sidecar", "s", "shop", "  ingress:\n  - port: {number: 9080, name: http}\n    bind: 127.0.0.1\n    defaultEndpoint: 127.0.0.1:19080\n  egress:\n  - port: {number: 9080, name: http}\n    hosts: ['./*']"));
    expect(r.messages).toEqual(["mesh/config.yaml:12: spec.egress[0].port: listener 127.0.0.1_9080 is defined twice on the same address and port"]);
    const r2 = run(doc("Sidecar", "s", "shop", "  egress:\n  - port: {number: 15001, name: http}\n    hosts: ['./*']"), { defaultOutbound: { address: "127.0.0.1", port: 15001 } });
    expect(r2.messages).toEqual(["<options>: defaultOutbound: listener 127.0.0.1_15001 conflicts with listener 127.0.0.1_15001 on the same address and port"]);
  });

  it("Sidecar selection: selector match in namespace > namespace default > root namespace", () => {
    const sc = (name: string, ns: string, sel: string, port: number) => doc("Sidecar", name, ns, `${sel}  egress:\n  - port: {number: ${port}, name: http}\n    hosts: ['./*']`);
    const yaml = sc("root", "istio-system", "", 1001) + sc("ns-default", "shop", "", 1002) + sc("web", "shop", "  workloadSelector: {labels: {app: web}}\n", 1003) + sc("api", "shop", "  workloadSelector: {labels: {app: api}}\n", 1004);
    expect(run(yaml).snapshot.listeners.map((l) => l.port)).toEqual([1003]);
    expect(run(yaml, { proxyLabels: { app: "db" } }).snapshot.listeners.map((l) => l.port)).toEqual([1002]);
    expect(run(yaml, { namespace: "other" }).snapshot.listeners.map((l) => l.port)).toEqual([1001]);
    expect(run(yaml).summary).toContain("Sidecar shop/web: 0 ingress, 1 egress (applies to this proxy)");
  });
});

describe("default outbound listener", () => {
  it("no Sidecar: only the default listener; route config with every service on every HTTP port", () => {
    const r = run(reviewsSE + ratingsProd + ext, { defaultOutbound: { address: "127.0.0.1", port: 15001 } });
    expect(r.messages).toEqual([]);
    expect(r.snapshot.listeners).toEqual([
      hcmListener("127.0.0.1_15001", "127.0.0.1", 15001, "OUTBOUND", "outbound_127.0.0.1_15001", "outbound_http_proxy"),
    ]);
    const vhs = r.snapshot.routeConfigs["outbound_http_proxy"]!.virtualHosts;
    expect(vhs.map((v) => [v.name, v.domains])).toEqual([
      // ratings has port 80: portless forms go there.
      ["ratings.prod.svc.cluster.local:80", ["ratings.prod.svc.cluster.local", "ratings.prod.svc.cluster.local:80", "ratings.prod", "ratings.prod:80", "ratings.prod.svc", "ratings.prod.svc:80"]],
      // api.example.com: only one HTTP port (8080; 443 is HTTPS/TCP), so it gets the portless form.
      ["api.example.com:8080", ["api.example.com", "api.example.com:8080"]],
      ["ratings.prod.svc.cluster.local:9080", ["ratings.prod.svc.cluster.local:9080", "ratings.prod:9080", "ratings.prod.svc:9080"]],
      ["reviews.shop.svc.cluster.local:9080", ["reviews.shop.svc.cluster.local", "reviews.shop.svc.cluster.local:9080", "reviews", "reviews:9080", "reviews.shop", "reviews.shop:9080", "reviews.shop.svc", "reviews.shop.svc:9080"]],
    ]);
    // istiod's per-port route configurations are generated too.
    expect(Object.keys(r.snapshot.routeConfigs).sort()).toEqual(["80", "8080", "9080", "outbound_http_proxy"]);
  });

  it("is absent when defaultOutbound is null", () => {
    expect(run(reviewsSE).snapshot.listeners).toEqual([]);
  });
});

/** What istiod-shaped HTTP listeners look like: one chain, the connection manager, fault then router. */
function hcmListener(name: string, address: string, port: number, direction: "INBOUND" | "OUTBOUND", statPrefix: string, routeConfigName: string): unknown {
  return {
    name,
    address,
    port,
    trafficDirection: direction,
    listenerFilters: [],
    filterChains: [
      {
        name: statPrefix,
        filterChainMatch: {},
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            // istiod enables WebSocket on every HTTP connection manager.
            typedConfig: { statPrefix, routeConfigName, httpFilters: istioHttpFilters(direction), upgradeConfigs: [{ upgradeType: "websocket" }] },
          },
        ],
      },
    ],
  };
}
