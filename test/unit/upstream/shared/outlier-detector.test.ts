// OutlierDetector: Envoy's consecutive-error ejection over shared memory, deterministic through an
// injected clock and random source; the interval work (unejection, back-off decay) run by hand.

import { describe, expect, it } from "vitest";
import type { AttemptOutcome } from "../../../../src/upstream/cluster-api.js";
import { OutlierDetector, outlierHostStates, runOutlierInterval } from "../../../../src/upstream/shared/outlier-detector.js";
import type { OutlierDetectionConfig } from "../../../../src/config/model/types.js";
import { FakeClock, outlierConfig, scriptedRandom, view } from "./helpers.js";

function setup(slots: number, over: Partial<OutlierDetectionConfig> = {}, ints: number[] = []) {
  const v = view(slots);
  const clock = new FakeClock();
  const random = scriptedRandom(ints);
  const cfg = outlierConfig(over);
  const d = new OutlierDetector(v, cfg, random, clock);
  const report = (slot: number, o: AttemptOutcome, times = 1): void => {
    for (let i = 0; i < times; i++) d.reportSlot(slot, o);
  };
  const interval = (): number => runOutlierInterval(v, cfg, clock.now());
  return { v, clock, random, cfg, d, report, interval };
}

const r500: AttemptOutcome = { kind: "response", status: 500 };
const r503: AttemptOutcome = { kind: "response", status: 503 };
const r200: AttemptOutcome = { kind: "response", status: 200 };

describe("OutlierDetector: consecutive 5xx", () => {
  it("ejects at exactly the threshold, not before", () => {
    const t = setup(1);
    t.report(0, r500, 4);
    expect(t.d.isEjected(0)).toBe(false);
    t.report(0, r500);
    expect(t.d.isEjected(0)).toBe(true);
    expect(outlierHostStates(t.v)[0]).toEqual({ ejected: true, backoff: 1, ejections: 1 });
  });

  it("the ejection epoch moves on every ejection and unejection", () => {
    const t = setup(1, { consecutive5xx: 1 });
    const e0 = t.d.epoch();
    t.report(0, r200);
    expect(t.d.epoch()).toBe(e0);
    t.report(0, r500);
    expect(t.d.epoch()).toBe(e0 + 1);
    t.clock.advance(30_000);
    t.interval();
    expect(t.d.epoch()).toBe(e0 + 2);
  });

  it("a success resets the consecutive counters", () => {
    const t = setup(1);
    t.report(0, r500, 4);
    t.report(0, r200);
    t.report(0, r500, 4);
    expect(t.d.isEjected(0)).toBe(false);
    t.report(0, r500);
    expect(t.d.isEjected(0)).toBe(true);
  });

  it("local-origin failures count as 5xx when not split (connect failure 503, timeout 504, reset 503)", () => {
    const t = setup(1, { consecutive5xx: 3 });
    t.report(0, { kind: "connect-failure" });
    t.report(0, { kind: "timeout" });
    t.report(0, { kind: "connect-success" }); // not split: judged by the response, no reset
    t.report(0, { kind: "reset" });
    expect(t.d.isEjected(0)).toBe(true);
  });

  it("a threshold of 0 never ejects", () => {
    const t = setup(1, { consecutive5xx: 0 });
    t.report(0, r500, 50);
    expect(t.d.isEjected(0)).toBe(false);
  });
});

describe("OutlierDetector: gateway failures", () => {
  it("counts 502/503/504 only, and ejects only when enforcing", () => {
    const t = setup(1, { consecutive5xx: 100, consecutiveGatewayFailure: 3, enforcingConsecutiveGatewayFailure: 100 });
    t.report(0, r503, 2);
    t.report(0, r500); // 5xx but not a gateway error: resets the gateway counter
    t.report(0, r503, 2);
    expect(t.d.isEjected(0)).toBe(false);
    t.report(0, { kind: "response", status: 504 });
    expect(t.d.isEjected(0)).toBe(true);
  });

  it("Envoy's default enforcing 0 for gateway failures detects but never ejects", () => {
    const t = setup(1, { consecutive5xx: 100, consecutiveGatewayFailure: 2 });
    t.report(0, r503, 10);
    expect(t.d.isEjected(0)).toBe(false);
  });
});

