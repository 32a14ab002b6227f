// Http2Pool over its own HTTP/2 client session (src/http/codec/h2/), against node:http2 servers
// and raw TCP peers on loopback: many streams multiplexed over few connections, the peer's
// SETTINGS_MAX_CONCURRENT_STREAMS honoured (and changed mid-connection), GOAWAY with streams in
// flight (those above its last stream id refused, retriable), resets both ways, large bodies both
// ways at once (checksums), trailers both ways, and the error paths: a peer that closes
// mid-stream, sends garbage, or never sends SETTINGS.

import { createHash, randomBytes } from "node:crypto";
import { constants, type ServerHttp2Stream } from "node:http2";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode, type ProxyError } from "../../../src/common/errors.js";
import { HeaderList } from "../../../src/http/header-list.js";
import type { RequestEncoder } from "../../../src/upstream/conn-pool.js";
import { Http2Pool, type Http2Connection } from "../../../src/upstream/http2-pool.js";
import { startH2Upstream } from "../../helpers/h2-upstreams.js";
import { waitFor, within } from "../../helpers/wait.js";
import { closeAll, closers, open, pool, Recorder, request, stat } from "../../helpers/h2-pool-harness.js";

afterEach(closeAll);

/** Sends a GET with no body and returns its recorder. */
async function get(p: Http2Pool, path: string): Promise<Recorder> {
  const rec = new Recorder();
  (await open(p, rec)).encodeHeaders(request(path, [], "GET"), true);
  return rec;
}

/** Writes `body` through `enc` in 64 KiB chunks, honouring encodeData's back-pressure. */
function upload(enc: RequestEncoder, rec: Recorder, body: Buffer, trailers?: HeaderList): Promise<number> {
  let off = 0;
  let refusals = 0;
  return new Promise<number>((resolve, reject) => {
    const pump = (): void => {
      while (off < body.length) {
        const n = Math.min(64 * 1024, body.length - off);
        const last = off + n === body.length;
        const ok = enc.encodeData(body.subarray(off, off + n), last && trailers === undefined);
        off += n;
        if (last) {
          if (trailers !== undefined) enc.encodeTrailers(trailers);
          return resolve(refusals);
        }
        if (!ok) {
          refusals++;
          const before = rec.writable;
          waitFor(() => rec.writable > before || rec.reset !== undefined, 10_000, "writable").then(() => (rec.reset === undefined ? pump() : reject(new Error(`reset: ${rec.reset}`))), reject);
          return;
        }
      }
    };
    pump();
  });
}

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

