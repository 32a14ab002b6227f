// Http2StreamEncoder: one HTTP/2 stream of a downstream connection, between the session's H2Stream
// (it is the stream's handler object) and the connection manager's ActiveStream
// (ServerStreamEncoder). Request DATA, trailers and resets go to the ActiveStream; the response
// head is held until its first body bytes (so a local reply can still replace it), then encoded
// straight from the HeaderList into the session's HPACK block; trailers follow the DATA whenever
// they come (as Envoy's codec). Flow control is the session's: write() false → the router pauses
// the upstream, onWritable resumes it; readDisable holds the stream's data and WINDOW_UPDATE.

import { ResponseFlag, StreamInfoBuilder, type ResponseFlagValue } from "../observability/stream-info.js";
import { ActiveStream, type ServerStreamEncoder } from "./active-stream.js";
import { ErrorCode } from "./codec/h2/frames.js";
import { ResetWhy, type H2Stream, type H2StreamHandler } from "./codec/h2/session.js";
import { encodeHttp2Headers, type Http2RequestError } from "./codec/http2-server-headers.js";
import { headerListFromRaw } from "./codec/http2-header-block.js";
import { httpDate } from "./date-header.js";
import type { HeaderList } from "./header-list.js";
import type { RequestHeaders, ResponseHeaders } from "./http-message.js";
import type { Http2ServerConnection } from "./http2-server-connection.js";

const EMPTY = Buffer.alloc(0);
const CONTINUE_100: readonly string[] = [":status", "100"];

/**
 * Envoy's answer to a header block that cannot become a request. A classic CONNECT has no
 * `:path`, so no ordinary route matches it: Envoy answers 404 route_not_found (NR).
 */
const REJECT: Record<Exclude<Http2RequestError, "header_overflow">, { status: number; details: string; flag?: ResponseFlagValue }> = {
  missing_host_header: { status: 400, details: "missing_host_header" },
  invalid_path: { status: 400, details: "path_normalization_failed" },
  connect_unsupported: { status: 404, details: "route_not_found", flag: ResponseFlag.NoRouteFound },
};

export class Http2StreamEncoder implements ServerStreamEncoder, H2StreamHandler {
  private readonly conn: Http2ServerConnection;
  private readonly stream: H2Stream;
  private active: ActiveStream | null = null;
  /** The request ended (END_STREAM on its headers, its last DATA, or its trailers). */
  private requestEnded = false;
  /** The exchange is over: request DATA still arriving is read and dropped. */
  private discarding = false;
  /** Response headers held until the first body bytes (replaceable until then). */
  private pending: ResponseHeaders | null = null;
  private responded = false;
  /** encodeData returned false: onWritable resumes the upstream. */
  private aboveLimit = false;
  /** We reset the stream (RST_STREAM sent by us, not the peer). */
  private localReset = false;
  /** The peer reset this stream (RST_STREAM) while the connection lives. */
  private peerReset = false;
  /** The stream left the session. */
  private closed = false;
  /** The session reported a reset of this stream (the peer's, a protocol error, the connection). */
  private resetSeen = false;

  constructor(conn: Http2ServerConnection, stream: H2Stream) {
    this.conn = conn;
    this.stream = stream;
    stream.handler = this;
  }

  start(req: RequestHeaders, endStream: boolean, originalPath: string): void {
    const conn = this.conn;
    const s = new ActiveStream(this, conn.ctx, conn.info, conn.remoteAddress, conn.localAddress);
    this.active = s;
    this.requestEnded = endStream;
    s.decodeHeaders(req, endStream, originalPath);
  }

