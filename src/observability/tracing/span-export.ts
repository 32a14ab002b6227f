// Getting finished spans to a collector without ever holding up a request: the SDK's
// BatchSpanProcessor in front of the OTLP/HTTP exporter, with a bounded queue in front of it that
// counts what it has to drop. Counted in the worker's stats store:
//   tracing.opentelemetry.spans_sent      spans handed to the exporter (Envoy's name and meaning)
//   tracing.opentelemetry.spans_dropped   spans that will never reach the collector: queue full,
//                                         exporter shut down, or their export failed
//   tracing.opentelemetry.reports_sent    export requests the collector accepted (2xx)
//   tracing.opentelemetry.reports_dropped export requests the collector refused (non-2xx)
//   tracing.opentelemetry.reports_failed  export requests that failed (connect error, timeout,
//                                         too many in flight)
// (the reports_* names are those of Envoy's Zipkin tracer, which has the same three outcomes).

import type { ExportResult } from "@opentelemetry/core";
import type { Context } from "@opentelemetry/api";
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { Counter, StatsStore } from "../stats/stats-store.js";

export interface SpanExportStats {
  spansSent: Counter;
  spansDropped: Counter;
  reportsSent: Counter;
  reportsDropped: Counter;
  reportsFailed: Counter;
}

export function spanExportStats(stats: StatsStore): SpanExportStats {
  return {
    spansSent: stats.counter("tracing.opentelemetry.spans_sent"),
    spansDropped: stats.counter("tracing.opentelemetry.spans_dropped"),
    reportsSent: stats.counter("tracing.opentelemetry.reports_sent"),
    reportsDropped: stats.counter("tracing.opentelemetry.reports_dropped"),
    reportsFailed: stats.counter("tracing.opentelemetry.reports_failed"),
  };
}

/** Spans waiting between `onEnd` and the exporter (shared by the processor and the exporter). */
export interface SpanQueue {
  length: number;
}

/**
 * Admits a finished span only while fewer than `maxQueueSize` wait, so the BatchSpanProcessor
 * behind it never has to drop silently; counts every span it turns away.
 */
export class BoundedSpanProcessor implements SpanProcessor {
  private closed = false;

  constructor(
    private readonly inner: SpanProcessor,
    private readonly queue: SpanQueue,
    private readonly maxQueueSize: number,
    private readonly stats: SpanExportStats,
  ) {}

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (this.closed || this.queue.length >= this.maxQueueSize) {
      this.stats.spansDropped.inc();
      return;
    }
    this.queue.length++;
    this.inner.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    this.closed = true;
    return this.inner.shutdown();
  }
}

/** Sees every batch the processor exports: dequeues it and counts the outcome. */
export class CountingSpanExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly queue: SpanQueue,
    private readonly stats: SpanExportStats,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    const n = spans.length;
    this.queue.length -= n;
    this.stats.spansSent.inc(n);
    this.inner.export(spans, (result) => {
      if (result.code === 0 /* ExportResultCode.SUCCESS */) {
        this.stats.reportsSent.inc();
      } else {
        this.stats.spansDropped.inc(n);
        // OTLPExporterError carries the HTTP status when the collector answered.
        const code = (result.error as { code?: unknown } | undefined)?.code;
        if (typeof code === "number" && code > 0) this.stats.reportsDropped.inc();
        else this.stats.reportsFailed.inc();
      }
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
