// Http1ClientStream: the HTTP/1.1 client codec for one request on one pooled upstream connection.
// Encodes codec-neutral request headers and body (Content-Length bodies pass through untouched;
// others are re-encoded as canonical chunked), decodes the response into headers / data / end
// callbacks (chunked bodies de-chunked, trailers dropped as Envoy's HTTP/1 codec does by default),
// and decides whether the connection may be reused. A reused connection that the server closed
// before answering a bodiless request is replaced once by a fresh one (the classic 503 UC race).

import { upstreamTlsInfoOf, type UpstreamTlsInfo } from "../../tls/upstream-tls-info.js";
import type { ProxyError } from "../../common/errors.js";
import type { RequestEncoder, ResponseDecoder } from "../../upstream/conn-pool.js";
import type { UpstreamConnection, UpstreamHandler } from "../../upstream/upstream-connection.js";
import type { HeaderList } from "../header-list.js";
import type { RequestHeaders } from "../http-message.js";
import { connectionTokens, stripHopByHop } from "../hop-by-hop.js";
import { BodyReader } from "./body-reader.js";
import { validateResponseHead } from "./framing.js";
import { findHeadEnd, parseResponseHead, type ResponseHead } from "./head-parser.js";
import { writeLatin1 } from "./latin1.js";

/** 60 KiB: max upstream response head, as Envoy's max_response_headers_kb default. */
const MAX_RESPONSE_HEAD = 60 * 1024;
/** 100: max upstream response headers (Envoy's max_headers_count default). */
const MAX_RESPONSE_HEADERS = 100;

const EMPTY = Buffer.alloc(0);
/** Until a chunked response makes its own list (never pushed to). */
const NO_CHUNKS: Buffer[] = [];
const LAST_CHUNK = "0\r\n\r\n";

/** What the stream needs from its pool. */
export interface Http1StreamOwner {
  /** Returns a connection after a complete exchange; `reusable` false closes it. */
  release(conn: UpstreamConnection, reusable: boolean): void;
  discard(conn: UpstreamConnection): void;
  /** A fresh connection for the one-time replay of a bodiless request. */
  connectFresh(cb: (err: ProxyError | null, conn: UpstreamConnection | null) => void): void;
}

const enum St {
  AwaitingHead,
  Body,
  Tunnel,
  Reconnecting,
  Done,
}

export class Http1ClientStream implements RequestEncoder, UpstreamHandler {
  private conn: UpstreamConnection;
  private readonly owner: Http1StreamOwner;
  private readonly decoder: ResponseDecoder;
  private readonly reused: boolean;
  private state = St.AwaitingHead;
  /** The encoded request head, kept for the one-time replay on a fresh connection. */
  private head: Buffer = EMPTY;
  private method = "GET";
  private chunked = false;
  private upgrade = false;
  private requestDone = false;
  private requestHadBody = false;
  private bytesSeen = 0;
  private buf: Buffer | null = null;
  private reader: BodyReader | null = null;
  private upstreamClose = false;
  private paused = false;
  private retriedFresh = false;

  constructor(conn: UpstreamConnection, owner: Http1StreamOwner, decoder: ResponseDecoder, reused: boolean) {
    this.conn = conn;
    this.owner = owner;
    this.decoder = decoder;
    this.reused = reused;
    conn.handler = this;
  }

  get localAddress(): string {
    return this.conn.localAddress;
  }

  get upstreamTls(): UpstreamTlsInfo | undefined {
    return upstreamTlsInfoOf(this.conn.socket);
  }

  // ---------------------------------------------------------------- request (encoder)

  encodeHeaders(req: RequestHeaders, endStream: boolean): void {
    this.method = req.method;
    this.upgrade = req.upgrade;
    const h = req.headers;
    let framing = "";
    if (req.upgrade) {
      framing = "Connection: Upgrade\r\n";
    } else if (!endStream && !h.has("content-length")) {
      this.chunked = true;
      framing = "Transfer-Encoding: chunked\r\n";
    }
    this.requestDone = endStream && !req.upgrade;
    this.requestHadBody = !endStream && !req.upgrade;
    this.head = encodeRequestHead(req, framing);
    const s = this.conn.socket;
    if (!endStream) {
      // The head goes out with the first body bytes in one write.
      s.cork();
      process.nextTick(uncork, s);
    }
    s.write(this.head);
  }

