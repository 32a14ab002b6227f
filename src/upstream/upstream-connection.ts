// UpstreamConnection: one plaintext HTTP/1.1 connection to an upstream host. Socket listeners are
// attached once; the exchange currently using the connection receives its events, so a pooled
// connection costs no closures per request.

import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { UpstreamCxStats } from "../observability/stats/cluster-stats.js";
import type { HostStats } from "../observability/stats/host-stats.js";

/** The side of an exchange that owns an upstream connection while a request is in flight. */
export interface UpstreamHandler {
  onUpstreamData(chunk: Buffer): void;
  /** The upstream closed or reset the connection (err set for resets). */
  onUpstreamClose(err: Error | undefined): void;
  onUpstreamDrain(): void;
}

export interface ConnectionOwner {
  /** Called when a connection in the idle pool dies or misbehaves. */
  onIdleClosed(conn: UpstreamConnection): void;
}

export class UpstreamConnection {
  /** The byte stream the codec reads and writes (the socket, or its transport socket's stream). */
  readonly socket: Duplex;
  handler: UpstreamHandler | null = null;
  /** Requests completed on this connection (0 while serving its first). */
  requests = 0;
  /** Set when the connection cannot carry another request. */
  closed = false;
  /** Coarse time (ms) it went idle, for idle-timeout sweeps. */
  idleSince = 0;
  /** Wall-clock ms it connected (set only when the cluster has a max connection duration). */
  createdAt = 0;
  readonly localAddress: string;
  private readonly owner: ConnectionOwner;
  private readonly raw: Socket;
  /** The cluster's `upstream_cx_*` stats (null: not counted). */
  private readonly stats: UpstreamCxStats | null;
  /** The host's stats (cx_active), the same object from open to close. */
  private readonly host: HostStats | null;
  /** Bytes of `raw.bytesWritten` already counted in upstream_cx_tx_bytes_total. */
  private txCounted = 0;

  constructor(raw: Socket, socket: Duplex, owner: ConnectionOwner, stats: UpstreamCxStats | null = null, host: HostStats | null = null) {
    this.socket = socket;
    this.owner = owner;
    this.raw = raw;
    this.stats = stats;
    this.host = host;
    stats?.cxActive.add(1);
    if (host !== null) host.cxActive++;
    this.localAddress = `${raw.localAddress}:${raw.localPort}`;
    socket.on("data", (chunk: Buffer) => {
      this.stats?.cxRxBytesTotal.inc(chunk.length);
      const h = this.handler;
      if (h !== null) h.onUpstreamData(chunk);
      else this.destroyIdle(); // bytes while idle: the server broke framing; never reuse
    });
    socket.on("drain", () => this.handler?.onUpstreamDrain());
    socket.on("end", () => this.onClose(undefined));
    socket.on("error", (err) => this.onClose(err));
    socket.on("close", () => this.onClose(undefined));
  }

  /** Adds the bytes written since the last call to upstream_cx_tx_bytes_total (after each exchange, at close). */
  countTxBytes(): void {
    const s = this.stats;
    if (s === null) return;
    const written = this.raw.bytesWritten;
    s.cxTxBytesTotal.inc(written - this.txCounted);
    this.txCounted = written;
  }

  /** The connection is gone: `local` when we closed it (Envoy's upstream_cx_destroy_local / _remote). */
  private countDestroy(local: boolean): void {
    if (this.host !== null) this.host.cxActive--;
    const s = this.stats;
    if (s === null) return;
    this.countTxBytes();
    s.cxActive.add(-1);
    s.cxDestroy.inc();
    (local ? s.cxDestroyLocal : s.cxDestroyRemote).inc();
  }

  private onClose(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.countDestroy(false);
    const h = this.handler;
    this.handler = null;
    if (h !== null) h.onUpstreamClose(err);
    else this.owner.onIdleClosed(this);
    this.socket.destroy();
  }

  private destroyIdle(): void {
    this.onClose(undefined);
  }

  /** Detaches the handler without closing (the exchange is done and the connection is reusable). */
  detach(): void {
    this.handler = null;
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.countDestroy(true);
    this.handler = null;
    this.socket.destroy();
  }
}
