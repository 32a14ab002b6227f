// Tracing over real sockets: a proxy with an HCM `tracing` config, a real upstream that records
// the headers it got, and the in-process OTLP/HTTP receiver decoding what the exporter sent.

import { afterEach, describe, expect, it } from "vitest";
import { createServer as createNetServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import type { Cluster, Route, Snapshot, TracingConfig, TrafficDirection } from "../../src/config/model/types.js";
import { httpConnectionManagerOf, httpListener } from "../../src/config/model/listener-defaults.js";
import { createLogger } from "../../src/common/logger.js";
import { nodeIdentity } from "../../src/observability/node-identity.js";
import { StatsStore } from "../../src/observability/stats/stats-store.js";
import { startOtlpReceiver, type OtlpReceiver } from "../../src/observability/tracing/otlp-receiver.js";
import { workerTracing, type WorkerTracing } from "../../src/observability/tracing/tracing-factory.js";
import { cluster, route, startProxy, type TestProxy } from "../helpers/proxy.js";
import { freePort, startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";
import { ManualTimers } from "../helpers/manual-timers.js";
import { waitFor } from "../helpers/wait.js";

const node = nodeIdentity({
  env: { POD_NAME: "productpage-v1-7d4f8b-x2k9z", INSTANCE_IP: "10.1.2.3", ISTIO_META_MESH_ID: "mesh1", ISTIO_META_CLUSTER_ID: "east" },
  namespace: "shop",
  labels: { app: "productpage", version: "v1", "service.istio.io/canonical-name": "productpage", "service.istio.io/canonical-revision": "v1" },
  domainSuffix: "cluster.local",
});

let proxy: TestProxy | undefined;
let receiver: OtlpReceiver | undefined;
let tracing: WorkerTracing | undefined;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await tracing?.close();
  tracing = undefined;
  await receiver?.close();
  receiver = undefined;
  await Promise.all(closers.splice(0).map((c) => c()));
});

function tracingConfig(endpoint: string, extra: Partial<TracingConfig> = {}): TracingConfig {
  return {
    provider: { name: "envoy.tracers.opentelemetry", serviceName: "productpage.shop", endpoint, headers: { "x-tenant": "t1" }, timeoutMs: 2_000 },
    randomSamplingPercentage: 100,
    customTags: [],
    maxPathTagLength: 256,
    ...extra,
  };
}

async function tracedSnapshot(routes: Route[], clusters: Cluster[], tracingCfg: TracingConfig, direction: TrafficDirection = "OUTBOUND", samePort?: number): Promise<Snapshot> {
  const port = samePort ?? (await freePort());
  const listener = httpListener({ address: "127.0.0.1", port, direction, routeConfigName: "rc" });
  httpConnectionManagerOf(listener.filterChains[0]!)!.tracing = tracingCfg;
  return {
    version: "t/1",
    listeners: [listener],
    routeConfigs: { rc: { name: "rc", virtualHosts: [{ name: "vh", domains: ["*"], routes }] } },
    clusters: Object.fromEntries(clusters.map((c) => [c.name, c])),
  };
}

interface Setup {
  upstream: EchoUpstream;
  stats: StatsStore;
  timers?: ManualTimers;
}

/** Proxy → echo upstream on Istio's outbound cluster name; spans go to the in-process receiver. */
async function setup(opts: { tracing?: Partial<TracingConfig>; direction?: TrafficDirection; handler?: Parameters<typeof startEchoUpstream>[1]; timers?: ManualTimers; routes?: (c: string) => Route[]; clusters?: (port: number) => Cluster[]; env?: Record<string, string> } = {}): Promise<Setup> {
  receiver = await startOtlpReceiver();
  const upstream = await startEchoUpstream("reviews", opts.handler);
  closers.push(() => upstream.close());
  const clusterName = "outbound|9080||reviews.shop.svc.cluster.local";
  const clusters = opts.clusters?.(upstream.port) ?? [cluster(clusterName, [upstream.port])];
  const routes = opts.routes?.(clusterName) ?? [route("default", { route: { cluster: clusterName } })];
  const snap = await tracedSnapshot(routes, clusters, tracingConfig(receiver.url, opts.tracing), opts.direction);
  const stats = new StatsStore();
  tracing = workerTracing({ node, stats, log: createLogger("off"), env: opts.env ?? {}, batch: { scheduledDelayMillis: 10 } });
  const t = tracing;
  proxy = await startProxy(snap, {
    ...(opts.timers !== undefined ? { timers: opts.timers, clock: opts.timers } : {}),
    runtime: { telemetry: { tracer: t.tracer, snapshotApplied: () => t.snapshotApplied(), close: () => t.close() }, stats },
  });
  return { upstream, stats, ...(opts.timers !== undefined ? { timers: opts.timers } : {}) };
}

