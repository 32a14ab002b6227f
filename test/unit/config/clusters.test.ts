import { describe, expect, it } from "vitest";
import { doc, reviewsSE, run, se } from "./helpers.js";

const reviewsDR = doc(
  "DestinationRule",
  "reviews",
  "shop",
  `  host: reviews
  trafficPolicy:
    loadBalancer: {simple: ROUND_ROBIN}
    connectionPool: {tcp: {connectTimeout: 2s}, http: {idleTimeout: 30s}}
    portLevelSettings:
    - port: {number: 9080}
      outlierDetection: {consecutive5xxErrors: 7, interval: 1s, baseEjectionTime: 30s}
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v3
    labels: {version: v3}
    trafficPolicy:
      loadBalancer: {simple: RANDOM}`,
);

describe("outbound clusters", () => {
  it("names clusters per port and subset, filters subset endpoints by labels, uses endpoint port overrides", () => {
    const r = run(reviewsSE + reviewsDR);
    expect(r.errors).toEqual([]);
    expect(Object.keys(r.snapshot.clusters)).toEqual([
      "outbound|9080||reviews.shop.svc.cluster.local",
      "outbound|9080|v1|reviews.shop.svc.cluster.local",
      "outbound|9080|v3|reviews.shop.svc.cluster.local",
    ]);
    const all = r.snapshot.clusters["outbound|9080||reviews.shop.svc.cluster.local"]!;
    expect(all).toMatchObject({ type: "STATIC", serviceHost: "reviews.shop.svc.cluster.local", subset: "" });
    expect(all.loadAssignment.endpoints).toEqual([
      {
        locality: { region: "us-east", zone: "a" },
        priority: 0,
        loadBalancingWeight: 4,
        lbEndpoints: [
          { address: "10.0.0.1", port: 9080, weight: 1, labels: { version: "v1" }, healthStatus: "HEALTHY" },
          { address: "10.0.0.3", port: 9080, weight: 3, labels: { version: "v3" }, healthStatus: "HEALTHY" },
        ],
      },
      { locality: { region: "us-east", zone: "b" }, priority: 0, loadBalancingWeight: 1, lbEndpoints: [{ address: "10.0.0.2", port: 19082, weight: 1, labels: { version: "v2" }, healthStatus: "HEALTHY" }] },
    ]);
    const v1 = r.snapshot.clusters["outbound|9080|v1|reviews.shop.svc.cluster.local"]!;
    expect(v1.subset).toBe("v1");
    expect(v1.loadAssignment.endpoints.flatMap((l) => l.lbEndpoints.map((e) => e.address))).toEqual(["10.0.0.1"]);
  });

  it("applies DR policy with istiod precedence: top < port level (replaces all) < subset", () => {
    const r = run(reviewsSE + reviewsDR);
    const all = r.snapshot.clusters["outbound|9080||reviews.shop.svc.cluster.local"]!;
    // The port-level entry for 9080 replaces every top-level section, so defaults come back.
    expect(all).toMatchObject({ lbPolicy: "LEAST_REQUEST", connectTimeoutMs: 10000, outlierDetection: { consecutive5xx: 7, intervalMs: 1000, baseEjectionTimeMs: 30000 } });
    // No connection pool settings: Envoy's defaults apply (1 h idle timeout), nothing is written.
    expect(all.httpProtocolOptions).toBeUndefined();
    const v3 = r.snapshot.clusters["outbound|9080|v3|reviews.shop.svc.cluster.local"]!;
    expect(v3).toMatchObject({ lbPolicy: "RANDOM", outlierDetection: { consecutive5xx: 7, intervalMs: 1000, baseEjectionTimeMs: 30000 } });
  });

  it("uses the top-level policy when no port level applies (connect/idle timeouts, LB)", () => {
    const r = run(
      reviewsSE +
        doc("DestinationRule", "reviews", "shop", "  host: reviews.shop.svc.cluster.local\n  trafficPolicy:\n    loadBalancer: {consistentHash: {httpHeaderName: x-user}}\n    connectionPool: {tcp: {connectTimeout: 250ms}, http: {idleTimeout: 1m}}"),
    );
    const c = r.snapshot.clusters["outbound|9080||reviews.shop.svc.cluster.local"]!;
    expect(c).toMatchObject({ lbPolicy: "RING_HASH", connectTimeoutMs: 250, httpProtocolOptions: { commonHttpProtocolOptions: { idleTimeoutMs: 60000 } } });
    expect(c.ringHashLbConfig).toEqual({ minimumRingSize: 1024, maximumRingSize: 8388608 });
  });

  it("DNS resolution: STRICT_DNS with hostname endpoints, the host itself when there are none; targetPort; DNS_ROUND_ROBIN → LOGICAL_DNS; NONE → ORIGINAL_DST", () => {
    const r = run(
      se("ext", "shop", "  hosts: [api.example.com]\n  resolution: DNS\n  ports: [{number: 80, name: http, targetPort: 8080}]") +
        se("ext2", "shop", "  hosts: [b.example.com]\n  resolution: DNS_ROUND_ROBIN\n  ports: [{number: 80, name: http-web}]\n  endpoints: [{address: lb.example.com}]") +
        se("any", "shop", "  hosts: [c.example.com]\n  resolution: NONE\n  ports: [{number: 80, name: http}]"),
    );
    expect(r.errors).toEqual([]);
    const a = r.snapshot.clusters["outbound|80||api.example.com"]!;
    expect(a.type).toBe("STRICT_DNS");
    expect(a.loadAssignment.endpoints[0]?.lbEndpoints[0]).toMatchObject({ address: "api.example.com", port: 8080 });
    expect(r.snapshot.clusters["outbound|80||b.example.com"]!.loadAssignment.endpoints[0]?.lbEndpoints[0]).toMatchObject({ address: "lb.example.com", port: 80 });
    // istiod convertResolution: DNS_ROUND_ROBIN is Envoy's LOGICAL_DNS (one logical host), not STRICT_DNS.
    expect(r.snapshot.clusters["outbound|80||b.example.com"]!.type).toBe("LOGICAL_DNS");
    expect(r.snapshot.clusters["outbound|80||c.example.com"]).toMatchObject({ type: "ORIGINAL_DST", lbPolicy: "CLUSTER_PROVIDED", loadAssignment: { endpoints: [] } });
  });

  it("builds clusters for HTTP, TCP-family, TLS and sniffed ports; a ServiceEntry port's protocol is its protocol field only (names infer nothing)", () => {
    const r = run(se("db", "shop", "  hosts: [db.example.com]\n  addresses: [10.9.9.9]\n  resolution: STATIC\n  ports: [{number: 5432, name: tcp-pg}, {number: 8080, name: grpc-api, protocol: GRPC}, {number: 3306, name: db, protocol: MYSQL}, {number: 443, name: tls, protocol: TLS}, {number: 7000, name: misc}, {number: 53, name: dns, protocol: UDP}]\n  endpoints: [{address: 10.1.1.1}]"));
    expect(Object.keys(r.snapshot.clusters)).toEqual(["outbound|5432||db.example.com", "outbound|8080||db.example.com", "outbound|3306||db.example.com", "outbound|443||db.example.com", "outbound|7000||db.example.com"]);
    expect(r.warnings.map((w) => w.message)).toEqual(["port 53 (UDP) is not routed: UDP is not supported"]);
    expect(r.summary[0]).toContain("ports 5432/auto, 8080/GRPC, 3306/MYSQL, 443/TLS, 7000/auto, 53/UDP");
  });

  it("selects WorkloadEntries in the SE namespace by workloadSelector", () => {
    const r = run(
      se("vm", "shop", "  hosts: [vm.shop.svc.cluster.local]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: [{number: 80, name: http, targetPort: 8080}]\n  workloadSelector: {labels: {app: vm}}") +
        doc("WorkloadEntry", "vm1", "shop", "  address: 10.2.0.1\n  labels: {app: vm}\n  locality: eu/west/1\n  weight: 5") +
        doc("WorkloadEntry", "vm2", "shop", "  address: 10.2.0.2\n  labels: {app: vm}\n  ports: {http: 9999}") +
        doc("WorkloadEntry", "other", "shop", "  address: 10.2.0.3\n  labels: {app: other}") +
        doc("WorkloadEntry", "elsewhere", "prod", "  address: 10.2.0.4\n  labels: {app: vm}"),
    );
    expect(r.errors).toEqual([]);
    const eps = r.snapshot.clusters["outbound|80||vm.shop.svc.cluster.local"]!.loadAssignment.endpoints;
    expect(eps).toEqual([
      { locality: { region: "eu", zone: "west", subZone: "1" }, priority: 0, loadBalancingWeight: 5, lbEndpoints: [{ address: "10.2.0.1", port: 8080, weight: 5, labels: { app: "vm" }, healthStatus: "HEALTHY" }] },
      { locality: {}, priority: 0, loadBalancingWeight: 1, lbEndpoints: [{ address: "10.2.0.2", port: 9999, weight: 1, labels: { app: "vm" }, healthStatus: "HEALTHY" }] },
    ]);
  });
});
