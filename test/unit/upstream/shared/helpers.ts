// Test helpers for shared cluster state: a fake wall clock, a scripted random source and configs.

import type { Clock } from "../../../../src/common/clock.js";
import type { Random } from "../../../../src/common/random.js";
import { allocateClusterShared, viewClusterShared, type ClusterSharedView } from "../../../../src/upstream/shared/cluster-shared-layout.js";

export class FakeClock implements Clock {
  t = 1_700_000_000_000;
  now(): number {
    return this.t;
  }
  monotonic(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** Returns the scripted integers for `int(n)` in turn (then 0); `next()` derives from them. */
export function scriptedRandom(ints: number[] = []): Random & { calls: number } {
  const r = {
    calls: 0,
    int(n: number): number {
      r.calls++;
      const v = ints.shift() ?? 0;
      return Math.min(v, n - 1);
    },
    next(): number {
      return r.int(100) / 100;
    },
  };
  return r;
}


export function view(slots: number): ClusterSharedView {
  return viewClusterShared(allocateClusterShared(slots), slots)!;
}

export { outlierConfig } from "../../../helpers/outlier-config.js";
