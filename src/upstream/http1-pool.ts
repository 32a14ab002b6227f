// Http1Pool: keep-alive connections to one upstream host (address:port). LIFO reuse keeps the
// warmest connection busy; idle connections are closed well before common servers' keep-alive
// timeouts (Node 5 s, nginx 75 s) so a request never races a server-side close (the classic
// sidecar 503 UC).

import { sourceAddressFor } from "./source-address.js";
import type { Socket } from "node:net";
import { dialUpstream, type DialTarget } from "./dial-upstream.js";
import type { Duplex } from "node:stream";
import { ErrorCode, ProxyError } from "../common/errors.js";
import { Http1ClientStream, type Http1StreamOwner } from "../http/codec/http1-client-stream.js";
import type { TransportSocketFactory } from "../listener/transport-socket.js";
import type { Cancellable, HttpConnPool, PoolCallbacks, PoolReadyInfo, ResponseDecoder } from "./conn-pool.js";
import type { ConnectionGate, GatedPool } from "./shared/connection-gate.js";
import { UpstreamConnection, type ConnectionOwner } from "./upstream-connection.js";
import type { UpstreamCxStats } from "../observability/stats/cluster-stats.js";
import type { HostStats } from "../observability/stats/host-stats.js";
import { dataPathClock, type DataPathClock } from "../common/clock.js";

export interface PoolOptions {
  connectTimeoutMs: number;
  /** Idle connections older than this are closed by `sweep`. */
  idleTimeoutMs: number;
  /** Envoy max_requests_per_connection: close a connection after this many requests (0/absent = unlimited). */
  maxRequestsPerConnection?: number;
  /**
   * Istio connectionPool.tcp.tcpKeepalive: enable TCP keep-alive with this idle time before the
   * first probe (0 = the OS default). Node exposes no per-socket probe count or interval, so
   * those stay at the OS defaults.
   */
  tcpKeepaliveTimeMs?: number;
  /** Envoy max_connection_duration: a connection older than this takes no new request (ms). */
  maxConnectionDurationMs?: number;
  /** The cluster's transport socket (plaintext by default). */
  transport?: TransportSocketFactory;
  /** The data path's clock (connect timeouts, connection ages). Default: system time and timers. */
  clock?: DataPathClock;
  /** Envoy upstream_bind_config.source_address: connect from this local address. */
  sourceAddress?: string;
  /** Envoy upstream_bind_config.extra_source_addresses: used instead for a host of their family. */
  extraSourceAddresses?: readonly string[];
}

/**
 * 4 000 ms: default cap on upstream idle time, below Node's 5 s server keepAliveTimeout, the
 * shortest common default. A DestinationRule idleTimeout lower than this wins.
 */
export const DEFAULT_MAX_IDLE_MS = 4_000;

export type AcquireCallback = (err: ProxyError | null, conn: UpstreamConnection | null, reused: boolean) => void;

/** Withdraws a request still waiting for a connection (no-op once it has one). */
export type CancelAcquire = () => void;

function noCancel(): void {}

const REUSED: PoolReadyInfo = Object.freeze({ reused: true });
const FRESH: PoolReadyInfo = Object.freeze({ reused: false });

const defaultClock = dataPathClock();

/** Envoy's transport failure reason for a failed connect (kept here for existing importers). */
export { connectFailureReason } from "./dial-upstream.js";

export class Http1Pool implements ConnectionOwner, GatedPool, HttpConnPool, Http1StreamOwner {
  readonly protocol = "http1" as const;
  /** Where new connections go; a LOGICAL_DNS cluster re-points it at each resolution's first address. */
  address: string;
  readonly port: number;
  /** A Unix socket path (Envoy's Pipe): connections go there instead of address:port. */
  pipe: string | undefined = undefined;
  private readonly idle: UpstreamConnection[] = [];
  /** Connections open (idle + busy + connecting). */
  open = 0;
  private opts: PoolOptions;
  private closed = false;
  /**
   * The cluster's maxConnections / maxPendingRequests, shared by every worker (null: unlimited,
   * and then the pool does no counting at all).
   */
  private readonly gate: ConnectionGate | null;
  /** Requests waiting for a connection, FIFO (Envoy's pending requests of this host's pool). */
  private readonly waiters: AcquireCallback[] = [];

