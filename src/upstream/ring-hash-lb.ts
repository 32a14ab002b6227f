// RingHashLb: Envoy's ketama-style ring. Each host gets hashes `key_0`, `key_1`, … in proportion to
// its weight, scaled so the lightest host gets a whole number and the ring holds at least
// minimumRingSize (at most maximumRingSize) entries; a request goes to the first entry at or after
// its hash, wrapping. No hash → a random point (Envoy's behaviour: effectively random balancing).
// Ring keys are `address:port_n` hashed with xxHash64, as Envoy's (values are the same XXH64).

import type { Random } from "../common/random.js";
import type { LbContext } from "./cluster-api.js";
import { hashKeyOf, type HashKey } from "./hash-key.js";
import { DEFAULT_MAX_RING_SIZE, DEFAULT_MIN_RING_SIZE, weightsOf, type HostListLbOptions, type LoadBalancer } from "./load-balancer.js";
import type { UpstreamHost } from "./upstream-host.js";
import { xxHash64 } from "./xxhash64.js";

export class RingHashLb implements LoadBalancer {
  private readonly hosts: readonly UpstreamHost[];
  private readonly random: Random;
  private readonly hi: Uint32Array;
  private readonly lo: Uint32Array;
  private readonly host: Uint32Array;
  private readonly key: HashKey = { hi: 0, lo: 0 };

  constructor(hosts: readonly UpstreamHost[], opts: HostListLbOptions) {
    this.hosts = hosts;
    this.random = opts.random;
    const min = opts.ringHash?.minimumRingSize ?? DEFAULT_MIN_RING_SIZE;
    const max = opts.ringHash?.maximumRingSize ?? DEFAULT_MAX_RING_SIZE;
    const weights = weightsOf(hosts, opts.weights);
    const sum = weights.reduce((s, w) => s + w, 0);
    const entries: Array<{ h: bigint; i: number }> = [];
    if (hosts.length > 0 && sum > 0) {
      const norm = weights.map((w) => w / sum);
      const minWeight = Math.min(...norm.filter((w) => w > 0));
      // Scale so the lightest host gets a whole number of entries, within [min, max].
      const scale = Math.min(Math.ceil(minWeight * min) / minWeight, max);
      let current = 0;
      let target = 0;
      for (let i = 0; i < hosts.length; i++) {
        target += scale * norm[i]!;
        const prefix = `${hosts[i]!.key}_`;
        for (let n = 0; current < target; n++, current++) entries.push({ h: xxHash64(prefix + n), i });
      }
      entries.sort((a, b) => (a.h < b.h ? -1 : a.h > b.h ? 1 : 0));
    }
    this.hi = new Uint32Array(entries.length);
    this.lo = new Uint32Array(entries.length);
    this.host = new Uint32Array(entries.length);
    entries.forEach((e, k) => {
      this.hi[k] = Number(e.h >> 32n);
      this.lo[k] = Number(e.h & 0xffffffffn);
      this.host[k] = e.i;
    });
  }

  get size(): number {
    return this.hi.length;
  }

  pick(ctx: LbContext, attempt = 0): UpstreamHost | undefined {
    const size = this.hi.length;
    if (size === 0) return undefined;
    const { hi, lo } = hashKeyOf(ctx.hash, this.random, this.key);
    // First entry >= hash (lower bound); past the end wraps to the first (Envoy's ketama walk).
    let a = 0;
    let b = size;
    while (a < b) {
      const m = (a + b) >>> 1;
      const mh = this.hi[m]!;
      if (mh < hi || (mh === hi && this.lo[m]! < lo)) a = m + 1;
      else b = m;
    }
    const start = a === size ? 0 : a;
    if (attempt === 0) return this.hosts[this.host[start]!];
    // A re-pick under the previous-hosts predicate takes the attempt-th *distinct* host clockwise.
    // Envoy steps to entry (index + attempt), which can land on the same host again; walking to
    // the next distinct host keeps the failover consistent and always different.
    const seen: number[] = [];
    for (let steps = 0, idx = start; steps < size; steps++, idx = idx + 1 === size ? 0 : idx + 1) {
      const h = this.host[idx]!;
      if (seen.includes(h)) continue;
      if (seen.length === attempt) return this.hosts[h];
      seen.push(h);
    }
    return this.hosts[seen[attempt % seen.length]!];
  }
}
