// A connection manager's tracer, as Envoy's OpenTelemetry tracer behaves under Istio: one span per
// proxied request (CLIENT outbound, SERVER inbound), parented on the caller's W3C or B3 context.
// The sampling decision comes first; an unsampled request gets no SDK span at all, only a fresh
// span id written upstream with the not-sampled flag.

import { ROOT_CONTEXT, SpanKind, type Span, type Tracer } from "@opentelemetry/api";
import { newRequestId } from "../../common/request-id.js";
import type { TrafficDirection } from "../../config/model/types.js";
import type { HeaderList } from "../../http/header-list.js";
import type { RequestHeaders } from "../../http/http-message.js";
import type { StreamInfo } from "../stream-info.js";
import type { ActiveSpan, HttpTracer } from "../telemetry.js";
import { applyFinishedRequest, spanName, type SpanTemplate } from "./span-attributes.js";
import { extractTraceContext, type IncomingTraceContext } from "./trace-context.js";
import type { TraceIdGenerator } from "./trace-ids.js";
import { injectTraceContext } from "./trace-propagation.js";
import { decideSampling } from "./trace-sampler.js";
import { remoteParent } from "./tracer-provider-pool.js";

export class OtelHttpTracer implements HttpTracer {
  constructor(
    private readonly tracer: Tracer,
    readonly template: SpanTemplate,
    /** Envoy's random_sampling numerator out of 10000. */
    private readonly samplingNumerator: number,
    private readonly ids: TraceIdGenerator,
    private readonly random: () => number,
  ) {}

  startSpan(req: RequestHeaders, direction: TrafficDirection, info: StreamInfo): ActiveSpan {
    const h = req.headers;
    const ctx = extractTraceContext(h);
    // Envoy's connection manager gives every request an x-request-id before tracing starts (and
    // samples by it); the router keeps the one set here.
    if (ctx.requestId === undefined || ctx.requestId === "") {
      const rid = newRequestId();
      h.set("x-request-id", rid);
      ctx.requestId = rid;
    }
    if (!decideSampling(ctx, this.samplingNumerator, this.random)) return new UnsampledSpan(ctx, this.ids);
    const client = direction === "OUTBOUND";
    const parent = ctx.traceId !== undefined ? remoteParent(ctx.traceId, ctx.parentSpanId!, ctx.sampled === true, ctx.traceState) : ROOT_CONTEXT;
    const span = this.tracer.startSpan(client ? `egress ${req.authority}` : "ingress", { kind: client ? SpanKind.CLIENT : SpanKind.SERVER, startTime: hrTime(info.startTime) }, parent);
    return new SampledSpan(span, this.template, req, ctx);
  }
}

/** A sampled request's span: an SDK span, ended with the finished StreamInfo. */
class SampledSpan implements ActiveSpan {
  private ended = false;

  constructor(
    private readonly span: Span,
    private readonly template: SpanTemplate,
    private readonly req: RequestHeaders,
    private readonly incoming: IncomingTraceContext,
  ) {}

  injectContext(headers: HeaderList): void {
    const sc = this.span.spanContext();
    injectTraceContext(headers, sc.traceId, sc.spanId, true, this.incoming);
  }

  finish(info: StreamInfo): void {
    if (this.ended) return;
    this.ended = true;
    const span = this.span;
    span.updateName(spanName(this.template.client, info.clusterName, this.req.authority));
    applyFinishedRequest(span, this.template, info, this.req);
    span.end(hrTime(info.startTime + info.durationMs));
  }
}

/**
 * An unsampled request: no SDK span, nothing exported. Upstream it still carries a context — the
 * caller's trace (or a new one) with a fresh span id and the not-sampled flag — so the services
 * behind this proxy make the same decision.
 */
class UnsampledSpan implements ActiveSpan {
  private traceId: string | undefined;
  private spanId: string | undefined;

  constructor(
    private readonly incoming: IncomingTraceContext,
    private readonly ids: TraceIdGenerator,
  ) {}

  injectContext(headers: HeaderList): void {
    // Ids are drawn only when a request actually goes upstream (a local reply needs none).
    this.traceId ??= this.incoming.traceId ?? this.ids.traceId();
    this.spanId ??= this.ids.spanId();
    injectTraceContext(headers, this.traceId, this.spanId, false, this.incoming);
  }

  finish(_info: StreamInfo): void {}
}

/** Ms since the epoch (sub-ms precision) → [seconds, nanoseconds], unambiguous for the SDK. */
export function hrTime(ms: number): [number, number] {
  const s = Math.floor(ms / 1000);
  let ns = Math.round((ms - s * 1000) * 1e6);
  if (ns >= 1e9) ns = 999_999_999;
  return [s, ns];
}
