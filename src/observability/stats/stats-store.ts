// A worker's Envoy-style stats (`cluster.<name>.upstream_rq_total`, `listener.<addr>.downstream_cx_active`,
// `server.…`, `access_log_file.…`): plain numbers keyed by Envoy's dotted names, cheap enough for the
// data path (look a stat up once, keep the object, bump a field). The supervisor merges every
// worker's snapshot for /stats and /stats/prometheus.

import { HostStatsTable, type HostStatsSnapshot } from "./host-stats.js";

export class Counter {
  value = 0;
  /** False until first written: Envoy's `usedonly`. */
  used = false;
  inc(n = 1): void {
    this.value += n;
    this.used = true;
  }
}

export class Gauge {
  value = 0;
  used = false;
  set(v: number): void {
    this.value = v;
    this.used = true;
  }
  add(n: number): void {
    this.value += n;
    this.used = true;
  }
}

/** Envoy's default histogram buckets (ms), which Istio keeps. */
export const ENVOY_DEFAULT_BUCKETS: readonly number[] = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];

export class Histogram {
  /** Cumulative-free counts per bucket of `ENVOY_DEFAULT_BUCKETS`, plus one for +Inf. */
  readonly counts = new Float64Array(ENVOY_DEFAULT_BUCKETS.length + 1);
  sum = 0;
  count = 0;
  used = false;
  record(v: number): void {
    const b = ENVOY_DEFAULT_BUCKETS;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
    this.used = true;
  }
}

export interface StatsSnapshot {
  counters: Record<string, number>;
  gauges: Record<string, number>;
  histograms: Record<string, { counts: number[]; sum: number; count: number }>;
  /** Names never written (Envoy's `usedonly` hides them). */
  unused: string[];
  /** Per-host stats for /clusters (not stats by name: Envoy keeps them out of /stats too). */
  hosts?: HostStatsSnapshot;
}

export class StatsStore {
  private readonly counters = new Map<string, Counter>();
  private readonly gauges = new Map<string, Gauge>();
  private readonly histograms = new Map<string, Histogram>();
  /** Per-host stats (/clusters), travelling with the snapshot to the supervisor. */
  readonly hosts = new HostStatsTable();

  counter(name: string): Counter {
    let c = this.counters.get(name);
    if (c === undefined) this.counters.set(name, (c = new Counter()));
    return c;
  }

  gauge(name: string): Gauge {
    let g = this.gauges.get(name);
    if (g === undefined) this.gauges.set(name, (g = new Gauge()));
    return g;
  }

  histogram(name: string): Histogram {
    let h = this.histograms.get(name);
    if (h === undefined) this.histograms.set(name, (h = new Histogram()));
    return h;
  }

  snapshot(): StatsSnapshot {
    const out: StatsSnapshot = { counters: {}, gauges: {}, histograms: {}, unused: [], hosts: this.hosts.snapshot() };
    for (const [k, c] of this.counters) {
      out.counters[k] = c.value;
      if (!c.used) out.unused.push(k);
    }
    for (const [k, g] of this.gauges) {
      out.gauges[k] = g.value;
      if (!g.used) out.unused.push(k);
    }
    for (const [k, h] of this.histograms) {
      out.histograms[k] = { counts: Array.from(h.counts), sum: h.sum, count: h.count };
      if (!h.used) out.unused.push(k);
    }
    return out;
  }
}