async function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  const res = await fetch(proxy!.url(path), { headers });
  await res.arrayBuffer();
  return res;
}

function traceparentParts(v: string | string[] | undefined): { traceId: string; spanId: string; flags: string } {
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(String(v));
  if (m === null) throw new Error(`not a traceparent: ${String(v)}`);
  return { traceId: m[1]!, spanId: m[2]!, flags: m[3]! };
}

const PARENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN = "00f067aa0ba902b7";

describe("tracing: W3C trace context", () => {
  it("makes the request's span a child of the incoming traceparent and sends the new span upstream", async () => {
    const { upstream } = await setup();
    const res = await get("/reviews/1?x=y", { traceparent: `00-${PARENT_TRACE}-${PARENT_SPAN}-01`, tracestate: "vendor=abc", "x-request-id": "5b6b1c7a-1a2b-4c3d-8e9f-0123456789ab", "user-agent": "test-agent/1" });
    expect(res.status).toBe(200);
    const [span] = await receiver!.waitForSpans(1);
    const up = upstream.requests[0]!.headers;
    const tp = traceparentParts(up.traceparent);
    expect(tp).toEqual({ traceId: PARENT_TRACE, spanId: span!.spanId, flags: "01" });
    expect(up.tracestate).toBe("vendor=abc");
    expect(up["x-request-id"]).toBe("5b6b1c7a-1a2b-4c3d-8e9f-0123456789ab");
    expect(up["x-b3-traceid"]).toBeUndefined();
    expect(span).toMatchObject({
      traceId: PARENT_TRACE,
      parentSpanId: PARENT_SPAN,
      traceState: "vendor=abc",
      kind: "CLIENT",
      name: "reviews.shop.svc.cluster.local:9080/*",
      status: { code: "UNSET" },
      resource: { "service.name": "productpage.shop" },
    });
    expect(span!.spanId).not.toBe(PARENT_SPAN);
    await waitFor(() => proxy!.streams.length === 1);
    const info = proxy!.streams[0]!;
    expect(span!.attributes).toEqual({
      node_id: "sidecar~10.1.2.3~productpage-v1-7d4f8b-x2k9z.shop~shop.svc.cluster.local",
      zone: "",
      "guid:x-request-id": "5b6b1c7a-1a2b-4c3d-8e9f-0123456789ab",
      "http.url": `http://127.0.0.1:${proxy!.port}/reviews/1?x=y`,
      "http.method": "GET",
      downstream_cluster: "-",
      user_agent: "test-agent/1",
      "http.protocol": "HTTP/1.1",
      "peer.address": "127.0.0.1",
      request_size: "0",
      response_size: String(info.bytesSent),
      component: "proxy",
      upstream_cluster: "outbound|9080||reviews.shop.svc.cluster.local",
      "upstream_cluster.name": "outbound|9080||reviews.shop.svc.cluster.local",
      upstream_address: `127.0.0.1:${upstream.port}`,
      "http.status_code": "200",
      response_flags: "-",
      "istio.canonical_revision": "v1",
      "istio.canonical_service": "productpage",
      "istio.cluster_id": "east",
      "istio.mesh_id": "mesh1",
      "istio.namespace": "shop",
    });
  });

  it("an inbound request's span is a SERVER span named ingress", async () => {
    await setup({ direction: "INBOUND", clusters: (p) => [cluster("inbound|9080||", [p])], routes: () => [route("default", { route: { cluster: "inbound|9080||" } })] });
    await get("/", { traceparent: `00-${PARENT_TRACE}-${PARENT_SPAN}-01` });
    const [span] = await receiver!.waitForSpans(1);
    expect(span).toMatchObject({ kind: "SERVER", name: "ingress", parentSpanId: PARENT_SPAN });
  });
});