describe("OutlierDetector: split external / local-origin errors", () => {
  const split = { splitExternalLocalOriginErrors: true, consecutive5xx: 3, consecutiveLocalOriginFailure: 2 };

  it("local-origin failures count only toward the local-origin counter", () => {
    const t = setup(1, { ...split, consecutiveLocalOriginFailure: 10 });
    t.report(0, { kind: "connect-failure" }, 5);
    t.report(0, r500, 2);
    expect(t.d.isEjected(0)).toBe(false);
    t.report(0, r500);
    expect(t.d.isEjected(0)).toBe(true);
  });

  it("ejects on consecutive local-origin failures; connect-success resets them", () => {
    const t = setup(1, split);
    t.report(0, { kind: "timeout" });
    t.report(0, { kind: "connect-success" });
    t.report(0, { kind: "reset" });
    expect(t.d.isEjected(0)).toBe(false);
    t.report(0, { kind: "connect-failure" });
    expect(t.d.isEjected(0)).toBe(true);
  });

  it("enforcing_consecutive_local_origin_failure 0 never ejects", () => {
    const t = setup(1, { ...split, enforcingConsecutiveLocalOriginFailure: 0 });
    t.report(0, { kind: "connect-failure" }, 10);
    expect(t.d.isEjected(0)).toBe(false);
  });
});

describe("OutlierDetector: enforcing percentage", () => {
  it("ejects when the roll is below the percentage, and re-arms after a failed roll", () => {
    // Rolls: 70 (≥ 50: not enforced), then 10 (< 50: enforced).
    const t = setup(1, { consecutive5xx: 2, enforcingConsecutive5xx: 50 }, [70, 10]);
    t.report(0, r500, 2);
    expect(t.d.isEjected(0)).toBe(false);
    expect(t.random.calls).toBe(1);
    t.report(0, r500);
    expect(t.d.isEjected(0)).toBe(false); // counter was reset after the failed roll
    t.report(0, r500);
    expect(t.d.isEjected(0)).toBe(true);
    expect(t.random.calls).toBe(2);
  });
});

describe("OutlierDetector: max ejection percent", () => {
  it("at least one host can always be ejected, even when one host exceeds the percentage", () => {
    const t = setup(3, { consecutive5xx: 1, maxEjectionPercent: 10 });
    t.report(0, r500);
    t.report(1, r500);
    t.report(2, r500);
    expect([0, 1, 2].map((s) => t.d.isEjected(s))).toEqual([true, false, false]);
  });

  it("ejects while 100 × (ejected + 1) / hosts stays within the limit", () => {
    const t = setup(10, { consecutive5xx: 1, maxEjectionPercent: 30 });
    for (let s = 0; s < 10; s++) t.report(s, r500);
    expect(outlierHostStates(t.v).filter((h) => h.ejected).length).toBe(3);
  });

  it("an unejection frees room for the next ejection", () => {
    const t = setup(3, { consecutive5xx: 1, maxEjectionPercent: 34 });
    t.report(0, r500);
    t.report(1, r500);
    expect(t.d.isEjected(1)).toBe(false);
    t.clock.advance(30_000);
    expect(t.interval()).toBe(1);
    t.report(1, r500);
    expect(t.d.isEjected(1)).toBe(true);
  });
});

