// RoundRobinLb: smooth weighted round robin (nginx's algorithm): even spread, exact weight ratios.

import type { LoadBalancer } from "./load-balancer.js";
import type { UpstreamHost } from "./upstream-host.js";

export class RoundRobinLb implements LoadBalancer {
  private readonly hosts: UpstreamHost[];
  private readonly current: number[];
  private readonly total: number;
  private readonly uniform: boolean;
  private next = 0;

  constructor(hosts: UpstreamHost[], start = 0) {
    this.hosts = hosts;
    this.current = hosts.map(() => 0);
    this.total = hosts.reduce((s, h) => s + h.weight, 0);
    this.uniform = hosts.every((h) => h.weight === hosts[0]!.weight);
    // Workers start at different offsets so N workers do not hit host 0 in lock-step.
    this.next = hosts.length > 0 ? start % hosts.length : 0;
  }

  pick(): UpstreamHost | undefined {
    const hosts = this.hosts;
    if (hosts.length <= 1) return hosts[0];
    if (this.uniform) {
      const h = hosts[this.next]!;
      this.next = this.next + 1 === hosts.length ? 0 : this.next + 1;
      return h;
    }
    let best = -1;
    for (let i = 0; i < hosts.length; i++) {
      this.current[i]! += hosts[i]!.weight;
      if (best === -1 || this.current[i]! > this.current[best]!) best = i;
    }
    this.current[best]! -= this.total;
    return hosts[best];
  }
}
