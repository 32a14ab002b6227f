// Priorities, health and panic: Envoy's priority load with the 1.4 overprovisioning factor.

import { describe, expect, it } from "vitest";
import { computePriorityLoad, levelHealth } from "../../../src/upstream/priority-load.js";
import { clusterLb, countPicks, eject, group, hosts } from "./lb-helpers.js";

describe("computePriorityLoad", () => {
  it("gives everything to a healthy P0", () => {
    expect(computePriorityLoad([{ total: 5, healthy: 5 }, { total: 5, healthy: 5 }], 50)).toEqual({ load: [100, 0], panic: [false, false], available: true });
  });

  it("spills what P0's health (1.4 × healthy/total) cannot take: 3 of 5 → 84 / 16", () => {
    expect(levelHealth({ total: 5, healthy: 3 })).toBe(84);
    expect(computePriorityLoad([{ total: 5, healthy: 3 }, { total: 5, healthy: 5 }], 50).load).toEqual([84, 16]);
    // 4 of 5 healthy is still 100 % health thanks to the overprovisioning factor.
    expect(computePriorityLoad([{ total: 5, healthy: 4 }, { total: 5, healthy: 5 }], 50).load).toEqual([100, 0]);
  });

  it("spills over three levels and scales up when the total is below 100", () => {
    expect(computePriorityLoad([{ total: 10, healthy: 3 }, { total: 10, healthy: 2 }, { total: 10, healthy: 10 }], 50).load).toEqual([42, 28, 30]);
    // Σ health = 42 + 28 = 70 < 100: normalised to 60 / 40, no level below the threshold of 0.
    expect(computePriorityLoad([{ total: 10, healthy: 3 }, { total: 10, healthy: 2 }], 0)).toEqual({ load: [60, 40], panic: [false, false], available: true });
  });

  it("panics per level when the normalised total is below 100", () => {
    // Health 28 + 70 = 98: P0 (20 % healthy) panics, P1 (50 %) does not; rounding goes to P0.
    const pl = computePriorityLoad([{ total: 10, healthy: 2 }, { total: 10, healthy: 5 }], 50);
    expect(pl.panic).toEqual([true, false]);
    expect(pl.load).toEqual([29, 71]);
    // At 100 in total no level panics, however unhealthy.
    expect(computePriorityLoad([{ total: 10, healthy: 1 }, { total: 10, healthy: 10 }], 50).panic).toEqual([false, false]);
  });

  it("total panic spreads by host count; nothing healthy and panic disabled → unavailable", () => {
    expect(computePriorityLoad([{ total: 2, healthy: 0 }, { total: 6, healthy: 0 }], 50)).toEqual({ load: [25, 75], panic: [true, true], available: true });
    expect(computePriorityLoad([{ total: 2, healthy: 0 }], 0).available).toBe(false);
  });
});

