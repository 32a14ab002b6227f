// The shared load balancer suite: every policy passes the same checks through ClusterLb (the
// cluster-level balancer the router calls), then policy-specific behaviour.

import { describe, expect, it } from "vitest";
import { ClusterLb } from "../../../src/upstream/cluster-lb.js";
import type { UpstreamHost } from "../../../src/upstream/upstream-host.js";
import { clusterLb, countPicks, eject, group, hashSource, host, hosts, POLICIES } from "./lb-helpers.js";

describe.each(POLICIES)("%s load balancer (shared suite)", (policy) => {
  it("has no host to give when the cluster is empty", () => {
    expect(clusterLb(policy, []).pick({})).toBeUndefined();
    expect(clusterLb(policy, [group([])]).pick({ hash: 5n })).toBeUndefined();
  });

  it("always gives the only host", () => {
    const h = host(1);
    const lb = clusterLb(policy, [group([h])]);
    for (let i = 0; i < 20; i++) expect(lb.pick({ hash: BigInt(i) * 0x9e3779b97f4a7c15n })).toBe(h);
    expect(lb.pick({})).toBe(h);
  });

  it("respects endpoint weights (1:2:3)", () => {
    const hs = [host(1, 1), host(2, 2), host(3, 3)];
    const counts = countPicks(clusterLb(policy, [group(hs)]), 12_000, policy);
    const hashing = policy === "RING_HASH" || policy === "MAGLEV";
    // Exact schedulers land on the ratio; random ones are within sampling noise for the seed
    // (σ ≈ 0.4 % here); a ring's arcs add a few percent of their own.
    const tolerance = policy === "RING_HASH" ? 0.04 : hashing || policy === "RANDOM" ? 0.02 : 0.001;
    hs.forEach((h, i) => expect(Math.abs(counts.get(h)! / 12_000 - (i + 1) / 6)).toBeLessThan(tolerance));
  });

  it("never gives an ejected host while enough others are healthy", () => {
    const hs = hosts(4);
    const lb = clusterLb(policy, [group(hs)]);
    eject(hs[1]!);
    const counts = countPicks(lb, 2_000, policy);
    expect(counts.get(hs[1])).toBeUndefined();
    expect(counts.get(undefined)).toBeUndefined();
    // Health is re-read on every pick: the host comes back once un-ejected.
    eject(hs[1]!, false);
    expect(countPicks(lb, 2_000, policy).get(hs[1])).toBeGreaterThan(0);
  });

  it("avoids hosts earlier attempts used, and accepts one when there is no other", () => {
    const hs = hosts(3);
    const lb = clusterLb(policy, [group(hs)]);
    const nextHash = hashSource(11);
    for (let i = 0; i < 300; i++) {
      const h = lb.pick({ hash: nextHash(), previousHosts: [hs[0]!], hostSelectionRetryMaxAttempts: 5 });
      expect(h).not.toBe(hs[0]);
    }
    const only = host(9);
    expect(clusterLb(policy, [group([only])]).pick({ previousHosts: [only], hostSelectionRetryMaxAttempts: 5 })).toBe(only);
  });

  it("balances over every host in panic and over none when panic is disabled", () => {
    const hs = hosts(4);
    for (const h of hs) eject(h);
    expect(clusterLb(policy, [group(hs)], { healthyPanicThreshold: 0 }).pick({ hash: 1n })).toBeUndefined();
    const counts = countPicks(clusterLb(policy, [group(hs)]), 2_000, policy);
    for (const h of hs) expect(counts.get(h)).toBeGreaterThan(0);
  });
});

