// The upstream protocol of translated clusters, rule by rule as istiod's cluster builder
// (setUpstreamProtocol, shouldH2Upgrade, applyConnectionPool): port protocol, DestinationRule
// h2UpgradePolicy / useClientProtocol / maxConcurrentStreams, MeshConfig h2UpgradePolicy, inbound
// clusters; plus what every translated connection manager and route carries for HTTP/2, gRPC and
// WebSocket, compared with a real istiod dump where the corpus has one.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { listenerJson } from "../../../src/admin/config-dump/listener-json.js";
import { routeConfigJson } from "../../../src/admin/config-dump/route-config-json.js";
import { defaultInterception } from "../../../src/config/istio/interception.js";
import { upstreamProtocolText } from "../../../src/config/istio/upstream-protocol.js";
import type { MeshConfigDocument } from "../../../src/config/load/load-mesh-config.js";
import type { Cluster, HttpConnectionManager, Listener } from "../../../src/config/model/types.js";
import { sharedPath } from "../../helpers/shared-dir.js";
import { doc, run, se } from "./helpers.js";

const H2 = { explicitHttpConfig: { http2ProtocolOptions: {} } };
const DOWNSTREAM = { useDownstreamProtocolConfig: { httpProtocolOptions: {}, http2ProtocolOptions: {} } };

/** api.shop: one port per protocol form. */
const api = se(
  "api",
  "shop",
  `  hosts: [api.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 7070, name: grpc, protocol: GRPC}
  - {number: 7071, name: h2, protocol: HTTP2}
  - {number: 7072, name: web, protocol: GRPC-WEB}
  - {number: 8080, name: http, protocol: HTTP}
  - {number: 8081, name: grpc-unnamed}
  - {number: 3306, name: db, protocol: TCP}
  endpoints: [{address: 10.0.0.9}]`,
);
const cluster = (clusters: Record<string, Cluster>, port: number): Cluster => {
  const c = clusters[`outbound|${port}||api.shop.svc.cluster.local`];
  if (c === undefined) throw new Error(`no cluster for ${port}: ${Object.keys(clusters).join(", ")}`);
  return c;
};
const protocols = (r: ReturnType<typeof run>): Record<number, unknown> => Object.fromEntries([7070, 7071, 7072, 8080, 8081, 3306].map((p) => [p, cluster(r.snapshot.clusters, p).httpProtocolOptions]));
const dr = (http: string): string => doc("DestinationRule", "api", "shop", `  host: api.shop.svc.cluster.local\n  trafficPolicy:\n    connectionPool:\n      http: ${http}`);
const mesh = (value: unknown): MeshConfigDocument => ({ file: "mesh.yaml", value, origin: "mesh.yaml", lineOf: () => 1 });

describe("outbound clusters: the port's protocol", () => {
  it("HTTP2, GRPC, GRPC-WEB → explicit HTTP/2; HTTP and TCP → HTTP/1.1 (no options); no protocol → the downstream's, as istiod writes it", () => {
    const r = run(api);
    expect(r.messages).toEqual([]);
    expect(protocols(r)).toEqual({ 7070: H2, 7071: H2, 7072: H2, 8080: undefined, 8081: DOWNSTREAM, 3306: undefined });
  });

  it("a ServiceEntry port's name infers nothing: `grpc-unnamed` without protocol is detected", () => {
    expect(cluster(run(api).snapshot.clusters, 8081).httpProtocolOptions).toEqual(DOWNSTREAM);
  });

  it("subsets follow the same rules", () => {
    const r = run(api + doc("DestinationRule", "api", "shop", "  host: api.shop.svc.cluster.local\n  subsets: [{name: v1, labels: {}}]"));
    expect(r.snapshot.clusters["outbound|7070|v1|api.shop.svc.cluster.local"]!.httpProtocolOptions).toEqual(H2);
    expect(r.snapshot.clusters["outbound|8081|v1|api.shop.svc.cluster.local"]!.httpProtocolOptions).toEqual(DOWNSTREAM);
  });
});