/** A TCP server on loopback that hands each accepted socket to `onSocket`. */
async function tcpPeer(onSocket: (s: Socket) => void): Promise<{ port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server: TcpServer = createTcpServer((s) => {
    sockets.push(s);
    s.on("error", () => {});
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return { port: (server.address() as AddressInfo).port, sockets };
}

/** An empty SETTINGS frame (the server preface). */
const SETTINGS_FRAME = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);

describe("Http2Pool: multiplexing and the peer's stream limit", () => {
  it("200 concurrent requests share one connection (default limits), each answered with its own path", async () => {
    const up = await startH2Upstream();
    closers.push(() => up.close());
    const p = pool(up.port);
    const recs = await Promise.all(Array.from({ length: 200 }, (_, i) => get(p, `/r${i}`)));
    await Promise.all(recs.map((r) => r.done));
    recs.forEach((r, i) => {
      expect(r.reset).toBeUndefined();
      expect((JSON.parse(r.body.toString()) as { path: string }).path).toBe(`/r${i}`);
    });
    expect(up.sessions).toHaveLength(1);
    expect(stat("upstream_cx_http2_total")).toBe(1);
    await waitFor(() => stat("http2.streams_active") === 0, 5_000, "every slot released");
  });

  it("the peer's SETTINGS_MAX_CONCURRENT_STREAMS caps each connection; more requests dial more connections", async () => {
    const held: ServerHttp2Stream[] = [];
    const up = await startH2Upstream(undefined, { settings: { maxConcurrentStreams: 3 }, onHeaders: (s) => void held.push(s) });
    closers.push(() => up.close());
    const p = pool(up.port);
    const recs = await Promise.all(Array.from({ length: 9 }, (_, i) => get(p, `/h${i}`)));
    await waitFor(() => held.length === 9, 5_000, "9 streams at the upstream");
    expect(up.sessions).toHaveLength(3);
    for (const s of up.sessions) expect([...held].filter((h) => h.session === s)).toHaveLength(3);
    for (const h of held) h.respond({ ":status": 200 }, { endStream: true });
    await Promise.all(recs.map((r) => r.done));
    expect(recs.every((r) => r.headers?.status === 200)).toBe(true);
    expect(up.maxInFlight()).toBeLessThanOrEqual(9);
  });

  it("a peer that lowers its limit mid-connection gets no more streams there; raising it serves waiters on the same connection", async () => {
    const held: ServerHttp2Stream[] = [];
    const up = await startH2Upstream(undefined, { settings: { maxConcurrentStreams: 4 }, onHeaders: (s) => void held.push(s) });
    closers.push(() => up.close());
    const p = pool(up.port);
    const first = await Promise.all([get(p, "/a"), get(p, "/b")]);
    await waitFor(() => held.length === 2, 5_000, "2 streams held");
    const session = up.sessions[0]!;
    // Lowered to 2 (both in use): the next request must go to a new connection.
    await new Promise<void>((r) => session.settings({ maxConcurrentStreams: 2 }, () => r()));
    await waitFor(() => session.remoteSettings !== undefined, 5_000, "settings acked");
    const third = await get(p, "/c");
    await waitFor(() => held.length === 3, 5_000, "3rd stream held");
    expect(held[2]!.session === session).toBe(false);
    expect(up.sessions).toHaveLength(2);
    // The second connection is lowered to 1 (in use) and the first raised to 10: a waiter that
    // arrives now goes to the first connection, no third is dialed.
    const second = up.sessions[1]!;
    await new Promise<void>((r) => second.settings({ maxConcurrentStreams: 1 }, () => r()));
    await new Promise<void>((r) => session.settings({ maxConcurrentStreams: 10 }, () => r()));
    const fourth = await get(p, "/d");
    await waitFor(() => held.length === 4, 5_000, "4th stream held");
    expect(held[3]!.session === session).toBe(true);
    expect(up.sessions).toHaveLength(2);
    for (const h of held) h.respond({ ":status": 204 }, { endStream: true });
    for (const r of [...first, third, fourth]) await r.done;
    expect([...first, third, fourth].map((r) => r.headers?.status)).toEqual([204, 204, 204, 204]);
  });

  it("a peer allowing 0 streams holds requests until it raises the limit (no dial storm)", async () => {
    const up = await startH2Upstream(undefined, { settings: { maxConcurrentStreams: 0 } });
    closers.push(() => up.close());
    const p = pool(up.port);
    const rec = new Recorder();
    let encoder: RequestEncoder | undefined;
    p.newStream(rec, { onPoolReady: (e) => (encoder = e), onPoolFailure: () => {} });
    await waitFor(() => up.sessions.length === 1 && p.connectionCount === 1, 5_000, "connected");
    // A PING round trip: the client has read the SETTINGS.
    await new Promise<void>((r) => up.sessions[0]!.ping(() => r()));
    expect(encoder).toBeUndefined();
    expect(p.pendingCount).toBe(1);
    await new Promise<void>((r) => up.sessions[0]!.settings({ maxConcurrentStreams: 5 }, () => r()));
    await waitFor(() => encoder !== undefined, 5_000, "the request got its stream");
    encoder!.encodeHeaders(request("/late", [], "GET"), true);
    await rec.done;
    expect(rec.headers?.status).toBe(200);
    expect(up.sessions).toHaveLength(1);
  });
});

describe("Http2Pool: stream ids", () => {
  it("a connection out of stream ids (2^31-1 used) drains: its streams finish, a new connection takes the next request", async () => {
    const held: ServerHttp2Stream[] = [];
    const up = await startH2Upstream(undefined, { onHeaders: (s) => void held.push(s) });
    closers.push(() => up.close());
    const p = pool(up.port);
    const warm = await get(p, "/warm");
    await waitFor(() => held.length === 1, 5_000, "first stream held");
    held[0]!.respond({ ":status": 204 }, { endStream: true });
    await warm.done;
    // Jump the session's next stream id to the last three odd ids (2^31-5, 2^31-3, 2^31-1).
    const conn = (p as unknown as { conns: Http2Connection[] }).conns[0]!;
    (conn.session as unknown as { nextStreamId: number }).nextStreamId = 0x7ffffffb;
    const last = await Promise.all([get(p, "/a"), get(p, "/b"), get(p, "/c")]);
    await waitFor(() => held.length === 4, 5_000, "3 more streams held");
    expect(held.slice(1).map((h) => h.id)).toEqual([0x7ffffffb, 0x7ffffffd, 0x7fffffff]);
    expect(up.sessions).toHaveLength(1);
    const next = await get(p, "/next");
    await waitFor(() => held.length === 5, 5_000, "the next request on a new connection");
    expect(up.sessions).toHaveLength(2);
    expect(held[4]!.id).toBe(1);
    for (const h of held.slice(1)) h.respond({ ":status": 200 }, { endStream: true });
    for (const r of [...last, next]) await r.done;
    expect([...last, next].every((r) => r.headers?.status === 200)).toBe(true);
    // The exhausted connection closes once its streams are done.
    await waitFor(() => p.connectionCount === 1, 5_000, "the exhausted connection closed");
    expect(stat("upstream_cx_destroy_local")).toBe(1);
  });
});

describe("Http2Pool: GOAWAY", () => {
  it("streams at or below the GOAWAY's last stream id finish; those above are refused (retriable); new requests dial a new connection", async () => {
    const held: ServerHttp2Stream[] = [];
    const up = await startH2Upstream(undefined, { onHeaders: (s) => void held.push(s) });
    closers.push(() => up.close());
    const p = pool(up.port);
    const recs = await Promise.all([get(p, "/1"), get(p, "/2"), get(p, "/3")]);
    await waitFor(() => held.length === 3, 5_000, "3 streams held");
    const ids = held.map((h) => h.id!).sort((a, b) => a - b);
    const session = up.sessions[0]!;
    session.goaway(constants.NGHTTP2_NO_ERROR, ids[0]!);
    await waitFor(() => recs.filter((r) => r.reset !== undefined).length === 2, 5_000, "2 streams refused");
    const byId = new Map(held.map((h, i) => [h.id!, recs[i]!]));
    expect(byId.get(ids[1]!)!.reset).toBe("remote_refused_stream_reset");
    expect(byId.get(ids[2]!)!.reset).toBe("remote_refused_stream_reset");
    // Refused, with no RST_STREAM received.
    expect(stat("http2.stream_refused_errors")).toBe(2);
    expect(stat("http2.rx_reset")).toBe(0);
    expect(stat("http2.goaway_close_notify") + stat("upstream_cx_close_notify")).toBeGreaterThanOrEqual(1);
    // The stream below the last id still completes.
    const survivor = held.find((h) => h.id === ids[0])!;
    survivor.respond({ ":status": 200 });
    survivor.end("still here");
    const kept = byId.get(ids[0]!)!;
    await kept.done;
    expect(kept.reset).toBeUndefined();
    expect(kept.body.toString()).toBe("still here");
    // New work goes to a new connection.
    const next = await get(p, "/after");
    await waitFor(() => held.length === 4, 5_000, "new stream held");
    expect(held[3]!.session === session).toBe(false);
    held[3]!.respond({ ":status": 200 }, { endStream: true });
    await next.done;
    expect(next.headers?.status).toBe(200);
    // The drained connection closes once its last stream is done.
    await waitFor(() => p.connectionCount === 1, 5_000, "the GOAWAY'd connection closed");
  });
});

describe("Http2Pool: GOAWAY with an error code", () => {
  it("streams at or below its last stream id still finish (as in Envoy); those above are refused", async () => {
    const held: ServerHttp2Stream[] = [];
    const up = await startH2Upstream(undefined, { onHeaders: (s) => void held.push(s) });
    closers.push(() => up.close());
    const p = pool(up.port);
    const recs = await Promise.all([get(p, "/1"), get(p, "/2")]);
    await waitFor(() => held.length === 2, 5_000, "2 streams held");
    const [low, high] = [...held].sort((a, b) => a.id! - b.id!);
    up.sessions[0]!.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM, low!.id!);
    await waitFor(() => recs.some((r) => r.reset !== undefined), 5_000, "the higher stream refused");
    const lowRec = recs[held.indexOf(low!)]!;
    const highRec = recs[held.indexOf(high!)]!;
    expect(highRec.reset).toBe("remote_refused_stream_reset");
    low!.respond({ ":status": 200 });
    low!.end("finished");
    await lowRec.done;
    expect(lowRec.reset).toBeUndefined();
    expect(lowRec.body.toString()).toBe("finished");
    await waitFor(() => p.connectionCount === 0, 5_000, "the connection closed after its last stream");
  });
});

