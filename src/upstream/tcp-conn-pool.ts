// TcpConnPool: raw upstream connections to one host for the TCP proxy (Envoy's TCP connection
// pool as tcp_proxy uses it: a connection is never shared nor returned, so there is no idle list).
// It counts connections against the cluster's maxConnections through the same ConnectionGate as
// the HTTP pools, so the limit holds for HTTP and TCP connections together across workers.

import { sourceAddressFor } from "./source-address.js";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { ErrorCode, ProxyError } from "../common/errors.js";
import type { Timers } from "../common/timers.js";
import { rawBufferTransport, type TransportSocketFactory } from "../listener/transport-socket.js";
import { connectFailureReason } from "./http1-pool.js";
import type { ConnectionGate } from "./shared/connection-gate.js";
import type { UpstreamCxStats } from "../observability/stats/cluster-stats.js";
import type { HostStats } from "../observability/stats/host-stats.js";

export interface TcpPoolOptions {
  connectTimeoutMs: number;
  /** TCP keep-alive idle time before the first probe (0 = OS default); undefined = keep-alive off. */
  tcpKeepaliveTimeMs?: number;
  /** The cluster's transport socket (plaintext by default). */
  transport?: TransportSocketFactory;
  /** Envoy upstream_bind_config.source_address: connect from this local address. */
  sourceAddress?: string;
  /** Envoy upstream_bind_config.extra_source_addresses: used instead for a host of their family. */
  extraSourceAddresses?: readonly string[];
}

/** One connected upstream socket, owned by the TCP proxy session that asked for it. */
export class TcpUpstreamConnection {
  /** The byte stream to read and write (the socket, or its transport socket's stream). */
  readonly stream: Duplex;
  /** `ip:port` of our side (Envoy's %UPSTREAM_LOCAL_ADDRESS%). */
  readonly localAddress: string;
  private released = false;
  /** The host's stats (cx_active, rq_active), the same object from open to close. */
  private readonly host: HostStats | null;

  constructor(
    readonly socket: Socket,
    private readonly pool: TcpConnPool,
    stream: Duplex = socket,
  ) {
    this.stream = stream;
    this.localAddress = `${socket.localAddress}:${socket.localPort}`;
    pool.stats?.cxActive.add(1);
    // Envoy's TCP pool attaches one stream per connection: it counts as the host's request too.
    const host = (this.host = pool.hostStats);
    if (host !== null) {
      host.cxActive++;
      host.rqTotal++;
      host.rqActive++;
    }
  }

  /** Closes the connection (if still open) and gives its connection slot back, once. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (!this.stream.destroyed) this.stream.destroy();
    if (!this.socket.destroyed) this.socket.destroy();
    this.pool.dropped();
    if (this.host !== null) {
      this.host.cxActive--;
      this.host.rqActive--;
    }
    const s = this.pool.stats;
    if (s !== null) {
      s.cxActive.add(-1);
      s.cxDestroy.inc();
      s.cxRxBytesTotal.inc(this.socket.bytesRead);
      s.cxTxBytesTotal.inc(this.socket.bytesWritten);
    }
  }
}

export type TcpConnectCallback = (err: ProxyError | null, conn: TcpUpstreamConnection | null) => void;

/** Withdraws a connect still in progress (the downstream went away); no-op once it finished. */
export type CancelConnect = () => void;

export class TcpConnPool {
  /** Where new connections go (a LOGICAL_DNS host re-points it at each resolution). */
  address: string;
  readonly port: number;
  opts: TcpPoolOptions;
  /** Connections open or connecting. */
  open = 0;
  /** The cluster's `upstream_cx_*` stats (set by the cluster manager). */
  stats: UpstreamCxStats | null = null;
  /** The host's cx_* stats (/clusters; set by the cluster manager). */
  hostStats: HostStats | null = null;
  private readonly gate: ConnectionGate | null;

  /** The local address to bind for this host (source_address, or the extra one of the host's family). */
  private readonly source: string | undefined;
  /** A Unix socket path (Envoy's Pipe): connections go there instead of address:port. */
  readonly pipe: string | undefined;
  constructor(address: string, port: number, opts: TcpPoolOptions, gate: ConnectionGate | null, pipe?: string) {
    this.address = address;
    this.port = port;
    this.pipe = pipe;
    this.opts = opts;
    this.source = sourceAddressFor(opts.sourceAddress, opts.extraSourceAddresses, address);
    this.gate = gate;
  }

