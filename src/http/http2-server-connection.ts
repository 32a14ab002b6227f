// Http2ServerConnection: the HTTP/2 server codec of one downstream connection. Outrigger's own
// session (codec/h2/session.ts) owns framing, HPACK, SETTINGS, flow control and RST_STREAM on the
// socket the listener accepted; this file turns each HTTP/2 stream into an ActiveStream (one
// Http2StreamEncoder each), maps resets both ways, and drains as Envoy does: a GOAWAY with
// last-stream-id 2^31-1 first, the final GOAWAY after the drain timeout, close once streams end.

import type { Duplex } from "node:stream";
import type { TimerHandle, Timers } from "../common/timers.js";
import { HTTP2_DEFAULTS, type HttpConnectionManager } from "../config/model/types.js";
import type { DownstreamLimits } from "../bootstrap/bootstrap.js";
import type { ConnectionInfo } from "../listener/connection-info.js";
import type { ConnectionTracker, DownstreamConnection } from "../listener/network-filter.js";
import type { Http2CodecStats, HttpConnManagerStats } from "../observability/stats/http-conn-manager-stats.js";
import { ErrorCode } from "./codec/h2/frames.js";
import { H2Session, type H2SessionHandler, type H2SessionOptions, type H2Stream } from "./codec/h2/session.js";
import { decodeHttp2Request } from "./codec/http2-server-headers.js";
import { Http2StreamEncoder } from "./http2-stream-encoder.js";
import type { ListenerContext } from "./listener-context.js";

/**
 * 5 000 ms: Envoy's connection manager drain_timeout, between the first GOAWAY (last-stream-id
 * 2^31-1: "no new streams soon") and the final one (the real last stream id).
 */
export const HTTP2_DRAIN_TIMEOUT_MS = 5_000;

/**
 * 1 MiB: Envoy's per_connection_buffer_limit_bytes, a stream's write-buffer high watermark
 * (write() false above it: the router pauses the upstream).
 */
export const HTTP2_STREAM_BUFFER_LIMIT = 1024 * 1024;

/**
 * The HTTP/2 session settings of one connection manager, made once per snapshot from its
 * http2_protocol_options and the worker's downstream limits.
 */
export class Http2ServerCodec {
  readonly options: H2SessionOptions;
  readonly connectionWindow: number;

  constructor(hcm: HttpConnectionManager, limits: DownstreamLimits, now?: () => number, timers?: Timers) {
    const o = hcm.http2ProtocolOptions;
    this.connectionWindow = o?.initialConnectionWindowSize ?? HTTP2_DEFAULTS.initialConnectionWindowSize;
    this.options = {
      role: "server",
      maxConcurrentStreams: o?.maxConcurrentStreams ?? HTTP2_DEFAULTS.maxConcurrentStreams,
      initialStreamWindowSize: o?.initialStreamWindowSize ?? HTTP2_DEFAULTS.initialStreamWindowSize,
      initialConnectionWindowSize: this.connectionWindow,
      // max_request_headers_kb, as on HTTP/1: a larger header list resets the stream.
      maxHeaderListSize: limits.maxRequestHeadersKb * 1024,
      // max_headers_count, plus the four pseudo-headers of a request.
      maxHeaderPairs: limits.maxHeadersCount + 4,
      streamBufferLimit: HTTP2_STREAM_BUFFER_LIMIT,
      // Envoy's default: a malformed message ends the connection (GOAWAY PROTOCOL_ERROR).
      streamErrorOnInvalidMessage: o?.streamErrorOnInvalidHttpMessage === true,
      ...(now !== undefined ? { now } : {}),
      ...(timers !== undefined ? { timers } : {}),
    };
  }

  /** Starts a session on the socket for `conn` (bytes the listener already read were unshifted). */
  open(conn: Http2ServerConnection, socket: Duplex): H2Session {
    return new H2Session(socket, this.options, conn);
  }
}

export class Http2ServerConnection implements DownstreamConnection, H2SessionHandler {
  readonly info: ConnectionInfo;
  readonly ctx: ListenerContext;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly httpStats: HttpConnManagerStats;
  readonly codecStats: Http2CodecStats;
  private readonly tracker: ConnectionTracker;
  private readonly socket: Duplex;
  readonly session: H2Session;
  /** Open streams (ActiveStreams not yet done). */
  private readonly open = new Set<Http2StreamEncoder>();
  /** Coarse time the last stream ended (idle timeout). */
  private idleSince: number;
  /** GOAWAY state: 0 none, 1 shutdown notice sent, 2 final GOAWAY sent (or the peer's received). */
  private goaway = 0;
  private drainTimer: TimerHandle | undefined;
  closed = false;

  /** The connection manager's live HTTP/2 connections (it drains them when its listener starts draining). */
  private readonly live: Set<Http2ServerConnection> | undefined;

