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

function everyRouteConfig(s: Pick<Snapshot, "listeners" | "routeConfigs">): RouteConfiguration[] {
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

describe("decode(encode(x)) over every traffic feature the translator writes", () => {
  it("faults, CORS, mirrors, retries, rewrites, redirects, direct responses, header ops, hash policies, DR pools, outliers, TLS, warmup", async () => {
    const { parseConfigText } = await import("../../../src/config/load/load-sources.js");
    const yaml = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 9080, name: http, protocol: HTTP}]
  endpoints:
  - {address: 10.0.0.1, labels: {version: v1, security.istio.io/tlsMode: istio}, locality: us-east/a}
  - {address: 10.0.0.2, labels: {version: v2}, locality: us-east/b/c, weight: 3}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: shop}
spec:
  hosts: [api.example.com]
  location: MESH_EXTERNAL
  resolution: DNS
  ports: [{number: 443, name: tls, protocol: TLS}, {number: 80, name: http, protocol: HTTP}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews.shop.svc.cluster.local
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN, warmup: {duration: 30s, aggression: 2, minimumPercent: 20}, localityLbSetting: {enabled: true}}
    connectionPool: {tcp: {maxConnections: 10, connectTimeout: 2s, tcpKeepalive: {time: 10s, probes: 3, interval: 5s}, maxConnectionDuration: 1h}, http: {http1MaxPendingRequests: 5, idleTimeout: 30s, maxRequestsPerConnection: 7, h2UpgradePolicy: UPGRADE}}
    outlierDetection: {consecutive5xxErrors: 3, consecutiveGatewayErrors: 2, interval: 2s, baseEjectionTime: 1m, maxEjectionPercent: 50}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy: {loadBalancer: {consistentHash: {httpCookie: {name: user, ttl: 10s, path: /}}}}
  - name: v2
    labels: {version: v2}
    trafficPolicy: {loadBalancer: {consistentHash: {maglev: {tableSize: 1021}, useSourceIp: true}}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ext, namespace: shop}
spec:
  host: api.example.com
  trafficPolicy:
    portLevelSettings:
    - port: {number: 443}
      tls: {mode: SIMPLE, sni: api.example.com, subjectAltNames: [api.example.com]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews.shop.svc.cluster.local]
  http:
  - name: faulty
    match: [{uri: {prefix: /fault}, headers: {x-test: {exact: "1"}}, queryParams: {q: {regex: "a.*"}}, ignoreUriCase: true}]
    fault: {delay: {fixedDelay: 1.5s, percentage: {value: 12.5}}, abort: {httpStatus: 503, percentage: {value: 50}}}
    route: [{destination: {host: reviews.shop.svc.cluster.local, subset: v1}}]
  - name: split
    match: [{uri: {exact: /split}, withoutHeaders: {x-no: {prefix: a}}}]
    route:
    - {destination: {host: reviews.shop.svc.cluster.local, subset: v1}, weight: 30, headers: {request: {set: {x-a: "1"}}, response: {remove: [x-b]}}}
    - {destination: {host: reviews.shop.svc.cluster.local, subset: v2}, weight: 70}
    headers: {request: {add: {x-c: "2"}, remove: [x-d]}, response: {set: {x-e: "3"}}}
    mirror: {host: reviews.shop.svc.cluster.local, subset: v2}
    mirrorPercentage: {value: 25}
    retries: {attempts: 4, perTryTimeout: 2s, retryOn: "5xx,retriable-status-codes,503", retryRemoteLocalities: true}
    timeout: 7s
    corsPolicy: {allowOrigins: [{exact: https://a.example}], allowMethods: [GET, POST], maxAge: 1h, allowCredentials: true}
  - match: [{uri: {regex: "/re/.*"}}]
    rewrite: {uriRegexRewrite: {match: "^/re/(.*)", rewrite: "/\\\\1"}, authority: other.example}
    route: [{destination: {host: reviews.shop.svc.cluster.local}}]
  - match: [{uri: {prefix: /old}}]
    redirect: {uri: /new, authority: new.example, redirectCode: 308, derivePort: FROM_REQUEST_PORT}
  - match: [{uri: {prefix: /gone}}]
    directResponse: {status: 410, body: {string: "gone"}}
  - route: [{destination: {host: reviews.shop.svc.cluster.local}}]
    retries: {attempts: 0}
`;
    const { documents, errors } = parseConfigText(yaml, "mesh/features.yaml");
    expect(errors).toEqual([]);
    const r = translate(documents, { namespace: "shop", proxyLabels: { app: "web" }, domainSuffix: "cluster.local", defaultOutbound: { address: "127.0.0.1", port: 15001 }, security: { trustDomain: "cluster.local", hasIdentity: true }, proxyLocality: { region: "us-east", zone: "a" } });
    expect(r.errors).toEqual([]);
    const rcs = everyRouteConfig(r.snapshot);
    for (const rc of rcs) roundTripRoutes(rc);
    for (const c of Object.values(r.snapshot.clusters)) roundTripCluster(c);
    // The features did reach the model (the round trip is not vacuous).
    const routes = rcs.flatMap((rc) => rc.virtualHosts.flatMap((v) => v.routes));
    expect(routes.some((x) => x.typedPerFilterConfig?.["envoy.filters.http.fault"]?.delay !== undefined)).toBe(true);
    expect(routes.some((x) => x.typedPerFilterConfig?.["envoy.filters.http.cors"] !== undefined)).toBe(true);
    expect(routes.some((x) => x.route?.requestMirrorPolicies?.[0]?.percentage !== undefined)).toBe(true);
    expect(routes.some((x) => x.route?.retryPolicy?.retryRemoteLocalities === true)).toBe(true);
    expect(routes.some((x) => x.route?.regexRewrite !== undefined && x.route.hostRewriteLiteral !== undefined)).toBe(true);
    expect(routes.some((x) => x.redirect?.derivePort === "FROM_REQUEST_PORT")).toBe(true);
    expect(routes.some((x) => x.directResponse?.body === "gone")).toBe(true);
    const clusters = Object.values(r.snapshot.clusters);
    expect(clusters.some((c) => c.slowStart !== undefined && c.outlierDetection !== undefined && c.httpProtocolOptions?.explicitHttpConfig !== undefined)).toBe(true);
    expect(clusters.some((c) => c.maglevLbConfig !== undefined)).toBe(true);
    expect(clusters.some((c) => c.transportSocketMatches !== undefined)).toBe(true);
    expect(clusters.some((c) => (c.transportSocket?.typedConfig as { sni?: string } | undefined)?.sni === "api.example.com")).toBe(true);
  });

  it("secrets: certificate with key and trusted CA, with the key unredacted on request", () => {
    const s = { name: "default", tlsCertificate: { certificateChain: "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n", privateKey: "-----BEGIN PRIVATE KEY-----\nBBB\n-----END PRIVATE KEY-----\n" } };
    const ca = { name: "ROOTCA", validationContext: { trustedCa: "-----BEGIN CERTIFICATE-----\nCCC\n-----END CERTIFICATE-----\n" } };
    expect(value(decodeSecret(secretJson(s, { redact: false }), ctx), "default")).toEqual(s);
    expect(value(decodeSecret(secretJson(ca), ctx), "ROOTCA")).toEqual(ca);
    // The dump's form keeps the key out.
    expect(value(decodeSecret(secretJson(s), ctx), "redacted").tlsCertificate?.privateKey).toBe("[redacted]");
  });
});
