// computePriorityLoad: Envoy's split of traffic across priority levels from their health, with the
// overprovisioning factor (1.4) and panic thresholds (LoadBalancerBase::recalculatePerPriorityState
// and recalculatePerPriorityPanic, without degraded hosts).

/** 140: Envoy's default overprovisioning factor, percent. */
export const OVERPROVISIONING_FACTOR = 140;
/** 50: Envoy's default healthy_panic_threshold, percent. */
export const DEFAULT_PANIC_THRESHOLD = 50;

export interface LevelHealth {
  total: number;
  healthy: number;
}

export interface PriorityLoad {
  /** Percent of traffic per level; sums to 100 unless nothing is available. */
  load: number[];
  /** Levels that balance over all their hosts, ignoring health. */
  panic: boolean[];
  /** False when no level has a healthy host and panic is disabled: no host can be chosen. */
  available: boolean;
}

/** Level health: min(100, 1.4 × healthy / total × 100), integer as Envoy computes it. */
export function levelHealth(l: LevelHealth): number {
  return l.total === 0 ? 0 : Math.min(100, Math.floor((OVERPROVISIONING_FACTOR * l.healthy) / l.total));
}

export function computePriorityLoad(levels: readonly LevelHealth[], panicThreshold: number): PriorityLoad {
  const n = levels.length;
  const health = levels.map(levelHealth);
  const normalizedTotal = Math.min(100, health.reduce((s, h) => s + h, 0));
  const load = new Array<number>(n).fill(0);
  const panic = new Array<boolean>(n).fill(false);
  if (normalizedTotal === 0 && panicThreshold <= 0) return { load, panic, available: false };

  if (normalizedTotal > 0) {
    // Higher priorities take what their health allows; the rest spills to the next levels.
    // Below 100 in total, health is scaled up so the loads still sum to 100.
    let remaining = 100;
    let first = -1;
    for (let i = 0; i < n; i++) {
      if (first === -1 && health[i]! > 0) first = i;
      load[i] = Math.min(remaining, Math.floor((health[i]! * 100) / normalizedTotal));
      remaining -= load[i]!;
    }
    if (remaining > 0 && first !== -1) load[first]! += remaining;
  }
  // Panic is judged per level, and only when the levels together cannot take all traffic.
  if (normalizedTotal < 100) {
    for (let i = 0; i < n; i++) {
      const l = levels[i]!;
      const healthyPercent = l.total === 0 ? 0 : (100 * l.healthy) / l.total;
      panic[i] = healthyPercent < panicThreshold;
    }
  }
  if (n > 0 && panic.every(Boolean)) {
    // Total panic: spread over levels by host count, every host eligible.
    const hosts = levels.reduce((s, l) => s + l.total, 0);
    let remaining = 100;
    let first = -1;
    for (let i = 0; i < n; i++) {
      if (first === -1 && levels[i]!.total > 0) first = i;
      load[i] = hosts === 0 ? 0 : Math.floor((100 * levels[i]!.total) / hosts);
      remaining -= load[i]!;
    }
    load[first === -1 ? 0 : first]! += remaining;
  }
  return { load, panic, available: true };
}