  /** The local address to bind for this host (source_address, or the extra one of the host's family). */
  private readonly source: string | undefined;
  constructor(address: string, port: number, opts: PoolOptions, gate: ConnectionGate | null = null) {
    this.address = address;
    this.port = port;
    this.opts = opts;
    this.source = sourceAddressFor(opts.sourceAddress, opts.extraSourceAddresses, address);
    this.gate = gate;
    gate?.register(this);
  }

  /** Coarse time of the last sweep: when a released connection went idle. */
  private now = 0;
  /** The cluster's `upstream_cx_*` stats (set by the cluster manager). */
  stats: UpstreamCxStats | null = null;
  /** The host's cx_* stats (/clusters; set by the cluster manager). */
  hostStats: HostStats | null = null;

  /**
   * A codec stream for one request: on an idle connection at once, else once one is dialed (or
   * freed, when the cluster is at maxConnections). The returned function withdraws a waiting
   * request.
   */
  newStream(decoder: ResponseDecoder, callbacks: PoolCallbacks): Cancellable {
    // The common case, an idle keep-alive connection: no callback closure, no info object.
    const idle = this.takeIdle();
    if (idle !== null) {
      callbacks.onPoolReady(new Http1ClientStream(idle, this, decoder, true), REUSED);
      return noCancel;
    }
    return this.acquire((err, conn, reused) => {
      if (err !== null || conn === null) {
        callbacks.onPoolFailure(err ?? new ProxyError(ErrorCode.UpstreamConnectFailure, `connect to ${this.address}:${this.port} failed`));
        return;
      }
      callbacks.onPoolReady(new Http1ClientStream(conn, this, decoder, reused), reused ? REUSED : FRESH);
    });
  }

  connectFresh(cb: (err: ProxyError | null, conn: UpstreamConnection | null) => void): void {
    this.acquire((err, conn) => cb(err, conn), true);
  }

  private get clock(): DataPathClock {
    return this.opts.clock ?? defaultClock;
  }

  get pendingCount(): number {
    return this.waiters.length;
  }

  updateOptions(opts: PoolOptions): void {
    this.opts = opts;
  }

  get idleCount(): number {
    return this.idle.length;
  }

  /**
   * Hands out an idle connection or dials a new one. `fresh` skips the idle list. When the
   * cluster is at maxConnections the request waits (FIFO) for a connection freed in this worker,
   * or fails at once with UpstreamOverflow when maxPendingRequests is reached too. The returned
   * function withdraws a waiting request (the downstream went away).
   */
  acquire(cb: AcquireCallback, fresh = false): CancelAcquire {
    if (!fresh) {
      const c = this.takeIdle();
      if (c !== null) {
        cb(null, c, true);
        return noCancel;
      }
    }
    const gate = this.gate;
    if (gate === null || gate.tryOpen()) {
      this.dial(cb);
      return noCancel;
    }
    // Envoy's upstream_cx_overflow: the connection circuit breaker kept a connection from opening.
    this.stats?.cxOverflow.inc();
    if (this.closed || !gate.tryQueue()) {
      cb(new ProxyError(ErrorCode.UpstreamOverflow, `cluster connection limit reached for ${this.address}:${this.port}`, "overflow"), null, false);
      return noCancel;
    }
    this.waiters.push(cb);
    return () => {
      const i = this.waiters.indexOf(cb);
      if (i === -1) return;
      this.waiters.splice(i, 1);
      gate.dequeued();
    };
  }

  /** The most recently used idle connection that can still carry a request (dead ones are closed). */
  private takeIdle(): UpstreamConnection | null {
    while (this.idle.length > 0) {
      const c = this.idle.pop()!;
      // Past max_connection_duration a connection takes no new request, even between sweeps.
      if (!c.closed && c.socket.writable && !this.tooOld(c)) return c;
      c.destroy();
      this.dropped();
    }
    return null;
  }

  /** Dials for waiting requests while the cluster has connection slots (the gate calls this). */
  serveWaiters(): void {
    const gate = this.gate;
    if (gate === null) return;
    while (this.waiters.length > 0 && gate.tryOpen()) {
      const cb = this.waiters.shift()!;
      gate.dequeued();
      this.dial(cb);
    }
  }

