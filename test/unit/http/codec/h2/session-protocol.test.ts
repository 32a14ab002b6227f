// H2Session server role against hand-written frames: every protocol error a well-behaved client
// never commits — bad preface, oversized frames, bad stream ids, frames on idle and half-closed
// streams, window overflows, DATA beyond a stream's window, malformed messages (stream errors), broken
// CONTINUATION sequences, PUSH_PROMISE — and the flood limits (empty DATA, PING without reading,
// PRIORITY, rapid reset). Plus the frame header helpers and padding.

import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode, Flag, FrameType as FT, frameLength, frameStreamId, read31, writeFrameHeader } from "../../../../../src/http/codec/h2/frames.js";
import { ResetWhy, type H2Stream } from "../../../../../src/http/codec/h2/session.js";
import { FrameType, PREFACE, RawHttp2Client, frame, headersFrame, hpackLiterals } from "../../../../helpers/http2-raw-client.js";
import type { Timers } from "../../../../../src/common/timers.js";
import { ManualTimers } from "../../../../helpers/manual-timers.js";
import { waitFor, within } from "../../../../helpers/wait.js";
import { Recorder, startSessionServer, type SessionServer } from "./session-harness.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const REQ: Array<[string, string]> = [
  [":method", "POST"],
  [":scheme", "http"],
  [":authority", "a"],
  [":path", "/"],
];

interface Served {
  srv: SessionServer;
  streams: Array<{ s: H2Stream; raw: string[]; rec: Recorder }>;
}

/** A session server that keeps every stream open (no response) and records it. */
async function holdServer(opts = {}): Promise<Served> {
  const streams: Served["streams"] = [];
  const srv = await startSessionServer((s, raw) => {
    const rec = new Recorder();
    s.handler = rec;
    streams.push({ s, raw, rec });
  }, opts);
  cleanups.push(() => srv.close());
  return { srv, streams };
}

async function open(port: number, ack = true): Promise<RawHttp2Client> {
  const c = await RawHttp2Client.open(port, ack);
  cleanups.push(() => c.close());
  return c;
}

async function goawayCode(c: RawHttp2Client): Promise<number> {
  const g = await c.waitFrame((f) => f.type === FrameType.GOAWAY);
  return g.payload.readUInt32BE(4);
}

async function rstCode(c: RawHttp2Client, id: number): Promise<number> {
  return (await c.waitFrame((f) => f.type === FrameType.RST_STREAM && f.streamId === id)).payload.readUInt32BE(0);
}

async function closed(c: RawHttp2Client): Promise<void> {
  await waitFor(() => c.closed, 5_000, "the connection to close");
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
}

describe("frame header", () => {
  it("writes and reads length, type, flags and a 31-bit stream id (the reserved bit ignored)", () => {
    const b = Buffer.alloc(13);
    writeFrameHeader(b, 2, 0x123456, FT.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 0x7fffffff);
    expect(frameLength(b, 2)).toBe(0x123456);
    expect(b[5]).toBe(FT.HEADERS);
    expect(b[6]).toBe(5);
    expect(frameStreamId(b, 2)).toBe(0x7fffffff);
    b[7] |= 0x80;
    expect(frameStreamId(b, 2)).toBe(0x7fffffff);
    expect(read31(Buffer.from([0xff, 0xff, 0xff, 0xff]), 0)).toBe(0x7fffffff);
  });
});