describe("Istio's sample: the local ext-authz ServiceEntries (samples/extauthz/local-ext-authz.yaml)", () => {
  it("the GRPC port's cluster speaks HTTP/2 and the HTTP one HTTP/1.1, as istiod's cluster builder writes them", () => {
    const text = readFileSync(sharedPath("istio-samples", "istio", "samples", "extauthz", "local-ext-authz.yaml"), "utf8");
    const r = run(text, { namespace: "default" });
    expect(r.messages).toEqual([]);
    expect(r.snapshot.clusters["outbound|9000||ext-authz-grpc.local"]!.httpProtocolOptions).toEqual(H2);
    expect(r.snapshot.clusters["outbound|8000||ext-authz-http.local"]!.httpProtocolOptions).toBeUndefined();
    expect(r.summary).toContain("cluster outbound|9000||ext-authz-grpc.local upstream protocol: HTTP/2 (port protocol GRPC)");
  });
});

describe("outbound clusters: DestinationRule and MeshConfig", () => {
  it("h2UpgradePolicy UPGRADE upgrades every port the port left unset (TCP too, as istiod), never a detected one", () => {
    const r = run(api + dr("{h2UpgradePolicy: UPGRADE}"));
    expect(r.messages).toEqual([]);
    expect(protocols(r)).toEqual({ 7070: H2, 7071: H2, 7072: H2, 8080: H2, 8081: DOWNSTREAM, 3306: H2 });
  });

  it("DO_NOT_UPGRADE never downgrades an HTTP/2 port", () => {
    expect(protocols(run(api + dr("{h2UpgradePolicy: DO_NOT_UPGRADE}")))).toEqual({ 7070: H2, 7071: H2, 7072: H2, 8080: undefined, 8081: DOWNSTREAM, 3306: undefined });
  });

  it("MeshConfig h2UpgradePolicy UPGRADE: declared HTTP ports only; a DestinationRule's DO_NOT_UPGRADE wins, its DEFAULT defers to the mesh", () => {
    const up = { meshConfig: mesh({ h2UpgradePolicy: "UPGRADE" }) };
    const r = run(api, up);
    expect(r.messages).toEqual([]);
    expect(protocols(r)).toEqual({ 7070: H2, 7071: H2, 7072: H2, 8080: H2, 8081: DOWNSTREAM, 3306: undefined });
    expect(cluster(run(api + dr("{h2UpgradePolicy: DO_NOT_UPGRADE}"), up).snapshot.clusters, 8080).httpProtocolOptions).toBeUndefined();
    expect(cluster(run(api + dr("{h2UpgradePolicy: DEFAULT}"), up).snapshot.clusters, 8080).httpProtocolOptions).toEqual(H2);
    // The enum's number works too (protobuf JSON); DO_NOT_UPGRADE is the default.
    expect(cluster(run(api, { meshConfig: mesh({ h2UpgradePolicy: 1 }) }).snapshot.clusters, 8080).httpProtocolOptions).toEqual(H2);
    expect(cluster(run(api, { meshConfig: mesh({ h2UpgradePolicy: "DO_NOT_UPGRADE" }) }).snapshot.clusters, 8080).httpProtocolOptions).toBeUndefined();
  });

  it("a bad MeshConfig h2UpgradePolicy is refused, naming the field", () => {
    expect(run(api, { meshConfig: mesh({ h2UpgradePolicy: "SOMETIMES" }) }).messages).toEqual(['mesh.yaml:1: h2UpgradePolicy: unsupported value "SOMETIMES", must be DO_NOT_UPGRADE or UPGRADE']);
  });

  it("useClientProtocol → the downstream's protocol, even on an HTTP/2 port; with UPGRADE it is refused", () => {
    expect(protocols(run(api + dr("{useClientProtocol: true}")))).toEqual({ 7070: DOWNSTREAM, 7071: DOWNSTREAM, 7072: DOWNSTREAM, 8080: DOWNSTREAM, 8081: DOWNSTREAM, 3306: DOWNSTREAM });
    expect(run(api + dr("{useClientProtocol: true, h2UpgradePolicy: UPGRADE}")).messages).toEqual(["mesh/config.yaml:28: spec.trafficPolicy.connectionPool.http: use client protocol must not be true when H2UpgradePolicy is UPGRADE"]);
  });

  it("maxConcurrentStreams goes on explicit HTTP/2 clusters only (the common options written, empty, as istiod does)", () => {
    const r = run(api + dr("{maxConcurrentStreams: 10}"));
    expect(cluster(r.snapshot.clusters, 7070).httpProtocolOptions).toEqual({ commonHttpProtocolOptions: {}, explicitHttpConfig: { http2ProtocolOptions: { maxConcurrentStreams: 10 } } });
    expect(cluster(r.snapshot.clusters, 8080).httpProtocolOptions).toEqual({ commonHttpProtocolOptions: {} });
    expect(cluster(r.snapshot.clusters, 8081).httpProtocolOptions).toEqual({ commonHttpProtocolOptions: {}, ...DOWNSTREAM });
    const up = run(api + dr("{maxConcurrentStreams: 10, h2UpgradePolicy: UPGRADE, maxRequestsPerConnection: 5}"));
    expect(cluster(up.snapshot.clusters, 8080).httpProtocolOptions).toEqual({ commonHttpProtocolOptions: { maxRequestsPerConnection: 5 }, explicitHttpConfig: { http2ProtocolOptions: { maxConcurrentStreams: 10 } } });
    expect(run(api + dr("{maxConcurrentStreams: -1}")).messages).toEqual(["mesh/config.yaml:28: spec.trafficPolicy.connectionPool.http.maxConcurrentStreams: max concurrent streams must be non-negative"]);
  });

  it("passthrough clusters speak the downstream's protocol", () => {
    const r = run(api, { intercept: { ...defaultInterception(), protocolDetectionTimeoutMs: 0 } });
    for (const n of ["PassthroughCluster", "InboundPassthroughCluster"]) expect(r.snapshot.clusters[n]!.httpProtocolOptions).toEqual({ commonHttpProtocolOptions: { idleTimeoutMs: 300_000 }, ...DOWNSTREAM });
  });

  it("validate's words for each: HTTP/2, downstream's protocol, HTTP/1.1", () => {
    const c = run(api).snapshot.clusters;
    expect([7070, 8081, 8080].map((p) => upstreamProtocolText(cluster(c, p).httpProtocolOptions))).toEqual(["HTTP/2", "downstream's protocol", "HTTP/1.1"]);
  });
});