  constructor(socket: Duplex, info: ConnectionInfo, ctx: ListenerContext, tracker: ConnectionTracker, codec: Http2ServerCodec, live?: Set<Http2ServerConnection>) {
    this.socket = socket;
    this.live = live;
    live?.add(this);
    this.info = info;
    this.ctx = ctx;
    this.tracker = tracker;
    this.httpStats = ctx.httpStats;
    this.codecStats = ctx.httpStats.http2;
    this.remoteAddress = `${info.remoteIp}:${info.remotePort}`;
    this.localAddress = `${info.localIp}:${info.localPort}`;
    this.idleSince = ctx.services.coarseNow;
    this.httpStats.connectionOpened(true);
    tracker.add(this);
    // A client's FIN ends the connection, as in Envoy: the session destroys its socket on `end`.
    this.session = codec.open(this, socket);
    // A socket that closed before it got here emits no `close` the session could see.
    if (socket.destroyed) this.destroySocket();
  }

  // ---------------------------------------------------------------- H2SessionHandler

  onStream(stream: H2Stream, raw: string[], endStream: boolean, overflow: boolean): void {
    const limits = this.ctx.services.limits;
    const enc = new Http2StreamEncoder(this, stream);
    this.open.add(enc);
    this.codecStats.streamsActive.add(1);
    const d = overflow ? "header_overflow" : decodeHttp2Request(raw, this.info.tls !== undefined, limits.maxRequestHeadersKb * 1024, limits.maxHeadersCount);
    if (typeof d === "string") {
      enc.rejectRequest(d, raw, endStream);
      return;
    }
    enc.start(d.req, endStream, d.originalPath);
  }

  onRemoteSettings(): void {}

  onGoaway(): void {
    // The client opens no more streams: finish the open ones, then close.
    if (this.goaway !== 2) {
      this.goaway = 2;
      this.clearDrainTimer();
    }
    if (this.open.size === 0) this.session.close();
  }

  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearDrainTimer();
    this.httpStats.connectionClosed(true);
    this.tracker.delete(this);
    this.live?.delete(this);
    // The session reset every open stream before this; any encoder still here (its ActiveStream
    // not done) sees a downstream connection termination.
    if (this.open.size > 0) for (const enc of [...this.open]) enc.onConnectionClosed();
  }

  // ---------------------------------------------------------------- streams

  /**
   * A response's headers are going out: on a draining listener the drain sequence starts here,
   * where Envoy's connection manager asks its drain decision (each response while draining).
   */
  onResponseHeaders(): void {
    if (this.ctx.draining && this.goaway === 0) this.startDrain();
  }

  /** An encoder's stream is over (ActiveStream done and the h2 stream closed, or rejected). */
  streamClosed(enc: Http2StreamEncoder): void {
    if (!this.open.delete(enc)) return;
    this.codecStats.streamsActive.add(-1);
    if (this.open.size === 0) {
      this.idleSince = this.ctx.services.coarseNow;
      // After the final GOAWAY (ours or the peer's) the last stream closes the connection.
      if (this.goaway === 2) this.session.close();
    }
  }

  get idle(): boolean {
    return this.open.size === 0;
  }

  /**
   * Envoy's drain sequence: GOAWAY with last-stream-id 2^31-1 (streams the client already sent
   * are still served), then, after the drain timeout, the final GOAWAY; the connection closes
   * once its streams are done.
   */
  private startDrain(): void {
    if (this.goaway !== 0 || this.closed || this.socket.writableEnded) return;
    this.goaway = 1;
    this.codecStats.goawaySent.inc();
    this.session.shutdownNotice();
    const clock = this.ctx.services.clock;
    this.drainTimer = clock.set(() => {
      this.drainTimer = undefined;
      this.finalGoaway();
    }, HTTP2_DRAIN_TIMEOUT_MS);
  }

  private finalGoaway(): void {
    if (this.goaway === 2 || this.closed) return;
    this.goaway = 2;
    this.codecStats.goawaySent.inc();
    // Without streams the connection closes now; otherwise the last stream to end closes it.
    if (this.open.size === 0) this.session.close();
    else this.session.goaway(ErrorCode.NO_ERROR);
  }

  private clearDrainTimer(): void {
    if (this.drainTimer !== undefined) {
      this.ctx.services.clock.clear(this.drainTimer);
      this.drainTimer = undefined;
    }
  }

  // ---------------------------------------------------------------- DownstreamConnection

  /** Graceful drain (listener removed, shutdown): the GOAWAY sequence; idempotent. */
  drain(): void {
    this.startDrain();
  }

  /** Idle timeout: a connection without streams gets the final GOAWAY and closes. */
  sweep(now: number): void {
    const idleMs = this.ctx.services.limits.idleTimeoutMs;
    if (idleMs > 0 && this.open.size === 0 && !this.closed && now - this.idleSince >= idleMs) this.finalGoaway();
  }

  destroySocket(): void {
    this.session.destroy();
    this.socket.destroy();
    this.onClose();
  }
}