describe("tracing: B3 propagation", () => {
  it("B3 multi headers in (64-bit trace id): the span is their child; B3 multi (same width) and W3C go upstream", async () => {
    const { upstream } = await setup();
    await get("/", { "x-b3-traceid": "463ac35c9f6413ad", "x-b3-spanid": "a2fb4a1d1a96d312", "x-b3-parentspanid": "0020000000000001", "x-b3-sampled": "1" });
    const [span] = await receiver!.waitForSpans(1);
    expect(span).toMatchObject({ traceId: "0000000000000000463ac35c9f6413ad", parentSpanId: "a2fb4a1d1a96d312" });
    const up = upstream.requests[0]!.headers;
    expect(up).toMatchObject({ "x-b3-traceid": "463ac35c9f6413ad", "x-b3-spanid": span!.spanId, "x-b3-parentspanid": "a2fb4a1d1a96d312", "x-b3-sampled": "1" });
    expect(up.traceparent).toBe(`00-0000000000000000463ac35c9f6413ad-${span!.spanId}-01`);
    expect(up.b3).toBeUndefined();
  });

  it("a single b3 header in: the span is its child; b3 and W3C go upstream, no x-b3-* headers", async () => {
    const { upstream } = await setup();
    await get("/", { b3: "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90" });
    const [span] = await receiver!.waitForSpans(1);
    expect(span).toMatchObject({ traceId: "80f198ee56343ba864fe8b2a57d3eff7", parentSpanId: "e457b5a2e4d86bd1" });
    const up = upstream.requests[0]!.headers;
    expect(up.b3).toBe(`80f198ee56343ba864fe8b2a57d3eff7-${span!.spanId}-1-e457b5a2e4d86bd1`);
    expect(up.traceparent).toBe(`00-80f198ee56343ba864fe8b2a57d3eff7-${span!.spanId}-01`);
    expect(up["x-b3-traceid"]).toBeUndefined();
  });

  it("B3 debug (x-b3-flags: 1) is sampled and passed on as debug", async () => {
    const { upstream } = await setup({ tracing: { randomSamplingPercentage: 0 } });
    await get("/", { "x-b3-traceid": "80f198ee56343ba864fe8b2a57d3eff7", "x-b3-spanid": "e457b5a2e4d86bd1", "x-b3-flags": "1" });
    const [span] = await receiver!.waitForSpans(1);
    const up = upstream.requests[0]!.headers;
    expect(up["x-b3-flags"]).toBe("1");
    expect(up["x-b3-sampled"]).toBeUndefined();
    expect(traceparentParts(up.traceparent)).toEqual({ traceId: "80f198ee56343ba864fe8b2a57d3eff7", spanId: span!.spanId, flags: "01" });
  });
});

