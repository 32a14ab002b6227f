// Trace context in and out: W3C traceparent validation, B3 single and multi parsing, the sampling
// decision (Envoy's, by x-request-id) and what goes upstream.

import { describe, expect, it } from "vitest";
import { HeaderList } from "../../../src/http/header-list.js";
import { extractTraceContext } from "../../../src/observability/tracing/trace-context.js";
import { injectTraceContext } from "../../../src/observability/tracing/trace-propagation.js";
import { decideSampling, requestIdInteger, samplingNumerator } from "../../../src/observability/tracing/trace-sampler.js";
import { RandomTraceIds } from "../../../src/observability/tracing/trace-ids.js";

const T = "4bf92f3577b34da6a3ce929d0e0e4736";
const S = "00f067aa0ba902b7";
const ctx = (pairs: Array<[string, string]>) => extractTraceContext(HeaderList.from(pairs));

describe("W3C traceparent", () => {
  it("accepts a valid version-00 header and reads the sampled flag", () => {
    expect(ctx([["traceparent", `00-${T}-${S}-01`]])).toMatchObject({ traceId: T, parentSpanId: S, sampled: true });
    expect(ctx([["traceparent", `00-${T}-${S}-00`]])).toMatchObject({ traceId: T, sampled: false });
    // Only bit 0 of the flags is the sampled flag.
    expect(ctx([["Traceparent", `00-${T}-${S}-03`]]).sampled).toBe(true);
  });

  it("accepts a later version with extra fields, keeps tracestate only with a valid parent", () => {
    expect(ctx([["traceparent", `01-${T}-${S}-01-extra`], ["tracestate", "a=1"], ["tracestate", "b=2"]])).toMatchObject({ traceId: T, traceState: "a=1,b=2" });
    expect(ctx([["traceparent", "junk"], ["tracestate", "a=1"]]).traceState).toBeUndefined();
  });

  it.each([
    ["too short", `00-${T}-${S}-0`],
    ["version ff", `ff-${T}-${S}-01`],
    ["version 00 with trailing data", `00-${T}-${S}-01-x`],
    ["upper-case hex", `00-${T.toUpperCase()}-${S}-01`],
    ["all-zero trace id", `00-${"0".repeat(32)}-${S}-01`],
    ["all-zero span id", `00-${T}-${"0".repeat(16)}-01`],
    ["wrong separators", `00_${T}_${S}_01`],
    ["non-hex flags", `00-${T}-${S}-zz`],
  ])("ignores a malformed header (%s): no parent", (_name, v) => {
    expect(ctx([["traceparent", v]])).toMatchObject({ traceId: undefined, sampled: undefined });
  });

  it("ignores two traceparent headers", () => {
    expect(ctx([["traceparent", `00-${T}-${S}-01`], ["traceparent", `00-${T}-${S}-01`]]).traceId).toBeUndefined();
  });

  it("W3C wins over B3 when both came", () => {
    const c = ctx([["traceparent", `00-${T}-${S}-00`], ["b3", `80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1`]]);
    expect(c).toMatchObject({ traceId: T, sampled: false });
    expect(c.b3Formats).toBe(2);
  });
});

describe("B3", () => {
  it("single header forms: ids, ids-sampling, ids-sampling-parent, sampling only, debug", () => {
    expect(ctx([["b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1"]])).toMatchObject({ traceId: "80f198ee56343ba864fe8b2a57d3eff7", parentSpanId: "e457b5a2e4d86bd1", sampled: undefined });
    expect(ctx([["b3", "463ac35c9f6413ad-e457b5a2e4d86bd1-0"]])).toMatchObject({ traceId: "0000000000000000463ac35c9f6413ad", sampled: false, b3TraceId64: true });
    expect(ctx([["b3", "463ac35c9f6413ad-e457b5a2e4d86bd1-d-05e3ac9a4f6e3b90"]])).toMatchObject({ sampled: true, debug: true });
    expect(ctx([["b3", "0"]])).toMatchObject({ traceId: undefined, sampled: false });
    expect(ctx([["b3", "d"]])).toMatchObject({ traceId: undefined, sampled: true, debug: true });
  });

  it.each(["x", "abc-def", "463ac35c9f6413ad-e457b5a2e4d86bd1-2", "463ac35c9f6413ad-e457b5a2e4d86bd1-1-zz", "463ac35c9f6413a-e457b5a2e4d86bd1", "1-2-3-4-5"])("ignores a malformed b3 header %j", (v) => {
    expect(ctx([["b3", v]])).toMatchObject({ traceId: undefined, sampled: undefined, b3Formats: 2 });
  });

  it("multi headers: ids with sampled 1/0/true/false, flags 1 is debug, sampling without ids", () => {
    expect(ctx([["x-b3-traceid", T], ["x-b3-spanid", S], ["x-b3-sampled", "true"]])).toMatchObject({ traceId: T, parentSpanId: S, sampled: true, b3Formats: 1 });
    expect(ctx([["X-B3-TraceId", T], ["X-B3-SpanId", S], ["X-B3-Sampled", "0"]])).toMatchObject({ sampled: false });
    expect(ctx([["x-b3-traceid", T], ["x-b3-spanid", S], ["x-b3-flags", "1"], ["x-b3-sampled", "0"]])).toMatchObject({ sampled: true, debug: true });
    expect(ctx([["x-b3-sampled", "0"]])).toMatchObject({ traceId: undefined, sampled: false });
    // Bad ids: no parent, but the sampling header still counts.
    expect(ctx([["x-b3-traceid", "nope"], ["x-b3-spanid", S], ["x-b3-sampled", "1"]])).toMatchObject({ traceId: undefined, sampled: true });
  });
});