describe("inbound clusters: the app is reached in the protocol its port declares (no h2 upgrade inbound)", () => {
  const sidecar = doc(
    "Sidecar",
    "default",
    "shop",
    `  ingress:
  - port: {number: 9000, protocol: GRPC, name: grpc}
    defaultEndpoint: 127.0.0.1:19000
  - port: {number: 9001, protocol: HTTP, name: http}
    defaultEndpoint: 127.0.0.1:19001
  - port: {number: 9002, protocol: HTTP2, name: h2}
    defaultEndpoint: 127.0.0.1:19002`,
  );

  it("Sidecar ingress: GRPC / HTTP2 → HTTP/2, HTTP → HTTP/1.1, even with the mesh upgrading outbound", () => {
    const r = run(sidecar, { meshConfig: mesh({ h2UpgradePolicy: "UPGRADE" }) });
    expect(r.messages).toEqual([]);
    expect(r.snapshot.clusters["inbound|9000||"]!.httpProtocolOptions).toEqual(H2);
    expect(r.snapshot.clusters["inbound|9001||"]!.httpProtocolOptions).toBeUndefined();
    expect(r.snapshot.clusters["inbound|9002||"]!.httpProtocolOptions).toEqual(H2);
  });

  it("inbound routes: max_stream_duration 0s / grpc_timeout_header_max 0s; no retry policy on a gRPC port", () => {
    const rc = run(sidecar).snapshot.routeConfigs;
    expect(rc["inbound|9000||"]!.virtualHosts[0]!.routes[0]!.route).toEqual({ cluster: "inbound|9000||", timeoutMs: 0, maxStreamDuration: { maxStreamDurationMs: 0, grpcTimeoutHeaderMaxMs: 0 } });
    expect(rc["inbound|9001||"]!.virtualHosts[0]!.routes[0]!.route).toMatchObject({ cluster: "inbound|9001||", timeoutMs: 0, retryPolicy: { retryOn: ["reset-before-request"] }, maxStreamDuration: { maxStreamDurationMs: 0, grpcTimeoutHeaderMaxMs: 0 } });
  });

  it("with --intercept, a workload port selected by a ServiceEntry: GRPC → HTTP/2, no protocol → the downstream's", () => {
    const wl = se(
      "me",
      "shop",
      `  hosts: [me.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  workloadSelector: {labels: {app: web}}
  ports:
  - {number: 7070, name: grpc, protocol: GRPC}
  - {number: 8081, name: http-sniffed}`,
    );
    const r = run(wl, { intercept: { ...defaultInterception(), protocolDetectionTimeoutMs: 0 } });
    expect(r.snapshot.clusters["inbound|7070||"]!.httpProtocolOptions).toEqual(H2);
    expect(r.snapshot.clusters["inbound|8081||"]!.httpProtocolOptions).toEqual(DOWNSTREAM);
  });
});

