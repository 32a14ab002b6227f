// gRPC semantics of local replies and deadlines over real sockets (HTTP/1.1 framing here; the
// grpc-js suites cover HTTP/2): a gRPC request's every local reply is Envoy's trailers-only
// answer (200, application/grpc, grpc-status, grpc-message), while StreamInfo keeps the flag and
// details; grpc-timeout bounds the stream as the route's max_stream_duration / max_grpc_timeout say.

import type { Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { HTTP_FAULT_FILTER, type Route, type RouteAction } from "../../src/config/model/types.js";
import { StatsStore } from "../../src/observability/stats/stats-store.js";
import { hcmOfListener } from "../helpers/model.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { openSocket, parseResponses, rawExchange, type RawResponse } from "../helpers/raw-client.js";
import { freePort, startRawUpstream, type RawUpstream } from "../helpers/upstreams.js";
import { ManualTimers } from "../helpers/manual-timers.js";
import { waitFor } from "../helpers/wait.js";

let proxy: TestProxy | undefined;
let stats = new StatsStore();
let statPrefix = "";
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function raw(onConnection: (s: Socket) => void): Promise<RawUpstream> {
  const u = await startRawUpstream(onConnection);
  cleanups.push(() => u.close());
  return u;
}

/** An upstream that reads requests and never answers; `heads` collects each request head. */
async function stalling(): Promise<RawUpstream & { heads: string[]; closed: Promise<void> }> {
  const heads: string[] = [];
  let closedResolve!: () => void;
  const closed = new Promise<void>((r) => (closedResolve = r));
  const u = await raw((s) => {
    let buf = "";
    s.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      const i = buf.indexOf("\r\n\r\n");
      if (i !== -1 && heads.length === 0) heads.push(buf.slice(0, i).toLowerCase());
    });
    s.on("close", () => closedResolve());
  });
  return Object.assign(u, { heads, closed });
}

async function proxyWith(ports: number[], action: Partial<RouteAction> = {}, extra: Partial<Route> = {}, timers?: ManualTimers): Promise<TestProxy> {
  const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c", ...action }, ...extra }, { prefix: "/pkg." })] }], [cluster("c", ports)]);
  stats = new StatsStore();
  statPrefix = `http.${hcmOfListener(snap.listeners[0]!).statPrefix}.`;
  proxy = await startProxy(snap, { runtime: { stats }, ...(timers !== undefined ? { timers, clock: timers } : {}) });
  return proxy;
}

const GRPC_HEADERS = "content-type: application/grpc\r\nte: trailers\r\n";

/** A unary-style gRPC call over HTTP/1.1: headers, a 5-byte empty message, done. */
async function call(p: TestProxy, opts: { path?: string; headers?: string; method?: string; body?: boolean } = {}): Promise<RawResponse> {
  const body = opts.body === false ? "" : "\x00\x00\x00\x00\x00";
  const head = `${opts.method ?? "POST"} ${opts.path ?? "/pkg.Svc/Call"} HTTP/1.1\r\nhost: svc\r\n${opts.headers ?? GRPC_HEADERS}content-length: ${body.length}\r\n\r\n`;
  const out = await rawExchange(p.port, head + body, { responses: 1 });
  const [r] = parseResponses(out);
  if (r === undefined) throw new Error(`no response: ${JSON.stringify(out)}`);
  return r;
}

function expectTrailersOnly(r: RawResponse, grpcStatus: number, grpcMessage: string | undefined): void {
  expect(r.status).toBe(200);
  expect(r.headers["content-type"]).toBe("application/grpc");
  expect(r.headers["grpc-status"]).toBe(String(grpcStatus));
  expect(r.headers["grpc-message"]).toBe(grpcMessage);
  expect(r.headers["content-length"]).toBe("0");
  expect(r.body.length).toBe(0);
}

