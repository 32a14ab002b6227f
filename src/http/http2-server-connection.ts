// Http2ServerConnection: the HTTP/2 server codec of one downstream connection. Node's nghttp2
// session (node:http2, stream API) owns framing, HPACK, SETTINGS, flow control and RST_STREAM on
// the socket the listener accepted; this file turns each HTTP/2 stream into an ActiveStream (one
// Http2StreamEncoder each), maps resets both ways, and drains as Envoy does: a GOAWAY with
// last-stream-id 2^31-1 first, the final GOAWAY after the drain timeout, close once streams end.

import * as http2 from "node:http2";
import type { Duplex } from "node:stream";
import type { TimerHandle } from "../common/timers.js";
import { HTTP2_DEFAULTS, type HttpConnectionManager } from "../config/model/types.js";
import type { DownstreamLimits } from "../bootstrap/bootstrap.js";
import type { ConnectionInfo } from "../listener/connection-info.js";
import type { ConnectionTracker, DownstreamConnection } from "../listener/network-filter.js";
import type { Http2CodecStats, HttpConnManagerStats } from "../observability/stats/http-conn-manager-stats.js";
import { decodeHttp2Request } from "./codec/http2-server-headers.js";
import { Http2StreamEncoder } from "./http2-stream-encoder.js";
import type { ListenerContext } from "./listener-context.js";

/**
 * 5 000 ms: Envoy's connection manager drain_timeout, between the first GOAWAY (last-stream-id
 * 2^31-1: "no new streams soon") and the final one (the real last stream id).
 */
export const HTTP2_DRAIN_TIMEOUT_MS = 5_000;
/**
 * The shutdown notice (RFC 9113 §6.8, nghttp2_submit_shutdown_notice): GOAWAY, NO_ERROR,
 * last-stream-id 2^31-1. Node has no call for it: session.goaway() makes nghttp2 refuse every new
 * stream at once, which would fail the requests a client sent before it saw the notice. It is
 * written on the socket as one whole frame; nghttp2's own writes are whole frames too.
 */
