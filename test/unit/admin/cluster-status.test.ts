// /clusters from the shared state: Envoy's text lines and Clusters JSON, health flags from
// outlier ejections and EDS health, and STRICT_DNS names shown as one host per resolved address.
import { describe, expect, it } from "vitest";
import { attachHostStats, clusterStatus, clustersJson, formatClusters } from "../../../src/admin/cluster-status.js";
import type { Cluster } from "../../../src/config/model/types.js";
import { allocateClusterShared, hostBase, hostSlotShape, HostState, HW, viewClusterShared } from "../../../src/upstream/shared/cluster-shared-layout.js";
import { claimHostSlot } from "../../../src/upstream/shared/host-slot-table.js";
import { cluster } from "../../helpers/proxy.js";

function viewOf(c: Cluster) {
  const { hostSlots, tableSlots } = hostSlotShape(c);
  return viewClusterShared(allocateClusterShared(hostSlots, 1, tableSlots), hostSlots, tableSlots)!;
}

/**
 * Envoy's SimpleMetric JSON for a host: counters then gauges, proto3 style (COUNTER, the zero enum,
 * and zero values left out; uint64 as a string).
 */
function statsJson(values: Record<string, string>): Record<string, string>[] {
  const counters = ["cx_connect_fail", "cx_total", "rq_error", "rq_success", "rq_timeout", "rq_total"].map((name): Record<string, string> => (values[name] !== undefined ? { value: values[name]!, name } : { name }));
  const gauges = ["cx_active", "rq_active"].map((name): Record<string, string> => (values[name] !== undefined ? { type: "GAUGE", value: values[name]!, name } : { type: "GAUGE", name }));
  return [...counters, ...gauges];
}

