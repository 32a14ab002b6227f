// What Outrigger takes from pilot-agent's rendered bootstrap (istio/istio pkg/bootstrap/testdata/
// default_golden.json, test/fixtures/istio-dumps/): node verbatim, admin address, static resources
// as one static update, ADS mode and target (Pipe resolved against the working directory), SDS
// target; and the errors of bootstraps Outrigger cannot run, naming the field.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { DecodeContext, Json } from "../../../src/config/envoy/decoded.js";
import { interpretBootstrap, nodeWithFlags, type DecodeFn } from "../../../src/envoy/envoy-bootstrap.js";
import { outriggerBootstrap } from "../../../src/envoy/outrigger-bootstrap.js";

const golden = (): Json => JSON.parse(readFileSync(new URL("../../fixtures/istio-dumps/bootstrap-default-golden.json", import.meta.url), "utf8")) as Json;

/** Stands in for decode-resource.ts: records each call, keys the resource by its name. */
function recordingDecode(calls: Array<{ type: string; name: unknown; ctx: DecodeContext }>, failOn?: string): DecodeFn {
  return ((type: string, json: Json, ctx: DecodeContext) => {
    calls.push({ type, name: json.name, ctx });
    if (json.name === failOn) return { ok: false, errors: ["filter_chains[0]: something is wrong"] };
    return { ok: true, value: { name: json.name }, notes: json.name === "0.0.0.0_15090" ? [{ path: "filter_chains[0].filters[0]", message: "compressor carried, not run" }] : [] };
  }) as DecodeFn;
}

const flags = {};

describe("interpretBootstrap on pilot-agent's bootstrap", () => {
  it("reads node, admin, static resources and the ADS/SDS targets", () => {
    const calls: Array<{ type: string; name: unknown; ctx: DecodeContext }> = [];
    const b = interpretBootstrap(golden(), { flags, cwd: "/pod", decode: recordingDecode(calls) });
    expect(b.node).toEqual(golden().node);
    expect(b.admin).toEqual({ address: "127.0.0.1", port: 15000 });
    expect(b.staticUpdate.static).toBe(true);
    expect(b.staticUpdate.origin).toBe("bootstrap");
    const byType = Object.fromEntries(b.staticUpdate.updates.map((u) => [u.type, Object.keys(u.kind === "state-of-the-world" ? u.resources : {})]));
    expect(byType).toEqual({ cluster: ["prometheus_stats", "agent", "sds-grpc", "xds-grpc"], listener: ["0.0.0.0_15090", "0.0.0.0_15021"] });
    expect(calls.every((c) => c.ctx.origin === "bootstrap" && c.ctx.cwd === "/pod")).toBe(true);
    expect(b.notes).toEqual(["static_resources.listeners[0].filter_chains[0].filters[0]: compressor carried, not run"]);
    expect(b.xds).toEqual({
      ads: { target: "unix:/tmp/XDS", clusterName: "xds-grpc" },
      mode: "delta",
      node: golden().node,
      setNodeOnFirstMessageOnly: true,
      // Relative Pipe paths resolve against the working directory, as Envoy's do.
      sds: { target: "unix:/pod/var/run/secrets/workload-spiffe-uds/test.sock", clusterName: "sds-grpc" },
      initialFetchTimeoutMs: { lds: 0, cds: 0, eds: 15_000, rds: 15_000, sds: 0 },
    });
  });

  it("GRPC is state of the world; a socket_address ADS cluster is host:port; no initial_fetch_timeout is Envoy's 15 s", () => {
    const j = golden();
    const dr = j.dynamic_resources as Json;
    (dr.ads_config as Json).api_type = "GRPC";
    delete (dr.lds_config as Json).initial_fetch_timeout;
    const sr = j.static_resources as { clusters: Json[] };
    sr.clusters = sr.clusters.map((c) => (c.name === "xds-grpc" ? { ...c, load_assignment: { cluster_name: "xds-grpc", endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "::1", port_value: 15010 } } } }] }] } } : c));
    const b = interpretBootstrap(j, { flags, cwd: "/", decode: recordingDecode([]) });
    expect(b.xds?.mode).toBe("sotw");
    expect(b.xds?.ads.target).toBe("[::1]:15010");
    expect(b.xds?.initialFetchTimeoutMs.lds).toBe(15_000);
  });

  it("takes the SDS target from the cluster a static transport socket's sds_config names", () => {
    const j = golden();
    const sr = j.static_resources as { clusters: Json[] };
    sr.clusters.push({
      name: "my-sds",
      type: "STATIC",
      load_assignment: { cluster_name: "my-sds", endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path: "@abstract-sds" } } } }] }] },
    });
    sr.clusters[0]!.transport_socket = {
      name: "envoy.transport_sockets.tls",
      typed_config: { "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext", common_tls_context: { tls_certificate_sds_secret_configs: [{ name: "default", sds_config: { api_config_source: { api_type: "GRPC", grpc_services: [{ envoy_grpc: { cluster_name: "my-sds" } }] } } }] } },
    };
    const b = interpretBootstrap(j, { flags, cwd: "/", decode: recordingDecode([]) });
    // Abstract-namespace paths (@…) are kept as they are.
    expect(b.xds?.sds).toEqual({ target: "unix:@abstract-sds", clusterName: "my-sds" });
  });

  it("runs with no xDS when there are no dynamic_resources", () => {
    const j = golden();
    delete j.dynamic_resources;
    const b = interpretBootstrap(j, { flags, cwd: "/", decode: recordingDecode([]) });
    expect(b.xds).toBeUndefined();
    expect(b.staticUpdate.updates.length).toBe(2);
  });

  it.each<[string, (j: Json) => void, string]>([
    ["api_type REST", (j) => (((j.dynamic_resources as Json).ads_config as Json).api_type = "REST"), "dynamic_resources.ads_config.api_type: REST is not supported for ADS (GRPC or DELTA_GRPC)"],
    ["an ADS cluster that is not static", (j) => ((((j.dynamic_resources as Json).ads_config as Json).grpc_services as Json[])[0] = { envoy_grpc: { cluster_name: "nowhere" } }), 'dynamic_resources.ads_config: envoy_grpc cluster "nowhere" is not a static cluster of the bootstrap'],
    ["google_grpc", (j) => ((((j.dynamic_resources as Json).ads_config as Json).grpc_services as Json[])[0] = { google_grpc: { target_uri: "x" } }), "dynamic_resources.ads_config.grpc_services[0]: only envoy_grpc is supported"],
    ["no gRPC service", (j) => (((j.dynamic_resources as Json).ads_config as Json).grpc_services = []), "dynamic_resources.ads_config.grpc_services: needs exactly one gRPC service, got none"],
    [
      "an ADS cluster without endpoints",
      (j) => {
        const c = (j.static_resources as { clusters: Json[] }).clusters.find((x) => x.name === "xds-grpc")!;
        c.load_assignment = { cluster_name: "xds-grpc", endpoints: [] };
      },
      'dynamic_resources.ads_config: cluster "xds-grpc" has no endpoints',
    ],
    ["lds_config from a file", (j) => ((j.dynamic_resources as Json).lds_config = { path_config_source: { path: "/x" } }), "dynamic_resources.lds_config: only {ads: {}} is supported"],
    ["a bad initial_fetch_timeout", (j) => (((j.dynamic_resources as Json).cds_config as Json).initial_fetch_timeout = "soon"), 'dynamic_resources.cds_config.initial_fetch_timeout: expected a duration such as "0s" or "1.5s", got "soon"'],
    ["an admin pipe", (j) => ((j.admin as Json).address = { pipe: { path: "/admin" } }), "admin.address: only socket_address is supported here"],
    ["a nameless cluster", (j) => ((j.static_resources as { clusters: Json[] }).clusters[0]!.name = ""), "static_resources.clusters[0].name: required"],
    ["a duplicate cluster", (j) => ((j.static_resources as { clusters: Json[] }).clusters[1]!.name = "prometheus_stats"), "static_resources.clusters[1]: cluster manager: duplicate cluster 'prometheus_stats' found"],
  ])("refuses %s", (_what, mutate, message) => {
    const j = golden();
    mutate(j);
    expect(() => interpretBootstrap(j, { flags, cwd: "/", decode: recordingDecode([]) })).toThrow(message);
  });

  it("collects every static resource the decoder refuses, with its place", () => {
    expect(() => interpretBootstrap(golden(), { flags, cwd: "/", decode: recordingDecode([], "0.0.0.0_15021") })).toThrow("static_resources:\n  static_resources.listeners[1]: filter_chains[0]: something is wrong");
  });
});

