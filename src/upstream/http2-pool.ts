// Http2Pool: HTTP/2 connections to one upstream host (Envoy's HTTP/2 ConnPool). Each connection
// is an H2Session (http/codec/h2/session.ts, client role: Outrigger's own HTTP/2, not node:http2)
// over a socket this pool dialed (TLS: the transport socket's stream, ALPN h2 / istio-h2),
// carrying many streams. A connection's capacity is the least of the peer's
// SETTINGS_MAX_CONCURRENT_STREAMS, the cluster's max_concurrent_streams, what its
// max_requests_per_connection leaves and the stream ids it has left; a new connection is dialed
// only when every open or connecting one is at capacity (connecting ones count for the streams
// they will take, as in Envoy). maxConnections / maxPendingRequests go through the cluster's
// ConnectionGate like HTTP/1. A connection that received GOAWAY, reached
// max_requests_per_connection or max_connection_duration, or ran out of stream ids drains: no
// new streams, closed when its last stream ends. The connection object is its session's handler.

import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { dataPathClock, type DataPathClock } from "../common/clock.js";
import { ErrorCode, ProxyError } from "../common/errors.js";
import type { TimerHandle } from "../common/timers.js";
import { HTTP2_DEFAULTS, type Http2ProtocolOptions } from "../config/model/types.js";
import { ErrorCode as H2Error } from "../http/codec/h2/frames.js";
import { H2Session, type H2SessionHandler, type H2Stream } from "../http/codec/h2/session.js";
import { Http2ClientStream, type Http2StreamHost } from "../http/codec/http2-client-stream.js";
import type { ClusterHttp2Stats, UpstreamCxStats } from "../observability/stats/cluster-stats.js";
import type { HostStats } from "../observability/stats/host-stats.js";
import { upstreamTlsInfoOf, type UpstreamTlsInfo } from "../tls/upstream-tls-info.js";
import type { Cancellable, HttpConnPool, PoolCallbacks, PoolReadyInfo, ResponseDecoder } from "./conn-pool.js";
import { dialUpstream, type DialTarget } from "./dial-upstream.js";
import type { PoolOptions } from "./http1-pool.js";
import type { ConnectionGate, GatedPool } from "./shared/connection-gate.js";
import { sourceAddressFor } from "./source-address.js";

export interface Http2PoolOptions extends PoolOptions {
  /** The cluster's Http2ProtocolOptions (absent fields: Envoy's defaults). */
  http2?: Http2ProtocolOptions;
}

/** The cluster stats the pool moves: connection stats plus the lazily made `http2.*` group. */
export interface Http2PoolStats extends UpstreamCxStats {
  readonly http2: ClusterHttp2Stats;
}

const REUSED: PoolReadyInfo = Object.freeze({ reused: true });
const FRESH: PoolReadyInfo = Object.freeze({ reused: false });
const defaultClock = dataPathClock();

/** Envoy's max_response_headers_kb default (60 KiB) for a response or trailer block. */
const MAX_RESPONSE_HEADER_LIST_SIZE = 60 * 1024;
/** Envoy's max_headers_count default (100), plus `:status`. */
const MAX_RESPONSE_HEADER_PAIRS = 101;
/** Bytes a stream queues before encodeData says stop (Envoy's 1 MiB buffer limit). */
const STREAM_BUFFER_LIMIT = 1024 * 1024;
/** Client stream ids are the odd numbers 1 … 2^31-1: a connection opens at most 2^30 streams. */
const MAX_CLIENT_STREAMS = 2 ** 30;

function noCancel(): void {}

/** A request waiting for a stream slot. `gated`: counted in the cluster's pending requests. */
interface Pending {
  decoder: ResponseDecoder;
  callbacks: PoolCallbacks;
  gated: boolean;
}

/** Why a connection was closed by us (for Envoy's counters). */
const enum Drain {
  None,
  MaxRequests,
  MaxDuration,
}

/** One HTTP/2 connection of the pool: its H2Session's handler and its streams' host. */
export class Http2Connection implements Http2StreamHost, H2SessionHandler {
  session!: H2Session;
  localAddress = "";
  upstreamTls: UpstreamTlsInfo | undefined = undefined;
  /** SETTINGS received: streams may be opened (the peer's limit is known). */
  ready = false;
  /** No new streams (GOAWAY received, max requests or max duration reached, pool closing). */
  draining = false;
  closed = false;
  /** We closed it (upstream_cx_destroy_local); false = the peer or the network did. */
  closedLocally = false;
  /** Streams handed out and not closed yet. */
  active = 0;
  /** Streams ever handed out (max_requests_per_connection, stream ids). */
  total = 0;
  goawayReceived = false;
  /** The peer's SETTINGS_MAX_CONCURRENT_STREAMS (unlimited until its SETTINGS). */
  peerLimit = 0x7fffffff;
  createdAt = 0;
  idleSince = 0;
  /** The SETTINGS wait (connect timeout), cleared once ready. */
  settingsTimer: TimerHandle | undefined = undefined;
  raw: Socket | null = null;
  private rxCounted = 0;
  private txCounted = 0;

