// Istio's standard metrics after known traffic through real proxies: exact label sets and values
// for outbound (reporter=source) and inbound (reporter=destination), the metadata exchange between
// two Outrigger sidecars, Telemetry overrides, the series cap, malformed peer metadata, and the TCP
// metrics with their periodic report on the injected clock.

import { afterEach, describe, expect, it } from "vitest";
import type { Socket } from "node:net";
import { Registry } from "prom-client";
import { HTTP_FAULT_FILTER, HTTP_ROUTER_FILTER, ISTIO_METADATA_EXCHANGE_FILTER, ISTIO_STATS_FILTER, type IstioStatsConfig, type Snapshot } from "../../src/config/model/types.js";
import { httpListener } from "../../src/config/model/listener-defaults.js";
import { builtInHttpFilters } from "../../src/http/filters/http-filter-registry.js";
import { encodePeerMetadata } from "../../src/http/filters/peer-metadata/peer-metadata-codec.js";
import { PEER_METADATA_DECODE_ERRORS } from "../../src/http/filters/peer-metadata/peer-metadata-filter.js";
import { istioStatsFactory } from "../../src/observability/metrics/istio-stats-factory.js";
import { nodeIdentity, type NodeIdentity } from "../../src/observability/node-identity.js";
import { cluster, route, startProxy, type TestProxy } from "../helpers/proxy.js";
import { ManualTimers } from "../helpers/manual-timers.js";
import { hcmOfListener } from "../helpers/model.js";
import { rawExchange } from "../helpers/raw-client.js";
import { tcpProxyConfig, tcpSnapshot, TcpTestClient } from "../helpers/tcp.js";
import { freePort, startEchoUpstream, startRawUpstream } from "../helpers/upstreams.js";
import { waitFor } from "../helpers/wait.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const productpage = nodeIdentity({
  env: { POD_NAME: "productpage-v1-6b746f74dc-9stvs", INSTANCE_IP: "10.1.0.5" },
  namespace: "bookinfo",
  labels: { app: "productpage", version: "v1" },
  domainSuffix: "cluster.local",
});
const reviews = nodeIdentity({
  env: { POD_NAME: "reviews-v2-7d4f8b-x2k9z", INSTANCE_IP: "10.1.0.9", ISTIO_META_CLUSTER_ID: "east" },
  namespace: "shop",
  labels: { app: "reviews", version: "v2" },
  domainSuffix: "cluster.local",
});

const REVIEWS_CLUSTER = "outbound|9080||reviews.shop.svc.cluster.local";

interface MetricsProxy extends TestProxy {
  registry: Registry;
  metric(name: string): Promise<string[]>;
}

/** A proxy whose HCM runs istiod's filters (MX, fault, istio.stats, router) with `node`'s identity. */
async function metricsProxy(
  snapshot: Snapshot,
  o: { node: NodeIdentity; timers?: ManualTimers; seriesCap?: number; stats?: IstioStatsConfig | null },
): Promise<MetricsProxy> {
  for (const l of snapshot.listeners) {
    if (l.filterChains[0]!.filters[0]!.name !== "envoy.filters.network.http_connection_manager") continue;
    const hcm = hcmOfListener(l);
    hcm.httpFilters = [
      { name: ISTIO_METADATA_EXCHANGE_FILTER },
      { name: HTTP_FAULT_FILTER },
      ...(o.stats === null ? [] : [{ name: ISTIO_STATS_FILTER, ...(o.stats ? { typedConfig: o.stats } : {}) }]),
      { name: HTTP_ROUTER_FILTER },
    ];
  }
  const registry = new Registry();
  const timers = o.timers ?? new ManualTimers();
  const p = await startProxy(snapshot, {
    timers,
    clock: timers,
    runtime: {
      httpFilters: builtInHttpFilters(o.node),
      telemetry: { stats: istioStatsFactory({ registry, node: o.node, timers, ...(o.seriesCap ? { seriesCap: o.seriesCap } : {}) }) },
    },
  });
  cleanups.push(() => p.close());
  return {
    ...p,
    registry,
    metric: async (name) => (await registry.getSingleMetricAsString(name)).split("\n").filter((l) => !l.startsWith("#")),
  };
}

