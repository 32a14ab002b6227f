// UpstreamHost: one endpoint of a cluster as the load balancer sees it.

import type { Locality } from "../config/model/types.js";
import type { TransportSocketFactory } from "../listener/transport-socket.js";
import { HostStats } from "../observability/stats/host-stats.js";
import type { RequestHeaders } from "../http/http-message.js";
import type { HttpConnPool } from "./conn-pool.js";
import type { Http1Pool } from "./http1-pool.js";
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
    void req;
    return this.pool;
  }
}

function notEjected(): boolean {
  return false;
}
