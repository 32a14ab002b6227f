// The upstream HTTP/2 pool over real sockets: node:http2 servers behind a cluster whose
// httpProtocolOptions say HTTP/2 (explicit) or the downstream's protocol. Multiplexing, stream
// capacity (peer SETTINGS, cluster maxConcurrentStreams), maxRequestsPerConnection, the header
// rules of http-message.ts, trailers, large bodies with checksums, connect failure (UF), idle
// timeout sweeps, and the protocol choice (HTTP/1 request stays HTTP/1 under use-downstream).

import { createHash, randomBytes } from "node:crypto";
import { request as httpRequest, Agent } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import type { Cluster, Http2ProtocolOptions, RouteAction } from "../../src/config/model/types.js";
import { StatsStore } from "../../src/observability/stats/stats-store.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { echoH2, startH2Upstream, type H2Handler, type H2Upstream, type H2UpstreamOptions } from "../helpers/h2-upstreams.js";
import { startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";
import { waitFor } from "../helpers/wait.js";

let proxy: TestProxy | undefined;
let ups: Array<{ close(): Promise<void> }> = [];
let agent: Agent | undefined;
afterEach(async () => {
  agent?.destroy();
  agent = undefined;
  await proxy?.close();
  proxy = undefined;
  await Promise.all(ups.splice(0).map((u) => u.close()));
});

export const explicitH2 = (h2: Http2ProtocolOptions = {}, extra: Record<string, unknown> = {}): Partial<Cluster> => ({
  httpProtocolOptions: { explicitHttpConfig: { http2ProtocolOptions: h2 }, ...extra },
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One HTTP/1.1 request through the proxy (keep-alive agent so many run at once). */
function send(port: number, opts: { method?: string; path?: string; headers?: Record<string, string | string[]>; body?: Buffer } = {}): Promise<Reply> {
  agent ??= new Agent({ keepAlive: true, maxSockets: 200 });
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, method: opts.method ?? "GET", path: opts.path ?? "/", agent, headers: { host: "svc", ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

async function setup(
  handler: H2Handler = echoH2,
  o: { cluster?: Partial<Cluster>; upstream?: H2UpstreamOptions; action?: Partial<RouteAction>; stats?: StatsStore } = {},
): Promise<{ up: H2Upstream; stats: StatsStore }> {
  const up = await startH2Upstream(handler, o.upstream);
  ups.push(up);
  const stats = o.stats ?? new StatsStore();
  const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c", ...o.action } })] }], [cluster("c", [up.port], o.cluster ?? explicitH2())]);
  proxy = await startProxy(snap, { runtime: { stats } });
  return { up, stats };
}

function counter(stats: StatsStore, name: string): number {
  return stats.snapshot().counters[`cluster.c.${name}`] ?? 0;
}
function gauge(stats: StatsStore, name: string): number {
  return stats.snapshot().gauges[`cluster.c.${name}`] ?? 0;
}

/** An upstream that holds each response until `release()`. */
function heldHandler(): { handler: H2Handler; held: () => number; release: () => void } {
  const waiting: Array<() => void> = [];
  let released = false;
  return {
    handler: (stream, headers, body) => {
      if (released) echoH2(stream, headers, body);
      else waiting.push(() => echoH2(stream, headers, body));
    },
    held: () => waiting.length,
    release: () => {
      released = true;
      for (const w of waiting.splice(0)) w();
    },
  };
}

describe("HTTP/2 upstream pool", () => {
  it("speaks HTTP/2 to an explicit-HTTP/2 cluster: pseudo-headers from the request, no connection-specific headers, host as :authority", async () => {
    const { up, stats } = await setup();
    const r = await send(proxy!.port, { path: "/a?b=1", headers: { host: "svc.example:8080", "x-custom": "v", te: "trailers", "keep-alive": "timeout=5", cookie: ["a=1", "b=2"] } });
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body.toString()) as { path: string; method: string; authority: string; scheme: string; headers: Record<string, string> };
    expect(seen).toMatchObject({ path: "/a?b=1", method: "GET", authority: "svc.example:8080", scheme: "http" });
    expect(seen.headers["x-custom"]).toBe("v");
    expect(seen.headers.te).toBe("trailers");
    expect(seen.headers.host).toBeUndefined();
    expect(seen.headers["keep-alive"]).toBeUndefined();
    expect(seen.headers.cookie).toBe("a=1; b=2");
    expect(up.sessions).toHaveLength(1);
    expect(counter(stats, "upstream_cx_http2_total")).toBe(1);
    expect(counter(stats, "upstream_rq_total")).toBe(1);
    expect(counter(stats, "upstream_rq_200")).toBe(1);
    expect(gauge(stats, "upstream_cx_active")).toBe(1);
    // Host stats (/clusters) as for HTTP/1: cx_total, rq_total, rq_success, cx_active.
    const host = stats.snapshot().hosts?.["c"]?.[`127.0.0.1:${up.port}`] ?? [];
    const names = ["cx_connect_fail", "cx_total", "rq_error", "rq_success", "rq_timeout", "rq_total", "cx_active", "rq_active"];
    expect(Object.fromEntries(names.map((n, i) => [n, host[i] ?? 0]))).toMatchObject({ cx_total: 1, rq_total: 1, rq_success: 1, rq_error: 0, cx_active: 1 });
  });

  it("multiplexes 50 concurrent requests over one upstream connection", async () => {
    const h = heldHandler();
    const { up } = await setup(h.handler);
    const all = Array.from({ length: 50 }, (_, i) => send(proxy!.port, { path: `/${i}` }));
    await waitFor(() => h.held() === 50, 5_000, "50 streams at the upstream");
    h.release();
    const replies = await Promise.all(all);
    expect(replies.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(up.sessions).toHaveLength(1);
    expect(up.maxInFlight()).toBe(50);
  });

  it("opens more connections when the peer's SETTINGS_MAX_CONCURRENT_STREAMS is 2", async () => {
    const h = heldHandler();
    const { up } = await setup(h.handler, { upstream: { settings: { maxConcurrentStreams: 2 } } });
    const all = Array.from({ length: 6 }, () => send(proxy!.port));
    await waitFor(() => h.held() === 6, 5_000, "6 streams at the upstream");
    expect(up.sessions).toHaveLength(3);
    h.release();
    expect((await Promise.all(all)).map((r) => r.status)).toEqual(Array(6).fill(200));
    // No stream was ever refused: the pool never opened more than the peer allows.
    expect(up.requests).toHaveLength(6);
  });

  it("the cluster's maxConcurrentStreams caps streams per connection", async () => {
    const h = heldHandler();
    const { up } = await setup(h.handler, { cluster: explicitH2({ maxConcurrentStreams: 3 }) });
    const all = Array.from({ length: 7 }, () => send(proxy!.port));
    await waitFor(() => h.held() === 7, 5_000, "7 streams at the upstream");
    expect(up.sessions).toHaveLength(3);
    h.release();
    expect((await Promise.all(all)).map((r) => r.status)).toEqual(Array(7).fill(200));
  });

  it("large bodies both ways through the proxy (HTTP/1.1 downstream, HTTP/2 upstream) arrive intact", async () => {
    const download = randomBytes(16 * 1024 * 1024);
    const { up } = await setup((stream, headers, body) => {
      if (headers[":path"] === "/down") {
        stream.respond({ ":status": 200, "content-length": download.length });
        stream.end(download);
        return;
      }
      echoH2(stream, headers, body);
    }, { cluster: explicitH2({ initialStreamWindowSize: 65_535 }) });
    const upload = randomBytes(16 * 1024 * 1024);
    const [u, d] = await Promise.all([send(proxy!.port, { method: "POST", path: "/up", body: upload }), send(proxy!.port, { path: "/down" })]);
    expect(u.status).toBe(200);
    const seen = JSON.parse(u.body.toString()) as { bodyLength: number; sha256: string };
    expect(seen.bodyLength).toBe(upload.length);
    expect(seen.sha256).toBe(createHash("sha256").update(upload).digest("hex"));
    expect(d.status).toBe(200);
    expect(d.body.length).toBe(download.length);
    expect(createHash("sha256").update(d.body).digest("hex")).toBe(createHash("sha256").update(download).digest("hex"));
    expect(up.sessions).toHaveLength(1);
  });

  it("use-downstream-protocol: an HTTP/1.1 request goes upstream as HTTP/1.1", async () => {
    const h1: EchoUpstream = await startEchoUpstream("h1");
    ups.push(h1);
    const snap = await snapshotWith(
      [{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c" } })] }],
      [cluster("c", [h1.port], { httpProtocolOptions: { useDownstreamProtocolConfig: { httpProtocolOptions: {}, http2ProtocolOptions: {} } } })],
    );
    proxy = await startProxy(snap);
    const r = await send(proxy.port);
    expect(r.status).toBe(200);
    expect(h1.requests[0]!.httpVersion).toBe("1.1");
  });

  it("the upstream's response headers and status come back as sent (several set-cookie kept apart)", async () => {
    await setup((stream) => {
      stream.respond({ ":status": 201, "x-a": "1", "set-cookie": ["a=1", "b=2"], "content-length": "2" });
      stream.end("ok");
    });
    const r = await send(proxy!.port);
    expect(r.status).toBe(201);
    expect(r.headers["x-a"]).toBe("1");
    expect(r.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
    expect(r.body.toString()).toBe("ok");
  });

  it("a peer that allows 0 streams gets no request and no storm of connections; its raised limit serves the waiting request", async () => {
    const { up } = await setup(echoH2, { upstream: { settings: { maxConcurrentStreams: 0 } } });
    const pending = send(proxy!.port);
    await waitFor(() => up.sessions.length === 1 && up.sessions[0]!.localSettings.maxConcurrentStreams === 0, 5_000, "session up");
    // Let the proxy see the SETTINGS: one PING round trip.
    await new Promise<void>((r) => up.sessions[0]!.ping(() => r()));
    expect(up.sessions).toHaveLength(1);
    expect(up.requests).toHaveLength(0);
    up.sessions[0]!.settings({ maxConcurrentStreams: 10 });
    expect((await pending).status).toBe(200);
    expect(up.sessions).toHaveLength(1);
  });

  it("a mirror to an HTTP/2 cluster sends the copy over HTTP/2 (Host with -shadow as :authority)", async () => {
    const shadow = await startH2Upstream();
    ups.push(shadow);
    const primary = await startEchoUpstream("primary");
    ups.push(primary);
    const snap = await snapshotWith(
      [{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "p", requestMirrorPolicies: [{ cluster: "m", disableShadowHostSuffixAppend: false }] } })] }],
      [cluster("p", [primary.port]), cluster("m", [shadow.port], explicitH2())],
    );
    proxy = await startProxy(snap);
    expect((await send(proxy.port, { method: "POST", path: "/copy", body: Buffer.from("payload") })).status).toBe(200);
    await waitFor(() => shadow.requests.length === 1, 5_000, "mirrored request");
    expect(shadow.requests[0]![":authority"]).toBe("svc-shadow");
    expect(shadow.requests[0]![":path"]).toBe("/copy");
  });
});