async function httpSnapshot(direction: "INBOUND" | "OUTBOUND", clusterName: string, upstreamPort: number): Promise<Snapshot> {
  const port = await freePort();
  return {
    version: "m/1",
    listeners: [httpListener({ address: "127.0.0.1", port, direction, routeConfigName: "rc" })],
    routeConfigs: { rc: { name: "rc", virtualHosts: [{ name: "vh", domains: ["*"], routes: [route("default", { route: { kind: "cluster", cluster: clusterName } as never })] }] } },
    clusters: { [clusterName]: cluster(clusterName, [upstreamPort]) },
  };
}

/** `name{labels} value` with the labels in the given order. */
function line(name: string, labels: Record<string, string>, value: number | string): string {
  return `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(",")}} ${value}`;
}

const productpageAsSource = {
  source_workload: "productpage-v1",
  source_canonical_service: "productpage",
  source_canonical_revision: "v1",
  source_workload_namespace: "bookinfo",
  source_principal: "unknown",
  source_app: "productpage",
  source_version: "v1",
  source_cluster: "Kubernetes",
};

/** A raw HTTP/1.1 upstream answering `ok` and keeping every byte it received. */
async function rawOkUpstream(extraHead = ""): Promise<{ port: number; received: () => string }> {
  let received = "";
  const u = await startRawUpstream((s: Socket) => {
    s.on("data", (c: Buffer) => {
      received += c.toString("latin1");
      if (received.endsWith("\r\n\r\n")) s.write(`HTTP/1.1 200 OK\r\ncontent-length: 2\r\n${extraHead}\r\nok`);
    });
  });
  cleanups.push(() => u.close());
  return { port: u.port, received: () => received };
}