describe("connection errors: GOAWAY with the code, then close", () => {
  it("a bad preface", async () => {
    const { srv } = await holdServer();
    const s = connect(srv.port, "127.0.0.1");
    cleanups.push(() => {
      s.destroy();
    });
    const got: Buffer[] = [];
    s.on("data", (d: Buffer) => got.push(d));
    s.on("error", () => {});
    const done = new Promise<void>((r) => s.on("close", () => r()));
    s.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    await within(done, 5_000, "close");
    const all = Buffer.concat(got);
    // SETTINGS first (ours), then GOAWAY PROTOCOL_ERROR.
    const goaway = all.indexOf(Buffer.from([0, 0, 8, FrameType.GOAWAY]));
    expect(goaway).toBeGreaterThan(0);
    expect(all.readUInt32BE(goaway + 9 + 4)).toBe(ErrorCode.PROTOCOL_ERROR);
  });

  it("a first frame that is not SETTINGS", async () => {
    const { srv } = await holdServer();
    const s = connect(srv.port, "127.0.0.1");
    cleanups.push(() => {
      s.destroy();
    });
    s.on("error", () => {});
    const done = new Promise<void>((r) => s.on("close", () => r()));
    s.resume();
    s.write(Buffer.concat([PREFACE, frame(FrameType.PING, 0, 0, Buffer.alloc(8))]));
    await within(done, 5_000, "close");
  });

  it("a frame over 16 384 bytes (FRAME_SIZE_ERROR)", async () => {
    const { srv } = await holdServer();
    const c = await open(srv.port);
    c.write(headersFrame(1, REQ, false));
    c.write(frame(FrameType.DATA, 0, 1, Buffer.alloc(16_385)));
    expect(await goawayCode(c)).toBe(ErrorCode.FRAME_SIZE_ERROR);
    await closed(c);
  });

  it("HEADERS on an even stream id; DATA on an idle stream (PROTOCOL_ERROR)", async () => {
    const { srv } = await holdServer();
    const c = await open(srv.port);
    c.write(headersFrame(2, REQ, true));
    expect(await goawayCode(c)).toBe(ErrorCode.PROTOCOL_ERROR);
    const c2 = await open(srv.port);
    c2.write(frame(FrameType.DATA, 0, 5, Buffer.from("x")));
    expect(await goawayCode(c2)).toBe(ErrorCode.PROTOCOL_ERROR);
  });

  it("a stream id lower than one already used is ignored (it may be a closed stream's trailers, as nghttp2 judges); the connection serves on", async () => {
    const { srv, streams } = await holdServer();
    const c = await open(srv.port);
    c.write(headersFrame(5, REQ, true));
    await waitFor(() => streams.length === 1, 5_000, "stream 5");
    c.write(headersFrame(3, REQ, true));
    c.write(headersFrame(7, REQ, true));
    await waitFor(() => streams.length === 2, 5_000, "stream 7");
    expect(streams.map((s) => s.s.id)).toEqual([5, 7]);
    expect(c.frames.some((f) => f.type === FrameType.GOAWAY)).toBe(false);
  });

  it("DATA after the stream's END_STREAM (half-closed remote: STREAM_CLOSED, as nghttp2)", async () => {
    const { srv, streams } = await holdServer();
    const c = await open(srv.port);
    c.write(headersFrame(1, REQ, true));
    await waitFor(() => streams.length === 1, 5_000, "stream 1");
    c.write(frame(FrameType.DATA, 0, 1, Buffer.from("late")));
    expect(await goawayCode(c)).toBe(ErrorCode.STREAM_CLOSED);
    await within(streams[0]!.rec.done, 5_000, "the stream reset");
    expect(streams[0]!.rec.reset?.code).toBe(ErrorCode.STREAM_CLOSED);
  });

  it("a WINDOW_UPDATE taking the connection or a stream window over 2^31-1 is a connection error FLOW_CONTROL_ERROR, stream errors on or not (nghttp2, Envoy)", async () => {
    const { srv } = await holdServer({ streamErrorOnInvalidMessage: true });
    const c = await open(srv.port);
    c.write(headersFrame(1, REQ, false));
    c.write(frame(FrameType.WINDOW_UPDATE, 0, 1, u32(0x7fffffff)));
    expect(await goawayCode(c)).toBe(ErrorCode.FLOW_CONTROL_ERROR);
    const d = await open(srv.port);
    d.write(frame(FrameType.WINDOW_UPDATE, 0, 0, u32(0x7fffffff)));
    expect(await goawayCode(d)).toBe(ErrorCode.FLOW_CONTROL_ERROR);
  });

  it("DATA beyond a stream's window is a connection error FLOW_CONTROL_ERROR, stream errors on or not (nghttp2, Envoy)", async () => {
    for (const streamErrorOnInvalidMessage of [false, true]) {
      const { srv, streams } = await holdServer({ initialStreamWindowSize: 1000, streamErrorOnInvalidMessage });
      const c = await open(srv.port);
      await c.waitFrame((f) => f.type === FrameType.SETTINGS && (f.flags & 1) === 1);
      c.write(headersFrame(1, REQ, false));
      c.write(frame(FrameType.DATA, 0, 1, Buffer.alloc(1001)));
      expect(await goawayCode(c)).toBe(ErrorCode.FLOW_CONTROL_ERROR);
      expect(streams[0]!.rec.reset?.why).toBe(ResetWhy.ConnectionClosed);
    }
  });

  it("a CONTINUATION sequence interrupted by another frame, or on another stream; a CONTINUATION without HEADERS", async () => {
    const { srv } = await holdServer();
    const block = hpackLiterals(REQ);
    const c = await open(srv.port);
    c.write(frame(FrameType.HEADERS, 0, 1, block.subarray(0, 5)));
    c.write(frame(FrameType.PING, 0, 0, Buffer.alloc(8)));
    expect(await goawayCode(c)).toBe(ErrorCode.PROTOCOL_ERROR);
    const c2 = await open(srv.port);
    c2.write(frame(FrameType.HEADERS, 0, 1, block.subarray(0, 5)));
    c2.write(frame(9, Flag.END_HEADERS, 3, block.subarray(5)));
    expect(await goawayCode(c2)).toBe(ErrorCode.PROTOCOL_ERROR);
    const c3 = await open(srv.port);
    c3.write(frame(9, Flag.END_HEADERS, 1, block));
    expect(await goawayCode(c3)).toBe(ErrorCode.PROTOCOL_ERROR);
  });

  it("a header block split over HEADERS + CONTINUATION, with padding and a priority, is one request", async () => {
    const { srv, streams } = await holdServer();
    const block = hpackLiterals([...REQ, ["x-split", "yes"]]);
    const c = await open(srv.port);
    const first = Buffer.concat([Buffer.from([3]), Buffer.from([0, 0, 0, 0, 16]), block.subarray(0, 10), Buffer.alloc(3)]);
    c.write(frame(FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY, 1, first));
    c.write(frame(9, 0, 1, block.subarray(10, 20)));
    c.write(frame(9, Flag.END_HEADERS, 1, block.subarray(20)));
    c.write(frame(FrameType.DATA, Flag.PADDED | Flag.END_STREAM, 1, Buffer.concat([Buffer.from([4]), Buffer.from("body"), Buffer.alloc(4)])));
    await waitFor(() => streams[0]?.rec.ended, 5_000, "the request");
    expect(streams[0]!.raw).toContain("x-split");
    expect(streams[0]!.rec.body.toString()).toBe("body");
  });

  it("PUSH_PROMISE from a client", async () => {
    const { srv } = await holdServer();
    const c = await open(srv.port);
    c.write(headersFrame(1, REQ, false));
    c.write(frame(FT.PUSH_PROMISE, Flag.END_HEADERS, 1, Buffer.concat([u32(2), hpackLiterals(REQ)])));
    expect(await goawayCode(c)).toBe(ErrorCode.PROTOCOL_ERROR);
  });

  it("a broken HPACK block (COMPRESSION_ERROR)", async () => {
    const { srv } = await holdServer();
    const c = await open(srv.port);
    // Indexed field 0 is never valid.
    c.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, Buffer.from([0x80])));
    expect(await goawayCode(c)).toBe(ErrorCode.COMPRESSION_ERROR);
  });

  it("SETTINGS with a bad value: INITIAL_WINDOW_SIZE over 2^31-1 (FLOW_CONTROL_ERROR), MAX_FRAME_SIZE under 16 384 (PROTOCOL_ERROR)", async () => {
    const { srv } = await holdServer();
    const setting = (id: number, v: number): Buffer => Buffer.concat([Buffer.from([0, id]), u32(v)]);
    const c = await open(srv.port);
    c.write(frame(FrameType.SETTINGS, 0, 0, setting(4, 0x80000000)));
    expect(await goawayCode(c)).toBe(ErrorCode.FLOW_CONTROL_ERROR);
    const c2 = await open(srv.port);
    c2.write(frame(FrameType.SETTINGS, 0, 0, setting(5, 100)));
    expect(await goawayCode(c2)).toBe(ErrorCode.PROTOCOL_ERROR);
  });
});

