// /config_dump's shape against real istiod output (/work/shared/envoy-config-dumps): the same
// bookinfo intent translated by Outrigger must render only field paths that Envoy's dumps of
// istiod's config contain (or Envoy fields those samples happen not to use, listed with why), and
// Envoy's query semantics (resource, mask, name_regex, include_eds).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildConfigDump, queryConfigDump, type ConfigDump } from "../../../src/admin/config-dump/config-dump.js";
import { testBootstrap } from "../../helpers/admin.js";
import { dumpParts } from "../../helpers/config-dump.js";
import { cluster } from "../../helpers/proxy.js";
import { harness } from "../cli/cli-harness.js";
import { sharedPath } from "../../helpers/shared-dir.js";

const dumps = sharedPath("envoy-config-dumps");
const samples = sharedPath("istio-samples", "istio", "samples", "bookinfo", "networking");

// Bookinfo's reviews and details as ServiceEntries (Kubernetes Services are not translated yet).
const services = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 9080, name: http, protocol: HTTP}
  endpoints:
  - {address: 10.0.0.1, ports: {http: 9080}, labels: {version: v1}}
  - {address: 10.0.0.2, ports: {http: 9080}, labels: {version: v2}}
  - {address: 10.0.0.3, ports: {http: 9080}, labels: {version: v3}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: details, namespace: default}
spec:
  hosts: [details.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 9080, name: http, protocol: HTTP}
  endpoints:
  - {address: 10.0.0.4, ports: {http: 9080}, labels: {version: v1}}