describe("outbound (reporter=source)", () => {
  it("counts each request with Istio's labels, the destination from the cluster, sizes and durations", async () => {
    const up = await rawOkUpstream();
    const p = await metricsProxy(await httpSnapshot("OUTBOUND", REVIEWS_CLUSTER, up.port), { node: productpage });
    const req = "GET /reviews/1?x=1 HTTP/1.1\r\nhost: reviews.shop:9080\r\nuser-agent: t\r\n\r\n";
    const res1 = await rawExchange(p.port, req, { responses: 1 });
    const res2 = await rawExchange(p.port, req, { responses: 1 });
    await waitFor(() => p.streams.length === 2, 5_000, "two StreamInfos");

    const labels = {
      reporter: "source",
      ...productpageAsSource,
      destination_workload: "unknown",
      destination_workload_namespace: "unknown",
      destination_principal: "unknown",
      destination_app: "unknown",
      destination_version: "unknown",
      destination_service: "reviews.shop.svc.cluster.local",
      destination_canonical_service: "unknown",
      destination_canonical_revision: "latest",
      destination_service_name: "reviews",
      destination_service_namespace: "shop",
      destination_cluster: "unknown",
      request_protocol: "http",
      response_code: "200",
      grpc_response_status: "",
      response_flags: "-",
      connection_security_policy: "unknown",
    };
    expect(await p.metric("istio_requests_total")).toEqual([line("istio_requests_total", labels, 2)]);

    // Durations on the injected clock: 0 ms, in every bucket; Envoy's `le` rendering.
    const duration = await p.metric("istio_request_duration_milliseconds");
    expect(duration).toHaveLength(19 + 1 + 2);
    expect(duration[0]).toBe(line("istio_request_duration_milliseconds_bucket", { ...labels, le: "0.5" }, 2));
    expect(duration.slice(17, 22)).toEqual([
      line("istio_request_duration_milliseconds_bucket", { ...labels, le: "1.8e+06" }, 2),
      line("istio_request_duration_milliseconds_bucket", { ...labels, le: "3.6e+06" }, 2),
      line("istio_request_duration_milliseconds_bucket", { ...labels, le: "+Inf" }, 2),
      line("istio_request_duration_milliseconds_sum", labels, 0),
      line("istio_request_duration_milliseconds_count", labels, 2),
    ]);

    // Sizes: the request head as forwarded plus body (what the upstream read), the response as the client read it.
    const upstreamBytes = up.received().length;
    expect((await p.metric("istio_request_bytes")).slice(-2)).toEqual([
      line("istio_request_bytes_sum", labels, upstreamBytes),
      line("istio_request_bytes_count", labels, 2),
    ]);
    expect((await p.metric("istio_response_bytes")).slice(-2)).toEqual([
      line("istio_response_bytes_sum", labels, res1.length + res2.length),
      line("istio_response_bytes_count", labels, 2),
    ]);
    // Paths never become labels.
    expect(await p.registry.metrics()).not.toContain("/reviews/1");
  });

  it("sends this proxy's identity upstream; strips the upstream's from the response and learns it", async () => {
    const up = await startEchoUpstream("reviews", (_req, res) => {
      res.writeHead(503, { "x-envoy-peer-metadata-id": reviews.nodeId, "x-envoy-peer-metadata": encodePeerMetadata(reviews), "content-length": "0" });
      res.end();
    });
    cleanups.push(() => up.close());
    const p = await metricsProxy(await httpSnapshot("OUTBOUND", REVIEWS_CLUSTER, up.port), { node: productpage });
    const res = await fetch(`http://127.0.0.1:${p.port}/`, { headers: { host: "reviews.shop" } });
    expect(res.status).toBe(503);
    expect(res.headers.get("x-envoy-peer-metadata")).toBeNull();
    expect(res.headers.get("x-envoy-peer-metadata-id")).toBeNull();
    expect(up.requests[0]!.headers["x-envoy-peer-metadata-id"]).toBe("sidecar~10.1.0.5~productpage-v1-6b746f74dc-9stvs.bookinfo~bookinfo.svc.cluster.local");
    expect(up.requests[0]!.headers["x-envoy-peer-metadata"]).toBe(encodePeerMetadata(productpage));
    await waitFor(() => p.streams.length === 1, 5_000, "the StreamInfo");
    expect(p.streams[0]!.peer).toMatchObject({ workloadName: "reviews-v2", namespace: "shop", clusterId: "east" });
    expect(await p.metric("istio_requests_total")).toEqual([
      line(
        "istio_requests_total",
        {
          reporter: "source",
          ...productpageAsSource,
          destination_workload: "reviews-v2",
          destination_workload_namespace: "shop",
          destination_principal: "unknown",
          destination_app: "reviews",
          destination_version: "v2",
          destination_service: "reviews.shop.svc.cluster.local",
          destination_canonical_service: "reviews",
          destination_canonical_revision: "v2",
          destination_service_name: "reviews",
          destination_service_namespace: "shop",
          destination_cluster: "east",
          request_protocol: "http",
          response_code: "503",
          grpc_response_status: "",
          response_flags: "-",
          connection_security_policy: "unknown",
        },
        1,
      ),
    ]);
  });

  it("names PassthroughCluster and uses the Host header for the service; gRPC gets its status", async () => {
    const up = await rawOkUpstream("content-type: application/grpc\r\ngrpc-status: 5\r\n");
    const p = await metricsProxy(await httpSnapshot("OUTBOUND", "PassthroughCluster", up.port), { node: productpage });
    await rawExchange(p.port, "POST /pkg.Svc/Call HTTP/1.1\r\nhost: api.example.com\r\ncontent-type: application/grpc\r\ncontent-length: 0\r\n\r\n", { responses: 1 });
    await waitFor(() => p.streams.length === 1, 5_000, "the StreamInfo");
    const [l] = await p.metric("istio_requests_total");
    expect(l).toContain('destination_service="api.example.com",');
    expect(l).toContain('destination_service_name="PassthroughCluster",');
    expect(l).toContain('destination_service_namespace="unknown",');
    expect(l).toContain('request_protocol="grpc",response_code="200",grpc_response_status="5",');
  });

  it("a gRPC local reply counts as Envoy's: response_code 200, its grpc-status, the cause in response_flags", async () => {
    const closed = await freePort();
    const p = await metricsProxy(await httpSnapshot("OUTBOUND", "PassthroughCluster", closed), { node: productpage });
    await rawExchange(p.port, "POST /pkg.Svc/Call HTTP/1.1\r\nhost: api.example.com\r\ncontent-type: application/grpc\r\ncontent-length: 0\r\n\r\n", { responses: 1 });
    await waitFor(() => p.streams.length === 1, 5_000, "the StreamInfo");
    const [l] = await p.metric("istio_requests_total");
    expect(l).toContain('request_protocol="grpc",response_code="200",grpc_response_status="14",response_flags="UF",');
  });
});

