// Getting finished spans to a collector without ever holding up a request: spans are encoded into
// the current batch as they finish (otlp-span-encoder.ts); a batch is sealed at
// `maxExportBatchSize` spans or `scheduledDelayMillis` after its first span, and sealed batches
// are POSTed as OTLP/HTTP protobuf (what Envoy's OpenTelemetry tracer sends), one request in flight
// per collector. At most `maxQueueSize` spans wait; more are dropped and counted. Counted in the
// worker's stats store:
//   tracing.opentelemetry.spans_sent      spans handed to a request (Envoy's name and meaning)
//   tracing.opentelemetry.spans_dropped   spans that will never reach the collector: queue full,
//                                         exporter shut down, or their export failed
//   tracing.opentelemetry.reports_sent    export requests the collector accepted (2xx)
//   tracing.opentelemetry.reports_dropped export requests the collector refused (non-2xx)
//   tracing.opentelemetry.reports_failed  export requests that failed (connect error, timeout)
// (the reports_* names are those of Envoy's Zipkin tracer, which has the same three outcomes).

import { createRequire } from "node:module";
import type { Agent as HttpAgentType, ClientRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Logger } from "../../common/logger.js";
import type { TracingConfig } from "../../config/model/types.js";
import type { Counter, StatsStore } from "../stats/stats-store.js";
import { batchPrefix, KeyFields, SpanBatch, type BatchPrefix, type SpanRecord } from "./otlp-span-encoder.js";

// node:http through require, not `import`: Node's ES module facade of node:http reads every export,
// and its WebSocket / CloseEvent / MessageEvent getters load Node's bundled undici — 30-70 ms of
// CPU in every worker at start, for exports nobody uses (measured, bench/start-time.mjs).
const { Agent: HttpAgent, request: httpRequest } = createRequire(import.meta.url)("node:http") as typeof import("node:http");

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

type ProviderConfig = TracingConfig["provider"];

/** The instrumentation scope our spans are exported under. */
const SCOPE = { name: "outrigger", version: "" };

interface SealedBatch {
  body: Buffer;
  spans: number;
}

