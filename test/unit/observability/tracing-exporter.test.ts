// The OTLP/HTTP protobuf exporter against real collectors on port 0: batch boundaries (size,
// timer, shutdown flush), one request in flight, the bounded queue with a stuck collector,
// request headers, the timeout, refusals and connection failures — each outcome counted.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../src/common/logger.js";
import { StatsStore } from "../../../src/observability/stats/stats-store.js";
import { OtlpExporterPool, OtlpHttpExporter, spanBatchOptionsFromEnv, spanExportStats, type SpanBatchOptions } from "../../../src/observability/tracing/otlp-http-exporter.js";
import { decodeOtlpProtobuf } from "../../../src/observability/tracing/otlp-proto-decoder.js";
import { startOtlpReceiver, type OtlpReceiver } from "../../../src/observability/tracing/otlp-receiver.js";
import type { SpanRecord } from "../../../src/observability/tracing/otlp-span-encoder.js";
import { waitFor, within } from "../../helpers/wait.js";

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const LONG = 60_000; // a schedule delay no test waits for

function counters(stats: StatsStore): Record<string, number> {
  const v = (n: string): number => stats.counter(`tracing.opentelemetry.${n}`).value;
  return { spans_sent: v("spans_sent"), spans_dropped: v("spans_dropped"), reports_sent: v("reports_sent"), reports_dropped: v("reports_dropped"), reports_failed: v("reports_failed") };
}

function provider(endpoint: string, opts: { headers?: Record<string, string>; timeoutMs?: number } = {}) {
  return { name: "envoy.tracers.opentelemetry" as const, serviceName: "svc", endpoint, headers: opts.headers ?? {}, timeoutMs: opts.timeoutMs ?? 5_000 };
}

function exporter(endpoint: string, batch: Partial<SpanBatchOptions>, opts: { headers?: Record<string, string>; timeoutMs?: number } = {}): { e: OtlpHttpExporter; stats: StatsStore } {
  const stats = new StatsStore();
  const e = new OtlpHttpExporter(provider(endpoint, opts), { maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: LONG, ...batch }, spanExportStats(stats), createLogger("off"));
  closers.push(() => e.shutdown());
  return { e, stats };
}

/** Span `i` is named `/r<i>`, so each export's contents can be told apart. */
function span(i: number): SpanRecord {
  return {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: (0x1000000000000000 + i).toString(16),
    parentSpanId: "",
    traceState: "",
    name: `/r${i}`,
    kind: 3,
    startMs: 1_764_522_000_123.25,
    endMs: 1_764_522_000_130.5,
    statusCode: 0,
    attrCount: 1,
    attrKeys: ["http.status_code"],
    attrValues: ["200"],
  };
}

function addSpans(e: OtlpHttpExporter, n: number, from = 0): void {
  for (let i = from; i < from + n; i++) e.add(span(i));
}

const names = (body: Buffer): string[] => decodeOtlpProtobuf(body).map((s) => s.name);

async function receiver(opts: Parameters<typeof startOtlpReceiver>[0] = {}): Promise<OtlpReceiver> {
  const rx = await startOtlpReceiver(opts);
  closers.push(() => rx.close());
  return rx;
}

/** A collector that holds every request until the test answers it, recording each one. */
async function heldCollector(): Promise<{ url: string; held: Array<{ req: IncomingMessage; body: Buffer; res: ServerResponse }>; server: Server }> {
  const held: Array<{ req: IncomingMessage; body: Buffer; res: ServerResponse }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => held.push({ req, body: Buffer.concat(chunks), res }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, held, server };
}

