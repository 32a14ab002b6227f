import { istioHttpFilters } from "../../helpers/model.js";
// Config sources: both sources yield identical snapshots for the same intent; the snapshot store
// applies state-of-the-world and delta updates per type with versions, refuses a bad update with
// every error while the last good snapshot keeps serving, and gives EDS clusters their endpoints.

import { describe, expect, it } from "vitest";
import { createLogger } from "../../../src/common/logger.js";
import type { Cluster, Listener, Route, RouteConfiguration } from "../../../src/config/model/types.js";
import type { ConfigUpdate } from "../../../src/config/source/config-source.js";
import { IstioFileSource } from "../../../src/config/source/istio-file-source.js";
import { SnapshotStore } from "../../../src/config/source/snapshot-store.js";
import { memorySource, snapshotUpdates, storeSink } from "../../helpers/memory-source.js";
import { tempDir, writeConfig } from "../../helpers/cli-process.js";
import { httpListener } from "../../../src/config/model/listener-defaults.js";

const INTENT = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ratings, namespace: shop}
spec:
  hosts: [ratings.example.com]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 8080, name: http, protocol: HTTP}]
  endpoints: [{address: 10.0.0.7, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ratings, namespace: shop}
spec:
  host: ratings.example.com
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    connectionPool: {http: {maxRequestsPerConnection: 10}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: shop}
spec:
  hosts: [ratings.example.com]
  http:
  - timeout: 3s
    route: [{destination: {host: ratings.example.com}}]
`;

const UNLIMITED = 4294967295;
const CLUSTER = "outbound|8080||ratings.example.com";

/** The same intent written by hand as Envoy resources, as an xDS control plane would send them. */
function handBuilt(): { listeners: Listener[]; routeConfigs: Record<string, RouteConfiguration>; clusters: Record<string, Cluster> } {
  const route: Route = {
    name: "ratings.http0",
    match: { prefix: "/", caseSensitive: true, headers: [], queryParameters: [] },
    requestHeadersToAdd: [],
    requestHeadersToRemove: [],
    responseHeadersToAdd: [],
    responseHeadersToRemove: [],
    source: "shop/ratings http[0]",
    route: {
      timeoutMs: 3000,
      // istiod's sidecar routes: max_grpc_timeout = the route timeout.
      maxGrpcTimeoutMs: 3000,
      cluster: CLUSTER,
      // Istio's default retry policy: 2 retries on connect-failure, refused-stream, …, 25 ms back-off.
      retryPolicy: {
        retryOn: ["connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes"],
        numRetries: 2,
        retriableStatusCodes: [],
        retriableHeaders: [],
        retryHostPredicatePreviousHosts: true,
        hostSelectionRetryMaxAttempts: 5,
        backoffBaseMs: 25,
        backoffMaxMs: 250,
      },
    },
  };
  const vhost = { name: "ratings.example.com:8080", domains: ["ratings.example.com", "ratings.example.com:8080"], routes: [route] };
  return {
    listeners: [
      {
        name: "127.0.0.1_15001",
        address: "127.0.0.1",
        port: 15001,
        trafficDirection: "OUTBOUND",
        listenerFilters: [],
        filterChains: [
          {
            name: "outbound_127.0.0.1_15001",
            filterChainMatch: {},
            filters: [
              {
                name: "envoy.filters.network.http_connection_manager",
                typedConfig: {
                  statPrefix: "outbound_127.0.0.1_15001",
                  routeConfigName: "outbound_http_proxy",
                  httpFilters: istioHttpFilters("OUTBOUND"),
                  upgradeConfigs: [{ upgradeType: "websocket" }],
                },
              },
            ],
          },
        ],
      },
    ],
    routeConfigs: {
      "8080": { name: "8080", virtualHosts: [vhost] },
      outbound_http_proxy: { name: "outbound_http_proxy", virtualHosts: [vhost] },
    },
    clusters: {
      [CLUSTER]: {
        name: CLUSTER,
        type: "STATIC",
        lbPolicy: "ROUND_ROBIN",
        connectTimeoutMs: 10_000,
        loadAssignment: {
          endpoints: [{ locality: {}, priority: 0, loadBalancingWeight: 1, lbEndpoints: [{ address: "10.0.0.7", port: 8080, weight: 1, labels: { version: "v1" }, healthStatus: "HEALTHY" }] }],
        },
        serviceHost: "ratings.example.com",
        subset: "",
        circuitBreakers: { maxConnections: UNLIMITED, maxPendingRequests: UNLIMITED, maxRequests: UNLIMITED, maxRetries: UNLIMITED },
        httpProtocolOptions: { commonHttpProtocolOptions: { maxRequestsPerConnection: 10 } },
      },
    },
  };
}

describe("config sources", () => {
  it("Istio YAML files and the in-memory source yield identical snapshots for the same intent", async () => {
    const dir = await tempDir();
    await writeConfig(dir, "mesh.yaml", INTENT);
    const files = new IstioFileSource([dir], { namespace: "shop", proxyLabels: {}, domainSuffix: "cluster.local", defaultOutbound: { address: "127.0.0.1", port: 15001 } }, createLogger("off"));
    const a = storeSink("v1");
    expect(await files.start(a.sink)).toEqual({ accepted: true, errors: [], version: "v1" });

    const memory = memorySource(handBuilt());
    const b = storeSink("v1");
    expect(await memory.start(b.sink)).toEqual({ accepted: true, errors: [], version: "v1" });

    expect(a.store.snapshot).not.toBeNull();
    // The file path ends in the Envoy decoder: deep-equal to the hand-built model (/config_dump renders through the encoders, so key order never shows).
    expect(a.store.snapshot).toStrictEqual(b.store.snapshot);
  });

  it("a file source with errors pushes them: refused with every error, nothing applied", async () => {
    const dir = await tempDir();
    await writeConfig(dir, "bad.yaml", INTENT.replace("timeout: 3s", "timeout: soon").replace("simple: ROUND_ROBIN", "simple: FASTEST"));
    const files = new IstioFileSource([dir], { namespace: "shop", proxyLabels: {}, domainSuffix: "cluster.local", defaultOutbound: null }, createLogger("off"));
    const { store, sink } = storeSink();
    const r = await files.start(sink);
    expect(r.accepted).toBe(false);
    expect(r.errors.map((e) => `${e.line}: ${e.path}`)).toEqual(["17: spec.trafficPolicy.loadBalancer.simple", "26: spec.http[0].timeout"]);
    expect(store.snapshot).toBeNull();
  });
});

describe("SnapshotStore", () => {
  const listener = (name: string, port: number, rc = "rc"): Listener => httpListener({ name, address: "127.0.0.1", port, direction: "OUTBOUND", routeConfigName: rc });
  const cluster = (name: string, over: Partial<Cluster> = {}): Cluster => ({ name, type: "EDS", lbPolicy: "ROUND_ROBIN", connectTimeoutMs: 1000, loadAssignment: { endpoints: [] }, ...over });
  const eps = (ip: string) => [{ locality: {}, priority: 0, lbEndpoints: [{ address: ip, port: 80, weight: 1, labels: {}, healthStatus: "HEALTHY" as const }] }];
  const update = (updates: ConfigUpdate["updates"], errors: ConfigUpdate["errors"] = []): ConfigUpdate => ({ origin: "xds", updates, errors });

  it("applies per-type state-of-the-world and delta updates, with versions; EDS clusters take their endpoint resources", () => {
    let n = 0;
    const s = new SnapshotStore(() => `s${++n}`);
    let r = s.apply(update([{ type: "cluster", version: "c1", kind: "state-of-the-world", resources: { a: cluster("a"), b: cluster("b") } }]));
    expect(r.accepted).toBe(true);
    expect(Object.keys(r.snapshot!.clusters)).toEqual(["a", "b"]);
    r = s.apply(update([{ type: "endpoint", version: "e1", kind: "state-of-the-world", resources: { a: { clusterName: "a", endpoints: eps("10.0.0.1") } } }]));
    expect(r.snapshot!.clusters["a"]!.loadAssignment.endpoints).toEqual(eps("10.0.0.1"));
    expect(r.snapshot!.clusters["b"]!.loadAssignment.endpoints).toEqual([]);
    r = s.apply(update([{ type: "cluster", version: "c2", kind: "delta", upserted: { c: cluster("c") }, removed: ["b"] }]));
    expect(Object.keys(r.snapshot!.clusters)).toEqual(["a", "c"]);
    expect(r.snapshot!.version).toBe("s3");
    expect([s.versionOf("cluster"), s.versionOf("endpoint"), s.versionOf("listener")]).toEqual(["c2", "e1", undefined]);
    r = s.apply(update([{ type: "cluster", version: "c3", kind: "state-of-the-world", resources: { c: cluster("c") } }]));
    expect(Object.keys(r.snapshot!.clusters)).toEqual(["c"]);
  });

  it("refuses a bad update with every error (NACK): the last good snapshot and versions stay", () => {
    const s = new SnapshotStore(() => "v");
    const good = s.apply(update(snapshotUpdates({ listeners: [listener("l1", 8001)], routeConfigs: { rc: { name: "rc", virtualHosts: [] } }, clusters: { a: cluster("a") } }, "1")));
    expect(good.accepted).toBe(true);
    const before = s.snapshot;
    const bad = s.apply(
      update([
        { type: "listener", version: "2", kind: "delta", upserted: { l2: listener("l2", 8001), l3: listener("other", 8003) }, removed: [] },
        { type: "cluster", version: "2", kind: "delta", upserted: { d: cluster("d", { type: "LOGICAL_DNS", loadAssignment: { endpoints: [...eps("a.example"), ...eps("b.example")] } }) }, removed: [] },
        { type: "endpoint", version: "2", kind: "delta", upserted: { a: { clusterName: "z", endpoints: [] } }, removed: [] },
      ]),
    );
    expect(bad.accepted).toBe(false);
    expect(bad.errors.map((e) => `${e.file}: ${e.path}: ${e.message}`)).toEqual([
      'xds: listener["l3"]: resource is named "other", not "l3"',
      'xds: endpoint["a"]: endpoints are for cluster "z", not "a"',
      'xds: listener["l2"]: address 127.0.0.1:8001 is already used by listener l1',
      'xds: cluster["d"]: LOGICAL_DNS clusters must have at most one endpoint',
    ]);
    expect(s.snapshot).toBe(before);
    expect(s.versionOf("listener")).toBe("1");
    // Decoding errors refuse the update before anything is looked at; warnings alone do not.
    const decode = { file: "xds:cds", line: 0, path: "resources[0]", message: "unknown field", severity: "error" as const };
    expect(s.apply(update([{ type: "cluster", version: "3", kind: "state-of-the-world", resources: {} }], [decode])).errors).toEqual([decode]);
    expect(Object.keys(s.snapshot!.clusters)).toEqual(["a"]);
    expect(s.apply(update([], [{ ...decode, severity: "warning" }])).accepted).toBe(true);
  });
  it("keeps the bootstrap's static resources through other origins' state of the world, and refuses to replace or remove them", () => {
    let t = 0;
    const s = new SnapshotStore(
      () => "v",
      () => new Date(Date.UTC(2026, 0, 1, 0, 0, ++t)),
    );
    const statics: ConfigUpdate = { origin: "bootstrap", static: true, updates: [{ type: "cluster", version: "", kind: "state-of-the-world", resources: { agent: cluster("agent") } }] };
    expect(s.apply(statics).accepted).toBe(true);
    let r = s.apply(update([{ type: "cluster", version: "c1", kind: "state-of-the-world", resources: { a: cluster("a") } }]));
    expect(Object.keys(r.snapshot!.clusters).sort()).toEqual(["a", "agent"]);
    r = s.apply(update([{ type: "cluster", version: "c2", kind: "state-of-the-world", resources: { b: cluster("b") } }]));
    expect(Object.keys(r.snapshot!.clusters).sort()).toEqual(["agent", "b"]);
    const replace = s.apply(update([{ type: "cluster", version: "c3", kind: "state-of-the-world", resources: { agent: cluster("agent", { connectTimeoutMs: 5 }) } }]));
    expect(replace.accepted).toBe(false);
    expect(replace.errors.map((e) => `${e.path}: ${e.message}`)).toEqual(['cluster["agent"]: "agent" is a static resource of the bootstrap and cannot be updated']);
    expect(s.apply(update([{ type: "cluster", version: "c3", kind: "delta", upserted: {}, removed: ["agent"] }])).accepted).toBe(false);
    // Removing a name nobody has is not an error.
    expect(s.apply(update([{ type: "cluster", version: "c3", kind: "delta", upserted: {}, removed: ["nope"] }])).accepted).toBe(true);
    expect(Object.keys(s.snapshot!.clusters).sort()).toEqual(["agent", "b"]);
  });

  it("records each resource's version_info and last_updated, unchanged resources keeping theirs; delta resources their own versions", () => {
    let t = 0;
    const s = new SnapshotStore(
      () => "v",
      () => new Date(Date.UTC(2026, 0, 1, 0, 0, ++t)),
    );
    s.apply({ origin: "bootstrap", static: true, updates: [{ type: "cluster", version: "", kind: "state-of-the-world", resources: { agent: cluster("agent") } }] });
    s.apply(update([{ type: "cluster", version: "c1", kind: "state-of-the-world", resources: { a: cluster("a"), b: cluster("b") } }]));
    s.apply(update([{ type: "cluster", version: "c2", kind: "state-of-the-world", resources: { a: cluster("a"), b: cluster("b", { connectTimeoutMs: 7 }) } }]));
    const meta = s.meta("cluster");
    expect(meta.get("agent")).toEqual({ origin: "bootstrap", version: "", lastUpdated: "2026-01-01T00:00:01.000Z", static: true });
    expect(meta.get("a")).toEqual({ origin: "xds", version: "c1", lastUpdated: "2026-01-01T00:00:02.000Z", static: false });
    expect(meta.get("b")).toEqual({ origin: "xds", version: "c2", lastUpdated: "2026-01-01T00:00:03.000Z", static: false });
    s.apply(update([{ type: "cluster", version: "d1", kind: "delta", upserted: { c: cluster("c") }, removed: ["a"], resourceVersions: { c: "rv-c" } }]));
    expect(meta.get("c")).toMatchObject({ version: "rv-c", lastUpdated: "2026-01-01T00:00:04.000Z" });
    expect(meta.has("a")).toBe(false);
    // A refused update changes no meta.
    s.apply(update([{ type: "cluster", version: "bad", kind: "state-of-the-world", resources: { c: cluster("c", { name: "x" }) } }]));
    expect(meta.get("c")).toMatchObject({ version: "rv-c" });
  });
});
