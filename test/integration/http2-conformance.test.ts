// HTTP/2 server conformance, h2spec's case list: hand-built frames against the proxy's listener
// (Outrigger's own session, Envoy's default: a malformed message ends the connection) and the same
// frames against a node:http2 server (nghttp2, the codec Envoy runs on) as the reference. Each case
// names what the server must answer: a connection error (GOAWAY with the code, then the close), a
// stream error (RST_STREAM with the code) or nothing (the frames are ignored; the PING after them
// is answered). Envoy differs from plain nghttp2 only by its options: a stream error nghttp2 reports
// (malformed message, stream flow control) ends Envoy's connection unless
// override_stream_error_on_invalid_http_message lets a malformed message reset its stream only.

import type { IncomingMessage, ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Snapshot } from "../../src/config/model/types.js";
import { httpConnectionManagerOf } from "../../src/config/model/listener-defaults.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";
import { hpackLiterals } from "../helpers/http2-raw-client.js";
import {
  data,
  describeOutcome,
  E,
  F,
  frame,
  headers,
  headersRaw,
  priority,
  probe,
  type ProbeOptions,
  requestFields,
  rst,
  settingsPayload,
  startReferenceServer,
  T,
  u32,
  windowUpdate,
} from "../helpers/h2-conformance.js";

/** The upstream: `/hold` never answers, `/big` answers 1 000 bytes, the rest "ok" once the request ended. */
function upstreamHandler(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === "/hold") {
    req.resume();
    return;
  }
  req.resume();
  req.on("end", () => {
    if (req.url === "/big") res.end(Buffer.alloc(1000, 0x61));
    else res.end("ok");
  });
}

let upstream: EchoUpstream;
/** Envoy's defaults. */
let proxy: TestProxy;
/** override_stream_error_on_invalid_http_message: true. */
let proxyOverride: TestProxy;
/** max_concurrent_streams 2. */
let proxyLimited: TestProxy;
let reference: Awaited<ReturnType<typeof startReferenceServer>>;
let referenceLimited: Awaited<ReturnType<typeof startReferenceServer>>;

async function proxyWith(h2: Record<string, unknown>, codecType?: "HTTP2"): Promise<TestProxy> {
  const snap: Snapshot = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c" } })] }], [cluster("c", [upstream.port])]);
  const hcm = httpConnectionManagerOf(snap.listeners[0]!.filterChains[0]!)!;
  hcm.http2ProtocolOptions = h2;
  if (codecType !== undefined) hcm.codecType = codecType;
  return startProxy(snap);
}

beforeAll(async () => {
  upstream = await startEchoUpstream("u", upstreamHandler);
  proxy = await proxyWith({}, "HTTP2");
  proxyOverride = await proxyWith({ streamErrorOnInvalidHttpMessage: true }, "HTTP2");
  proxyLimited = await proxyWith({ maxConcurrentStreams: 2 }, "HTTP2");
  reference = await startReferenceServer();
  referenceLimited = await startReferenceServer({ maxConcurrentStreams: 2 });
});

afterAll(async () => {
  await proxy?.close();
  await proxyOverride?.close();
  await proxyLimited?.close();
  await reference?.close();
  await referenceLimited?.close();
  await upstream?.close();
});

interface Case {
  name: string;
  bytes: Buffer[];
  opts?: ProbeOptions;
  /** Envoy's default (the proxy). */
  envoy: string;
  /** node:http2 (plain nghttp2); default: `envoy`. */
  node?: string;
  /** The proxy with override_stream_error_on_invalid_http_message; default: `node`. */
  override?: string;
  /** Use the max_concurrent_streams 2 servers. */
  limited?: boolean;
}

const GOAWAY = (code: keyof typeof E): string => `goaway ${code}`;
const RST = (id: number, code: keyof typeof E): string => `rst ${id} ${code}`;
const IGNORED = "ignored";