describe("cluster status", () => {
  it("text: Envoy's lines per cluster and host; an ejected host shows /failed_outlier_check", () => {
    const c = cluster("outbound|80||a", [1001, 1002], { outlierDetection: { consecutive5xx: 3, enforcingConsecutive5xx: 100, consecutiveGatewayFailure: 0, enforcingConsecutiveGatewayFailure: 0, consecutiveLocalOriginFailure: 5, enforcingConsecutiveLocalOriginFailure: 100, splitExternalLocalOriginErrors: false, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 300_000, maxEjectionPercent: 10 } });
    c.loadAssignment.endpoints[0]!.locality = { region: "us-east", zone: "a" };
    const v = viewOf(c);
    Atomics.store(v.i32, hostBase(1) + HW.State, HostState.Ejected);
    Atomics.store(v.i32, hostBase(1) + HW.Ejections, 2);
    const status = clusterStatus(c, v);
    // Values in HOST_COUNTERS then HOST_GAUGES order; the host on 1001 has none (all zeros).
    attachHostStats([status], { "outbound|80||a": { "127.0.0.1:1002": [1, 4, 2, 5, 1, 6, 3, 1] } });
    const text = formatClusters([status]);
    expect(text.split("\n")).toEqual([
      "outbound|80||a::outlier::success_rate_average::-1",
      "outbound|80||a::outlier::success_rate_ejection_threshold::-1",
      "outbound|80||a::outlier::local_origin_success_rate_average::-1",
      "outbound|80||a::outlier::local_origin_success_rate_ejection_threshold::-1",
      "outbound|80||a::default_priority::max_connections::4294967295",
      "outbound|80||a::default_priority::max_pending_requests::4294967295",
      "outbound|80||a::default_priority::max_requests::4294967295",
      "outbound|80||a::default_priority::max_retries::4294967295",
      "outbound|80||a::high_priority::max_connections::1024",
      "outbound|80||a::high_priority::max_pending_requests::1024",
      "outbound|80||a::high_priority::max_requests::1024",
      "outbound|80||a::high_priority::max_retries::3",
      "outbound|80||a::added_via_api::true",
      "outbound|80||a::in_use::connections::0",
      "outbound|80||a::in_use::pending_requests::0",
      "outbound|80||a::in_use::requests::0",
      "outbound|80||a::in_use::retries::0",
      "outbound|80||a::outlier_detection::true",
      ...["1001", "1002"].flatMap((p) => {
        const h = `outbound|80||a::127.0.0.1:${p}`;
        // Envoy's text sorts the host stats by name (one std::map of counters and gauges).
        const v = p === "1002" ? { cx_active: 3, cx_connect_fail: 1, cx_total: 4, rq_active: 1, rq_error: 2, rq_success: 5, rq_timeout: 1, rq_total: 6 } : undefined;
        const stats = ["cx_active", "cx_connect_fail", "cx_total", "rq_active", "rq_error", "rq_success", "rq_timeout", "rq_total"].map((n) => `${h}::${n}::${v?.[n as keyof typeof v] ?? 0}`);
        return [...stats, `${h}::hostname::`, `${h}::health_flags::${p === "1002" ? "/failed_outlier_check" : "healthy"}`, `${h}::weight::1`, `${h}::region::us-east`, `${h}::zone::a`, `${h}::sub_zone::`, `${h}::canary::false`, `${h}::priority::0`, `${h}::success_rate::-1`, `${h}::local_origin_success_rate::-1`, `${h}::outlier_ejections::${p === "1002" ? 2 : 0}`];
      }),
      "",
    ]);
  });

  it("STRICT_DNS: one host per address the name resolved to, with the name as hostname; JSON ClusterStatuses", () => {
    const c = cluster("outbound|443||api.example.com", [], { type: "STRICT_DNS" });
    c.loadAssignment.endpoints[0]!.lbEndpoints = [{ address: "api.example.com", port: 443, weight: 1, labels: {}, healthStatus: "HEALTHY" }];
    const v = viewOf(c);
    claimHostSlot(v, 0, "10.0.0.7", 443);
    claimHostSlot(v, 0, "2001:db8::7", 443);
    const s = clusterStatus(c, v);
    attachHostStats([s], { "outbound|443||api.example.com": { "[2001:db8::7]:443": [0, 2, 0, 7, 1, 7, 1, 0] } });
    expect(s.hosts.map((h) => [h.address, h.hostname])).toEqual([
      ["10.0.0.7:443", "api.example.com"],
      ["[2001:db8::7]:443", "api.example.com"],
    ]);
    expect(formatClusters([s])).toContain("outbound|443||api.example.com::[2001:db8::7]:443::hostname::api.example.com\n");
    expect(clustersJson([s])).toEqual({
      cluster_statuses: [
        {
          name: "outbound|443||api.example.com",
          added_via_api: true,
          circuit_breakers: {
            thresholds: [
              { max_connections: 4294967295, max_pending_requests: 4294967295, max_requests: 4294967295, max_retries: 4294967295 },
              { priority: "HIGH", max_connections: 1024, max_pending_requests: 1024, max_requests: 1024, max_retries: 3 },
            ],
          },
          host_statuses: [
            { address: { socket_address: { address: "10.0.0.7", port_value: 443 } }, stats: statsJson({}), health_status: { eds_health_status: "HEALTHY" }, weight: 1, hostname: "api.example.com" },
            { address: { socket_address: { address: "2001:db8::7", port_value: 443 } }, stats: statsJson({ cx_total: "2", rq_success: "7", rq_timeout: "1", rq_total: "7", cx_active: "1" }), health_status: { eds_health_status: "HEALTHY" }, weight: 1, hostname: "api.example.com" },
          ],
        },
      ],
    });
  });

  it("EDS health shows in health_flags; an unresolved name shows no host", () => {
    const c = cluster("c", [1]);
    c.loadAssignment.endpoints[0]!.lbEndpoints[0]!.healthStatus = "UNHEALTHY";
    expect(formatClusters([clusterStatus(c, viewOf(c))])).toContain("c::127.0.0.1:1::health_flags::/failed_eds_health\n");
    const d = cluster("d", [], { type: "STRICT_DNS" });
    d.loadAssignment.endpoints[0]!.lbEndpoints = [{ address: "nowhere.example", port: 80, weight: 1, labels: {}, healthStatus: "HEALTHY" }];
    expect(clusterStatus(d, viewOf(d)).hosts).toEqual([]);
  });
});
