// Per-host request and connection stats (Envoy's HostStats, shown per host by /clusters): plain
// fields on one object per (cluster, host) in each worker, bumped where the cluster's own
// upstream_cx_* / upstream_rq_* stats move. The supervisor sums every worker's snapshot on demand
// (it travels in the worker's stats reply), so the data path pays a field increment, not an
// Atomics operation on a cache line that every worker writes.

/**
 * Envoy's ALL_HOST_STATS, in its order: counters, then gauges. /clusters JSON lists them in this
 * order; the text output sorts them by name (Envoy puts them in one std::map first).
 */
export const HOST_COUNTERS = ["cx_connect_fail", "cx_total", "rq_error", "rq_success", "rq_timeout", "rq_total"] as const;
export const HOST_GAUGES = ["cx_active", "rq_active"] as const;
export type HostStatName = (typeof HOST_COUNTERS)[number] | (typeof HOST_GAUGES)[number];

/** Values in the order of HOST_COUNTERS then HOST_GAUGES (8 numbers). */
export type HostStatValues = number[];

/** cluster name → host `ip:port` → values. */
export type HostStatsSnapshot = Record<string, Record<string, HostStatValues>>;

const GAUGES_FROM = HOST_COUNTERS.length;

export class HostStats {
  // Counters.
  cxConnectFail = 0;
  cxTotal = 0;
  /** 5xx answers (the upstream's, or the local reply standing in for it) and retried failures. */
  rqError = 0;
  /** Non-5xx answers. */
  rqSuccess = 0;
  rqTimeout = 0;
  /** Requests handed a connection (Envoy counts at the pool, with upstream_rq_total). */
  rqTotal = 0;
  // Gauges.
  cxActive = 0;
  rqActive = 0;

  values(): HostStatValues {
    return [this.cxConnectFail, this.cxTotal, this.rqError, this.rqSuccess, this.rqTimeout, this.rqTotal, this.cxActive, this.rqActive];
  }
}

/**
 * A worker's host stats. A host keeps its stats while it stays in its cluster, across config
 * changes (Istio moves endpoints by EDS, which in Envoy keeps the host objects and their stats);
 * hosts that leave are forgotten.
 */
export class HostStatsTable {
  private readonly clusters = new Map<string, Map<string, HostStats>>();

  /** The stats of `hostKey` (`ip:port`) in `cluster`, made on first use. */
  of(cluster: string, hostKey: string): HostStats {
    let hosts = this.clusters.get(cluster);
    if (hosts === undefined) this.clusters.set(cluster, (hosts = new Map()));
    let s = hosts.get(hostKey);
    if (s === undefined) hosts.set(hostKey, (s = new HostStats()));
    return s;
  }

  /** Keeps only `hostKeys` of `cluster`. */
  retain(cluster: string, hostKeys: ReadonlySet<string>): void {
    const hosts = this.clusters.get(cluster);
    if (hosts === undefined) return;
    for (const k of hosts.keys()) if (!hostKeys.has(k)) hosts.delete(k);
    if (hosts.size === 0) this.clusters.delete(cluster);
  }

  /** Forgets a cluster that left the config. */
  drop(cluster: string): void {
    this.clusters.delete(cluster);
  }

  snapshot(): HostStatsSnapshot {
    const out: HostStatsSnapshot = {};
    for (const [c, hosts] of this.clusters) {
      const o: Record<string, HostStatValues> = (out[c] = {});
      for (const [k, s] of hosts) o[k] = s.values();
    }
    return out;
  }
}

/** Adds `from` into `into`; `countersOnly` leaves the gauges out (what a dead worker leaves behind). */
export function addHostStats(into: HostStatsSnapshot, from: HostStatsSnapshot, countersOnly = false): void {
  for (const c in from) {
    const t = (into[c] ??= {});
    const hosts = from[c]!;
    for (const k in hosts) {
      const v = hosts[k]!;
      const s = (t[k] ??= [0, 0, 0, 0, 0, 0, 0, 0]);
      const n = countersOnly ? GAUGES_FROM : v.length;
      for (let i = 0; i < n; i++) s[i]! += v[i]!;
    }
  }
}
