// LeastRequestLb: Envoy's default for Istio clusters. Equal weights: power of two choices (two
// distinct random hosts, the one with fewer active requests wins; ties broken at random).
// Unequal weights or hosts in slow start: Envoy's weighted form, each host weighted
// weight / (active + 1)^bias with active_request_bias 1.0, balanced by smooth weighted round
// robin whose weights are re-read on every pick (Envoy samples them in an EDF scheduler).

import type { HostListLbOptions, LoadBalancer } from "./load-balancer.js";
import { weightsOf } from "./load-balancer.js";
import type { Random } from "../common/random.js";
import { WarmingWeights } from "./warming-weights.js";
import type { UpstreamHost } from "./upstream-host.js";

export class LeastRequestLb implements LoadBalancer {
  private readonly hosts: readonly UpstreamHost[];
  private readonly random: Random;
  private readonly weights: number[];
  private readonly uniform: boolean;
  private readonly warming: WarmingWeights | undefined;
  private readonly current: Float64Array;

  constructor(hosts: readonly UpstreamHost[], opts: HostListLbOptions) {
    this.hosts = hosts;
    this.random = opts.random;
    this.weights = weightsOf(hosts, opts.weights);
    this.uniform = this.weights.every((w) => w === this.weights[0]);
    this.warming = WarmingWeights.create(this.weights, opts.slowStart);
    this.current = new Float64Array(hosts.length);
  }

  pick(): UpstreamHost | undefined {
    const hosts = this.hosts;
    const n = hosts.length;
    if (n <= 1) return hosts[0];
    const warm = this.warming?.current();
    if (warm !== undefined) return this.weighted(warm);
    if (!this.uniform) return this.weighted(this.weights);
    const i = this.random.int(n);
    let j = this.random.int(n - 1);
    if (j >= i) j++;
    const a = hosts[i]!;
    const b = hosts[j]!;
    if (a.active === b.active) return this.random.next() < 0.5 ? a : b;
    return a.active < b.active ? a : b;
  }

  private weighted(weights: ArrayLike<number>): UpstreamHost | undefined {
    const hosts = this.hosts;
    const cur = this.current;
    let total = 0;
    let best = 0;
    for (let i = 0; i < hosts.length; i++) {
      const w = weights[i]! / (hosts[i]!.active + 1);
      total += w;
      cur[i]! += w;
      if (cur[i]! > cur[best]!) best = i;
    }
    cur[best]! -= total;
    return hosts[best];
  }
}
