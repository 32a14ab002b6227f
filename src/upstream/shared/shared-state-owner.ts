// SharedStateOwner: allocates each cluster's shared buffer and runs the outlier-detection interval
// for it — exactly once per cluster, because there is one owner per process: the supervisor on
// the main thread, or a ProxyRuntime used in-process without one. Unchanged clusters (same
// signature) keep their buffer, so counters and ejections survive config reloads.
//
// Every buffer has one record per worker index holding that worker's share of the circuit-breaker
// counters; when a worker dies, `reclaimWorker` gives its share back to the cluster (the
// supervisor calls it before the replacement, which reuses the index, starts).

import type { Clock } from "../../common/clock.js";
import type { Cluster, OutlierDetectionConfig } from "../../config/model/types.js";
import {
  allocateClusterShared,
  clusterSignature,
  H,
  hostSlotShape,
  viewClusterShared,
  W,
  WORKER_COUNTERS,
  workerBase,
  type ClusterSharedView,
  type SharedClusterBuffers,
} from "./cluster-shared-layout.js";
import { runOutlierInterval } from "./outlier-detector.js";

/** How the owner schedules interval work (injected so tests drive it without sleeping). */
export interface IntervalScheduler {
  every(ms: number, fn: () => void): { cancel(): void };
}

export const timerScheduler: IntervalScheduler = {
  every(ms, fn) {
    const t = setInterval(fn, ms);
    t.unref();
    return { cancel: () => clearInterval(t) };
  },
};

/** A scheduler that never fires on its own (tests call `runIntervals`). */
export const manualScheduler: IntervalScheduler = { every: () => ({ cancel() {} }) };

interface Entry {
  signature: string;
  view: ClusterSharedView;
  outlier: OutlierDetectionConfig | undefined;
  timer: { cancel(): void } | undefined;
}

/** What `reclaimWorker` gave back, summed over every cluster. */
export interface ReclaimedCounts {
  requests: number;
  pending: number;
  connections: number;
  retries: number;
}

export class SharedStateOwner {
  private entries = new Map<string, Entry>();
  private readonly clock: Clock;
  private readonly scheduler: IntervalScheduler;
  /** Worker records per buffer: the process's worker count (fixed for its lifetime). */
  readonly workerSlots: number;

  constructor(clock: Clock, scheduler: IntervalScheduler = timerScheduler, workerSlots = 1) {
    this.clock = clock;
    this.scheduler = scheduler;
    this.workerSlots = Math.max(1, Math.floor(workerSlots));
  }

  /** Buffers for a snapshot's clusters; call before handing the snapshot to workers. */
  prepare(clusters: Record<string, Cluster>): SharedClusterBuffers {
    const next = new Map<string, Entry>();
    const out: SharedClusterBuffers = {};
    for (const [name, c] of Object.entries(clusters)) {
      const signature = clusterSignature(c);
      let e = this.entries.get(name);
      if (e === undefined || e.signature !== signature) {
        const { hostSlots, tableSlots } = hostSlotShape(c);
        const view = viewClusterShared(allocateClusterShared(hostSlots, this.workerSlots, tableSlots), hostSlots, tableSlots)!;
        e = { signature, view, outlier: c.outlierDetection, timer: undefined };
        if (c.outlierDetection !== undefined) this.schedule(e, c.outlierDetection);
      }
      next.set(name, e);
      out[name] = e.view.buffer;
    }
    for (const [name, old] of this.entries) if (next.get(name) !== old) old.timer?.cancel();
    this.entries = next;
    return out;
  }

  private schedule(e: Entry, cfg: OutlierDetectionConfig): void {
    // 1 ms floor: a zero interval would spin.
    e.timer = this.scheduler.every(Math.max(1, cfg.intervalMs), () => runOutlierInterval(e.view, cfg, this.clock.now()));
  }

  /** Runs every cluster's interval work now (tests, or an explicit admin action). */
  runIntervals(now = this.clock.now()): void {
    for (const e of this.entries.values()) if (e.outlier !== undefined) runOutlierInterval(e.view, e.outlier, now);
  }

  /**
   * Gives back everything worker `index` held (requests, pending requests, connections, retries
   * in flight) in every cluster, and wakes the connection gates of every other worker so requests
   * queued there get the freed slots. Only for a worker that is gone: its thread must no longer
   * run, and the next thread with this index must not have started yet.
   */
  reclaimWorker(index: number): ReclaimedCounts {
    const total: ReclaimedCounts = { requests: 0, pending: 0, connections: 0, retries: 0 };
    for (const e of this.entries.values()) {
      const v = e.view;
      if (!Number.isInteger(index) || index < 0 || index >= v.workerSlots) continue;
      const base = workerBase(index);
      let changed = false;
      for (const k of WORKER_COUNTERS) {
        const n = Atomics.exchange(v.workers, base + k, 0);
        // A negative share would be a release without an acquire: never add it to the cluster.
        if (n <= 0) continue;
        subClamped(v.i32, k, n);
        changed = true;
        if (k === W.Requests) total.requests += n;
        else if (k === W.Pending) total.pending += n;
        else if (k === W.Connections) total.connections += n;
        else total.retries += n;
      }
      if (changed) {
        // As a closing connection does (SharedClusterResources.poke): every gate re-checks.
        Atomics.add(v.i32, H.ConnGeneration, 1);
        Atomics.notify(v.i32, H.ConnGeneration);
      }
    }
    return total;
  }

  view(name: string): ClusterSharedView | undefined {
    return this.entries.get(name)?.view;
  }

  close(): void {
    for (const e of this.entries.values()) e.timer?.cancel();
    this.entries.clear();
  }
}

/** Subtracts `n` from word `i`, never below zero. */
function subClamped(a: Int32Array, i: number, n: number): void {
  for (;;) {
    const cur = Atomics.load(a, i);
    const next = Math.max(0, cur - n);
    if (next === cur || Atomics.compareExchange(a, i, cur, next) === cur) return;
  }
}
