// The Istio 1.4-era dumps (`istioctl proxy-config … -o json` of Bookinfo's productpage, camelCase
// JSON) are xDS v2 resources. Against the v3 protos we load they show exactly what a v3 replay of
// them needs; once those v2-only parts are rewritten, everything else encodes as v3 and normalizes.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { normalizeProtoJson, protoJsonProblems } from "../../../../src/config/envoy/proto-json.js";
import { sharedPath } from "../../../helpers/shared-dir.js";

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const read = (f: string): J[] => JSON.parse(readFileSync(sharedPath("envoy-config-dumps", "bookinfo-productpage-istio1.4-era", f), "utf8")) as J[];
const TYPES: Record<string, string> = {
  "lds.json": "envoy.config.listener.v3.Listener",
  "cds.json": "envoy.config.cluster.v3.Cluster",
  "rds.json": "envoy.config.route.v3.RouteConfiguration",
  // Not EDS: `proxy-config endpoint` prints the admin /clusters host statuses.
  "eds.json": "envoy.admin.v3.ClusterStatus",
};

/** Every distinct problem of a file, paths with indexes and map keys folded. */
function problems(file: string, resources: J[]): string[] {
  const out = new Set<string>();
  for (const r of resources) for (const p of protoJsonProblems(TYPES[file]!, r)) out.add(`${p.path.replace(/\[\d+\]/g, "[]").replace(/\["[^"]*"\]/g, "[k]")}: ${p.reason}`);
  return [...out].sort();
}

const V2_TO_V3: Record<string, string> = {
  "envoy.config.filter.network.http_connection_manager.v2.HttpConnectionManager": "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
  "envoy.config.filter.network.tcp_proxy.v2.TcpProxy": "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
};
const MIXER = /^type\.googleapis\.com\/istio\.mixer\./;

/** Mixer's per-route ServiceConfig dropped from a route configuration. */
function stripMixerRoutes(rc: J): void {
  for (const vh of (rc.virtualHosts as J[] | undefined) ?? [])
    for (const rt of (vh.routes as J[] | undefined) ?? [])
      for (const [k, v] of Object.entries((rt.typedPerFilterConfig as J | undefined) ?? {})) if (MIXER.test(v["@type"])) delete rt.typedPerFilterConfig[k];
}

/** What a v3 replay must change: v2 type URLs → v3, mixer filters dropped, v2-only fields moved or dropped. */
function v3Replay(file: string, r: J): J {
  const j = JSON.parse(JSON.stringify(r).replace(/type\.googleapis\.com\/([\w.]+)/g, (m, t: string) => (V2_TO_V3[t] !== undefined ? "type.googleapis.com/" + V2_TO_V3[t] : m))) as J;
  if (file === "cds.json" && j.hosts !== undefined) {
    // Cluster.hosts (v2, deprecated) → load_assignment.
    j.loadAssignment = { clusterName: j.name, endpoints: [{ lbEndpoints: (j.hosts as J[]).map((address) => ({ endpoint: { address } })) }] };
    delete j.hosts;
  }
  stripMixerRoutes(j);
  for (const fc of (j.filterChains as J[] | undefined) ?? []) {
    fc.filters = (fc.filters as J[]).filter((f) => !MIXER.test(f.typedConfig?.["@type"] ?? ""));
    for (const f of fc.filters as J[]) {
      if (f.config !== undefined) {
        // Filter.config (a v2 Struct) → typed_config (here the prometheus HCM; http_filters was one object, not a list).
        const { http_filters, ...rest } = f.config as J;
        f.typedConfig = { "@type": "type.googleapis.com/" + V2_TO_V3["envoy.config.filter.network.http_connection_manager.v2.HttpConnectionManager"], ...rest, http_filters: [http_filters] };
        delete f.config;
      }
      const hcm = f.typedConfig as J | undefined;
      if (hcm?.routeConfig !== undefined) stripMixerRoutes(hcm.routeConfig as J);
      if (hcm?.httpFilters !== undefined) hcm.httpFilters = (hcm.httpFilters as J[]).filter((h) => !MIXER.test(h.typedConfig?.["@type"] ?? ""));
      // HttpConnectionManager.Tracing.operation_name (v2) has no v3 field: the direction comes from the listener's traffic_direction.
      if (hcm?.tracing?.operationName !== undefined) delete hcm.tracing.operationName;
    }
  }
  return j;
}