  encodeData(data: Buffer, endStream: boolean): boolean {
    if (this.state === St.Done) return true;
    const s = this.conn.socket;
    let ok = true;
    if (this.chunked) {
      if (data.length > 0) {
        s.cork();
        s.write(`${data.length.toString(16)}\r\n`, "latin1");
        s.write(data);
        ok = s.write(endStream ? "\r\n" + LAST_CHUNK : "\r\n", "latin1");
        s.uncork();
      } else if (endStream) {
        ok = s.write(LAST_CHUNK, "latin1");
      }
    } else if (data.length > 0) {
      ok = s.write(data);
    }
    if (endStream) this.requestDone = true;
    return ok;
  }

  encodeTrailers(_trailers: HeaderList): void {
    // HTTP/1 trailers are dropped, as Envoy's codec does unless enable_trailers is set.
    this.encodeData(EMPTY, true);
  }

  readDisable(disable: boolean): void {
    if (disable === this.paused) return;
    this.paused = disable;
    if (disable) this.conn.socket.pause();
    else this.conn.socket.resume();
  }

  resetStream(): void {
    if (this.state === St.Done) return;
    if (this.state === St.Reconnecting) {
      // The old connection is gone already; the fresh one is released when it arrives.
      this.state = St.Done;
      return;
    }
    this.state = St.Done;
    if (this.paused) this.conn.socket.resume();
    this.owner.discard(this.conn);
  }

  // ---------------------------------------------------------------- response (decoder)

  onUpstreamData(chunk: Buffer): void {
    this.bytesSeen += chunk.length;
    switch (this.state) {
      case St.Body:
        this.onBody(chunk, 0);
        return;
      case St.Tunnel:
        this.decoder.onUpstreamData(chunk, false);
        return;
      case St.AwaitingHead:
        break;
      default:
        return;
    }
    const buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
    let start = 0;
    for (;;) {
      let end: number;
      let head: ResponseHead;
      try {
        end = findHeadEnd(buf, start, MAX_RESPONSE_HEAD);
        if (end === -1) {
          this.buf = start === 0 ? buf : buf.subarray(start);
          return;
        }
        head = parseResponseHead(buf, start, end, MAX_RESPONSE_HEADERS);
      } catch {
        this.protocolError();
        return;
      }
      if (head.status >= 100 && head.status < 200 && head.status !== 101) {
        // Interim responses: Envoy already answered 100-continue itself; others are dropped.
        start = end;
        if (start === buf.length) {
          this.buf = null;
          return;
        }
        continue;
      }
      this.buf = null;
      this.onHead(head, buf, end);
      return;
    }
  }

  private onHead(head: ResponseHead, buf: Buffer, bodyStart: number): void {
    const h = head.headers;
    const status = head.status;
    let framing;
    try {
      // An unsolicited 101 would open a raw tunnel past the proxy; ambiguous framing is refused.
      framing = validateResponseHead(head, { method: this.method, upgradeRequested: this.upgrade });
    } catch {
      this.protocolError();
      return;
    }
    this.upstreamClose = connectionTokens(h).close || head.versionMinor === 0;
    stripHopByHop(h, status === 101);
    if (status === 101) {
      this.state = St.Tunnel;
      this.decoder.onUpstreamHeaders({ status, headers: h }, false);
      if (this.state === St.Tunnel && bodyStart < buf.length) this.decoder.onUpstreamData(buf.subarray(bodyStart), false);
      return;
    }
    const reader = new BodyReader(framing, framing.kind === "chunked" ? this.chunkCallback() : undefined);
    this.reader = reader;
    this.state = St.Body;
    const endStream = reader.done;
    this.decoder.onUpstreamHeaders({ status, headers: h }, endStream);
    if (this.state !== St.Body) return; // the decoder reset the stream (a retry)
    if (endStream) {
      this.complete(buf.length > bodyStart);
      return;
    }
    if (bodyStart < buf.length) this.onBody(buf, bodyStart);
  }

  /** De-chunked data of the read being parsed: delivered only once the whole read parsed cleanly. */
  private chunkData: Buffer[] = NO_CHUNKS;

  /** Made only for chunked responses (most responses have a Content-Length). */
  private chunkCallback(): (b: Buffer, s: number, e: number) => void {
    this.chunkData = [];
    return (b, s, e) => {
      if (e > s) this.chunkData.push(b.subarray(s, e));
    };
  }

