// The sampling decision, made before any span object exists (as Envoy's connection manager does
// before it asks the tracer for a span). In order:
//   1. the caller's decision (traceparent flags, x-b3-sampled / x-b3-flags, b3 `0|1|d`) is kept;
//   2. otherwise Envoy's forced reasons: `x-client-trace-id` (Istio sets client_sampling 100%),
//      `x-envoy-force-trace`, or a trace status packed into the x-request-id by an Envoy hop;
//   3. otherwise random sampling, stable per x-request-id: Istio configures the UUID request-id
//      extension with use_request_id_for_trace_sampling, so Envoy samples when
//      `int(x-request-id[0..8], 16) % 10000 < round(percentage × 100)` — every hop that sees the
//      same x-request-id makes the same decision.

import type { IncomingTraceContext } from "./trace-context.js";

/** Envoy's random_sampling is a FractionalPercent out of 10000 (0.01% steps). */
export const SAMPLING_DENOMINATOR = 10_000;

/** Envoy's PROTOBUF_PERCENT_TO_ROUNDED_INTEGER_OR_DEFAULT(…, 10000, …): percent → numerator. */
export function samplingNumerator(percent: number): number {
  return Math.round((percent * SAMPLING_DENOMINATOR) / 100);
}

/**
 * Where Envoy's UUID request-id extension packs the trace reason (the UUID version nibble):
 * `a` sampled, `9` forced, `b` client; `4` (a plain UUIDv4) means none.
 */
const TRACE_BYTE_POSITION = 14;

export function decideSampling(ctx: IncomingTraceContext, numerator: number, random: () => number): boolean {
  if (ctx.sampled !== undefined) return ctx.sampled;
  if (ctx.clientTraceId || ctx.forceTrace) return true;
  const rid = ctx.requestId;
  if (rid !== undefined && rid.length === 36) {
    const reason = rid.charCodeAt(TRACE_BYTE_POSITION);
    if (reason === 97 /* a */ || reason === 57 /* 9 */ || reason === 98 /* b */) return true;
  }
  if (numerator >= SAMPLING_DENOMINATOR) return true;
  if (numerator <= 0) return false;
  const n = rid === undefined ? Number.NaN : requestIdInteger(rid);
  const value = Number.isNaN(n) ? Math.floor(random() * SAMPLING_DENOMINATOR) : n;
  return value % SAMPLING_DENOMINATOR < numerator;
}

/** Envoy's UUIDRequestIDExtension::getInteger: the first 8 characters as hex; NaN if they are not. */
export function requestIdInteger(rid: string): number {
  if (rid.length < 8) return Number.NaN;
  let v = 0;
  for (let i = 0; i < 8; i++) {
    const c = rid.charCodeAt(i);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else return Number.NaN;
    v = v * 16 + d;
  }
  return v;
}
