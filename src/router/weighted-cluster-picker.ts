// WeightedClusterPicker: chooses one of a route's weighted clusters in proportion to its weight
// (Envoy RouteAction.weighted_clusters). Built once per snapshot; each pick is one random draw and
// a binary search over cumulative weights, O(log n), no allocation.

import type { WeightedCluster } from "../config/model/types.js";
import type { Random } from "../common/random.js";

export class WeightedClusterPicker {
  /** Clusters with a positive weight, in config order. */
  private readonly clusters: readonly WeightedCluster[];
  /** cumulative[i] = sum of weights of clusters[0..i]. */
  private readonly cumulative: Float64Array;
  /** Sum of all weights; 0 means nothing can be picked. */
  readonly totalWeight: number;

  private constructor(clusters: WeightedCluster[], cumulative: Float64Array, total: number) {
    this.clusters = clusters;
    this.cumulative = cumulative;
    this.totalWeight = total;
  }

  /** Zero, negative and non-finite weights never get picked (Envoy weights are uint32). */
  static create(clusters: readonly WeightedCluster[]): WeightedClusterPicker {
    const kept = clusters.filter((c) => Number.isFinite(c.weight) && c.weight > 0);
    const cumulative = new Float64Array(kept.length);
    let total = 0;
    for (let i = 0; i < kept.length; i++) {
      total += kept[i]!.weight;
      cumulative[i] = total;
    }
    return new WeightedClusterPicker(kept, cumulative, total);
  }

  /** A cluster drawn by weight, or undefined when the total weight is 0. */
  pick(random: Random): WeightedCluster | undefined {
    const n = this.clusters.length;
    if (n === 0) return undefined;
    if (n === 1) return this.clusters[0];
    const r = random.next() * this.totalWeight;
    // First index whose cumulative weight exceeds r.
    const cum = this.cumulative;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cum[mid]! > r) hi = mid;
      else lo = mid + 1;
    }
    return this.clusters[lo];
  }
}