/** Runs every case against the three servers; returns the mismatches (one line each). */
async function runCases(cases: Case[]): Promise<string[]> {
  const bad: string[] = [];
  for (const c of cases) {
    const targets: Array<[string, number, string]> = [
      ["proxy", c.limited === true ? proxyLimited.port : proxy.port, c.envoy],
      ["node:http2", c.limited === true ? referenceLimited.port : reference.port, c.node ?? c.envoy],
    ];
    if (c.limited !== true) targets.push(["proxy(override)", proxyOverride.port, c.override ?? c.node ?? c.envoy]);
    for (const [who, port, want] of targets) {
      const r = await probe(port, c.bytes, c.opts);
      const got = describeOutcome(r.outcome);
      if (got !== want) bad.push(`${c.name} — ${who}: got ${got}, want ${want}`);
      else if (r.outcome.kind === "goaway" && !r.closed) bad.push(`${c.name} — ${who}: GOAWAY but the connection stayed open`);
    }
  }
  return bad;
}

const req = (id: number, path = "/", end = true, extra: Array<[string, string]> = []): Buffer => headers(id, requestFields(path, extra), end);
const hold = (id: number, end = false): Buffer => req(id, "/hold", end);
const responseEnd = (id: number) => (f: { type: number; flags: number; streamId: number }) => f.streamId === id && (f.flags & F.END_STREAM) !== 0 && (f.type === T.DATA || f.type === T.HEADERS);

