// H2Session in the client role against node:http2 servers (nghttp2): concurrent requests, large
// bodies both ways through small windows (checksums), 1xx and trailers, resets both ways, the
// server's GOAWAY (streams above last-stream-id refused, retryable; the others finish), header
// blocks in CONTINUATION frames, SETTINGS (the peer's MAX_CONCURRENT_STREAMS seen).

import { createHash } from "node:crypto";
import * as http2 from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode } from "../../../../../src/http/codec/h2/frames.js";
import { ResetWhy } from "../../../../../src/http/codec/h2/session.js";
import { waitFor, within } from "../../../../helpers/wait.js";
import { Recorder, clientSession, pattern } from "./session-harness.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

async function nodeServer(onStream: (s: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders) => void, opts: http2.ServerOptions = {}): Promise<{ port: number; server: http2.Http2Server; sessions: http2.ServerHttp2Session[] }> {
  const server = http2.createServer(opts);
  const sessions: http2.ServerHttp2Session[] = [];
  server.on("session", (s) => {
    sessions.push(s);
    s.on("error", () => {});
  });
  server.on("stream", (s, h) => {
    s.on("error", () => {});
    onStream(s, h);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(async () => {
    for (const s of sessions) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { port: (server.address() as { port: number }).port, server, sessions };
}

async function session(port: number, opts = {}) {
  const c = await clientSession(port, opts);
  cleanups.push(() => {
    c.session.destroy();
  });
  return c;
}

function req(path: string, method = "GET"): string[] {
  return [":method", method, ":scheme", "http", ":authority", "test", ":path", path];
}

/** node:http2 echo: the body back, x-path, trailers when asked for with x-want-trailers. */
function echo(s: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders): void {
  const chunks: Buffer[] = [];
  s.on("data", (d: Buffer) => chunks.push(d));
  s.on("end", () => {
    const wantTrailers = h["x-want-trailers"] !== undefined;
    s.respond({ ":status": 200, "x-path": h[":path"] }, { waitForTrailers: wantTrailers });
    if (wantTrailers) s.on("wantTrailers", () => s.sendTrailers({ "grpc-status": "0" }));
    s.end(Buffer.concat(chunks));
  });
}

describe("H2Session client role → node:http2 server", () => {
  it("100 concurrent requests on one connection; the peer's SETTINGS are applied first", async () => {
    const srv = await nodeServer(echo, { settings: { maxConcurrentStreams: 500 } });
    const { session: s, events } = await session(srv.port);
    await waitFor(() => events.settings > 0, 5_000, "the server's SETTINGS");
    expect(s.peerMaxConcurrentStreams).toBe(500);
    const recs = Array.from({ length: 100 }, (_, i) => {
      const r = new Recorder();
      const st = s.request(req(`/c/${i}`, "POST"), false, r);
      st.write(Buffer.from(`b${i}`), true);
      return r;
    });
    await within(Promise.all(recs.map((r) => r.done)), 5_000, "all responses");
    recs.forEach((r, i) => {
      expect(r.header(":status")).toBe("200");
      expect(r.header("x-path")).toBe(`/c/${i}`);
      expect(r.body.toString()).toBe(`b${i}`);
      expect(r.reset).toBeNull();
    });
    expect(s.activeStreams).toBe(0);
  });

  it("5 MiB up and back through 65 535-byte windows (checksums equal); write() false above the buffer limit, onWritable after", async () => {
    const srv = await nodeServer(echo, { settings: { initialWindowSize: 65_535 } });
    const { session: s } = await session(srv.port, { initialStreamWindowSize: 65_535, initialConnectionWindowSize: 65_535, streamBufferLimit: 256 * 1024 });
    const body = pattern(5 * 1024 * 1024, 11);
    const r = new Recorder();
    const st = s.request(req("/big", "POST"), false, r);
    let off = 0;
    let paused = 0;
    const pump = (): void => {
      while (off < body.length) {
        const n = Math.min(64 * 1024, body.length - off);
        const last = off + n === body.length;
        const ok = st.write(body.subarray(off, off + n), last);
        off += n;
        if (!ok && !last) {
          paused++;
          return;
        }
      }
    };
    r.onEvent = (_r, what) => what === "writable" && pump();
    pump();
    await within(r.done, 10_000, "the echo");
    expect(paused).toBeGreaterThan(0);
    expect(r.writable).toBeGreaterThanOrEqual(paused);
    expect(r.body.length).toBe(body.length);
    expect(sha(r.body)).toBe(sha(body));
  });

  it("a 100-continue block comes before the final response; trailers end the stream", async () => {
    const srv = await nodeServer((st, h) => {
      st.additionalHeaders({ ":status": 100 });
      echo(st, h);
    });
    const { session: s } = await session(srv.port);
    const r = new Recorder();
    s.request([...req("/t", "POST"), "x-want-trailers", "1"], false, r).write(Buffer.from("x"), true);
    await within(r.done, 5_000, "the response");
    expect(r.headers.map((h) => h[1])).toEqual(["100", "200"]);
    expect(r.body.toString()).toBe("x");
    expect(r.trailers).toEqual(["grpc-status", "0"]);
  });

  it("the server's RST_STREAM reaches onReset (Remote, its code); our reset reaches the server; the connection stays", async () => {
    const aborted: string[] = [];
    let opened = 0;
    const srv = await nodeServer((st, h) => {
      opened++;
      if (h[":path"] === "/rst") st.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      else st.on("aborted", () => aborted.push(String(h[":path"])));
    });
    const { session: s } = await session(srv.port);
    const r1 = new Recorder();
    s.request(req("/rst"), true, r1);
    await within(r1.done, 5_000, "the reset");
    expect(r1.reset).toEqual({ code: ErrorCode.ENHANCE_YOUR_CALM, why: ResetWhy.Remote });
    const r2 = new Recorder();
    const st2 = s.request(req("/cancel", "POST"), false, r2);
    await waitFor(() => opened === 2, 5_000, "the server stream");
    st2.reset(ErrorCode.CANCEL);
    await waitFor(() => aborted.length === 1, 5_000, "the server to see the abort");
    expect(r2.reset).toBeNull();
    expect(r2.closed).toBe(true);
    expect(s.activeStreams).toBe(0);
  });

  it("the server's GOAWAY: streams above last-stream-id are refused (retryable), the one below completes; no new streams", async () => {
    const held: http2.ServerHttp2Stream[] = [];
    const srv = await nodeServer((st) => held.push(st));
    const { session: s, events } = await session(srv.port);
    const r1 = new Recorder();
    s.request(req("/1"), true, r1);
    await waitFor(() => held.length === 1, 5_000, "stream 1 at the server");
    const r3 = new Recorder();
    s.request(req("/3"), true, r3);
    const r5 = new Recorder();
    s.request(req("/5"), true, r5);
    await waitFor(() => held.length === 3, 5_000, "streams 3 and 5 at the server");
    srv.sessions[0]!.goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
    await waitFor(() => events.goaways.length === 1, 5_000, "the GOAWAY");
    expect(events.goaways[0]).toEqual({ last: 1, code: 0 });
    expect(r3.reset).toEqual({ code: ErrorCode.REFUSED_STREAM, why: ResetWhy.RefusedByGoaway });
    expect(r5.reset?.why).toBe(ResetWhy.RefusedByGoaway);
    expect(s.canRequest).toBe(false);
    held[0]!.respond({ ":status": 200 });
    held[0]!.end("one");
    await within(r1.done, 5_000, "stream 1");
    expect(r1.body.toString()).toBe("one");
  });

  it("large header blocks both ways go in CONTINUATION frames", async () => {
    const big = "h".repeat(12_000);
    let got: http2.IncomingHttpHeaders = {};
    const srv = await nodeServer(
      (st, h) => {
        got = h;
        st.respond({ ":status": 200, "x-r1": big, "x-r2": big, "x-r3": big });
        st.end();
      },
      { maxHeaderListSize: 256 * 1024 } as http2.ServerOptions,
    );
    const { session: s } = await session(srv.port, { maxHeaderListSize: 256 * 1024 });
    const r = new Recorder();
    s.request([...req("/h"), "x-q1", big, "x-q2", big, "x-q3", big], true, r);
    await within(r.done, 5_000, "the response");
    expect(got["x-q3"]).toBe(big);
    expect(r.header("x-r3")).toBe(big);
  });

  it("a connection closed under open streams resets them (ConnectionClosed) and closes the session", async () => {
    let opened = 0;
    const srv = await nodeServer(() => opened++);
    const { session: s, events } = await session(srv.port);
    const r = new Recorder();
    s.request(req("/hang"), true, r);
    await waitFor(() => opened === 1, 5_000, "the stream");
    srv.sessions[0]!.destroy();
    await within(events.closedP, 5_000, "the session close");
    expect(r.reset?.why).toBe(ResetWhy.ConnectionClosed);
    expect(r.closed).toBe(true);
  });
});
