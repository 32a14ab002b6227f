// Counter and histogram families for Istio's standard metrics, registered on a worker's prom-client
// Registry (which renders them and which the supervisor's merge reads through getMetricsAsJSON).
// prom-client's own Counter/Histogram re-hash and re-validate every label on every inc/observe —
// 25 labels per request, four metrics — so these families hand out series objects instead: found
// once by a joined key, then bumped with plain field writes. Each family caps its series; past the
// cap a sample is dropped and counted, never a new series.

import type { Registry } from "prom-client";
import { ENVOY_DEFAULT_BUCKETS } from "../stats/stats-store.js";

export type Labels = Record<string, string>;

export interface CounterSeries {
  readonly labels: Labels;
  value: number;
}

export interface HistogramSeries {
  readonly labels: Labels;
  /** Per-bucket counts (not cumulative), the last one for +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** Envoy renders bucket bounds like C's `%g`: 1800000 → `1.8e+06` (Istio's scrapes show these). */
export function envoyBucketLabel(v: number): string {
  if (v < 1e6) return String(v);
  const [mant, exp] = v.toExponential().split("e");
  const e = Number(exp);
  return `${mant}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}

abstract class Family<S> {
  protected readonly byKey = new Map<string, S>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly cap: number,
  ) {}

  /** The series for `key` (the joined label values), created with `labels` on first use; undefined past the cap. */
  series(key: string, labels: () => Labels): S | undefined {
    const s = this.byKey.get(key);
    if (s !== undefined) return s;
    // Past the cap: no new series; the caller counts each sample it could not record.
    if (this.byKey.size >= this.cap) return undefined;
    const created = this.create(labels());
    this.byKey.set(key, created);
    return created;
  }

  get seriesCount(): number {
    return this.byKey.size;
  }

  /** The registry's contract (`Registry.registerMetric` takes any object with get/reset). */
  protected register(registry: Registry): void {
    (registry as unknown as { registerMetric(m: unknown): void }).registerMetric(this);
  }

  protected abstract create(labels: Labels): S;
}

export class CounterFamily extends Family<CounterSeries> {
  readonly type = "counter";
  readonly aggregator = "sum";

  constructor(registry: Registry, name: string, help: string, cap: number) {
    super(name, help, cap);
    this.register(registry);
  }

  protected create(labels: Labels): CounterSeries {
    return { labels, value: 0 };
  }

  /** prom-client's MetricObjectWithValues for a counter. */
  get(): { name: string; help: string; type: "counter"; aggregator: "sum"; values: Array<{ value: number; labels: Labels }> } {
    const values: Array<{ value: number; labels: Labels }> = [];
    for (const s of this.byKey.values()) values.push({ value: s.value, labels: s.labels });
    return { name: this.name, help: this.help, type: "counter", aggregator: "sum", values };
  }

  /** Zeroes every series in place (bound series stay valid). */
  reset(): void {
    for (const s of this.byKey.values()) s.value = 0;
  }
}

/** Bucket bounds as `le` label values, computed once. */
const LE = ENVOY_DEFAULT_BUCKETS.map(envoyBucketLabel);

export class HistogramFamily extends Family<HistogramSeries> {
  readonly type = "histogram";
  readonly aggregator = "sum";

  constructor(registry: Registry, name: string, help: string, cap: number) {
    super(name, help, cap);
    this.register(registry);
  }

  protected create(labels: Labels): HistogramSeries {
    return { labels, counts: new Float64Array(ENVOY_DEFAULT_BUCKETS.length + 1), sum: 0, count: 0 };
  }

  /** prom-client's MetricObjectWithValues for a histogram: `_bucket` (with `le`), `_sum`, `_count`. */
  get(): { name: string; help: string; type: "histogram"; aggregator: "sum"; values: Array<{ value: number; labels: Labels; metricName: string }> } {
    const values: Array<{ value: number; labels: Labels; metricName: string }> = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.byKey.values()) {
      let acc = 0;
      for (let i = 0; i < LE.length; i++) {
        acc += s.counts[i]!;
        values.push({ value: acc, labels: { ...s.labels, le: LE[i]! }, metricName: bucket });
      }
      values.push({ value: s.count, labels: { ...s.labels, le: "+Inf" }, metricName: bucket });
      values.push({ value: s.sum, labels: s.labels, metricName: `${this.name}_sum` });
      values.push({ value: s.count, labels: s.labels, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: "histogram", aggregator: "sum", values };
  }

  reset(): void {
    for (const s of this.byKey.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}

/** Records one value into a histogram series (Envoy's default buckets, `le` inclusive). */
export function observe(s: HistogramSeries, v: number): void {
  const b = ENVOY_DEFAULT_BUCKETS;
  let i = 0;
  while (i < b.length && v > b[i]!) i++;
  s.counts[i]!++;
  s.sum += v;
  s.count++;
}
