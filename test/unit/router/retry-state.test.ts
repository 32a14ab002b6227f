import { describe, expect, it } from "vitest";
import { seededRandom, type Random } from "../../../src/common/random.js";
import type { RetryPolicy } from "../../../src/config/model/types.js";
import { HeaderList } from "../../../src/http/header-list.js";
import { CompiledRetryPolicy, RetryState } from "../../../src/router/retry-state.js";

function policy(retryOn: string[], extra: Partial<RetryPolicy> = {}): CompiledRetryPolicy {
  return new CompiledRetryPolicy({
    retryOn,
    numRetries: 2,
    retriableStatusCodes: [],
    retriableHeaders: [],
    retryHostPredicatePreviousHosts: true,
    hostSelectionRetryMaxAttempts: 5,
    backoffBaseMs: 25,
    backoffMaxMs: 250,
    ...extra,
  });
}

const none = new HeaderList();

describe("RetryState", () => {
  it("retries responses by retry_on condition", () => {
    const r = (on: string[], extra?: Partial<RetryPolicy>) => new RetryState(policy(on, extra), seededRandom(1));
    expect(r(["5xx"]).wouldRetryResponse(500, none)).toBe(true);
    expect(r(["5xx"]).wouldRetryResponse(404, none)).toBe(false);
    expect(r(["gateway-error"]).wouldRetryResponse(502, none)).toBe(true);
    expect(r(["gateway-error"]).wouldRetryResponse(500, none)).toBe(false);
    expect(r(["retriable-4xx"]).wouldRetryResponse(409, none)).toBe(true);
    expect(r(["retriable-4xx"]).wouldRetryResponse(400, none)).toBe(false);
    expect(r(["retriable-status-codes"], { retriableStatusCodes: [418] }).wouldRetryResponse(418, none)).toBe(true);
    // Codes alone do nothing without retriable-status-codes (Envoy; Istio adds the condition itself).
    expect(r(["connect-failure"], { retriableStatusCodes: [418] }).wouldRetryResponse(418, none)).toBe(false);
    expect(r(["envoy-ratelimited"]).wouldRetryResponse(429, HeaderList.from([["x-envoy-ratelimited", "true"]]))).toBe(true);
    expect(r(["envoy-ratelimited"]).wouldRetryResponse(429, none)).toBe(false);
    expect(r(["retriable-headers"], { retriableHeaders: [{ name: "x-retry", stringMatch: { exact: "yes" } }] }).wouldRetryResponse(200, HeaderList.from([["X-Retry", "yes"]]))).toBe(true);
    expect(r(["unavailable"]).wouldRetryResponse(200, HeaderList.from([["grpc-status", "14"]]))).toBe(true);
    expect(r(["unavailable"]).wouldRetryResponse(200, HeaderList.from([["grpc-status", "13"]]))).toBe(false);
  });

  it("retries failures only when retry_on covers them; a sent request needs reset/5xx/gateway-error", () => {
    const r = (on: string[]) => new RetryState(policy(on), seededRandom(1));
    expect(r(["connect-failure"]).wouldRetryFailure("connect-failure", false)).toBe(true);
    expect(r(["connect-failure"]).wouldRetryFailure("reset", true)).toBe(false);
    expect(r(["reset-before-request"]).wouldRetryFailure("reset", true)).toBe(false);
    expect(r(["reset-before-request"]).wouldRetryFailure("reset", false)).toBe(true);
    expect(r(["reset"]).wouldRetryFailure("reset", true)).toBe(true);
    expect(r(["5xx"]).wouldRetryFailure("reset", true)).toBe(true);
    expect(r(["5xx"]).wouldRetryFailure("per-try-timeout", true)).toBe(true);
    expect(r(["gateway-error"]).wouldRetryFailure("per-try-timeout", true)).toBe(true);
    // Istio's default retry_on does not retry a per-try timeout.
    expect(r(["connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes"]).wouldRetryFailure("per-try-timeout", true)).toBe(false);
  });

  it("counts the budget and backs off with full jitter, 25 ms base, capped at 250 ms", () => {
    const draws = [0.999999, 0.999999, 0.999999, 0.999999, 0.5];
    const fake: Random = { next: () => draws.shift()!, int: () => 0 };
    const s = new RetryState(policy(["5xx"], { numRetries: 5 }), fake);
    expect(s.exhausted).toBe(false);
    expect(s.nextBackoffMs()).toBe(24); // [0, 25)
    expect(s.nextBackoffMs()).toBe(74); // [0, 75)
    expect(s.nextBackoffMs()).toBe(174); // [0, 175)
    expect(s.nextBackoffMs()).toBe(249); // capped: [0, 250)
    expect(s.nextBackoffMs()).toBe(125);
    expect(s.exhausted).toBe(true);
  });
});
