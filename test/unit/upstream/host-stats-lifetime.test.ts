// Per-host stats (/clusters) in a worker's ClusterManager: a host keeps its stats across config
// changes while it stays in its cluster (Istio moves endpoints by EDS, which keeps Envoy's hosts),
// hosts that leave and clusters that go are forgotten, and they travel in the worker's snapshot.

import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../src/common/logger.js";
import { seededRandom } from "../../../src/common/random.js";
import type { Cluster } from "../../../src/config/model/types.js";
import { StatsStore } from "../../../src/observability/stats/stats-store.js";
import { ClusterManager } from "../../../src/upstream/cluster-manager.js";
import { FakeClock } from "./shared/helpers.js";

function cluster(name: string, ips: string[], connectTimeoutMs = 1000): Cluster {
  const lbEndpoints = ips.map((address) => ({ address, port: 80, weight: 1, labels: {}, healthStatus: "HEALTHY" as const }));
  return { name, type: "STATIC", lbPolicy: "ROUND_ROBIN", connectTimeoutMs, loadAssignment: { endpoints: [{ locality: {}, priority: 0, lbEndpoints }] } };
}

let cm: ClusterManager | undefined;
afterEach(() => cm?.close());

describe("per-host stats in the cluster manager", () => {
  it("kept across a config change while the host stays; dropped when the host or the cluster goes", () => {
    const stats = new StatsStore();
    cm = new ClusterManager(seededRandom(1), createLogger("off"), 0, new FakeClock(), { stats });
    cm.update({ a: cluster("a", ["10.0.0.1", "10.0.0.2"]), b: cluster("b", ["10.0.0.9"]) });
    const [h1, h2] = cm.get("a")!.hosts;
    h1!.stats.rqTotal = 3;
    h2!.stats.rqError = 1;
    // The pools count connections on the same object the host carries.
    expect(h1!.pool.hostStats).toBe(h1!.stats);
    // A changed cluster (new timeout, one endpoint gone): a new runtime, the staying host's stats kept.
    cm.update({ a: cluster("a", ["10.0.0.1"], 2000), b: cluster("b", ["10.0.0.9"]) });
    const rt = cm.get("a")!;
    expect(rt.hosts[0]!.stats).toBe(h1!.stats);
    expect(stats.snapshot().hosts).toEqual({ a: { "10.0.0.1:80": [0, 0, 0, 0, 0, 3, 0, 0] }, b: { "10.0.0.9:80": [0, 0, 0, 0, 0, 0, 0, 0] } });
    cm.update({ a: cluster("a", ["10.0.0.1"], 2000) });
    expect(Object.keys(stats.snapshot().hosts!)).toEqual(["a"]);
  });

  it("a TCP proxy pool counts on its host's stats", () => {
    const stats = new StatsStore();
    cm = new ClusterManager(seededRandom(1), createLogger("off"), 0, new FakeClock(), { stats });
    cm.update({ a: cluster("a", ["10.0.0.1"]) });
    const rt = cm.get("a")!;
    expect(rt.tcpPoolOf(rt.hosts[0]!).hostStats).toBe(rt.hosts[0]!.stats);
  });
});
