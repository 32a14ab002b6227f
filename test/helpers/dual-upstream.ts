// A test upstream that speaks HTTP/1.1 and HTTP/2 cleartext (prior knowledge) on one port, as an
// app whose port protocol is detected would: the first bytes pick node:http or node:http2 (stream
// API). It records which protocol and which connection each request came on, so tests can prove
// the protocol the proxy chose upstream and how many connections it multiplexed over.
//
// Paths: /bytes/<n> answers n pattern bytes (test/helpers/pattern-bytes.ts) with back-pressure;
// POST /sha256 answers {sha256, length} of the request body; /trailers answers with trailers
// (x-checksum: done); /status/<code>; /reset resets the request without an answer (HTTP/2:
// RST_STREAM INTERNAL_ERROR; HTTP/1: the connection is destroyed); /hold is never answered (the test
// sees the request arrive and learns when the proxy resets or closes it); anything else echoes
// {protocol, method, path, authority, headers, bodyLength} as JSON.

import { createServer as createH1Server, type IncomingMessage, type ServerResponse } from "node:http";
import { constants as h2c, createServer as createH2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { BodyDigest, patternChunks } from "./pattern-bytes.js";

export interface SeenRequest {
  protocol: "1.1" | "2";
  method: string;
  path: string;
  /** HTTP/1 Host, HTTP/2 :authority. */
  authority: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  /** Index of the TCP connection it came on (0, 1, … in accept order). */
  connection: number;
}

export interface HeldRequest {
  req: SeenRequest;
  /** Resolves with how the request ended without an answer: "reset" (RST_STREAM, with its code) or "closed". */
  ended: Promise<{ how: "reset" | "closed"; code?: number }>;
  /** Answers 200 "released" now. */
  release(): void;
}

export interface DualUpstream {
  port: number;
  requests: SeenRequest[];
  /** Connections accepted so far, by protocol. */
  connections: { "1.1": number; "2": number };
  /** /hold requests that arrived, in order. */
  held: HeldRequest[];
  /** Bytes of /bytes bodies handed to the socket so far (for back-pressure checks). */
  bytesWritten: number;
  close(): Promise<void>;
}

export interface DualUpstreamOptions {
  /** SETTINGS_MAX_CONCURRENT_STREAMS this server announces (default 1000). */
  maxConcurrentStreams?: number;
}

export async function startDualUpstream(opts: DualUpstreamOptions = {}): Promise<DualUpstream> {
  const sockets = new Set<Socket>();
  // On the socket itself: an HTTP/2 session's `socket` is a proxy that forwards property reads.
  const connId = (s: object): number => (s as { outriggerConnId?: number }).outriggerConnId ?? -1;
  let nextConn = 0;
  const up: DualUpstream = {
    port: 0,
    requests: [],
    connections: { "1.1": 0, "2": 0 },
    held: [],
    bytesWritten: 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => net.close(() => r()));
      h2.close();
      h1.close();
    },
  };

  const h1 = createH1Server((req, res) => onH1(req, res));
  h1.keepAliveTimeout = 30_000;
  const h2 = createH2Server({ settings: { maxConcurrentStreams: opts.maxConcurrentStreams ?? 1000 } });
  h2.on("stream", (stream, headers) => onH2(stream, headers));
  h2.on("sessionError", () => {});

  const net = createNetServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    (s as unknown as { outriggerConnId: number }).outriggerConnId = nextConn++;
    s.once("readable", () => {
      const head = s.read(Math.min(s.readableLength, 3)) as Buffer | null;
      if (head) s.unshift(head);
      const isH2 = head !== null && head.toString("latin1") === "PRI";
      up.connections[isH2 ? "2" : "1.1"]++;
      (isH2 ? h2 : h1).emit("connection", s);
    });
  });
  await new Promise<void>((r) => net.listen(0, "127.0.0.1", r));
  up.port = (net.address() as AddressInfo).port;

  function record(protocol: "1.1" | "2", method: string, path: string, authority: string | undefined, headers: SeenRequest["headers"], socket: object): SeenRequest {
    const r: SeenRequest = { protocol, method, path, authority, headers, connection: connId(socket) };
    up.requests.push(r);
    return r;
  }

  /** Writes the pattern body with back-pressure, then ends. */
  async function writePattern(w: ServerResponse | ServerHttp2Stream, total: number): Promise<void> {
    for (const c of patternChunks(total)) {
      if (w.destroyed) return;
      const more = w.write(c);
      up.bytesWritten += c.length;
      if (!more) await new Promise<void>((r) => (w.once("drain", r), w.once("close", r)));
    }
    w.end();
  }

  function onH1(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? "/";
    const seen = record("1.1", req.method!, path, req.headers.host, req.headers, req.socket);
    const digest = new BodyDigest();
    if (path === "/hold") {
      let answered = false;
      const ended = new Promise<{ how: "reset" | "closed" }>((resolve) => res.on("close", () => !answered && resolve({ how: "closed" })));
      up.held.push({ req: seen, ended, release: () => ((answered = true), res.end("released")) });
      req.resume();
      return;
    }
    if (path === "/reset") return void req.socket.destroy();
    req.on("data", (c: Buffer) => digest.update(c));
    req.on("end", () => {
      const bytes = /^\/bytes\/(\d+)$/.exec(path);
      const status = /^\/status\/(\d+)$/.exec(path);
      if (bytes) {
        const n = Number(bytes[1]);
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": n });
        void writePattern(res, n);
      } else if (path === "/sha256") {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ sha256: digest.hex(), length: digest.length, protocol: "1.1" }));
      } else if (path === "/trailers") {
        res.writeHead(200, { "content-type": "text/plain", trailer: "x-checksum" });
        res.write("body-before-trailers");
        res.addTrailers({ "x-checksum": "done" });
        res.end();
      } else if (status) {
        res.writeHead(Number(status[1]), { "content-type": "text/plain" });
        res.end(`status ${status[1]}`);
      } else {
        res.setHeader("content-type", "application/json");
        res.setHeader("x-upstream-protocol", "1.1");
        res.end(JSON.stringify({ protocol: "1.1", method: req.method, path, authority: req.headers.host, headers: req.headers, bodyLength: digest.length }));
      }
    });
  }

  function onH2(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on("error", () => {});
    const path = String(headers[":path"] ?? "/");
    const method = String(headers[":method"] ?? "GET");
    const seen = record("2", method, path, headers[":authority"] as string | undefined, headers, stream.session!.socket);
    if (path === "/hold") {
      let answered = false;
      // A RST_STREAM of any code (Envoy's local reset is NO_ERROR) aborts the unanswered stream.
      const ended = new Promise<{ how: "reset" | "closed"; code?: number }>((resolve) =>
        stream.on("close", () => !answered && resolve(stream.aborted || stream.rstCode !== h2c.NGHTTP2_NO_ERROR ? { how: "reset", code: stream.rstCode } : { how: "closed" })),
      );
      up.held.push({ req: seen, ended, release: () => ((answered = true), stream.respond({ ":status": 200 }), stream.end("released")) });
      stream.resume();
      return;
    }
    if (path === "/reset") return void stream.close(h2c.NGHTTP2_INTERNAL_ERROR);
    const digest = new BodyDigest();
    stream.on("data", (c: Buffer) => digest.update(c));
    stream.on("end", () => {
      if (stream.destroyed) return;
      const bytes = /^\/bytes\/(\d+)$/.exec(path);
      const status = /^\/status\/(\d+)$/.exec(path);
      if (bytes) {
        const n = Number(bytes[1]);
        stream.respond({ ":status": 200, "content-type": "application/octet-stream", "content-length": n });
        void writePattern(stream, n);
      } else if (path === "/sha256") {
        stream.respond({ ":status": 200, "content-type": "application/json" });
        stream.end(JSON.stringify({ sha256: digest.hex(), length: digest.length, protocol: "2" }));
      } else if (path === "/trailers") {
        stream.respond({ ":status": 200, "content-type": "text/plain" }, { waitForTrailers: true });
        stream.on("wantTrailers", () => stream.sendTrailers({ "x-checksum": "done" }));
        stream.end("body-before-trailers");
      } else if (status) {
        stream.respond({ ":status": Number(status[1]), "content-type": "text/plain" });
        stream.end(`status ${status[1]}`);
      } else {
        stream.respond({ ":status": 200, "content-type": "application/json", "x-upstream-protocol": "2" });
        const plain: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(headers)) if (!k.startsWith(":")) plain[k] = v;
        stream.end(JSON.stringify({ protocol: "2", method, path, authority: headers[":authority"], headers: plain, bodyLength: digest.length }));
      }
    });
  }

  return up;
}
