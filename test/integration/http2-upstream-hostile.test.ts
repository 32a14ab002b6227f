// The upstream HTTP/2 client side (pool, session, client stream) against hostile and odd upstreams:
// raw TCP servers that write frames by hand (test/helpers/h2-raw-upstream.ts). Each case checks
// what the downstream gets (status, Envoy's body text, the response flags and details), what the
// proxy sent the upstream (GOAWAY codes, RST_STREAM), the pool's counters, and that the proxy
// serves the next request afterwards (every upstream connection after the first one behaves).
// Envoy's mapping: a connection-level protocol error the codec detects, or a malformed response,
// is ProtocolError (502 UPE, "protocol error"); an upstream's RST_STREAM is 503 UR; a connection
// that dies under a stream is 503 UC; no valid SETTINGS first is a connect failure (503 UF).

import { request as httpRequest, Agent } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import type { Cluster, RouteAction } from "../../src/config/model/types.js";
import { StatsStore } from "../../src/observability/stats/stats-store.js";
import { cluster, istioRetries, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { F, h2Frame, settingsPayload, startRawH2Upstream, T, u32, type RawH2Conn, type RawH2Script, type RawH2Upstream, type RawFrame } from "../helpers/h2-raw-upstream.js";
import { waitFor } from "../helpers/wait.js";

let proxy: TestProxy | undefined;
let up: RawH2Upstream | undefined;
let agent: Agent | undefined;
afterEach(async () => {
  agent?.destroy();
  agent = undefined;
  await proxy?.close();
  proxy = undefined;
  await up?.close();
  up = undefined;
});

const H2: Partial<Cluster> = { httpProtocolOptions: { explicitHttpConfig: { http2ProtocolOptions: {} } } };

const PROTOCOL_ERROR_BODY = "upstream connect error or disconnect/reset before headers. reset reason: protocol error";
const CONNECT_FAILURE_BODY = "upstream connect error or disconnect/reset before headers. reset reason: connection failure";

interface Reply {
  status: number;
  body: string;
  /** The downstream response broke off (the proxy reset the downstream after the headers). */
  aborted: boolean;
  /** No response at all (the socket closed first). */
  error?: string;
}

function send(path = "/", body?: Buffer | string): Promise<Reply> {
  agent ??= new Agent({ keepAlive: true, maxSockets: 50 });
  return new Promise((resolve) => {
    const req = httpRequest({ host: "127.0.0.1", port: proxy!.port, path, agent, method: body === undefined ? "GET" : "POST", headers: { host: "svc" } }, (res) => {
      let text = "";
      let aborted = false;
      res.setEncoding("latin1");
      res.on("data", (c: string) => (text += c));
      res.on("aborted", () => (aborted = true));
      res.on("error", () => (aborted = true));
      res.on("close", () => resolve({ status: res.statusCode!, body: text, aborted: aborted || !res.complete }));
    });
    req.on("error", (e) => resolve({ status: 0, body: "", aborted: true, error: e.message }));
    req.end(body);
  });
}

/** A HEAD request through the keep-alive agent. */
function sendHead(): Promise<{ status: number; contentLength: string | undefined; aborted: boolean }> {
  agent ??= new Agent({ keepAlive: true, maxSockets: 50 });
  return new Promise((resolve) => {
    const req = httpRequest({ host: "127.0.0.1", port: proxy!.port, path: "/", agent, method: "HEAD", headers: { host: "svc" } }, (res) => {
      res.resume();
      res.on("close", () => resolve({ status: res.statusCode!, contentLength: res.headers["content-length"], aborted: !res.complete }));
    });
    req.on("error", () => resolve({ status: 0, contentLength: undefined, aborted: true }));
    req.end();
  });
}

/**
 * A raw upstream whose first connection runs `hostile` and every later one answers 200 "ok";
 * a proxy with one HTTP/2 cluster on it.
 */
async function setup(hostile: RawH2Script, o: { action?: Partial<RouteAction>; cluster?: Partial<Cluster> } = {}): Promise<{ stats: StatsStore }> {
  const good: RawH2Script = { onRequest: (c, id) => c.ok(id) };
  up = await startRawH2Upstream((i) => (i === 0 ? hostile : good));
  const stats = new StatsStore();
  const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c", ...o.action } })] }], [cluster("c", [up.port], o.cluster ?? H2)]);
  proxy = await startProxy(snap, { runtime: { stats } });
  return { stats };
}

function counter(stats: StatsStore, name: string): number {
  return stats.snapshot().counters[`cluster.c.${name}`] ?? 0;
}

/** The stream info of the i-th downstream request. */
function info(i = 0): { flags: string; details: string } {
  const s = proxy!.streams[i]!;
  return { flags: String(s.responseFlags), details: String(s.responseCodeDetails) };
}

/** The first connection's GOAWAY from the proxy (waits for it). */
async function goawayOf(c: RawH2Conn): Promise<{ last: number; code: number }> {
  await waitFor(() => c.goaway() !== undefined, 5_000, "GOAWAY from the proxy");
  return c.goaway()!;
}

/** The proxy still serves: a request now is 200 "ok" (on a new, well-behaved connection). */
async function stillServes(): Promise<void> {
  const r = await send("/after");
  expect(r.status).toBe(200);
  expect(r.body).toBe("ok");
}

const ERR = { PROTOCOL_ERROR: 1, FLOW_CONTROL_ERROR: 3, STREAM_CLOSED: 5, FRAME_SIZE_ERROR: 6, REFUSED_STREAM: 7, COMPRESSION_ERROR: 9, ENHANCE_YOUR_CALM: 11 };

/** A response scripted on the request's stream; the request gets 502 UPE and the proxy GOAWAY `code`. */
async function expectProtocolError(answer: (c: RawH2Conn, id: number) => void, code: number, o: { headersSent?: boolean } = {}): Promise<void> {
  const { stats } = await setup({ onRequest: answer });
  const r = await send("/");
  if (o.headersSent === true && r.status !== 502) {
    // The response head had reached the client: the downstream is cut off after it. (When the
    // bad frame came in the same read as the head, nothing was written yet: a clean 502.)
    expect(r.aborted).toBe(true);
  } else {
    expect(r.status).toBe(502);
    expect(r.body).toBe(PROTOCOL_ERROR_BODY);
    expect(info().details).toBe("upstream_reset_before_response_started{protocol_error}");
  }
  expect(info().flags).toContain("UPE");
  const c = up!.conns[0]!;
  expect((await goawayOf(c)).code).toBe(code);
  await waitFor(() => c.closed, 5_000, "the broken connection closed");
  await waitFor(() => counter(stats, "upstream_cx_destroy") === 1, 5_000, "the connection counted as closed");
  await stillServes();
  expect(up!.conns).toHaveLength(2);
}

describe("HTTP/2 upstream: the connection's start", () => {
  it("an upstream that answers the preface with garbage (not a SETTINGS frame): 503 UF, connection failure", async () => {
    const { stats } = await setup({ greeting: Buffer.from("HTTP/1.1 400 Bad Request\r\n\r\n") });
    const r = await send();
    expect(r.status).toBe(503);
    expect(r.body).toBe(CONNECT_FAILURE_BODY);
    expect(info().flags).toContain("UF");
    // The TCP connect succeeded (Envoy counts only TCP/TLS failures and timeouts there).
    expect(counter(stats, "upstream_cx_connect_fail")).toBe(0);
    expect(counter(stats, "upstream_cx_destroy")).toBe(1);
    await stillServes();
  });

  it("a first frame that is not SETTINGS (a PING): 503 UF", async () => {
    await setup({ greeting: h2Frame(T.PING, 0, 0, Buffer.alloc(8)) });
    const r = await send();
    expect(r.status).toBe(503);
    expect(info().flags).toContain("UF");
    expect((await goawayOf(up!.conns[0]!)).code).toBe(ERR.PROTOCOL_ERROR);
    await stillServes();
  });

  it.each([
    ["ENABLE_PUSH 1 from a server", [[2, 1]], ERR.PROTOCOL_ERROR],
    ["INITIAL_WINDOW_SIZE 2^31", [[4, 2 ** 31]], ERR.FLOW_CONTROL_ERROR],
    ["MAX_FRAME_SIZE 16383", [[5, 16_383]], ERR.PROTOCOL_ERROR],
    ["MAX_FRAME_SIZE 2^24", [[5, 2 ** 24]], ERR.PROTOCOL_ERROR],
  ] as Array<[string, Array<[number, number]>, number]>)("SETTINGS with %s: a connection error before the connection is ready, 503 UF", async (_name, pairs, code) => {
    await setup({ greeting: h2Frame(T.SETTINGS, 0, 0, settingsPayload(pairs)) });
    const r = await send();
    expect(r.status).toBe(503);
    expect(r.body).toBe(CONNECT_FAILURE_BODY);
    expect(info().flags).toContain("UF");
    expect((await goawayOf(up!.conns[0]!)).code).toBe(code);
    await stillServes();
  });

  it("a SETTINGS frame whose length is not a multiple of 6: FRAME_SIZE_ERROR, 503 UF", async () => {
    await setup({ greeting: h2Frame(T.SETTINGS, 0, 0, Buffer.alloc(5)) });
    expect((await send()).status).toBe(503);
    expect((await goawayOf(up!.conns[0]!)).code).toBe(ERR.FRAME_SIZE_ERROR);
    await stillServes();
  });

  it("unknown settings and an unknown frame type are ignored (RFC 9113 §4.1, §6.5.2)", async () => {
    await setup({
      greeting: Buffer.concat([h2Frame(T.SETTINGS, 0, 0, settingsPayload([[0x99, 7], [6, 100]])), h2Frame(0xfa, 0xff, 0, Buffer.from("whatever"))]),
      onRequest: (c, id) => {
        c.write(h2Frame(0xfb, 0, id, Buffer.alloc(3)));
        c.ok(id, "fine");
      },
    });
    const r = await send();
    expect([r.status, r.body]).toEqual([200, "fine"]);
    expect(up!.conns).toHaveLength(1);
  });
});

describe("HTTP/2 upstream: frames the upstream may not send", () => {
  it("a frame larger than our SETTINGS_MAX_FRAME_SIZE (16384): FRAME_SIZE_ERROR, 502 UPE", async () => {
    await expectProtocolError((c, id) => {
      c.headers(id, [[":status", "200"]], false);
      c.data(id, Buffer.alloc(16_385, 0x61), true);
    }, ERR.FRAME_SIZE_ERROR, { headersSent: true });
  });

  it("a frame header announcing more than 16384 bytes, before the response: 502 UPE", async () => {
    await expectProtocolError((c, id) => c.write(h2Frame(T.HEADERS, F.END_HEADERS, id, Buffer.alloc(4), 100_000)), ERR.FRAME_SIZE_ERROR);
  });

  it("HEADERS on a stream we never opened (a higher odd id): PROTOCOL_ERROR, 502 UPE", async () => {
    await expectProtocolError((c, id) => c.headers(id + 2, [[":status", "200"]], true), ERR.PROTOCOL_ERROR);
  });

  it("HEADERS on an even (server-initiated) stream: PROTOCOL_ERROR, 502 UPE", async () => {
    await expectProtocolError((c, id) => c.headers(id + 1, [[":status", "200"]], true), ERR.PROTOCOL_ERROR);
  });

  it("PUSH_PROMISE (we sent ENABLE_PUSH 0): PROTOCOL_ERROR, 502 UPE", async () => {
    await expectProtocolError((c, id) => c.write(h2Frame(T.PUSH_PROMISE, F.END_HEADERS, id, Buffer.concat([u32(2), c.block([[":method", "GET"], [":path", "/p"], [":scheme", "http"], [":authority", "svc"]])]))), ERR.PROTOCOL_ERROR);
  });

  it("DATA on an idle stream: PROTOCOL_ERROR, 502 UPE", async () => {
    await expectProtocolError((c, id) => c.data(id + 4, "x", true), ERR.PROTOCOL_ERROR);
  });

  it("DATA before the response's HEADERS: PROTOCOL_ERROR, 502 UPE", async () => {
    await expectProtocolError((c, id) => c.data(id, "x", true), ERR.PROTOCOL_ERROR);
  });

  it("a CONTINUATION without a HEADERS before it: PROTOCOL_ERROR, 502 UPE", async () => {
    await expectProtocolError((c, id) => c.write(h2Frame(T.CONTINUATION, F.END_HEADERS, id, c.block([[":status", "200"]]))), ERR.PROTOCOL_ERROR);
  });

  it("a header block that is not valid HPACK: COMPRESSION_ERROR, 502 UPE", async () => {
    await expectProtocolError((c, id) => c.write(h2Frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, id, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))), ERR.COMPRESSION_ERROR);
  });

  it("a connection WINDOW_UPDATE over 2^31-1: FLOW_CONTROL_ERROR, 502 UPE", async () => {
    await expectProtocolError((c) => c.write(h2Frame(T.WINDOW_UPDATE, 0, 0, u32(0x7fffffff))), ERR.FLOW_CONTROL_ERROR);
  });

  it("a stream WINDOW_UPDATE over 2^31-1: FLOW_CONTROL_ERROR (a connection error by Envoy's default), 502 UPE", async () => {
    await expectProtocolError((c, id) => c.write(h2Frame(T.WINDOW_UPDATE, 0, id, u32(0x7fffffff))), ERR.FLOW_CONTROL_ERROR);
  });
});