describe("Istio 1.4-era (xDS v2) resources against the v3 protos", () => {
  it("lds: v2 filter type URLs, mixer filters, and Filter.config are what v3 lacks", () => {
    expect(problems("lds.json", read("lds.json"))).toEqual([
      "filterChains[].filters[].config: unknown field (envoy.config.listener.v3.Filter has no field \"config\")",
      'filterChains[].filters[].typedConfig.@type: unknown Any type "type.googleapis.com/envoy.config.filter.network.http_connection_manager.v2.HttpConnectionManager" (its proto is not loaded)',
      'filterChains[].filters[].typedConfig.@type: unknown Any type "type.googleapis.com/envoy.config.filter.network.tcp_proxy.v2.TcpProxy" (its proto is not loaded)',
      'filterChains[].filters[].typedConfig.@type: unknown Any type "type.googleapis.com/istio.mixer.v1.config.client.TcpClientConfig" (its proto is not loaded)',
    ]);
  });

  it("lds with v3 type URLs: inside the HCM only mixer (HTTP filter, inline routes' ServiceConfig) and Tracing.operation_name are v2-only", () => {
    const renamed = read("lds.json").map((l) => JSON.parse(JSON.stringify(l).replace(/type\.googleapis\.com\/([\w.]+)/g, (m, t: string) => (V2_TO_V3[t] !== undefined ? "type.googleapis.com/" + V2_TO_V3[t] : m))) as J);
    expect(problems("lds.json", renamed)).toEqual([
      "filterChains[].filters[].config: unknown field (envoy.config.listener.v3.Filter has no field \"config\")",
      'filterChains[].filters[].typedConfig.@type: unknown Any type "type.googleapis.com/istio.mixer.v1.config.client.TcpClientConfig" (its proto is not loaded)',
      'filterChains[].filters[].typedConfig.httpFilters[].typedConfig.@type: unknown Any type "type.googleapis.com/istio.mixer.v1.config.client.HttpClientConfig" (its proto is not loaded)',
      'filterChains[].filters[].typedConfig.routeConfig.virtualHosts[].routes[].typedPerFilterConfig[k].@type: unknown Any type "type.googleapis.com/istio.mixer.v1.config.client.ServiceConfig" (its proto is not loaded)',
      'filterChains[].filters[].typedConfig.tracing.operationName: unknown field (envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.Tracing has no field "operationName")',
    ]);
  });

  it("cds: Cluster.hosts (removed in v3); rds: mixer's per-route ServiceConfig; eds (/clusters output): nothing", () => {
    expect(problems("cds.json", read("cds.json"))).toEqual(['hosts: unknown field (envoy.config.cluster.v3.Cluster has no field "hosts")']);
    expect(problems("rds.json", read("rds.json"))).toEqual([
      'virtualHosts[].routes[].typedPerFilterConfig[k].@type: unknown Any type "type.googleapis.com/istio.mixer.v1.config.client.ServiceConfig" (its proto is not loaded)',
    ]);
    expect(problems("eds.json", read("eds.json"))).toEqual([]);
  });

  it("after the v3 replay rewrite every resource encodes as v3, and normalizes to snake_case", () => {
    for (const file of ["lds.json", "cds.json", "rds.json", "eds.json"]) {
      for (const r of read(file)) {
        const v3 = v3Replay(file, r);
        expect(protoJsonProblems(TYPES[file]!, v3), `${file} ${String(r.name)}`).toEqual([]);
        const n = normalizeProtoJson(TYPES[file]!, v3);
        expect(JSON.stringify(n)).not.toMatch(/"[a-z]+[A-Z]\w*":/);
      }
    }
    const hcm = normalizeProtoJson(TYPES["lds.json"]!, v3Replay("lds.json", read("lds.json").find((l) => l.name === "0.0.0.0_9080")!));
    expect(JSON.stringify(hcm)).toContain('"@type":"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"');
  });
});