describe("connection managers and routes, compared with istiod's real output", () => {
  const realDump = (): string => readFileSync(sharedPath("envoy-config-dumps", "istio-istioctl-authz-testdata-listeners.configdump.json"), "utf8");
  const hcms = (ls: Listener[]): HttpConnectionManager[] =>
    ls.flatMap((l) => [...l.filterChains, ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])]).flatMap((c) => c.filters.flatMap((f) => (f.name === "envoy.filters.network.http_connection_manager" ? [f.typedConfig as HttpConnectionManager] : [])));

  it("every connection manager (inbound, outbound, virtualInbound's catch-all) enables WebSocket, as the real dump's 17 HTTP connection managers do", () => {
    const dumpUpgrades = [...realDump().matchAll(/"upgrade_configs": \[\s*\{\s*"upgrade_type": "(\w+)"\s*\}\s*\]/g)].map((m) => m[1]);
    expect(dumpUpgrades.filter((t) => t === "websocket").length).toBe(17);
    const r = run(api + doc("Sidecar", "default", "shop", "  ingress:\n  - port: {number: 9001, protocol: HTTP, name: http}\n    defaultEndpoint: 127.0.0.1:19001"), { intercept: { ...defaultInterception(), protocolDetectionTimeoutMs: 0 } });
    const all = hcms(r.snapshot.listeners);
    expect(all.length).toBeGreaterThan(5);
    for (const h of all) {
      expect(h.upgradeConfigs).toEqual([{ upgradeType: "websocket" }]);
      expect(h.codecType).toBeUndefined();
    }
    const json = JSON.stringify(r.snapshot.listeners.map(listenerJson));
    expect(json.match(/"upgrade_configs":\[\{"upgrade_type":"websocket"\}\]/g)!.length).toBe(all.length);
    expect(json).not.toContain("codec_type");
  });

  it("the inbound route's action as the real dump's inbound|80|| (timeout 0s, max_stream_duration 0s / 0s)", () => {
    const dump = JSON.parse(realDump()) as unknown;
    let real: unknown;
    const walk = (x: unknown): void => {
      if (Array.isArray(x)) return x.forEach(walk);
      if (typeof x !== "object" || x === null) return;
      const o = x as Record<string, unknown>;
      const rc = o["route_config"] as { name?: string; virtual_hosts?: Array<{ routes: Array<{ route: unknown }> }> } | undefined;
      if (rc?.name === "inbound|80||") real = rc.virtual_hosts![0]!.routes[0]!.route;
      Object.values(o).forEach(walk);
    };
    walk(dump);
    expect(real).toEqual({ cluster: "inbound|80||", timeout: "0s", max_stream_duration: { max_stream_duration: "0s", grpc_timeout_header_max: "0s" } });
    const ours = run(doc("Sidecar", "default", "shop", "  ingress:\n  - port: {number: 80, protocol: GRPC, name: grpc}\n    defaultEndpoint: 127.0.0.1:8000")).snapshot.routeConfigs["inbound|80||"]!;
    // A gRPC port gets no inbound retry policy: the same action as the 2023 dump, field for field.
    expect((routeConfigJson(ours) as { virtual_hosts: Array<{ routes: Array<{ route: unknown }> }> }).virtual_hosts[0]!.routes[0]!.route).toEqual(real);
  });

  it("outbound routes: max_grpc_timeout = the VirtualService timeout (0s without one), as istiod's setTimeout", () => {
    const vs = doc("VirtualService", "api", "shop", "  hosts: [api.shop.svc.cluster.local]\n  http:\n  - timeout: 2s\n    route: [{destination: {host: api.shop.svc.cluster.local, port: {number: 7070}}}]");
    const r = run(api + vs);
    const action = r.snapshot.routeConfigs["7070"]!.virtualHosts[0]!.routes[0]!.route!;
    expect(action).toMatchObject({ timeoutMs: 2000, maxGrpcTimeoutMs: 2000 });
    expect(action.maxStreamDuration).toBeUndefined();
    expect(routeConfigJson(r.snapshot.routeConfigs["7070"]!)).toMatchObject({ virtual_hosts: [{ routes: [{ route: { timeout: "2s", max_grpc_timeout: "2s" } }] }] });
    expect(run(api).snapshot.routeConfigs["8080"]!.virtualHosts[0]!.routes[0]!.route).toMatchObject({ timeoutMs: 0, maxGrpcTimeoutMs: 0 });
  });
});

