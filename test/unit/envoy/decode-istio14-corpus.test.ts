// Real istiod output, Istio ~1.4 era (v2 API: camelCase as `istioctl proxy-config -o json` prints
// it, `hosts`, `http2ProtocolOptions`, mixer per-route configs): every route configuration, cluster
// and endpoint set of Bookinfo's productpage sidecar decodes, with notes for what is not honoured.
// The proto helper's normalizeProtoJson maps jsonName → proto names in production; this test does
// the same with a plain key rewrite (these files have no map keys with capitals).
// Also: every inline route configuration of a 2023 istiod sidecar's listener dump (snake_case).

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeCluster } from "../../../src/config/envoy/decode-cluster.js";
import { decodeClusterLoadAssignment } from "../../../src/config/envoy/decode-endpoints.js";
import { decodeRouteConfiguration } from "../../../src/config/envoy/decode-route-config.js";
import type { Decoded, Json } from "../../../src/config/envoy/decoded.js";
import { sharedPath } from "../../helpers/shared-dir.js";

const dir = sharedPath("envoy-config-dumps", "bookinfo-productpage-istio1.4-era");
const ctx = { origin: "xds" as const };

function snake(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(snake);
  if (typeof x !== "object" || x === null) return x;
  return Object.fromEntries(Object.entries(x).map(([k, v]) => [k.startsWith("@") ? k : k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snake(v)]));
}

const read = (f: string): Json[] => (snake(JSON.parse(readFileSync(`${dir}/${f}`, "utf8"))) as Json[]);

function ok<T>(d: Decoded<T>, what: string): { value: T; notes: string[] } {
  if (!d.ok) throw new Error(`${what}: ${d.errors.join("; ")}`);
  return { value: d.value, notes: d.notes.map((n) => `${n.path}: ${n.message}`) };
}

describe("Istio 1.4-era productpage sidecar (rds/cds/eds.json)", () => {
  it("decodes every route configuration; mixer configs and decorators are notes; retry policy as istiod wrote it", () => {
    const rcs = read("rds.json");
    expect(rcs.length).toBe(8);
    const all = rcs.map((rc, i) => ok(decodeRouteConfiguration(rc, ctx), `rds[${i}]`));
    const r9080 = all[0]!.value;
    expect(r9080.name).toBe("9080");
    const details = r9080.virtualHosts.find((v) => v.name === "details.default.svc.cluster.local:9080")!;
    expect(details.domains).toContain("details:9080");
    expect(details.routes[0]).toMatchObject({
      name: "default",
      match: { prefix: "/", caseSensitive: true },
      route: {
        cluster: "outbound|9080||details.default.svc.cluster.local",
        timeoutMs: 0,
        retryPolicy: { retryOn: ["connect-failure", "refused-stream", "unavailable", "cancelled", "resource-exhausted", "retriable-status-codes"], numRetries: 2, retryHostPredicatePreviousHosts: true, hostSelectionRetryMaxAttempts: 5, retriableStatusCodes: [503], backoffBaseMs: 25, backoffMaxMs: 250 },
      },
    });
    const notes = all.flatMap((x) => x.notes);
    expect(notes).toContain("virtual_hosts[0].routes[0].decorator: decorator is not supported: spans are named after the route");
    expect(notes.some((n) => n.includes('typed_per_filter_config["mixer"]') && n.includes("not run by Outrigger"))).toBe(true);
    // Istio 1.4 wrote max_grpc_timeout 0s (grpc-timeout uncapped) on every route: kept for the router.
    expect(notes.some((n) => n.includes("max_grpc_timeout"))).toBe(false);
    expect(details.routes[0]!.route).toMatchObject({ maxGrpcTimeoutMs: 0 });
  });

  it("decodes every cluster: EDS, ORIGINAL_DST (v2 CLUSTER_PROVIDED), STATIC with load_assignment or v2 hosts, STRICT_DNS with v2 http2_protocol_options", () => {
    const cds = read("cds.json");
    expect(cds.length).toBe(26);
    const by = new Map(cds.map((c, i) => { const d = ok(decodeCluster(c, ctx), `cds[${i}]`); return [d.value.name, d] as const; }));
    expect(by.get("outbound|9080||reviews.default.svc.cluster.local")!.value).toMatchObject({ type: "EDS", lbPolicy: "ROUND_ROBIN", connectTimeoutMs: 10_000, loadAssignment: { endpoints: [] }, circuitBreakers: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 1024 } });
    const inbound = by.get("InboundPassthroughClusterIpv4")!.value;
    expect(inbound).toMatchObject({ type: "ORIGINAL_DST", lbPolicy: "CLUSTER_PROVIDED", upstreamBindConfig: { sourceAddress: "127.0.0.6" }, circuitBreakers: { maxConnections: 102400, maxRetries: 1024 } });
    const xds = by.get("xds-grpc")!;
    // v2's cluster-level http2_protocol_options = explicit HTTP/2, its settings kept.
    expect(xds.value).toMatchObject({ type: "STRICT_DNS", dnsRefreshRateMs: 300_000, httpProtocolOptions: { explicitHttpConfig: { http2ProtocolOptions: {} } }, upstreamConnectionOptions: { tcpKeepalive: { keepaliveTimeMs: 300_000 } } });
    expect(xds.value.loadAssignment.endpoints[0]!.lbEndpoints[0]).toMatchObject({ address: "172.31.71.181", port: 15010, weight: 1, healthStatus: "HEALTHY" });
    // The default-priority thresholds apply (unset fields at Envoy's defaults); HIGH is a note.
    expect(xds.value.circuitBreakers).toEqual({ maxConnections: 100_000, maxPendingRequests: 100_000, maxRequests: 100_000, maxRetries: 3 });
    expect(xds.notes).toEqual(expect.arrayContaining(["hosts: deprecated v2 hosts read as load_assignment", "dns_lookup_family: addresses of every family the resolver returns are used", "circuit_breakers.thresholds[1]: HIGH priority thresholds are not used: every request has the default priority"]));
    // A cluster without circuit_breakers gets Envoy's default thresholds.
    expect(by.get("zipkin")!.value.circuitBreakers).toEqual({ maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 });
    expect(by.get("inbound|9080|http|productpage.default.svc.cluster.local")!.value.loadAssignment.endpoints[0]!.lbEndpoints[0]).toMatchObject({ address: "127.0.0.1", port: 9080 });
  });

  it("decodes every cluster's endpoints (the /clusters host statuses of eds.json, as ClusterLoadAssignments)", () => {
    const eds = read("eds.json");
    expect(eds.length).toBe(20);
    let hosts = 0;
    for (const c of eds) {
      const statuses = (c.host_statuses as Json[] | undefined) ?? [];
      const cla = {
        cluster_name: c.name,
        endpoints: [{ lb_endpoints: statuses.map((h) => ({ endpoint: { address: h.address }, health_status: (h.health_status as Json | undefined)?.eds_health_status, load_balancing_weight: h.weight })) }],
      };
      const d = ok(decodeClusterLoadAssignment(cla, ctx), String(c.name));
      expect(d.value.clusterName).toBe(c.name);
      hosts += d.value.endpoints[0]!.lbEndpoints.length;
      for (const ep of d.value.endpoints[0]!.lbEndpoints) expect(ep.healthStatus).toBe("HEALTHY");
    }
    expect(hosts).toBeGreaterThan(15);
  });
});

