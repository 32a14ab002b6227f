import { describe, expect, it } from "vitest";
import { seededRandom } from "../../../src/common/random.js";
import { decideFault, rollPercent } from "../../../src/http/filters/fault/fault-decision.js";
import { isInternalAddress } from "../../../src/http/internal-address.js";

describe("fault filter", () => {
  it("rolls FractionalPercent exactly in distribution", () => {
    const random = seededRandom(7);
    const n = 200_000;
    let hits = 0;
    for (let i = 0; i < n; i++) if (rollPercent({ numerator: 250_000, denominator: "MILLION" }, random)) hits++;
    // 25% ± 5 standard deviations (sd ≈ 0.1%): cannot flake for a fixed seed, and a biased roll fails.
    expect(Math.abs(hits / n - 0.25)).toBeLessThan(0.005);
    expect(rollPercent({ numerator: 0, denominator: "HUNDRED" }, random)).toBe(false);
    expect(rollPercent({ numerator: 100, denominator: "HUNDRED" }, random)).toBe(true);
  });

  it("decides delay and abort independently; nothing when no roll hits", () => {
    const random = seededRandom(3);
    expect(decideFault(undefined, random)).toBeUndefined();
    expect(decideFault({ delay: { fixedDelayMs: 50, percentage: { numerator: 0, denominator: "HUNDRED" } } }, random)).toBeUndefined();
    expect(decideFault({ delay: { fixedDelayMs: 50, percentage: { numerator: 100, denominator: "HUNDRED" } } }, random)).toEqual({ delayMs: 50 });
    expect(decideFault({ abort: { httpStatus: 418, percentage: { numerator: 100, denominator: "HUNDRED" } } }, random)).toEqual({ delayMs: 0, abortStatus: 418 });
    expect(decideFault({ abort: { grpcStatus: 14, percentage: { numerator: 100, denominator: "HUNDRED" } } }, random)).toEqual({ delayMs: 0, abortGrpcStatus: 14 });
  });

  it("treats loopback and private addresses as internal callers", () => {
    for (const a of ["127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "::1", "::ffff:127.0.0.1", "fd00::1"]) expect(isInternalAddress(a)).toBe(true);
    for (const a of ["8.8.8.8", "172.32.0.1", "2001:db8::1", "::ffff:8.8.8.8", ""]) expect(isInternalAddress(a)).toBe(false);
  });
});
