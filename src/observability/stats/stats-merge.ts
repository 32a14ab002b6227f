// Merging worker stats: every worker keeps its own StatsStore; a scrape sums their snapshots
// (counters, gauges and histogram buckets alike — a gauge such as `upstream_cx_active` is the sum
// of every worker's open connections). Used by the supervisor for /stats and /stats/prometheus.

import { addHostStats } from "./host-stats.js";
import type { StatsSnapshot } from "./stats-store.js";

export function emptySnapshot(): StatsSnapshot {
  return { counters: {}, gauges: {}, histograms: {}, unused: [] };
}

/**
 * Adds `from` into `into`. `countersOnly` adds counters and histograms but no gauges (what a dead
 * worker leaves behind: its counts happened, its open connections are gone). A name is unused
 * only while it is unused everywhere.
 */
export function addSnapshot(into: StatsSnapshot, from: StatsSnapshot, countersOnly = false): void {
  // A name is unused in the sum only when every side that has it never wrote it.
  const intoUnused = new Set(into.unused);
  const fromUnused = new Set(from.unused);
  const present = (s: StatsSnapshot, k: string): boolean => k in s.counters || k in s.gauges || k in s.histograms;
  const unused = new Set<string>();
  for (const k of intoUnused) {
    const takesFrom = k in from.counters || k in from.histograms || (!countersOnly && k in from.gauges);
    if (!takesFrom || fromUnused.has(k)) unused.add(k);
  }
  for (const k of fromUnused) {
    if (countersOnly && k in from.gauges) continue;
    if (!present(into, k) || intoUnused.has(k)) unused.add(k);
  }
  for (const k in from.counters) into.counters[k] = (into.counters[k] ?? 0) + from.counters[k]!;
  if (!countersOnly) for (const k in from.gauges) into.gauges[k] = (into.gauges[k] ?? 0) + from.gauges[k]!;
  for (const k in from.histograms) {
    const h = from.histograms[k]!;
    const t = into.histograms[k];
    if (t === undefined) {
      into.histograms[k] = { counts: h.counts.slice(), sum: h.sum, count: h.count };
      continue;
    }
    for (let i = 0; i < h.counts.length; i++) t.counts[i] = (t.counts[i] ?? 0) + h.counts[i]!;
    t.sum += h.sum;
    t.count += h.count;
  }
  into.unused = [...unused];
  if (from.hosts !== undefined) addHostStats((into.hosts ??= {}), from.hosts, countersOnly);
}

/** Sums any number of snapshots into a new one. */
export function mergeSnapshots(all: readonly StatsSnapshot[]): StatsSnapshot {
  const out = emptySnapshot();
  for (const s of all) addSnapshot(out, s);
  return out;
}
