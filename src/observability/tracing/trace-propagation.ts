// Writes the request's span context into the upstream request: always W3C `traceparent` (and the
// caller's `tracestate`), and B3 in each form the request arrived with, so a B3-only app behind
// this proxy keeps its traces joined. Every written header names this proxy's span (or, unsampled,
// the fresh span id Envoy would pass on), replacing whatever the request carried.

import type { HeaderList } from "../../http/header-list.js";
import { B3Format, type IncomingTraceContext } from "./trace-context.js";

export function injectTraceContext(h: HeaderList, traceId: string, spanId: string, sampled: boolean, incoming: IncomingTraceContext): void {
  h.set("traceparent", `00-${traceId}-${spanId}-${sampled ? "01" : "00"}`);
  // A tracestate without a valid traceparent is meaningless (W3C): only the parent's is kept.
  if (incoming.traceState !== undefined) h.set("tracestate", incoming.traceState);
  else h.remove("tracestate");
  const b3 = incoming.b3Formats;
  if (b3 === 0) return;
  const b3TraceId = incoming.b3TraceId64 ? traceId.slice(16) : traceId;
  const parent = incoming.parentSpanId;
  if ((b3 & B3Format.Multi) !== 0) {
    h.set("x-b3-traceid", b3TraceId);
    h.set("x-b3-spanid", spanId);
    if (parent !== undefined) h.set("x-b3-parentspanid", parent);
    else h.remove("x-b3-parentspanid");
    // Debug implies sampled; B3 says not to send both.
    if (incoming.debug) {
      h.set("x-b3-flags", "1");
      h.remove("x-b3-sampled");
    } else {
      h.set("x-b3-sampled", sampled ? "1" : "0");
      h.remove("x-b3-flags");
    }
  }
  if ((b3 & B3Format.Single) !== 0) {
    const s = incoming.debug ? "d" : sampled ? "1" : "0";
    h.set("b3", parent !== undefined ? `${b3TraceId}-${spanId}-${s}-${parent}` : `${b3TraceId}-${spanId}-${s}`);
  }
}
