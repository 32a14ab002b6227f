// The trace context a request arrives with: W3C `traceparent`/`tracestate`, else B3 (single `b3`
// header, else the `x-b3-*` headers), plus the inputs of Envoy's local sampling decision
// (`x-request-id`, `x-client-trace-id`, `x-envoy-force-trace`). Read in one pass over the
// headers; anything malformed is ignored (a new trace starts), never an error.

import type { HeaderList } from "../../http/header-list.js";

/** B3 formats a request carried; the upstream request is given the same ones (W3C always). */
export const B3Format = { Multi: 1, Single: 2 } as const;

export interface IncomingTraceContext {
  /** The parent's trace id (32 hex); undefined: no usable parent, a new trace starts. */
  traceId: string | undefined;
  /** The parent's span id (16 hex), set with traceId. */
  parentSpanId: string | undefined;
  /** The caller's sampling decision; undefined: none given (Envoy decides locally). */
  sampled: boolean | undefined;
  /** B3 debug (`x-b3-flags: 1`, `b3: …-d`): sampled, and passed on as debug. */
  debug: boolean;
  /** W3C tracestate of a valid traceparent (passed on unchanged). */
  traceState: string | undefined;
  /** B3Format bits: which B3 headers the request carried (valid or not). */
  b3Formats: number;
  /** The B3 trace id was 64-bit (16 hex): B3 headers going upstream keep that width. */
  b3TraceId64: boolean;
  requestId: string | undefined;
  /** `x-client-trace-id` present (Envoy: trace reason ClientForced). */
  clientTraceId: boolean;
  /** `x-envoy-force-trace` present (Envoy: trace reason ServiceForced). */
  forceTrace: boolean;
}

/** Reads the request's trace headers once; never throws. */
export function extractTraceContext(h: HeaderList): IncomingTraceContext {
  let traceparent: string | undefined;
  let traceparentCount = 0;
  let tracestate: string | undefined;
  let b3: string | undefined;
  let b3TraceId: string | undefined;
  let b3SpanId: string | undefined;
  let b3Sampled: string | undefined;
  let b3Flags: string | undefined;
  let b3Formats = 0;
  let requestId: string | undefined;
  let clientTraceId = false;
  let forceTrace = false;
  const lower = h.lower;
  const values = h.values;
  for (let i = 0; i < lower.length; i++) {
    const n = lower[i]!;
    const c = n.charCodeAt(0);
    // Only names starting with t, b or x can matter: skip the rest without a string compare.
    if (c !== 116 && c !== 98 && c !== 120) continue;
    switch (n) {
      case "traceparent":
        traceparent = values[i];
        traceparentCount++;
        break;
      case "tracestate":
        tracestate = tracestate === undefined ? values[i] : `${tracestate},${values[i]}`;
        break;
      case "b3":
        b3 ??= values[i];
        b3Formats |= B3Format.Single;
        break;
      case "x-b3-traceid":
        b3TraceId ??= values[i];
        b3Formats |= B3Format.Multi;
        break;
      case "x-b3-spanid":
        b3SpanId ??= values[i];
        b3Formats |= B3Format.Multi;
        break;
      case "x-b3-parentspanid":
        b3Formats |= B3Format.Multi;
        break;
      case "x-b3-sampled":
        b3Sampled ??= values[i];
        b3Formats |= B3Format.Multi;
        break;
      case "x-b3-flags":
        b3Flags ??= values[i];
        b3Formats |= B3Format.Multi;
        break;
      case "x-request-id":
        requestId ??= values[i];
        break;
      case "x-client-trace-id":
        clientTraceId = true;
        break;
      case "x-envoy-force-trace":
        forceTrace = true;
        break;
    }
  }
  const out: IncomingTraceContext = {
    traceId: undefined,
    parentSpanId: undefined,
    sampled: undefined,
    debug: false,
    traceState: undefined,
    b3Formats,
    b3TraceId64: false,
    requestId,
    clientTraceId,
    forceTrace,
  };
  // W3C first (what Envoy's OpenTelemetry tracer reads); two traceparent headers are invalid.
  if (traceparentCount === 1 && parseTraceparent(traceparent!, out)) {
    if (tracestate !== undefined && tracestate !== "") out.traceState = tracestate;
    return out;
  }
  if (b3 !== undefined && parseB3Single(b3.trim(), out)) return out;
  if (b3TraceId !== undefined || b3SpanId !== undefined) {
    parseB3Multi(b3TraceId, b3SpanId, b3Sampled, b3Flags, out);
  } else if (b3Sampled !== undefined || b3Flags !== undefined) {
    // Sampling-only B3 (no ids): a decision for the new trace.
    out.debug = b3Flags === "1";
    out.sampled = out.debug ? true : b3SampledValue(b3Sampled);
  }
  return out;
}

