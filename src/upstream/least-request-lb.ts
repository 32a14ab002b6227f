// LeastRequestLb: Envoy's default for Istio clusters. With equal weights, power of two choices
// (pick two at random, take the one with fewer active requests); with unequal weights, Envoy's
// weighted form: weight / (active + 1) decides among the two choices.

import type { Random } from "../common/random.js";
import type { LoadBalancer } from "./load-balancer.js";
import type { UpstreamHost } from "./upstream-host.js";

export class LeastRequestLb implements LoadBalancer {
  private readonly hosts: UpstreamHost[];
  private readonly random: Random;

  constructor(hosts: UpstreamHost[], random: Random) {
    this.hosts = hosts;
    this.random = random;
  }

  pick(): UpstreamHost | undefined {
    const hosts = this.hosts;
    const n = hosts.length;
    if (n <= 1) return hosts[0];
    const a = hosts[this.random.int(n)]!;
    let b = hosts[this.random.int(n - 1)]!;
    if (b === a) b = hosts[n - 1]!;
    const sa = a.weight / (a.active + 1);
    const sb = b.weight / (b.active + 1);
    if (sa === sb) return this.random.next() < 0.5 ? a : b;
    return sa > sb ? a : b;
  }
}