describe("malformed messages: never delivered; GOAWAY PROTOCOL_ERROR by default (Envoy's stream_error_on_invalid_http_message false), RST_STREAM and the connection serving on with stream errors on", () => {
  const cases: Array<[string, Array<[string, string]>, boolean]> = [
    ["an upper-case name", [...REQ, ["X-Up", "1"]], true],
    ["a pseudo-header after a regular one", [[":method", "GET"], [":scheme", "http"], ["x", "1"], [":path", "/"], [":authority", "a"]], true],
    ["an unknown pseudo-header", [...REQ, [":foo", "1"]], true],
    ["a repeated pseudo-header", [...REQ, [":path", "/again"]], true],
    ["a response pseudo-header in a request", [...REQ, [":status", "200"]], true],
    ["te other than trailers", [...REQ, ["te", "gzip"]], true],
    ["a value with a newline", [...REQ, ["x", "a\nb"]], true],
    ["a value with leading whitespace", [...REQ, ["x", " a"]], true],
    ["no :method", REQ.slice(1), true],
    ["an empty :path", [[":method", "GET"], [":scheme", "http"], [":authority", "a"], [":path", ""]], true],
    ["a relative :path", [[":method", "GET"], [":scheme", "http"], [":authority", "a"], [":path", "rel"]], true],
    ["CONNECT with :path", [[":method", "CONNECT"], [":authority", "a:1"], [":path", "/"]], true],
    ["END_STREAM with content-length 5", [...REQ, ["content-length", "5"]], true],
    ["a non-numeric content-length", [...REQ, ["content-length", "5x"]], false],
  ];
  for (const [what, headers, end] of cases) {
    it(what, async () => {
      const dflt = await holdServer();
      const d = await open(dflt.srv.port);
      d.write(headersFrame(1, headers, end));
      const g = await d.waitFrame((f) => f.type === FrameType.GOAWAY);
      expect(g.payload.readUInt32BE(4)).toBe(ErrorCode.PROTOCOL_ERROR);
      expect(g.payload.readUInt32BE(0)).toBe(1);
      await closed(d);
      expect(dflt.streams).toHaveLength(0);
      const { srv, streams } = await holdServer({ streamErrorOnInvalidMessage: true });
      const c = await open(srv.port);
      c.write(headersFrame(1, headers, end));
      expect(await rstCode(c, 1)).toBe(ErrorCode.PROTOCOL_ERROR);
      c.write(headersFrame(3, REQ, true));
      await waitFor(() => streams.length === 1, 5_000, "the next stream");
      expect(streams[0]!.s.id).toBe(3);
    });
  }

  it("DATA not matching content-length (more, or fewer at END_STREAM); trailers without END_STREAM or with a pseudo-header", async () => {
    const { srv, streams } = await holdServer({ streamErrorOnInvalidMessage: true });
    const c = await open(srv.port);
    c.write(headersFrame(1, [...REQ, ["content-length", "3"]], false));
    c.write(frame(FrameType.DATA, 0, 1, Buffer.from("four")));
    expect(await rstCode(c, 1)).toBe(ErrorCode.PROTOCOL_ERROR);
    c.write(headersFrame(3, [...REQ, ["content-length", "3"]], false));
    c.write(frame(FrameType.DATA, Flag.END_STREAM, 3, Buffer.from("tw")));
    expect(await rstCode(c, 3)).toBe(ErrorCode.PROTOCOL_ERROR);
    c.write(headersFrame(5, REQ, false));
    c.write(headersFrame(5, [["x-t", "1"]], false));
    expect(await rstCode(c, 5)).toBe(ErrorCode.PROTOCOL_ERROR);
    c.write(headersFrame(7, REQ, false));
    c.write(headersFrame(7, [[":path", "/x"]], true));
    expect(await rstCode(c, 7)).toBe(ErrorCode.PROTOCOL_ERROR);
    expect(streams.map((s) => s.rec.reset?.code)).toEqual([1, 1, 1, 1]);
    expect(streams.every((s) => s.rec.chunks.length === 0 || s.s.id === 3)).toBe(true);
  });

  it("a header list over maxHeaderListSize is delivered as an overflow (the owner resets it)", async () => {
    let overflowSeen = false;
    const srv = await startSessionServer((s, _raw, _end, overflow) => {
      overflowSeen = overflow;
      s.handler = new Recorder();
      s.reset(ErrorCode.INTERNAL_ERROR);
    }, { maxHeaderListSize: 1000 });
    cleanups.push(() => srv.close());
    const c = await open(srv.port);
    c.write(headersFrame(1, [...REQ, ["x-big", "b".repeat(2000)]], true));
    expect(await rstCode(c, 1)).toBe(ErrorCode.INTERNAL_ERROR);
    expect(overflowSeen).toBe(true);
  });
});

