// DestinationRule traffic policy → cluster fields (LB, circuit breakers, connection options,
// outlier detection, slow start) and locality priorities / weights, as istiod writes them.
import { describe, expect, it } from "vitest";
import type { TranslateOptions } from "../../../src/config/istio/translate.js";
import type { Cluster } from "../../../src/config/model/types.js";
import { doc, reviewsSE, run, se } from "./helpers.js";

const MAX = 4294967295;
const REVIEWS = "outbound|9080||reviews.shop.svc.cluster.local";

function clusterOf(drBody: string, name = REVIEWS, opts: Partial<TranslateOptions> = {}, svc = reviewsSE): Cluster {
  const r = run(svc + doc("DestinationRule", "reviews", "shop", `  host: reviews\n${drBody}`), opts);
  expect(r.messages).toEqual([]);
  const c = r.snapshot.clusters[name];
  if (!c) throw new Error(`no cluster ${name}: ${Object.keys(r.snapshot.clusters).join(", ")}`);
  return c;
}

describe("load balancer", () => {
  it("simple: ROUND_ROBIN, RANDOM, LEAST_REQUEST, deprecated LEAST_CONN → LEAST_REQUEST, unset → LEAST_REQUEST", () => {
    const lb = (s: string) => clusterOf(`  trafficPolicy:\n    loadBalancer: {simple: ${s}}`).lbPolicy;
    expect(lb("ROUND_ROBIN")).toBe("ROUND_ROBIN");
    expect(lb("RANDOM")).toBe("RANDOM");
    expect(lb("LEAST_REQUEST")).toBe("LEAST_REQUEST");
    expect(lb("LEAST_CONN")).toBe("LEAST_REQUEST");
    expect(lb("UNSPECIFIED")).toBe("LEAST_REQUEST");
    expect(run(reviewsSE).snapshot.clusters[REVIEWS]!.lbPolicy).toBe("LEAST_REQUEST");
  });

  it("consistentHash: RING_HASH with Envoy's 1024 / 8M ring by default, ringHash or deprecated minimumRingSize; maglev table size", () => {
    const c = (ch: string) => clusterOf(`  trafficPolicy:\n    loadBalancer: {consistentHash: ${ch}}`);
    expect(c("{httpHeaderName: x}")).toMatchObject({ lbPolicy: "RING_HASH", ringHashLbConfig: { minimumRingSize: 1024, maximumRingSize: 8388608 } });
    expect(c("{httpHeaderName: x, ringHash: {minimumRingSize: 4096}}").ringHashLbConfig).toEqual({ minimumRingSize: 4096, maximumRingSize: 8388608 });
    expect(c("{httpHeaderName: x, ringHash: {}}").ringHashLbConfig).toEqual({ minimumRingSize: 1024, maximumRingSize: 8388608 });
    const r = run(reviewsSE + doc("DestinationRule", "reviews", "shop", "  host: reviews\n  trafficPolicy:\n    loadBalancer: {consistentHash: {httpHeaderName: x, minimumRingSize: 2048}}"));
    expect(r.snapshot.clusters[REVIEWS]!.ringHashLbConfig).toEqual({ minimumRingSize: 2048, maximumRingSize: 8388608 });
    const m = c("{useSourceIp: true, maglev: {tableSize: 131}}");
    expect(m).toMatchObject({ lbPolicy: "MAGLEV", maglevLbConfig: { tableSize: 131 } });
    expect(m.ringHashLbConfig).toBeUndefined();
  });

  it("warmup → slow start (API defaults aggression 1, minimumPercent 10); warmupDurationSecs too; only for RR / least request", () => {
    expect(clusterOf("  trafficPolicy:\n    loadBalancer: {simple: ROUND_ROBIN, warmup: {duration: 30s, aggression: 2, minimumPercent: 20}}").slowStart).toEqual({ windowMs: 30000, aggression: 2, minWeightPercent: 20 });
    expect(clusterOf("  trafficPolicy:\n    loadBalancer: {warmup: {duration: 10s}}").slowStart).toEqual({ windowMs: 10000, aggression: 1, minWeightPercent: 10 });
    expect(clusterOf("  trafficPolicy:\n    loadBalancer: {simple: LEAST_REQUEST, warmupDurationSecs: 15s}").slowStart).toEqual({ windowMs: 15000, aggression: 1, minWeightPercent: 10 });
    expect(clusterOf("  trafficPolicy:\n    loadBalancer: {simple: RANDOM, warmup: {duration: 10s}}").slowStart).toBeUndefined();
    const r = run(reviewsSE + doc("DestinationRule", "reviews", "shop", "  host: reviews\n  trafficPolicy:\n    loadBalancer: {warmup: {duration: 10s}}"));
    expect(r.warningMessages.filter((w) => w.includes("warmup"))).toEqual([]);
  });

  it("warmup validation", () => {
    const r = run(doc("DestinationRule", "reviews", "shop", "  host: reviews\n  trafficPolicy:\n    loadBalancer: {warmup: {aggression: 0.5, minimumPercent: 120}}"));
    expect(r.messages).toEqual([
      "mesh/config.yaml:9: spec.trafficPolicy.loadBalancer.warmup.duration: warmup duration is required",
      "mesh/config.yaml:9: spec.trafficPolicy.loadBalancer.warmup.minimumPercent: minimumPercent 120 is not in range 0..100",
      "mesh/config.yaml:9: spec.trafficPolicy.loadBalancer.warmup.aggression: aggression must be at least 1, got 0.5",
    ]);
  });
});