  /**
   * Dials a new connection. At the cluster's maxConnections it fails at once with overflow (UO):
   * Envoy's tcp_proxy checks the connection limit before asking the pool, since a TCP connection
   * is never handed back for a waiter to take. `timers` arm the connect timeout.
   */
  newConnection(timers: Timers, cb: TcpConnectCallback): CancelConnect {
    const gate = this.gate;
    const stats = this.stats;
    if (gate !== null && !gate.tryOpen()) {
      stats?.cxOverflow.inc();
      cb(new ProxyError(ErrorCode.UpstreamOverflow, `cluster connection limit reached for ${this.address}:${this.port}`, "overflow"), null);
      return noCancel;
    }
    this.open++;
    stats?.cxTotal.inc();
    const host = this.hostStats;
    if (host !== null) host.cxTotal++;
    // allowHalfOpen: the upstream's FIN must not end our side, the downstream may still be sending.
    const src = this.source;
    const socket = connect(
      this.pipe !== undefined
        ? { path: this.pipe, allowHalfOpen: true, noDelay: true }
        : src === undefined
        ? { host: this.address, port: this.port, allowHalfOpen: true, noDelay: true }
        : { host: this.address, port: this.port, allowHalfOpen: true, noDelay: true, localAddress: src },
    );
    let done = false;
    const finish = (): void => {
      done = true;
      timers.clear(timer);
      socket.removeListener("error", onError);
    };
    const timer = timers.set(() => {
      if (done) return;
      finish();
      socket.on("error", ignore);
      socket.destroy();
      this.dropped();
      if (stats !== null) {
        stats.cxConnectTimeout.inc();
        stats.cxConnectFail.inc();
      }
      if (host !== null) host.cxConnectFail++;
      cb(new ProxyError(ErrorCode.UpstreamConnectTimeout, `connect to ${this.address}:${this.port} timed out`, "connection timeout"), null);
    }, this.opts.connectTimeoutMs);
    const onError = (err: NodeJS.ErrnoException): void => {
      if (done) return;
      finish();
      socket.destroy();
      this.dropped();
      stats?.cxConnectFail.inc();
      if (host !== null) host.cxConnectFail++;
      cb(new ProxyError(ErrorCode.UpstreamConnectFailure, `connect to ${this.address}:${this.port} failed: ${err.message}`, connectFailureReason(err)), null);
    };
    socket.once("error", onError);
    socket.once("connect", () => {
      if (done) return;
      if (this.opts.tcpKeepaliveTimeMs !== undefined) socket.setKeepAlive(true, this.opts.tcpKeepaliveTimeMs);
      const transport = this.opts.transport ?? rawBufferTransport;
      if (transport.hashKey === "") {
        finish();
        cb(null, new TcpUpstreamConnection(socket, this));
        return;
      }
      // TLS: the handshake is part of connecting (the timeout stays armed; a failure is a connect
      // failure, UF, with the transport's reason); the session gets the stream once verified.
      socket.removeListener("error", onError);
      transport.connectUpstream(socket, { protocol: "tcp", host: this.address, ssl: stats?.ssl }, (failure, stream) => {
        if (done) return; // timed out or withdrawn: the socket is already closed
        finish();
        if (failure !== undefined || stream === undefined) {
          this.dropped();
          stats?.cxConnectFail.inc();
          if (host !== null) host.cxConnectFail++;
          cb(new ProxyError(ErrorCode.UpstreamConnectFailure, failure?.message ?? `TLS to ${this.address}:${this.port} failed`, failure?.reason ?? ""), null);
          return;
        }
        cb(null, new TcpUpstreamConnection(socket, this, stream));
      });
    });
    return () => {
      if (done) return;
      finish();
      socket.on("error", ignore);
      socket.destroy();
      this.dropped();
    };
  }

  /** A connection is gone: uncount it and free its cluster slot. */
  dropped(): void {
    this.open--;
    this.gate?.onClosed();
  }
}

function noCancel(): void {}
function ignore(): void {}
