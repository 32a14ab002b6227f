import { describe, expect, it } from "vitest";
import type { WeightedCluster } from "../../../src/config/model/types.js";
import { seededRandom, type Random } from "../../../src/common/random.js";
import { WeightedClusterPicker } from "../../../src/router/weighted-cluster-picker.js";

const wc = (name: string, weight: number): WeightedCluster => ({
  name,
  weight,
  requestHeadersToAdd: [],
  requestHeadersToRemove: [],
  responseHeadersToAdd: [],
  responseHeadersToRemove: [],
});

/** A Random that returns the given values in turn. */
function fixed(...values: number[]): Random {
  let i = 0;
  const next = () => values[i++ % values.length]!;
  return { next, int: (n) => Math.floor(next() * n) };
}

describe("WeightedClusterPicker", () => {
  it("maps the random draw onto cumulative weight ranges", () => {
    const p = WeightedClusterPicker.create([wc("a", 70), wc("zero", 0), wc("b", 20), wc("c", 10)]);
    expect(p.totalWeight).toBe(100);
    expect(p.pick(fixed(0))?.name).toBe("a");
    expect(p.pick(fixed(0.6999))?.name).toBe("a");
    expect(p.pick(fixed(0.7))?.name).toBe("b");
    expect(p.pick(fixed(0.8999))?.name).toBe("b");
    expect(p.pick(fixed(0.9))?.name).toBe("c");
    expect(p.pick(fixed(0.999999))?.name).toBe("c");
  });

  it("never picks a zero-weight cluster, even at the edges", () => {
    const p = WeightedClusterPicker.create([wc("zero-first", 0), wc("a", 1), wc("zero-last", 0)]);
    for (const r of [0, 0.5, 0.9999999]) expect(p.pick(fixed(r))?.name).toBe("a");
  });

  it("total weight 0 (or no clusters) picks nothing", () => {
    expect(WeightedClusterPicker.create([wc("a", 0), wc("b", 0)]).pick(fixed(0.3))).toBeUndefined();
    expect(WeightedClusterPicker.create([]).pick(fixed(0.3))).toBeUndefined();
  });

  it("distributes picks by weight: chi-square with a high-quality seeded generator", () => {
    const clusters = [wc("v1", 50), wc("v2", 30), wc("v3", 15), wc("v4", 5), wc("off", 0)];
    const p = WeightedClusterPicker.create(clusters);
    const random = splitmix32(42);
    const n = 100_000;
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const c = p.pick(random)!.name;
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    expect(counts.get("off")).toBeUndefined();
    let chi2 = 0;
    for (const c of clusters.filter((c) => c.weight > 0)) {
      const expected = (n * c.weight) / 100;
      chi2 += ((counts.get(c.name) ?? 0) - expected) ** 2 / expected;
    }
    // df = 3; 16.27 is the p = 0.001 critical value. Deterministic for this seed.
    expect(chi2).toBeLessThan(16.27);
  });

  it("distributes picks by weight with the project's seededRandom (tolerance bounds)", () => {
    // seededRandom is a 32-bit xorshift variant with visible bias (chi-square fails at n = 1e5),
    // so this only checks shares within 1.5 percentage points.
    const clusters = [wc("v1", 50), wc("v2", 30), wc("v3", 15), wc("v4", 5)];
    const p = WeightedClusterPicker.create(clusters);
    const random = seededRandom(42);
    const n = 100_000;
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const c = p.pick(random)!.name;
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    for (const c of clusters) expect(Math.abs((counts.get(c.name) ?? 0) / n - c.weight / 100)).toBeLessThan(0.015);
  });
});

/** splitmix32: small, well-distributed PRNG for the statistical test. */
function splitmix32(seed: number): Random {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n) };
}
