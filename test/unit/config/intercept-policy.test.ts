// outboundTrafficPolicy with --intercept: the Sidecar's mode, else the MeshConfig's, else
// ALLOW_ANY. ALLOW_ANY: unknown TCP → PassthroughCluster, unknown HTTP Host → `allow_any`;
// REGISTRY_ONLY: BlackHoleCluster and `block_all` (502), as istiod builds them.

import { describe, expect, it } from "vitest";
import { defaultInterception } from "../../../src/config/istio/interception.js";
import { parseMeshConfigText } from "../../../src/config/load/load-mesh-config.js";
import type { Listener, RouteConfiguration, TcpProxy } from "../../../src/config/model/types.js";
import { doc, reviewsSE, run, se } from "./helpers.js";

const intercept = { intercept: defaultInterception() };
const mysql = se("mysql", "db", "  hosts: [mysql.db.svc.cluster.local]\n  addresses: [10.96.0.7]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: [{number: 3306, name: tcp, protocol: TCP}]\n  endpoints: [{address: 10.4.0.1}]");
const sidecarPolicy = (mode: string): string => doc("Sidecar", "default", "shop", `  outboundTrafficPolicy: {mode: ${mode}}`);

const listener = (ls: Listener[], name: string): Listener => ls.find((l) => l.name === name)!;
const tcpTarget = (l: Listener, chain: string): string | undefined => {
  const c = [...l.filterChains, ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])].find((x) => x.name === chain)!;
  return (c.filters[0]!.typedConfig as TcpProxy).cluster;
};
const lastVhost = (rc: RouteConfiguration | undefined) => rc!.virtualHosts[rc!.virtualHosts.length - 1]!;

function meshConfig(text: string) {
  const { doc: d, errors } = parseMeshConfigText(text, "mesh.yaml");
  expect(errors).toEqual([]);
  return d!;
}

