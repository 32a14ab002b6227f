// H2Session in the server role against node:http2 clients (nghttp2): many concurrent streams,
// large bodies both ways through small windows (checksums), trailers, resets both ways, GOAWAY
// both ways, SETTINGS changed mid-connection, header blocks split into CONTINUATION frames,
// read-disable holding the window.

import { createHash } from "node:crypto";
import * as http2 from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode } from "../../../../../src/http/codec/h2/frames.js";
import { ResetWhy, type H2Stream } from "../../../../../src/http/codec/h2/session.js";
import { waitFor, within } from "../../../../helpers/wait.js";
import { Recorder, pattern, startSessionServer, type SessionServer } from "./session-harness.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(onStream: (s: H2Stream, raw: string[], endStream: boolean, overflow: boolean) => void, opts = {}): Promise<SessionServer> {
  const srv = await startSessionServer(onStream, opts);
  cleanups.push(() => srv.close());
  return srv;
}

function client(port: number, opts: http2.ClientSessionOptions = {}): http2.ClientHttp2Session {
  const c = http2.connect(`http://127.0.0.1:${port}`, opts);
  c.on("error", () => {});
  cleanups.push(() => {
    c.destroy();
  });
  return c;
}

interface Reply {
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders | undefined;
}

function request(c: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer, opts: http2.ClientSessionRequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = c.request(headers, { endStream: body === undefined, ...opts });
    const chunks: Buffer[] = [];
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    req.on("response", (h) => (head = h));
    req.on("trailers", (t) => (trailers = t));
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on("end", () => resolve({ headers: head, body: Buffer.concat(chunks), trailers }));
    req.on("error", reject);
    if (body !== undefined) req.end(body);
  });
}

function get(raw: string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i] === name) return raw[i + 1];
  return undefined;
}

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

/** Serves each stream: echoes the request body with `x-path` = :path; trailers when the request had some. */
function echoServer(s: H2Stream, raw: string[], endStream: boolean): void {
  const rec = new Recorder();
  s.handler = rec;
  const respond = (): void => {
    const body = rec.body;
    s.sendHeaders([":status", "200", "x-path", get(raw, ":path") ?? "", "x-len", String(body.length)], false);
    if (rec.trailers !== null) {
      s.write(body, false);
      s.sendTrailers(["x-got-trailer", get(rec.trailers, "x-t") ?? ""]);
    } else s.write(body, true);
  };
  if (endStream) respond();
  else rec.onEvent = (_r, what) => what === "end" && respond();
}