describe("Http2Pool: resets", () => {
  it("the peer's RST_STREAM is remote_reset (http2.rx_reset); REFUSED_STREAM is remote_refused_stream_reset (stream_refused_errors); the connection stays", async () => {
    const up = await startH2Upstream(undefined, {
      onHeaders: (s, h) => {
        if (h[":path"] === "/refuse") s.close(constants.NGHTTP2_REFUSED_STREAM);
        else if (h[":path"] === "/reset") s.close(constants.NGHTTP2_INTERNAL_ERROR);
        else if (h[":path"] === "/peer-protocol-error") s.close(constants.NGHTTP2_PROTOCOL_ERROR);
        else if (h[":path"] === "/reset-after-headers") {
          s.respond({ ":status": 200 });
          // destroy(err): RST_STREAM INTERNAL_ERROR with no END_STREAM first (close() would end the stream).
          s.write("partial", () => s.destroy(new Error("gone")));
        } else s.respond({ ":status": 204 }, { endStream: true });
      },
    });
    closers.push(() => up.close());
    const p = pool(up.port);
    const reset = await get(p, "/reset");
    await reset.done;
    expect(reset.reset).toBe("remote_reset");
    expect(stat("http2.rx_reset")).toBe(1);
    const refused = await get(p, "/refuse");
    await refused.done;
    expect(refused.reset).toBe("remote_refused_stream_reset");
    expect(stat("http2.stream_refused_errors")).toBe(1);
    const late = await get(p, "/reset-after-headers");
    await late.done;
    expect(late.headers?.status).toBe(200);
    expect(late.body.toString()).toBe("partial");
    expect(late.reset).toBe("remote_reset");
    expect(stat("http2.rx_reset")).toBe(3);
    // The peer's PROTOCOL_ERROR is a remote reset too (Envoy: only a malformed response we reset is a protocol error).
    const peerError = await get(p, "/peer-protocol-error");
    await peerError.done;
    expect(peerError.reset).toBe("remote_reset");
    expect(stat("http2.rx_reset")).toBe(4);
    expect(stat("http2.tx_reset")).toBe(0);
    const ok = await get(p, "/ok");
    await ok.done;
    expect(ok.headers?.status).toBe(204);
    expect(up.sessions).toHaveLength(1);
    await waitFor(() => stat("http2.streams_active") === 0, 5_000, "slots released");
  });

  it("resetStream while the request body is being sent: RST_STREAM NO_ERROR (Envoy's local reset) at the upstream, no more events, the slot is freed", async () => {
    let code: number | undefined;
    const up = await startH2Upstream(undefined, {
      onHeaders: (s) => {
        s.resume();
        s.on("close", () => (code = s.rstCode));
      },
    });
    closers.push(() => up.close());
    const p = pool(up.port);
    const rec = new Recorder();
    const enc = await open(p, rec);
    enc.encodeHeaders(request("/upload"), false);
    enc.encodeData(randomBytes(100_000), false);
    await waitFor(() => up.requests.length === 1, 5_000, "stream at the upstream");
    enc.resetStream();
    await waitFor(() => code !== undefined, 5_000, "RST_STREAM at the upstream");
    expect(code).toBe(constants.NGHTTP2_NO_ERROR);
    expect(enc.encodeData(Buffer.from("late"), true)).toBe(true);
    await waitFor(() => stat("http2.streams_active") === 0, 5_000, "slot released");
    expect(rec.reset).toBeUndefined();
    expect(rec.ended).toBe(false);
    expect(stat("http2.tx_reset")).toBe(1);
  });
});