describe("ROUND_ROBIN", () => {
  it("cycles in order with equal weights, from the worker's offset", () => {
    const hs = hosts(3);
    const lb = new ClusterLb({ policy: "ROUND_ROBIN", groups: [group(hs)] }, { random: { next: () => 0, int: () => 0 }, start: 1 });
    expect(Array.from({ length: 6 }, () => lb.pick({}))).toEqual([hs[1], hs[2], hs[0], hs[1], hs[2], hs[0]]);
  });

  it("interleaves weights smoothly (5:1:1 → a a b a c a a)", () => {
    const [a, b, c] = [host(1, 5), host(2, 1), host(3, 1)];
    const lb = clusterLb("ROUND_ROBIN", [group([a!, b!, c!])]);
    expect(Array.from({ length: 7 }, () => lb.pick({}))).toEqual([a, a, b, a, c, a, a]);
  });

  it("moves on to the next host when the picked one was tried", () => {
    const hs = hosts(3);
    const lb = clusterLb("ROUND_ROBIN", [group(hs)]);
    expect(lb.pick({})).toBe(hs[0]);
    expect(lb.pick({ previousHosts: [hs[1]!], hostSelectionRetryMaxAttempts: 5 })).toBe(hs[2]);
  });
});

describe("LEAST_REQUEST", () => {
  it("prefers the less loaded of its two choices", () => {
    const hs = hosts(3);
    hs[0]!.active = 10;
    hs[1]!.active = 1;
    const counts = countPicks(clusterLb("LEAST_REQUEST", [group(hs)]), 3_000, "LEAST_REQUEST");
    // Two distinct choices out of three: the busiest host can never win.
    expect(counts.get(hs[0])).toBeUndefined();
    // hs[2] (idle) wins whenever it is drawn: 2 of 3 pairs.
    expect(counts.get(hs[2])! / 3_000).toBeGreaterThan(0.63);
  });

  it("weights by weight / (active + 1) when weights differ", () => {
    const [a, b] = [host(1, 2), host(2, 1)];
    a!.active = 3; // 2 / 4 = 0.5 against 1 / 1
    const counts = countPicks(clusterLb("LEAST_REQUEST", [group([a!, b!])]), 3_000, "LEAST_REQUEST");
    expect(counts.get(b)! / 3_000).toBeCloseTo(2 / 3, 2);
  });
});

describe("consistent hashing", () => {
  describe.each(["RING_HASH", "MAGLEV"] as const)("%s", (policy) => {
    it("sends the same hash to the same host", () => {
      const lb = clusterLb(policy, [group(hosts(10))]);
      const nextHash = hashSource(3);
      for (let i = 0; i < 200; i++) {
        const h = nextHash();
        const first = lb.pick({ hash: h });
        for (let k = 0; k < 3; k++) expect(lb.pick({ hash: h })).toBe(first);
      }
    });

    it("remaps only about 1/N of the keys when a host leaves", () => {
      const hs = hosts(10);
      const before = clusterLb(policy, [group(hs)]);
      const after = clusterLb(policy, [group(hs.slice(1))]);
      const nextHash = hashSource(5);
      let moved = 0;
      let movedOff = 0;
      const n = 5_000;
      for (let i = 0; i < n; i++) {
        const h = nextHash();
        const a = before.pick({ hash: h });
        const b = after.pick({ hash: h });
        if (a !== b) moved++;
        if (a !== hs[0] && a !== b) movedOff++;
      }
      // ~10 % must move (the removed host's keys); the rest mostly stay.
      expect(moved / n).toBeGreaterThan(0.07);
      expect(moved / n).toBeLessThan(0.2);
      expect(movedOff / n).toBeLessThan(0.1);
    });

    it("an ejected host's keys move, the others stay", () => {
      const hs = hosts(5);
      const lb = clusterLb(policy, [group(hs)]);
      const nextHash = hashSource(9);
      const keys = Array.from({ length: 500 }, () => nextHash());
      const before = keys.map((k) => lb.pick({ hash: k }));
      eject(hs[2]!);
      const after = keys.map((k) => lb.pick({ hash: k }));
      keys.forEach((_, i) => {
        if (before[i] === hs[2]) expect(after[i]).not.toBe(hs[2]);
      });
      const stayed = keys.filter((_, i) => before[i] !== hs[2] && before[i] === after[i]).length;
      const eligible = before.filter((h) => h !== hs[2]).length;
      expect(stayed / eligible).toBeGreaterThan(0.85);
    });

    it("without a hash picks at random (still a host)", () => {
      const hs = hosts(4);
      const lb = clusterLb(policy, [group(hs)]);
      const seen = new Set<UpstreamHost | undefined>();
      for (let i = 0; i < 200; i++) seen.add(lb.pick({}));
      expect(seen.size).toBe(4);
    });
  });
});
