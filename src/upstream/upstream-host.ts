// UpstreamHost: one endpoint of a cluster as the load balancer sees it.

import type { Locality } from "../config/model/types.js";
import type { TransportSocketFactory } from "../listener/transport-socket.js";
import { HostStats } from "../observability/stats/host-stats.js";
import type { RequestHeaders } from "../http/http-message.js";
import type { HttpConnPool } from "./conn-pool.js";
import type { Http1Pool } from "./http1-pool.js";
import type { Http2Pool } from "./http2-pool.js";

/**
 * The cluster's upstream protocol (Envoy's upstreamHttpProtocol), fixed per snapshot:
 * HTTP/1.1, HTTP/2 (explicit_http_config http2_protocol_options), or the downstream's protocol
 * (use_downstream_protocol_config).
 */
export type UpstreamProtocol = "http1" | "http2" | "downstream";
import type { TcpConnPool } from "./tcp-conn-pool.js";

export class UpstreamHost {
  readonly address: string;
  readonly port: number;
  /** A Unix socket path (Envoy's Pipe address): connections go there; `address` is the path too, `port` 0. */
  readonly pipe: string | undefined;
  /** `address:port`, Envoy's %UPSTREAM_HOST%. */
  readonly key: string;
  readonly weight: number;
  readonly labels: Record<string, string>;
  readonly locality: Locality;
  /** The host's HTTP/1.1 pool. */
  readonly pool: Http1Pool;
  /** The host's HTTP/2 pool; undefined when the cluster never speaks HTTP/2 upstream. */
  http2Pool: Http2Pool | undefined = undefined;
  /** How a request's pool is chosen (set with http2Pool by the cluster manager). */
  upstreamProtocol: UpstreamProtocol = "http1";
  /** What secures this host's connections (the cluster's transport socket, or its matching one). */
  transport: TransportSocketFactory | undefined = undefined;
  /** Raw connections for the TCP proxy; made on first use (ClusterRuntime.tcpPoolOf). */
  tcpPool: TcpConnPool | undefined = undefined;
  /** Requests in flight (least-request balancing). */
  active = 0;
  /** Envoy's per-host stats (/clusters); the cluster manager gives the worker's kept object. */
  stats = new HostStats();
  /**
   * Whether outlier detection has ejected this host (shared across workers). Replaced by the
   * cluster's outlier detector when the cluster has one; load balancers skip ejected hosts.
   */
  isEjected: () => boolean = notEjected;

  constructor(address: string, port: number, weight: number, labels: Record<string, string>, locality: Locality, pool: Http1Pool, pipe?: string) {
    this.address = address;
    this.port = port;
    this.pipe = pipe;
    // Envoy names a Pipe host by its path (PipeInstance::asString), in /clusters and %UPSTREAM_HOST%.
    this.key = pipe !== undefined ? pipe : address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
    this.weight = weight;
    this.labels = labels;
    this.locality = locality;
    this.pool = pool;
  }

  /**
   * The pool for one request: by the cluster's upstream protocol (explicit HTTP/2, the
   * downstream's protocol, or HTTP/1.1); upgrades (WebSocket) always go over HTTP/1.1.
   */
  httpPool(req: RequestHeaders): HttpConnPool {
    const h2 = this.http2Pool;
    // Upgrades need HTTP/1.1's Upgrade handshake (Envoy would use extended CONNECT over HTTP/2
    // only when the cluster allows it; Outrigger does not).
    if (h2 === undefined || req.upgrade) return this.pool;
    if (this.upstreamProtocol === "http2") return h2;
    return this.upstreamProtocol === "downstream" && req.protocol === "HTTP/2" ? h2 : this.pool;
  }
}

function notEjected(): boolean {
  return false;
}
