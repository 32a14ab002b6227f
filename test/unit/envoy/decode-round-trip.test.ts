// One decoder for both sources: every route configuration, cluster (with its load assignment, and in
// the EDS form: cluster + ClusterLoadAssignment) and secret that the Istio translator produces over
// the Istio sample corpus goes through /config_dump's encoders and back through the xDS decoders
// unchanged — so the YAML path and an xDS control plane feed the data path the same model.

import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { clusterJson, loadAssignmentJson } from "../../../src/admin/config-dump/cluster-json.js";
import { routeConfigJson } from "../../../src/admin/config-dump/route-config-json.js";
import { secretJson } from "../../../src/admin/config-dump/secret-json.js";
import { decodeCluster } from "../../../src/config/envoy/decode-cluster.js";
import { decodeClusterLoadAssignment } from "../../../src/config/envoy/decode-endpoints.js";
import { decodeRouteConfiguration } from "../../../src/config/envoy/decode-route-config.js";
import { decodeSecret } from "../../../src/config/envoy/decode-secret.js";
import type { Decoded } from "../../../src/config/envoy/decoded.js";
import { defaultInterception } from "../../../src/config/istio/interception.js";
import { translate, type TranslateOptions } from "../../../src/config/istio/translate.js";
import { loadConfigSources } from "../../../src/config/load/load-sources.js";
import { HTTP_CONNECTION_MANAGER, type Cluster, type RouteConfiguration, type Snapshot } from "../../../src/config/model/types.js";
import { sharedPath } from "../../helpers/shared-dir.js";

const samplesDir = sharedPath("istio-samples");
const ctx = { origin: "xds" as const };

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...yamlFiles(full));
    else if (/\.ya?ml$/.test(name)) out.push(full);
  }
  return out;
}

function value<T>(d: Decoded<T>, what: string): T {
  if (!d.ok) throw new Error(`${what}: ${d.errors.join("; ")}`);
  return d.value;
}

/** JSON's view of a value (undefined members dropped), as the model crosses worker_threads. */
const plain = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

/** A cluster without thresholds has no limits in the data path; the dump spells that as Envoy needs it (uint32 max each). */
function unlimitedSpelled(c: Cluster): Cluster {
  return { ...c, circuitBreakers: c.circuitBreakers ?? { maxConnections: 4_294_967_295, maxPendingRequests: 4_294_967_295, maxRequests: 4_294_967_295, maxRetries: 4_294_967_295 } };
}

/** The decoder resolves a relative DataSource filename against the working directory, as Envoy does: the same file. */
function resolvedFilenames<T>(x: T): T {
  if (Array.isArray(x)) return x.map(resolvedFilenames) as T;
  if (typeof x !== "object" || x === null) return x;
  return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, k === "filename" && typeof v === "string" ? resolve(v) : resolvedFilenames(v)])) as T;
}

function roundTripRoutes(rc: RouteConfiguration): void {
  expect(value(decodeRouteConfiguration(routeConfigJson(rc), ctx), `route configuration ${rc.name}`)).toEqual(plain(rc));
}

function roundTripCluster(c: Cluster): void {
  const decoded = value(decodeCluster(clusterJson(c), ctx), `cluster ${c.name}`);
  if (c.type === "EDS") {
    // The EDS form: the cluster's endpoints arrive as their own ClusterLoadAssignment.
    const cla = value(decodeClusterLoadAssignment(loadAssignmentJson(c.name, c.loadAssignment, true), ctx), `endpoints of ${c.name}`);
    expect(cla.clusterName).toBe(c.name);
    decoded.loadAssignment = { endpoints: cla.endpoints };
  }
  expect(decoded).toEqual(resolvedFilenames(plain(unlimitedSpelled(c))));
}

function everyRouteConfig(s: Snapshot): RouteConfiguration[] {
  const inline = s.listeners.flatMap((l) => [...l.filterChains, ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])]).flatMap((fc) => fc.filters.flatMap((f) => (f.name === HTTP_CONNECTION_MANAGER && f.typedConfig.routeConfig ? [f.typedConfig.routeConfig] : [])));
  return [...Object.values(s.routeConfigs), ...inline];
}

const base: TranslateOptions = { namespace: "default", proxyLabels: { app: "sleep" }, domainSuffix: "cluster.local", defaultOutbound: { address: "127.0.0.1", port: 15001 }, security: { trustDomain: "cluster.local", hasIdentity: true } };
const variants: Array<[string, Partial<TranslateOptions>]> = [
  ["sidecar", {}],
  ["intercepting sidecar", { intercept: defaultInterception(), defaultOutbound: null }],
  ["no identity, pre-1.28 mirrors", { security: { trustDomain: "cluster.local", hasIdentity: false }, mirrorShadowSuffix: true, namespace: "bookinfo", proxyLabels: { app: "productpage", version: "v1" } }],
];

describe("decode(encode(x)) over the Istio sample corpus", () => {
  const files = existsSync(samplesDir) ? yamlFiles(samplesDir) : [];
  it("finds the sample corpus", () => {
    expect(files.length).toBeGreaterThan(0);
  });
  for (const [label, opts] of variants) {
    it(`round-trips every route configuration and cluster (${label})`, async () => {
      let routeConfigs = 0;
      let clusters = 0;
      for (const file of files) {
        const { documents } = await loadConfigSources([file]);
        const r = translate(documents, { ...base, ...opts });
        try {
          for (const rc of everyRouteConfig(r.snapshot)) {
            roundTripRoutes(rc);
            routeConfigs++;
          }
          for (const c of Object.values(r.snapshot.clusters)) {
            roundTripCluster(c);
            clusters++;
          }
        } catch (e) {
          throw new Error(`${relative(samplesDir, file)}: ${(e as Error).message}`);
        }
      }
      expect(routeConfigs).toBeGreaterThan(30);
      expect(clusters).toBeGreaterThan(30);
    });
  }
});