describe("tracing: sampling", () => {
  it("no incoming context at 100%: a new trace, exported as a root span, and its context goes upstream", async () => {
    const { upstream } = await setup();
    await get("/");
    const [span] = await receiver!.waitForSpans(1);
    expect(span!.parentSpanId).toBe("");
    const up = upstream.requests[0]!.headers;
    expect(traceparentParts(up.traceparent)).toEqual({ traceId: span!.traceId, spanId: span!.spanId, flags: "01" });
    // Envoy's connection manager gives the request an x-request-id, and the span records it.
    expect(span!.attributes["guid:x-request-id"]).toBe(up["x-request-id"]);
  });

  it("at 0% nothing is exported, but a new context still goes upstream with the not-sampled flag", async () => {
    const { upstream, stats } = await setup({ tracing: { randomSamplingPercentage: 0 } });
    await get("/unsampled");
    const tp = traceparentParts(upstream.requests[0]!.headers.traceparent);
    expect(tp.flags).toBe("00");
    // A sampled request after it: the only span that ever arrives is that one.
    await get("/sampled", { traceparent: `00-${PARENT_TRACE}-${PARENT_SPAN}-01` });
    await receiver!.waitForSpans(1);
    expect(receiver!.spans.map((s) => s.traceId)).toEqual([PARENT_TRACE]);
    expect(stats.counter("tracing.opentelemetry.spans_sent").value).toBe(1);
  });

  it("an incoming not-sampled decision (traceparent 00, x-b3-sampled 0) is honoured at 100%", async () => {
    const { upstream } = await setup();
    await get("/w3c", { traceparent: `00-${PARENT_TRACE}-${PARENT_SPAN}-00` });
    await get("/b3", { "x-b3-traceid": PARENT_TRACE, "x-b3-spanid": PARENT_SPAN, "x-b3-sampled": "0" });
    const w3c = traceparentParts(upstream.requests[0]!.headers.traceparent);
    expect(w3c.traceId).toBe(PARENT_TRACE);
    expect(w3c.flags).toBe("00");
    expect(w3c.spanId).not.toBe(PARENT_SPAN);
    expect(upstream.requests[1]!.headers).toMatchObject({ "x-b3-traceid": PARENT_TRACE, "x-b3-sampled": "0", "x-b3-parentspanid": PARENT_SPAN });
    await get("/probe", { "x-client-trace-id": "probe" });
    const spans = await receiver!.waitForSpans(1);
    expect(spans).toHaveLength(1);
    expect(spans[0]!.attributes["http.url"]).toMatch(/\/probe$/);
  });

  it("random sampling is Envoy's, stable per x-request-id: int(first 8 hex) % 10000 < percentage × 100", async () => {
    const { upstream } = await setup({ tracing: { randomSamplingPercentage: 50 } });
    await get("/in", { "x-request-id": "00001387-0000-4000-8000-000000000000" }); // 4999 < 5000: sampled
    await get("/out", { "x-request-id": "00001388-0000-4000-8000-000000000000" }); // 5000: not sampled
    expect(traceparentParts(upstream.requests[0]!.headers.traceparent).flags).toBe("01");
    expect(traceparentParts(upstream.requests[1]!.headers.traceparent).flags).toBe("00");
    const [span] = await receiver!.waitForSpans(1);
    expect(span!.attributes["guid:x-request-id"]).toBe("00001387-0000-4000-8000-000000000000");
  });

  it("malformed traceparent and b3 headers are ignored: a new trace, valid headers upstream, never an error", async () => {
    const { upstream } = await setup();
    const res = await get("/", { traceparent: "00-XYZ-not-a-context", tracestate: "stale=1", b3: "garbage-value" });
    expect(res.status).toBe(200);
    const [span] = await receiver!.waitForSpans(1);
    expect(span!.parentSpanId).toBe("");
    const up = upstream.requests[0]!.headers;
    expect(traceparentParts(up.traceparent)).toEqual({ traceId: span!.traceId, spanId: span!.spanId, flags: "01" });
    expect(up.tracestate).toBeUndefined();
    expect(up.b3).toBe(`${span!.traceId}-${span!.spanId}-1`);
  });
});

