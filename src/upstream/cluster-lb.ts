// ClusterLb: host selection for a whole cluster, as Envoy's load balancer base does it: choose a
// priority by load (health × 1.4, spilling over), balance over its healthy hosts — all hosts in
// panic — optionally through a locality chosen by weight, with the policy's balancer; re-pick to
// avoid hosts earlier attempts used (previous_hosts predicate).

import type { Clock } from "../common/clock.js";
import { systemClock } from "../common/clock.js";
import type { Random } from "../common/random.js";
import type { LbContext } from "./cluster-api.js";
import type { HostListLbFactory, HostListLbOptions, LbPolicy, LoadBalancer } from "./load-balancer.js";
import { LeastRequestLb } from "./least-request-lb.js";
import { MaglevLb } from "./maglev-lb.js";
import { computePriorityLoad, DEFAULT_PANIC_THRESHOLD } from "./priority-load.js";
import { PrioritySet, type HostGroup, type PriorityLevel } from "./priority-set.js";
import { RandomLb } from "./random-lb.js";
import { RingHashLb } from "./ring-hash-lb.js";
import { RoundRobinLb } from "./round-robin-lb.js";
import { SlowStart, type SlowStartConfig } from "./slow-start.js";
import type { UpstreamHost } from "./upstream-host.js";

export interface ClusterLbConfig {
  policy: LbPolicy;
  /** The model's LocalityLbEndpoints, resolved to hosts. */
  groups: readonly HostGroup[];
  /** Percent; default 50 (Envoy). 0 disables panic. */
  healthyPanicThreshold?: number;
  /** Envoy locality_weighted_lb_config: pick a locality by weight × health first. */
  localityWeighted?: boolean;
  ringHash?: { minimumRingSize: number; maximumRingSize: number };
  maglevTableSize?: number;
  /** Slow start for ROUND_ROBIN and LEAST_REQUEST (ignored by other policies, as in Envoy). */
  slowStart?: SlowStartConfig;
  /** When each host joined (clock.monotonic ms); hosts absent here are not warming. */
  createdAt?: ReadonlyMap<UpstreamHost, number>;
}

export interface ClusterLbDeps {
  random: Random;
  clock?: Clock;
  /** ROUND_ROBIN start offset (worker index). */
  start?: number;
  /** Changes whenever any host's ejection may have changed; without it health is polled per pick. */
  healthEpoch?: () => number;
}

const FACTORIES: Record<LbPolicy, HostListLbFactory> = {
  ROUND_ROBIN: (h, o) => new RoundRobinLb(h, o),
  LEAST_REQUEST: (h, o) => new LeastRequestLb(h, o),
  RANDOM: (h, o) => new RandomLb(h, o),
  RING_HASH: (h, o) => new RingHashLb(h, o),
  MAGLEV: (h, o) => new MaglevLb(h, o),
};

/** 1: Envoy's host_selection_retry_max_attempts default when a retry host predicate is set. */
const DEFAULT_HOST_SELECTION_ATTEMPTS = 1;

export class ClusterLb implements LoadBalancer {
  readonly policy: LbPolicy;
  readonly set: PrioritySet;
  private readonly cfg: ClusterLbConfig;
  private readonly random: Random;
  private readonly clock: Clock;
  private readonly start: number;
  private readonly hashing: boolean;
  private readonly localityWeighted: boolean;
  private readonly slowStart: SlowStart | undefined;
  private healthyLbs: Array<LoadBalancer | undefined>;
  private allLbs: Array<LoadBalancer | undefined>;
  private localityLbs: Array<Array<LoadBalancer | undefined>>;

  constructor(cfg: ClusterLbConfig, deps: ClusterLbDeps) {
    this.cfg = cfg;
    this.policy = cfg.policy;
    this.random = deps.random;
    this.clock = deps.clock ?? systemClock;
    this.start = deps.start ?? 0;
    this.hashing = cfg.policy === "RING_HASH" || cfg.policy === "MAGLEV";
    this.localityWeighted = cfg.localityWeighted === true;
    const warms = cfg.slowStart !== undefined && cfg.slowStart.windowMs > 0 && (cfg.policy === "ROUND_ROBIN" || cfg.policy === "LEAST_REQUEST");
    this.slowStart = warms ? new SlowStart(cfg.slowStart!) : undefined;
    this.set = new PrioritySet(cfg.groups, cfg.healthyPanicThreshold ?? DEFAULT_PANIC_THRESHOLD, deps.healthEpoch);
    const n = this.set.levels.length;
    this.healthyLbs = new Array<LoadBalancer | undefined>(n);
    this.allLbs = new Array<LoadBalancer | undefined>(n);
    this.localityLbs = this.set.levels.map((l) => new Array<LoadBalancer | undefined>(l.localities.length));
  }

