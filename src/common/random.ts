// Random: injected randomness so weights, fault percentages and LB choices are testable (seeded).

export interface Random {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

export const mathRandom: Random = {
  next: () => Math.random(),
  int: (n) => Math.floor(Math.random() * n),
};

/** Deterministic sfc32 generator (passes PractRand to 2^40 bytes) for tests and reproducible runs. */
export function seededRandom(seed: number): Random {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // Discard the first outputs: sfc32's state needs a few rounds to mix a small seed.
  for (let i = 0; i < 12; i++) next32();
  const next = (): number => next32() / 4294967296;
  return { next, int: (n) => Math.floor(next() * n) };
}