describe("OutlierDetector: ejection time, growth, cap and decay", () => {
  it("unejects at the first interval after base × times ejected", () => {
    const t = setup(1, { consecutive5xx: 1 });
    t.report(0, r500);
    t.clock.advance(29_999);
    expect(t.interval()).toBe(0);
    expect(t.d.isEjected(0)).toBe(true);
    t.clock.advance(1);
    expect(t.interval()).toBe(1);
    expect(t.d.isEjected(0)).toBe(false);
  });

  it("a host ejected again before decaying stays out twice as long", () => {
    const t = setup(1, { consecutive5xx: 1 });
    t.report(0, r500);
    t.clock.advance(30_000);
    t.interval();
    t.report(0, r500);
    expect(outlierHostStates(t.v)[0]!.backoff).toBe(2);
    t.clock.advance(59_999);
    t.interval();
    expect(t.d.isEjected(0)).toBe(true);
    t.clock.advance(1);
    t.interval();
    expect(t.d.isEjected(0)).toBe(false);
  });

  it("the ejection time is capped at max_ejection_time", () => {
    const t = setup(1, { consecutive5xx: 1, baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 70_000 });
    for (let i = 0; i < 6; i++) {
      t.report(0, r500);
      expect(t.d.isEjected(0)).toBe(true);
      // Unejects within 70 s whatever the multiplier.
      t.clock.advance(70_000);
      t.interval();
      expect(t.d.isEjected(0)).toBe(false);
    }
    // The multiplier stops growing once base × backoff ≥ max + base (70 + 30 = 100 s: 4).
    expect(outlierHostStates(t.v)[0]!.backoff).toBe(4);
  });

  it("the multiplier decays by one per interval while healthy", () => {
    const t = setup(1, { consecutive5xx: 1, intervalMs: 10_000 });
    t.report(0, r500);
    t.clock.advance(30_000);
    t.interval();
    t.report(0, r500);
    t.clock.advance(60_000);
    t.interval(); // unejected here; backoff still 2
    expect(outlierHostStates(t.v)[0]).toMatchObject({ ejected: false, backoff: 2 });
    t.clock.advance(10_000);
    t.interval();
    expect(outlierHostStates(t.v)[0]!.backoff).toBe(1);
    t.clock.advance(10_000);
    t.interval();
    expect(outlierHostStates(t.v)[0]!.backoff).toBe(0);
    // Back to base: the next ejection lasts 30 s.
    t.report(0, r500);
    t.clock.advance(30_000);
    t.interval();
    expect(t.d.isEjected(0)).toBe(false);
  });

  it("max ejection time below base falls back to base (Envoy)", () => {
    const t = setup(1, { consecutive5xx: 1, baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 10_000 });
    t.report(0, r500);
    t.clock.advance(10_000);
    t.interval();
    expect(t.d.isEjected(0)).toBe(true);
    t.clock.advance(20_000);
    t.interval();
    expect(t.d.isEjected(0)).toBe(false);
  });
});

describe("OutlierDetector: hosts", () => {
  it("attach points UpstreamHost.isEjected at the shared slot; unknown hosts are ignored", async () => {
    const { UpstreamHost } = await import("../../../../src/upstream/upstream-host.js");
    const t = setup(2, { consecutive5xx: 1, maxEjectionPercent: 100 });
    const pool = {} as never;
    const a = new UpstreamHost("10.0.0.1", 80, 1, {}, {}, pool);
    const b = new UpstreamHost("10.0.0.2", 80, 1, {}, {}, pool);
    const stranger = new UpstreamHost("10.0.0.3", 80, 1, {}, {}, pool);
    t.d.attach(a, 0);
    t.d.attach(b, 1);
    t.d.report(b, r500);
    t.d.report(stranger, r500);
    expect([a.isEjected(), b.isEjected(), stranger.isEjected()]).toEqual([false, true, false]);
  });

  it("two detectors over one buffer (two workers) share counters and ejections", () => {
    const t = setup(1, { consecutive5xx: 4 });
    const other = new OutlierDetector(t.v, t.cfg, scriptedRandom(), t.clock);
    t.report(0, r500, 2);
    other.reportSlot(0, r500);
    other.reportSlot(0, r500);
    expect(t.d.isEjected(0)).toBe(true);
    expect(other.isEjected(0)).toBe(true);
    expect(outlierHostStates(t.v)[0]!.ejections).toBe(1);
  });
});