describe("HTTP/2 upstream: malformed responses", () => {
  it("a response without :status: 502 UPE", async () => {
    await expectProtocolError((c, id) => c.headers(id, [["server", "x"]], true), ERR.PROTOCOL_ERROR);
  });

  it("a response with two :status: 502 UPE", async () => {
    await expectProtocolError((c, id) => c.headers(id, [[":status", "200"], [":status", "204"]], true), ERR.PROTOCOL_ERROR);
  });

  it("a response with a request pseudo-header: 502 UPE", async () => {
    await expectProtocolError((c, id) => c.headers(id, [[":status", "200"], [":path", "/"]], true), ERR.PROTOCOL_ERROR);
  });

  it("a response header name in upper case: 502 UPE", async () => {
    await expectProtocolError((c, id) => c.headers(id, [[":status", "200"], ["X-Upper", "1"]], true), ERR.PROTOCOL_ERROR);
  });

  it("101 Switching Protocols (never valid in HTTP/2): 502 UPE", async () => {
    await expectProtocolError((c, id) => c.headers(id, [[":status", "101"]], false), ERR.PROTOCOL_ERROR);
  });

  it("a 1xx with END_STREAM: 502 UPE", async () => {
    await expectProtocolError((c, id) => c.headers(id, [[":status", "100"]], true), ERR.PROTOCOL_ERROR);
  });

  it("1xx blocks then the final response: the 1xx are dropped, the final one forwarded", async () => {
    await setup({
      onRequest: (c, id) => {
        if (c.requests.length > 1) return c.ok(id);
        c.headers(id, [[":status", "100"]], false);
        c.headers(id, [[":status", "103"], ["link", "</a>; rel=preload"]], false);
        c.headers(id, [[":status", "201"], ["content-length", "4"]], false);
        c.data(id, "made", true);
      },
    });
    const r = await send();
    expect([r.status, r.body, r.aborted]).toEqual([201, "made", false]);
    await stillServes();
    expect(up!.conns).toHaveLength(1);
  });

  it("204 with a DATA payload after it: a messaging error (nghttp2: a 204 has content-length 0), the connection ends", async () => {
    const { stats } = await setup({
      onRequest: (c, id) => {
        c.headers(id, [[":status", "204"]], false);
        c.data(id, "body", true);
      },
    });
    const r = await send();
    expect(r.status).toBe(204);
    expect(r.body).toBe("");
    expect((await goawayOf(up!.conns[0]!)).code).toBe(ERR.PROTOCOL_ERROR);
    await waitFor(() => counter(stats, "upstream_cx_destroy") === 1, 5_000, "closed");
    await stillServes();
  });

  it("204 then an empty DATA with END_STREAM is fine: the HTTP/1.1 client gets a bare 204 (no chunked framing)", async () => {
    await setup({
      onRequest: (c, id) => {
        if (c.requests.length > 1) return c.ok(id);
        c.headers(id, [[":status", "204"]], false);
        c.data(id, "", true);
      },
    });
    const r = await send();
    expect([r.status, r.body, r.aborted]).toEqual([204, "", false]);
    await stillServes();
    expect(up!.conns).toHaveLength(1);
  });

  it("content-length 10 with 4 bytes then END_STREAM: PROTOCOL_ERROR, the downstream is cut off (UPE)", async () => {
    await expectProtocolError((c, id) => {
      c.headers(id, [[":status", "200"], ["content-length", "10"]], false);
      c.data(id, "four", true);
    }, ERR.PROTOCOL_ERROR, { headersSent: true });
  });

  it("content-length 2 with 4 bytes: PROTOCOL_ERROR, the downstream is cut off (UPE)", async () => {
    await expectProtocolError((c, id) => {
      c.headers(id, [[":status", "200"], ["content-length", "2"]], false);
      c.data(id, "four", false);
    }, ERR.PROTOCOL_ERROR, { headersSent: true });
  });

  it("content-length 3 on a HEADERS with END_STREAM: 502 UPE", async () => {
    await expectProtocolError((c, id) => c.headers(id, [[":status", "200"], ["content-length", "3"]], true), ERR.PROTOCOL_ERROR);
  });

  it("two different content-length values: 502 UPE", async () => {
    await expectProtocolError((c, id) => c.headers(id, [[":status", "200"], ["content-length", "1"], ["content-length", "2"]], false), ERR.PROTOCOL_ERROR);
  });

  it("trailers with a pseudo-header: PROTOCOL_ERROR, the downstream is cut off", async () => {
    await expectProtocolError((c, id) => {
      c.headers(id, [[":status", "200"]], false);
      c.data(id, "x", false);
      c.headers(id, [[":status", "200"], ["grpc-status", "0"]], true);
    }, ERR.PROTOCOL_ERROR, { headersSent: true });
  });

  it("trailers without END_STREAM: PROTOCOL_ERROR, the downstream is cut off", async () => {
    await expectProtocolError((c, id) => {
      c.headers(id, [[":status", "200"]], false);
      c.data(id, "x", false);
      c.headers(id, [["x-trailer", "1"]], false);
    }, ERR.PROTOCOL_ERROR, { headersSent: true });
  });

  it("a header block on a stream that is closed already (both ends done): ignored as nghttp2 does, the connection keeps serving", async () => {
    const { stats } = await setup({
      onRequest: (c, id) => {
        if (c.requests.length > 1) return c.ok(id);
        c.headers(id, [[":status", "200"], ["content-length", "0"]], true);
        // Late, after the proxy saw both ends: the HPACK state must still be updated.
        setTimeout(() => c.headers(id, [["x-late", "1"], ["x-indexed", "v"]], true), 50);
      },
    });
    expect((await send()).status).toBe(200);
    await waitFor(() => up!.conns[0]!.frames.length > 0 && up!.conns[0]!.sock.bytesWritten > 0, 5_000, "written");
    await new Promise<void>((r) => setTimeout(r, 100));
    await stillServes();
    expect(up!.conns).toHaveLength(1);
    expect(up!.conns[0]!.goaway()).toBeUndefined();
    expect(counter(stats, "upstream_cx_destroy")).toBe(0);
  });

  it("HEAD: a 200 with content-length ended by an empty DATA frame reaches the HTTP/1.1 client as a bare head", async () => {
    await setup({
      onRequest: (c, id) => {
        if (c.requests.length > 1) return c.ok(id);
        c.headers(id, [[":status", "200"], ["content-length", "1234"]], false);
        c.data(id, "", true);
      },
    });
    const r = await sendHead();
    expect([r.status, r.contentLength, r.aborted]).toEqual([200, "1234", false]);
    await stillServes();
    expect(up!.conns).toHaveLength(1);
  });

  it("304 ended by an empty DATA frame: a bare 304 downstream", async () => {
    await setup({
      onRequest: (c, id) => {
        if (c.requests.length > 1) return c.ok(id);
        c.headers(id, [[":status", "304"], ["etag", '"x"']], false);
        c.data(id, "", true);
      },
    });
    const r = await send();
    expect([r.status, r.body, r.aborted]).toEqual([304, "", false]);
    await stillServes();
    expect(up!.conns).toHaveLength(1);
  });

  it("a header block split over 200 CONTINUATION frames is reassembled", async () => {
    await setup({
      onRequest: (c, id) => {
        const block = c.block([[":status", "200"], ["x-long", "v".repeat(2_000)], ["content-length", "2"]]);
        const parts = 200;
        const step = Math.ceil(block.length / parts);
        const frames: Buffer[] = [];
        for (let i = 0, off = 0; off < block.length; i++, off += step) {
          const last = off + step >= block.length;
          frames.push(h2Frame(i === 0 ? T.HEADERS : T.CONTINUATION, last ? F.END_HEADERS : 0, id, block.subarray(off, off + step)));
        }
        c.write(Buffer.concat(frames));
        c.data(id, "ok", true);
      },
    });
    const r = await send();
    expect([r.status, r.body]).toEqual([200, "ok"]);
  });

  it("a response header block over 60 KiB (Envoy's max_response_headers_kb), over CONTINUATIONs: the stream is reset, 502 UPE, the connection stays", async () => {
    const { stats } = await setup({
      onRequest: (c, id) => {
        if (c.requests.length > 1) return c.ok(id);
        const block = c.block([[":status", "200"], ["x-a", "a".repeat(40_000)], ["x-b", "b".repeat(30_000)]]);
        const frames: Buffer[] = [];
        for (let off = 0; off < block.length; off += 16_384) {
          frames.push(h2Frame(off === 0 ? T.HEADERS : T.CONTINUATION, off + 16_384 >= block.length ? F.END_HEADERS : 0, id, block.subarray(off, off + 16_384)));
        }
        c.write(Buffer.concat(frames));
      },
    });
    const r = await send();
    expect(r.status).toBe(502);
    expect(r.body).toBe(PROTOCOL_ERROR_BODY);
    expect(info().flags).toContain("UPE");
    const rst = await waitForFrame(up!.conns[0]!, T.RST_STREAM);
    expect(rst.payload.readUInt32BE(0)).toBe(ERR.PROTOCOL_ERROR);
    // The HPACK state was kept: the same connection answers the next request.
    await stillServes();
    expect(up!.conns).toHaveLength(1);
    expect(counter(stats, "upstream_cx_destroy")).toBe(0);
  });

  it("a header value of 70 KiB in one block over many CONTINUATIONs: 502 UPE, the next request served", async () => {
    await setup({
      onRequest: (c, id) => {
        if (c.requests.length > 1) return c.ok(id);
        const block = c.block([[":status", "200"], ["x-huge", "h".repeat(70 * 1024)]]);
        const frames: Buffer[] = [];
        for (let off = 0; off < block.length; off += 4_096) {
          frames.push(h2Frame(off === 0 ? T.HEADERS : T.CONTINUATION, off + 4_096 >= block.length ? F.END_HEADERS : 0, id, block.subarray(off, off + 4_096)));
        }
        c.write(Buffer.concat(frames));
      },
    });
    const r = await send();
    expect(r.status).toBe(502);
    expect(info().flags).toContain("UPE");
    await stillServes();
  });

  it("an endless CONTINUATION stream (never END_HEADERS): the connection ends (ENHANCE_YOUR_CALM) before it grows unbounded", async () => {
    await expectProtocolError((c, id) => {
      const frames: Buffer[] = [h2Frame(T.HEADERS, 0, id, c.block([[":status", "200"]]))];
      const chunk = Buffer.alloc(16_384, 0x40);
      for (let i = 0; i < 20; i++) frames.push(h2Frame(T.CONTINUATION, 0, id, chunk));
      c.write(Buffer.concat(frames));
    }, ERR.ENHANCE_YOUR_CALM);
  });
});