describe("stream limits", () => {
  it("streams over our MAX_CONCURRENT_STREAMS: REFUSED_STREAM before the client ACKed our SETTINGS, a connection error after", async () => {
    const { srv, streams } = await holdServer({ maxConcurrentStreams: 1 });
    const c = await open(srv.port, false);
    c.write(headersFrame(1, REQ, false));
    c.write(headersFrame(3, REQ, false));
    expect(await rstCode(c, 3)).toBe(ErrorCode.REFUSED_STREAM);
    expect(streams.length).toBe(1);
    const acked = await open(srv.port);
    await acked.waitFrame((f) => f.type === FrameType.SETTINGS && (f.flags & 1) === 1);
    acked.write(headersFrame(1, REQ, false));
    acked.write(headersFrame(3, REQ, false));
    expect(await goawayCode(acked)).toBe(ErrorCode.PROTOCOL_ERROR);
  });

  it("after our final GOAWAY, newer streams are ignored; older ones finish", async () => {
    const { srv, streams } = await holdServer();
    const c = await open(srv.port);
    c.write(headersFrame(1, REQ, true));
    await waitFor(() => streams.length === 1, 5_000, "stream 1");
    srv.sessions[0]!.goaway();
    const g = await c.waitFrame((f) => f.type === FrameType.GOAWAY);
    expect(g.payload.readUInt32BE(0)).toBe(1);
    c.write(headersFrame(3, REQ, true));
    streams[0]!.s.sendHeaders([":status", "200"], true);
    await c.waitFrame((f) => f.type === FrameType.HEADERS && f.streamId === 1);
    expect(streams.length).toBe(1);
  });
});