describe("inbound (reporter=destination)", () => {
  it("reads the client's identity from the request, hides it from the app, and answers with ours", async () => {
    const app = await startEchoUpstream("app");
    cleanups.push(() => app.close());
    const p = await metricsProxy(await httpSnapshot("INBOUND", "inbound|9080||", app.port), { node: reviews });
    const res = await fetch(`http://127.0.0.1:${p.port}/`, {
      headers: { host: "reviews:9080", "x-envoy-peer-metadata-id": productpage.nodeId, "x-envoy-peer-metadata": encodePeerMetadata(productpage) },
    });
    expect(res.status).toBe(200);
    expect(app.requests[0]!.headers["x-envoy-peer-metadata"]).toBeUndefined();
    expect(app.requests[0]!.headers["x-envoy-peer-metadata-id"]).toBeUndefined();
    expect(res.headers.get("x-envoy-peer-metadata-id")).toBe(reviews.nodeId);
    expect(res.headers.get("x-envoy-peer-metadata")).toBe(encodePeerMetadata(reviews));
    await waitFor(() => p.streams.length === 1, 5_000, "the StreamInfo");
    expect(await p.metric("istio_requests_total")).toEqual([
      line(
        "istio_requests_total",
        {
          reporter: "destination",
          ...productpageAsSource,
          destination_workload: "reviews-v2",
          destination_workload_namespace: "shop",
          destination_principal: "unknown",
          destination_app: "reviews",
          destination_version: "v2",
          // No Host header fallback inbound (istiod disables it): the local canonical service.
          destination_service: "reviews",
          destination_canonical_service: "reviews",
          destination_canonical_revision: "v2",
          destination_service_name: "reviews",
          destination_service_namespace: "shop",
          destination_cluster: "east",
          request_protocol: "http",
          response_code: "200",
          grpc_response_status: "",
          response_flags: "-",
          connection_security_policy: "none",
        },
        1,
      ),
    ]);
  });

  it("does not answer with its identity to a client that sent none; the source is unknown", async () => {
    const app = await startEchoUpstream("app");
    cleanups.push(() => app.close());
    const p = await metricsProxy(await httpSnapshot("INBOUND", "inbound|9080||", app.port), { node: reviews });
    const res = await fetch(`http://127.0.0.1:${p.port}/`);
    expect(res.headers.get("x-envoy-peer-metadata")).toBeNull();
    expect(res.headers.get("x-envoy-peer-metadata-id")).toBeNull();
    await waitFor(() => p.streams.length === 1, 5_000, "the StreamInfo");
    const [l] = await p.metric("istio_requests_total");
    expect(l).toContain('source_workload="unknown",source_canonical_service="unknown",source_canonical_revision="latest",source_workload_namespace="unknown",');
  });

  it("treats malformed peer metadata as no peer, counts it, and still strips it", async () => {
    const app = await startEchoUpstream("app");
    cleanups.push(() => app.close());
    const p = await metricsProxy(await httpSnapshot("INBOUND", "inbound|9080||", app.port), { node: reviews });
    for (const bad of ["!!!not base64!!!", Buffer.from([0x0a, 0x7f, 0x01]).toString("base64")]) {
      const res = await fetch(`http://127.0.0.1:${p.port}/`, { headers: { "x-envoy-peer-metadata-id": "", "x-envoy-peer-metadata": bad } });
      expect(res.status).toBe(200);
    }
    expect(app.requests.every((r) => r.headers["x-envoy-peer-metadata"] === undefined)).toBe(true);
    await waitFor(() => p.streams.length === 2, 5_000, "two StreamInfos");
    expect(p.streams.map((s) => s.peer)).toEqual([undefined, undefined]);
    expect(p.runtime.services.stats.counter(PEER_METADATA_DECODE_ERRORS).value).toBe(2);
    expect((await p.metric("istio_requests_total"))[0]).toContain('source_workload="unknown",');
  });
});

