// LoadBalancer: picks a host for one request attempt. Two layers implement it: ClusterLb (the whole
// cluster: priorities, health, panic, localities, retry-host predicate) and one balancer per
// policy over a fixed host list (RoundRobinLb, LeastRequestLb, RandomLb, RingHashLb, MaglevLb).

import type { Clock } from "../common/clock.js";
import type { Random } from "../common/random.js";
import type { LbContext } from "./cluster-api.js";
import type { SlowStart } from "./slow-start.js";
import type { UpstreamHost } from "./upstream-host.js";

export interface LoadBalancer {
  /**
   * A host, or undefined when there is none. `attempt` (0 first) counts re-picks for the same
   * attempt under the previous-hosts predicate; hash balancers use it to move off the hash's host.
   */
  pick(ctx: LbContext, attempt?: number): UpstreamHost | undefined;
}

export type LbPolicy = "ROUND_ROBIN" | "LEAST_REQUEST" | "RANDOM" | "RING_HASH" | "MAGLEV";

/** What a per-policy balancer over one host list is built from. */
export interface HostListLbOptions {
  random: Random;
  /** Effective weights parallel to the hosts (hash balancers: locality-scaled). Default: host.weight. */
  weights?: readonly number[];
  /** ROUND_ROBIN start offset (the worker index, so workers do not move in lock-step). */
  start?: number;
  /** Slow start (ROUND_ROBIN, LEAST_REQUEST): the ramp and each host's creation time (clock.monotonic ms). */
  slowStart?: { ramp: SlowStart; clock: Clock; createdAt: readonly number[] };
  /** RING_HASH ring size bounds. */
  ringHash?: { minimumRingSize: number; maximumRingSize: number };
  /** MAGLEV table size (prime). */
  maglevTableSize?: number;
}

/** Builds a policy's balancer over one host list. */
export type HostListLbFactory = (hosts: readonly UpstreamHost[], opts: HostListLbOptions) => LoadBalancer;

/** Envoy's ring hash and Maglev defaults, from the model's one table of defaults. */
export { ENVOY_MAGLEV_TABLE_SIZE as DEFAULT_MAGLEV_TABLE_SIZE, ENVOY_MAX_RING_SIZE as DEFAULT_MAX_RING_SIZE, ENVOY_MIN_RING_SIZE as DEFAULT_MIN_RING_SIZE } from "../config/model/defaults.js";

export function weightsOf(hosts: readonly UpstreamHost[], weights: readonly number[] | undefined): number[] {
  return weights !== undefined ? weights.slice() : hosts.map((h) => h.weight);
}