describe("outboundTrafficPolicy with --intercept", () => {
  it("ALLOW_ANY by default: catch-all TCP and PassthroughFilterChain to PassthroughCluster; allow_any last in every outbound route configuration", () => {
    const r = run(reviewsSE + mysql, intercept);
    expect(r.messages).toEqual([]);
    const ls = r.snapshot.listeners;
    expect(tcpTarget(listener(ls, "virtualOutbound"), "virtualOutbound-catchall-tcp")).toBe("PassthroughCluster");
    expect(tcpTarget(listener(ls, "0.0.0.0_9080"), "PassthroughFilterChain")).toBe("PassthroughCluster");
    expect(lastVhost(r.snapshot.routeConfigs["9080"])).toEqual({
      name: "allow_any",
      domains: ["*"],
      routes: [{ name: "allow_any", match: { prefix: "/", caseSensitive: true, headers: [], queryParameters: [] }, route: { cluster: "PassthroughCluster", timeoutMs: 0, maxGrpcTimeoutMs: 0 }, requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] }],
    });
    // Inbound route configurations get no catch-all.
    expect(r.snapshot.routeConfigs["InboundPassthroughCluster"]!.virtualHosts.map((v) => v.name)).toEqual(["inbound|http|0"]);
  });

  it("REGISTRY_ONLY from the Sidecar: BlackHoleCluster for unknown TCP, block_all (direct 502) for unknown HTTP hosts; known services still route", () => {
    const r = run(reviewsSE + mysql + sidecarPolicy("REGISTRY_ONLY"), intercept);
    expect(r.messages).toEqual([]);
    expect(r.warningMessages).toEqual([]);
    const ls = r.snapshot.listeners;
    expect(tcpTarget(listener(ls, "virtualOutbound"), "virtualOutbound-catchall-tcp")).toBe("BlackHoleCluster");
    expect(tcpTarget(listener(ls, "0.0.0.0_9080"), "PassthroughFilterChain")).toBe("BlackHoleCluster");
    const rc = r.snapshot.routeConfigs["9080"]!;
    expect(rc.virtualHosts.map((v) => v.name)).toEqual(["reviews.shop.svc.cluster.local:9080", "block_all"]);
    expect(lastVhost(rc).routes).toEqual([{ name: "block_all", match: { prefix: "/", caseSensitive: true, headers: [], queryParameters: [] }, directResponse: { status: 502 }, requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] }]);
    expect(tcpTarget(listener(ls, "10.96.0.7_3306"), "outbound_10.96.0.7_3306")).toBe("outbound|3306||mysql.db.svc.cluster.local");
    expect(r.summary).toContain("interception REDIRECT: virtualOutbound 0.0.0.0:15001, virtualInbound 0.0.0.0:15006, proxy uid 1337; outboundTrafficPolicy REGISTRY_ONLY (Sidecar shop/default)");
  });

  it("the MeshConfig's mode applies when the Sidecar sets none; the Sidecar's wins over it", () => {
    const mesh = meshConfig("outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n");
    const fromMesh = run(reviewsSE, { ...intercept, meshConfig: mesh });
    expect(fromMesh.summary.at(-1)).toContain("outboundTrafficPolicy REGISTRY_ONLY (MeshConfig)");
    expect(lastVhost(fromMesh.snapshot.routeConfigs["9080"]).name).toBe("block_all");
    const sidecarWins = run(reviewsSE + sidecarPolicy("ALLOW_ANY"), { ...intercept, meshConfig: mesh });
    expect(lastVhost(sidecarWins.snapshot.routeConfigs["9080"]).name).toBe("allow_any");
    // A Sidecar without the field does not override.
    const noField = run(reviewsSE + doc("Sidecar", "default", "shop", "  egress:\n  - hosts: ['*/*']"), { ...intercept, meshConfig: mesh });
    expect(lastVhost(noField.snapshot.routeConfigs["9080"]).name).toBe("block_all");
    // protobuf JSON's enum number (REGISTRY_ONLY = 0) and the snake_case spelling.
    expect(lastVhost(run(reviewsSE, { ...intercept, meshConfig: meshConfig("outbound_traffic_policy: {mode: 0}\n") }).snapshot.routeConfigs["9080"]).name).toBe("block_all");
  });

  it("a bad MeshConfig mode is an error with its path; egressProxy is warned and unknown traffic still passes through", () => {
    const bad = run(reviewsSE, { ...intercept, meshConfig: meshConfig("outboundTrafficPolicy:\n  mode: DENY\n") });
    expect(bad.messages).toEqual(["mesh.yaml:2: outboundTrafficPolicy.mode: unsupported value string \"DENY\", must be ALLOW_ANY or REGISTRY_ONLY"]);
    const r = run(reviewsSE + doc("Sidecar", "default", "shop", "  outboundTrafficPolicy:\n    mode: ALLOW_ANY\n    egressProxy: {host: egress.example.com, port: {number: 443}}"), intercept);
    expect(r.warningMessages).toEqual(["mesh/config.yaml:25: warning: spec.outboundTrafficPolicy.egressProxy: egressProxy is not supported: unknown destinations go to PassthroughCluster (ALLOW_ANY)"]);
    expect(lastVhost(r.snapshot.routeConfigs["9080"]).name).toBe("allow_any");
  });

  it("Sidecar egress hosts restrict the intercepted listeners and their route configurations", () => {
    const r = run(reviewsSE + mysql + se("ratings", "other", "  hosts: [ratings.other.svc.cluster.local]\n  resolution: STATIC\n  ports: [{number: 9080, name: http, protocol: HTTP}]\n  endpoints: [{address: 10.2.0.1}]") + doc("Sidecar", "default", "shop", "  egress:\n  - hosts: ['./*']"), intercept);
    expect(r.messages).toEqual([]);
    expect(r.snapshot.listeners.map((l) => l.name)).toEqual(["0.0.0.0_9080", "virtualOutbound", "virtualInbound"]);
    expect(r.snapshot.routeConfigs["9080"]!.virtualHosts.map((v) => v.name)).toEqual(["reviews.shop.svc.cluster.local:9080", "allow_any"]);
  });
});
