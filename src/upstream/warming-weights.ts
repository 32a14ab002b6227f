// WarmingWeights: a host list's weights while any host is inside its slow start window; once every
// host is warm it reports nothing and costs one comparison per pick.

import type { HostListLbOptions } from "./load-balancer.js";

export class WarmingWeights {
  private readonly base: readonly number[];
  private readonly opts: NonNullable<HostListLbOptions["slowStart"]>;
  private readonly weights: Float64Array;
  private warmUntil: number;
  total = 0;

  private constructor(base: readonly number[], opts: NonNullable<HostListLbOptions["slowStart"]>, warmUntil: number) {
    this.base = base;
    this.opts = opts;
    this.weights = new Float64Array(base.length);
    this.warmUntil = warmUntil;
  }

  /** undefined when no host of the list is (or will be) warming. */
  static create(base: readonly number[], opts: HostListLbOptions["slowStart"]): WarmingWeights | undefined {
    if (opts === undefined) return undefined;
    let until = -Infinity;
    for (const t of opts.createdAt) until = Math.max(until, t + opts.ramp.windowMs);
    if (!(until > opts.clock.monotonic())) return undefined;
    return new WarmingWeights(base, opts, until);
  }

  /** Effective weights now, or undefined once every host is past its window. */
  current(): Float64Array | undefined {
    if (this.warmUntil === -Infinity) return undefined;
    const now = this.opts.clock.monotonic();
    if (now >= this.warmUntil) {
      this.warmUntil = -Infinity;
      return undefined;
    }
    let total = 0;
    const created = this.opts.createdAt;
    for (let i = 0; i < this.base.length; i++) {
      const w = this.base[i]! * this.opts.ramp.factor(created[i]!, now);
      this.weights[i] = w;
      total += w;
    }
    this.total = total;
    return this.weights;
  }
}
