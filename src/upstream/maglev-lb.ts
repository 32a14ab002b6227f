// MaglevLb: Envoy's Maglev table. Each host has an offset (xxHash64(key) mod M) and a skip
// (xxHash64(key, seed 1) mod (M−1) + 1) that define its permutation of the M slots; hosts take
// turns claiming their next free slot, a host of weight w taking a turn w/maxWeight as often, until
// the table is full. A request goes to table[hash mod M]. M must be prime (default 65 537).

import type { Random } from "../common/random.js";
import type { LbContext } from "./cluster-api.js";
import { hashKeyOf, hashMod, type HashKey } from "./hash-key.js";
import { DEFAULT_MAGLEV_TABLE_SIZE, weightsOf, type HostListLbOptions, type LoadBalancer } from "./load-balancer.js";
import type { UpstreamHost } from "./upstream-host.js";
import { xxHash64 } from "./xxhash64.js";

export class MaglevLb implements LoadBalancer {
  private readonly hosts: readonly UpstreamHost[];
  private readonly random: Random;
  private readonly table: Int32Array;
  private readonly key: HashKey = { hi: 0, lo: 0 };

  constructor(hosts: readonly UpstreamHost[], opts: HostListLbOptions) {
    this.hosts = hosts;
    this.random = opts.random;
    // A non-prime size would leave permutations that never reach some slots (Envoy rejects it).
    const requested = opts.maglevTableSize ?? DEFAULT_MAGLEV_TABLE_SIZE;
    const size = isPrime(requested) && requested < 1 << 26 ? requested : DEFAULT_MAGLEV_TABLE_SIZE;
    const weights = weightsOf(hosts, opts.weights);
    const sum = weights.reduce((s, w) => s + w, 0);
    const live = hosts.map((_, i) => i).filter((i) => weights[i]! > 0);
    if (live.length === 0 || sum <= 0) {
      this.table = new Int32Array(0);
      return;
    }
    this.table = new Int32Array(size).fill(-1);
    const m = BigInt(size);
    // Sorted by key: the table depends on the host set, not on the order hosts arrived in.
    live.sort((a, b) => (hosts[a]!.key < hosts[b]!.key ? -1 : hosts[a]!.key > hosts[b]!.key ? 1 : 0));
    const n = live.length;
    const offset = new Float64Array(n);
    const skip = new Float64Array(n);
    const weight = new Float64Array(n);
    const target = new Float64Array(n);
    const next = new Float64Array(n);
    let maxWeight = 0;
    for (let k = 0; k < n; k++) {
      const i = live[k]!;
      const key = hosts[i]!.key;
      offset[k] = Number(xxHash64(key) % m);
      skip[k] = Number(xxHash64(key, 1n) % (m - 1n)) + 1;
      weight[k] = weights[i]! / sum;
      maxWeight = Math.max(maxWeight, weight[k]!);
    }
    let filled = 0;
    for (let iteration = 0; filled < size; iteration++) {
      for (let k = 0; k < n && filled < size; k++) {
        if (iteration * weight[k]! < target[k]!) continue;
        target[k]! += maxWeight;
        let c = (offset[k]! + skip[k]! * next[k]!) % size;
        while (this.table[c] !== -1) {
          next[k]!++;
          c = (offset[k]! + skip[k]! * next[k]!) % size;
        }
        this.table[c] = live[k]!;
        next[k]!++;
        filled++;
      }
    }
  }

  pick(ctx: LbContext, attempt = 0): UpstreamHost | undefined {
    const size = this.table.length;
    if (size === 0) return undefined;
    const key = hashKeyOf(ctx.hash, this.random, this.key);
    if (attempt > 0) {
      // Envoy: hash ^= ~0 - attempt + 1 (i.e. −attempt), a large change so re-picks spread out.
      key.hi = (key.hi ^ 0xffffffff) >>> 0;
      key.lo = (key.lo ^ ((0x100000000 - attempt) >>> 0)) >>> 0;
    }
    return this.hosts[this.table[hashMod(key, size)]!];
  }
}

function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}