  /** A header block Envoy answers locally (no host, a path that does not normalise, CONNECT) or resets (over the header limits). */
  rejectRequest(why: Http2RequestError, raw: readonly string[], endStream: boolean): void {
    this.requestEnded = endStream;
    if (why === "header_overflow") {
      // Envoy's codec fails the header callback: the stream is reset with INTERNAL_ERROR.
      this.conn.codecStats.headerOverflow.inc();
      this.localReset = true;
      this.stream.reset(ErrorCode.INTERNAL_ERROR);
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
    this.discarding = true;
    this.responded = true;
    this.stream.sendHeaders([":status", String(answer.status), "content-length", "0", "date", httpDate(ctx.services.clock.now()), "server", ctx.serverName], true);
    // The request body, if any, is not wanted: the client is told to stop (RST_STREAM NO_ERROR).
    if (!endStream) this.cutRequestShort();
    ctx.services.onStream(si.finish());
  }

  // ---------------------------------------------------------------- request side (H2StreamHandler)

  onHeaders(): void {
    // A server stream's only header blocks are the request (onStream) and its trailers (onTrailers).
  }

  onData(chunk: Buffer, endStream: boolean): void {
    if (endStream) this.requestEnded = true;
    if (this.discarding) return;
    this.active?.decodeData(chunk, endStream);
  }

  onTrailers(raw: string[]): void {
    this.requestEnded = true;
    if (this.discarding) return;
    this.conn.codecStats.trailers.inc();
    this.active?.decodeTrailers(headerListFromRaw(raw));
  }

  onReset(_code: number, why: ResetWhy): void {
    this.resetSeen = true;
    // The peer's RST_STREAM on a live connection is Envoy's DR; a protocol error we answered
    // with RST_STREAM is our reset; a closing connection is neither.
    if (why === ResetWhy.Remote) this.peerReset = true;
    else if (why === ResetWhy.ProtocolError) {
      this.localReset = true;
      this.conn.codecStats.txReset.inc();
    }
  }

  onWritable(): void {
    if (!this.aboveLimit) return;
    this.aboveLimit = false;
    this.active?.onBelowWriteBufferLowWatermark();
  }

  onClose(): void {
    this.closed = true;
    const s = this.active;
    if (s !== null && !s.done) {
      // Ended both ways without a reset: the response's END_STREAM went out inside the
      // ActiveStream's own encode call, which finishes it right after (streamDone closes then).
      if (!this.resetSeen && !this.localReset) return;
      const remote = this.peerReset && !this.localReset;
      if (remote) {
        this.conn.codecStats.rxReset.inc();
        this.conn.httpStats.rqRxReset.inc();
      }
      s.onResetStream(remote);
    }
    this.conn.streamClosed(this);
  }

  /** The connection closed under this stream. */
  onConnectionClosed(): void {
    this.closed = true;
    const s = this.active;
    if (s !== null && !s.done) s.onResetStream(false);
    this.conn.streamClosed(this);
  }

  // ---------------------------------------------------------------- ServerStreamEncoder

  encodeHeaders(res: ResponseHeaders, endStream: boolean, _close: boolean): void {
    // `close` is HTTP/1's: an HTTP/2 stream ends alone; the connection stays (or drains).
    if (this.closed) return;
    this.conn.onResponseHeaders();
    if (endStream) {
      this.responded = true;
      this.respond(res, true);
      return;
    }
    this.pending = res;
  }

  /** Writes held headers (before the first body bytes or the trailers). */
  private flushHeaders(): void {
    const res = this.pending!;
    this.pending = null;
    this.responded = true;
    this.respond(res, false);
  }

  /** A block HTTP/2 cannot carry (a control byte in a value, a bad name, status 101) resets the stream, never the worker. */
  private respond(res: ResponseHeaders, endStream: boolean): void {
    const raw = encodeHttp2Headers(res.status, res.headers);
    if (raw === undefined) {
      this.refused();
      return;
    }
    this.stream.sendHeaders(raw, endStream);
  }

  private refused(): void {
    if (this.closed || this.localReset) return;
    this.localReset = true;
    this.conn.codecStats.txReset.inc();
    this.stream.reset(ErrorCode.INTERNAL_ERROR);
  }

  encodeData(data: Buffer, endStream: boolean): boolean {
    if (this.closed) return true;
    if (this.pending !== null) {
      this.flushHeaders();
      if (this.localReset) return true;
    }
    if (data.length === 0 && !endStream) return true;
    if (this.stream.write(data, endStream)) return true;
    if (endStream) return true;
    this.aboveLimit = true;
    return false;
  }

  encodeTrailers(trailers: HeaderList): void {
    if (this.closed) return;
    if (this.pending !== null) {
      this.flushHeaders();
      if (this.localReset) return;
    }
    // Empty trailers: the stream ends with an empty DATA frame (Envoy's codec does the same).
    if (trailers.lower.length === 0) {
      this.stream.write(EMPTY, true);
      return;
    }
    const raw = encodeHttp2Headers(0, trailers);
    if (raw === undefined) {
      this.refused();
      return;
    }
    this.stream.sendTrailers(raw);
  }

  encode100Continue(): void {
    if (!this.closed && !this.responded) this.stream.sendInformational(CONTINUE_100);
  }

  readDisable(disable: boolean): void {
    // Nothing left to read: a disabled stream would only hold a window nobody uses.
    if (this.closed || this.requestEnded) return;
    this.stream.readDisable(disable);
  }

  /** RST_STREAM, as Envoy's codec sends for a local reset (NO_ERROR); the connection stays. */
  resetStream(): void {
    if (this.closed || this.localReset) return;
    this.localReset = true;
    this.conn.codecStats.txReset.inc();
    this.conn.httpStats.rqTxReset.inc();
    this.stream.reset(ErrorCode.NO_ERROR);
  }

  responseReplaceable(): boolean {
    return this.pending !== null;
  }

  discardResponse(): void {
    this.pending = null;
  }

  streamDone(): void {
    if (this.closed) {
      this.conn.streamClosed(this);
      return;
    }
    // The response is complete (or the stream reset) before the request: as Envoy's connection
    // manager (doEndStream), the stream is reset — RST_STREAM NO_ERROR after the response's last
    // frame, so the client stops sending a body nobody reads (RFC 9113 §8.1).
    if (!this.requestEnded) {
      this.discarding = true;
      this.cutRequestShort();
    }
  }

  private cutRequestShort(): void {
    this.localReset = true;
    this.conn.codecStats.txReset.inc();
    this.stream.resetAfterEnd(ErrorCode.NO_ERROR);
  }
}
