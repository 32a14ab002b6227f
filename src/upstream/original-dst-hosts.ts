// OriginalDstHosts: the hosts of an ORIGINAL_DST cluster (Envoy's OriginalDstCluster, what
// PassthroughCluster and InboundPassthroughCluster are). There are no configured endpoints: each
// connection or request goes to its downstream connection's original destination, the host is
// made on first use with its own pool, and hosts unused for a whole cleanup interval are removed.

import type { Locality } from "../config/model/types.js";
import type { Http1Pool } from "./http1-pool.js";
import type { Http2Pool } from "./http2-pool.js";
import { UpstreamHost, type UpstreamProtocol } from "./upstream-host.js";

/** 5 000 ms: Envoy's default cleanup_interval for ORIGINAL_DST clusters (Istio does not set it). */
export const ORIGINAL_DST_CLEANUP_MS = 5_000;

const NO_LOCALITY: Locality = Object.freeze({}) as Locality;
const NO_LABELS: Record<string, string> = Object.freeze({}) as Record<string, string>;

interface Entry {
  host: UpstreamHost;
  /** Picked since the last cleanup (Envoy's per-host `used` flag). */
  used: boolean;
}

export class OriginalDstHosts {
  private readonly byKey = new Map<string, Entry>();
  /** Coarse ms of the last cleanup. */
  private lastCleanup = 0;

  constructor(
    /** A pool for a new host (the cluster's options, gate and stats). */
    private readonly makePool: (ip: string, port: number) => Http1Pool,
    private readonly cleanupMs = ORIGINAL_DST_CLEANUP_MS,
    /** The cluster's upstream protocol; not HTTP/1.1 = each host gets an HTTP/2 pool from `makeHttp2Pool` too. */
    private readonly protocol: UpstreamProtocol = "http1",
    private readonly makeHttp2Pool?: (ip: string, port: number) => Http2Pool,
  ) {}

  get size(): number {
    return this.byKey.size;
  }

  /** The host for `ip:port`, made on first use. */
  pick(ip: string, port: number): UpstreamHost {
    const key = ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
    let e = this.byKey.get(key);
    if (e === undefined) {
      const host = new UpstreamHost(ip, port, 1, NO_LABELS, NO_LOCALITY, this.makePool(ip, port));
      if (this.protocol !== "http1" && this.makeHttp2Pool !== undefined) {
        host.http2Pool = this.makeHttp2Pool(ip, port);
        host.upstreamProtocol = this.protocol;
      }
      e = { host, used: true };
      this.byKey.set(key, e);
    } else e.used = true;
    return e.host;
  }

  /** Every cleanup interval: removes hosts nobody picked since the previous one and nobody uses now. */
  sweep(now: number): void {
    if (now - this.lastCleanup < this.cleanupMs) return;
    this.lastCleanup = now;
    for (const [key, e] of this.byKey) {
      if (e.used || e.host.active > 0) {
        e.used = false;
        continue;
      }
      this.byKey.delete(key);
      e.host.pool.close();
      e.host.http2Pool?.close();
    }
  }

  /** Idle-timeout sweep of the hosts' pools. */
  sweepPools(now: number): void {
    for (const e of this.byKey.values()) {
      e.host.pool.sweep(now);
      e.host.http2Pool?.sweep(now);
    }
  }

  /** The cluster is gone: idle connections close; busy ones finish with their exchange. */
  close(): void {
    for (const e of this.byKey.values()) {
      e.host.pool.close();
      e.host.http2Pool?.close();
    }
    this.byKey.clear();
  }
}