describe("OTLP/HTTP protobuf exporter", () => {
  it("POSTs application/x-protobuf to the endpoint with the provider's headers", async () => {
    const rx = await receiver();
    const { e, stats } = exporter(rx.url, { maxExportBatchSize: 2 }, { headers: { "x-tenant": "t1", authorization: "Bearer k" } });
    addSpans(e, 2);
    const spans = await rx.waitForSpans(2);
    const h = rx.exportHeaders[0]!;
    expect(h["content-type"]).toBe("application/x-protobuf");
    expect(h["x-tenant"]).toBe("t1");
    expect(h.authorization).toBe("Bearer k");
    expect(Number(h["content-length"])).toBeGreaterThan(0);
    expect(spans.map((s) => s.name)).toEqual(["/r0", "/r1"]);
    expect(spans[0]!.resource).toEqual({ "service.name": "svc" });
    await waitFor(() => counters(stats).reports_sent === 1);
    expect(counters(stats)).toEqual({ spans_sent: 2, spans_dropped: 0, reports_sent: 1, reports_dropped: 0, reports_failed: 0 });
  });

  it("a batch closes at maxExportBatchSize; one export is in flight at a time; shutdown sends the rest", async () => {
    const c = await heldCollector();
    const { e, stats } = exporter(c.url, { maxExportBatchSize: 3 });
    addSpans(e, 7);
    await waitFor(() => c.held.length === 1, 5_000, "the first export");
    // The first batch (3 spans) is in flight; the second (3) waits for it; 1 span is in the open batch.
    expect(names(c.held[0]!.body)).toEqual(["/r0", "/r1", "/r2"]);
    expect(counters(stats).spans_sent).toBe(3);
    const done = e.shutdown();
    c.held[0]!.res.end();
    await waitFor(() => c.held.length === 2, 5_000, "the second export");
    expect(names(c.held[1]!.body)).toEqual(["/r3", "/r4", "/r5"]);
    c.held[1]!.res.end();
    await waitFor(() => c.held.length === 3, 5_000, "the flushed last span");
    expect(names(c.held[2]!.body)).toEqual(["/r6"]);
    c.held[2]!.res.end();
    await within(done, 5_000, "shutdown");
    expect(counters(stats)).toEqual({ spans_sent: 7, spans_dropped: 0, reports_sent: 3, reports_dropped: 0, reports_failed: 0 });
    // Closed: later spans are dropped and counted.
    addSpans(e, 1);
    expect(counters(stats).spans_dropped).toBe(1);
  });

  it("with the SDK's defaults an export carries 512 spans: the 513th waits for the next batch", async () => {
    const rx = await receiver();
    const { e, stats } = exporter(rx.url, spanBatchOptionsFromEnv({}));
    addSpans(e, 513);
    const first = await rx.waitForSpans(512);
    expect(first).toHaveLength(512);
    expect(rx.exports).toBe(1);
    expect(counters(stats).spans_sent).toBe(512);
    await within(e.shutdown(), 5_000, "shutdown");
    expect(rx.exports).toBe(2);
    expect(rx.spans.at(-1)!.name).toBe("/r512");
  });

  it("a partial batch is sent when the schedule delay passes", async () => {
    const rx = await receiver();
    const { e, stats } = exporter(rx.url, { scheduledDelayMillis: 20 });
    addSpans(e, 2);
    expect(rx.exports).toBe(0);
    await rx.waitForSpans(2);
    expect(rx.exports).toBe(1);
    await waitFor(() => counters(stats).reports_sent === 1);
    expect(counters(stats).spans_sent).toBe(2);
  });

  it("a stuck collector: the queue is bounded (current batch included), the rest is dropped and counted; shutdown gives up after the timeout", async () => {
    const c = await heldCollector();
    const { e, stats } = exporter(c.url, { maxQueueSize: 4, maxExportBatchSize: 2 }, { timeoutMs: 300 });
    addSpans(e, 10);
    // 2 in flight, 4 waiting (two sealed batches), 4 dropped — decided synchronously, no request delayed.
    expect(counters(stats)).toMatchObject({ spans_sent: 2, spans_dropped: 4, reports_sent: 0 });
    await waitFor(() => c.held.length === 1, 5_000, "the stuck export");
    const started = Date.now();
    await within(e.shutdown(), 5_000, "a bounded shutdown");
    expect(Date.now() - started).toBeLessThan(2_000);
    // Nothing reached the collector: every one of the 10 spans is counted as dropped, once, by
    // the time shutdown resolves (the export it aborts included).
    expect(counters(stats)).toMatchObject({ spans_dropped: 10, reports_sent: 0, reports_dropped: 0 });
    expect(counters(stats).reports_failed).toBeGreaterThanOrEqual(1);
    // The aborted request's late error changes nothing.
    await new Promise((r) => setImmediate(r));
    expect(counters(stats).spans_dropped).toBe(10);
  });

  it("an export the collector does not answer within the timeout fails (counted) and the next batch goes out", async () => {
    const c = await heldCollector();
    const { e, stats } = exporter(c.url, { maxExportBatchSize: 1 }, { timeoutMs: 100 });
    addSpans(e, 2);
    await waitFor(() => counters(stats).reports_failed === 1, 5_000, "the timed-out export");
    expect(counters(stats).spans_dropped).toBe(1);
    await waitFor(() => c.held.length === 2, 5_000, "the next export");
    c.held[1]!.res.end();
    await waitFor(() => counters(stats).reports_sent === 1, 5_000, "the next export accepted");
    expect(counters(stats)).toEqual({ spans_sent: 2, spans_dropped: 1, reports_sent: 1, reports_dropped: 0, reports_failed: 1 });
  });

  it("a collector that trickles its answer cannot hold the export past the timeout", async () => {
    const c = await heldCollector();
    const { e, stats } = exporter(c.url, { maxExportBatchSize: 1 }, { timeoutMs: 300 });
    addSpans(e, 1);
    await waitFor(() => c.held.length === 1, 5_000, "the export");
    // A byte of the answer keeps arriving, so the socket is never idle for the timeout.
    const res = c.held[0]!.res;
    res.writeHead(200, { "content-type": "application/x-protobuf" });
    res.write("x");
    const trickle = setInterval(() => res.write("x"), 50);
    try {
      await waitFor(() => counters(stats).reports_failed === 1, 5_000, "the trickled export failing at the timeout");
    } finally {
      clearInterval(trickle);
    }
    expect(counters(stats)).toMatchObject({ spans_sent: 1, spans_dropped: 1, reports_sent: 0 });
  });

  it("a refused export (non-2xx) counts reports_dropped; an unreachable collector counts reports_failed", async () => {
    const refusing = await receiver({ status: 503 });
    const a = exporter(refusing.url, { maxExportBatchSize: 2 });
    addSpans(a.e, 2);
    await waitFor(() => counters(a.stats).reports_dropped === 1, 5_000, "the refusal");
    expect(counters(a.stats)).toEqual({ spans_sent: 2, spans_dropped: 2, reports_sent: 0, reports_dropped: 1, reports_failed: 0 });
    // A port nothing listens on.
    const closed = await heldCollector();
    const url = closed.url;
    await new Promise<void>((r) => {
      closed.server.close(() => r());
    });
    const b = exporter(url, { maxExportBatchSize: 1 });
    addSpans(b.e, 1);
    await waitFor(() => counters(b.stats).reports_failed === 1, 5_000, "the connection failure");
    expect(counters(b.stats).spans_dropped).toBe(1);
  });
});