describe("HTTP/2 server conformance (h2spec cases; node:http2 as the reference)", () => {
  it("3.5 connection preface: a wrong preface or a first frame other than SETTINGS is a connection error", async () => {
    const bad = await runCases([
      // node:http2 says INTERNAL_ERROR (its own choice over nghttp2's BAD_CLIENT_MAGIC).
      { name: "invalid preface", bytes: [Buffer.from("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"), frame(T.SETTINGS, 0, 0)], opts: { raw: true }, envoy: GOAWAY("PROTOCOL_ERROR"), node: GOAWAY("INTERNAL_ERROR"), override: GOAWAY("PROTOCOL_ERROR") },
      { name: "first frame PING", bytes: [Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), frame(T.PING, 0, 0, Buffer.alloc(8))], opts: { raw: true }, envoy: GOAWAY("PROTOCOL_ERROR") },
    ]);
    expect(bad).toEqual([]);
  });

  it("4.1/5.5 frame format: unknown types, unknown flags and the reserved bit are ignored", async () => {
    const reservedPing = frame(T.PING, 0, 0, Buffer.alloc(8));
    reservedPing[5] = 0x80;
    const bad = await runCases([
      { name: "unknown frame type", bytes: [frame(0x16, 0, 0, Buffer.from("hello"))], envoy: IGNORED },
      { name: "unknown frame type on a stream", bytes: [frame(0x20, 0xff, 1, Buffer.from("hello"))], envoy: IGNORED },
      { name: "PING with undefined flags", bytes: [frame(T.PING, 0x16 & ~F.ACK, 0, Buffer.alloc(8))], envoy: IGNORED },
      { name: "reserved bit set in the stream id", bytes: [reservedPing], envoy: IGNORED },
      { name: "unknown frame type inside a header block", bytes: [headersRaw(1, hpackLiterals(requestFields()), F.END_STREAM), frame(0x16, 0, 0, Buffer.from("x")), frame(T.CONTINUATION, F.END_HEADERS, 1)], envoy: GOAWAY("PROTOCOL_ERROR") },
    ]);
    expect(bad).toEqual([]);
  });

  it("4.2 frame size: a frame over SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR connection error", async () => {
    const bad = await runCases([
      { name: "DATA of 16 385 bytes", bytes: [hold(1), data(1, Buffer.alloc(16_385), false)], envoy: GOAWAY("FRAME_SIZE_ERROR") },
      { name: "HEADERS of 16 385 bytes", bytes: [headersRaw(1, Buffer.alloc(16_385), F.END_HEADERS)], envoy: GOAWAY("FRAME_SIZE_ERROR") },
      { name: "PING of 16 385 bytes", bytes: [frame(T.PING, 0, 0, Buffer.alloc(16_385))], envoy: GOAWAY("FRAME_SIZE_ERROR") },
    ]);
    expect(bad).toEqual([]);
  });

  it("4.3/HPACK: an undecodable header block is a COMPRESSION_ERROR connection error", async () => {
    const fields = hpackLiterals(requestFields());
    const bad = await runCases([
      { name: "indexed field 0", bytes: [headersRaw(1, Buffer.concat([fields, Buffer.from([0x80])]), F.END_HEADERS | F.END_STREAM)], envoy: GOAWAY("COMPRESSION_ERROR") },
      { name: "index past the (empty) dynamic table", bytes: [headersRaw(1, Buffer.concat([fields, Buffer.from([0xbe])]), F.END_HEADERS | F.END_STREAM)], envoy: GOAWAY("COMPRESSION_ERROR") },
      { name: "literal name index past the table", bytes: [headersRaw(1, Buffer.concat([fields, Buffer.from([0x7f, 0x10, 0x01, 0x61])]), F.END_HEADERS | F.END_STREAM)], envoy: GOAWAY("COMPRESSION_ERROR") },
      { name: "table size update 4097 (> SETTINGS_HEADER_TABLE_SIZE)", bytes: [headersRaw(1, Buffer.concat([Buffer.from([0x3f, 0xe2, 0x1f]), fields]), F.END_HEADERS | F.END_STREAM)], envoy: GOAWAY("COMPRESSION_ERROR") },
      { name: "table size update after a field", bytes: [headersRaw(1, Buffer.concat([fields, Buffer.from([0x20])]), F.END_HEADERS | F.END_STREAM)], envoy: GOAWAY("COMPRESSION_ERROR") },
      { name: "string longer than the block", bytes: [headersRaw(1, Buffer.concat([fields, Buffer.from([0x00, 0x05, 0x61])]), F.END_HEADERS | F.END_STREAM)], envoy: GOAWAY("COMPRESSION_ERROR") },
      { name: "Huffman string with EOS", bytes: [headersRaw(1, Buffer.concat([fields, Buffer.from([0x00, 0x81, 0x61, 0x84, 0xff, 0xff, 0xff, 0xff])]), F.END_HEADERS | F.END_STREAM)], envoy: GOAWAY("COMPRESSION_ERROR") },
      { name: "table size update 4096 then fields (allowed)", bytes: [headersRaw(1, Buffer.concat([Buffer.from([0x3f, 0xe1, 0x1f]), fields]), F.END_HEADERS | F.END_STREAM)], envoy: IGNORED },
    ]);
    expect(bad).toEqual([]);
  });

  it("5.1 stream states: frames on idle, half-closed (remote) and closed streams", async () => {
    const bad = await runCases([
      { name: "idle: DATA", bytes: [data(1, "x", false)], envoy: GOAWAY("PROTOCOL_ERROR") },
      { name: "idle: RST_STREAM", bytes: [rst(1, E.CANCEL)], envoy: GOAWAY("PROTOCOL_ERROR") },
      { name: "idle: WINDOW_UPDATE", bytes: [windowUpdate(1, 100)], envoy: GOAWAY("PROTOCOL_ERROR") },
      { name: "idle: CONTINUATION", bytes: [frame(T.CONTINUATION, F.END_HEADERS, 1, hpackLiterals(requestFields()))], envoy: GOAWAY("PROTOCOL_ERROR") },
      { name: "idle: PRIORITY (allowed)", bytes: [priority(1, 0)], envoy: IGNORED },
      { name: "half-closed (remote): DATA", bytes: [hold(1, true), data(1, "x", false)], envoy: GOAWAY("STREAM_CLOSED") },
      { name: "half-closed (remote): HEADERS", bytes: [hold(1, true), req(1)], envoy: GOAWAY("STREAM_CLOSED") },
      { name: "half-closed (remote): RST_STREAM (allowed)", bytes: [hold(1, true), rst(1, E.CANCEL)], envoy: IGNORED },
      { name: "half-closed (remote): WINDOW_UPDATE (allowed)", bytes: [hold(1, true), windowUpdate(1, 10)], envoy: IGNORED },
      { name: "closed: DATA after the exchange", bytes: [req(1)], opts: { waitFor: responseEnd(1), after: [data(1, "x", false)] }, envoy: IGNORED },
      { name: "closed: HEADERS after the exchange", bytes: [req(1)], opts: { waitFor: responseEnd(1), after: [req(1)] }, envoy: IGNORED },
      { name: "closed: after our RST_STREAM, DATA is ignored", bytes: [hold(1), rst(1, E.CANCEL), data(1, "x", false)], envoy: IGNORED },
      { name: "closed: after our RST_STREAM, PRIORITY is allowed", bytes: [hold(1), rst(1, E.CANCEL), priority(1, 0)], envoy: IGNORED },
    ]);
    expect(bad).toEqual([]);
  });

  it("5.1.1 stream ids: an even id or a lower id than an earlier stream's is a connection error", async () => {
    const bad = await runCases([
      { name: "even stream id", bytes: [req(2)], envoy: GOAWAY("PROTOCOL_ERROR") },
      // h2spec wants PROTOCOL_ERROR; nghttp2 cannot tell a lower id from a closed stream it forgot and
      // ignores the HEADERS (its HPACK state kept): Envoy does the same.
      { name: "decreasing stream id", bytes: [req(5), req(3)], envoy: IGNORED },
    ]);
    expect(bad).toEqual([]);
  });

  it("5.1.2 concurrency: a stream over SETTINGS_MAX_CONCURRENT_STREAMS (acknowledged) is a connection error", async () => {
    const bad = await runCases([{ name: "third stream with a limit of 2", bytes: [hold(1), hold(3), hold(5)], limited: true, envoy: GOAWAY("PROTOCOL_ERROR") }]);
    expect(bad).toEqual([]);
  });

  it("5.3.1 dependencies: a stream depending on itself is a connection error", async () => {
    const selfDep = Buffer.concat([u32(1), Buffer.from([15]), hpackLiterals(requestFields())]);
    const bad = await runCases([
      { name: "HEADERS depending on itself", bytes: [headersRaw(1, selfDep, F.END_HEADERS | F.END_STREAM | F.PRIORITY)], envoy: GOAWAY("PROTOCOL_ERROR") },
      // nghttp2 (RFC 9113: the RFC 7540 priority scheme is deprecated) ignores PRIORITY payloads.
      { name: "PRIORITY depending on itself (idle stream)", bytes: [priority(1, 1)], envoy: IGNORED },
      { name: "PRIORITY depending on itself (open stream)", bytes: [hold(1), priority(1, 1)], envoy: IGNORED },
    ]);
    expect(bad).toEqual([]);
  });

  it("6.1 DATA: on stream 0, with padding longer than the payload", async () => {
    const bad = await runCases([
      { name: "DATA on stream 0", bytes: [data(0, "x", false)], envoy: GOAWAY("PROTOCOL_ERROR") },
      { name: "padding length ≥ payload", bytes: [hold(1), frame(T.DATA, F.PADDED, 1, Buffer.from([5, 0x61, 0x61]))], envoy: GOAWAY("PROTOCOL_ERROR") },
      { name: "padded DATA (valid)", bytes: [hold(1), frame(T.DATA, F.PADDED, 1, Buffer.from([2, 0x61, 0, 0]))], envoy: IGNORED },
    ]);
    expect(bad).toEqual([]);
  });

  it("6.2 HEADERS: on stream 0, bad padding, other frames inside a header block", async () => {
    const block = hpackLiterals(requestFields());
    const bad = await runCases([
      { name: "HEADERS on stream 0", bytes: [headers(0, requestFields(), true)], envoy: GOAWAY("PROTOCOL_ERROR") },
      { name: "padding length ≥ payload", bytes: [headersRaw(1, Buffer.concat([Buffer.from([block.length + 1]), block]), F.END_HEADERS | F.END_STREAM | F.PADDED)], envoy: GOAWAY("PROTOCOL_ERROR") },
      { name: "PRIORITY inside a header block", bytes: [headersRaw(1, block, F.END_STREAM), priority(1, 0), frame(T.CONTINUATION, F.END_HEADERS, 1)], envoy: GOAWAY("PROTOCOL_ERROR") },
      { name: "HEADERS of another stream inside a header block", bytes: [headersRaw(1, block, F.END_STREAM), req(3)], envoy: GOAWAY("PROTOCOL_ERROR") },
      { name: "DATA inside a header block", bytes: [headersRaw(1, block, 0), data(1, "x", false)], envoy: GOAWAY("PROTOCOL_ERROR") },
    ]);
    expect(bad).toEqual([]);
  });

  it("6.3 PRIORITY: on stream 0, length other than 5", async () => {
    const bad = await runCases([
      // RFC 9113 §6.3 (MUST); current nghttp2 ignores it.
      { name: "PRIORITY on stream 0", bytes: [priority(0, 1)], envoy: GOAWAY("PROTOCOL_ERROR"), node: IGNORED, override: GOAWAY("PROTOCOL_ERROR") },
      // RFC 9113 says a stream error; nghttp2 ends the connection.
      { name: "PRIORITY of 4 bytes", bytes: [hold(1), frame(T.PRIORITY, 0, 1, Buffer.alloc(4))], envoy: GOAWAY("FRAME_SIZE_ERROR") },
      { name: "PRIORITY of 4 bytes on an idle stream", bytes: [frame(T.PRIORITY, 0, 1, Buffer.alloc(4))], envoy: GOAWAY("FRAME_SIZE_ERROR") },
    ]);
    expect(bad).toEqual([]);
  });

  it("6.4 RST_STREAM: on stream 0, length other than 4", async () => {
    const bad = await runCases([
      { name: "RST_STREAM on stream 0", bytes: [rst(0, E.CANCEL)], envoy: GOAWAY("PROTOCOL_ERROR") },
      { name: "RST_STREAM of 3 bytes", bytes: [hold(1), frame(T.RST_STREAM, 0, 1, Buffer.alloc(3))], envoy: GOAWAY("FRAME_SIZE_ERROR") },
    ]);
    expect(bad).toEqual([]);
  });

  it("6.5 SETTINGS: ACK with a payload, a stream id, bad lengths and values; unknown ids ignored", async () => {
    const bad = await runCases([
      { name: "ACK with a payload", bytes: [frame(T.SETTINGS, F.ACK, 0, Buffer.alloc(6))], envoy: GOAWAY("FRAME_SIZE_ERROR") },
      { name: "on stream 1", bytes: [frame(T.SETTINGS, 0, 1)], envoy: GOAWAY("PROTOCOL_ERROR") },
      { name: "length 3", bytes: [frame(T.SETTINGS, 0, 0, Buffer.alloc(3))], envoy: GOAWAY("FRAME_SIZE_ERROR") },
      { name: "ENABLE_PUSH 2", bytes: [frame(T.SETTINGS, 0, 0, settingsPayload([[2, 2]]))], envoy: GOAWAY("PROTOCOL_ERROR") },
      { name: "INITIAL_WINDOW_SIZE 2^31", bytes: [frame(T.SETTINGS, 0, 0, settingsPayload([[4, 2 ** 31]]))], envoy: GOAWAY("FLOW_CONTROL_ERROR") },
      { name: "MAX_FRAME_SIZE 16 383", bytes: [frame(T.SETTINGS, 0, 0, settingsPayload([[5, 16_383]]))], envoy: GOAWAY("PROTOCOL_ERROR") },
      { name: "MAX_FRAME_SIZE 2^24", bytes: [frame(T.SETTINGS, 0, 0, settingsPayload([[5, 2 ** 24]]))], envoy: GOAWAY("PROTOCOL_ERROR") },
      { name: "unknown setting id", bytes: [frame(T.SETTINGS, 0, 0, settingsPayload([[0xff, 1]]))], envoy: IGNORED },
      { name: "INITIAL_WINDOW_SIZE raising an open stream's window past 2^31-1", bytes: [hold(1), windowUpdate(1, 2 ** 31 - 1 - 65_535), frame(T.SETTINGS, 0, 0, settingsPayload([[4, 65_536]]))], envoy: GOAWAY("FLOW_CONTROL_ERROR") },
    ]);
    expect(bad).toEqual([]);
  });

  it("6.5 SETTINGS are acknowledged", async () => {
    for (const port of [proxy.port, reference.port]) {
      const r = await probe(port, [frame(T.SETTINGS, 0, 0, settingsPayload([[1, 100], [3, 10]]))]);
      expect(describeOutcome(r.outcome)).toBe(IGNORED);
      // Two ACKs: the one for the probe's first SETTINGS and the one for this frame.
      expect(r.frames.filter((f) => f.type === T.SETTINGS && f.flags === F.ACK && f.payload.length === 0)).toHaveLength(2);
    }
  });

  it("6.5.2/6.9.2 INITIAL_WINDOW_SIZE changes apply to open streams, also below zero", async () => {
    const bodyOf = (fs: Array<{ type: number; streamId: number; payload: Buffer }>): number => fs.filter((f) => f.type === T.DATA && f.streamId === 1).reduce((n, f) => n + f.payload.length, 0);
    for (const [who, port] of [["proxy", proxy.port], ["node:http2", reference.port]] as const) {
      // Stream window 100: the 1 000-byte response stops at 100 bytes.
      const r = await probe(port, [req(1, "/big")], {
        settings: settingsPayload([[4, 100]]),
        waitFor: (f) => f.type === T.DATA && f.streamId === 1,
        // -50 after the lowered setting; +60 lets exactly 10 more bytes go.
        after: [frame(T.SETTINGS, 0, 0, settingsPayload([[4, 50]])), windowUpdate(1, 60)],
        settle: (fs) => bodyOf(fs) >= 110,
      });
      const body = (): number => bodyOf(r.frames);
      expect(describeOutcome(r.outcome), who).toBe(IGNORED);
      // 100 - 50 + 60: exactly 110 bytes, not one more by the time our PING is answered.
      expect(body(), who).toBe(110);
    }
  });

  it("6.7 PING: answered with ACK and the same payload; on a stream, wrong length; an ACK is not answered", async () => {
    const bad = await runCases([
      { name: "PING on stream 1", bytes: [frame(T.PING, 0, 1, Buffer.alloc(8))], envoy: GOAWAY("PROTOCOL_ERROR") },
      { name: "PING of 6 bytes", bytes: [frame(T.PING, 0, 0, Buffer.alloc(6))], envoy: GOAWAY("FRAME_SIZE_ERROR") },
      { name: "PING ACK of 6 bytes", bytes: [frame(T.PING, F.ACK, 0, Buffer.alloc(6))], envoy: GOAWAY("FRAME_SIZE_ERROR") },
    ]);
    expect(bad).toEqual([]);
    // (node:http2 itself ends the session on an unsolicited PING ACK: the proxy only.)
    for (const port of [proxy.port]) {
      const r = await probe(port, [frame(T.PING, F.ACK, 0, Buffer.from("notreply"))]);
      expect(describeOutcome(r.outcome)).toBe(IGNORED);
      expect(r.frames.filter((f) => f.type === T.PING && f.payload.toString() === "notreply")).toEqual([]);
    }
  });

  it("6.8 GOAWAY: on a stream is a connection error", async () => {
    const bad = await runCases([{ name: "GOAWAY on stream 1", bytes: [frame(T.GOAWAY, 0, 1, u32(0, 0))], envoy: GOAWAY("PROTOCOL_ERROR") }]);
    expect(bad).toEqual([]);
  });

  it("6.9 WINDOW_UPDATE: zero increments, overflow at both levels, wrong length", async () => {
    const bad = await runCases([
      { name: "increment 0 on stream 0", bytes: [windowUpdate(0, 0)], envoy: GOAWAY("PROTOCOL_ERROR") },
      // nghttp2 ends the connection (so does Envoy, override or not: only malformed messages are stream errors there).
      { name: "increment 0 on an open stream", bytes: [hold(1), windowUpdate(1, 0)], envoy: GOAWAY("PROTOCOL_ERROR") },
      { name: "connection window past 2^31-1", bytes: [windowUpdate(0, 2 ** 31 - 1)], envoy: GOAWAY("FLOW_CONTROL_ERROR") },
      // h2spec 6.9.1/2: several updates before any stream (Envoy's flood limit allows 5 + 2 × (streams + 10 × DATA frames sent)).
      { name: "connection window past 2^31-1 in two updates", bytes: [windowUpdate(0, 2 ** 31 - 1 - 65_535), windowUpdate(0, 1)], envoy: GOAWAY("FLOW_CONTROL_ERROR") },
      { name: "five connection WINDOW_UPDATEs before any stream", bytes: [1, 2, 3, 4, 5].map((n) => windowUpdate(0, n)), envoy: IGNORED },
      // The sixth is Envoy's WINDOW_UPDATE flood (node:http2 has no such limit).
      { name: "six connection WINDOW_UPDATEs before any stream", bytes: [1, 2, 3, 4, 5, 6].map((n) => windowUpdate(0, n)), envoy: GOAWAY("ENHANCE_YOUR_CALM"), node: IGNORED, override: GOAWAY("ENHANCE_YOUR_CALM") },
      { name: "stream window past 2^31-1", bytes: [hold(1), windowUpdate(1, 2 ** 31 - 1)], envoy: GOAWAY("FLOW_CONTROL_ERROR") },
      { name: "length 3", bytes: [frame(T.WINDOW_UPDATE, 0, 0, Buffer.alloc(3))], envoy: GOAWAY("FRAME_SIZE_ERROR") },
    ]);
    expect(bad).toEqual([]);
  });

  it("6.10 CONTINUATION: without HEADERS, after END_HEADERS, on another stream", async () => {
    const block = hpackLiterals(requestFields("/hold"));
    const bad = await runCases([
      { name: "CONTINUATION after END_HEADERS", bytes: [hold(1), frame(T.CONTINUATION, F.END_HEADERS, 1, Buffer.from([0x88]))], envoy: GOAWAY("PROTOCOL_ERROR") },
      { name: "CONTINUATION on another stream", bytes: [headersRaw(1, block, 0), frame(T.CONTINUATION, F.END_HEADERS, 3, Buffer.alloc(0))], envoy: GOAWAY("PROTOCOL_ERROR") },
      { name: "CONTINUATION on stream 0", bytes: [headersRaw(1, block, 0), frame(T.CONTINUATION, F.END_HEADERS, 0, Buffer.alloc(0))], envoy: GOAWAY("PROTOCOL_ERROR") },
      { name: "header block split across CONTINUATIONs (valid)", bytes: [headersRaw(1, block.subarray(0, 5), 0), frame(T.CONTINUATION, 0, 1, block.subarray(5, 20)), frame(T.CONTINUATION, F.END_HEADERS, 1, block.subarray(20))], envoy: IGNORED },
    ]);
    expect(bad).toEqual([]);
  });

  it("8.1 HTTP semantics: malformed requests end the connection (Envoy's default) or reset the stream (nghttp2, the override)", async () => {
    const malformed = (name: string, fields: Array<[string, string]>, end = true): Case => ({ name, bytes: [headers(1, fields, end)], envoy: GOAWAY("PROTOCOL_ERROR"), node: RST(1, "PROTOCOL_ERROR") });
    const base = requestFields();
    const bad = await runCases([
      malformed("upper-case field name", [...base, ["X-Upper", "v"]]),
      malformed("pseudo-header after a regular field", [[":method", "GET"], [":scheme", "http"], ["x-a", "b"], [":path", "/"], [":authority", "a"]]),
      malformed("unknown pseudo-header", [[":foo", "bar"], ...base]),
      malformed(":status in a request", [[":status", "200"], ...base]),
      malformed("no :method", base.filter(([n]) => n !== ":method")),
      malformed("no :scheme", base.filter(([n]) => n !== ":scheme")),
      malformed("no :path", base.filter(([n]) => n !== ":path")),
      malformed("empty :path", [[":method", "GET"], [":scheme", "http"], [":authority", "a"], [":path", ""]]),
      malformed("duplicate :method", [[":method", "GET"], ...base]),
      malformed("duplicate :path", [[":path", "/x"], ...base]),
      malformed("connection header", [...base, ["connection", "keep-alive"]]),
      malformed("keep-alive header", [...base, ["keep-alive", "5"]]),
      malformed("transfer-encoding header", [...base, ["transfer-encoding", "chunked"]]),
      malformed("te other than trailers", [...base, ["te", "gzip"]]),
      // nghttp2 drops a regular field with a bad value (and lets the request through); RFC 9113 §8.2.1 calls it malformed.
      { ...malformed("field value with a NUL", [...base, ["x-a", "a\0b"]]), node: IGNORED, override: RST(1, "PROTOCOL_ERROR") },
      malformed("content-length on a request that ends in HEADERS", [...base, ["content-length", "5"]]),
      { name: "content-length 5, 3 bytes of DATA", bytes: [headers(1, [...requestFields("/hold"), ["content-length", "5"]], false), data(1, "abc", true)], envoy: GOAWAY("PROTOCOL_ERROR"), node: RST(1, "PROTOCOL_ERROR") },
      // node:http2 answers this one with GOAWAY INTERNAL_ERROR (its own handling of the stream error).
      { name: "content-length 2, 3 bytes of DATA", bytes: [headers(1, [...requestFields("/hold"), ["content-length", "2"]], false), data(1, "abc", false)], envoy: GOAWAY("PROTOCOL_ERROR"), node: GOAWAY("INTERNAL_ERROR"), override: RST(1, "PROTOCOL_ERROR") },
      { name: "trailers with a pseudo-header", bytes: [hold(1), headers(1, [[":path", "/"]], true)], envoy: GOAWAY("PROTOCOL_ERROR"), node: RST(1, "PROTOCOL_ERROR") },
      { name: "trailers without END_STREAM", bytes: [hold(1), data(1, "x", false), headers(1, [["x-t", "1"]], false)], envoy: GOAWAY("PROTOCOL_ERROR"), node: RST(1, "PROTOCOL_ERROR") },
      { name: "valid trailers", bytes: [hold(1), data(1, "x", false), headers(1, [["x-t", "1"]], true)], envoy: IGNORED },
      { name: "te: trailers (allowed)", bytes: [headers(1, [...requestFields("/hold"), ["te", "trailers"]], true)], envoy: IGNORED },
    ]);
    expect(bad).toEqual([]);
  });
});