describe("sampling decision", () => {
  const rnd = () => 0.999;
  it("the caller's decision wins; then x-client-trace-id, x-envoy-force-trace, a packed x-request-id trace reason", () => {
    expect(decideSampling(ctx([["traceparent", `00-${T}-${S}-00`], ["x-client-trace-id", "c"]]), 10_000, rnd)).toBe(false);
    expect(decideSampling(ctx([["x-client-trace-id", "c"]]), 0, rnd)).toBe(true);
    expect(decideSampling(ctx([["x-envoy-force-trace", "1"]]), 0, rnd)).toBe(true);
    expect(decideSampling(ctx([["x-request-id", "8a2b3c4d-1111-a222-8333-444455556666"]]), 0, rnd)).toBe(true);
    expect(decideSampling(ctx([["x-request-id", "8a2b3c4d-1111-4222-8333-444455556666"]]), 0, rnd)).toBe(false);
  });

  it("random sampling: int(x-request-id[0..8], 16) % 10000 < round(percent × 100); non-hex ids fall back to randomness", () => {
    expect(samplingNumerator(1)).toBe(100);
    expect(samplingNumerator(0.015)).toBe(2);
    expect(requestIdInteger("0000270f-x")).toBe(9999);
    expect(requestIdInteger("zzzzzzzz")).toBeNaN();
    const id = (prefix: string) => ctx([["x-request-id", `${prefix}-0000-4000-8000-000000000000`]]);
    expect(decideSampling(id("00000063"), 100, rnd)).toBe(true); // 99 < 100
    expect(decideSampling(id("00000064"), 100, rnd)).toBe(false); // 100
    expect(decideSampling(id("00002773"), 100, rnd)).toBe(true); // 10099 % 10000 = 99
    expect(decideSampling(id("00002774"), 100, rnd)).toBe(false); // 10100 % 10000 = 100
  });

  it("0% and 100% need no request id", () => {
    expect(decideSampling(ctx([]), 0, () => 0)).toBe(false);
    expect(decideSampling(ctx([]), 10_000, () => 0.9)).toBe(true);
    expect(decideSampling(ctx([["x-request-id", "not-hex-at-all"]]), 5_000, () => 0.1)).toBe(true);
    expect(decideSampling(ctx([["x-request-id", "not-hex-at-all"]]), 5_000, () => 0.9)).toBe(false);
  });
});

describe("injection", () => {
  it("W3C always; tracestate only from a valid parent; B3 in the forms that came, debug passed on", () => {
    const inc = ctx([["traceparent", `00-${T}-${S}-01`], ["tracestate", "v=1"], ["b3", "x"], ["x-b3-sampled", "1"]]);
    const h = HeaderList.from([["tracestate", "old"]]);
    injectTraceContext(h, T, "1111111111111111", true, inc);
    expect(h.toObject()).toMatchObject({ traceparent: `00-${T}-1111111111111111-01`, tracestate: "v=1", "x-b3-traceid": T, "x-b3-spanid": "1111111111111111", "x-b3-parentspanid": S, "x-b3-sampled": "1", b3: `${T}-1111111111111111-1-${S}` });
    const fresh = ctx([["tracestate", "stale"]]);
    const h2 = HeaderList.from([["tracestate", "stale"]]);
    injectTraceContext(h2, T, "2222222222222222", false, fresh);
    expect(h2.toObject()).toEqual({ traceparent: `00-${T}-2222222222222222-00` });
    const dbg = ctx([["x-b3-traceid", "463ac35c9f6413ad"], ["x-b3-spanid", S], ["x-b3-flags", "1"]]);
    const h3 = new HeaderList();
    injectTraceContext(h3, "0000000000000000463ac35c9f6413ad", "3333333333333333", true, dbg);
    expect(h3.toObject()).toMatchObject({ "x-b3-traceid": "463ac35c9f6413ad", "x-b3-flags": "1" });
    expect(h3.has("x-b3-sampled")).toBe(false);
  });
});

describe("ids", () => {
  it("trace ids are 32 and span ids 16 lower-case hex, never repeated across a pool refill", () => {
    const g = new RandomTraceIds();
    const seen = new Set<string>();
    for (let i = 0; i < 600; i++) {
      const t = g.traceId();
      const s = g.spanId();
      expect(t).toMatch(/^[0-9a-f]{32}$/);
      expect(s).toMatch(/^[0-9a-f]{16}$/);
      seen.add(s);
    }
    expect(seen.size).toBe(600);
  });
});
