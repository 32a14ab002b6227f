// Renderers and names: Istio's stats_tags extraction, the Prometheus text (families, histograms),
// Envoy's text and JSON, and the merge of `usedonly`.

import { describe, expect, it } from "vitest";
import { EnvoyTagExtractor } from "../../../src/observability/stats/envoy-tag-extractor.js";
import { listenerStatName } from "../../../src/observability/stats/listener-stats.js";
import { addSnapshot, emptySnapshot } from "../../../src/observability/stats/stats-merge.js";
import { renderEnvoyPrometheus } from "../../../src/observability/stats/stats-prometheus.js";
import { StatsStore } from "../../../src/observability/stats/stats-store.js";
import { bucketQuantile, renderStatsJson, renderStatsText } from "../../../src/observability/stats/stats-text.js";
import { ConfigUpdateStats, versionHash } from "../../../src/observability/stats/server-stats.js";

describe("EnvoyTagExtractor (Istio's bootstrap stats_tags)", () => {
  const x = new EnvoyTagExtractor();
  it.each([
    ["cluster.outbound|80||reviews.shop.svc.cluster.local.upstream_rq_total", "envoy_cluster_upstream_rq_total", [["cluster_name", "outbound|80||reviews.shop.svc.cluster.local"]]],
    ["cluster.xds-grpc.upstream_rq_200", "envoy_cluster_upstream_rq", [["cluster_name", "xds-grpc"], ["response_code", "200"]]],
    ["cluster.backend.upstream_rq_5xx", "envoy_cluster_upstream_rq", [["cluster_name", "backend"], ["response_code_class", "5xx"]]],
    ["listener.0.0.0.0_15006.downstream_cx_active", "envoy_listener_downstream_cx_active", [["listener_address", "0.0.0.0_15006"]]],
    ["listener.[__1]_80.downstream_cx_total", "envoy_listener_downstream_cx_total", [["listener_address", "[__1]_80"]]],
    ["http.10.0.0.1_8080.downstream_rq_2xx", "envoy_http_downstream_rq", [["response_code_class", "2xx"], ["http_conn_manager_prefix", "10.0.0.1_8080"]]],
    ["tcp.outbound_0.0.0.0_3306.downstream_cx_total", "envoy_tcp_downstream_cx_total", [["tcp_prefix", "outbound_0.0.0.0_3306"]]],
    ["server.memory_allocated", "envoy_server_memory_allocated", []],
    ["cluster_manager.cds.update_success", "envoy_cluster_manager_cds_update_success", []],
  ])("%s → %s", (name, family, labels) => {
    expect(x.extract(name)).toEqual({ family, labels });
  });

  it("names the snapshot defines are cut out whole, where Istio's regexes would stop at a dot", () => {
    const known = new EnvoyTagExtractor({ clusters: ["outbound|80||127.0.0.1"], httpPrefixes: ["outbound_0.0.0.0_8080"] });
    expect(known.extract("cluster.outbound|80||127.0.0.1.upstream_rq_503")).toEqual({ family: "envoy_cluster_upstream_rq", labels: [["cluster_name", "outbound|80||127.0.0.1"], ["response_code", "503"]] });
    expect(known.extract("http.outbound_0.0.0.0_8080.downstream_rq_total")).toEqual({ family: "envoy_http_downstream_rq_total", labels: [["http_conn_manager_prefix", "outbound_0.0.0.0_8080"]] });
    // Istio's regex alone keeps only what precedes the first dot.
    expect(new EnvoyTagExtractor().extract("cluster.outbound|80||127.0.0.1.upstream_rq_total").labels).toEqual([["cluster_name", "outbound|80||127"]]);
  });

  it("listener stat names: address and port, IPv6 bracketed with `:` as `_`", () => {
    expect(listenerStatName("0.0.0.0", 15001)).toBe("0.0.0.0_15001");
    expect(listenerStatName("::1", 80)).toBe("[__1]_80");
  });
});