  pick(ctx: LbContext): UpstreamHost | undefined {
    if (this.set.refresh()) this.invalidate();
    const prev = ctx.previousHosts;
    if (prev === undefined || prev.length === 0) return this.pickOnce(ctx, 0);
    const max = ctx.hostSelectionRetryMaxAttempts ?? DEFAULT_HOST_SELECTION_ATTEMPTS;
    let host: UpstreamHost | undefined;
    for (let attempt = 0; attempt <= max; attempt++) {
      host = this.pickOnce(ctx, attempt);
      if (host === undefined || !prev.includes(host)) return host;
    }
    // Every re-pick landed on a tried host: accept the last one (Envoy).
    return host;
  }

  private pickOnce(ctx: LbContext, attempt: number): UpstreamHost | undefined {
    const set = this.set;
    const levels = set.levels;
    let li: number;
    if (levels.length === 1) {
      li = set.available ? 0 : -1;
    } else {
      // Hash balancers choose the priority from the hash too, so a key stays put (Envoy).
      const r = this.hashing && ctx.hash !== undefined ? Number(ctx.hash % 100n) : this.random.int(100);
      li = ctx.retryRemoteLocalities === true && ctx.previousHosts !== undefined && ctx.previousHosts.length > 0 ? this.chooseUntriedPriority(r, ctx.previousHosts) : set.choosePriority(r);
    }
    if (li < 0) return undefined;
    const level = levels[li]!;
    if (level.panic) return (this.allLbs[li] ??= this.build(level.hosts, level, false)).pick(ctx, attempt);
    if (this.localityWeighted && !this.hashing) {
      const l = set.chooseLocality(level);
      if (l >= 0) {
        const lbs = this.localityLbs[li]!;
        return (lbs[l] ??= this.build(level.localities[l]!.healthy, level, true)).pick(ctx, attempt);
      }
    }
    return (this.healthyLbs[li] ??= this.build(level.healthy, level, true)).pick(ctx, attempt);
  }

  /**
   * Envoy's previous_priorities retry plugin (Istio retryRemoteLocalities): priorities already
   * tried are taken out and the load recomputed over the rest; when all were tried, start over.
   */
  private chooseUntriedPriority(r: number, previous: readonly UpstreamHost[]): number {
    const levels = this.set.levels;
    const tried = new Set<number>();
    for (const h of previous) {
      const l = this.set.levelOf.get(h);
      if (l !== undefined) tried.add(l);
    }
    if (tried.size === 0 || tried.size >= levels.length) return this.set.choosePriority(r);
    const health = levels.map((l, i) => (tried.has(i) ? { total: l.hosts.length, healthy: 0 } : { total: l.hosts.length, healthy: l.healthy.length }));
    const pl = computePriorityLoad(health, 0);
    if (!pl.available) return this.set.choosePriority(r);
    let acc = 0;
    for (let i = 0; i < levels.length; i++) {
      acc += pl.load[i]!;
      if (r < acc) return i;
    }
    return this.set.choosePriority(r);
  }

  private invalidate(): void {
    this.healthyLbs.fill(undefined);
    this.allLbs.fill(undefined);
    for (const l of this.localityLbs) l.fill(undefined);
  }

  private build(hosts: readonly UpstreamHost[], level: PriorityLevel, healthyOnly: boolean): LoadBalancer {
    const opts: HostListLbOptions = { random: this.random, start: this.start };
    if (this.cfg.ringHash !== undefined) opts.ringHash = this.cfg.ringHash;
    if (this.cfg.maglevTableSize !== undefined) opts.maglevTableSize = this.cfg.maglevTableSize;
    if (this.hashing && this.localityWeighted && hosts === (healthyOnly ? level.healthy : level.hosts)) {
      opts.weights = localityScaledWeights(level, healthyOnly);
    }
    if (this.slowStart !== undefined && this.cfg.createdAt !== undefined) {
      const createdAt = hosts.map((h) => this.cfg.createdAt!.get(h) ?? -Infinity);
      if (createdAt.some((t) => t > -Infinity)) opts.slowStart = { ramp: this.slowStart, clock: this.clock, createdAt };
    }
    return FACTORIES[this.policy](hosts, opts);
  }
}

/**
 * Hash balancers honour locality weights through host weights (Envoy normalizeLocalityWeights):
 * host share = locality weight / Σ weights of localities with hosts × host weight / Σ host weights in it.
 */
function localityScaledWeights(level: PriorityLevel, healthyOnly: boolean): number[] {
  const lists = level.localities.map((l) => (healthyOnly ? l.healthy : l.hosts));
  let weightSum = 0;
  level.localities.forEach((l, i) => {
    if (lists[i]!.length > 0) weightSum += l.weight;
  });
  const out: number[] = [];
  level.localities.forEach((l, i) => {
    const hosts = lists[i]!;
    const hostSum = hosts.reduce((s, h) => s + h.weight, 0);
    for (const h of hosts) out.push(weightSum > 0 && hostSum > 0 ? (l.weight / weightSum) * (h.weight / hostSum) : 0);
  });
  return out;
}