  /** Closes up to `n` idle connections (their slots are wanted elsewhere). */
  closeIdle(n: number): number {
    let closed = 0;
    while (closed < n && this.idle.length > 0) {
      this.idle.shift()!.destroy();
      this.dropped();
      closed++;
    }
    return closed;
  }

  /** A connection is gone: uncount it, and give its slot to whoever waits. */
  private dropped(): void {
    this.open--;
    this.gate?.onClosed();
  }

  /** Dials without asking the gate (the caller holds a connection slot, or there is no gate). */
  private dial(cb: AcquireCallback): void {
    this.open++;
    const stats = this.stats;
    const host = this.hostStats;
    const o = this.opts;
    const target: DialTarget = {
      address: this.address,
      port: this.port,
      pipe: this.pipe,
      source: this.source,
      connectTimeoutMs: o.connectTimeoutMs,
      tcpKeepaliveTimeMs: o.tcpKeepaliveTimeMs,
      transport: o.transport,
      protocol: "http/1.1",
      clock: this.clock,
    };
    dialUpstream(target, stats, host, (err, socket, stream) => {
      if (err !== null || socket === null || stream === null) {
        this.dropped();
        cb(err, null, false);
        return;
      }
      this.connected(socket, stream, stats, host, cb);
    });
  }

  private connected(socket: Socket, stream: Duplex, stats: UpstreamCxStats | null, host: HostStats | null, cb: AcquireCallback): void {
    const conn = new UpstreamConnection(socket, stream, this, stats, host);
    if (this.opts.maxConnectionDurationMs !== undefined) conn.createdAt = this.clock.monotonic();
    cb(null, conn, false);
  }

  /** Returns a connection after a complete exchange; `reusable` false closes it. */
  release(conn: UpstreamConnection, reusable: boolean): void {
    conn.requests++;
    conn.countTxBytes();
    conn.detach();
    const maxRq = this.opts.maxRequestsPerConnection;
    if (!reusable || conn.closed || this.closed || (maxRq !== undefined && maxRq > 0 && conn.requests >= maxRq) || this.tooOld(conn)) {
      this.discard(conn);
      return;
    }
    if (this.gate !== null) {
      // Envoy's http1 pool: a freed connection goes to the oldest pending request of this pool.
      const next = this.waiters.shift();
      if (next !== undefined) {
        this.gate.dequeued();
        next(null, conn, true);
        return;
      }
      // Someone else (another host's pool, another worker) waits for a slot: hand it over.
      if (this.gate.othersWaiting()) {
        this.discard(conn);
        return;
      }
    }
    conn.idleSince = this.now;
    this.idle.push(conn);
  }

  /** Closes a connection that was handed out and will not come back. */
  discard(conn: UpstreamConnection): void {
    if (!conn.closed) conn.destroy();
    this.dropped();
  }

  onIdleClosed(conn: UpstreamConnection): void {
    const i = this.idle.indexOf(conn);
    if (i !== -1) {
      this.idle.splice(i, 1);
      this.dropped();
    }
  }

  /** Past max_connection_duration: Envoy drains such a connection (no new requests). */
  private tooOld(conn: UpstreamConnection): boolean {
    const max = this.opts.maxConnectionDurationMs;
    return max !== undefined && max > 0 && this.clock.monotonic() - conn.createdAt >= max;
  }

  /** Closes idle connections idle for longer than the idle timeout, or older than their maximum duration. */
  sweep(now: number): void {
    this.now = now;
    const limit = Math.min(this.opts.idleTimeoutMs, DEFAULT_MAX_IDLE_MS);
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const c = this.idle[i]!;
      if (now - c.idleSince >= limit || this.tooOld(c)) {
        this.idle.splice(i, 1);
        c.destroy();
        this.dropped();
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const c of this.idle) {
      c.destroy();
      this.dropped();
    }
    this.idle.length = 0;
    // Requests still waiting on a removed pool: overflow (the cluster they queued for is gone).
    for (const cb of this.waiters.splice(0)) {
      this.gate?.dequeued();
      cb(new ProxyError(ErrorCode.UpstreamOverflow, `pool for ${this.address}:${this.port} closed`, "overflow"), null, false);
    }
    this.gate?.unregister(this);
  }
}