describe("two Outrigger sidecars", () => {
  it("report both workloads on both sides: client outbound → server inbound → app", async () => {
    const app = await startEchoUpstream("reviews-app");
    cleanups.push(() => app.close());
    const server = await metricsProxy(await httpSnapshot("INBOUND", "inbound|9080||", app.port), { node: reviews });
    const client = await metricsProxy(await httpSnapshot("OUTBOUND", REVIEWS_CLUSTER, server.port), { node: productpage });
    const res = await fetch(`http://127.0.0.1:${client.port}/r`, { headers: { host: "reviews.shop.svc.cluster.local:9080" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-envoy-peer-metadata")).toBeNull();
    expect(app.requests[0]!.headers["x-envoy-peer-metadata"]).toBeUndefined();
    await waitFor(() => client.streams.length === 1 && server.streams.length === 1, 5_000, "both StreamInfos");
    const both = {
      ...productpageAsSource,
      destination_workload: "reviews-v2",
      destination_workload_namespace: "shop",
      destination_principal: "unknown",
      destination_app: "reviews",
      destination_version: "v2",
    };
    const tail = { request_protocol: "http", response_code: "200", grpc_response_status: "", response_flags: "-" };
    expect(await client.metric("istio_requests_total")).toEqual([
      line(
        "istio_requests_total",
        {
          reporter: "source",
          ...both,
          destination_service: "reviews.shop.svc.cluster.local",
          destination_canonical_service: "reviews",
          destination_canonical_revision: "v2",
          destination_service_name: "reviews",
          destination_service_namespace: "shop",
          destination_cluster: "east",
          ...tail,
          connection_security_policy: "unknown",
        },
        1,
      ),
    ]);
    expect(await server.metric("istio_requests_total")).toEqual([
      line(
        "istio_requests_total",
        {
          reporter: "destination",
          ...both,
          destination_service: "reviews",
          destination_canonical_service: "reviews",
          destination_canonical_revision: "v2",
          destination_service_name: "reviews",
          destination_service_namespace: "shop",
          destination_cluster: "east",
          ...tail,
          connection_security_policy: "none",
        },
        1,
      ),
    ]);
  });
});

describe("Telemetry overrides", () => {
  it("drops metrics, removes labels and adds dimensions from attribute expressions", async () => {
    const up = await rawOkUpstream("x-version: 7\r\n");
    const stats: IstioStatsConfig = {
      reporter: "source",
      metrics: [
        { name: "request_bytes", drop: true },
        { name: "requests_total", tagsToRemove: ["source_principal", "destination_principal", "grpc_response_status"], dimensions: { request_protocol: "request.method", upstream_version: "response.headers['x-version']" } },
        { dimensions: { mesh: "'prod'", missing: "request.headers['x-none']" } },
      ],
    };
    const p = await metricsProxy(await httpSnapshot("OUTBOUND", REVIEWS_CLUSTER, up.port), { node: productpage, stats });
    await rawExchange(p.port, "GET / HTTP/1.1\r\nhost: r\r\n\r\n", { responses: 1 });
    await waitFor(() => p.streams.length === 1, 5_000, "the StreamInfo");
    expect(await p.metric("istio_request_bytes")).toEqual([]);
    const [l] = await p.metric("istio_requests_total");
    expect(l).not.toContain("source_principal=");
    expect(l).not.toContain("destination_principal=");
    expect(l).not.toContain("grpc_response_status=");
    expect(l).toContain('request_protocol="GET",response_code="200",response_flags="-",connection_security_policy="unknown",upstream_version="7",mesh="prod",missing="unknown"} 1');
    const [b] = await p.metric("istio_response_bytes");
    expect(b).toContain('source_principal="unknown"');
    expect(b).toContain('connection_security_policy="unknown",mesh="prod",missing="unknown",le="0.5"}');
  });

  it("refuses a snapshot whose overrides cannot be evaluated, with the reason", async () => {
    for (const [value, why] of [
      ["request.path", "request paths never become metric labels"],
      ["filter_state['upstream_peer']", "no filter state attributes"],
      ["size(request.headers)", "not a supported attribute expression"],
    ] as const) {
      const snapshot = await httpSnapshot("OUTBOUND", REVIEWS_CLUSTER, 9);
      await expect(metricsProxy(snapshot, { node: productpage, stats: { reporter: "source", metrics: [{ dimensions: { x: value } }] } })).rejects.toThrow(why);
    }
    const snapshot = await httpSnapshot("OUTBOUND", REVIEWS_CLUSTER, 9);
    await expect(metricsProxy(snapshot, { node: productpage, stats: { reporter: "source", metrics: [{ name: "requests", drop: true }] } })).rejects.toThrow('unknown metric "requests"');
  });
});

describe("the series cap", () => {
  it("stops creating series past the cap and counts the dropped samples", async () => {
    let n = 0;
    const codes = [200, 201, 202, 202];
    const up = await startEchoUpstream("u", (_req, res) => {
      res.writeHead(codes[n++]!, { "content-length": "0" });
      res.end();
    });
    cleanups.push(() => up.close());
    const p = await metricsProxy(await httpSnapshot("OUTBOUND", REVIEWS_CLUSTER, up.port), { node: productpage, seriesCap: 2 });
    for (let i = 0; i < codes.length; i++) await (await fetch(`http://127.0.0.1:${p.port}/`)).arrayBuffer();
    await waitFor(() => p.streams.length === 4, 5_000, "four StreamInfos");
    const lines = await p.metric("istio_requests_total");
    expect(lines.map((l) => /response_code="(\d+)"/.exec(l)![1])).toEqual(["200", "201"]);
    expect(await p.metric("outrigger_istio_series_dropped_total")).toEqual([
      'outrigger_istio_series_dropped_total{metric="istio_requests_total"} 2',
      'outrigger_istio_series_dropped_total{metric="istio_request_duration_milliseconds"} 2',
      'outrigger_istio_series_dropped_total{metric="istio_request_bytes"} 2',
      'outrigger_istio_series_dropped_total{metric="istio_response_bytes"} 2',
    ]);
  });
});

describe("TCP metrics", () => {
  it("counts the connection when the upstream connects, reports bytes every 5 s and at close, then counts the close", async () => {
    const timers = new ManualTimers();
    const up = await startRawUpstream((s) => s.pipe(s));
    cleanups.push(() => up.close());
    const db = "outbound|5432||db.data.svc.cluster.local";
    const snapshot = await tcpSnapshot(tcpProxyConfig({ cluster: db, istioStats: { reporter: "source", metrics: [] } }), [cluster(db, [up.port])]);
    const registry = new Registry();
    const p = await startProxy(snapshot, { timers, clock: timers, runtime: { telemetry: { stats: istioStatsFactory({ registry, node: productpage, timers }) } } });
    cleanups.push(() => p.close());
    const metric = async (name: string): Promise<string[]> => (await registry.getSingleMetricAsString(name)).split("\n").filter((l) => !l.startsWith("#"));
    const labels = {
      reporter: "source",
      ...productpageAsSource,
      destination_workload: "unknown",
      destination_workload_namespace: "unknown",
      destination_principal: "unknown",
      destination_app: "unknown",
      destination_version: "unknown",
      destination_service: "db.data.svc.cluster.local",
      destination_canonical_service: "unknown",
      destination_canonical_revision: "latest",
      destination_service_name: "db",
      destination_service_namespace: "data",
      destination_cluster: "unknown",
      request_protocol: "tcp",
      response_flags: "-",
      connection_security_policy: "unknown",
    };

    const c = new TcpTestClient(p.port);
    cleanups.push(() => void c.socket.destroy());
    c.socket.write("hello");
    await c.received("hello");
    expect(await metric("istio_tcp_connections_opened_total")).toEqual([line("istio_tcp_connections_opened_total", labels, 1)]);
    expect(await metric("istio_tcp_sent_bytes_total")).toEqual([line("istio_tcp_sent_bytes_total", labels, 0)]);
    expect(timers.waiting()).toContain(5_000);

    timers.advance(5_000);
    expect(await metric("istio_tcp_sent_bytes_total")).toEqual([line("istio_tcp_sent_bytes_total", labels, 5)]);
    expect(await metric("istio_tcp_received_bytes_total")).toEqual([line("istio_tcp_received_bytes_total", labels, 5)]);
    expect(await metric("istio_tcp_connections_closed_total")).toEqual([line("istio_tcp_connections_closed_total", labels, 0)]);

    c.socket.write(" world");
    await c.received("hello world");
    c.socket.end();
    await c.closed;
    await waitFor(() => p.streams.length === 1, 5_000, "the connection's StreamInfo");
    expect(await metric("istio_tcp_sent_bytes_total")).toEqual([line("istio_tcp_sent_bytes_total", labels, 11)]);
    expect(await metric("istio_tcp_received_bytes_total")).toEqual([line("istio_tcp_received_bytes_total", labels, 11)]);
    expect(await metric("istio_tcp_connections_closed_total")).toEqual([line("istio_tcp_connections_closed_total", labels, 1)]);
    // No open connection: no reporting timer left behind.
    expect(timers.waiting()).not.toContain(5_000);
  });

  it("reports a connection that never reached its upstream as opened and closed, with its flag", async () => {
    const dead = await freePort();
    const snapshot = await tcpSnapshot(tcpProxyConfig({ istioStats: { reporter: "destination", metrics: [] } }), [cluster("backend", [dead])]);
    const registry = new Registry();
    const p = await startProxy(snapshot, { runtime: { telemetry: { stats: istioStatsFactory({ registry, node: reviews }) } } });
    cleanups.push(() => p.close());
    const c = new TcpTestClient(p.port);
    cleanups.push(() => void c.socket.destroy());
    await c.closed;
    await waitFor(() => p.streams.length === 1, 5_000, "the connection's StreamInfo");
    const opened = (await registry.getSingleMetricAsString("istio_tcp_connections_opened_total")).split("\n")[2]!;
    expect(opened).toContain('reporter="destination",source_workload="unknown",');
    expect(opened).toContain('destination_service="reviews",');
    expect(opened).toContain('request_protocol="tcp",response_flags="UF",connection_security_policy="none"} 1');
    expect((await registry.getSingleMetricAsString("istio_tcp_connections_closed_total")).split("\n")[2]).toMatch(/response_flags="UF".*\} 1$/);
  });
});
