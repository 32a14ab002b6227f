// SharedStateOwner: allocates each cluster's shared buffer and runs the outlier-detection interval
// for it — exactly once per cluster, because there is one owner per process: the supervisor on
// the main thread, or a ProxyRuntime used in-process without one. Unchanged clusters (same
// signature) keep their buffer, so counters and ejections survive config reloads.

import type { Clock } from "../../common/clock.js";
import type { Cluster, OutlierDetectionConfig } from "../../config/model/types.js";
import {
  allocateClusterShared,
  clusterSignature,
  hostSlotCount,
  viewClusterShared,
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

export class SharedStateOwner {
  private entries = new Map<string, Entry>();
  private readonly clock: Clock;
  private readonly scheduler: IntervalScheduler;

  constructor(clock: Clock, scheduler: IntervalScheduler = timerScheduler) {
    this.clock = clock;
    this.scheduler = scheduler;
  }

  /** Buffers for a snapshot's clusters; call before handing the snapshot to workers. */
  prepare(clusters: Record<string, Cluster>): SharedClusterBuffers {
    const next = new Map<string, Entry>();
    const out: SharedClusterBuffers = {};
    for (const [name, c] of Object.entries(clusters)) {
      const signature = clusterSignature(c);
      let e = this.entries.get(name);
      if (e === undefined || e.signature !== signature) {
        const slots = hostSlotCount(c);
        const view = viewClusterShared(allocateClusterShared(slots), slots)!;
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

  view(name: string): ClusterSharedView | undefined {
    return this.entries.get(name)?.view;
  }

  close(): void {
    for (const e of this.entries.values()) e.timer?.cancel();
    this.entries.clear();
  }
}
