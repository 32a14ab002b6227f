// Http2StreamEncoder: one HTTP/2 stream of a downstream connection, between Node's
// ServerHttp2Stream and the connection manager's ActiveStream (ServerStreamEncoder). Request
// DATA, trailers and resets go to the ActiveStream; the response head is held until its first
// body bytes (so a local reply can still replace it), then written with respond(); flow control is
// Node's: write() false → the router pauses the upstream, `drain` resumes it; readDisable pauses
// the stream, and nghttp2 withholds WINDOW_UPDATE.

import * as http2 from "node:http2";
import { ResponseFlag, StreamInfoBuilder, type ResponseFlagValue } from "../observability/stream-info.js";
import { ActiveStream, type ServerStreamEncoder } from "./active-stream.js";
import { encodeHttp2Headers, type Http2RequestError } from "./codec/http2-server-headers.js";
import { headerListFromRaw } from "./codec/http2-header-block.js";
import { httpDate } from "./date-header.js";
import { HeaderList } from "./header-list.js";
import type { RequestHeaders, ResponseHeaders } from "./http-message.js";
import type { Http2ServerConnection } from "./http2-server-connection.js";

/**
 * 1 MiB: Envoy's per_connection_buffer_limit_bytes, the stream's write-buffer high watermark.
 * Node's writable high-water mark (16 KiB) would pause the upstream every few frames.
 */
const STREAM_BUFFER_LIMIT = 1024 * 1024;
const NO_ERROR = http2.constants.NGHTTP2_NO_ERROR;
/** Node adds a `date` header unless told not to (the response has the upstream's or ours). */
type RespondOptions = http2.ServerStreamResponseOptions & { sendDate: boolean };
const END_NO_DATE: RespondOptions = { endStream: true, sendDate: false };
const NO_DATE: RespondOptions = { sendDate: false };
const TRAILERS_NO_DATE: RespondOptions = { waitForTrailers: true, sendDate: false };
/** The encoder of a Node stream (a property, so the stream's listeners are shared functions, not closures per stream). */
const kEncoder = Symbol("http2StreamEncoder");

type StreamWithEncoder = http2.ServerHttp2Stream & { [kEncoder]: Http2StreamEncoder };

/**
 * Envoy's answer to a header block that cannot become a request. A classic CONNECT has no
 * `:path`, so no ordinary route matches it: Envoy answers 404 route_not_found (NR).
 */
const REJECT: Record<Exclude<Http2RequestError, "header_overflow">, { status: number; details: string; flag?: ResponseFlagValue }> = {
  missing_host_header: { status: 400, details: "missing_host_header" },
  invalid_path: { status: 400, details: "path_normalization_failed" },
  connect_unsupported: { status: 404, details: "route_not_found", flag: ResponseFlag.NoRouteFound },
};

export class Http2StreamEncoder implements ServerStreamEncoder {
  private readonly conn: Http2ServerConnection;
  private readonly stream: http2.ServerHttp2Stream;
  private active: ActiveStream | null = null;
  /** The request ended (END_STREAM on its headers, its last DATA, or its trailers). */
  private requestEnded = false;
  private requestTrailers: HeaderList | null = null;
  /** Response headers held until the first body bytes (replaceable until then). */
  private pending: ResponseHeaders | null = null;
  private responded = false;
  private responseTrailers: HeaderList | null = null;
  /** encodeData returned false: the next `drain` resumes the upstream. */
  private aboveLimit = false;
  private drainListened = false;
  /** We reset the stream (RST_STREAM sent by us, not the peer). */
  private localReset = false;
  /** The stream was aborted while its connection was still open: the peer's RST_STREAM. */
  private peerReset = false;

  constructor(conn: Http2ServerConnection, stream: http2.ServerHttp2Stream) {
    this.conn = conn;
    this.stream = stream;
    (stream as StreamWithEncoder)[kEncoder] = this;
    stream.on("close", onStreamClose);
    stream.on("aborted", onStreamAborted);
    stream.on("error", noop);
  }

  start(req: RequestHeaders, endStream: boolean, originalPath: string): void {
    const conn = this.conn;
    const s = new ActiveStream(this, conn.ctx, conn.info, conn.remoteAddress, conn.localAddress);
    this.active = s;
    this.requestEnded = endStream;
    const stream = this.stream;
    // `wantTrailers` and `drain` listeners are added when they can fire (most streams need neither).
    if (!endStream) {
      stream.on("data", onStreamData);
      stream.on("trailers", onStreamTrailers);
      stream.on("end", onStreamEnd);
    }
    s.decodeHeaders(req, endStream, originalPath);
  }

