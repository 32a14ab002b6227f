// Test helpers for load balancers: hosts without pools, groups, counting picks.

import type { Locality } from "../../../src/config/model/types.js";
import { seededRandom } from "../../../src/common/random.js";
import type { LbContext } from "../../../src/upstream/cluster-api.js";
import { ClusterLb, type ClusterLbConfig } from "../../../src/upstream/cluster-lb.js";
import type { Http1Pool } from "../../../src/upstream/http1-pool.js";
import type { LbPolicy } from "../../../src/upstream/load-balancer.js";
import type { HostGroup } from "../../../src/upstream/priority-set.js";
import { UpstreamHost } from "../../../src/upstream/upstream-host.js";

export const POLICIES: LbPolicy[] = ["ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "RING_HASH", "MAGLEV"];

export function host(i: number, weight = 1, locality: Locality = {}): UpstreamHost {
  return new UpstreamHost(`10.0.${i >> 8}.${i & 255}`, 8080, weight, {}, locality, {} as Http1Pool);
}

export function hosts(n: number, from = 0): UpstreamHost[] {
  return Array.from({ length: n }, (_, i) => host(from + i));
}

export function group(hs: UpstreamHost[], priority = 0, weight = hs.length, locality: Locality = {}): HostGroup {
  return { priority, locality, weight, hosts: hs };
}

export function eject(h: UpstreamHost, ejected = true): void {
  h.isEjected = () => ejected;
}

export function clusterLb(policy: LbPolicy, groups: HostGroup[], over: Partial<ClusterLbConfig> = {}, seed = 42): ClusterLb {
  return new ClusterLb({ policy, groups, ...over }, { random: seededRandom(seed) });
}

/** A fresh 64-bit hash per call (hash policies feed the hash balancers one per request). */
export function hashSource(seed: number): () => bigint {
  const r = seededRandom(seed);
  return () => (BigInt(r.int(2 ** 32)) << 32n) | BigInt(r.int(2 ** 32));
}

/** Picks `n` times; for hash policies each pick gets a new random hash. */
export function countPicks(lb: { pick(ctx: LbContext): UpstreamHost | undefined }, n: number, policy: LbPolicy, ctx: LbContext = {}): Map<UpstreamHost | undefined, number> {
  const counts = new Map<UpstreamHost | undefined, number>();
  const nextHash = hashSource(7);
  const hashing = policy === "RING_HASH" || policy === "MAGLEV";
  for (let i = 0; i < n; i++) {
    const h = lb.pick(hashing ? { ...ctx, hash: nextHash() } : ctx);
    counts.set(h, (counts.get(h) ?? 0) + 1);
  }
  return counts;
}