`;

async function bookinfoDump(): Promise<ConfigDump> {
  const d = mkdtempSync(join(tmpdir(), "outrigger-dump-"));
  writeFileSync(join(d, "services.yaml"), services);
  const r = await harness().run(["config-dump", "--config", d, "--config", join(samples, "destination-rule-all.yaml"), "--config", join(samples, "virtual-service-reviews-jason-v2-v3.yaml")]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as ConfigDump;
}

type Json = Record<string, unknown>;
const snake = (k: string): string => (k.startsWith("@") ? k : k.replace(/(?<!^)(?=[A-Z])/g, "_").toLowerCase());

/** Every key path of `o` (array elements merged as `[]`), keys snake_cased when `convert` (old istioctl output is camelCase). */
function keyPaths(o: unknown, prefix: string, out: Set<string>, convert = false): Set<string> {
  if (Array.isArray(o)) for (const v of o) keyPaths(v, `${prefix}[]`, out, convert);
  else if (o !== null && typeof o === "object") {
    for (const [k, v] of Object.entries(o as Json)) {
      const p = `${prefix}.${convert ? snake(k) : k}`;
      out.add(p);
      keyPaths(v, p, out, convert);
    }
  }
  return out;
}

const readJson = (f: string): unknown => JSON.parse(readFileSync(join(dumps, f), "utf8"));

function realPaths(): Set<string> {
  const out = new Set<string>();
  const authz = readJson("istio-istioctl-authz-testdata-listeners.configdump.json") as { configs: Array<{ dynamic_listeners: Array<{ active_state: { listener: unknown } }> }> };
  for (const l of authz.configs[0]!.dynamic_listeners) keyPaths(l.active_state.listener, "L", out);
  for (const l of readJson("bookinfo-productpage-istio1.4-era/lds.json") as unknown[]) keyPaths(l, "L", out, true);
  for (const c of readJson("bookinfo-productpage-istio1.4-era/cds.json") as unknown[]) keyPaths(c, "C", out, true);
  for (const r of readJson("bookinfo-productpage-istio1.4-era/rds.json") as unknown[]) keyPaths(r, "R", out, true);
  return out;
}

/**
 * Envoy fields our bookinfo dump uses that these two sample dumps do not (each is a real field of
 * the proto named): why it is absent there.
 */
const NOT_IN_SAMPLES: Array<[RegExp, string]> = [
  [/^[CR]\.@type$/, "istioctl's per-resource output drops the Any wrapper's @type"],
  [/^C\.circuit_breakers\.thresholds\[\]\.track_remaining$/, "Thresholds.track_remaining: Istio >= 1.5 sets it"],
  [/^C\.load_assignment\.endpoints\[\]\.(load_balancing_weight|lb_endpoints\[\]\.(health_status|load_balancing_weight))$/, "LocalityLbEndpoints / LbEndpoint fields: the samples' clusters are EDS (no inline load_assignment with endpoints)"],
  [/^C\.metadata\.filter_metadata\.istio(\.|$)/, "Cluster.metadata istio services/subset: Istio >= 1.6 writes it"],
  [/^(C|R|C\.load_assignment\.endpoints\[\]\.lb_endpoints\[\]|R\.virtual_hosts\[\]\.routes\[\])\.metadata(\.filter_metadata(\.outrigger(\..*)?)?)?$/, "metadata.filter_metadata.outrigger: Outrigger's own facts, in Envoy's Metadata field"],
  [/^R\.virtual_hosts\[\]\.routes\[\]\.match\.headers(\[\]\.(name|string_match(\.exact)?))?$/, "RouteMatch.headers with StringMatcher: the samples have no header match"],
  [/^R\.virtual_hosts\[\]\.routes\[\]\.route\.retry_policy\.retry_host_predicate\[\]\.typed_config(\.@type)?$/, "typed_config replaced the deprecated config field after Istio 1.4"],
];

describe("/config_dump shape (real istiod dumps as reference)", () => {
  it("renders only field paths the real dumps have, or known Envoy fields they do not use", async () => {
    const dump = await bookinfoDump();
    const real = realPaths();
    const ours = new Set<string>();
    const p = dumpParts(dump);
    for (const l of Object.values(p.listeners)) keyPaths(l, "L", ours);
    for (const c of Object.values(p.clusters)) keyPaths(c, "C", ours);
    for (const r of Object.values(p.routeConfigs)) keyPaths(r, "R", ours);
    const unexplained = [...ours].filter((x) => !real.has(x) && !NOT_IN_SAMPLES.some(([re]) => re.test(x)));
    expect(unexplained).toEqual([]);
    // And the paths istioctl proxy-config reads are there.
    for (const must of [
      "L.address.socket_address.port_value",
      "L.filter_chains[].filters[].typed_config.rds.route_config_name",
      "L.filter_chains[].filters[].typed_config.http_filters[].name",
      "L.traffic_direction",
      "C.connect_timeout",
      "C.circuit_breakers.thresholds[].max_retries",
      "R.virtual_hosts[].domains",
      "R.virtual_hosts[].routes[].route.retry_policy.retry_on",
    ]) expect(ours, must).toContain(must);
  });

  it("configs in Envoy's order with admin @types, dynamic entries with version_info and last_updated", async () => {
    const dump = await bookinfoDump();
    expect(dump.configs.map((c) => c["@type"])).toEqual([
      "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump",
      "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
      "type.googleapis.com/envoy.admin.v3.EndpointsConfigDump",
      "type.googleapis.com/envoy.admin.v3.ListenersConfigDump",
      "type.googleapis.com/envoy.admin.v3.ScopedRoutesConfigDump",
      "type.googleapis.com/envoy.admin.v3.RoutesConfigDump",
      "type.googleapis.com/envoy.admin.v3.SecretsConfigDump",
    ]);
    const listeners = dump.configs[3] as { version_info: string; dynamic_listeners: Array<{ name: string; active_state: { version_info: string; last_updated: string; listener: Json } }> };
    expect(listeners.version_info).toBe("offline");
    const l = listeners.dynamic_listeners[0]!;
    expect(l.active_state.listener["@type"]).toBe("type.googleapis.com/envoy.config.listener.v3.Listener");
    expect(l.active_state.listener.name).toBe(l.name);
    expect(l.active_state.version_info).toBe("offline");
    expect(l.active_state.last_updated).toMatch(/^\d{4}-\d\d-\d\dT/);
    const p = dumpParts(dump);
    const v2 = p.clusters["outbound|9080|v2|reviews.default.svc.cluster.local"]!;
    expect(v2).toMatchObject({ "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", type: "STATIC", connect_timeout: "10s", lb_policy: "LEAST_REQUEST", metadata: { filter_metadata: { istio: { subset: "v2", services: [{ host: "reviews.default.svc.cluster.local", name: "reviews", namespace: "default" }] } } } });
    const route = (p.routeConfigs["9080"]!.virtual_hosts as Json[]).find((v) => v.name === "reviews.default.svc.cluster.local:9080")!.routes as Json[];
    expect(route[0]).toMatchObject({ match: { prefix: "/", headers: [{ name: "end-user", string_match: { exact: "jason" } }] }, route: { cluster: "outbound|9080|v2|reviews.default.svc.cluster.local", timeout: "0s" }, metadata: { filter_metadata: { outrigger: { source: "default/reviews http[0] match[0]" } } } });
    expect(p.endpoints["outbound|9080|v3|reviews.default.svc.cluster.local"]).toEqual({
      "@type": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
      cluster_name: "outbound|9080|v3|reviews.default.svc.cluster.local",
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "10.0.0.3", port_value: 9080 } } }, health_status: "HEALTHY", metadata: { filter_metadata: { outrigger: { labels: { version: "v3" } } } }, load_balancing_weight: 1 }], load_balancing_weight: 1 }],
    });
  });
});

describe("/config_dump queries (Envoy's config_dump_handler)", () => {
  const input = async () => {
    const dump = await bookinfoDump();
    return dump;
  };

  it("?resource= returns the elements of that repeated field, each packed with its own @type", async () => {
    const r = queryConfigDump(await input(), "dynamic_active_clusters", null) as ConfigDump;
    expect(r.configs.length).toBeGreaterThan(3);
    expect(r.configs.every((c) => c["@type"] === "type.googleapis.com/envoy.admin.v3.ClustersConfigDump.DynamicCluster")).toBe(true);
    expect((r.configs[0]!.cluster as Json)["@type"]).toBe("type.googleapis.com/envoy.config.cluster.v3.Cluster");
  });

  it("?resource= with ?mask= masks each element, through its Any field", async () => {
    const r = queryConfigDump(await input(), "dynamic_active_clusters", "cluster.name,last_updated") as ConfigDump;
    for (const c of r.configs) {
      expect(Object.keys(c).sort()).toEqual(["@type", "cluster", "last_updated"]);
      expect(Object.keys(c.cluster as Json).sort()).toEqual(["@type", "name"]);
    }
  });

  it("?mask= alone trims every config that has the field and drops the others", async () => {
    const r = queryConfigDump(await input(), null, "dynamic_listeners") as ConfigDump;
    expect(r.configs).toHaveLength(1);
    expect(Object.keys(r.configs[0]!).sort()).toEqual(["@type", "dynamic_listeners"]);
  });

  it("errors with Envoy's status and words", async () => {
    const d = await input();
    expect(queryConfigDump(d, "nope", null)).toEqual({ status: 404, message: "nope not found in config dump" });
    expect(queryConfigDump(d, "version_info", null)).toEqual({ status: 400, message: "version_info is not a repeated field. Use ?mask=version_info to get only this field" });
    expect(queryConfigDump(d, null, "nope")).toEqual({ status: 400, message: "FieldMask nope could not be successfully applied to any configs." });
    expect(queryConfigDump(d, "dynamic_listeners", "active_state[0]")).toMatchObject({ status: 400 });
  });

  it("name_regex keeps only resources whose name fully matches; no include_eds → no EndpointsConfigDump", () => {
    const snapshot = { version: "v9", listeners: [], routeConfigs: {}, clusters: { "outbound|80||a": cluster("outbound|80||a", [1]), "outbound|80||ab": cluster("outbound|80||ab", [2]) } };
    const all = buildConfigDump({ bootstrap: testBootstrap(), snapshot, lastReloadError: null });
    expect(all.configs.map((c) => String(c["@type"]).split(".").pop())).toEqual(["BootstrapConfigDump", "ClustersConfigDump", "ListenersConfigDump", "ScopedRoutesConfigDump", "RoutesConfigDump", "SecretsConfigDump"]);
    expect(Object.keys(dumpParts(all).clusters)).toEqual(["outbound|80||a", "outbound|80||ab"]);
    const some = buildConfigDump({ bootstrap: testBootstrap(), snapshot, lastReloadError: null }, { nameRegex: /^(?:outbound\|80\|\|a)$/ });
    expect(Object.keys(dumpParts(some).clusters)).toEqual(["outbound|80||a"]);
  });
});

describe("bootstrap in the dump", () => {
  it("node as istio-agent builds it, Outrigger's settings under node.metadata.outrigger, the admin address", () => {
    const b = testBootstrap({ adminPort: 15000 });
    const d = buildConfigDump({ bootstrap: b, snapshot: null, lastReloadError: "bad weight" });
    const boot = dumpParts(d).bootstrap;
    expect(boot.node).toMatchObject({
      id: "sidecar~10.1.2.3~productpage-v1-6b746f74dc-9stvs.shop~shop.svc.cluster.local",
      cluster: "productpage.shop",
      metadata: { NAMESPACE: "shop", WORKLOAD_NAME: "productpage-v1", LABELS: { app: "productpage", version: "v1" }, outrigger: { workers: 2, lastReloadError: "bad weight" } },
      user_agent_name: "outrigger",
    });
    expect(boot.admin).toEqual({ address: { socket_address: { address: "127.0.0.1", port_value: 15000 } } });
    expect(dumpParts(d).lastReloadError).toBe("bad weight");
  });
});
