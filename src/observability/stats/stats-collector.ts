// The supervisor's side of the cross-worker merge: on a scrape it asks every worker for its stats
// (one request, a sequence number, a deadline), sums the Envoy stats and keeps the workers' Istio
// metrics for prom-client's AggregatorRegistry. Concurrent scrapes share one collection in flight.
//
// Counters never go backwards: a worker that misses the deadline counts with the last reply it
// gave (and the miss is counted), and when a worker dies its last counters and histograms are kept
// as a "retired" base that later sums include (its gauges go: its connections are gone). What a
// dead worker counted after the last scrape before its death is lost.

import { addSnapshot, emptySnapshot } from "./stats-merge.js";
import type { StatsSnapshot } from "./stats-store.js";
import type { IstioMetricsJson, WorkerStatsReply } from "./worker-stats-reply.js";

/** 2 000 ms: how long a scrape waits for a worker before it counts that worker's last reply. */
export const WORKER_STATS_TIMEOUT_MS = 2_000;

/** One live worker as the collector sees it. */
export interface WorkerStatsPort {
  readonly index: number;
  /** Asks the worker; rejects when it is gone. */
  request(seq: number): Promise<WorkerStatsReply>;
}

export interface CollectedStats {
  /** Every worker's Envoy stats summed (plus what dead workers left). */
  envoy: StatsSnapshot;
  /** Each worker's Istio metrics (and dead workers'), for AggregatorRegistry.aggregate. */
  istio: IstioMetricsJson[];
  /** Workers that did not answer in time this round (their last reply was used). */
  late: number;
  heapUsed: number;
  heapTotal: number;
}

export interface CollectorTimers {
  set(fn: () => void, ms: number): unknown;
  clear(h: unknown): void;
}

const realTimers: CollectorTimers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class StatsCollector {
  private seq = 0;
  private inFlight: Promise<CollectedStats> | undefined;
  /** The last reply of each worker index. */
  private readonly last = new Map<number, WorkerStatsReply>();
  /** Counters and histograms of workers that died. */
  private readonly retired: StatsSnapshot = emptySnapshot();
  private retiredIstio: IstioMetricsJson = [];
  /** Scrape rounds in which a worker missed the deadline, since start. */
  lateTotal = 0;

  constructor(
    private readonly workers: () => readonly WorkerStatsPort[],
    private readonly timeoutMs = WORKER_STATS_TIMEOUT_MS,
    private readonly timers: CollectorTimers = realTimers,
  ) {}

  /** Every worker's stats, merged; callers during a collection get the same result. */
  collect(): Promise<CollectedStats> {
    this.inFlight ??= this.run().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async run(): Promise<CollectedStats> {
    const seq = ++this.seq;
    const ports = this.workers();
    const replies = await Promise.all(ports.map((p) => this.ask(p, seq)));
    const envoy = emptySnapshot();
    addSnapshot(envoy, this.retired, true);
    const istio: IstioMetricsJson[] = this.retiredIstio.length > 0 ? [this.retiredIstio] : [];
    let late = 0;
    let heapUsed = 0;
    let heapTotal = 0;
    for (let i = 0; i < ports.length; i++) {
      let r = replies[i];
      if (r === undefined) {
        late++;
        r = this.last.get(ports[i]!.index);
        if (r === undefined) continue;
      } else {
        this.last.set(ports[i]!.index, r);
      }
      addSnapshot(envoy, r.envoy);
      istio.push(r.istio);
      heapUsed += r.heapUsed;
      heapTotal += r.heapTotal;
    }
    this.lateTotal += late;
    return { envoy, istio, late, heapUsed, heapTotal };
  }

  /** The worker's reply, or undefined when it is gone or misses the deadline. */
  private ask(port: WorkerStatsPort, seq: number): Promise<WorkerStatsReply | undefined> {
    return new Promise((resolve) => {
      const timer = this.timers.set(() => resolve(undefined), this.timeoutMs);
      port.request(seq).then(
        (r) => {
          this.timers.clear(timer);
          resolve(r);
        },
        () => {
          this.timers.clear(timer);
          resolve(undefined);
        },
      );
    });
  }

  /**
   * A worker died: its last counters and histograms stay in every later sum (monotonic counters
   * across a worker restart), its gauges are dropped.
   */
  async workerExited(index: number): Promise<void> {
    const r = this.last.get(index);
    if (r === undefined) return;
    this.last.delete(index);
    addSnapshot(this.retired, r.envoy, true);
    const { AggregatorRegistry } = await import("prom-client");
    const merged = AggregatorRegistry.aggregate(this.retiredIstio.length > 0 ? [this.retiredIstio, r.istio] : [r.istio]);
    this.retiredIstio = await merged.getMetricsAsJSON();
  }
}