describe("renderers", () => {
  function store(): StatsStore {
    const s = new StatsStore();
    s.counter("cluster.b.upstream_rq_200").inc(3);
    s.counter("cluster.b.upstream_rq_2xx").inc(3);
    s.counter("cluster.a\"x.upstream_rq_total");
    s.gauge("server.state").set(0);
    s.histogram("cluster.b.upstream_rq_time").record(3);
    s.histogram("cluster.b.upstream_rq_time").record(7);
    s.histogram("cluster.a.upstream_rq_time");
    return s;
  }

  it("Prometheus: one TYPE per family, escaped label values, cumulative buckets with +Inf, _sum and _count", () => {
    const out = renderEnvoyPrometheus(store().snapshot(), { usedOnly: false }, new EnvoyTagExtractor());
    expect(out).toContain('# TYPE envoy_cluster_upstream_rq counter\nenvoy_cluster_upstream_rq{cluster_name="b",response_code="200"} 3\nenvoy_cluster_upstream_rq{cluster_name="b",response_code_class="2xx"} 3\n');
    expect(out).toContain('envoy_cluster_upstream_rq_total{cluster_name="a\\"x"} 0\n');
    expect(out).toContain('envoy_cluster_upstream_rq_time_bucket{cluster_name="b",le="1"} 0\nenvoy_cluster_upstream_rq_time_bucket{cluster_name="b",le="5"} 1\nenvoy_cluster_upstream_rq_time_bucket{cluster_name="b",le="10"} 2\n');
    expect(out).toContain('envoy_cluster_upstream_rq_time_bucket{cluster_name="b",le="+Inf"} 2\nenvoy_cluster_upstream_rq_time_sum{cluster_name="b"} 10\nenvoy_cluster_upstream_rq_time_count{cluster_name="b"} 2\n');
    expect(out.match(/^# TYPE /gm)).toHaveLength(4);
    const used = renderEnvoyPrometheus(store().snapshot(), { usedOnly: true, filter: (n) => n.startsWith("cluster.") }, new EnvoyTagExtractor());
    expect(used).not.toContain('cluster_name="a');
    expect(used).not.toContain("server_state");
  });

  it("text: sorted `name: value`, then histograms with Envoy's quantiles or `No recorded values`", () => {
    expect(renderStatsText(store().snapshot(), { usedOnly: false })).toBe(
      [
        'cluster.a"x.upstream_rq_total: 0',
        "cluster.b.upstream_rq_200: 3",
        "cluster.b.upstream_rq_2xx: 3",
        "server.state: 0",
        "cluster.a.upstream_rq_time: No recorded values",
        "cluster.b.upstream_rq_time: P0(nan,1) P25(nan,3) P50(nan,5) P75(nan,7.5) P90(nan,9) P95(nan,9.5) P99(nan,9.9) P99.5(nan,9.95) P99.9(nan,9.99) P100(nan,10)",
        "",
      ].join("\n"),
    );
    expect(renderStatsText(store().snapshot(), { usedOnly: true, filter: (n) => n.endsWith("_2xx") })).toBe("cluster.b.upstream_rq_2xx: 3\n");
  });

  it("JSON: Envoy's shape; unset quantiles are null", () => {
    const j = JSON.parse(renderStatsJson(store().snapshot(), { usedOnly: false, filter: (n) => n.startsWith("cluster.a") })) as unknown;
    expect(j).toEqual({
      stats: [
        { name: 'cluster.a"x.upstream_rq_total', value: 0 },
        { histograms: { supported_quantiles: [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100], computed_quantiles: [{ name: "cluster.a.upstream_rq_time", values: Array.from({ length: 10 }, () => ({ interval: null, cumulative: null })) }] } },
      ],
    });
  });

  it("bucket quantiles interpolate inside Envoy's buckets; values past the last bound count as it", () => {
    expect(bucketQuantile([0, 0, 4], 4, 50)).toBe(3);
    const over = new Array(20).fill(0);
    over[19] = 1;
    expect(bucketQuantile(over, 1, 100)).toBe(3_600_000);
    expect(Number.isNaN(bucketQuantile([0], 0, 50))).toBe(true);
  });
});

describe("merging", () => {
  it("a stat is unused in the sum only when every worker left it unused; dead workers add no gauges", () => {
    const a = new StatsStore();
    const b = new StatsStore();
    a.counter("c1");
    b.counter("c1").inc();
    a.counter("c2");
    b.counter("c2");
    b.gauge("g").set(2);
    const sum = emptySnapshot();
    addSnapshot(sum, a.snapshot());
    addSnapshot(sum, b.snapshot());
    expect(sum.unused.sort()).toEqual(["c2"]);
    expect(sum.gauges["g"]).toBe(2);
    const retired = emptySnapshot();
    addSnapshot(retired, b.snapshot(), true);
    expect(retired.gauges).toEqual({});
    expect(retired.counters).toEqual({ c1: 1, c2: 0 });
  });
});

describe("config update stats (what pilot-agent's readiness probe reads)", () => {
  it("counts per type the update carried; a refused update naming no type counts against both", () => {
    const s = new ConfigUpdateStats();
    s.record({ origin: "files", updates: [{ type: "cluster", version: "1", kind: "state-of-the-world", resources: {} }, { type: "listener", version: "1", kind: "state-of-the-world", resources: {} }] }, true, "v1");
    s.record({ origin: "files", updates: [{ type: "cluster", version: "2", kind: "state-of-the-world", resources: {} }] }, false, "v1");
    s.record({ origin: "files", updates: [] }, false, "v1");
    expect(s.cds).toEqual({ attempt: 3, success: 1, rejected: 2, version: versionHash("v1") });
    expect(s.lds).toEqual({ attempt: 2, success: 1, rejected: 1, version: versionHash("v1") });
    expect(Number.isSafeInteger(versionHash("2026-01-01T00:00:00.000Z/7"))).toBe(true);
  });
});
