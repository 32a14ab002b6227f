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
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../../src/observability/tracing/otlp-receiver.js";
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

async function tracedSnapshot(routes: Route[], clusters: Cluster[], tracingCfg: TracingConfig, direction: TrafficDirection = "OUTBOUND"): Promise<Snapshot> {
  const port = await freePort();
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