describe("local replies to gRPC requests are trailers-only gRPC answers", () => {
  it("no route: grpc-status 12 (404 → UNIMPLEMENTED), no message; StreamInfo keeps NR and the 200 sent", async () => {
    const p = await proxyWith([1]);
    const r = await call(p, { path: "/other.Svc/Call" });
    expectTrailersOnly(r, 12, undefined);
    await waitFor(() => p.streams.length === 1);
    const s = p.streams[0]!;
    expect(s.responseCode).toBe(200);
    expect(s.responseFlags).toEqual(["NR"]);
    expect(s.responseCodeDetails).toBe("route_not_found");
  });

  it("no healthy upstream: 14 with Envoy's text, flag UH", async () => {
    const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c" } })] }], [cluster("c", [])]);
    proxy = await startProxy(snap);
    const r = await call(proxy);
    expectTrailersOnly(r, 14, "no healthy upstream");
    await waitFor(() => proxy!.streams.length === 1);
    expect(proxy.streams[0]!.responseFlags).toEqual(["UH"]);
    expect(proxy.streams[0]!.responseCode).toBe(200);
  });

  it("connection refused: 14 with the reset reason as grpc-message, flag UF", async () => {
    const closedPort = await freePort();
    const p = await proxyWith([closedPort]);
    const r = await call(p);
    expectTrailersOnly(r, 14, "upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: delayed connect error: 111");
    await waitFor(() => p.streams.length === 1);
    expect(p.streams[0]!.responseFlags).toEqual(["UF"]);
    expect(p.streams[0]!.responseCodeDetails).toBe("upstream_reset_before_response_started{connection_failure,delayed_connect_error:_111}");
  });

  it("upstream reset before headers: 14, flag UC", async () => {
    const u = await raw((s) => s.once("data", () => s.destroy()));
    const p = await proxyWith([u.port]);
    const r = await call(p);
    expectTrailersOnly(r, 14, "upstream connect error or disconnect/reset before headers. reset reason: connection termination");
    await waitFor(() => p.streams.length === 1);
    expect(p.streams[0]!.responseFlags).toEqual(["UC"]);
  });

  it("a fault's HTTP abort is mapped (403 → 7) with 'fault filter abort', flag FI", async () => {
    const p = await proxyWith([1], {}, { typedPerFilterConfig: { [HTTP_FAULT_FILTER]: { abort: { httpStatus: 403, percentage: { numerator: 100, denominator: "HUNDRED" } } } } });
    const r = await call(p);
    expectTrailersOnly(r, 7, "fault filter abort");
    await waitFor(() => p.streams.length === 1);
    expect(p.streams[0]!.responseFlags).toEqual(["FI"]);
    expect(p.streams[0]!.responseCodeDetails).toBe("fault_filter_abort");
  });

  it("a fault's grpcStatus abort answers that code; a plain HTTP request gets Envoy's 200 with the text", async () => {
    const p = await proxyWith([1], {}, { typedPerFilterConfig: { [HTTP_FAULT_FILTER]: { abort: { grpcStatus: 8, percentage: { numerator: 100, denominator: "HUNDRED" } } } } });
    expectTrailersOnly(await call(p), 8, "fault filter abort");
    const plain = await call(p, { headers: "content-type: application/json\r\n" });
    expect(plain.status).toBe(200);
    expect(plain.headers["grpc-status"]).toBeUndefined();
    expect(plain.body.toString()).toBe("fault filter abort");
    await waitFor(() => p.streams.length === 2);
    expect(p.streams.map((s) => s.responseFlags)).toEqual([["FI"], ["FI"]]);
  });

  it("a direct response becomes a gRPC answer too (Envoy sends it as a local reply)", async () => {
    const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("d", { directResponse: { status: 503, body: "maintenance: 100% down" } })] }], []);
    proxy = await startProxy(snap);
    expectTrailersOnly(await call(proxy), 14, "maintenance: 100%25 down");
  });

  it("grpc-web and grpc;params are not gRPC to Envoy: the plain local reply", async () => {
    const p = await proxyWith([1]);
    for (const ct of ["application/grpc-web", "application/grpc;charset=utf-8"]) {
      const r = await call(p, { path: "/other.Svc/Call", headers: `content-type: ${ct}\r\n` });
      expect(r.status).toBe(404);
      expect(r.headers["grpc-status"]).toBeUndefined();
    }
  });

  it("a HEAD request gets no grpc-message", async () => {
    const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c" } })] }], [cluster("c", [])]);
    proxy = await startProxy(snap);
    expectTrailersOnly(await call(proxy, { method: "HEAD", body: false }), 14, undefined);
  });
});

