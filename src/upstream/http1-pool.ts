// Http1Pool: keep-alive connections to one upstream host (address:port). LIFO reuse keeps the
// warmest connection busy; idle connections are closed well before common servers' keep-alive
// timeouts (Node 5 s, nginx 75 s) so a request never races a server-side close (the classic
// sidecar 503 UC).

import { connect } from "node:net";
import { ErrorCode, ProxyError } from "../common/errors.js";
import { UpstreamConnection, type ConnectionOwner } from "./upstream-connection.js";

export interface PoolOptions {
  connectTimeoutMs: number;
  /** Idle connections older than this are closed by `sweep`. */
  idleTimeoutMs: number;
}

/**
 * 4 000 ms: default cap on upstream idle time, below Node's 5 s server keepAliveTimeout, the
 * shortest common default. A DestinationRule idleTimeout lower than this wins.
 */
export const DEFAULT_MAX_IDLE_MS = 4_000;

export type AcquireCallback = (err: ProxyError | null, conn: UpstreamConnection | null, reused: boolean) => void;

const errnoNumbers: Record<string, number> = { ECONNREFUSED: 111, ECONNRESET: 104, EHOSTUNREACH: 113, ENETUNREACH: 101, ETIMEDOUT: 110 };

/** Envoy's transport failure reason for a failed connect, e.g. `delayed connect error: 111`. */
export function connectFailureReason(err: NodeJS.ErrnoException): string {
  const n = err.code !== undefined ? errnoNumbers[err.code] : undefined;
  return `delayed connect error: ${n ?? err.code ?? err.message}`;
}

export class Http1Pool implements ConnectionOwner {
  readonly address: string;
  readonly port: number;
  private readonly idle: UpstreamConnection[] = [];
  /** Connections open (idle + busy + connecting). */
  open = 0;
  private opts: PoolOptions;
  private closed = false;

  constructor(address: string, port: number, opts: PoolOptions) {
    this.address = address;
    this.port = port;
    this.opts = opts;
  }

  updateOptions(opts: PoolOptions): void {
    this.opts = opts;
  }

  get idleCount(): number {
    return this.idle.length;
  }

  /** Hands out an idle connection or dials a new one. `fresh` skips the idle list. */
  acquire(cb: AcquireCallback, fresh = false): void {
    if (!fresh) {
      while (this.idle.length > 0) {
        const c = this.idle.pop()!;
        if (!c.closed && c.socket.writable) {
          cb(null, c, true);
          return;
        }
        c.destroy();
        this.open--;
      }
    }
    this.dial(cb);
  }

  private dial(cb: AcquireCallback): void {
    this.open++;
    const socket = connect({ host: this.address, port: this.port });
    socket.setNoDelay(true);
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      socket.destroy();
      this.open--;
      cb(new ProxyError(ErrorCode.UpstreamConnectTimeout, `connect to ${this.address}:${this.port} timed out`, "connection timeout"), null, false);
    }, this.opts.connectTimeoutMs);
    const onError = (err: NodeJS.ErrnoException): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.open--;
      socket.destroy();
      cb(new ProxyError(ErrorCode.UpstreamConnectFailure, `connect to ${this.address}:${this.port} failed: ${err.message}`, connectFailureReason(err)), null, false);
    };
    socket.once("error", onError);
    socket.once("connect", () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.removeListener("error", onError);
      cb(null, new UpstreamConnection(socket, this), false);
    });
  }

  /** Returns a connection after a complete exchange; `reusable` false closes it. */
  release(conn: UpstreamConnection, reusable: boolean, now: number): void {
    conn.requests++;
    conn.detach();
    if (!reusable || conn.closed || this.closed) {
      this.discard(conn);
      return;
    }
    conn.idleSince = now;
    this.idle.push(conn);
  }

  /** Closes a connection that was handed out and will not come back. */
  discard(conn: UpstreamConnection): void {
    if (!conn.closed) conn.destroy();
    this.open--;
  }

  onIdleClosed(conn: UpstreamConnection): void {
    const i = this.idle.indexOf(conn);
    if (i !== -1) {
      this.idle.splice(i, 1);
      this.open--;
    }
  }

  /** Closes idle connections idle for longer than the idle timeout. */
  sweep(now: number): void {
    const limit = Math.min(this.opts.idleTimeoutMs, DEFAULT_MAX_IDLE_MS);
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const c = this.idle[i]!;
      if (now - c.idleSince >= limit) {
        this.idle.splice(i, 1);
        c.destroy();
        this.open--;
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const c of this.idle) c.destroy();
    this.open -= this.idle.length;
    this.idle.length = 0;
  }
}
