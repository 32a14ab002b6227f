// HashKey: a 64-bit request hash as two unsigned 32-bit halves, so ring and table lookups compare
// plain numbers instead of allocating BigInts on every pick.

import type { Random } from "../common/random.js";

export interface HashKey {
  hi: number;
  lo: number;
}

const TWO_32 = 4294967296;

/** Fills `out` from the context's hash, or a random 64-bit value when there is none (as Envoy does). */
export function hashKeyOf(hash: bigint | undefined, random: Random, out: HashKey): HashKey {
  if (hash === undefined) {
    out.hi = random.int(TWO_32);
    out.lo = random.int(TWO_32);
  } else {
    out.hi = Number((hash >> 32n) & 0xffffffffn);
    out.lo = Number(hash & 0xffffffffn);
  }
  return out;
}

/** (hi·2^32 + lo) mod m, exact for m < 2^26. */
export function hashMod(key: HashKey, m: number): number {
  return ((key.hi % m) * (TWO_32 % m) + (key.lo % m)) % m;
}