describe("connection pool", () => {
  it("circuit breakers are on every outbound cluster with Istio's 4294967295 defaults", () => {
    const r = run(reviewsSE);
    expect(r.snapshot.clusters[REVIEWS]!.circuitBreakers).toEqual({ maxConnections: MAX, maxPendingRequests: MAX, maxRequests: MAX, maxRetries: MAX });
    expect(r.snapshot.clusters[REVIEWS]!.outlierDetection).toBeUndefined();
    expect(r.snapshot.clusters[REVIEWS]!.healthyPanicThreshold).toBeUndefined();
  });

  it("tcp.maxConnections, http1MaxPendingRequests, http2MaxRequests, maxRetries; 0 keeps the default (istiod cannot tell 0 from unset)", () => {
    const c = clusterOf(
      "  trafficPolicy:\n    connectionPool:\n      tcp: {maxConnections: 10}\n      http: {http1MaxPendingRequests: 5, http2MaxRequests: 50, maxRetries: 0, maxRequestsPerConnection: 100}",
    );
    expect(c.circuitBreakers).toEqual({ maxConnections: 10, maxPendingRequests: 5, maxRequests: 50, maxRetries: MAX });
    expect(c.httpProtocolOptions).toEqual({ commonHttpProtocolOptions: { maxRequestsPerConnection: 100 } });
    expect(clusterOf("  trafficPolicy:\n    connectionPool:\n      http: {maxRetries: 3, maxRequestsPerConnection: 0}").circuitBreakers!.maxRetries).toBe(3);
    expect(clusterOf("  trafficPolicy:\n    connectionPool:\n      http: {maxRequestsPerConnection: 0}").httpProtocolOptions).toBeUndefined();
  });

  it("connectTimeout, idle timeout (http, else tcp), tcpKeepalive (whole seconds), maxConnectionDuration", () => {
    const c = clusterOf(
      "  trafficPolicy:\n    connectionPool:\n      tcp: {connectTimeout: 250ms, idleTimeout: 2m, maxConnectionDuration: 1h, tcpKeepalive: {probes: 3, time: 7200s, interval: 75500ms}}",
    );
    expect(c).toMatchObject({
      connectTimeoutMs: 250,
      httpProtocolOptions: { commonHttpProtocolOptions: { idleTimeoutMs: 120000, maxConnectionDurationMs: 3600000 } },
      upstreamConnectionOptions: { tcpKeepalive: { keepaliveProbes: 3, keepaliveTimeMs: 7200000, keepaliveIntervalMs: 75000 } },
    });
    expect(clusterOf("  trafficPolicy:\n    connectionPool:\n      tcp: {idleTimeout: 2m}\n      http: {idleTimeout: 30s}").httpProtocolOptions?.commonHttpProtocolOptions?.idleTimeoutMs).toBe(30000);
  });

  it("h2UpgradePolicy UPGRADE → explicit HTTP/2 protocol options; useClientProtocol → downstream protocol", () => {
    expect(clusterOf("  trafficPolicy:\n    connectionPool:\n      http: {h2UpgradePolicy: UPGRADE}").httpProtocolOptions).toEqual({ explicitHttpConfig: { http2ProtocolOptions: {} } });
    expect(clusterOf("  trafficPolicy:\n    connectionPool:\n      http: {useClientProtocol: true}").httpProtocolOptions).toEqual({ useDownstreamProtocolConfig: { httpProtocolOptions: {}, http2ProtocolOptions: {} } });
    expect(clusterOf("  trafficPolicy:\n    connectionPool:\n      http: {h2UpgradePolicy: DO_NOT_UPGRADE}").httpProtocolOptions).toBeUndefined();
  });

  it("port level replaces the top level; subset overrides its parent", () => {
    const body = `  trafficPolicy:
    connectionPool: {tcp: {maxConnections: 1}}
    portLevelSettings:
    - port: {number: 9080}
      connectionPool: {http: {http2MaxRequests: 7}}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      connectionPool: {http: {maxRetries: 9}}`;
    expect(clusterOf(body).circuitBreakers).toEqual({ maxConnections: MAX, maxPendingRequests: MAX, maxRequests: 7, maxRetries: MAX });
    expect(clusterOf(body, "outbound|9080|v1|reviews.shop.svc.cluster.local").circuitBreakers).toEqual({ maxConnections: MAX, maxPendingRequests: MAX, maxRequests: MAX, maxRetries: 9 });
  });
});

