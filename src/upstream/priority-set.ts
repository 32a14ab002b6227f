// PrioritySet: a cluster's hosts grouped by priority and locality, with their current health
// (a host is healthy unless outlier detection ejected it) and what follows from it: the load per
// priority, panic, and the effective weight of each locality. Recomputed only when health changes.

import type { Locality } from "../config/model/types.js";
import { computePriorityLoad, OVERPROVISIONING_FACTOR, type LevelHealth } from "./priority-load.js";
import type { UpstreamHost } from "./upstream-host.js";

/** One LocalityLbEndpoints of the model, resolved to hosts. */
export interface HostGroup {
  priority: number;
  locality: Locality;
  /** The locality's load_balancing_weight (locality-weighted balancing); 0 excludes it. */
  weight: number;
  hosts: readonly UpstreamHost[];
}

export interface LocalityState {
  readonly weight: number;
  readonly hosts: readonly UpstreamHost[];
  healthy: UpstreamHost[];
  /** weight × min(1, 1.4 × healthy / total) (Envoy's effective locality weight). */
  effectiveWeight: number;
}

export interface PriorityLevel {
  /** The model's priority number (levels are dense: empty priorities are dropped). */
  readonly priority: number;
  readonly hosts: readonly UpstreamHost[];
  healthy: UpstreamHost[];
  readonly localities: LocalityState[];
  /** Percent of traffic this level takes. */
  load: number;
  panic: boolean;
  /** Smooth weighted round robin state over localities. */
  readonly localityCurrent: Float64Array;
  localityTotal: number;
}

export class PrioritySet {
  readonly levels: PriorityLevel[];
  /** False when no host may be chosen (nothing healthy, panic disabled). */
  available = true;
  /** Which level each host belongs to (previous-priorities on retries). */
  readonly levelOf: ReadonlyMap<UpstreamHost, number>;
  private readonly flat: UpstreamHost[];
  private readonly ejected: Uint8Array;
  private readonly panicThreshold: number;
  private readonly epoch: (() => number) | undefined;
  private lastEpoch = NaN;

  /**
   * `epoch`, when given, is a counter that changes whenever any host's ejection state may have
   * changed (outlier detection's shared state); health is then re-read only when it moves.
   * Without it every refresh polls `isEjected()` of each host (no allocation).
   */
  constructor(groups: readonly HostGroup[], panicThreshold: number, epoch?: () => number) {
    this.panicThreshold = panicThreshold;
    this.epoch = epoch;
    const byPriority = new Map<number, HostGroup[]>();
    for (const g of groups) {
      if (g.hosts.length === 0) continue;
      const list = byPriority.get(g.priority);
      if (list === undefined) byPriority.set(g.priority, [g]);
      else list.push(g);
    }
    const levelOf = new Map<UpstreamHost, number>();
    this.levels = [...byPriority.keys()]
      .sort((a, b) => a - b)
      .map((priority, index) => {
        const gs = byPriority.get(priority)!;
        const hosts = gs.flatMap((g) => g.hosts);
        for (const h of hosts) levelOf.set(h, index);
        return {
          priority,
          hosts,
          healthy: hosts.slice(),
          localities: gs.map((g) => ({ weight: g.weight, hosts: g.hosts, healthy: g.hosts.slice(), effectiveWeight: g.weight })),
          load: 0,
          panic: false,
          localityCurrent: new Float64Array(gs.length),
          localityTotal: 0,
        };
      });
    this.levelOf = levelOf;
    this.flat = this.levels.flatMap((l) => l.hosts);
    this.ejected = new Uint8Array(this.flat.length);
    this.scan();
    this.recompute();
    if (epoch !== undefined) this.lastEpoch = epoch();
  }

  get hostCount(): number {
    return this.flat.length;
  }

  /** Re-reads health; true when it changed (and levels were recomputed). */
  refresh(): boolean {
    if (this.epoch !== undefined) {
      const e = this.epoch();
      if (e === this.lastEpoch) return false;
      this.lastEpoch = e;
      if (!this.scan()) return false;
    } else if (!this.scan()) {
      return false;
    }
    this.recompute();
    return true;
  }

  private scan(): boolean {
    const flat = this.flat;
    const ejected = this.ejected;
    let changed = false;
    for (let i = 0; i < flat.length; i++) {
      const e = flat[i]!.isEjected() ? 1 : 0;
      if (e !== ejected[i]) {
        ejected[i] = e;
        changed = true;
      }
    }
    return changed;
  }

  private recompute(): void {
    const health: LevelHealth[] = [];
    let k = 0;
    for (const level of this.levels) {
      const healthy: UpstreamHost[] = [];
      for (const h of level.hosts) if (this.ejected[k++] === 0) healthy.push(h);
      level.healthy = healthy.length === level.hosts.length ? (level.hosts as UpstreamHost[]) : healthy;
      const healthySet = new Set(healthy);
      let total = 0;
      for (const loc of level.localities) {
        loc.healthy = loc.hosts.filter((h) => healthySet.has(h));
        const ratio = loc.hosts.length === 0 ? 0 : Math.min(1, (OVERPROVISIONING_FACTOR / 100) * (loc.healthy.length / loc.hosts.length));
        loc.effectiveWeight = loc.weight * ratio;
        total += loc.effectiveWeight;
      }
      level.localityTotal = total;
      level.localityCurrent.fill(0);
      health.push({ total: level.hosts.length, healthy: healthy.length });
    }
    const pl = computePriorityLoad(health, this.panicThreshold);
    this.available = pl.available;
    this.levels.forEach((l, i) => {
      l.load = pl.load[i]!;
      l.panic = pl.panic[i]!;
    });
  }

  /** A level for a number in [0, 100): the first whose cumulative load exceeds it; -1 if none. */
  choosePriority(r: number): number {
    if (!this.available) return -1;
    let acc = 0;
    const levels = this.levels;
    for (let i = 0; i < levels.length; i++) {
      acc += levels[i]!.load;
      if (r < acc) return i;
    }
    return -1;
  }

  /** A locality of `level` by effective weight (smooth weighted round robin); -1 if none has weight. */
  chooseLocality(level: PriorityLevel): number {
    const total = level.localityTotal;
    if (!(total > 0)) return -1;
    const locs = level.localities;
    const cur = level.localityCurrent;
    let best = -1;
    for (let i = 0; i < locs.length; i++) {
      const w = locs[i]!.effectiveWeight;
      if (w <= 0) continue;
      cur[i]! += w;
      if (best === -1 || cur[i]! > cur[best]!) best = i;
    }
    cur[best]! -= total;
    return best;
  }
}