/** One collector endpoint: the current batch, the sealed ones waiting, one request in flight. */
export class OtlpHttpExporter {
  private readonly keys = new KeyFields();
  /** Spans not sealed yet; its buffer is reused from batch to batch. */
  private readonly batch = new SpanBatch(this.keys);
  private readonly sealed: SealedBatch[] = [];
  /** Spans in `sealed` plus the current batch (the bound applies to them). */
  private waiting = 0;
  private inFlight: ClientRequest | undefined;
  /** Settles the export in flight (once; later outcomes of the same request are ignored). */
  private settleInFlight: ((outcome: "sent" | "refused" | "failed", detail: string) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private idle: Array<() => void> = [];
  private readonly prefix: BatchPrefix;
  private readonly url: URL;
  private readonly agent: HttpAgentType;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly config: ProviderConfig,
    private readonly opts: SpanBatchOptions,
    private readonly stats: SpanExportStats,
    private readonly log: Logger,
  ) {
    this.prefix = batchPrefix({ "service.name": config.serviceName }, SCOPE);
    this.url = new URL(config.endpoint);
    const https = this.url.protocol === "https:";
    // One connection, kept alive: exports are sequential.
    this.agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: 1 }) : new HttpAgent({ keepAlive: true, maxSockets: 1 });
    this.headers = { ...config.headers, "content-type": "application/x-protobuf" };
  }

  get timeoutMs(): number {
    return this.config.timeoutMs;
  }

  /** Encodes a finished span into the current batch, or drops it (counted) when the queue is full. */
  add(span: SpanRecord): void {
    if (this.closed || this.waiting >= this.opts.maxQueueSize) {
      this.stats.spansDropped.inc();
      return;
    }
    this.batch.add(span);
    this.waiting++;
    if (this.batch.count >= this.opts.maxExportBatchSize) {
      this.seal();
      this.send();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.seal();
        this.send();
      }, this.opts.scheduledDelayMillis);
      this.timer.unref();
    }
  }

  /** Exports what waits, then stops; resolves when done or after the export timeout. */
  shutdown(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.seal();
    this.send();
    this.closed = true;
    const drained = new Promise<void>((resolve) => {
      if (this.inFlight === undefined && this.sealed.length === 0) resolve();
      else this.idle.push(resolve);
    });
    let bound: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      bound = setTimeout(resolve, this.config.timeoutMs);
      bound.unref();
    });
    return Promise.race([drained, timeout]).finally(() => {
      clearTimeout(bound);
      // What could not go out in time never will.
      for (const b of this.sealed) this.stats.spansDropped.inc(b.spans);
      this.sealed.length = 0;
      // Counted now, not when the socket closes: shutdown's caller sees final counters.
      this.settleInFlight?.("failed", "exporter shut down");
      this.inFlight?.destroy();
      this.agent.destroy();
    });
  }

  private seal(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.batch.count === 0) return;
    this.sealed.push({ body: this.batch.request(this.prefix), spans: this.batch.count });
    this.batch.reset();
  }

  private send(): void {
    if (this.inFlight !== undefined) return;
    const next = this.sealed.shift();
    if (next === undefined) {
      for (const r of this.idle.splice(0)) r();
      return;
    }
    this.waiting -= next.spans;
    this.stats.spansSent.inc(next.spans);
    const u = this.url;
    const send = u.protocol === "https:" ? httpsRequest : httpRequest;
    let settled = false;
    // The whole export is bounded by the provider's timeout, not only its idle gaps (a collector
    // trickling bytes must not hold the one export slot).
    const deadline = setTimeout(() => req.destroy(new Error(`no answer in ${this.config.timeoutMs} ms`)), this.config.timeoutMs);
    deadline.unref();
    const done = (outcome: "sent" | "refused" | "failed", detail: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      this.inFlight = undefined;
      this.settleInFlight = undefined;
      if (outcome === "sent") this.stats.reportsSent.inc();
      else {
        this.stats.spansDropped.inc(next.spans);
        (outcome === "refused" ? this.stats.reportsDropped : this.stats.reportsFailed).inc();
        this.log.debug(`tracing: export to ${this.config.endpoint} ${outcome}: ${detail}`);
      }
      this.send();
    };
    const req = send(
      { protocol: u.protocol, hostname: u.hostname.replace(/^\[|\]$/g, ""), port: u.port, path: `${u.pathname}${u.search}`, method: "POST", agent: this.agent, headers: { ...this.headers, "content-length": String(next.body.length) } },
      (res) => {
        res.resume();
        res.on("end", () => done(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300 ? "sent" : "refused", `HTTP ${res.statusCode}`));
        res.on("error", (e) => done("failed", e.message));
      },
    );
    req.on("error", (e) => done("failed", e.message));
    this.inFlight = req;
    this.settleInFlight = done;
    req.end(next.body);
  }
}

/**
 * One exporter per distinct collector (endpoint, service name, headers, timeout) in a worker,
 * shared by every chain that exports there. One the applied snapshot no longer uses is shut down
 * (its queue flushed); so are all of them when the worker stops.
 */
export class OtlpExporterPool {
  private readonly exporters = new Map<string, OtlpHttpExporter>();
  /** Keys compiled since the last applied snapshot (the new snapshot's keys are among them). */
  private touched = new Set<string>();
  private readonly stats: SpanExportStats;
  private closing: Promise<void> | undefined;

  constructor(
    stats: StatsStore,
    private readonly batch: SpanBatchOptions,
    private readonly log: Logger,
  ) {
    this.stats = spanExportStats(stats);
  }

  /** The exporter for `config`'s collector, created on first use. */
  exporter(config: ProviderConfig): OtlpHttpExporter {
    const key = JSON.stringify([config.endpoint, config.serviceName, config.timeoutMs, Object.entries(config.headers).sort()]);
    this.touched.add(key);
    let e = this.exporters.get(key);
    if (e === undefined) {
      e = new OtlpHttpExporter(config, this.batch, this.stats, this.log);
      this.exporters.set(key, e);
    }
    return e;
  }

  /** Endpoints with a live exporter (admin and tests). */
  endpoints(): string[] {
    return [...this.exporters.keys()].map((k) => (JSON.parse(k) as [string])[0]);
  }

  /** Shuts down (flushes) exporters no chain compiled since the previous applied snapshot uses. */
  snapshotApplied(): void {
    for (const [key, e] of this.exporters) {
      if (this.touched.has(key)) continue;
      this.exporters.delete(key);
      void e.shutdown();
    }
    this.touched = new Set();
  }

  /** Flushes and shuts down every exporter; waits at most each exporter's timeout. */
  close(): Promise<void> {
    this.closing ??= Promise.all([...this.exporters.values()].map((e) => e.shutdown())).then(() => {
      this.exporters.clear();
    });
    return this.closing;
  }
}