  constructor(
    readonly pool: Http2Pool,
    readonly stats: Http2PoolStats | null,
    readonly host: HostStats | null,
  ) {}

  // ---------------------------------------------------------------- H2SessionHandler

  /** Server role only: a client session never gets peer streams (push is disabled). */
  onStream(stream: H2Stream): void {
    stream.reset(H2Error.PROTOCOL_ERROR);
  }

  onRemoteSettings(): void {
    this.pool.onSettings(this);
  }

  onGoaway(lastStreamId: number): void {
    this.pool.onGoaway(this, lastStreamId);
  }

  onClose(): void {
    this.pool.onSessionClose(this);
  }

  // ---------------------------------------------------------------- Http2StreamHost

  streamClosed(): void {
    this.active--;
    this.stats?.http2.streamsActive.add(-1);
    this.pool.onStreamClosed(this);
  }

  countRxReset(): void {
    this.stats?.http2.rxReset.inc();
  }

  countRefused(): void {
    this.stats?.http2.streamRefusedErrors.inc();
  }

  countTxReset(): void {
    this.stats?.http2.txReset.inc();
  }

  countTrailers(): void {
    this.stats?.http2.trailers.inc();
  }

  /** upstream_cx_rx/tx_bytes_total since the last call (at sweeps and at close). */
  countBytes(): void {
    const s = this.stats;
    const raw = this.raw;
    if (s === null || raw === null) return;
    const rx = raw.bytesRead;
    const tx = raw.bytesWritten;
    s.cxRxBytesTotal.inc(rx - this.rxCounted);
    s.cxTxBytesTotal.inc(tx - this.txCounted);
    this.rxCounted = rx;
    this.txCounted = tx;
  }
}

export class Http2Pool implements HttpConnPool, GatedPool {
  readonly protocol = "http2" as const;
  /** Where new connections go; a LOGICAL_DNS cluster re-points it at each resolution's first address. */
  address: string;
  readonly port: number;
  pipe: string | undefined = undefined;
  /** The cluster's stats (set by the cluster manager). */
  stats: Http2PoolStats | null = null;
  hostStats: HostStats | null = null;
  /** Connections open or connecting (the gate's count for this pool). */
  open = 0;
  /** Connections with a session (ready or awaiting SETTINGS), oldest first. */
  private readonly conns: Http2Connection[] = [];
  /** Dials in flight (no session yet). */
  private dialing = 0;
  /** Sessions awaiting the peer's SETTINGS. */
  private notReady = 0;
  private readonly pending: Pending[] = [];
  private opts: Http2PoolOptions;
  private readonly gate: ConnectionGate | null;
  private readonly source: string | undefined;
  private closed = false;
  /** Streams a connection opens at most (cluster max_concurrent_streams, then max requests). */
  private streamLimit: number = HTTP2_DEFAULTS.maxConcurrentStreams;
  private maxRequests = 0;
  private now = 0;

  constructor(address: string, port: number, opts: Http2PoolOptions, gate: ConnectionGate | null = null) {
    this.address = address;
    this.port = port;
    this.opts = opts;
    this.applyLimits();
    this.source = sourceAddressFor(opts.sourceAddress, opts.extraSourceAddresses, address);
    this.gate = gate;
    gate?.register(this);
  }

  updateOptions(opts: Http2PoolOptions): void {
    this.opts = opts;
    this.applyLimits();
  }

  private applyLimits(): void {
    const mcs = this.opts.http2?.maxConcurrentStreams;
    this.streamLimit = mcs !== undefined && mcs > 0 ? mcs : HTTP2_DEFAULTS.maxConcurrentStreams;
    this.maxRequests = this.opts.maxRequestsPerConnection ?? 0;
  }

