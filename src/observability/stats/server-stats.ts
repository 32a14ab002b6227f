// The stats only the supervisor knows: `server.*` (state, uptime, memory, concurrency),
// `listener_manager.*` / `cluster_manager.*` (what pilot-agent's readiness probe reads: config
// accepted or rejected, workers started) and each cluster's mesh-wide gauges read from shared
// memory (membership, outlier ejections, circuit breakers open). Added to the workers' sum at
// each scrape.

import type { ClusterStatus } from "../../admin/cluster-status.js";
import type { ConfigTypeCounts, ConfigUpdate } from "../../config/source/config-source.js";
import type { StatsSnapshot } from "./stats-store.js";

/** Envoy's envoy.admin.v3.ServerInfo.State as `server.state` reports it. */
export const SERVER_STATE = { LIVE: 0, DRAINING: 1, PRE_INITIALIZING: 2, INITIALIZING: 3 } as const;

export type ServerStateName = keyof typeof SERVER_STATE;

/** Counts of accepted / refused config, per xDS type the update carried (Envoy's `<cds|lds>.update_*`). */
export class ConfigUpdateStats {
  readonly cds = { attempt: 0, success: 0, rejected: 0, version: 0 };
  readonly lds = { attempt: 0, success: 0, rejected: 0, version: 0 };

  /** An update was applied (`accepted`) or refused; `version`: the snapshot serving afterwards. */
  record(update: ConfigUpdate, accepted: boolean, version: string | null): void {
    // The bootstrap's static resources are not a CDS/LDS update (Envoy counts xDS responses only).
    if (update.static === true) return;
    const types = new Set(update.updates.map((u) => u.type));
    // An update refused before decoding (a YAML error) names no type: both were refused.
    const none = types.size === 0;
    const hash = version === null ? 0 : versionHash(version);
    for (const [has, s] of [[types.has("cluster"), this.cds], [types.has("listener"), this.lds]] as const) {
      if (!has && !none) continue;
      s.attempt++;
      if (accepted) {
        s.success++;
        s.version = hash;
      } else s.rejected++;
    }
  }
}

/**
 * Envoy's `*.version` gauges hold a hash of the version string; here FNV-1a over it, kept within
 * 2^53 so it survives JSON and Prometheus as an exact number.
 */
export function versionHash(version: string): number {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < version.length; i++) {
    h ^= BigInt(version.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return Number(h & 0x1fffffffffffffn);
}

export interface ServerFacts {
  state: ServerStateName;
  uptimeSeconds: number;
  workers: number;
  /** Every worker has bound the first snapshot's listeners. */
  workersStarted: boolean;
  /** Open downstream connections, all workers. */
  totalConnections: number;
  listeners: number;
  clusters: readonly ClusterStatus[];
  config: ConfigTypeCounts;
  /** V8 heaps of all isolates (bytes) and the process' resident set. */
  heapUsed: number;
  heapTotal: number;
  rss: number;
  /** Scrape rounds in which a worker missed its deadline. */
  lateWorkerReplies: number;
}

/** Adds the supervisor's stats into `into` (a merged worker snapshot). Every one counts as used. */
export function addServerStats(into: StatsSnapshot, f: ServerFacts): void {
  const g = into.gauges;
  const c = into.counters;
  g["server.live"] = f.state === "LIVE" ? 1 : 0;
  g["server.state"] = SERVER_STATE[f.state];
  g["server.uptime"] = Math.floor(f.uptimeSeconds);
  g["server.concurrency"] = f.workers;
  g["server.total_connections"] = f.totalConnections;
  g["server.memory_allocated"] = f.heapUsed;
  g["server.memory_heap_size"] = f.heapTotal;
  g["server.memory_physical_size"] = f.rss;
  // Outrigger's own: scrapes that used a worker's previous answer because it was late.
  c["server.stats_worker_replies_late"] = f.lateWorkerReplies;
  g["listener_manager.workers_started"] = f.workersStarted ? 1 : 0;
  g["listener_manager.total_listeners_active"] = f.listeners;
  g["cluster_manager.active_clusters"] = f.clusters.length;
  for (const [prefix, s] of [["cluster_manager.cds", f.config.cds], ["listener_manager.lds", f.config.lds]] as const) {
    c[`${prefix}.update_attempt`] = s.attempt;
    c[`${prefix}.update_success`] = s.success;
    c[`${prefix}.update_rejected`] = s.rejected;
    g[`${prefix}.version`] = s.version;
  }
  for (const cl of f.clusters) {
    const p = `cluster.${cl.name}.`;
    const ejected = cl.hosts.filter((h) => h.ejected).length;
    g[p + "membership_total"] = cl.hosts.length;
    g[p + "membership_healthy"] = cl.hosts.length - ejected;
    g[p + "outlier_detection.ejections_active"] = ejected;
    c[p + "outlier_detection.ejections_enforced_total"] = cl.hosts.reduce((n, h) => n + h.ejections, 0);
    const b = cl.circuitBreakers;
    const u = cl.inUse;
    g[p + "circuit_breakers.default.cx_open"] = u.connections >= b.maxConnections ? 1 : 0;
    g[p + "circuit_breakers.default.rq_pending_open"] = u.pendingRequests >= b.maxPendingRequests ? 1 : 0;
    g[p + "circuit_breakers.default.rq_open"] = u.requests >= b.maxRequests ? 1 : 0;
    g[p + "circuit_breakers.default.rq_retry_open"] = u.retries >= b.maxRetries ? 1 : 0;
  }
}