describe("flood protection (Envoy's defaults)", () => {
  it("consecutive empty DATA frames (max 1)", async () => {
    const { srv } = await holdServer();
    const c = await open(srv.port);
    c.write(headersFrame(1, REQ, false));
    c.write(frame(FrameType.DATA, 0, 1));
    c.write(frame(FrameType.DATA, 0, 1));
    expect(await goawayCode(c)).toBe(ErrorCode.ENHANCE_YOUR_CALM);
  });

  it("PRIORITY frames beyond 100 per stream", async () => {
    const { srv } = await holdServer();
    const c = await open(srv.port);
    const p = Buffer.concat(Array.from({ length: 120 }, () => frame(FT.PRIORITY, 0, 1, Buffer.from([0, 0, 0, 0, 16]))));
    c.write(p);
    expect(await goawayCode(c)).toBe(ErrorCode.ENHANCE_YOUR_CALM);
  });

  it("PINGs from a client that does not read: the connection closes once 1 000 ACKs are queued", async () => {
    const { srv } = await holdServer();
    const c = await open(srv.port);
    c.socket.pause();
    const ping = frame(FrameType.PING, 0, 0, Buffer.alloc(8));
    const batch = Buffer.concat(Array.from({ length: 10_000 }, () => ping));
    const socketClosed = new Promise<void>((r) => c.socket.on("close", () => r()));
    for (let i = 0; i < 60 && !c.socket.destroyed; i++) {
      if (!c.socket.write(batch)) await Promise.race([new Promise((r) => c.socket.once("drain", r)), socketClosed]);
    }
    await waitFor(() => srv.sessions[0]!.closed, 10_000, "the session to close");
  });

  it("rapid reset (CVE-2023-44487): streams reset by the client before any response close the connection", async () => {
    const { srv, streams } = await holdServer();
    const c = await open(srv.port);
    const parts: Buffer[] = [];
    for (let id = 1; id < 1200; id += 2) parts.push(headersFrame(id, REQ, false), frame(FrameType.RST_STREAM, 0, id, u32(ErrorCode.CANCEL)));
    c.write(Buffer.concat(parts));
    await waitFor(() => srv.sessions[0]!.closed, 5_000, "the session to close");
    expect(streams.length).toBeLessThan(600);
    expect(streams.length).toBeGreaterThanOrEqual(250);
  });
});