describe("MeshConfig defaultConfig.connectionSettings: the HTTP/2 SETTINGS every connection manager advertises", () => {
  const settings = (cs: unknown) => ({ meshConfig: mesh({ defaultConfig: { connectionSettings: cs } }) });
  const withIngress = api + doc("Sidecar", "default", "shop", "  ingress:\n  - port: {number: 9001, protocol: HTTP, name: http}\n    defaultEndpoint: 127.0.0.1:19001");
  const hcmsOf = (r: ReturnType<typeof run>): HttpConnectionManager[] =>
    r.snapshot.listeners.flatMap((l) => l.filterChains).flatMap((c) => c.filters.flatMap((f) => (f.name === "envoy.filters.network.http_connection_manager" ? [f.typedConfig as HttpConnectionManager] : [])));

  it("httpMaxConcurrentStreams, http2InitialStreamWindowSize, http2InitialConnectionWindowSize → http2_protocol_options on every HTTP connection manager (inbound and outbound)", () => {
    const r = run(withIngress, { ...settings({ httpMaxConcurrentStreams: 100, http2InitialStreamWindowSize: 65536, http2InitialConnectionWindowSize: 1048576 }), defaultOutbound: { address: "127.0.0.1", port: 15001 } });
    expect(r.messages).toEqual([]);
    const all = hcmsOf(r);
    expect(all.length).toBe(2);
    for (const h of all) expect(h.http2ProtocolOptions).toEqual({ maxConcurrentStreams: 100, initialStreamWindowSize: 65536, initialConnectionWindowSize: 1048576 });
    expect(JSON.stringify(listenerJson(r.snapshot.listeners[0]!))).toContain('"http2_protocol_options":{"max_concurrent_streams":100,"initial_stream_window_size":65536,"initial_connection_window_size":1048576}');
    // Without connectionSettings: none written (Envoy's defaults).
    for (const h of hcmsOf(run(withIngress))) expect(h.http2ProtocolOptions).toBeUndefined();
  });

  it("a value Envoy would refuse is an error naming the field; a negative one is skipped as istiod does; the other settings are warned", () => {
    expect(run(api, settings({ httpMaxConcurrentStreams: 0 })).messages).toEqual(["mesh.yaml:1: defaultConfig.connectionSettings.httpMaxConcurrentStreams: must be at least 1 (Envoy refuses 0)"]);
    expect(run(api, settings({ http2InitialStreamWindowSize: 1000 })).messages).toEqual(["mesh.yaml:1: defaultConfig.connectionSettings.http2InitialStreamWindowSize: must be at least 65535 (Envoy refuses 1000)"]);
    expect(run(api, settings({ http2InitialConnectionWindowSize: "big" })).messages).toEqual(['mesh.yaml:1: defaultConfig.connectionSettings.http2InitialConnectionWindowSize: must be an integer, got string "big"']);
    const neg = run(withIngress, settings({ httpMaxConcurrentStreams: -1, http2InitialStreamWindowSize: 70000 }));
    expect(neg.messages).toEqual([]);
    for (const h of hcmsOf(neg)) expect(h.http2ProtocolOptions).toEqual({ initialStreamWindowSize: 70000 });
    const other = run(api, settings({ httpIdleTimeout: "1h", profile: "EDGE" }));
    expect(other.messages).toEqual([]);
    expect(other.warningMessages.filter((w) => w.includes("connectionSettings"))).toEqual(["mesh.yaml:1: warning: defaultConfig.connectionSettings.httpIdleTimeout: connectionSettings.httpIdleTimeout is not enforced by outrigger; ignored"]);
  });
});

describe("validate's account of TCP-family clusters", () => {
  it("a TCP port's cluster is not HTTP (and not listed); a DestinationRule UPGRADE on it is listed as unused", () => {
    const plain = run(api);
    expect(plain.upstreamProtocols?.["outbound|3306||api.shop.svc.cluster.local"]).toBe("not HTTP (port protocol TCP: bytes through tcp_proxy)");
    expect(plain.summary.some((l) => l.includes("outbound|3306||"))).toBe(false);
    const up = run(api + dr("{h2UpgradePolicy: UPGRADE}"));
    expect(up.summary).toContain("cluster outbound|3306||api.shop.svc.cluster.local upstream protocol: HTTP/2 (DestinationRule h2UpgradePolicy UPGRADE; unused: port protocol TCP is proxied as bytes)");
  });
});
