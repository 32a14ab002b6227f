// Envoy stats in the Prometheus text format (0.0.4), as Envoy's /stats/prometheus writes them:
// tags extracted into labels (envoy-tag-extractor.ts), one `# TYPE` line per family, counters and
// gauges as samples, histograms as cumulative `_bucket{le=…}` samples with `_sum` and `_count`.
// Families are grouped so each appears once even when its series come from several stat names.

import { ENVOY_DEFAULT_BUCKETS, type StatsSnapshot } from "./stats-store.js";
import { EnvoyTagExtractor, escapeLabelValue } from "./envoy-tag-extractor.js";
import type { StatsView } from "./stats-text.js";

/** Prometheus' text exposition content type (what Envoy and prom-client send). */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Kind = "counter" | "gauge" | "histogram";

interface Family {
  name: string;
  kind: Kind;
  lines: string[];
}

function labelText(labels: readonly [string, string][], extra?: string): string {
  const parts = labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  if (extra !== undefined) parts.push(extra);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

/** Prometheus renders numbers as Go does: +Inf, -Inf, NaN, else the shortest round-trip form. */
function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

export function renderEnvoyPrometheus(s: StatsSnapshot, view: StatsView, extractor: EnvoyTagExtractor): string {
  const unused = view.usedOnly ? new Set(s.unused) : undefined;
  const keep = (name: string): boolean => (unused === undefined || !unused.has(name)) && (view.filter === undefined || view.filter(name));
  const families = new Map<string, Family>();
  const family = (name: string, kind: Kind): { f: Family; labels: [string, string][] } | undefined => {
    const x = extractor.extract(name);
    let f = families.get(x.family);
    if (f === undefined) families.set(x.family, (f = { name: x.family, kind, lines: [] }));
    // Two stats of different types cannot share a family (would be invalid exposition): the
    // first type wins, the other stat is left out.
    else if (f.kind !== kind) return undefined;
    return { f, labels: x.labels };
  };
  const scalar = (values: Record<string, number>, kind: Kind): void => {
    for (const name in values) {
      if (!keep(name)) continue;
      const r = family(name, kind);
      if (r === undefined) continue;
      r.f.lines.push(`${r.f.name}${labelText(r.labels)} ${num(values[name]!)}`);
    }
  };
  scalar(s.counters, "counter");
  scalar(s.gauges, "gauge");
  for (const name in s.histograms) {
    if (!keep(name)) continue;
    const r = family(name, "histogram");
    if (r === undefined) continue;
    const h = s.histograms[name]!;
    const base = r.f.name;
    // One entry per series: its buckets stay together and in order when series are sorted.
    const lines: string[] = [];
    let cumulative = 0;
    for (let i = 0; i < ENVOY_DEFAULT_BUCKETS.length; i++) {
      cumulative += h.counts[i] ?? 0;
      lines.push(`${base}_bucket${labelText(r.labels, `le="${ENVOY_DEFAULT_BUCKETS[i]}"`)} ${cumulative}`);
    }
    lines.push(`${base}_bucket${labelText(r.labels, 'le="+Inf"')} ${h.count}`);
    lines.push(`${base}_sum${labelText(r.labels)} ${num(h.sum)}`);
    lines.push(`${base}_count${labelText(r.labels)} ${h.count}`);
    r.f.lines.push(lines.join("\n"));
  }
  const out: string[] = [];
  for (const name of [...families.keys()].sort()) {
    const f = families.get(name)!;
    out.push(`# TYPE ${name} ${f.kind}`);
    // Series of a family in a stable order (by their first sample line).
    out.push(...f.lines.sort());
  }
  return out.length === 0 ? "" : out.join("\n") + "\n";
}