describe("OTLP exporter pool", () => {
  it("one exporter per endpoint config; close flushes, bounded by the timeout when the collector hangs", async () => {
    const rx = await receiver();
    const c = await heldCollector();
    const stats = new StatsStore();
    const pool = new OtlpExporterPool(stats, { maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: LONG }, createLogger("off"));
    const a = pool.exporter(provider(rx.url));
    expect(pool.exporter(provider(rx.url))).toBe(a);
    const hung = pool.exporter(provider(c.url, { timeoutMs: 100 }));
    expect(pool.endpoints()).toEqual([rx.url, c.url]);
    addSpans(a, 2);
    addSpans(hung, 1);
    await within(pool.close(), 5_000, "pool close");
    expect(rx.spans).toHaveLength(2);
    expect(c.held).toHaveLength(1);
    expect(counters(stats)).toMatchObject({ spans_sent: 3, reports_sent: 1, spans_dropped: 1 });
  });

  it("OTEL_BSP_* override the SDK's batch defaults; bad values keep them", () => {
    expect(spanBatchOptionsFromEnv({})).toEqual({ maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: 5000 });
    expect(spanBatchOptionsFromEnv({ OTEL_BSP_MAX_QUEUE_SIZE: "100", OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "500", OTEL_BSP_SCHEDULE_DELAY: "250" })).toEqual({ maxQueueSize: 100, maxExportBatchSize: 100, scheduledDelayMillis: 250 });
    expect(spanBatchOptionsFromEnv({ OTEL_BSP_MAX_QUEUE_SIZE: "-1", OTEL_BSP_SCHEDULE_DELAY: "soon" })).toEqual({ maxQueueSize: 2048, maxExportBatchSize: 512, scheduledDelayMillis: 5000 });
  });
});