const SHUTDOWN_NOTICE = Buffer.from([0, 0, 8, 7, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
const END_STREAM = http2.constants.NGHTTP2_FLAG_END_STREAM;

/**
 * The HTTP/2 session settings of one connection manager, made once per snapshot: a `node:http2`
 * server object that is never bound, only handed accepted sockets (its options are the session's).
 */
export class Http2ServerCodec {
  readonly server: http2.Http2Server;
  readonly connectionWindow: number;
  /** The connection being set up: `session` is emitted synchronously inside emit("connection"). */
  private attaching: Http2ServerConnection | null = null;

  constructor(hcm: HttpConnectionManager, limits: DownstreamLimits) {
    const o = hcm.http2ProtocolOptions;
    this.connectionWindow = o?.initialConnectionWindowSize ?? HTTP2_DEFAULTS.initialConnectionWindowSize;
    this.server = http2.createServer({
      settings: {
        maxConcurrentStreams: o?.maxConcurrentStreams ?? HTTP2_DEFAULTS.maxConcurrentStreams,
        initialWindowSize: o?.initialStreamWindowSize ?? HTTP2_DEFAULTS.initialStreamWindowSize,
        // max_request_headers_kb, as on HTTP/1: nghttp2 resets a stream whose header list is larger.
        maxHeaderListSize: limits.maxRequestHeadersKb * 1024,
        enableConnectProtocol: false,
      },
      // max_headers_count, plus the four pseudo-headers Node counts too.
      maxHeaderListPairs: limits.maxHeadersCount + 4,
    });
    this.server.on("session", (s: http2.ServerHttp2Session) => this.attaching?.attach(s));
  }

  /** Starts a session on the socket for `conn` (bytes already read and unshifted are replayed). */
  open(conn: Http2ServerConnection, socket: Duplex): void {
    this.attaching = conn;
    try {
      this.server.emit("connection", socket);
    } finally {
      this.attaching = null;
    }
  }
}

export class Http2ServerConnection implements DownstreamConnection {
  readonly info: ConnectionInfo;
  readonly ctx: ListenerContext;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly httpStats: HttpConnManagerStats;
  readonly codecStats: Http2CodecStats;
  private readonly tracker: ConnectionTracker;
  private readonly socket: Duplex;
  session: http2.ServerHttp2Session | undefined;
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
    // A TLS socket without ALPN (prior knowledge over TLS, or codec_type HTTP2) would make Node
    // look for an HTTP/1 fallback: the connection manager already chose HTTP/2.
    const tlsSocket = socket as Duplex & { alpnProtocol?: string | false; secureConnecting?: boolean };
    if (tlsSocket.alpnProtocol === false || tlsSocket.alpnProtocol === "http/1.1") tlsSocket.alpnProtocol = "h2";
    // The transport socket finished the handshake before handing the socket over, but a server
    // TLSSocket made outside tls.Server keeps `secureConnecting` set, and Node's session would wait
    // for a `secureConnect` that never comes.
    if (info.tls !== undefined && tlsSocket.secureConnecting === true) tlsSocket.secureConnecting = false;
    // A client's FIN ends the connection, as in Envoy (listener sockets allow half-open for the
    // TCP proxy, so Node's session would otherwise wait on a socket nobody writes to).
    socket.once("end", () => this.destroySocket());
    codec.open(this, socket);
    if (this.session === undefined) {
      this.destroySocket();
      return;
    }
    this.session.setLocalWindowSize(codec.connectionWindow);
  }

  /** Called from Http2ServerCodec while the session is created. */
  attach(session: http2.ServerHttp2Session): void {
    this.session = session;
    session.on("stream", (stream: http2.ServerHttp2Stream, _h: unknown, flags: number, raw: string[]) => this.onStream(stream, flags, raw));
    session.on("goaway", () => this.onPeerGoaway());
    session.on("error", () => {});
    session.on("close", () => this.onClose());
  }

  private onStream(stream: http2.ServerHttp2Stream, flags: number, raw: string[]): void {
    const limits = this.ctx.services.limits;
    const d = decodeHttp2Request(raw, this.info.tls !== undefined, limits.maxRequestHeadersKb * 1024, limits.maxHeadersCount);
    const enc = new Http2StreamEncoder(this, stream);
    this.open.add(enc);
    this.codecStats.streamsActive.add(1);
    if (typeof d === "string") {
      enc.rejectRequest(d, raw);
      return;
    }
    enc.start(d.req, (flags & END_STREAM) !== 0, d.originalPath);
  }

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
      if (this.goaway === 2) this.session?.close();
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
    const s = this.session;
    if (this.goaway !== 0 || s === undefined || s.closed || s.destroyed || this.socket.writableEnded) return;
    this.goaway = 1;
    this.codecStats.goawaySent.inc();
    this.socket.write(SHUTDOWN_NOTICE);
    const clock = this.ctx.services.clock;
    this.drainTimer = clock.set(() => {
      this.drainTimer = undefined;
      this.finalGoaway();
    }, HTTP2_DRAIN_TIMEOUT_MS);
  }

  private finalGoaway(): void {
    const s = this.session;
    if (this.goaway === 2 || s === undefined || s.destroyed) return;
    this.goaway = 2;
    this.codecStats.goawaySent.inc();
    // Without streams, closing the session sends the final GOAWAY (Node terminates the nghttp2
    // session with it); otherwise it goes now and the last stream to end closes the session.
    if (this.open.size === 0) s.close();
    else s.goaway(http2.constants.NGHTTP2_NO_ERROR);
  }

  private onPeerGoaway(): void {
    // The client opens no more streams: finish the open ones, then close.
    if (this.goaway !== 2) {
      this.goaway = 2;
      this.clearDrainTimer();
    }
    if (this.open.size === 0) this.session?.close();
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
    this.session?.destroy();
    this.socket.destroy();
    this.onClose();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearDrainTimer();
    this.httpStats.connectionClosed(true);
    this.tracker.delete(this);
    this.live?.delete(this);
    // Streams still open die with the connection (their own close events follow; this makes the
    // order certain): each ActiveStream sees a downstream connection termination.
    for (const enc of [...this.open]) enc.onConnectionClosed();
  }
}
