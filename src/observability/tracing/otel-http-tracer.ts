// A connection manager's tracer, as Envoy's OpenTelemetry tracer behaves under Istio: one span per
// proxied request (CLIENT outbound, SERVER inbound), parented on the caller's W3C or B3 context.
// The sampling decision comes first; an unsampled request gets no span at all, only a fresh span
// id written upstream with the not-sampled flag. A sampled one is encoded as OTLP protobuf when it
// ends (otlp-span-encoder.ts), with no span object in between.

import { newRequestId } from "../../common/request-id.js";
import type { TrafficDirection } from "../../config/model/types.js";
import type { HeaderList } from "../../http/header-list.js";
import type { RequestHeaders } from "../../http/http-message.js";
import type { StreamInfo } from "../stream-info.js";
import type { ActiveSpan, HttpTracer } from "../telemetry.js";
import type { OtlpHttpExporter } from "./otlp-http-exporter.js";
import { SpanKindValue, type SpanRecord } from "./otlp-span-encoder.js";
import { applyFinishedRequest, spanName, type SpanAttributeSink, type SpanTemplate } from "./span-attributes.js";
import { extractTraceContext, type IncomingTraceContext } from "./trace-context.js";
import type { TraceIdGenerator } from "./trace-ids.js";
import { injectTraceContext } from "./trace-propagation.js";
import { decideSampling } from "./trace-sampler.js";

export class OtelHttpTracer implements HttpTracer {
  /** The record every finished span of this tracer is written through (finish is synchronous). */
  private readonly record = new SpanRecordBuilder();

  constructor(
    private readonly exporter: OtlpHttpExporter,
    readonly template: SpanTemplate,
    /** Envoy's random_sampling numerator out of 10000. */
    private readonly samplingNumerator: number,
    private readonly ids: TraceIdGenerator,
    private readonly random: () => number,
  ) {}

  startSpan(req: RequestHeaders, _direction: TrafficDirection, _info: StreamInfo): ActiveSpan {
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
    return new SampledSpan(this, req, ctx, ctx.traceId ?? this.ids.traceId(), this.ids.spanId());
  }

  /** Encodes a finished sampled span into its collector's batch. */
  export(span: SampledSpan, info: StreamInfo): void {
    const r = this.record;
    const t = this.template;
    r.reset();
    r.traceId = span.traceId;
    r.spanId = span.spanId;
    r.parentSpanId = span.incoming.traceId !== undefined ? span.incoming.parentSpanId! : "";
    r.traceState = span.incoming.traceState ?? "";
    r.name = spanName(t.client, info.clusterName, span.req.authority);
    r.kind = t.client ? SpanKindValue.CLIENT : SpanKindValue.SERVER;
    r.startMs = info.startTime;
    r.endMs = info.startTime + info.durationMs;
    if (t.customTagsMayCollide) {
      r.leadingAttrs = undefined;
      r.trailingAttrs = undefined;
    } else {
      r.leadingAttrs = t.localTagsEncoded;
      r.trailingAttrs = t.fixedCustomTagsEncoded;
    }
    applyFinishedRequest(r, t, info, span.req);
    this.exporter.add(r);
  }
}

/** A sampled request's span: its ids now, its record encoded when the request ends. */
class SampledSpan implements ActiveSpan {
  private ended = false;

  constructor(
    private readonly tracer: OtelHttpTracer,
    readonly req: RequestHeaders,
    readonly incoming: IncomingTraceContext,
    readonly traceId: string,
    readonly spanId: string,
  ) {}

  injectContext(headers: HeaderList): void {
    injectTraceContext(headers, this.traceId, this.spanId, true, this.incoming);
  }

  finish(info: StreamInfo): void {
    if (this.ended) return;
    this.ended = true;
    this.tracer.export(this, info);
  }
}

/** A span record being filled: attributes in arrays reused from span to span. */
class SpanRecordBuilder implements SpanRecord, SpanAttributeSink {
  traceId = "";
  spanId = "";
  parentSpanId = "";
  traceState = "";
  name = "";
  kind = 0;
  startMs = 0;
  endMs = 0;
  statusCode = 0;
  attrCount = 0;
  readonly attrKeys: string[] = [];
  readonly attrValues: string[] = [];
  leadingAttrs: Uint8Array | undefined = undefined;
  trailingAttrs: Uint8Array | undefined = undefined;

  reset(): void {
    this.attrCount = 0;
    this.statusCode = 0;
  }

  add(key: string, value: string): void {
    const i = this.attrCount++;
    this.attrKeys[i] = key;
    this.attrValues[i] = value;
  }

  set(key: string, value: string): void {
    const keys = this.attrKeys;
    for (let i = 0; i < this.attrCount; i++) {
      if (keys[i] === key) {
        this.attrValues[i] = value;
        return;
      }
    }
    this.add(key, value);
  }
}

/**
 * An unsampled request: nothing recorded, nothing exported. Upstream it still carries a context —
 * the caller's trace (or a new one) with a fresh span id and the not-sampled flag — so the services
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