describe("a 2023 istiod sidecar's inline route configurations (istioctl authz testdata listeners dump)", () => {
  it("decodes every HCM route_config: bootstrap 15090/15021, virtualInbound's, and connect_terminate's CONNECT route", () => {
    const dump = JSON.parse(readFileSync(sharedPath("envoy-config-dumps", "istio-istioctl-authz-testdata-listeners.configdump.json"), "utf8")) as Json;
    const found: Json[] = [];
    const walk = (x: unknown): void => {
      if (Array.isArray(x)) return x.forEach(walk);
      if (typeof x !== "object" || x === null) return;
      const o = x as Json;
      if (typeof o.route_config === "object" && o.route_config !== null) found.push(o.route_config as Json);
      Object.values(o).forEach(walk);
    };
    walk(dump);
    expect(found.length).toBe(8);
    const decoded = found.map((rc, i) => ok(decodeRouteConfiguration(rc, ctx), `route_config ${i}`));
    expect(decoded[0]!.value.virtualHosts[0]!.routes[0]).toMatchObject({ match: { prefix: "/stats/prometheus" }, route: { cluster: "prometheus_stats", timeoutMs: 15_000 } });
    const inbound = decoded.find((d) => d.value.name === "inbound|80||")!;
    expect(inbound.value.virtualHosts[0]!.routes[0]).toMatchObject({ name: "default", route: { cluster: "inbound|80||", timeoutMs: 0 } });
    expect(inbound.value.virtualHosts[0]!.routes[0]!.route).toMatchObject({ maxStreamDuration: { maxStreamDurationMs: 0, grpcTimeoutHeaderMaxMs: 0 } });
    expect(inbound.notes.some((n) => n.includes("max_stream_duration"))).toBe(false);
    const connect = decoded.find((d) => d.value.virtualHosts[0]!.routes[0]!.route?.cluster === "main_internal")!;
    expect(connect.value.virtualHosts[0]!.routes[0]!.match.headers).toEqual([{ name: ":method", stringMatch: { exact: "CONNECT" } }]);
    // The route-level CONNECT upgrade is kept for config_dump; Outrigger proxies no CONNECT.
    expect(connect.value.virtualHosts[0]!.routes[0]!.route?.upgradeConfigs).toEqual([{ upgradeType: "CONNECT" }]);
    expect(connect.notes).toContain("virtual_hosts[0].routes[0].route.upgrade_configs[0].upgrade_type: CONNECT requests are not proxied by Outrigger (HBONE termination is not supported)");
  });
});
