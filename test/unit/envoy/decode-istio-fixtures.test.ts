// Modern istiod / pilot-agent output (test/fixtures/istio-dumps, istio/istio testdata): every
// cluster, route configuration, endpoint set and secret of those config dumps, and the static
// clusters of pilot-agent's rendered bootstrap, decode.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeCluster } from "../../../src/config/envoy/decode-cluster.js";
import { decodeClusterLoadAssignment } from "../../../src/config/envoy/decode-endpoints.js";
import { decodeRouteConfiguration } from "../../../src/config/envoy/decode-route-config.js";
import { decodeSecret } from "../../../src/config/envoy/decode-secret.js";
import type { Decoded, Json } from "../../../src/config/envoy/decoded.js";

const ctx = { origin: "xds" as const, cwd: "/" };
const fixture = (f: string): Json => JSON.parse(readFileSync(new URL(`../../fixtures/istio-dumps/${f}`, import.meta.url), "utf8")) as Json;

function configs(f: string, kind: string): Json[] {
  return ((fixture(f).configs as Json[]) ?? []).filter((c) => String(c["@type"]).endsWith(`.${kind}`));
}

function verdicts<T>(items: Array<[string, Json]>, decode: (j: Json) => Decoded<T>): { ok: T[]; errors: string[] } {
  const out: { ok: T[]; errors: string[] } = { ok: [], errors: [] };
  for (const [name, j] of items) {
    const d = decode(j);
    if (d.ok) out.ok.push(d.value);
    else out.errors.push(...d.errors.map((e) => `${name}: ${e}`));
  }
  return out;
}

const FILES = ["compare-configdump.json", "proxyconfig-config-dump.json", "endpoint-configdump.json", "describe-http-config.json"];

describe("istio/istio testdata config dumps", () => {
  it("every cluster decodes", () => {
    const items: Array<[string, Json]> = FILES.flatMap((f) => configs(f, "ClustersConfigDump").flatMap((c) => [...((c.static_clusters as Json[]) ?? []), ...((c.dynamic_active_clusters as Json[]) ?? [])].map((x) => [`${f} ${String((x.cluster as Json).name)}`, x.cluster as Json] as [string, Json])));
    expect(items.length).toBeGreaterThanOrEqual(5);
    const r = verdicts(items, (j) => decodeCluster(j, ctx));
    // Waypoint (ambient) clusters reach their backends through Envoy internal listeners, which
    // Outrigger does not have: kept (routes to them answer 503 UH), with a note, so the update is ACKed.
    expect(r.errors).toEqual([]);
    const vip = r.ok.find((c) => c.name === "inbound-vip|9080|http|ratings.default.svc.cluster.local")!;
    expect(vip).toMatchObject({ type: "EDS", serviceHost: "ratings.default.svc.cluster.local", subset: "" });
    expect(vip.transportSocket).toBeUndefined();
  });

  it("every route configuration decodes", () => {
    const items: Array<[string, Json]> = FILES.flatMap((f) => configs(f, "RoutesConfigDump").flatMap((c) => [...((c.static_route_configs as Json[]) ?? []), ...((c.dynamic_route_configs as Json[]) ?? [])].map((x) => [`${f} ${String((x.route_config as Json).name)}`, x.route_config as Json] as [string, Json])));
    expect(items.length).toBeGreaterThanOrEqual(3);
    const r = verdicts(items, (j) => decodeRouteConfiguration(j, ctx));
    expect(r.errors).toEqual([]);
  });

  it("every endpoint set decodes", () => {
    const items: Array<[string, Json]> = FILES.flatMap((f) => configs(f, "EndpointsConfigDump").flatMap((c) => [...((c.static_endpoint_configs as Json[]) ?? []), ...((c.dynamic_endpoint_configs as Json[]) ?? [])].map((x) => [`${f} ${String((x.endpoint_config as Json).cluster_name)}`, x.endpoint_config as Json] as [string, Json])));
    expect(items.length).toBeGreaterThanOrEqual(30);
    const r = verdicts(items, (j) => decodeClusterLoadAssignment(j, ctx));
    expect(r.errors).toEqual([]);
    // The waypoint's internal-listener endpoint is left out (see above).
    const d = decodeClusterLoadAssignment(items.find(([n]) => n.endsWith("inbound-vip|8100|http|httpbin.default.svc.cluster.local"))![1], ctx);
    expect(d.ok && d.value.endpoints[0]!.lbEndpoints).toEqual([]);
    expect(d.ok && d.notes.map((n) => n.message)).toEqual(["Envoy internal listeners are not supported: endpoint left out"]);
    const hosts = r.ok.flatMap((e) => e.endpoints.flatMap((g) => g.lbEndpoints));
    expect(hosts.length).toBeGreaterThan(30);
  });

  it("every secret decodes (the dump's redacted key is just bytes)", () => {
    const items: Array<[string, Json]> = FILES.flatMap((f) => configs(f, "SecretsConfigDump").flatMap((c) => ((c.dynamic_active_secrets as Json[]) ?? []).map((x) => [`${f} ${String(x.name)}`, x.secret as Json] as [string, Json])));
    expect(items.length).toBe(2);
    const r = verdicts(items, (j) => decodeSecret(j, ctx));
    expect(r.errors).toEqual([]);
    expect(r.ok.map((s) => s.name).sort()).toEqual(["ROOTCA", "default"]);
  });

  it("pilot-agent's bootstrap: static clusters (prometheus_stats, agent, sds-grpc over a pipe, xds-grpc) decode", () => {
    const b = fixture("bootstrap-default-golden.json");
    const clusters = ((b.static_resources as Json).clusters as Json[]).map((c) => decodeCluster(c, { origin: "bootstrap", cwd: "/etc/istio/proxy" }));
    const errors = clusters.flatMap((d) => (d.ok ? [] : d.errors));
    expect(errors).toEqual([]);
    const byName = new Map(clusters.flatMap((d) => (d.ok ? [[d.value.name, d.value] as const] : [])));
    expect(byName.get("sds-grpc")!.loadAssignment.endpoints[0]!.lbEndpoints[0]!.pipe).toBe("/etc/istio/proxy/var/run/secrets/workload-spiffe-uds/test.sock");
  });
});
