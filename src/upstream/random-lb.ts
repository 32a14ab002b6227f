// RandomLb: weighted random choice over one host list.

import type { Random } from "../common/random.js";
import type { HostListLbOptions, LoadBalancer } from "./load-balancer.js";
import { weightsOf } from "./load-balancer.js";
import type { UpstreamHost } from "./upstream-host.js";
import { indexAtWeight } from "../common/cumulative-weights.js";

export class RandomLb implements LoadBalancer {
  private readonly hosts: readonly UpstreamHost[];
  private readonly cumulative: Float64Array;
  private readonly uniform: boolean;
  private readonly random: Random;

  constructor(hosts: readonly UpstreamHost[], opts: HostListLbOptions) {
    this.hosts = hosts;
    this.random = opts.random;
    const weights = weightsOf(hosts, opts.weights);
    this.uniform = weights.every((w) => w === weights[0]);
    this.cumulative = new Float64Array(hosts.length);
    let sum = 0;
    for (let i = 0; i < weights.length; i++) this.cumulative[i] = sum += weights[i]!;
  }

  pick(): UpstreamHost | undefined {
    const n = this.hosts.length;
    if (n <= 1) return this.hosts[0];
    if (this.uniform) return this.hosts[this.random.int(n)];
    return this.hosts[indexAtWeight(this.cumulative, this.random.next() * this.cumulative[n - 1]!)];
  }
}
