// RandomLb: weighted random choice.

import type { Random } from "../common/random.js";
import type { LoadBalancer } from "./load-balancer.js";
import type { UpstreamHost } from "./upstream-host.js";

export class RandomLb implements LoadBalancer {
  private readonly hosts: UpstreamHost[];
  private readonly cumulative: number[];
  private readonly random: Random;

  constructor(hosts: UpstreamHost[], random: Random) {
    this.hosts = hosts;
    this.random = random;
    let sum = 0;
    this.cumulative = hosts.map((h) => (sum += h.weight));
  }

  pick(): UpstreamHost | undefined {
    const n = this.hosts.length;
    if (n <= 1) return this.hosts[0];
    const total = this.cumulative[n - 1]!;
    const r = this.random.next() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid]! > r) hi = mid;
      else lo = mid + 1;
    }
    return this.hosts[lo];
  }
}
