// Slow start: new hosts ramp their weight over the window (ROUND_ROBIN, LEAST_REQUEST).

import { describe, expect, it } from "vitest";
import { seededRandom } from "../../../src/common/random.js";
import { ClusterLb } from "../../../src/upstream/cluster-lb.js";
import type { LbPolicy } from "../../../src/upstream/load-balancer.js";
import { SlowStart } from "../../../src/upstream/slow-start.js";
import { FakeClock } from "./shared/helpers.js";
import { countPicks, group, hosts } from "./lb-helpers.js";

describe("SlowStart", () => {
  it("ramps weight × max(min%, (age / window)^(1/aggression))", () => {
    const linear = new SlowStart({ windowMs: 10_000, aggression: 1, minWeightPercent: 10 });
    expect(linear.factor(0, 500)).toBe(0.1);
    expect(linear.factor(0, 5_000)).toBe(0.5);
    expect(linear.factor(0, 10_000)).toBe(1);
    const aggressive = new SlowStart({ windowMs: 10_000, aggression: 2, minWeightPercent: 10 });
    expect(aggressive.factor(0, 2_500)).toBeCloseTo(0.5, 10);
    expect(new SlowStart({ windowMs: 10_000, aggression: 0, minWeightPercent: 10 }).factor(0, 5_000)).toBe(0.5);
  });
});

describe.each(["ROUND_ROBIN", "LEAST_REQUEST"] as LbPolicy[])("%s slow start", (policy) => {
  it("gives a new host a growing share until its window ends", () => {
    const clock = new FakeClock();
    const [old, fresh] = hosts(2);
    const createdAt = new Map([
      [old!, -Infinity],
      [fresh!, clock.monotonic()],
    ]);
    const lb = new ClusterLb({ policy, groups: [group([old!, fresh!])], slowStart: { windowMs: 10_000, aggression: 1, minWeightPercent: 10 }, createdAt }, { random: seededRandom(1), clock });
    const share = (): number => countPicks(lb, 3_300, policy).get(fresh) ?? 0;
    clock.advance(500);
    expect(Math.abs(share() / 3_300 - 0.1 / 1.1)).toBeLessThan(0.01);
    clock.advance(4_500);
    expect(Math.abs(share() / 3_300 - 0.5 / 1.5)).toBeLessThan(0.01);
    clock.advance(5_000);
    expect(Math.abs(share() / 3_300 - 0.5)).toBeLessThan(0.02);
  });
});

describe("slow start is not applied", () => {
  it("to RANDOM or hash policies, or to hosts without a creation time", () => {
    const clock = new FakeClock();
    const [a, b] = hosts(2);
    const createdAt = new Map([[b!, clock.monotonic()]]);
    const cfg = { slowStart: { windowMs: 60_000, aggression: 1, minWeightPercent: 10 }, createdAt };
    const random = new ClusterLb({ policy: "RANDOM", groups: [group([a!, b!])], ...cfg }, { random: seededRandom(2), clock });
    expect(Math.abs(countPicks(random, 4_000, "RANDOM").get(b)! / 4_000 - 0.5)).toBeLessThan(0.03);
    const rr = new ClusterLb({ policy: "ROUND_ROBIN", groups: [group([a!, b!])], slowStart: cfg.slowStart }, { random: seededRandom(2), clock });
    expect(countPicks(rr, 1_000, "ROUND_ROBIN").get(b)).toBe(500);
  });
});