/** Waits for the proxy to send a frame of `type` on connection `c`. */
async function waitForFrame(c: RawH2Conn, type: number): Promise<RawFrame> {
  await waitFor(() => c.sent(type).length > 0, 5_000, `frame type ${type}`);
  return c.sent(type)[0]!;
}


/** Answers 200 "ok" once the request's body has ended. */
function okAfterBody(c: RawH2Conn, f: RawFrame): void {
  if (f.type === T.DATA && (f.flags & F.END_STREAM) !== 0) c.ok(f.id);
}

describe("HTTP/2 upstream: flow control and stream limits", () => {
  it("an upstream that never sends WINDOW_UPDATE: a 100 KiB body stops at 65535 bytes, the route timeout answers 504 UT and resets the stream", async () => {
    await setup({}, { action: { timeoutMs: 300 } });
    const r = await send("/", Buffer.alloc(100 * 1024, 0x62));
    expect(r.status).toBe(504);
    expect(r.body).toBe("upstream request timeout");
    expect(info().flags).toContain("UT");
    const c = up!.conns[0]!;
    const rst = await waitForFrame(c, T.RST_STREAM);
    expect(rst.id).toBe(c.requests[0]);
    expect(c.bodyBytes.get(c.requests[0]!)).toBe(65_535);
    // The connection itself is fine: the next request goes on it (and waits for nothing: GET).
    expect(c.closed).toBe(false);
  });

  it("SETTINGS_INITIAL_WINDOW_SIZE 0, raised later: no DATA before the raise, the whole body after it", async () => {
    let raised = false;
    await setup({
      greeting: h2Frame(T.SETTINGS, 0, 0, settingsPayload([[4, 0]])),
      onRequest: (c) => {
        setTimeout(() => {
          raised = true;
          c.write(h2Frame(T.SETTINGS, 0, 0, settingsPayload([[4, 65_535]])));
        }, 100);
      },
      onFrame: (c, f) => {
        if (f.type === T.DATA && f.payload.length > 0) expect(raised).toBe(true);
        okAfterBody(c, f);
      },
    });
    const r = await send("/", Buffer.alloc(40_000, 0x63));
    expect([r.status, r.body]).toEqual([200, "ok"]);
    expect(up!.conns[0]!.bodyBytes.get(1)).toBe(40_000);
  });

  it("SETTINGS_INITIAL_WINDOW_SIZE lowered below what is in flight (negative window), then a WINDOW_UPDATE: the body completes", async () => {
    await setup({
      onFrame: (c, f) => {
        if (f.type === T.DATA && c.bodyBytes.get(f.id) === f.payload.length && f.payload.length > 0) {
          // After the first DATA: the window goes to 0 - sent (negative), then is made whole.
          c.write(h2Frame(T.SETTINGS, 0, 0, settingsPayload([[4, 0]])));
          c.write(h2Frame(T.WINDOW_UPDATE, 0, f.id, u32(200_000)));
          c.write(h2Frame(T.WINDOW_UPDATE, 0, 0, u32(200_000)));
        }
        okAfterBody(c, f);
      },
    });
    const r = await send("/", Buffer.alloc(120_000, 0x64));
    expect([r.status, r.body]).toEqual([200, "ok"]);
    expect(up!.conns[0]!.bodyBytes.get(1)).toBe(120_000);
  });

  it("SETTINGS_MAX_CONCURRENT_STREAMS 0 forever: the request waits, then the route timeout answers 504 UT; no connection storm", async () => {
    const { stats } = await setup({ greeting: h2Frame(T.SETTINGS, 0, 0, settingsPayload([[3, 0]])) }, { action: { timeoutMs: 300 } });
    const [a, b] = await Promise.all([send("/a"), send("/b")]);
    expect([a.status, b.status]).toEqual([504, 504]);
    expect(a.body).toBe("upstream request timeout");
    expect(up!.conns[0]!.requests).toHaveLength(0);
    // Every connection it opened says 0 as well: they must stay few (each pending request at most one).
    expect(up!.conns.length).toBeLessThanOrEqual(3);
    expect(counter(stats, "upstream_rq_pending_total")).toBeGreaterThanOrEqual(2);
  });

  it("GOAWAY last-stream-id 0 after our streams: all refused, retried on a new connection (istiod's policy): 200", async () => {
    const { stats } = await setup(
      {
        onRequest: (c) => {
          if (c.requests.length === 2) c.write(h2Frame(T.GOAWAY, 0, 0, u32(0, 0)));
        },
      },
      { action: { retryPolicy: istioRetries } },
    );
    const [a, b] = await Promise.all([send("/a"), send("/b")]);
    expect([a.status, b.status, a.body, b.body]).toEqual([200, 200, "ok", "ok"]);
    expect(up!.conns).toHaveLength(2);
    expect(counter(stats, "upstream_cx_close_notify")).toBe(1);
    expect(counter(stats, "upstream_rq_retry")).toBe(2);
  });

  it("GOAWAY last-stream-id 0 without a retry policy: 503 UR, remote refused stream reset", async () => {
    await setup({ onRequest: (c) => c.write(h2Frame(T.GOAWAY, 0, 0, u32(0, 0))) });
    const r = await send();
    expect(r.status).toBe(503);
    expect(r.body).toBe("upstream connect error or disconnect/reset before headers. reset reason: remote refused stream reset");
    expect(info().flags).toContain("UR");
    await stillServes();
  });

  it("RST_STREAM REFUSED_STREAM is retried on the same connection", async () => {
    const { stats } = await setup(
      {
        onRequest: (c, id) => {
          if (c.requests.length === 1) c.write(h2Frame(T.RST_STREAM, 0, id, u32(ERR.REFUSED_STREAM)));
          else c.ok(id);
        },
      },
      { action: { retryPolicy: istioRetries } },
    );
    expect((await send()).status).toBe(200);
    expect(up!.conns).toHaveLength(1);
    expect(counter(stats, "http2.stream_refused_errors")).toBe(1);
  });
});