describe("delayed close (Envoy's delayed_close_timeout, 1 s)", () => {
  /**
   * A server whose one stream answers 32 MiB to a client that opened every window, sent one GET
   * and stopped reading; then the client commits a connection error (PRIORITY on stream 0) while
   * the server's output is backed up behind the unread socket.
   */
  async function stalledThenError(timers: Timers): Promise<{ srv: SessionServer; c: Socket }> {
    const srv = await startSessionServer(
      (st) => {
        st.handler = new Recorder();
        st.sendHeaders([":status", "200"], false);
        st.write(Buffer.alloc(32 * 1024 * 1024, 7), true);
      },
      { timers },
    );
    cleanups.push(() => srv.close());
    const c = connect(srv.port, "127.0.0.1");
    cleanups.push(() => void c.destroy());
    await new Promise<void>((r) => c.once("connect", r));
    c.pause();
    const settings = Buffer.alloc(6);
    settings.writeUInt16BE(0x4, 0);
    settings.writeUInt32BE(0x7fffffff, 2);
    const wu = Buffer.alloc(4);
    wu.writeUInt32BE(0x7fffffff - 65535, 0);
    c.write(Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0, settings), frame(FrameType.SETTINGS, 1, 0), frame(FrameType.WINDOW_UPDATE, 0, 0, wu), headersFrame(1, [[":method", "GET"], [":scheme", "http"], [":authority", "a"], [":path", "/"]], true)]));
    await waitFor(() => srv.sessions.length === 1 && srv.sessions[0]!.activeStreams === 1, 5_000, "the stream");
    c.write(frame(2, 0, 0, Buffer.alloc(5)));
    return { srv, c };
  }

  it("a peer that neither reads nor closes after a connection error is cut off once the timer fires, not before", async () => {
    const timers = new ManualTimers();
    const { srv } = await stalledThenError(timers);
    await waitFor(() => srv.events[0]!.closed || timers.waiting().includes(1_000), 5_000, "the connection error");
    expect(srv.events[0]!.closed).toBe(false);
    expect(timers.waiting()).toContain(1_000);
    timers.advance(999);
    expect(srv.events[0]!.closed).toBe(false);
    timers.advance(1);
    await within(srv.events[0]!.closedP, 5_000, "the socket destroyed");
    expect(timers.waiting()).not.toContain(1_000);
  });

  it("write progress after the connection error starts the delay again; a client that reads it all gets every frame and the close", async () => {
    const timers = new ManualTimers();
    let sets = 0;
    const counting: Timers = { set: (fn, ms) => (sets++, timers.set(fn, ms)), clear: (h) => timers.clear(h) };
    const { srv, c } = await stalledThenError(counting);
    await waitFor(() => sets === 1, 5_000, "the delayed close armed");
    timers.advance(900);
    // Now the client reads everything: the server's remaining writes complete (each restarting
    // the delay), then `finish` closes the socket — before the first timer's second would have.
    const received: Buffer[] = [];
    c.on("data", (d: Buffer) => received.push(d));
    c.resume();
    await within(srv.events[0]!.closedP, 5_000, "the socket closed after its last write");
    await new Promise<void>((r) => (c.closed ? r() : c.once("close", () => r())));
    expect(sets).toBeGreaterThan(1);
    expect(timers.waiting()).toEqual([]);
    // The GOAWAY (PROTOCOL_ERROR) is the last frame the client got.
    const all = Buffer.concat(received);
    const tail = all.subarray(all.length - 17);
    expect([tail.readUIntBE(0, 3), tail[3], tail.readUInt32BE(13)]).toEqual([8, FrameType.GOAWAY, 1]);
  });
});