describe("tracing: attributes and status of finished requests", () => {
  it("a 503 UH (no healthy upstream) is an error span with the cluster but no upstream address", async () => {
    await setup({ clusters: () => [cluster("outbound|9080||reviews.shop.svc.cluster.local", [])] });
    expect((await get("/")).status).toBe(503);
    const [span] = await receiver!.waitForSpans(1);
    expect(span!.status.code).toBe("ERROR");
    expect(span!.attributes).toMatchObject({ "http.status_code": "503", response_flags: "UH", error: "true", upstream_cluster: "outbound|9080||reviews.shop.svc.cluster.local" });
    expect(span!.attributes.upstream_address).toBeUndefined();
  });

  it("a 503 UF (connection refused) is an error span with the upstream address it tried", async () => {
    const dead = await freePort();
    await setup({ clusters: () => [cluster("outbound|9080||reviews.shop.svc.cluster.local", [dead])] });
    expect((await get("/")).status).toBe(503);
    const [span] = await receiver!.waitForSpans(1);
    expect(span!.status.code).toBe("ERROR");
    expect(span!.attributes).toMatchObject({ "http.status_code": "503", response_flags: "UF", error: "true", upstream_address: `127.0.0.1:${dead}` });
  });

  it("a 404 NR has no cluster tags and no error tag; the client span's status is ERROR (4xx), a server span's is not", async () => {
    await setup({ routes: (c) => [route("only", { route: { cluster: c } }, { prefix: "/only" })] });
    expect((await get("/elsewhere")).status).toBe(404);
    const [span] = await receiver!.waitForSpans(1);
    expect(span!.attributes).toMatchObject({ "http.status_code": "404", response_flags: "NR" });
    expect(span!.attributes.upstream_cluster).toBeUndefined();
    expect(span!.attributes.error).toBeUndefined();
    expect(span!.status.code).toBe("ERROR");
    expect(span!.name).toBe(`egress 127.0.0.1:${proxy!.port}`);
  });

  it("custom tags: literal, request header (with default) and environment (with default)", async () => {
    await setup({
      env: { CLUSTER_REGION: "eu-west" },
      tracing: {
        customTags: [
          { tag: "team", literal: "checkout" },
          { tag: "tenant", requestHeader: { name: "X-Tenant" } },
          { tag: "plan", requestHeader: { name: "x-plan", defaultValue: "free" } },
          { tag: "absent", requestHeader: { name: "x-absent" } },
          { tag: "region", environment: { name: "CLUSTER_REGION" } },
          { tag: "zone2", environment: { name: "UNSET_VAR", defaultValue: "z-default" } },
        ],
      },
    });
    await get("/", { "x-tenant": "acme" });
    const [span] = await receiver!.waitForSpans(1);
    expect(span!.attributes).toMatchObject({ team: "checkout", tenant: "acme", plan: "free", region: "eu-west", zone2: "z-default" });
    expect("absent" in span!.attributes).toBe(false);
    // The exporter sends the provider's headers with every export.
    expect(receiver!.exportHeaders[0]!["x-tenant"]).toBe("t1");
  });

  it("http.url is truncated to maxPathTagLength", async () => {
    await setup({ tracing: { maxPathTagLength: 8 } });
    await get("/abcdefghijkl");
    const [span] = await receiver!.waitForSpans(1);
    expect(span!.attributes["http.url"]).toBe(`http://127.0.0.1:${proxy!.port}/abcdefg`);
  });

  it("span start and end come from the StreamInfo (injected clock)", async () => {
    const timers = new ManualTimers(Date.UTC(2026, 0, 1));
    await setup({
      timers,
      handler: (_req, res) => {
        timers.advance(250);
        res.writeHead(200, { "content-length": "2" });
        res.end("ok");
      },
    });
    await get("/");
    const [span] = await receiver!.waitForSpans(1);
    const start = BigInt(Date.UTC(2026, 0, 1)) * 1_000_000n;
    expect(span!.startTimeUnixNano).toBe(start);
    expect(span!.endTimeUnixNano).toBe(start + 250_000_000n);
  });

  it("every retry attempt carries the same span context", async () => {
    let n = 0;
    const { upstream } = await setup({
      handler: (_req, res) => {
        n++;
        res.writeHead(n === 1 ? 503 : 200, { "content-length": "2" });
        res.end("ok");
      },
      routes: (c) => [route("r", { route: { cluster: c, retryPolicy: { retryOn: ["5xx"], numRetries: 2, retriableStatusCodes: [], retriableHeaders: [], retryHostPredicatePreviousHosts: false, hostSelectionRetryMaxAttempts: 1, backoffBaseMs: 1, backoffMaxMs: 2 } } })],
    });
    expect((await get("/")).status).toBe(200);
    const [span] = await receiver!.waitForSpans(1);
    expect(upstream.requests).toHaveLength(2);
    const [a, b] = upstream.requests.map((r) => r.headers.traceparent);
    expect(a).toBe(b);
    expect(traceparentParts(a).spanId).toBe(span!.spanId);
    expect(span!.attributes["http.status_code"]).toBe("200");
  });
});

