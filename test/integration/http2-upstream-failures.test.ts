// The upstream HTTP/2 pool when things go wrong, over real sockets: GOAWAY with streams in flight,
// with or without an error code (streams above its last stream id refused and retried, zero failures), RST_STREAM REFUSED_STREAM
// retried, other resets answered 503 UR, connect failure 503 UF, maxConnections with the pending
// queue overflowing (503 UO), http2MaxRequests (503 UO), maxRequestsPerConnection replacing the
// connection without a failure, the idle timeout closing a connection, a dropped connection.

import { constants, type ServerHttp2Stream } from "node:http2";
import { request as httpRequest, Agent } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import type { Cluster, RouteAction } from "../../src/config/model/types.js";
import { StatsStore } from "../../src/observability/stats/stats-store.js";
import { ISTIO_DEFAULT_THRESHOLD } from "../../src/upstream/shared/shared-cluster-resources.js";
import { cluster, istioRetries, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { echoH2, startH2Upstream, type H2Handler, type H2Upstream, type H2UpstreamOptions } from "../helpers/h2-upstreams.js";
import { freePort, startEchoUpstream, startRawUpstream } from "../helpers/upstreams.js";
import { waitFor } from "../helpers/wait.js";
import { ManualTimers } from "../helpers/manual-timers.js";

const U = ISTIO_DEFAULT_THRESHOLD;

let proxy: TestProxy | undefined;
const ups: Array<{ close(): Promise<void> }> = [];
let agent: Agent | undefined;
afterEach(async () => {
  agent?.destroy();
  agent = undefined;
  await proxy?.close();
  proxy = undefined;
  await Promise.all(ups.splice(0).map((u) => u.close()));
});


const h2 = (extra: Record<string, unknown> = {}, more: Partial<Cluster> = {}): Partial<Cluster> => ({ httpProtocolOptions: { explicitHttpConfig: { http2ProtocolOptions: {} }, ...extra }, ...more });

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(port: number, path = "/"): Promise<Reply> {
  agent ??= new Agent({ keepAlive: true, maxSockets: 100 });
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, agent, headers: { host: "svc" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function setup(handler: H2Handler, o: { cluster?: Partial<Cluster>; upstream?: H2UpstreamOptions; action?: Partial<RouteAction>; port?: number; timers?: ManualTimers } = {}): Promise<{ up: H2Upstream | undefined; stats: StatsStore }> {
  let up: H2Upstream | undefined;
  let port = o.port;
  if (port === undefined) {
    up = await startH2Upstream(handler, o.upstream);
    ups.push(up);
    port = up.port;
  }
  const stats = new StatsStore();
  const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c", ...o.action } })] }], [cluster("c", [port], o.cluster ?? h2())]);
  proxy = await startProxy(snap, { runtime: { stats }, ...(o.timers !== undefined ? { timers: o.timers, clock: o.timers } : {}) });
  return { up, stats };
}

function counter(stats: StatsStore, name: string): number {
  return stats.snapshot().counters[`cluster.c.${name}`] ?? 0;
}

describe("HTTP/2 upstream failures", () => {
  it("GOAWAY with streams in flight: streams at or below its last stream id finish, the ones above are refused and retried on a new connection; zero failures", async () => {
    const held: Array<{ stream: ServerHttp2Stream; run: () => void }> = [];
    let goawaySent = false;
    const { up, stats } = await setup(
      (stream, headers, body) => {
        if (goawaySent) return echoH2(stream, headers, body);
        held.push({ stream, run: () => echoH2(stream, headers, body) });
      },
      { action: { retryPolicy: istioRetries } },
    );
    const all = [send(proxy!.port, "/1"), send(proxy!.port, "/2"), send(proxy!.port, "/3"), send(proxy!.port, "/4")];
    await waitFor(() => held.length === 4, 5_000, "4 streams held");
    const first = up!.sessions[0]!;
    // Keep the two lowest stream ids; the two above are refused.
    const ids = held.map((h) => h.stream.id!).sort((a, b) => a - b);
    goawaySent = true;
    first.goaway(constants.NGHTTP2_NO_ERROR, ids[1]!);
    await waitFor(() => up!.sessions.length === 2 && up!.requests.length === 6, 5_000, "the refused two retried on a new connection");
    for (const h of held) if (h.stream.id! <= ids[1]!) h.run();
    const replies = await Promise.all(all);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const counts = proxy!.streams.map((s) => s.attemptCount).sort();
    expect(counts).toEqual([1, 1, 2, 2]);
    // New work goes to the new connection.
    expect((await send(proxy!.port, "/5")).status).toBe(200);
    expect(counter(stats, "upstream_cx_close_notify")).toBe(1);
    expect(up!.sessions).toHaveLength(2);
  });

  it("GOAWAY with an error code drains like any GOAWAY (as in Envoy): the stream at or below its last id finishes, the ones above are refused and retried; zero failures", async () => {
    const held: Array<{ stream: ServerHttp2Stream; run: () => void }> = [];
    let goawaySent = false;
    const { up } = await setup(
      (stream, headers, body) => {
        if (goawaySent) return echoH2(stream, headers, body);
        held.push({ stream, run: () => echoH2(stream, headers, body) });
      },
      { action: { retryPolicy: istioRetries } },
    );
    const all = [send(proxy!.port, "/1"), send(proxy!.port, "/2"), send(proxy!.port, "/3")];
    await waitFor(() => held.length === 3, 5_000, "3 streams held");
    const lowest = held.reduce((a, b) => (a.stream.id! < b.stream.id! ? a : b));
    goawaySent = true;
    up!.sessions[0]!.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM, lowest.stream.id!);
    // The two refused streams are retried on a new connection (answered there); the kept one is answered now.
    await waitFor(() => up!.sessions.length === 2 && up!.requests.length === 5, 5_000, "the refused streams retried");
    lowest.run();
    const replies = await Promise.all(all);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(up!.sessions).toHaveLength(2);
  });

  it("RST_STREAM REFUSED_STREAM is retried (refused-stream) on the same connection", async () => {
    let n = 0;
    const { up, stats } = await setup(
      (stream, headers, body) => {
        if (n++ === 0) return stream.close(constants.NGHTTP2_REFUSED_STREAM);
        echoH2(stream, headers, body);
      },
      { action: { retryPolicy: istioRetries } },
    );
    const r = await send(proxy!.port);
    expect(r.status).toBe(200);
    expect(up!.requests.map((h) => h["x-envoy-attempt-count"])).toEqual(["1", "2"]);
    expect(up!.sessions).toHaveLength(1);
    expect(counter(stats, "http2.rx_reset")).toBe(1);
    expect(counter(stats, "http2.stream_refused_errors")).toBe(1);
    expect(counter(stats, "upstream_rq_retry")).toBe(1);
  });

  it("a RST_STREAM other than REFUSED_STREAM is not retried by istiod's policy: 503 UR (remote reset); the connection stays usable", async () => {
    let n = 0;
    const { up } = await setup(
      (stream, headers, body) => {
        if (n++ === 0) return stream.close(constants.NGHTTP2_INTERNAL_ERROR);
        echoH2(stream, headers, body);
      },
      { action: { retryPolicy: istioRetries } },
    );
    const r = await send(proxy!.port);
    expect(r.status).toBe(503);
    expect(r.body).toBe("upstream connect error or disconnect/reset before headers. reset reason: remote reset");
    expect(proxy!.streams[0]!.responseFlags).toContain("UR");
    expect(proxy!.streams[0]!.responseCodeDetails).toBe("upstream_reset_before_response_started{remote_reset}");
    expect((await send(proxy!.port)).status).toBe(200);
    expect(up!.sessions).toHaveLength(1);
  });

  it("a connection that drops with streams in flight resets each of them (503 UC), and the next request opens a new connection", async () => {
    let drop = true;
    const { up } = await setup((stream, headers, body) => {
      if (drop) return;
      echoH2(stream, headers, body);
    });
    const a = send(proxy!.port);
    const b = send(proxy!.port);
    await waitFor(() => up!.requests.length === 2, 5_000, "both streams at the upstream");
    drop = false;
    // The TCP connection dies (no GOAWAY, no RST_STREAM): every stream on it is terminated.
    up!.sockets[0]!.destroy();
    const [ra, rb] = await Promise.all([a, b]);
    expect([ra.status, rb.status]).toEqual([503, 503]);
    expect(ra.body).toBe("upstream connect error or disconnect/reset before headers. reset reason: connection termination");
    expect(rb.body).toBe(ra.body);
    expect(proxy!.streams.map((i) => i.responseFlags.includes("UC"))).toEqual([true, true]);
    expect((await send(proxy!.port)).status).toBe(200);
    expect(up!.sessions).toHaveLength(2);
  });

  it("connect failure: 503 UF with Envoy's body", async () => {
    const port = await freePort();
    const { stats } = await setup(echoH2, { port });
    const r = await send(proxy!.port);
    expect(r.status).toBe(503);
    expect(r.body).toBe("upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: delayed connect error: 111");
    expect(proxy!.streams[0]!.responseFlags).toContain("UF");
    expect(counter(stats, "upstream_cx_connect_fail")).toBe(1);
  });

  it("maxConnections 1 with maxConcurrentStreams 1: one request waits as pending, the next overflows (503 UO)", async () => {
    const held: Array<() => void> = [];
    const { up, stats } = await setup(
      (stream, headers, body) => {
        held.push(() => echoH2(stream, headers, body));
      },
      {
        cluster: {
          httpProtocolOptions: { explicitHttpConfig: { http2ProtocolOptions: { maxConcurrentStreams: 1 } } },
          circuitBreakers: { maxConnections: 1, maxPendingRequests: 1, maxRequests: U, maxRetries: U },
        },
      },
    );
    const a = send(proxy!.port, "/a");
    await waitFor(() => held.length === 1, 5_000, "first stream held");
    const b = send(proxy!.port, "/b");
    await waitFor(() => counter(stats, "upstream_rq_pending_total") >= 2, 5_000, "second request pending");
    const c = await send(proxy!.port, "/c");
    expect(c.status).toBe(503);
    expect(c.headers["x-envoy-overloaded"]).toBe("true");
    expect(c.body).toBe("upstream connect error or disconnect/reset before headers. reset reason: overflow");
    held.shift()!();
    await waitFor(() => held.length === 1, 5_000, "second stream held");
    held.shift()!();
    expect((await a).status).toBe(200);
    expect((await b).status).toBe(200);
    expect(up!.sessions).toHaveLength(1);
    expect(counter(stats, "upstream_rq_pending_overflow")).toBe(1);
  });

  it("http2MaxRequests (circuit breaker maxRequests) holds for HTTP/2: the request over it is 503 UO", async () => {
    const held: Array<() => void> = [];
    const { stats } = await setup(
      (stream, headers, body) => {
        held.push(() => echoH2(stream, headers, body));
      },
      { cluster: h2({}, { circuitBreakers: { maxConnections: U, maxPendingRequests: U, maxRequests: 2, maxRetries: U } }) },
    );
    const a = send(proxy!.port);
    const b = send(proxy!.port);
    await waitFor(() => held.length === 2, 5_000, "two streams held");
    const c = await send(proxy!.port);
    expect(c.status).toBe(503);
    expect(c.headers["x-envoy-overloaded"]).toBe("true");
    for (const h of held.splice(0)) h();
    expect([(await a).status, (await b).status]).toEqual([200, 200]);
    expect(counter(stats, "upstream_rq_pending_overflow")).toBe(1);
  });

  it("maxRequestsPerConnection 3: the connection is replaced after three streams, with no failed request", async () => {
    const { up, stats } = await setup(echoH2, { cluster: h2({ commonHttpProtocolOptions: { maxRequestsPerConnection: 3 } }) });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await send(proxy!.port)).status);
    // And concurrently: 6 at once fill two connections.
    const many = await Promise.all(Array.from({ length: 6 }, () => send(proxy!.port)));
    expect(statuses).toEqual(Array(7).fill(200));
    expect(many.map((r) => r.status)).toEqual(Array(6).fill(200));
    const perSession = up!.sessions.length;
    expect(perSession).toBeGreaterThanOrEqual(5);
    expect(counter(stats, "upstream_cx_max_requests")).toBeGreaterThanOrEqual(4);
    await waitFor(() => counter(stats, "upstream_cx_destroy_local") >= 4, 5_000, "drained connections closed");
  });

  it("the idle timeout closes a connection without streams (GOAWAY), and the next request opens a new one", async () => {
    const { up, stats } = await setup(echoH2, { cluster: h2({ commonHttpProtocolOptions: { idleTimeoutMs: 1_000 } }) });
    expect((await send(proxy!.port)).status).toBe(200);
    proxy!.runtime.sweep(1);
    proxy!.runtime.sweep(10_000);
    await waitFor(() => up!.sessions[0]!.closed || up!.sessions[0]!.destroyed, 5_000, "upstream session closed by the proxy");
    expect(counter(stats, "upstream_cx_idle_timeout")).toBe(1);
    await waitFor(() => counter(stats, "upstream_cx_destroy_local") === 1, 5_000, "connection destroyed locally");
    expect((await send(proxy!.port)).status).toBe(200);
    expect(up!.sessions).toHaveLength(2);
  });

  it("maxConnectionDuration: an older connection takes no new stream; the one in flight finishes, then it closes", async () => {
    const timers = new ManualTimers();
    const held: Array<() => void> = [];
    const { up, stats } = await setup(
      (stream, headers, body) => {
        if (headers[":path"] === "/hold") held.push(() => echoH2(stream, headers, body));
        else echoH2(stream, headers, body);
      },
      { cluster: h2({ commonHttpProtocolOptions: { maxConnectionDurationMs: 1_000 } }), timers },
    );
    expect((await send(proxy!.port)).status).toBe(200);
    const inFlight = send(proxy!.port, "/hold");
    await waitFor(() => held.length === 1, 5_000, "held stream");
    timers.advance(1_500);
    // Past its maximum duration: the next request goes to a new connection.
    expect((await send(proxy!.port)).status).toBe(200);
    expect(up!.sessions).toHaveLength(2);
    expect(counter(stats, "upstream_cx_max_duration_reached")).toBe(1);
    expect(up!.sessions[0]!.closed).toBe(false);
    held[0]!();
    expect((await inFlight).status).toBe(200);
    await waitFor(() => counter(stats, "upstream_cx_destroy_local") === 1, 5_000, "the old connection closed once its stream ended");
  });

  it("GOAWAY from an upstream that is shutting down: requests after it go to a new connection with no failure", async () => {
    const { up } = await setup(echoH2, { action: { retryPolicy: istioRetries } });
    expect((await send(proxy!.port)).status).toBe(200);
    const closed = new Promise<void>((r) => up!.sessions[0]!.once("close", () => r()));
    up!.sessions[0]!.close();
    await closed;
    const replies = await Promise.all(Array.from({ length: 5 }, () => send(proxy!.port)));
    expect(replies.map((r) => r.status)).toEqual(Array(5).fill(200));
    expect(up!.sessions).toHaveLength(2);
  });

  it("a response that breaks HTTP/2's rules (a connection header) is a protocol error: 502 UPE", async () => {
    const frame = (type: number, flags: number, stream: number, payload: Buffer): Buffer => {
      const h = Buffer.alloc(9);
      h.writeUIntBE(payload.length, 0, 3);
      h[3] = type;
      h[4] = flags;
      h.writeUInt32BE(stream, 5);
      return Buffer.concat([h, payload]);
    };
    // HPACK: indexed `:status: 200` (static 8), then a literal `connection: close` (never allowed in HTTP/2).
    const block = Buffer.concat([Buffer.from([0x88, 0x00, 10]), Buffer.from("connection"), Buffer.from([5]), Buffer.from("close")]);
    const raw = await startRawUpstream((sock) => {
      let buf = Buffer.alloc(0);
      let off = 24; // the client preface
      sock.write(frame(4, 0, 0, Buffer.alloc(0))); // our SETTINGS
      sock.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= off + 9) {
          const len = buf.readUIntBE(off, 3);
          if (buf.length < off + 9 + len) return;
          const type = buf[off + 3]!;
          const flags = buf[off + 4]!;
          const id = buf.readUInt32BE(off + 5) & 0x7fffffff;
          off += 9 + len;
          if (type === 4 && (flags & 1) === 0) sock.write(frame(4, 1, 0, Buffer.alloc(0)));
          if (type === 1) sock.write(frame(1, 0x4 | 0x1, id, block));
        }
      });
    });
    ups.push(raw);
    await setup(echoH2, { port: raw.port });
    const r = await send(proxy!.port);
    expect(r.status).toBe(502);
    expect(r.body).toBe("upstream connect error or disconnect/reset before headers. reset reason: protocol error");
    expect(proxy!.streams[0]!.responseFlags).toContain("UPE");
  });

  it("an upstream that does not speak HTTP/2 (an HTTP/1.1 server) is a connect failure: 503 UF, no hang", async () => {
    const h1 = await startEchoUpstream("h1");
    ups.push(h1);
    const { stats } = await setup(echoH2, { port: h1.port });
    const r = await send(proxy!.port);
    expect(r.status).toBe(503);
    expect(r.body).toBe("upstream connect error or disconnect/reset before headers. reset reason: connection failure");
    expect(proxy!.streams[0]!.responseFlags).toContain("UF");
    expect(counter(stats, "upstream_cx_http2_total")).toBe(1);
  });

  it("an upstream that accepts but never sends SETTINGS: 503 UF once the connect timeout passes", async () => {
    const timers = new ManualTimers();
    const silent = await startRawUpstream(() => {});
    ups.push(silent);
    const { stats } = await setup(echoH2, { port: silent.port, timers });
    const pending = send(proxy!.port);
    // The session exists (TCP connected, the dial's timer cleared): only the SETTINGS wait is armed.
    await waitFor(() => counter(stats, "upstream_cx_http2_total") === 1, 5_000, "session started");
    expect(timers.waiting()).toHaveLength(1);
    timers.advance(1_000);
    const r = await pending;
    expect(r.status).toBe(503);
    expect(proxy!.streams[0]!.responseFlags).toContain("UF");
    expect(counter(stats, "upstream_cx_connect_timeout")).toBe(1);
  });
});