  /** A header block Envoy answers locally (no host, a path that does not normalise, CONNECT) or resets (over the header limits). */
  rejectRequest(why: Http2RequestError, raw: readonly string[]): void {
    if (why === "header_overflow") {
      // Envoy's codec fails the header callback: nghttp2 resets the stream with INTERNAL_ERROR.
      this.conn.codecStats.headerOverflow.inc();
      this.localReset = true;
      this.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    const ctx = this.conn.ctx;
    const si = new StreamInfoBuilder(ctx.services.clock).withoutRequest("http", "HTTP/2");
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i] === ":method") si.method = raw[i + 1]!;
      else if (raw[i] === ":path") si.path = raw[i + 1]!;
      else if (raw[i] === ":authority") si.authority = raw[i + 1]!;
    }
    const answer = REJECT[why];
    si.responseCode = answer.status;
    si.responseCodeDetails = answer.details;
    if (answer.flag !== undefined) si.addFlag(answer.flag);
    si.downstreamRemoteAddress = this.conn.remoteAddress;
    si.downstreamLocalAddress = this.conn.localAddress;
    si.listenerName = ctx.name;
    si.filterChainName = ctx.filterChainName;
    si.direction = ctx.direction;
    si.telemetry = ctx.telemetry;
    const stream = this.stream;
    if (!stream.destroyed) {
      stream.respond([":status", String(answer.status), "content-length", "0", "date", httpDate(ctx.services.clock.now()), "server", ctx.serverName], END_NO_DATE);
      // The request body, if any, is not wanted: read and dropped until the client ends.
      stream.resume();
    }
    ctx.services.onStream(si.finish());
  }

  // ---------------------------------------------------------------- request side (Node → ActiveStream)

  onData(chunk: Buffer): void {
    this.active?.decodeData(chunk, false);
  }

  onTrailers(raw: string[]): void {
    this.conn.codecStats.trailers.inc();
    // Delivered at `end`, after every DATA chunk still buffered in the stream.
    this.requestTrailers = headerListFromRaw(raw);
  }

  onEnd(): void {
    if (this.requestEnded) return;
    this.requestEnded = true;
    const s = this.active;
    if (s === null) return;
    const t = this.requestTrailers;
    if (t !== null) s.decodeTrailers(t);
    else s.decodeData(EMPTY, true);
  }

  onClose(): void {
    const s = this.active;
    if (s !== null && !s.done) {
      // The peer reset this stream alone (RST_STREAM) while the connection lives: Envoy's DR.
      const remote = this.peerReset && !this.localReset;
      if (remote) {
        this.conn.codecStats.rxReset.inc();
        this.conn.httpStats.rqRxReset.inc();
      }
      s.onResetStream(remote);
    }
    this.conn.streamClosed(this);
  }

  /** Node aborts a stream that ends before its response did: by the peer's RST_STREAM, or with its connection. */
  onAborted(): void {
    const session = this.conn.session;
    this.peerReset = session !== undefined && !session.closed && !session.destroyed && !this.conn.closed;
  }

  /** The connection closed under this stream. */
  onConnectionClosed(): void {
    const s = this.active;
    if (s !== null && !s.done) s.onResetStream(false);
    this.conn.streamClosed(this);
  }

  onDrain(): void {
    if (!this.aboveLimit) return;
    this.aboveLimit = false;
    this.active?.onBelowWriteBufferLowWatermark();
  }

  onWantTrailers(): void {
    const t = this.responseTrailers;
    // No trailers came after all: an empty DATA frame with END_STREAM ends the stream (Node's way).
    try {
      this.stream.sendTrailers(t === null ? {} : trailersObject(t));
    } catch {
      this.refused();
    }
  }

  // ---------------------------------------------------------------- ServerStreamEncoder

  encodeHeaders(res: ResponseHeaders, endStream: boolean, _close: boolean): void {
    // `close` is HTTP/1's: an HTTP/2 stream ends alone; the connection stays (or drains).
    if (this.stream.destroyed) return;
    this.conn.onResponseHeaders();
    if (endStream) {
      this.responded = true;
      this.respond(res, END_NO_DATE);
      return;
    }
    this.pending = res;
  }

  /** Writes held headers; trailers are awaited when they can follow (an HTTP/2 upstream's response) or the exchange is gRPC-like (`te: trailers`, a gRPC response). */
  private flushHeaders(trailersKnown: boolean): void {
    const res = this.pending!;
    this.pending = null;
    this.responded = true;
    const wait = trailersKnown || this.expectsTrailers(res);
    if (wait) this.stream.on("wantTrailers", onWantTrailers);
    this.respond(res, wait ? TRAILERS_NO_DATE : NO_DATE);
  }

  /**
   * Node validates what HTTP/2 cannot carry (a value with a control byte, a name that is not a
   * token); the stream is reset then (it closes, and the ActiveStream with it), never the worker.
   */
  private respond(res: ResponseHeaders, options: RespondOptions): void {
    try {
      this.stream.respond(encodeHttp2Headers(res.status, res.headers) as unknown as http2.OutgoingHttpHeaders, options);
    } catch {
      this.refused();
    }
  }

  private refused(): void {
    if (this.stream.destroyed) return;
    this.localReset = true;
    this.conn.codecStats.txReset.inc();
    this.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  }

  private expectsTrailers(res: ResponseHeaders): boolean {
    if (res.mayHaveTrailers === true) return true;
    const te = this.active?.requestHeaders.headers.get("te");
    if (te !== undefined && te.toLowerCase() === "trailers") return true;
    const ct = res.headers.get("content-type");
    return ct !== undefined && ct.startsWith("application/grpc");
  }

  encodeData(data: Buffer, endStream: boolean): boolean {
    const stream = this.stream;
    if (stream.destroyed) return true;
    if (this.pending !== null) {
      this.flushHeaders(false);
      if (this.localReset) return true;
    }
    if (endStream) {
      if (data.length > 0) stream.end(data);
      else stream.end();
      return true;
    }
    if (data.length === 0) return true;
    if (stream.write(data) || stream.writableLength < STREAM_BUFFER_LIMIT) return true;
    this.aboveLimit = true;
    if (!this.drainListened) {
      this.drainListened = true;
      stream.on("drain", onStreamDrain);
    }
    return false;
  }

  encodeTrailers(trailers: HeaderList): void {
    const stream = this.stream;
    if (stream.destroyed) return;
    this.responseTrailers = trailers;
    if (this.pending !== null) {
      this.flushHeaders(true);
      if (this.localReset) return;
    }
    // Headers went out without waiting for trailers (no HTTP/2 upstream, not gRPC): they are dropped, as on HTTP/1.
    stream.end();
  }

  encode100Continue(): void {
    if (!this.stream.destroyed && !this.responded && !this.stream.headersSent) this.stream.additionalHeaders({ ":status": 100 });
  }

  readDisable(disable: boolean): void {
    const stream = this.stream;
    // Nothing left to read: pausing would only keep Node from closing the finished stream.
    if (stream.destroyed || this.requestEnded) return;
    if (disable) stream.pause();
    else stream.resume();
  }

  /** RST_STREAM, as Envoy's codec sends for a local reset (NO_ERROR); the connection stays. */
  resetStream(): void {
    const stream = this.stream;
    if (stream.destroyed || this.localReset) return;
    this.localReset = true;
    this.conn.codecStats.txReset.inc();
    this.conn.httpStats.rqTxReset.inc();
    stream.close(NO_ERROR);
  }

  responseReplaceable(): boolean {
    return this.pending !== null;
  }

  discardResponse(): void {
    this.pending = null;
  }

  streamDone(): void {
    // The response is complete (or the stream reset). A request body still arriving is not
    // wanted any more: read and dropped, so the client's window keeps moving.
    const stream = this.stream;
    if (!this.requestEnded && !stream.destroyed) {
      stream.removeListener("data", onStreamData);
      stream.resume();
    }
  }
}

