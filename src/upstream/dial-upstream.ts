// dialUpstream: opens one upstream connection for an HTTP pool (HTTP/1 and HTTP/2 alike): TCP or
// pipe connect from the cluster's source address, TCP keep-alive, the transport socket's handshake
// (TLS: part of connecting, as in Envoy, so the connect timeout covers it), the connect timeout on
// the data-path clock, and Envoy's connect failure reasons and counters. The pool keeps its own
// connection count; this only dials.

import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { ErrorCode, ProxyError } from "../common/errors.js";
import type { DataPathClock } from "../common/clock.js";
import { rawBufferTransport, type TransportSocketFactory, type UpstreamTransportOptions } from "../listener/transport-socket.js";
import type { UpstreamCxStats } from "../observability/stats/cluster-stats.js";
import type { HostStats } from "../observability/stats/host-stats.js";

/** Where and how to dial (a pool's fixed facts; made once per pool and options). */
export interface DialTarget {
  address: string;
  port: number;
  /** A Unix socket path (Envoy's Pipe): connect there instead of address:port. */
  pipe: string | undefined;
  /** The local address to bind (source_address), undefined = the kernel's choice. */
  source: string | undefined;
  connectTimeoutMs: number;
  /** TCP keep-alive idle time before the first probe (0 = OS default); undefined = off. */
  tcpKeepaliveTimeMs: number | undefined;
  transport: TransportSocketFactory | undefined;
  /** The codec that will run on the connection (the transport picks ALPN from it). */
  protocol: UpstreamTransportOptions["protocol"];
  clock: DataPathClock;
}

/** `socket`: the TCP socket; `stream`: what the codec reads and writes (the socket, or TLS over it). */
export type DialCallback = (err: ProxyError | null, socket: Socket | null, stream: Duplex | null) => void;

const errnoNumbers: Record<string, number> = { ECONNREFUSED: 111, ECONNRESET: 104, EHOSTUNREACH: 113, ENETUNREACH: 101, ETIMEDOUT: 110 };

/** Envoy's transport failure reason for a failed connect, e.g. `delayed connect error: 111`. */
export function connectFailureReason(err: NodeJS.ErrnoException): string {
  const n = err.code !== undefined ? errnoNumbers[err.code] : undefined;
  return `delayed connect error: ${n ?? err.code ?? err.message}`;
}

/**
 * Dials `t`, counting upstream_cx_total / connect_fail / connect_timeout (cluster and host). On
 * failure the socket is destroyed and `cb` gets Envoy's error (UF with the transport failure
 * reason, or a connect timeout); on success `cb` gets the connected (and secured) streams.
 */
export function dialUpstream(t: DialTarget, stats: UpstreamCxStats | null, host: HostStats | null, cb: DialCallback): void {
  stats?.cxTotal.inc();
  if (host !== null) host.cxTotal++;
  const src = t.source;
  const socket = connect(t.pipe !== undefined ? { path: t.pipe } : src === undefined ? { host: t.address, port: t.port } : { host: t.address, port: t.port, localAddress: src });
  socket.setNoDelay(true);
  let done = false;
  const clock = t.clock;
  const failed = (): void => {
    stats?.cxConnectFail.inc();
    if (host !== null) host.cxConnectFail++;
  };
  const timer = clock.set(() => {
    if (done) return;
    done = true;
    socket.destroy();
    stats?.cxConnectTimeout.inc();
    failed();
    cb(new ProxyError(ErrorCode.UpstreamConnectTimeout, `connect to ${t.address}:${t.port} timed out`, "connection timeout"), null, null);
  }, t.connectTimeoutMs);
  const onError = (err: NodeJS.ErrnoException): void => {
    if (done) return;
    done = true;
    clock.clear(timer);
    socket.destroy();
    failed();
    cb(new ProxyError(ErrorCode.UpstreamConnectFailure, `connect to ${t.address}:${t.port} failed: ${err.message}`, connectFailureReason(err)), null, null);
  };
  socket.once("error", onError);
  socket.once("connect", () => {
    if (done) return;
    socket.removeListener("error", onError);
    if (t.tcpKeepaliveTimeMs !== undefined) socket.setKeepAlive(true, t.tcpKeepaliveTimeMs);
    const transport = t.transport ?? rawBufferTransport;
    if (transport.hashKey === "") {
      // Plaintext: ready now.
      done = true;
      clock.clear(timer);
      cb(null, socket, socket);
      return;
    }
    // TLS: the handshake is part of connecting (Envoy): the connect timeout stays armed, and a
    // failed handshake is a connect failure with the transport's reason. The socket is only
    // handed out once the server is verified, so no byte of a request precedes that.
    transport.connectUpstream(socket, { protocol: t.protocol, host: t.address, ssl: stats?.ssl }, (failure, stream) => {
      if (done) return; // timed out: the timer closed the socket
      done = true;
      clock.clear(timer);
      if (failure !== undefined || stream === undefined) {
        failed();
        cb(new ProxyError(ErrorCode.UpstreamConnectFailure, failure?.message ?? `TLS to ${t.address}:${t.port} failed`, failure?.reason ?? ""), null, null);
        return;
      }
      cb(null, socket, stream);
    });
  });
}
