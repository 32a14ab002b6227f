// TcpClusterChoice: the upstream cluster of one TCP proxy config — its single cluster, or one of
// its weighted clusters drawn by weight with the worker's Random, once per connection (Envoy's
// tcp_proxy weighted_clusters). Built once per snapshot; validates the config it is given.

import type { Random } from "../common/random.js";
import type { TcpProxy } from "../config/model/types.js";
import { indexAtWeight } from "../common/cumulative-weights.js";

export class TcpClusterChoice {
  private readonly names: readonly string[];
  /** cumulative[i] = sum of the weights of names[0..i]. */
  private readonly cumulative: Float64Array;
  private readonly total: number;

  /** Throws with a readable message when the config names no cluster or only zero weights. */
  constructor(config: TcpProxy) {
    const hasCluster = config.cluster !== undefined && config.cluster !== "";
    const weighted = config.weightedClusters ?? [];
    if (hasCluster === weighted.length > 0) throw new Error("tcp_proxy needs exactly one of cluster and weightedClusters");
    if (hasCluster) {
      this.names = [config.cluster as string];
      this.cumulative = Float64Array.of(1);
      this.total = 1;
      return;
    }
    const names: string[] = [];
    const cumulative: number[] = [];
    let total = 0;
    for (const w of weighted) {
      if (w.name === "") throw new Error("tcp_proxy weighted cluster without a name");
      if (!Number.isInteger(w.weight) || w.weight < 0) throw new Error(`tcp_proxy weighted cluster ${w.name}: weight ${w.weight} is not a non-negative integer`);
      // Envoy never picks a zero-weight cluster.
      if (w.weight === 0) continue;
      total += w.weight;
      names.push(w.name);
      cumulative.push(total);
    }
    if (total === 0) throw new Error("tcp_proxy weighted clusters have a total weight of 0");
    this.names = names;
    this.cumulative = Float64Array.from(cumulative);
    this.total = total;
  }

  /** The cluster for a new connection. */
  pick(random: Random): string {
    const n = this.names.length;
    if (n === 1) return this.names[0]!;
    return this.names[indexAtWeight(this.cumulative, random.next() * this.total)]!;
  }
}