/** W3C Trace Context Level 1 `traceparent`; fills ids and decision into `out`, false if invalid. */
export function parseTraceparent(v: string, out: IncomingTraceContext): boolean {
  if (v.length < 55) return false;
  if (v.charCodeAt(2) !== 45 || v.charCodeAt(35) !== 45 || v.charCodeAt(52) !== 45) return false;
  if (!isHex(v, 0, 2) || (v.charCodeAt(0) === 102 && v.charCodeAt(1) === 102)) return false; // version ff is invalid
  // Version 00 is exactly 55 characters; a later version may append fields after a dash.
  const v00 = v.charCodeAt(0) === 48 && v.charCodeAt(1) === 48;
  if (v.length > 55 && (v00 || v.charCodeAt(55) !== 45)) return false;
  if (!isHex(v, 3, 35) || !isHex(v, 36, 52) || !isHex(v, 53, 55)) return false;
  const traceId = v.slice(3, 35);
  const spanId = v.slice(36, 52);
  if (isZero(traceId) || isZero(spanId)) return false;
  out.traceId = traceId;
  out.parentSpanId = spanId;
  out.sampled = (hexDigit(v.charCodeAt(54)) & 1) === 1;
  return true;
}

/** B3 single header: `{trace}-{span}[-{1|0|d}[-{parent}]]` or just `{1|0|d}`. */
export function parseB3Single(v: string, out: IncomingTraceContext): boolean {
  if (v.length === 1) {
    const s = b3SingleSampling(v);
    if (s === undefined) return false;
    out.sampled = s === "d" ? true : s === "1";
    out.debug = s === "d";
    return true;
  }
  const parts = v.split("-");
  if (parts.length < 2 || parts.length > 4) return false;
  const [traceId, spanId, sampling, parent] = parts as [string, string, string | undefined, string | undefined];
  if (!validB3TraceId(traceId) || !validSpanId(spanId)) return false;
  let sampled: boolean | undefined;
  let debug = false;
  if (sampling !== undefined) {
    const s = b3SingleSampling(sampling);
    if (s === undefined) return false;
    sampled = s !== "0";
    debug = s === "d";
  }
  if (parent !== undefined && !validSpanId(parent)) return false;
  setB3Parent(out, traceId, spanId);
  out.sampled = sampled;
  out.debug = debug;
  return true;
}

function parseB3Multi(traceId: string | undefined, spanId: string | undefined, sampled: string | undefined, flags: string | undefined, out: IncomingTraceContext): void {
  const debug = flags === "1";
  const decision = debug ? true : b3SampledValue(sampled);
  // Ids that do not parse start a new trace; the sampling headers still count (B3 spec).
  if (traceId !== undefined && spanId !== undefined && validB3TraceId(traceId) && validSpanId(spanId)) setB3Parent(out, traceId, spanId);
  out.sampled = decision;
  out.debug = debug;
}

function setB3Parent(out: IncomingTraceContext, traceId: string, spanId: string): void {
  out.b3TraceId64 = traceId.length === 16;
  out.traceId = traceId.length === 16 ? `0000000000000000${traceId}` : traceId;
  out.parentSpanId = spanId;
}

function b3SampledValue(v: string | undefined): boolean | undefined {
  if (v === "1" || v === "true") return true;
  if (v === "0" || v === "false") return false;
  return undefined;
}

function b3SingleSampling(v: string): "0" | "1" | "d" | undefined {
  return v === "0" || v === "1" || v === "d" ? v : undefined;
}

function validB3TraceId(v: string): boolean {
  return (v.length === 16 || v.length === 32) && isHex(v, 0, v.length) && !isZero(v);
}

function validSpanId(v: string): boolean {
  return v.length === 16 && isHex(v, 0, 16) && !isZero(v);
}

/** Lower-case hex only (W3C and B3 both say so). */
function isHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

function hexDigit(c: number): number {
  return c <= 57 ? c - 48 : c - 87;
}

function isZero(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== 48) return false;
  return true;
}