describe("HTTP/2 upstream: floods, a peer that stops reading, a connection cut mid-frame", () => {
  it("100 PINGs are each answered (ACK, same payload) and the response still arrives", async () => {
    await setup({
      onRequest: (c, id) => {
        const pings: Buffer[] = [];
        for (let i = 0; i < 100; i++) pings.push(h2Frame(T.PING, 0, 0, u32(i, 0xabcdef)));
        c.write(Buffer.concat(pings));
        setTimeout(() => c.ok(id), 20);
      },
    });
    expect((await send()).status).toBe(200);
    const c = up!.conns[0]!;
    await waitFor(() => c.sent(T.PING).length === 100, 5_000, "100 PING ACKs");
    expect(c.sent(T.PING).every((f, i) => f.flags === F.ACK && f.payload.readUInt32BE(0) === i)).toBe(true);
  });

  it("a PING flood (5000 in one read: more ACKs than Envoy's 1000 outbound control frames) closes the connection; the request is answered; the proxy serves on", async () => {
    const { stats } = await setup({
      onRequest: (c) => {
        const pings: Buffer[] = [];
        for (let i = 0; i < 5_000; i++) pings.push(h2Frame(T.PING, 0, 0, u32(i, 0)));
        c.write(Buffer.concat(pings));
      },
    });
    const r = await send();
    // Envoy: the codec's flood error fails dispatch, the codec client marks a protocol error (502 UPE).
    expect(r.status).toBe(502);
    expect(r.body).toBe(PROTOCOL_ERROR_BODY);
    expect(info().flags).toContain("UPE");
    await waitFor(() => up!.conns[0]!.closed, 5_000, "the flooding connection closed");
    await waitFor(() => counter(stats, "upstream_cx_destroy") === 1, 5_000, "counted");
    await stillServes();
  });

  it("a peer that stops reading while it makes us answer PINGs: the output is capped (flood limit), the connection closed", async () => {
    let sent = 0;
    await setup({
      onRequest: (c) => {
        c.sock.pause();
        // Small bursts, each read separately: the ACKs pile up in our output, never read.
        const burst = (): void => {
          if (c.closed || sent >= 200_000) return;
          const pings: Buffer[] = [];
          for (let i = 0; i < 200; i++) pings.push(h2Frame(T.PING, 0, 0, u32(sent++, 0)));
          c.sock.write(Buffer.concat(pings), () => setImmediate(burst));
        };
        burst();
      },
    });
    const r = await send();
    expect(r.status).toBe(502);
    expect(info().flags).toContain("UPE");
    await waitFor(() => up!.conns[0]!.closed, 10_000, "closed by the proxy");
    // Far below what an unbounded output would have taken.
    expect(sent).toBeLessThan(200_000);
    await stillServes();
  });

  it("the connection closes in the middle of the response's HEADERS frame: 503 UC, connection termination", async () => {
    await setup({
      onRequest: (c, id) => {
        const f = h2Frame(T.HEADERS, F.END_HEADERS, id, c.block([[":status", "200"], ["x-a", "b".repeat(100)]]));
        c.sock.end(f.subarray(0, 20));
      },
    });
    const r = await send();
    expect(r.status).toBe(503);
    expect(r.body).toBe("upstream connect error or disconnect/reset before headers. reset reason: connection termination");
    expect(info().flags).toContain("UC");
    await stillServes();
  });

  it("the connection closes in the middle of a DATA frame after the headers: the downstream is cut off", async () => {
    await setup({
      onRequest: (c, id) => {
        c.headers(id, [[":status", "200"], ["content-length", "1000"]], false);
        setTimeout(() => c.sock.end(h2Frame(T.DATA, 0, id, Buffer.alloc(1_000)).subarray(0, 300)), 30);
      },
    });
    const r = await send();
    // The head waits downstream for the first body bytes, so the client may get nothing at all
    // (the connection closes) or a 200 cut short: never a whole response.
    expect(r.aborted).toBe(true);
    expect(info().flags).toContain("UC");
    await stillServes();
  });
});
