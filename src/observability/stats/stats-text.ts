// /stats as Envoy prints it: `name: value` per counter and gauge, sorted by name, then each
// histogram as `name: P0(interval,cumulative) P25(…) … P100(…)` (or `No recorded values`), and the
// JSON shape of `/stats?format=json`. Outrigger keeps cumulative buckets only, so the interval
// quantiles are `nan` (null in JSON), as Envoy shows them before its first stats flush; cumulative
// quantiles are interpolated within Envoy's default buckets.

import { ENVOY_DEFAULT_BUCKETS, type StatsSnapshot } from "./stats-store.js";

/** Envoy's supported quantiles (admin /stats, `supported_quantiles` in JSON), in percent. */
export const SUPPORTED_QUANTILES: readonly number[] = [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100];

export interface StatsView {
  /** Only stats written at least once (Envoy's `usedonly`). */
  usedOnly: boolean;
  /** Keep a name when this returns true (Envoy's `filter=<regex>`, a partial match). */
  filter?: (name: string) => boolean;
}

interface Selected {
  scalars: [string, number][];
  histograms: [string, { counts: number[]; sum: number; count: number }][];
}

function select(s: StatsSnapshot, view: StatsView): Selected {
  const unused = view.usedOnly ? new Set(s.unused) : undefined;
  const keep = (name: string): boolean => (unused === undefined || !unused.has(name)) && (view.filter === undefined || view.filter(name));
  const scalars: [string, number][] = [];
  for (const k in s.counters) if (keep(k)) scalars.push([k, s.counters[k]!]);
  for (const k in s.gauges) if (keep(k)) scalars.push([k, s.gauges[k]!]);
  const histograms: Selected["histograms"] = [];
  for (const k in s.histograms) if (keep(k)) histograms.push([k, s.histograms[k]!]);
  const byName = (a: [string, unknown], b: [string, unknown]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  scalars.sort(byName);
  histograms.sort(byName);
  return { scalars, histograms };
}

/**
 * The value below which `q` percent of the recorded values fall, interpolated linearly inside the
 * bucket that holds it (values past the last bound count as the last bound). NaN with no values.
 */
export function bucketQuantile(counts: readonly number[], total: number, q: number): number {
  if (total === 0) return NaN;
  const rank = (q / 100) * total;
  const b = ENVOY_DEFAULT_BUCKETS;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i]!;
    if (n === 0) continue;
    if (seen + n >= rank) {
      const lo = i === 0 ? 0 : b[i - 1]!;
      const hi = i < b.length ? b[i]! : b[b.length - 1]!;
      return lo + (hi - lo) * Math.max(0, (rank - seen) / n);
    }
    seen += n;
  }
  return b[b.length - 1]!;
}

/** Envoy prints quantiles with up to 6 significant digits (`1.05`, `2500`). */
function formatQuantile(v: number): string {
  return Number.isNaN(v) ? "nan" : String(Number(v.toPrecision(6)));
}

export function renderStatsText(s: StatsSnapshot, view: StatsView): string {
  const { scalars, histograms } = select(s, view);
  const out: string[] = [];
  for (const [k, v] of scalars) out.push(`${k}: ${v}`);
  for (const [k, h] of histograms) {
    if (h.count === 0) {
      out.push(`${k}: No recorded values`);
      continue;
    }
    const parts = SUPPORTED_QUANTILES.map((q) => `P${q}(nan,${formatQuantile(bucketQuantile(h.counts, h.count, q))})`);
    out.push(`${k}: ${parts.join(" ")}`);
  }
  return out.length === 0 ? "" : out.join("\n") + "\n";
}

/** `/stats?format=json`: Envoy's `{"stats":[{name,value}…,{"histograms":{…}}]}`. */
export function renderStatsJson(s: StatsSnapshot, view: StatsView): string {
  const { scalars, histograms } = select(s, view);
  const stats: unknown[] = scalars.map(([name, value]) => ({ name, value }));
  if (histograms.length > 0) {
    stats.push({
      histograms: {
        supported_quantiles: SUPPORTED_QUANTILES,
        computed_quantiles: histograms.map(([name, h]) => ({
          name,
          values: SUPPORTED_QUANTILES.map((q) => {
            const v = bucketQuantile(h.counts, h.count, q);
            return { interval: null, cumulative: Number.isNaN(v) ? null : Number(v.toPrecision(6)) };
          }),
        })),
      },
    });
  }
  return JSON.stringify({ stats }, null, 2) + "\n";
}
