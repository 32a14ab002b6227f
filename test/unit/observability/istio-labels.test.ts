// Pure pieces of istio.stats: destination service from Istio cluster names, gRPC status labels,
// Envoy's bucket labels, and the registry rendering of the families (reset keeps bound series).

import { describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import { grpcStatusLabel, isGrpcContentType, serviceFromCluster } from "../../../src/observability/metrics/istio-labels.js";
import { CounterFamily, envoyBucketLabel, HistogramFamily, observe } from "../../../src/observability/metrics/metric-families.js";

describe("destination service from the cluster name", () => {
  it.each([
    ["outbound|9080|v1|reviews.shop.svc.cluster.local", { host: "reviews.shop.svc.cluster.local", name: "reviews", namespace: "shop" }],
    ["outbound|443||api.example.com", { host: "api.example.com", name: "api.example.com", namespace: "" }],
    ["PassthroughCluster", { host: "", name: "PassthroughCluster", namespace: "" }],
    ["BlackHoleCluster", { host: "", name: "BlackHoleCluster", namespace: "" }],
    ["InboundPassthroughClusterIpv4", { host: "", name: "InboundPassthroughClusterIpv4", namespace: "" }],
    ["inbound|9080||", undefined],
    ["backend", undefined],
  ])("%s", (name, want) => {
    expect(serviceFromCluster(name)).toEqual(want);
  });
});

describe("gRPC", () => {
  it("recognises gRPC content types as Envoy does (not gRPC-Web)", () => {
    expect(["application/grpc", "application/grpc+proto", "application/grpc;charset=utf-8"].map(isGrpcContentType)).toEqual([true, true, true]);
    expect(["application/grpc-web", "application/json", undefined].map(isGrpcContentType)).toEqual([false, false, false]);
  });

  it("takes grpc-status from trailers, then headers, then maps the HTTP status", () => {
    expect(grpcStatusLabel("3", "5", 200)).toBe("3");
    expect(grpcStatusLabel(undefined, "5", 200)).toBe("5");
    expect([400, 401, 403, 404, 429, 502, 503, 504, 500, 200].map((c) => grpcStatusLabel(undefined, undefined, c))).toEqual(["13", "16", "7", "12", "14", "14", "14", "14", "2", "2"]);
    expect(grpcStatusLabel(undefined, undefined, 0)).toBe("");
    expect(grpcStatusLabel("abc", undefined, 200)).toBe("18446744073709551615");
  });
});

describe("families on a prom-client registry", () => {
  it("renders bucket bounds as Envoy does", () => {
    expect([0.5, 1, 600000, 1800000, 3600000].map(envoyBucketLabel)).toEqual(["0.5", "1", "600000", "1.8e+06", "3.6e+06"]);
  });

  it("renders counters and cumulative histograms, and caps series", async () => {
    const r = new Registry();
    const c = new CounterFamily(r, "t_total", "help", 2);
    const h = new HistogramFamily(r, "t_ms", "help", 2);
    c.series("a", () => ({ k: "a" }))!.value += 3;
    c.series("b", () => ({ k: "b" }))!.value += 1;
    expect(c.series("c", () => ({ k: "c" }))).toBeUndefined();
    const s = h.series("a", () => ({ k: "a" }))!;
    observe(s, 0);
    observe(s, 7);
    observe(s, 5_000_000);
    const text = await r.metrics();
    expect(text).toContain('# TYPE t_total counter\nt_total{k="a"} 3\nt_total{k="b"} 1\n');
    expect(text).toContain('t_ms_bucket{k="a",le="5"} 1\nt_ms_bucket{k="a",le="10"} 2\n');
    expect(text).toContain('t_ms_bucket{k="a",le="3.6e+06"} 2\nt_ms_bucket{k="a",le="+Inf"} 3\nt_ms_sum{k="a"} 5000007\nt_ms_count{k="a"} 3');
    r.resetMetrics();
    c.series("a", () => ({ k: "a" }))!.value++;
    expect(await r.getSingleMetricAsString("t_total")).toContain('t_total{k="a"} 1\nt_total{k="b"} 0');
    expect((await r.getMetricsAsJSON()).map((m) => m.name)).toEqual(["t_total", "t_ms"]);
  });
});

describe("the cross-worker merge", () => {
  it("sums two workers' families with prom-client's AggregatorRegistry", async () => {
    const workers = [new Registry(), new Registry()].map((r) => {
      const c = new CounterFamily(r, "t_total", "help", 10);
      const h = new HistogramFamily(r, "t_ms", "help", 10);
      c.series("a", () => ({ k: "a" }))!.value += 2;
      observe(h.series("a", () => ({ k: "a" }))!, 3);
      return r;
    });
    const { AggregatorRegistry } = await import("prom-client");
    const merged = AggregatorRegistry.aggregate(await Promise.all(workers.map((w) => w.getMetricsAsJSON())));
    const text = await merged.metrics();
    expect(text).toContain('t_total{k="a"} 4');
    expect(text).toContain('t_ms_bucket{k="a",le="5"} 2');
    expect(text).toContain('t_ms_bucket{k="a",le="+Inf"} 2');
    expect(text).toContain('t_ms_sum{k="a"} 6');
  });
});