describe("tracing: export", () => {
  it("a collector that never answers costs bounded memory and no latency: requests complete, spans beyond the queue are dropped and counted", async () => {
    const held: Socket[] = [];
    const blackhole = createNetServer((s) => {
      held.push(s);
      s.on("error", () => {});
    });
    await new Promise<void>((r) => blackhole.listen(0, "127.0.0.1", r));
    closers.push(
      () =>
        new Promise<void>((r) => {
          for (const s of held) s.destroy();
          blackhole.close(() => r());
        }),
    );
    const upstream = await startEchoUpstream("u");
    closers.push(() => upstream.close());
    const c = "outbound|9080||reviews.shop.svc.cluster.local";
    const snap = await tracedSnapshot([route("r", { route: { cluster: c } })], [cluster(c, [upstream.port])], tracingConfig(`http://127.0.0.1:${(blackhole.address() as AddressInfo).port}/v1/traces`, { provider: { name: "envoy.tracers.opentelemetry", serviceName: "s", endpoint: `http://127.0.0.1:${(blackhole.address() as AddressInfo).port}/v1/traces`, headers: {}, timeoutMs: 30_000 } }));
    const stats = new StatsStore();
    const t = workerTracing({ node, stats, log: createLogger("off"), env: {}, batch: { maxQueueSize: 4, maxExportBatchSize: 2, scheduledDelayMillis: 10 } });
    proxy = await startProxy(snap, { runtime: { telemetry: { tracer: t.tracer }, stats } });
    for (let i = 0; i < 20; i++) expect((await get(`/r${i}`)).status).toBe(200);
    // The first batch (2 spans) is stuck in an export the collector never answers; 4 wait in the
    // queue; the other 14 were dropped, each counted.
    await waitFor(() => held.length > 0, 5_000, "the exporter to connect");
    expect(stats.counter("tracing.opentelemetry.spans_sent").value).toBe(2);
    expect(stats.counter("tracing.opentelemetry.spans_dropped").value).toBe(14);
    expect(stats.counter("tracing.opentelemetry.reports_sent").value).toBe(0);
    // Its exporter is flushed in the background: the test does not wait out the collector.
    void t.close();
  });

  it("a collector refusing exports (HTTP 400) counts reports_dropped and the spans as dropped", async () => {
    const refusing = await startOtlpReceiver({ status: 400 });
    closers.push(() => refusing.close());
    const { stats } = await setup();
    // Point the same proxy's tracing at the refusing collector by a new snapshot.
    const c = "outbound|9080||reviews.shop.svc.cluster.local";
    const snap = await tracedSnapshot([route("r", { route: { cluster: c } })], [cluster(c, [1])], tracingConfig(refusing.url), "OUTBOUND", proxy!.port);
    const r = await proxy!.runtime.apply(snap);
    expect(r.ok).toBe(true);
    await get("/");
    await waitFor(() => stats.counter("tracing.opentelemetry.reports_dropped").value === 1, 5_000, "the refused export to be counted");
    expect(stats.counter("tracing.opentelemetry.spans_dropped").value).toBe(1);
  });

  it("an exporter a new snapshot no longer uses is flushed and shut down; the new endpoint gets the next spans", async () => {
    const second = await startOtlpReceiver();
    closers.push(() => second.close());
    await setup({ tracing: {} });
    expect(tracing!.exporterEndpoints()).toEqual([receiver!.url]);
    // A span waits in the first exporter's batch (10 ms schedule) when the snapshot changes.
    const c = "outbound|9080||reviews.shop.svc.cluster.local";
    await get("/first");
    // Same listener (same name): the live keep-alive connection follows the new chain config.
    const snap = await tracedSnapshot([route("r", { route: { cluster: c } })], [cluster(c, [1])], tracingConfig(second.url), "OUTBOUND", proxy!.port);
    expect((await proxy!.runtime.apply(snap)).ok).toBe(true);
    expect(tracing!.exporterEndpoints()).toEqual([second.url]);
    const [first] = await receiver!.waitForSpans(1);
    expect(first!.attributes["http.url"]).toMatch(/\/first$/);
    await get("/second");
    const [next] = await second.waitForSpans(1);
    expect(next!.attributes["http.url"]).toMatch(/\/second$/);
    expect(receiver!.spans).toHaveLength(1);
  });

  it("a bad tracing config refuses the snapshot with a clear error", async () => {
    await setup();
    const c = "outbound|9080||reviews.shop.svc.cluster.local";
    const snap = await tracedSnapshot([route("r", { route: { cluster: c } })], [cluster(c, [1])], tracingConfig("not a url"), "OUTBOUND", proxy!.port);
    const r = await proxy!.runtime.apply(snap);
    expect(r.ok).toBe(false);
    expect(r.errors.join("\n")).toContain('tracing.provider.endpoint: "not a url" is not a URL');
  });
});