describe("node and identity", () => {
  it("fills node fields from --service-* only where the bootstrap has none", () => {
    expect(nodeWithFlags({ id: "a", cluster: "" }, { serviceCluster: "c", serviceNode: "n", serviceZone: "z" })).toEqual({ id: "a", cluster: "c", locality: { zone: "z" } });
    expect(nodeWithFlags({ locality: { zone: "keep", region: "r" } }, { serviceZone: "z" })).toEqual({ locality: { zone: "keep", region: "r" } });
    expect(nodeWithFlags(undefined, { serviceNode: "n" })).toEqual({ id: "n" });
  });

  it("takes this proxy's identity from the node's Istio metadata", () => {
    const b = outriggerBootstrap(
      {
        id: "sidecar~10.1.2.3~reviews-v1-abc-xyz.bookinfo~bookinfo.svc.cluster.local",
        metadata: { NAME: "reviews-v1-abc-xyz", NAMESPACE: "bookinfo", WORKLOAD_NAME: "reviews-v1", CLUSTER_ID: "c1", MESH_ID: "m1", INSTANCE_IPS: "10.1.2.3,fd00::3", LABELS: { app: "reviews", version: "v1" } },
      },
      { workers: 3, reusePort: true, logLevel: "warn", drainTimeoutMs: 45_000, admin: { address: "::1", port: 15000 } },
    );
    expect(b.node).toMatchObject({ nodeId: "sidecar~10.1.2.3~reviews-v1-abc-xyz.bookinfo~bookinfo.svc.cluster.local", instanceName: "reviews-v1-abc-xyz", instanceIp: "10.1.2.3", workloadName: "reviews-v1", namespace: "bookinfo", clusterId: "c1", meshId: "m1", canonicalService: "reviews", app: "reviews", version: "v1" });
    expect(b).toMatchObject({ workers: 3, logLevel: "warn", drainTimeoutMs: 45_000, adminAddress: "::1", adminPort: 15000, namespace: "bookinfo", configPaths: [], outbound: null, watch: false });
    expect(b.healthPort).toBeUndefined();
    expect(b.statsPort).toBeUndefined();
    // Without SO_REUSEPORT balancing one worker serves.
    expect(outriggerBootstrap({}, { workers: 3, reusePort: false, logLevel: "info", drainTimeoutMs: 1 }).workers).toBe(1);
    // --file-flush-interval-msec / --file-flush-min-size-kb reach the workers' access-log files.
    expect(outriggerBootstrap({}, { workers: 1, reusePort: true, logLevel: "info", drainTimeoutMs: 1, accessLogFlush: { intervalMs: 1000, minBytes: 2048 } }).accessLogFlush).toEqual({ intervalMs: 1000, minBytes: 2048 });
  });
});
