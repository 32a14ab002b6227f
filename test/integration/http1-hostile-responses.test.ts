// Hostile-input corpus, response side: a raw upstream answers the first request with the case's
// bytes; the client must get exactly the expected reply (a doubtful response is a 502 UPE), and the
// upstream connection must be reused only when the response left it in a known state. Each case
// runs on an outbound and an inbound listener.

import { describe, expect, it } from "vitest";
import type { TrafficDirection } from "../../src/config/model/types.js";
import { exchange, startHostileBed, upstreamSettled, type UpstreamAnswer } from "../helpers/hostile-harness.js";
import { waitFor } from "../helpers/wait.js";

const UPE_BODY = "upstream connect error or disconnect/reset before headers. reset reason: protocol error";

interface ResponseCase {
  name: string;
  /** What the upstream answers to the first request. */
  answer: UpstreamAnswer;
  /** The client's request (default a keep-alive GET /). */
  request?: string;
  /** Status the client receives. */
  status: number;
  /** The body bytes exactly as the client receives them (chunk framing included). */
  body?: string;
  /** Response headers that must have these values (undefined = absent). */
  headers?: Record<string, string | undefined>;
  /** The upstream connection serves the next request. */
  reused: boolean;
  head?: boolean;
  note?: string;
}

const GET = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
const HEAD = "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n";
const UPGRADE = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
const bad = (name: string, answer: string, note?: string): ResponseCase => ({ name, answer, status: 502, body: UPE_BODY, reused: false, ...(note ? { note } : {}) });
const ok = (body: string, headers: string[] = [`Content-Length: ${body.length}`], status = "200 OK"): string => `HTTP/1.1 ${status}\r\n${headers.map((h) => h + "\r\n").join("")}\r\n${body}`;