describe("Http2Pool: bodies and trailers", () => {
  it("8 MiB up and 8 MiB down at once (full duplex echo) with small windows: both intact", async () => {
    const up = await startH2Upstream(undefined, {
      onHeaders: (s) => {
        s.respond({ ":status": 200 });
        s.pipe(s);
      },
    });
    closers.push(() => up.close());
    const p = pool(up.port, { http2: { initialStreamWindowSize: 65_535, initialConnectionWindowSize: 65_535 } });
    const body = randomBytes(8 * 1024 * 1024);
    const rec = new Recorder();
    const enc = await open(p, rec);
    enc.encodeHeaders(request("/echo"), false);
    const refusals = await upload(enc, rec, body);
    await within(rec.done, 30_000, "echo complete");
    expect(rec.reset).toBeUndefined();
    expect(refusals).toBeGreaterThan(0);
    expect(rec.body.length).toBe(body.length);
    expect(sha(rec.body)).toBe(sha(body));
    // The byte counters move at sweeps (and at close): at least the bodies, plus framing.
    p.sweep(0);
    expect(stat("upstream_cx_rx_bytes_total")).toBeGreaterThan(body.length);
    expect(stat("upstream_cx_tx_bytes_total")).toBeGreaterThan(body.length);
  });

  it("trailers both ways: request trailers after a body, response trailers after the echoed body", async () => {
    const up = await startH2Upstream(undefined, {
      onHeaders: (s) => {
        const chunks: Buffer[] = [];
        s.on("data", (c: Buffer) => chunks.push(c));
        s.on("trailers", (t: Record<string, string>) => {
          const b = Buffer.concat(chunks);
          s.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
          s.on("wantTrailers", () => s.sendTrailers({ "grpc-status": "0", "x-got": t["x-checksum"] ?? "none", "x-len": String(b.length) }));
          s.end(b);
        });
      },
    });
    closers.push(() => up.close());
    const p = pool(up.port);
    const body = randomBytes(300_000);
    const rec = new Recorder();
    const enc = await open(p, rec);
    enc.encodeHeaders(request("/t", [["content-type", "application/grpc"], ["te", "trailers"]]), false);
    await upload(enc, rec, body, HeaderList.from([["x-checksum", sha(body)]]));
    await rec.done;
    expect(rec.reset).toBeUndefined();
    expect(rec.headersEnd).toBe(false);
    expect(sha(rec.body)).toBe(sha(body));
    expect(rec.trailers?.get("grpc-status")).toBe("0");
    expect(rec.trailers?.get("x-got")).toBe(sha(body));
    expect(rec.trailers?.get("x-len")).toBe(String(body.length));
    expect(stat("http2.trailers")).toBe(1);
  });

  it("request trailers with nothing sendable end the stream with an empty DATA frame (no trailers at the upstream)", async () => {
    let trailers: unknown;
    const up = await startH2Upstream(undefined, {
      onHeaders: (s) => {
        const chunks: Buffer[] = [];
        s.on("trailers", (t: unknown) => (trailers = t));
        s.on("data", (c: Buffer) => chunks.push(c));
        s.on("end", () => s.respond({ ":status": 200, "x-len": String(Buffer.concat(chunks).length) }, { endStream: true }));
      },
    });
    closers.push(() => up.close());
    const p = pool(up.port);
    const rec = new Recorder();
    const enc = await open(p, rec);
    enc.encodeHeaders(request("/t"), false);
    enc.encodeData(Buffer.from("abc"), false);
    enc.encodeTrailers(HeaderList.from([["connection", "close"]]));
    await rec.done;
    expect(rec.headers?.headers.get("x-len")).toBe("3");
    expect(trailers).toBeUndefined();
  });

  it("a response complete before the request body ends: the request is cut short with RST_STREAM NO_ERROR (tx_reset), later body ignored", async () => {
    let code: number | undefined;
    const up = await startH2Upstream(undefined, {
      onHeaders: (s) => {
        s.on("close", () => (code = s.rstCode));
        s.resume();
        s.respond({ ":status": 413 }, { endStream: true });
      },
    });
    closers.push(() => up.close());
    const p = pool(up.port);
    const rec = new Recorder();
    const enc = await open(p, rec);
    enc.encodeHeaders(request("/upload"), false);
    enc.encodeData(Buffer.alloc(1000), false);
    await rec.done;
    expect(rec.headers?.status).toBe(413);
    expect(rec.headersEnd).toBe(true);
    await waitFor(() => code !== undefined, 5_000, "the upstream stream closed");
    expect(code).toBe(constants.NGHTTP2_NO_ERROR);
    expect(stat("http2.tx_reset")).toBe(1);
    expect(enc.encodeData(Buffer.alloc(1000), true)).toBe(true);
    await waitFor(() => stat("http2.streams_active") === 0, 5_000, "slot released");
    expect(rec.reset).toBeUndefined();
  });

  it("1xx responses are dropped: the decoder sees only the final headers", async () => {
    const up = await startH2Upstream(undefined, {
      onHeaders: (s) => {
        s.additionalHeaders({ ":status": 100 });
        s.additionalHeaders({ ":status": 103, link: "</a.css>; rel=preload" });
        s.respond({ ":status": 201, "x-final": "yes" }, { endStream: true });
      },
    });
    closers.push(() => up.close());
    const p = pool(up.port);
    const rec = await get(p, "/early");
    await rec.done;
    expect(rec.headers?.status).toBe(201);
    expect(rec.headers?.headers.get("x-final")).toBe("yes");
    expect(rec.headers?.headers.get("link")).toBeUndefined();
    expect(rec.headersEnd).toBe(true);
  });
});