const EMPTY = Buffer.alloc(0);

function noop(): void {}

/** sendTrailers takes an object only (repeated names as arrays); trailers are rare enough. */
function trailersObject(t: HeaderList): http2.OutgoingHttpHeaders {
  const raw = encodeHttp2Headers(0, t);
  const o: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!;
    const v = raw[i + 1]!;
    const prev = o[k];
    o[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return o;
}

function onStreamData(this: http2.ServerHttp2Stream, chunk: Buffer): void {
  (this as StreamWithEncoder)[kEncoder].onData(chunk);
}

function onStreamTrailers(this: http2.ServerHttp2Stream, _h: unknown, _flags: number, raw: string[]): void {
  (this as StreamWithEncoder)[kEncoder].onTrailers(raw);
}

function onStreamEnd(this: http2.ServerHttp2Stream): void {
  (this as StreamWithEncoder)[kEncoder].onEnd();
}

function onStreamClose(this: http2.ServerHttp2Stream): void {
  (this as StreamWithEncoder)[kEncoder].onClose();
}

function onStreamAborted(this: http2.ServerHttp2Stream): void {
  (this as StreamWithEncoder)[kEncoder].onAborted();
}

function onStreamDrain(this: http2.ServerHttp2Stream): void {
  (this as StreamWithEncoder)[kEncoder].onDrain();
}

function onWantTrailers(this: http2.ServerHttp2Stream): void {
  (this as StreamWithEncoder)[kEncoder].onWantTrailers();
}
