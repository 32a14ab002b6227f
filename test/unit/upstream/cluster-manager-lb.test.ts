// ClusterManager's host selection: hosts of every priority from the model, policy resolution,
// locality weights, and slow start for hosts added to an existing cluster.

import { outlierConfig } from "../../helpers/outlier-config.js";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../src/common/logger.js";
import { seededRandom } from "../../../src/common/random.js";
import type { Cluster, LocalityLbEndpoints } from "../../../src/config/model/types.js";
import { ClusterManager, lbConfigOf, lbPolicyOf } from "../../../src/upstream/cluster-manager.js";
import { FakeClock } from "./shared/helpers.js";

function endpoints(priority: number, ips: string[], zone = "z", loadBalancingWeight?: number): LocalityLbEndpoints {
  const g: LocalityLbEndpoints = { locality: { region: "r", zone }, priority, lbEndpoints: ips.map((address) => ({ address, port: 80, weight: 1, labels: {}, healthStatus: "HEALTHY" as const })) };
  if (loadBalancingWeight !== undefined) g.loadBalancingWeight = loadBalancingWeight;
  return g;
}

function cluster(groups: LocalityLbEndpoints[], over: Partial<Cluster> = {}): Cluster {
  return { name: "c", type: "STATIC", lbPolicy: "ROUND_ROBIN", connectTimeoutMs: 1000, loadAssignment: { endpoints: groups }, ...over };
}

let cm: ClusterManager | undefined;
afterEach(() => cm?.close());

function manager(clock = new FakeClock()): ClusterManager {
  cm = new ClusterManager(seededRandom(1), createLogger("off"), 0, clock);
  return cm;
}

describe("ClusterManager host selection", () => {
  it("keeps hosts of every priority and fails over when P0 is ejected", () => {
    const m = manager();
    const outlierDetection = outlierConfig({ consecutive5xx: 1, maxEjectionPercent: 100 });
    m.update({ c: cluster([endpoints(0, ["10.0.0.1"]), endpoints(1, ["10.0.1.1"])], { outlierDetection }) });
    const rt = m.get("c")!;
    expect(rt.hosts.map((h) => h.key)).toEqual(["10.0.0.1:80", "10.0.1.1:80"]);
    expect(rt.chooseHost({})!.key).toBe("10.0.0.1:80");
    // Ejected by the outlier detector: the balancer sees it through the health epoch.
    rt.outlier.report(rt.hosts[0]!, { kind: "response", status: 503 });
    expect(rt.hosts[0]!.isEjected()).toBe(true);
    // P0 health 0, P1 100: all traffic to P1 (no panic: the total is 100).
    for (let i = 0; i < 10; i++) expect(rt.chooseHost({})!.key).toBe("10.0.1.1:80");
  });

  it("balances localities by loadBalancingWeight when locality-weighted", () => {
    const m = manager();
    m.update({ c: cluster([endpoints(0, ["10.0.0.1"], "a", 1), endpoints(0, ["10.0.0.2"], "b", 3)], { localityWeightedLb: true }) });
    const rt = m.get("c")!;
    const counts = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const k = rt.chooseHost({})!.key;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    expect(counts.get("10.0.0.1:80")).toBe(100);
    expect(counts.get("10.0.0.2:80")).toBe(300);
  });

  it("ramps hosts added to an existing cluster, not the first ones", () => {
    const clock = new FakeClock();
    const m = manager(clock);
    const slowStart = { windowMs: 10_000, aggression: 1, minWeightPercent: 10 };
    m.update({ c: cluster([endpoints(0, ["10.0.0.1", "10.0.0.2"])], { slowStart }) });
    const first = m.get("c")!;
    const share = (key: string): number => {
      let n = 0;
      for (let i = 0; i < 1_100; i++) if (m.get("c")!.chooseHost({})!.key === key) n++;
      return n / 1_100;
    };
    expect(share("10.0.0.2:80")).toBe(0.5);
    m.update({ c: cluster([endpoints(0, ["10.0.0.1", "10.0.0.2", "10.0.0.3"])], { slowStart }) });
    expect(m.get("c")).not.toBe(first);
    clock.advance(500);
    // New host at 10 %: 0.1 / 2.1 of the picks.
    expect(Math.abs(share("10.0.0.3:80") - 0.1 / 2.1)).toBeLessThan(0.01);
    clock.advance(10_000);
    expect(Math.abs(share("10.0.0.3:80") - 1 / 3)).toBeLessThan(0.01);
  });
});

describe("lbPolicyOf / lbConfigOf", () => {
  it("reads only the Envoy fields of the model", () => {
    expect(lbPolicyOf(cluster([], { lbPolicy: "MAGLEV" }))).toBe("MAGLEV");
    expect(lbPolicyOf(cluster([], { lbPolicy: "RANDOM" }))).toBe("RANDOM");
    expect(lbPolicyOf(cluster([], { lbPolicy: "CLUSTER_PROVIDED" }))).toBe("LEAST_REQUEST");
    const slowStart = { windowMs: 30_000, aggression: 1, minWeightPercent: 10 };
    const cfg = lbConfigOf(cluster([], { lbPolicy: "RING_HASH", ringHashLbConfig: { minimumRingSize: 2048, maximumRingSize: 4096 }, healthyPanicThreshold: 0, slowStart }));
    expect(cfg).toEqual({ policy: "RING_HASH", localityWeighted: false, healthyPanicThreshold: 0, ringHash: { minimumRingSize: 2048, maximumRingSize: 4096 }, slowStart });
    // 0 sizes mean Envoy's defaults (1024 / 8M); maglev without a table size uses the LB's default.
    expect(lbConfigOf(cluster([], { lbPolicy: "RING_HASH", ringHashLbConfig: { minimumRingSize: 0, maximumRingSize: 0 } })).ringHash).toEqual({ minimumRingSize: 1024, maximumRingSize: 8_388_608 });
    expect(lbConfigOf(cluster([], { lbPolicy: "MAGLEV", maglevLbConfig: { tableSize: 0 } })).maglevTableSize).toBeUndefined();
  });
});
