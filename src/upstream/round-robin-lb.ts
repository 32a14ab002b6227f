// RoundRobinLb: round robin over one host list. Equal weights: a plain cursor. Unequal weights (or
// hosts in slow start): smooth weighted round robin (nginx's algorithm) — exact weight ratios,
// evenly interleaved; Envoy reaches the same ratios with an EDF scheduler.

import type { HostListLbOptions, LoadBalancer } from "./load-balancer.js";
import { weightsOf } from "./load-balancer.js";
import { WarmingWeights } from "./warming-weights.js";
import type { UpstreamHost } from "./upstream-host.js";

export class RoundRobinLb implements LoadBalancer {
  private readonly hosts: readonly UpstreamHost[];
  private readonly weights: number[];
  private readonly current: Float64Array;
  private readonly total: number;
  private readonly uniform: boolean;
  private readonly warming: WarmingWeights | undefined;
  private next = 0;

  constructor(hosts: readonly UpstreamHost[], opts: HostListLbOptions) {
    this.hosts = hosts;
    this.weights = weightsOf(hosts, opts.weights);
    this.current = new Float64Array(hosts.length);
    this.total = this.weights.reduce((s, w) => s + w, 0);
    this.uniform = this.weights.every((w) => w === this.weights[0]);
    this.warming = WarmingWeights.create(this.weights, opts.slowStart);
    // Workers start at different offsets so N workers do not hit host 0 in lock-step.
    this.next = hosts.length > 0 ? (opts.start ?? 0) % hosts.length : 0;
  }

  pick(): UpstreamHost | undefined {
    const hosts = this.hosts;
    if (hosts.length <= 1) return hosts[0];
    const warm = this.warming?.current();
    if (warm !== undefined) return this.smooth(warm, this.warming!.total);
    if (this.uniform) {
      const h = hosts[this.next]!;
      this.next = this.next + 1 === hosts.length ? 0 : this.next + 1;
      return h;
    }
    return this.smooth(this.weights, this.total);
  }

  private smooth(weights: ArrayLike<number>, total: number): UpstreamHost | undefined {
    const cur = this.current;
    let best = 0;
    for (let i = 0; i < cur.length; i++) {
      cur[i]! += weights[i]!;
      if (cur[i]! > cur[best]!) best = i;
    }
    cur[best]! -= total;
    return this.hosts[best];
  }
}