const RESPONSE_CORPUS: ResponseCase[] = [
  { name: "a plain response", answer: ok("ok"), status: 200, body: "ok", reused: true },
  // status line
  bad("CR inside the reason phrase", "HTTP/1.1 200 O\rK\r\nContent-Length: 2\r\n\r\nok"),
  bad("four-digit status", "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok"),
  bad("two-digit status", "HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok"),
  bad("status below 100", "HTTP/1.1 099 Low\r\nContent-Length: 2\r\n\r\nok"),
  bad("HTTP/2 status line", "HTTP/2 200 OK\r\nContent-Length: 2\r\n\r\nok"),
  bad("lower-case version", "http/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
  bad("not HTTP at all", "SSH-2.0-OpenSSH\r\n\r\n"),
  { name: "no reason phrase", answer: "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", status: 200, body: "ok", reused: true },
  // header syntax
  bad("obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 2\r\n\r\nok", "llhttp (lenient) unfolds"),
  bad("space before a colon", "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok"),
  bad("NUL in a header value", "HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 2\r\n\r\nok"),
  bad("lone CR in a header value", "HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 2\r\n\r\nok"),
  bad("bare LF line endings", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", "llhttp and nginx accept bare LF from upstreams"),
  bad("a line without a colon", "HTTP/1.1 200 OK\r\nnocolon\r\nContent-Length: 2\r\n\r\nok"),
  // Content-Length
  bad("two equal Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", "Envoy (http-parser), llhttp and nginx reject"),
  bad("list-valued Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok"),
  bad("conflicting Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!"),
  bad("NBSP before the length", "HTTP/1.1 200 OK\r\nContent-Length: \xa02\r\n\r\nok"),
  bad("negative length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok"),
  bad("twenty-digit length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nok"),
  { name: "leading zeros re-encoded", answer: ok("ok", ["Content-Length: 002"]), status: 200, body: "ok", headers: { "content-length": "2" }, reused: true },
  { name: "Connection naming Content-Length keeps the boundary", answer: ok("ok", ["Connection: Content-Length", "Content-Length: 2"]), status: 200, body: "ok", headers: { "content-length": "2", connection: undefined }, reused: true },
  // Transfer-Encoding
  bad("CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", "Envoy 502 (allow_chunked_length false); llhttp uses TE"),
  bad("TE gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nok", "RFC 9112 reads to close; Envoy's codec rejects (502)"),
  bad("TE chunked with NBSP", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\xa0\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
  bad("TE chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
  bad("TE from an HTTP/1.0 server", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", "RFC 9112 §6.1"),
  { name: "chunked re-encoded without extensions", answer: ok("2;x=y\r\nok\r\n0\r\n\r\n", ["Transfer-Encoding: chunked"]), status: 200, body: "2\r\nok\r\n0\r\n\r\n", reused: true },
  { name: "chunked trailers dropped", answer: ok("2\r\nok\r\n0\r\nX-T: 1\r\n\r\n", ["Transfer-Encoding: chunked"]), status: 200, body: "2\r\nok\r\n0\r\n\r\n", reused: true },
  { name: "chunk sizes with leading zeros re-encoded", answer: ok("0002\r\nok\r\n00\r\n\r\n", ["Transfer-Encoding: CHUNKED"]), status: 200, body: "2\r\nok\r\n0\r\n\r\n", headers: { "transfer-encoding": "chunked" }, reused: true },
  bad("broken chunk size before anything went out", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n"),
  bad("lone CR in a chunk extension", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;a\rb\r\nok\r\n0\r\n\r\n"),
  // In one read with its head, so nothing went downstream yet: still a clean 502 (once the head is
  // out, the downstream is reset instead, flag UPE).
  bad("a trailer without a colon", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nnocolon\r\n\r\n"),
  bad("a request line in the trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nGET / HTTP/1.1\r\n\r\n"),
  bad("missing CRLF after chunk data", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX0\r\n\r\n"),
  bad("chunk size overflowing 64 bits", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\nok\r\n0\r\n\r\n"),
  // 1xx, 101, 204, 304, HEAD
  { name: "interim 100 and 103 dropped", answer: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + ok("ok"), status: 200, body: "ok", reused: true },
  bad("unsolicited 101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nraw bytes"),
  { name: "101 to an upgrade request", request: UPGRADE, answer: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", status: 101, headers: { upgrade: "websocket", connection: "Upgrade" }, reused: false },
  { name: "101 from an HTTP/1.0 server", request: UPGRADE, answer: "HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", status: 502, body: UPE_BODY, reused: false },
  bad("204 with a Content-Length and a body", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello", "Envoy strict_1xx_and_204_response_headers"),
  bad("204 with Transfer-Encoding", "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
  { name: "204 with Content-Length: 0 loses the header", answer: "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", status: 204, headers: { "content-length": undefined }, reused: true },
  { name: "204 followed by stray bytes: the connection is not reused", answer: "HTTP/1.1 204 No Content\r\n\r\nhello", status: 204, reused: false },
  { name: "304 with a Content-Length and no body", answer: "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", status: 304, headers: { "content-length": "5" }, reused: true },
  { name: "HEAD response with a Content-Length", request: HEAD, head: true, answer: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", status: 200, headers: { "content-length": "5" }, reused: true },
  { name: "HEAD response followed by a body: not reused", request: HEAD, head: true, answer: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", status: 200, reused: false },
  // bytes after the response
  { name: "bytes after a complete response: not reused", answer: ok("ok") + "GARBAGE", status: 200, body: "ok", reused: false },
  { name: "a second response to one request never reaches anyone", answer: ok("ok") + ok("evil"), status: 200, body: "ok", reused: false },
  { name: "Connection: close from the upstream", answer: ok("ok", ["Connection: close", "Content-Length: 2"]), status: 200, body: "ok", reused: false },
  // Envoy frames the downstream response itself: a body the upstream ends by closing goes to an
  // HTTP/1.1 client as canonical chunks, and the client's connection stays open.
  { name: "close-delimited body", answer: { data: ok("all of it", []), end: true }, status: 200, body: "9\r\nall of it\r\n0\r\n\r\n", headers: { "transfer-encoding": "chunked" }, reused: false },
];

describe.each<TrafficDirection>(["OUTBOUND", "INBOUND"])("hostile responses on an %s listener", (direction) => {
  it.each(RESPONSE_CORPUS.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    let first = true;
    const bed = await startHostileBed(direction, () => {
      if (!first) return "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext";
      first = false;
      return c.answer;
    });
    try {
      const r = await exchange(bed.proxy.port, c.request ?? GET, 1, c.head);
      const res = r.responses[0]!;
      expect(res.status).toBe(c.status);
      if (c.body !== undefined) expect(res.rawBody).toBe(c.body);
      for (const [k, v] of Object.entries(c.headers ?? {})) expect(res.headers[k]).toBe(v);
      if (c.status === 502) {
        await waitFor(() => bed.proxy.streams.length === 1, 5_000, "the stream record");
        expect(bed.proxy.streams[0]!.responseFlags).toEqual(["UPE"]);
      }
      // Nothing else reaches the client: no second response, no raw bytes past a 101.
      expect(r.responses.length).toBe(1);
      expect(r.rest).toBe("");
      // The next request: on the same upstream connection only if the first left it in sync.
      const next = await exchange(bed.proxy.port, GET, 1);
      expect(next.responses.map((x) => [x.status, x.rawBody])).toEqual([[200, "next"]]);
      await upstreamSettled(bed.upstream);
      expect(bed.upstream.connections.length).toBe(c.reused ? 1 : 2);
      expect(bed.upstream.requests().length).toBe(2);
    } finally {
      await bed.close();
    }
  });
});

describe("the response corpus", () => {
  it("has distinct case names", () => {
    expect(new Set(RESPONSE_CORPUS.map((c) => c.name)).size).toBe(RESPONSE_CORPUS.length);
    expect(RESPONSE_CORPUS.length).toBeGreaterThanOrEqual(45);
  });
});