  private get clock(): DataPathClock {
    return this.opts.clock ?? defaultClock;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** Connections with a session (for tests and /clusters). */
  get connectionCount(): number {
    return this.conns.length;
  }

  /** Streams a connecting connection will take (Envoy counts it for the requests it will carry). */
  private get connectingCapacity(): number {
    const per = this.maxRequests > 0 ? Math.min(this.streamLimit, this.maxRequests) : this.streamLimit;
    let waiting = this.dialing + this.notReady;
    // A peer that allows 0 streams for now (SETTINGS_MAX_CONCURRENT_STREAMS 0) may raise it later:
    // requests wait for it rather than dialing connection after connection that would say the same.
    for (const c of this.conns) if (c.ready && !c.draining && c.peerLimit === 0) waiting++;
    return waiting * per;
  }

  private capacityOf(c: Http2Connection): number {
    if (!c.ready || c.draining || c.closed) return 0;
    let cap = Math.min(c.peerLimit, this.streamLimit) - c.active;
    if (this.maxRequests > 0) cap = Math.min(cap, this.maxRequests - c.total);
    return Math.min(cap, MAX_CLIENT_STREAMS - c.total);
  }

  /** The oldest ready connection with a free stream slot (older ones fill first, as Envoy's list). */
  private withCapacity(): Http2Connection | null {
    const conns = this.conns;
    for (let i = 0; i < conns.length; i++) {
      const c = conns[i]!;
      if (this.capacityOf(c) > 0) {
        if (this.tooOld(c)) {
          this.drain(c, Drain.MaxDuration);
          continue;
        }
        // Out of stream ids (or the session stopped taking streams): it drains, a new one is dialed.
        if (!c.session.canRequest) {
          this.drain(c, Drain.None);
          continue;
        }
        return c;
      }
    }
    return null;
  }

  newStream(decoder: ResponseDecoder, callbacks: PoolCallbacks): Cancellable {
    const c = this.withCapacity();
    if (c !== null) {
      this.attach(c, decoder, callbacks);
      return noCancel;
    }
    if (this.closed) {
      callbacks.onPoolFailure(new ProxyError(ErrorCode.UpstreamOverflow, `pool for ${this.address}:${this.port} closed`, "overflow"));
      return noCancel;
    }
    const p: Pending = { decoder, callbacks, gated: false };
    this.pending.push(p);
    this.grow();
    if (this.pending.length > this.connectingCapacity) {
      // At maxConnections: the request waits for a slot, counted as the cluster's pending request.
      const gate = this.gate!;
      if (!gate.tryQueue()) {
        this.pending.pop();
        callbacks.onPoolFailure(new ProxyError(ErrorCode.UpstreamOverflow, `cluster connection limit reached for ${this.address}:${this.port}`, "overflow"));
        return noCancel;
      }
      p.gated = true;
    }
    return () => this.withdraw(p);
  }

  private withdraw(p: Pending): void {
    const i = this.pending.indexOf(p);
    if (i === -1) return;
    this.pending.splice(i, 1);
    if (p.gated) this.gate?.dequeued();
  }

  /** Dials while pending requests exceed what connecting connections will take (and the gate allows). */
  private grow(): void {
    while (!this.closed && this.pending.length > this.connectingCapacity) {
      const gate = this.gate;
      if (gate !== null && !gate.tryOpen()) {
        // Envoy's upstream_cx_overflow: the connection circuit breaker kept a connection from opening.
        this.stats?.cxOverflow.inc();
        return;
      }
      this.dial();
    }
  }

  /** The gate has connection slots again: dial for requests that wait. */
  serveWaiters(): void {
    this.grow();
  }

  /** HTTP/2 connections idle with no streams are given back to whoever waits for a slot. */
  closeIdle(n: number): number {
    let closed = 0;
    for (const c of [...this.conns]) {
      if (closed >= n) break;
      if (c.ready && c.active === 0) {
        this.closeConn(c);
        closed++;
      }
    }
    return closed;
  }

  private attach(c: Http2Connection, decoder: ResponseDecoder, callbacks: PoolCallbacks): void {
    const reused = c.total > 0;
    c.active++;
    c.total++;
    this.stats?.http2.streamsActive.add(1);
    // Envoy: a connection that reached max_requests_per_connection takes no more and drains.
    if (this.maxRequests > 0 && c.total >= this.maxRequests) this.drain(c, Drain.MaxRequests);
    callbacks.onPoolReady(new Http2ClientStream(c, decoder), reused ? REUSED : FRESH);
  }

  /** Gives free stream slots to waiting requests, oldest first; dials for the rest. */
  private servePending(): void {
    const pending = this.pending;
    while (pending.length > 0) {
      const c = this.withCapacity();
      if (c === null) break;
      const p = pending.shift()!;
      if (p.gated) this.gate?.dequeued();
      this.attach(c, p.decoder, p.callbacks);
    }
    if (pending.length > 0) this.grow();
  }

  private dial(): void {
    this.open++;
    this.dialing++;
    const o = this.opts;
    const target: DialTarget = {
      address: this.address,
      port: this.port,
      pipe: this.pipe,
      source: this.source,
      connectTimeoutMs: o.connectTimeoutMs,
      tcpKeepaliveTimeMs: o.tcpKeepaliveTimeMs,
      transport: o.transport,
      protocol: "h2",
      clock: this.clock,
    };
    const stats = this.stats;
    const host = this.hostStats;
    dialUpstream(target, stats, host, (err, socket, stream) => {
      this.dialing--;
      if (err !== null || socket === null || stream === null) {
        this.dropped();
        this.failPending(err ?? new ProxyError(ErrorCode.UpstreamConnectFailure, `connect to ${this.address}:${this.port} failed`, ""));
        return;
      }
      if (this.closed) {
        stream.destroy();
        socket.destroy();
        this.dropped();
        return;
      }
      this.startSession(socket, stream, stats, host);
    });
  }

  /** The connect failed: requests that no other connecting connection will take fail with it (UF). */
  private failPending(err: ProxyError): void {
    const keep = this.connectingCapacity;
    while (this.pending.length > keep) {
      const p = this.pending.shift()!;
      if (p.gated) this.gate?.dequeued();
      p.callbacks.onPoolFailure(err);
    }
    // Requests left waiting (for a slot the gate gives back) may need another dial.
    this.grow();
  }

  private startSession(socket: Socket, stream: Duplex, stats: Http2PoolStats | null, host: HostStats | null): void {
    const c = new Http2Connection(this, stats, host);
    c.raw = socket;
    c.localAddress = `${socket.localAddress}:${socket.localPort}`;
    c.upstreamTls = upstreamTlsInfoOf(stream);
    c.createdAt = this.clock.monotonic();
    this.conns.push(c);
    this.notReady++;
    stats?.cxActive.add(1);
    stats?.http2.cxHttp2Total.inc();
    if (host !== null) host.cxActive++;
    const h2 = this.opts.http2;
    // Envoy's SETTINGS: no server push, its windows (256 MiB by default), its stream limit.
    c.session = new H2Session(
      stream,
      {
        role: "client",
        maxConcurrentStreams: this.streamLimit,
        initialStreamWindowSize: h2?.initialStreamWindowSize ?? HTTP2_DEFAULTS.initialStreamWindowSize,
        initialConnectionWindowSize: h2?.initialConnectionWindowSize ?? HTTP2_DEFAULTS.initialConnectionWindowSize,
        maxHeaderListSize: MAX_RESPONSE_HEADER_LIST_SIZE,
        maxHeaderPairs: MAX_RESPONSE_HEADER_PAIRS,
        streamBufferLimit: STREAM_BUFFER_LIMIT,
        // The cluster's override_stream_error_on_invalid_http_message: a malformed response resets
        // only its stream; by default (Envoy's) it ends the connection, each stream a protocol error.
        streamErrorOnInvalidMessage: h2?.streamErrorOnInvalidHttpMessage === true,
        timers: this.clock,
      },
      c,
    );
    if (c.closed) return;
    // The peer's SETTINGS must come within the connect timeout (a peer that is not HTTP/2 never sends them).
    c.settingsTimer = this.clock.set(() => {
      c.settingsTimer = undefined;
      if (c.ready || c.closed) return;
      stats?.cxConnectTimeout.inc();
      stats?.cxConnectFail.inc();
      if (host !== null) host.cxConnectFail++;
      c.closedLocally = true;
      c.session.destroy();
    }, this.opts.connectTimeoutMs);
  }

  /** @internal The peer's SETTINGS: the connection is ready, or its limit changed. */
  onSettings(c: Http2Connection): void {
    if (c.closed) return;
    c.peerLimit = c.session.peerMaxConcurrentStreams;
    if (!c.ready) {
      c.ready = true;
      this.notReady--;
      if (c.settingsTimer !== undefined) {
        this.clock.clear(c.settingsTimer);
        c.settingsTimer = undefined;
      }
      c.idleSince = this.now;
    }
    this.servePending();
  }

  /**
   * @internal GOAWAY from the upstream: no new streams here. The session has already reset the
   * streams above its last stream id as refused (never processed: the router retries them).
   */
  onGoaway(c: Http2Connection, _lastStreamId: number): void {
    if (c.closed) return;
    if (!c.goawayReceived) {
      c.goawayReceived = true;
      c.stats?.http2.cxCloseNotify.inc();
    }
    if (!c.ready) {
      c.ready = true; // no longer connecting: its capacity is 0 from now on
      this.notReady--;
      if (c.settingsTimer !== undefined) {
        this.clock.clear(c.settingsTimer);
        c.settingsTimer = undefined;
      }
    }
    c.draining = true;
    if (c.active === 0) this.closeConn(c);
    // New work goes to another (or a new) connection.
    this.servePending();
  }

  /** @internal */
  onStreamClosed(c: Http2Connection): void {
    if (c.closed) return;
    if (c.active === 0) {
      if (c.draining) {
        this.closeConn(c);
        return;
      }
      c.idleSince = this.now;
    }
    if (this.pending.length > 0) this.servePending();
  }

  /** @internal The session is gone (closed by either side, or the network). */
  onSessionClose(c: Http2Connection): void {
    if (c.closed) return;
    c.closed = true;
    if (c.settingsTimer !== undefined) {
      this.clock.clear(c.settingsTimer);
      c.settingsTimer = undefined;
    }
    const i = this.conns.indexOf(c);
    if (i !== -1) this.conns.splice(i, 1);
    const wasConnecting = !c.ready;
    if (wasConnecting) this.notReady--;
    c.countBytes();
    const s = c.stats;
    if (s !== null) {
      s.cxActive.add(-1);
      s.cxDestroy.inc();
      (c.closedLocally ? s.cxDestroyLocal : s.cxDestroyRemote).inc();
    }
    if (c.host !== null) c.host.cxActive--;
    c.raw?.destroy();
    this.dropped();
    if (wasConnecting) {
      // It never became usable: the requests it would have taken fail as a connect failure.
      this.failPending(new ProxyError(ErrorCode.UpstreamConnectFailure, `HTTP/2 connection to ${this.address}:${this.port} closed before SETTINGS`, ""));
      return;
    }
    if (this.pending.length > 0) this.servePending();
  }

  /** Stops new streams on `c`; closes it now when it has none. */
  private drain(c: Http2Connection, why: Drain): void {
    if (c.draining) return;
    c.draining = true;
    const s = this.stats;
    if (s !== null) {
      if (why === Drain.MaxRequests) s.http2.cxMaxRequests.inc();
      else if (why === Drain.MaxDuration) s.http2.cxMaxDurationReached.inc();
    }
    if (c.active === 0) this.closeConn(c);
  }

  /** Graceful close: GOAWAY, then the socket closes (streams in flight finish first). */
  private closeConn(c: Http2Connection): void {
    if (c.closed || c.closedLocally) return;
    c.draining = true;
    c.closedLocally = true;
    this.stats?.http2.goawaySent.inc();
    // GOAWAY(NO_ERROR) now; the socket ends once the streams in flight are done.
    c.session.close();
  }

  /** A connection is gone: uncount it and give its slot to whoever waits. */
  private dropped(): void {
    this.open--;
    this.gate?.onClosed();
  }

  private tooOld(c: Http2Connection): boolean {
    const max = this.opts.maxConnectionDurationMs;
    return max !== undefined && max > 0 && this.clock.monotonic() - c.createdAt >= max;
  }

  /** Closes connections idle (no streams) past the idle timeout, drains those past their maximum duration. */
  sweep(now: number): void {
    this.now = now;
    // No 4 s cap as for HTTP/1: a server's idle close is a GOAWAY here, and a stream that races it
    // is refused (retriable), so Envoy's idle timeout (1 h by default) applies as configured.
    const limit = this.opts.idleTimeoutMs;
    for (const c of [...this.conns]) {
      if (!c.ready || c.closed) continue;
      c.countBytes();
      if (this.tooOld(c)) {
        this.drain(c, Drain.MaxDuration);
        continue;
      }
      if (c.active === 0 && !c.draining && now - c.idleSince >= limit) {
        this.stats?.http2.cxIdleTimeout.inc();
        this.closeConn(c);
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const c of [...this.conns]) {
      // Streams in flight finish (their connection drains); idle ones close now.
      this.drain(c, Drain.None);
    }
    for (const p of this.pending.splice(0)) {
      if (p.gated) this.gate?.dequeued();
      p.callbacks.onPoolFailure(new ProxyError(ErrorCode.UpstreamOverflow, `pool for ${this.address}:${this.port} closed`, "overflow"));
    }
    this.gate?.unregister(this);
  }
}