describe("outlier detection", () => {
  it("defaults: Envoy's 5 consecutive 5xx (enforced), gateway errors tracked but not enforced, 10 s / 30 s / 300 s / 10%, panic threshold 0", () => {
    const c = clusterOf("  trafficPolicy:\n    outlierDetection: {}");
    expect(c.outlierDetection).toEqual({
      consecutive5xx: 5,
      enforcingConsecutive5xx: 100,
      consecutiveGatewayFailure: 5,
      enforcingConsecutiveGatewayFailure: 0,
      consecutiveLocalOriginFailure: 5,
      enforcingConsecutiveLocalOriginFailure: 100,
      splitExternalLocalOriginErrors: false,
      intervalMs: 10000,
      baseEjectionTimeMs: 30000,
      maxEjectionTimeMs: 300000,
      maxEjectionPercent: 10,
    });
    expect(c.healthyPanicThreshold).toBe(0);
  });

  it("every field, as istiod maps it", () => {
    const c = clusterOf(
      "  trafficPolicy:\n    outlierDetection: {consecutive5xxErrors: 0, consecutiveGatewayErrors: 3, consecutiveLocalOriginFailures: 2, splitExternalLocalOriginErrors: true, interval: 1s, baseEjectionTime: 10m, maxEjectionPercent: 50, minHealthPercent: 30}",
    );
    expect(c.outlierDetection).toEqual({
      consecutive5xx: 0,
      enforcingConsecutive5xx: 0,
      consecutiveGatewayFailure: 3,
      enforcingConsecutiveGatewayFailure: 100,
      consecutiveLocalOriginFailure: 2,
      enforcingConsecutiveLocalOriginFailure: 100,
      splitExternalLocalOriginErrors: true,
      intervalMs: 1000,
      // Envoy's max ejection time is 300 s or the base, whichever is larger.
      baseEjectionTimeMs: 600000,
      maxEjectionTimeMs: 600000,
      maxEjectionPercent: 50,
    });
    expect(c.healthyPanicThreshold).toBe(30);
    expect(clusterOf("  trafficPolicy:\n    outlierDetection: {consecutive5xxErrors: 7, consecutiveGatewayErrors: 0}").outlierDetection).toMatchObject({
      consecutive5xx: 7,
      enforcingConsecutive5xx: 100,
      consecutiveGatewayFailure: 0,
      enforcingConsecutiveGatewayFailure: 0,
    });
  });

  it("deprecated consecutiveErrors is ignored by current istiod (warning only)", () => {
    const r = run(reviewsSE + doc("DestinationRule", "reviews", "shop", "  host: reviews\n  trafficPolicy:\n    outlierDetection: {consecutiveErrors: 2}"));
    expect(r.snapshot.clusters[REVIEWS]!.outlierDetection).toMatchObject({ consecutive5xx: 5, consecutiveGatewayFailure: 5, enforcingConsecutiveGatewayFailure: 0 });
  });
});