describe("H2Session server role ← node:http2 client", () => {
  it("serves 200 concurrent streams on one connection, each its own answer", async () => {
    const srv = await server(echoServer);
    const c = client(srv.port);
    const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => request(c, { ":path": `/s/${i}`, ":method": "POST" }, Buffer.from(`body-${i}`))));
    for (let i = 0; i < 200; i++) {
      expect(replies[i]!.headers[":status"]).toBe(200);
      expect(replies[i]!.headers["x-path"]).toBe(`/s/${i}`);
      expect(replies[i]!.body.toString()).toBe(`body-${i}`);
    }
    expect(srv.sessions[0]!.activeStreams).toBe(0);
  });

  it("4 MiB up and back through 65 535-byte windows both ways (checksums equal)", async () => {
    const srv = await server(echoServer, { initialStreamWindowSize: 65_535, initialConnectionWindowSize: 65_535 });
    const c = client(srv.port, { settings: { initialWindowSize: 65_535 } });
    const up = pattern(4 * 1024 * 1024, 7);
    const [a, b] = await Promise.all([request(c, { ":path": "/a", ":method": "POST" }, up), request(c, { ":path": "/b", ":method": "POST" }, up.subarray(1000))]);
    expect(a.body.length).toBe(up.length);
    expect(sha(a.body)).toBe(sha(up));
    expect(sha(b.body)).toBe(sha(up.subarray(1000)));
  });

  it("request trailers reach the handler after the body; response trailers reach the client", async () => {
    const srv = await server(echoServer);
    const c = client(srv.port);
    const r = await new Promise<Reply>((resolve, reject) => {
      const req = c.request({ ":path": "/t", ":method": "POST" }, { waitForTrailers: true });
      req.on("wantTrailers", () => req.sendTrailers({ "x-t": "tv" }));
      const chunks: Buffer[] = [];
      let head: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders | undefined;
      req.on("response", (h) => (head = h));
      req.on("trailers", (t) => (trailers = t));
      req.on("data", (d: Buffer) => chunks.push(d));
      req.on("end", () => resolve({ headers: head, body: Buffer.concat(chunks), trailers }));
      req.on("error", reject);
      req.end(Buffer.from("payload"));
    });
    expect(r.body.toString()).toBe("payload");
    expect(r.trailers?.["x-got-trailer"]).toBe("tv");
  });

  it("a client RST_STREAM reaches the handler (Remote, CANCEL); the server's reset reaches the client with its code", async () => {
    const seen: Recorder[] = [];
    const srv = await server((s, raw) => {
      const rec = new Recorder();
      s.handler = rec;
      seen.push(rec);
      if (get(raw, ":path") === "/server-resets") s.reset(ErrorCode.INTERNAL_ERROR);
    });
    const c = client(srv.port);
    const req = c.request({ ":path": "/client-resets", ":method": "POST" });
    await waitFor(() => seen.length === 1, 5_000, "the stream");
    req.close(http2.constants.NGHTTP2_CANCEL);
    await within(seen[0]!.done, 5_000, "the stream to close");
    expect(seen[0]!.reset).toEqual({ code: ErrorCode.CANCEL, why: ResetWhy.Remote });
    const err = await request(c, { ":path": "/server-resets" }).then(
      () => undefined,
      (e: unknown) => e as { code?: string; message?: string },
    );
    expect(err?.code).toBe("ERR_HTTP2_STREAM_ERROR");
    expect(err?.message).toContain("NGHTTP2_INTERNAL_ERROR");
    expect(srv.sessions[0]!.activeStreams).toBe(0);
  });

  it("GOAWAY both ways: the shutdown notice lets streams through, the final one names the last stream, close() ends the connection; a client GOAWAY reaches onGoaway", async () => {
    const held: H2Stream[] = [];
    const srv = await server((s) => {
      s.handler = new Recorder();
      held.push(s);
    });
    const c = client(srv.port);
    const goaways: Array<{ code: number; last: number }> = [];
    c.on("goaway", (code, last) => goaways.push({ code, last }));
    const p1 = request(c, { ":path": "/1" });
    await waitFor(() => held.length === 1, 5_000, "stream 1");
    const session = srv.sessions[0]!;
    session.shutdownNotice();
    await waitFor(() => goaways.length === 1, 5_000, "the notice");
    expect(goaways[0]).toEqual({ code: 0, last: 2 ** 31 - 1 });
    session.close();
    await waitFor(() => goaways.length === 2, 5_000, "the final GOAWAY");
    expect(goaways[1]).toEqual({ code: 0, last: 1 });
    held[0]!.sendHeaders([":status", "204"], true);
    expect((await p1).headers[":status"]).toBe(204);
    await within(srv.events[0]!.closedP, 5_000, "the session to close");

    const c2 = client(srv.port);
    const p2 = request(c2, { ":path": "/x" });
    await waitFor(() => held.length === 2, 5_000, "stream on the 2nd connection");
    held[1]!.sendHeaders([":status", "200"], true);
    expect((await p2).headers[":status"]).toBe(200);
    c2.goaway(http2.constants.NGHTTP2_NO_ERROR, 0);
    await waitFor(() => srv.events[1]!.goaways.length === 1, 5_000, "the client's GOAWAY");
    expect(srv.events[1]!.goaways[0]).toEqual({ last: 0, code: 0 });
  });

  it("a larger INITIAL_WINDOW_SIZE mid-connection releases DATA that waited on the window", async () => {
    const body = pattern(200_000, 3);
    const srv = await server((s) => {
      s.handler = new Recorder();
      s.sendHeaders([":status", "200"], false);
      s.write(body, true);
    });
    // The client's window holds 1000 bytes; only a SETTINGS change lets the rest through.
    const c = client(srv.port, { settings: { initialWindowSize: 1000 } });
    const req = c.request({ ":path": "/w" });
    req.on("error", () => {});
    const chunks: Buffer[] = [];
    req.pause();
    await new Promise<void>((r) => req.once("response", () => r()));
    const done = new Promise<void>((r) => req.on("end", () => r()));
    req.on("data", (d: Buffer) => chunks.push(d));
    c.settings({ initialWindowSize: 1_000_000 });
    req.resume();
    await within(done, 5_000, "the body");
    expect(sha(Buffer.concat(chunks))).toBe(sha(body));
  });

  it("header blocks over one frame: a 60 KiB request block in CONTINUATION frames; a 40 KiB response block split the same way", async () => {
    const big = "v".repeat(10_000);
    let got: string[] = [];
    const srv = await server((s, raw) => {
      got = raw;
      s.handler = new Recorder();
      s.sendHeaders([":status", "200", "x-a", big, "x-b", big, "x-c", big, "x-d", big], true);
    }, { maxHeaderListSize: 256 * 1024 });
    const c = client(srv.port, { maxHeaderListSize: 256 * 1024 } as http2.ClientSessionOptions);
    const headers: http2.OutgoingHttpHeaders = { ":path": "/big" };
    for (let i = 0; i < 6; i++) headers[`x-h${i}`] = big + i;
    const r = await request(c, headers);
    expect(get(got, "x-h5")).toBe(big + "5");
    expect(r.headers["x-d"]).toBe(big);
  });

  it("a read-disabled stream holds its data and window until resumed, then delivers in order", async () => {
    let stream: H2Stream | undefined;
    const rec = new Recorder();
    const srv = await server(
      (s) => {
        stream = s;
        s.handler = rec;
        s.readDisable(true);
        rec.onEvent = (_r, what) => {
          if (what === "end") {
            s.sendHeaders([":status", "200"], true);
          }
        };
      },
      { initialStreamWindowSize: 65_535 },
    );
    const c = client(srv.port);
    const body = pattern(300_000, 9);
    const p = request(c, { ":path": "/rd", ":method": "POST" }, body);
    await waitFor(() => stream !== undefined, 5_000, "the stream");
    // The client stops at the stream window: nothing is delivered while disabled.
    await waitFor(() => c.state.remoteWindowSize !== undefined, 5_000, "state");
    await new Promise((r) => setTimeout(r, 100));
    expect(rec.chunks.length).toBe(0);
    stream!.readDisable(false);
    await within(p, 5_000, "the response");
    expect(sha(rec.body)).toBe(sha(body));
  });

  it("30 000 small DATA frames to a client that reads in fits and starts: the outbound frame limit counts only frames still queued, so the stream completes", async () => {
    const piece = Buffer.alloc(100, 7);
    const srv = await server((s) => {
      s.handler = new Recorder();
      s.sendHeaders([":status", "200"], false);
      let sent = 0;
      const more = (): void => {
        for (let i = 0; i < 1000 && sent < 30_000; i++, sent++) s.write(piece, sent === 29_999);
        if (sent < 30_000) setImmediate(more);
      };
      more();
    });
    const c = client(srv.port);
    const req = c.request({ ":path": "/many" });
    let got = 0;
    let n = 0;
    req.on("data", (d: Buffer) => {
      got += d.length;
      if (++n % 500 === 0) {
        req.pause();
        setTimeout(() => req.resume(), 5);
      }
    });
    await within(new Promise<void>((r, j) => {
      req.on("end", () => r());
      req.on("error", j);
    }), 20_000, "the body");
    expect(got).toBe(3_000_000);
    expect(srv.sessions[0]!.closed).toBe(false);
  });
});