  private onBody(buf: Buffer, start: number): void {
    const r = this.reader!;
    let end: number;
    try {
      end = r.consume(buf, start, buf.length);
    } catch {
      if (this.chunkData.length > 0) this.chunkData = [];
      this.protocolError();
      return;
    }
    if (this.state !== St.Body) return;
    if (r.framing.kind === "chunked") {
      const data = this.chunkData;
      if (data.length > 0) {
        // The chunks of one read go on as one piece of data (Envoy's codec buffers per read too).
        this.chunkData = [];
        this.decoder.onUpstreamData(data.length === 1 ? data[0]! : Buffer.concat(data), false);
      }
      if (end !== -1 && this.state === St.Body) {
        this.decoder.onUpstreamData(EMPTY, true);
        this.complete(end < buf.length);
      }
      return;
    }
    const stop = end === -1 ? buf.length : end;
    const slice = start === 0 && stop === buf.length ? buf : buf.subarray(start, stop);
    this.decoder.onUpstreamData(slice, end !== -1);
    if (end !== -1 && this.state === St.Body) this.complete(end < buf.length);
  }

  private complete(trailingBytes: boolean): void {
    this.state = St.Done;
    if (this.paused) {
      this.paused = false;
      this.conn.socket.resume();
    }
    const reusable = !trailingBytes && this.requestDone && !this.upstreamClose && this.reader?.framing.kind !== "close";
    this.owner.release(this.conn, reusable);
  }

  onUpstreamClose(err: Error | undefined): void {
    switch (this.state) {
      case St.AwaitingHead:
        if (this.reused && !this.retriedFresh && this.bytesSeen === 0 && !this.requestHadBody && this.requestDone) {
          this.reconnect();
          return;
        }
        this.state = St.Done;
        this.owner.discard(this.conn);
        this.decoder.onUpstreamReset("connection_termination", err?.message);
        return;
      case St.Body: {
        const r = this.reader!;
        this.state = St.Done;
        this.owner.discard(this.conn);
        if (r.framing.kind === "close" && err === undefined) {
          r.finishOnClose();
          this.decoder.onUpstreamData(EMPTY, true);
          return;
        }
        this.decoder.onUpstreamReset("connection_termination", err?.message);
        return;
      }
      case St.Tunnel:
        this.state = St.Done;
        this.owner.discard(this.conn);
        if (err === undefined) this.decoder.onUpstreamData(EMPTY, true);
        else this.decoder.onUpstreamReset("connection_termination", err.message);
        return;
      default:
        return;
    }
  }

  onUpstreamDrain(): void {
    this.decoder.onUpstreamWritable();
  }

  /** Replays the (bodiless, complete) request once on a fresh connection. */
  private reconnect(): void {
    this.retriedFresh = true;
    this.state = St.Reconnecting;
    this.owner.discard(this.conn);
    this.owner.connectFresh((err, conn) => {
      if (this.state !== St.Reconnecting) {
        if (conn !== null) this.owner.release(conn, true);
        return;
      }
      if (err !== null || conn === null) {
        this.state = St.Done;
        this.decoder.onUpstreamReset("connection_failure", err?.detail);
        return;
      }
      this.conn = conn;
      conn.handler = this;
      this.state = St.AwaitingHead;
      conn.socket.write(this.head);
    });
  }

  private protocolError(): void {
    this.state = St.Done;
    this.owner.discard(this.conn);
    this.decoder.onUpstreamReset("protocol_error", undefined);
  }
}

const HTTP11_CRLF = " HTTP/1.1\r\n";

/** `METHOD path HTTP/1.1`, the headers, the framing header and the blank line, in one Buffer. */
function encodeRequestHead(req: RequestHeaders, framing: string): Buffer {
  const h = req.headers;
  const out = Buffer.allocUnsafe(req.method.length + 1 + req.path.length + HTTP11_CRLF.length + h.encodedLength() + framing.length + 2);
  let off = writeLatin1(out, 0, req.method);
  out[off++] = 32;
  off = writeLatin1(out, off, req.path);
  off = writeLatin1(out, off, HTTP11_CRLF);
  off = h.encodeTo(out, off);
  off = writeLatin1(out, off, framing);
  out[off++] = 13;
  out[off] = 10;
  return out;
}

function uncork(s: { uncork(): void }): void {
  s.uncork();
}