describe("ClusterLb priorities", () => {
  it("sends 84 % to P0 and 16 % to P1 when 2 of 5 P0 hosts are ejected", () => {
    const p0 = hosts(5);
    const p1 = hosts(5, 10);
    const lb = clusterLb("ROUND_ROBIN", [group(p0, 0), group(p1, 1)]);
    eject(p0[0]!);
    eject(p0[1]!);
    const counts = countPicks(lb, 20_000, "ROUND_ROBIN");
    const toP0 = p0.reduce((s, h) => s + (counts.get(h) ?? 0), 0) / 20_000;
    const toP1 = p1.reduce((s, h) => s + (counts.get(h) ?? 0), 0) / 20_000;
    // Binomial σ ≈ 0.26 % at 20 000 picks.
    expect(Math.abs(toP0 - 0.84)).toBeLessThan(0.015);
    expect(Math.abs(toP1 - 0.16)).toBeLessThan(0.015);
    expect(counts.get(p0[0])).toBeUndefined();
  });

  it("uses P1 only while P0 is short of health", () => {
    const p0 = hosts(2);
    const p1 = hosts(2, 10);
    const lb = clusterLb("LEAST_REQUEST", [group(p1, 1), group(p0, 0)]);
    expect(new Set(countPicks(lb, 500, "LEAST_REQUEST").keys())).toEqual(new Set(p0));
    eject(p0[0]!);
    eject(p0[1]!);
    expect(new Set(countPicks(lb, 500, "LEAST_REQUEST").keys())).toEqual(new Set(p1));
  });

  it("panic mode balances over every host of the level, ejected or not", () => {
    const hs = hosts(5);
    for (const h of hs.slice(0, 3)) eject(h);
    // 40 % healthy < 50 % threshold: panic.
    const panicking = countPicks(clusterLb("ROUND_ROBIN", [group(hs)]), 1_000, "ROUND_ROBIN");
    for (const h of hs) expect(panicking.get(h)).toBe(200);
    // Threshold 30 (Istio minHealthPercent): 40 % is enough, ejected hosts stay out.
    const healthyOnly = countPicks(clusterLb("ROUND_ROBIN", [group(hs)], { healthyPanicThreshold: 30 }), 1_000, "ROUND_ROBIN");
    expect([...healthyOnly.keys()]).toEqual([hs[3], hs[4]]);
    // Threshold 0 disables panic: nothing healthy → no host.
    for (const h of hs) eject(h);
    expect(clusterLb("ROUND_ROBIN", [group(hs)], { healthyPanicThreshold: 0 }).pick({})).toBeUndefined();
  });

  it("retries with retryRemoteLocalities go to a priority not tried yet", () => {
    const p0 = hosts(3);
    const p1 = hosts(3, 10);
    const lb = clusterLb("ROUND_ROBIN", [group(p0, 0), group(p1, 1)]);
    for (let i = 0; i < 200; i++) {
      const h = lb.pick({ previousHosts: [p0[0]!], hostSelectionRetryMaxAttempts: 5, retryRemoteLocalities: true });
      expect(p1).toContain(h);
    }
    // Without it a retry stays in P0 (avoiding the tried host).
    for (let i = 0; i < 200; i++) expect(p0.slice(1)).toContain(lb.pick({ previousHosts: [p0[0]!], hostSelectionRetryMaxAttempts: 5 }));
  });

  it("hash balancers choose the priority from the hash: a key keeps its host across levels", () => {
    const p0 = hosts(5);
    const p1 = hosts(5, 10);
    const lb = clusterLb("RING_HASH", [group(p0, 0), group(p1, 1)]);
    eject(p0[0]!);
    eject(p0[1]!);
    for (let k = 0n; k < 100n; k++) {
      const h = k * 0x9e3779b97f4a7c15n;
      expect(lb.pick({ hash: h })).toBe(lb.pick({ hash: h }));
    }
  });
});

describe("ClusterLb localities", () => {
  it("picks a locality by weight, then a host in it", () => {
    const a = hosts(2);
    const b = hosts(2, 10);
    const lb = clusterLb("ROUND_ROBIN", [group(a, 0, 1, { zone: "a" }), group(b, 0, 3, { zone: "b" })], { localityWeighted: true });
    const counts = countPicks(lb, 4_000, "ROUND_ROBIN");
    const inA = a.reduce((s, h) => s + counts.get(h)!, 0);
    expect(inA).toBe(1_000);
    for (const h of b) expect(counts.get(h)).toBe(1_500);
  });

  it("scales a locality's weight by its health (× 1.4, capped at 1)", () => {
    const a = hosts(2);
    const b = hosts(2, 10);
    const lb = clusterLb("ROUND_ROBIN", [group(a, 0, 1, { zone: "a" }), group(b, 0, 3, { zone: "b" })], { localityWeighted: true });
    eject(b[0]!);
    // b: 3 × min(1, 1.4 × 1/2) = 2.1 against a: 1.
    const counts = countPicks(lb, 3_100, "ROUND_ROBIN");
    expect(counts.get(b[1])).toBe(2_100);
    expect(counts.get(b[0])).toBeUndefined();
  });

  it("ignores locality weights unless locality-weighted balancing is on", () => {
    const a = hosts(2);
    const b = hosts(2, 10);
    const counts = countPicks(clusterLb("ROUND_ROBIN", [group(a, 0, 1), group(b, 0, 3)]), 4_000, "ROUND_ROBIN");
    for (const h of [...a, ...b]) expect(counts.get(h)).toBe(1_000);
  });

  it("hash balancers fold locality weights into host weights", () => {
    const a = hosts(2);
    const b = hosts(2, 10);
    const lb = clusterLb("MAGLEV", [group(a, 0, 1), group(b, 0, 3)], { localityWeighted: true });
    const counts = countPicks(lb, 20_000, "MAGLEV");
    const inA = a.reduce((s, h) => s + counts.get(h)!, 0) / 20_000;
    expect(Math.abs(inA - 0.25)).toBeLessThan(0.02);
  });
});