describe("grpc-timeout and the route's stream bounds", () => {
  it("max_stream_duration with grpc_timeout_header_max: grpc-timeout bounds the stream → DEADLINE_EXCEEDED, upstream closed", async () => {
    const u = await stalling();
    const p = await proxyWith([u.port], { timeoutMs: 60_000, maxStreamDuration: { maxStreamDurationMs: 0, grpcTimeoutHeaderMaxMs: 0 } });
    const r = await call(p, { headers: `${GRPC_HEADERS}grpc-timeout: 80m\r\n` });
    expectTrailersOnly(r, 4, "downstream duration timeout");
    await u.closed;
    await waitFor(() => p.streams.length === 1);
    const s = p.streams[0]!;
    expect(s.responseCodeDetails).toBe("max_duration_timeout");
    expect(s.responseCode).toBe(200);
    expect(s.responseFlags).toEqual([]);
    // The route timeout is Envoy's "old" timeout: with max_stream_duration it is not armed and not advertised.
    expect(u.heads[0]).not.toContain("x-envoy-expected-rq-timeout-ms");
    expect(u.heads[0]).toContain("grpc-timeout: 80m");
    expect(stats.counter(`${statPrefix}downstream_rq_max_duration_reached`).value).toBe(1);
  });

  it("grpc_timeout_header_max caps the client's deadline", async () => {
    const u = await stalling();
    const p = await proxyWith([u.port], { maxStreamDuration: { grpcTimeoutHeaderMaxMs: 60 } });
    const t0 = Date.now();
    expectTrailersOnly(await call(p, { headers: `${GRPC_HEADERS}grpc-timeout: 1H\r\n` }), 4, "downstream duration timeout");
    // Not a speed assertion: an hour-long deadline that was not capped would never end this test.
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it("max_stream_duration bounds a plain HTTP request: 504 once its body arrived, 408 before", async () => {
    const u = await stalling();
    const p = await proxyWith([u.port], { maxStreamDuration: { maxStreamDurationMs: 60 } });
    const done = await call(p, { headers: "content-type: application/json\r\n" });
    expect(done.status).toBe(504);
    expect(done.body.toString()).toBe("downstream duration timeout");
    const out = await rawExchange(p.port, "POST /pkg.Svc/Call HTTP/1.1\r\nhost: svc\r\ncontent-length: 10\r\n\r\nab");
    const [partial] = parseResponses(out);
    expect(partial!.status).toBe(408);
    expect(partial!.headers.connection).toBe("close");
  });

  it("a gRPC request whose body never finished gets DEADLINE_EXCEEDED too", async () => {
    const u = await stalling();
    const p = await proxyWith([u.port], { maxStreamDuration: { maxStreamDurationMs: 60 } });
    const out = await rawExchange(p.port, `POST /pkg.Svc/Call HTTP/1.1\r\nhost: svc\r\n${GRPC_HEADERS}content-length: 10\r\n\r\nab`);
    expectTrailersOnly(parseResponses(out)[0]!, 4, "downstream duration timeout");
  });

  it("an invalid grpc-timeout is ignored: max_stream_duration applies", async () => {
    const u = await stalling();
    const p = await proxyWith([u.port], { maxStreamDuration: { maxStreamDurationMs: 60, grpcTimeoutHeaderMaxMs: 0 } });
    expectTrailersOnly(await call(p, { headers: `${GRPC_HEADERS}grpc-timeout: soon\r\n` }), 4, "downstream duration timeout");
  });

  it("max_grpc_timeout (Istio's): grpc-timeout replaces the route timeout, 504 UT → UNAVAILABLE, the upstream told its deadline", async () => {
    const u = await stalling();
    const p = await proxyWith([u.port], { timeoutMs: 60_000, maxGrpcTimeoutMs: 0 });
    const r = await call(p, { headers: `${GRPC_HEADERS}grpc-timeout: 70m\r\n` });
    expectTrailersOnly(r, 14, "upstream request timeout");
    await u.closed;
    await waitFor(() => p.streams.length === 1);
    expect(p.streams[0]!.responseFlags).toEqual(["UT"]);
    expect(p.streams[0]!.responseCodeDetails).toBe("upstream_response_timeout");
    expect(u.heads[0]).toContain("x-envoy-expected-rq-timeout-ms: 70");
    expect(u.heads[0]).toContain("grpc-timeout: 70m");
  });

  it("max_grpc_timeout caps the deadline (and stands in for a missing one)", async () => {
    const u = await stalling();
    const p = await proxyWith([u.port], { timeoutMs: 0, maxGrpcTimeoutMs: 50 });
    expectTrailersOnly(await call(p, { headers: `${GRPC_HEADERS}grpc-timeout: 10S\r\n` }), 14, "upstream request timeout");
    expectTrailersOnly(await call(p), 14, "upstream request timeout");
    expect(u.heads[0]).toContain("grpc-timeout: 50m");
    expect(u.heads[0]).toContain("x-envoy-expected-rq-timeout-ms: 50");
  });

  it("max_grpc_timeout leaves a plain HTTP request to the route timeout", async () => {
    const u = await stalling();
    const p = await proxyWith([u.port], { timeoutMs: 40, maxGrpcTimeoutMs: 0 });
    const r = await call(p, { headers: "content-type: application/json\r\ngrpc-timeout: 1H\r\n" });
    expect(r.status).toBe(504);
    expect(r.body.toString()).toBe("upstream request timeout");
    expect(u.heads[0]).toContain("x-envoy-expected-rq-timeout-ms: 40");
  });

  it("a deadline that passes mid-response resets the stream (the connection closes), details max_duration_timeout", async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((r) => (upstreamClosed = r));
    const u = await raw((s) => {
      s.once("data", () => s.write("HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ntransfer-encoding: chunked\r\n\r\n5\r\n\x00\x00\x00\x00\x00\r\n"));
      s.on("close", () => upstreamClosed());
    });
    const p = await proxyWith([u.port], { maxStreamDuration: { grpcTimeoutHeaderMaxMs: 0 } });
    const out = await rawExchange(p.port, `POST /pkg.Svc/Stream HTTP/1.1\r\nhost: svc\r\n${GRPC_HEADERS}grpc-timeout: 80m\r\ncontent-length: 0\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(out).not.toContain("\r\n0\r\n\r\n");
    await closed;
    await waitFor(() => p.streams.length === 1);
    expect(p.streams[0]!.responseCodeDetails).toBe("max_duration_timeout");
  });

  it("a client that goes away closes the upstream request", async () => {
    const u = await stalling();
    const p = await proxyWith([u.port], { maxGrpcTimeoutMs: 0 });
    const c = await openSocket(p.port);
    c.write(`POST /pkg.Svc/Call HTTP/1.1\r\nhost: svc\r\n${GRPC_HEADERS}content-length: 5\r\n\r\n\x00\x00\x00\x00\x00`);
    await waitFor(() => u.heads.length === 1, 5_000, "request upstream");
    c.destroy();
    await u.closed;
    await waitFor(() => p.streams.length === 1);
    expect(p.streams[0]!.responseFlags).toEqual(["DC"]);
  });
});

describe("how long a gRPC stream may last (timers on the data-path clock)", () => {
  /** Starts a call that the upstream never answers; resolves once the request reached it. */
  async function stalledCall(action: Partial<RouteAction>, grpcTimeout: string | undefined): Promise<{ t: ManualTimers; reply: Promise<RawResponse>; u: Awaited<ReturnType<typeof stalling>> }> {
    const u = await stalling();
    const t = new ManualTimers();
    const p = await proxyWith([u.port], action, {}, t);
    const reply = call(p, { headers: `${GRPC_HEADERS}${grpcTimeout !== undefined ? `grpc-timeout: ${grpcTimeout}\r\n` : ""}` });
    // Tests that never let the deadline pass close the proxy under the call: not a failure.
    reply.catch(() => {});
    await waitFor(() => u.heads.length === 1, 5_000, "the request upstream");
    return { t, reply, u };
  }

  it.each<[string, Partial<RouteAction>, string | undefined, number]>([
    ["grpc-timeout capped by grpc_timeout_header_max", { maxStreamDuration: { grpcTimeoutHeaderMaxMs: 100 } }, "1H", 100],
    ["grpc-timeout under the cap", { maxStreamDuration: { grpcTimeoutHeaderMaxMs: 100 } }, "40m", 40],
    ["grpc-timeout minus grpc_timeout_header_offset", { maxStreamDuration: { grpcTimeoutHeaderMaxMs: 0, grpcTimeoutHeaderOffsetMs: 30 } }, "100m", 70],
    ["sub-millisecond deadlines round up", { maxStreamDuration: { grpcTimeoutHeaderMaxMs: 0 } }, "1500u", 2],
    ["no grpc-timeout: max_stream_duration", { maxStreamDuration: { maxStreamDurationMs: 500, grpcTimeoutHeaderMaxMs: 0 } }, undefined, 500],
    ["grpc_timeout_header_max unset: the header is not read", { maxStreamDuration: { maxStreamDurationMs: 500 } }, "40m", 500],
  ])("%s", async (_name, action, header, ms) => {
    const { t, reply, u } = await stalledCall(action, header);
    expect(t.waiting()).toContain(ms);
    // The upstream is told the bound (Envoy rewrites a gRPC request's grpc-timeout to it).
    expect(u.heads[0]).toContain(`grpc-timeout: ${ms}m`);
    t.advance(ms - 1);
    t.advance(1);
    expectTrailersOnly(await reply, 4, "downstream duration timeout");
  });

  it("an offset as long as the deadline leaves nothing: DEADLINE_EXCEEDED at once", async () => {
    const { t, reply } = await stalledCall({ maxStreamDuration: { grpcTimeoutHeaderMaxMs: 0, grpcTimeoutHeaderOffsetMs: 100 } }, "100m");
    expect(t.waiting()).toContain(0);
    t.advance(0);
    expectTrailersOnly(await reply, 4, "downstream duration timeout");
  });

  it("max_grpc_timeout: grpc_timeout_offset is taken off only while something is left", async () => {
    const a = await stalledCall({ maxGrpcTimeoutMs: 0, grpcTimeoutOffsetMs: 20 }, "100m");
    expect(a.u.heads[0]).toContain("grpc-timeout: 80m");
    expect(a.u.heads[0]).toContain("x-envoy-expected-rq-timeout-ms: 80");
    expect(a.t.waiting()).toContain(80);
    a.t.advance(80);
    expectTrailersOnly(await a.reply, 14, "upstream request timeout");
    await proxy?.close();
    proxy = undefined;
    const b = await stalledCall({ maxGrpcTimeoutMs: 0, grpcTimeoutOffsetMs: 20 }, "10m");
    expect(b.u.heads[0]).toContain("grpc-timeout: 10m");
  });

  it("max_grpc_timeout without a grpc-timeout and without a cap: no timeout at all, whatever the route timeout", async () => {
    const { t, u } = await stalledCall({ maxGrpcTimeoutMs: 0, timeoutMs: 300 }, undefined);
    expect(t.waiting()).not.toContain(300);
    expect(u.heads[0]).not.toContain("x-envoy-expected-rq-timeout-ms");
    expect(u.heads[0]).not.toContain("grpc-timeout");
  });
});