describe("locality load balancing", () => {
  // Five endpoints in four localities; the proxy sits in us-east/a/r1.
  const multiSE = se(
    "reviews",
    "shop",
    `  hosts: [reviews.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 9080, name: http, protocol: HTTP}
  endpoints:
  - {address: 10.0.0.1, locality: us-east/a/r1, labels: {version: v1}}
  - {address: 10.0.0.2, locality: us-east/a/r2, labels: {version: v1}}
  - {address: 10.0.0.3, locality: us-east/b, labels: {version: v2}, weight: 2}
  - {address: 10.0.0.4, locality: us-west/c, labels: {version: v1}}
  - {address: 10.0.0.5, locality: eu-west/d, labels: {version: v2}}`,
  );
  const here = { proxyLocality: { region: "us-east", zone: "a", subZone: "r1" } };
  const prio = (c: Cluster) => c.loadAssignment.endpoints.map((g) => [g.lbEndpoints.map((e) => e.address).join(","), g.priority]);

  it("without outlier detection every locality stays at priority 0 (failover needs it), no locality weighted LB", () => {
    const c = clusterOf("  trafficPolicy:\n    loadBalancer: {simple: ROUND_ROBIN}", REVIEWS, here, multiSE);
    expect(prio(c)).toEqual([["10.0.0.1", 0], ["10.0.0.2", 0], ["10.0.0.3", 0], ["10.0.0.4", 0], ["10.0.0.5", 0]]);
    expect(c.localityWeightedLb).toBeUndefined();
    expect(c.loadAssignment.endpoints.map((g) => g.loadBalancingWeight)).toEqual([1, 1, 2, 1, 1]);
  });

  it("with outlier detection (mesh default: enabled): 0 same subzone, 1 same zone, 2 same region, 3 elsewhere", () => {
    const c = clusterOf("  trafficPolicy:\n    outlierDetection: {consecutive5xxErrors: 3}", REVIEWS, here, multiSE);
    expect(prio(c)).toEqual([["10.0.0.1", 0], ["10.0.0.2", 1], ["10.0.0.3", 2], ["10.0.0.4", 3], ["10.0.0.5", 3]]);
    expect(c.localityWeightedLb).toBeUndefined();
  });

  it("priorities are made contiguous as istiod does (no gaps)", () => {
    const c = clusterOf("  trafficPolicy:\n    outlierDetection: {}", REVIEWS, { proxyLocality: { region: "us-west", zone: "c" } }, multiSE);
    expect(prio(c)).toEqual([["10.0.0.1", 1], ["10.0.0.2", 1], ["10.0.0.3", 1], ["10.0.0.4", 0], ["10.0.0.5", 1]]);
  });

  it("failover from/to: the named region next, every other region after it; locality weighted LB on", () => {
    const c = clusterOf(
      "  trafficPolicy:\n    outlierDetection: {}\n    loadBalancer:\n      localityLbSetting:\n        failover: [{from: us-east, to: eu-west}]",
      REVIEWS,
      here,
      multiSE,
    );
    expect(prio(c)).toEqual([["10.0.0.1", 0], ["10.0.0.2", 1], ["10.0.0.3", 2], ["10.0.0.4", 4], ["10.0.0.5", 3]]);
    expect(c.localityWeightedLb).toBe(true);
  });

  it("enabled: false turns locality LB off (all priority 0 even with outlier detection)", () => {
    const c = clusterOf("  trafficPolicy:\n    outlierDetection: {}\n    loadBalancer:\n      localityLbSetting: {enabled: false}", REVIEWS, here, multiSE);
    expect(prio(c).map((x) => x[1])).toEqual([0, 0, 0, 0, 0]);
  });

  it("failoverPriority labels split localities by label match (proxy labels, `label=value` overrides, topology labels)", () => {
    const c = clusterOf(
      "  trafficPolicy:\n    outlierDetection: {}\n    loadBalancer:\n      localityLbSetting:\n        failoverPriority: [version, topology.kubernetes.io/region]",
      REVIEWS,
      { ...here, proxyLabels: { app: "web", version: "v1" } },
      multiSE,
    );
    // version matches and region matches → 0; version matches, region differs → 1; version differs → 2.
    expect(prio(c)).toEqual([["10.0.0.1", 0], ["10.0.0.2", 0], ["10.0.0.3", 2], ["10.0.0.4", 1], ["10.0.0.5", 2]]);
    const o = clusterOf(
      "  trafficPolicy:\n    outlierDetection: {}\n    loadBalancer:\n      localityLbSetting:\n        failoverPriority: [version=v2]",
      REVIEWS,
      { ...here, proxyLabels: { app: "web", version: "v1" } },
      multiSE,
    );
    expect(prio(o)).toEqual([["10.0.0.1", 1], ["10.0.0.2", 1], ["10.0.0.3", 0], ["10.0.0.4", 1], ["10.0.0.5", 0]]);
    expect(o.localityWeightedLb).toBe(true);
  });

  it("distribute: weights per locality (wildcards share by endpoint weight), unnamed localities emptied, locality weighted LB on", () => {
    const c = clusterOf(
      "  trafficPolicy:\n    loadBalancer:\n      localityLbSetting:\n        distribute:\n        - from: us-east/a/*\n          to: {us-east/a/*: 60, us-east/b: 30, us-west/*: 10}",
      REVIEWS,
      here,
      multiSE,
    );
    expect(c.localityWeightedLb).toBe(true);
    expect(c.loadAssignment.endpoints.map((g) => [g.lbEndpoints.map((e) => e.address).join(","), g.loadBalancingWeight, g.priority])).toEqual([
      ["10.0.0.1", 30, 0],
      ["10.0.0.2", 30, 0],
      ["10.0.0.3", 30, 0],
      ["10.0.0.4", 10, 0],
      ["", 1, 0],
    ]);
    // A proxy the `from` does not match keeps the plain weights.
    const other = clusterOf(
      "  trafficPolicy:\n    loadBalancer:\n      localityLbSetting:\n        distribute:\n        - from: us-east/a/*\n          to: {us-east/a/*: 100}",
      REVIEWS,
      { proxyLocality: { region: "eu-west" } },
      multiSE,
    );
    expect(other.loadAssignment.endpoints.map((g) => g.loadBalancingWeight)).toEqual([1, 1, 2, 1, 1]);
  });

  it("endpoint weights are carried; subsets keep their own locality groups", () => {
    const c = clusterOf("  subsets:\n  - name: v2\n    labels: {version: v2}", "outbound|9080|v2|reviews.shop.svc.cluster.local", here, multiSE);
    expect(c.loadAssignment.endpoints.map((g) => [g.locality, g.loadBalancingWeight, g.lbEndpoints.map((e) => e.weight)])).toEqual([
      [{ region: "us-east", zone: "b" }, 2, [2]],
      [{ region: "eu-west", zone: "d" }, 1, [1]],
    ]);
  });
});
