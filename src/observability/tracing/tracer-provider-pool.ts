// One OpenTelemetry TracerProvider (and so one batch processor and one OTLP/HTTP exporter) per
// distinct collector endpoint in a worker, shared by every chain that exports there. A provider
// the applied snapshot no longer uses is shut down (its queue flushed); so are all of them when
// the worker stops. Nothing is registered globally: no global tracer provider, no context
// manager, no propagator — tests run many proxies in one process.

import { ROOT_CONTEXT, trace, type Tracer } from "@opentelemetry/api";
import { TraceState } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, type IdGenerator } from "@opentelemetry/sdk-trace-base";
import type { Logger } from "../../common/logger.js";
import type { TracingConfig } from "../../config/model/types.js";
import type { StatsStore } from "../stats/stats-store.js";
import { BoundedSpanProcessor, CountingSpanExporter, spanExportStats, type SpanExportStats, type SpanQueue } from "./span-export.js";
import type { TraceIdGenerator } from "./trace-ids.js";

/** Batching, as the OpenTelemetry SDK's BatchSpanProcessor defaults (and OTEL_BSP_* override). */
export interface SpanBatchOptions {
  /** Finished spans waiting for export; more are dropped (counted). 2048: the SDK's default. */
  maxQueueSize: number;
  /** Spans per export request. 512: the SDK's default. */
  maxExportBatchSize: number;
  /** Longest a span waits for a batch to fill. 5000 ms: the SDK's default, and Envoy's flush interval. */
  scheduledDelayMillis: number;
}

/** The SDK's defaults, overridden by the standard OTEL_BSP_* variables. */
export function spanBatchOptionsFromEnv(env: Readonly<Record<string, string | undefined>>): SpanBatchOptions {
  const num = (name: string, dflt: number): number => {
    const v = env[name];
    const n = v === undefined || v.trim() === "" ? Number.NaN : Number(v);
    return Number.isFinite(n) && n > 0 ? Math.floor(n) : dflt;
  };
  const maxQueueSize = num("OTEL_BSP_MAX_QUEUE_SIZE", 2048);
  return {
    maxQueueSize,
    maxExportBatchSize: Math.min(num("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512), maxQueueSize),
    scheduledDelayMillis: num("OTEL_BSP_SCHEDULE_DELAY", 5000),
  };
}

type ProviderConfig = TracingConfig["provider"];

interface PooledProvider {
  provider: BasicTracerProvider;
  tracer: Tracer;
  timeoutMs: number;
}

export class TracerProviderPool {
  private readonly providers = new Map<string, PooledProvider>();
  /** Keys compiled since the last applied snapshot (the new snapshot's keys are among them). */
  private touched = new Set<string>();
  private readonly stats: SpanExportStats;
  private closing: Promise<void> | undefined;

  constructor(
    stats: StatsStore,
    private readonly ids: TraceIdGenerator,
    private readonly batch: SpanBatchOptions,
    private readonly log: Logger,
  ) {
    this.stats = spanExportStats(stats);
  }

  /** The tracer exporting to `config`'s endpoint, created on first use. */
  tracer(config: ProviderConfig): Tracer {
    const key = JSON.stringify([config.endpoint, config.serviceName, config.timeoutMs, Object.entries(config.headers).sort()]);
    this.touched.add(key);
    let p = this.providers.get(key);
    if (p === undefined) {
      p = this.create(config);
      this.providers.set(key, p);
    }
    return p.tracer;
  }

  /** Endpoints with a live exporter (admin and tests). */
  endpoints(): string[] {
    return [...this.providers.keys()].map((k) => (JSON.parse(k) as [string])[0]);
  }

  /** Shuts down (flushes) providers no chain compiled since the previous applied snapshot uses. */
  snapshotApplied(): void {
    for (const [key, p] of this.providers) {
      if (this.touched.has(key)) continue;
      this.providers.delete(key);
      void this.shutdown(p);
    }
    this.touched = new Set();
  }

  /** Flushes and shuts down every provider; waits at most each exporter's timeout. */
  close(): Promise<void> {
    this.closing ??= Promise.all([...this.providers.values()].map((p) => this.shutdown(p))).then(() => {
      this.providers.clear();
    });
    return this.closing;
  }

  private create(config: ProviderConfig): PooledProvider {
    const queue: SpanQueue = { length: 0 };
    const exporter = new CountingSpanExporter(
      new OTLPTraceExporter({ url: config.endpoint, headers: { ...config.headers }, timeoutMillis: config.timeoutMs }),
      queue,
      this.stats,
    );
    const batch = new BatchSpanProcessor(exporter, {
      maxQueueSize: this.batch.maxQueueSize,
      maxExportBatchSize: this.batch.maxExportBatchSize,
      scheduledDelayMillis: this.batch.scheduledDelayMillis,
      exportTimeoutMillis: config.timeoutMs,
    });
    const ids = this.ids;
    const idGenerator: IdGenerator = { generateTraceId: () => ids.traceId(), generateSpanId: () => ids.spanId() };
    const provider = new BasicTracerProvider({
      // The sampling decision is made before a span exists (trace-sampler.ts): only sampled
      // requests get an SDK span, and the SDK must not second-guess them (OTEL_TRACES_SAMPLER).
      sampler: new AlwaysOnSampler(),
      idGenerator,
      resource: resourceFromAttributes({ "service.name": config.serviceName }),
      spanProcessors: [new BoundedSpanProcessor(batch, queue, this.batch.maxQueueSize, this.stats)],
    });
    return { provider, tracer: provider.getTracer("outrigger"), timeoutMs: config.timeoutMs };
  }

  private shutdown(p: PooledProvider): Promise<void> {
    // An unreachable collector must not hold a drain past the exporter's own timeout.
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((r) => {
      timer = setTimeout(r, p.timeoutMs);
      timer.unref();
    });
    const done = p.provider.shutdown().catch((e: unknown) => this.log.debug(`tracing: exporter shutdown: ${String(e)}`));
    return Promise.race([done, bound]).finally(() => clearTimeout(timer));
  }
}

/** The parent context the SDK needs for a span with a remote parent (no context manager involved). */
export function remoteParent(traceId: string, spanId: string, sampled: boolean, traceState: string | undefined): ReturnType<typeof trace.setSpanContext> {
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId,
    spanId,
    traceFlags: sampled ? 1 : 0,
    isRemote: true,
    ...(traceState !== undefined ? { traceState: new TraceState(traceState) } : {}),
  });
}