describe("Http2Pool: broken peers", () => {
  it("a peer that closes the connection mid-stream: the stream is reset as connection_termination, the next request dials again", async () => {
    const up = await startH2Upstream(undefined, {
      onHeaders: (s, h) => {
        if (h[":path"] === "/drop") {
          s.respond({ ":status": 200 });
          s.write("some", () => up.sockets[0]!.destroy());
        } else s.respond({ ":status": 204 }, { endStream: true });
      },
    });
    closers.push(() => up.close());
    const p = pool(up.port);
    const rec = await get(p, "/drop");
    await rec.done;
    expect(rec.headers?.status).toBe(200);
    expect(rec.reset).toBe("connection_termination");
    await waitFor(() => p.connectionCount === 0, 5_000, "connection gone");
    expect(stat("upstream_cx_destroy_remote")).toBe(1);
    const next = await get(p, "/ok");
    await next.done;
    expect(next.headers?.status).toBe(204);
    expect(up.sessions).toHaveLength(2);
  });

  it("a peer that answers with garbage instead of SETTINGS fails the waiting requests as a connect failure", async () => {
    const peer = await tcpPeer((s) => s.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n"));
    const p = pool(peer.port);
    const err = await new Promise<ProxyError>((resolve, reject) => p.newStream(new Recorder(), { onPoolReady: () => reject(new Error("ready")), onPoolFailure: resolve }));
    expect(err.code).toBe(ErrorCode.UpstreamConnectFailure);
    await waitFor(() => p.connectionCount === 0 && p.open === 0, 5_000, "nothing left open");
  });

  it("garbage after SETTINGS, mid-stream: the stream is reset and the connection closed", async () => {
    const peer = await tcpPeer((s) => {
      s.write(SETTINGS_FRAME);
      let seen = 0;
      s.on("data", (d: Buffer) => {
        seen += d.length;
        // Past the preface, SETTINGS and the request's HEADERS: a frame with a reserved length.
        if (seen > 24 + 9) s.write(Buffer.from([0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01]));
      });
    });
    const p = pool(peer.port);
    const rec = await get(p, "/x");
    await within(rec.done, 5_000, "the stream reset");
    // A connection error (FRAME_SIZE_ERROR): each of its streams is Envoy's ProtocolError.
    expect(rec.reset).toBe("protocol_error");
    await waitFor(() => p.connectionCount === 0, 5_000, "connection closed");
  });

  /** A raw HTTP/2 peer: SETTINGS, then each request answered with `answer(n)` (a HEADERS block, END_STREAM); records the frames it reads. */
  async function rawPeer(answer: (n: number) => Buffer): Promise<{ port: number; sockets: Socket[]; frames: Buffer[] }> {
    const frames: Buffer[] = [];
    const peer = await tcpPeer((s) => {
      s.write(SETTINGS_FRAME);
      let buf = Buffer.alloc(0);
      s.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.subarray(0, 3).toString() === "PRI") buf = buf.subarray(24);
        while (buf.length >= 9 && buf.length >= 9 + buf.readUIntBE(0, 3)) {
          const frame = buf.subarray(0, 9 + buf.readUIntBE(0, 3));
          buf = buf.subarray(frame.length);
          frames.push(frame);
          if (frame[3] !== 1) continue;
          const block = answer(frames.filter((f) => f[3] === 1).length - 1);
          const h = Buffer.alloc(9);
          h.writeUIntBE(block.length, 0, 3);
          h[3] = 1;
          h[4] = 0x5; // END_STREAM | END_HEADERS
          h.writeUInt32BE(frame.readUInt32BE(5) & 0x7fffffff, 5);
          s.write(Buffer.concat([h, block]));
        }
      });
    });
    return { ...peer, frames };
  }
  // The first response lacks :status (a literal "x: y"); later ones are 204 (static index 9).
  const noStatusThen204 = (n: number): Buffer => (n === 0 ? Buffer.from([0x00, 0x01, 0x78, 0x01, 0x79]) : Buffer.from([0x89]));

  it("a malformed response (no :status) ends the connection by default, as Envoy: GOAWAY PROTOCOL_ERROR, reset reason protocol_error, the next request dials again", async () => {
    const peer = await rawPeer(noStatusThen204);
    const p = pool(peer.port);
    const bad = await get(p, "/bad");
    await within(bad.done, 5_000, "the malformed response reset");
    expect(bad.reset).toBe("protocol_error");
    expect(bad.headers).toBeUndefined();
    const goaway = await waitFor(() => peer.frames.find((f) => f[3] === 7), 5_000, "GOAWAY at the peer");
    expect(goaway.readUInt32BE(13)).toBe(constants.NGHTTP2_PROTOCOL_ERROR);
    await waitFor(() => p.connectionCount === 0, 5_000, "the connection closed");
    const ok = await get(p, "/ok");
    await within(ok.done, 5_000, "the answer on a new connection");
    expect(ok.reset).toBeUndefined();
    expect(ok.headers?.status).toBe(204);
    expect(peer.sockets).toHaveLength(2);
  });

  it("with override_stream_error_on_invalid_http_message, a malformed response resets only its stream (RST_STREAM PROTOCOL_ERROR, tx_reset); the connection stays", async () => {
    const peer = await rawPeer(noStatusThen204);
    const p = pool(peer.port, { http2: { streamErrorOnInvalidHttpMessage: true } });
    const bad = await get(p, "/bad");
    await within(bad.done, 5_000, "the malformed response reset");
    expect(bad.reset).toBe("protocol_error");
    expect(bad.headers).toBeUndefined();
    expect(stat("http2.tx_reset")).toBe(1);
    const rst = await waitFor(() => peer.frames.find((f) => f[3] === 3), 5_000, "RST_STREAM at the peer");
    expect(rst.readUInt32BE(9)).toBe(constants.NGHTTP2_PROTOCOL_ERROR);
    const ok = await get(p, "/ok");
    await within(ok.done, 5_000, "the second response");
    expect(ok.headers?.status).toBe(204);
    expect(peer.sockets).toHaveLength(1);
  });

  it("a response over Envoy's header limits (101 headers, or 60 KiB) is reset as a protocol error; the connection serves the next", async () => {
    const up = await startH2Upstream(undefined, {
      onHeaders: (s, h) => {
        const headers: Record<string, string | number> = { ":status": 200 };
        if (h[":path"] === "/many") for (let i = 0; i < 100; i++) headers[`x-h${i}`] = "v";
        // node:http2 adds a `date` header: 99 of ours make 100.
        if (h[":path"] === "/hundred") for (let i = 0; i < 99; i++) headers[`x-h${i}`] = "v";
        if (h[":path"] === "/big") headers["x-big"] = "b".repeat(61 * 1024);
        s.respond(headers, { endStream: true });
      },
    });
    closers.push(() => up.close());
    const p = pool(up.port);
    for (const path of ["/many", "/big"]) {
      const r = await get(p, path);
      await within(r.done, 5_000, path);
      expect(r.reset).toBe("protocol_error");
      expect(r.headers).toBeUndefined();
    }
    // 100 headers is within the limit.
    const ok = await get(p, "/hundred");
    await ok.done;
    expect(ok.headers?.status).toBe(200);
    expect(ok.headers?.headers.get("x-h98")).toBe("v");
    expect(up.sessions).toHaveLength(1);
  });

  it("a peer that never sends SETTINGS: the connect timeout fails the request (upstream_cx_connect_timeout)", async () => {
    let closed!: () => void;
    const socketClosed = new Promise<void>((r) => (closed = r));
    const peer = await tcpPeer((s) => {
      s.resume();
      s.on("close", closed);
    });
    const p = pool(peer.port, { connectTimeoutMs: 200 });
    const err = await new Promise<ProxyError>((resolve, reject) => p.newStream(new Recorder(), { onPoolReady: () => reject(new Error("ready")), onPoolFailure: resolve }));
    expect(err.code).toBe(ErrorCode.UpstreamConnectFailure);
    expect(stat("upstream_cx_connect_timeout")).toBe(1);
    expect(stat("upstream_cx_connect_fail")).toBe(1);
    await within(socketClosed, 5_000, "the silent peer's socket closed");
    expect(p.connectionCount).toBe(0);
  });
});
