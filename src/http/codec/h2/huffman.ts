// HPACK's Huffman code (RFC 7541 §5.2, Appendix B): a table-driven decoder that reads 4 bits per
// step (a state machine over the code tree's 256 internal nodes, built once at module load from the
// code table below), and the encoder with its exact output length so that a string is Huffman-coded
// only when that is shorter. Header names and values are latin1 strings (one byte per char).

/** The code of each symbol 0..255 and EOS (256), right-aligned; RFC 7541 Appendix B. */
const CODES = new Uint32Array([
  0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7,
  0xfffffe8, 0xffffea, 0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec,
  0xfffffed, 0xfffffee, 0xfffffef, 0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3,
  0xffffff4, 0xffffff5, 0xffffff6, 0xffffff7, 0xffffff8, 0xffffff9, 0xffffffa, 0xffffffb,
  0x14, 0x3f8, 0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa,
  0x3fa, 0x3fb, 0xf9, 0x7fb, 0xfa, 0x16, 0x17, 0x18,
  0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
  0x1e, 0x1f, 0x5c, 0xfb, 0x7ffc, 0x20, 0xffb, 0x3fc,
  0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62,
  0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
  0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72,
  0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0, 0x1ffc, 0x3ffc, 0x22,
  0x7ffd, 0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26,
  0x27, 0x6, 0x74, 0x75, 0x28, 0x29, 0x2a, 0x7,
  0x2b, 0x76, 0x2c, 0x8, 0x9, 0x2d, 0x77, 0x78,
  0x79, 0x7a, 0x7b, 0x7ffe, 0x7fc, 0x3ffd, 0x1ffd, 0xffffffc,
  0xfffe6, 0x3fffd2, 0xfffe7, 0xfffe8, 0x3fffd3, 0x3fffd4, 0x3fffd5, 0x7fffd9,
  0x3fffd6, 0x7fffda, 0x7fffdb, 0x7fffdc, 0x7fffdd, 0x7fffde, 0xffffeb, 0x7fffdf,
  0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0, 0xffffee, 0x7fffe1, 0x7fffe2, 0x7fffe3,
  0x7fffe4, 0x1fffdc, 0x3fffd8, 0x7fffe5, 0x3fffd9, 0x7fffe6, 0x7fffe7, 0xffffef,
  0x3fffda, 0x1fffdd, 0xfffe9, 0x3fffdb, 0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde,
  0x7fffea, 0x3fffdd, 0x3fffde, 0xfffff0, 0x1fffdf, 0x3fffdf, 0x7fffeb, 0x7fffec,
  0x1fffe0, 0x1fffe1, 0x3fffe0, 0x1fffe2, 0x7fffed, 0x3fffe1, 0x7fffee, 0x7fffef,
  0xfffea, 0x3fffe2, 0x3fffe3, 0x3fffe4, 0x7ffff0, 0x3fffe5, 0x3fffe6, 0x7ffff1,
  0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1, 0x3fffe7, 0x7ffff2, 0x3fffe8, 0x1ffffec,
  0x3ffffe2, 0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf, 0x3ffffe5, 0xfffff1, 0x1ffffed,
  0x7fff2, 0x1fffe3, 0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7, 0x7ffffe2, 0xfffff2,
  0x1fffe4, 0x1fffe5, 0x3ffffe8, 0x3ffffe9, 0xffffffd, 0x7ffffe3, 0x7ffffe4, 0x7ffffe5,
  0xfffec, 0xfffff3, 0xfffed, 0x1fffe6, 0x3fffe9, 0x1fffe7, 0x1fffe8, 0x7ffff3,
  0x3fffea, 0x3fffeb, 0x1ffffee, 0x1ffffef, 0xfffff4, 0xfffff5, 0x3ffffea, 0x7ffff4,
  0x3ffffeb, 0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8, 0x7ffffe9, 0x7ffffea,
  0x7ffffeb, 0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0, 0x3ffffee,
  0x3fffffff,
]);

/** The length in bits of each code in CODES. */
const LENGTHS = new Uint8Array([
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
]);

/** EOS: the 30-bit all-ones code that must never appear inside a string (§5.2). */
const EOS = 256;

/** A transition emits the symbol in bits 8..15. */
const EMIT = 0x10000;
/** A transition decodes EOS: the string is malformed. */
const FAIL = 0x20000;

/**
 * Decoder transitions, indexed by `state * 16 + nibble`: bits 0..7 the next state (an internal
 * node of the code tree; 0 is the root), bits 8..15 the symbol emitted, then EMIT and FAIL. A
 * nibble completes at most one symbol: no code is shorter than 5 bits.
 */
const TRANSITIONS = new Uint32Array(256 * 16);
/**
 * 1 for the states a string may end in: the root, or a path of at most 7 one-bits from the root
 * (the padding is the most significant bits of EOS, §5.2).
 */
const ACCEPTING = new Uint8Array(256);

buildDecoder();

/** Builds the code tree from CODES/LENGTHS, then the 4-bit transitions of each internal node. */
function buildDecoder(): void {
  // Internal nodes: child[2 * node + bit] is another internal node (>= 0) or ~symbol (< 0).
  const child = new Int32Array(2 * 256).fill(0x7fffffff);
  let nodes = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    const code = CODES[sym]!;
    const len = LENGTHS[sym]!;
    let node = 0;
    for (let i = len - 1; i > 0; i--) {
      const slot = 2 * node + ((code >>> i) & 1);
      if (child[slot] === 0x7fffffff) child[slot] = nodes++;
      node = child[slot]!;
    }
    child[2 * node + (code & 1)] = ~sym;
  }
  if (nodes !== 256) throw new Error(`huffman: ${nodes} internal nodes, expected 256`);
  // Accepting states: the root and the all-ones path of depth 1..7.
  let node = 0;
  ACCEPTING[0] = 1;
  for (let depth = 1; depth <= 7; depth++) {
    node = child[2 * node + 1]!;
    ACCEPTING[node] = 1;
  }
  for (let state = 0; state < 256; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let cur = state;
      let t = 0;
      for (let b = 3; b >= 0; b--) {
        const next = child[2 * cur + ((nibble >>> b) & 1)]!;
        if (next >= 0) {
          cur = next;
          continue;
        }
        const sym = ~next;
        if (sym === EOS) t |= FAIL;
        else t |= EMIT | (sym << 8);
        cur = 0;
      }
      TRANSITIONS[state * 16 + nibble] = t | cur;
    }
  }
}

/** The most bytes `huffmanDecode` writes for `n` input bytes (every code is at least 5 bits). */
export function huffmanDecodedMax(n: number): number {
  return ((n * 8) / 5) | 0;
}

/**
 * Decodes the Huffman string `src[start, end)` into `dst` from offset 0 and returns the decoded
 * length, or -1 when the string is malformed: EOS inside it, padding longer than 7 bits, or
 * padding that is not all ones (RFC 7541 §5.2). `dst` holds at least huffmanDecodedMax(end - start)
 * bytes.
 */
export function huffmanDecode(src: Uint8Array, start: number, end: number, dst: Uint8Array): number {
  let state = 0;
  let n = 0;
  for (let i = start; i < end; i++) {
    const b = src[i]!;
    let t = TRANSITIONS[(state << 4) | (b >>> 4)]!;
    if (t & (EMIT | FAIL)) {
      if (t & FAIL) return -1;
      dst[n++] = (t >>> 8) & 0xff;
    }
    t = TRANSITIONS[((t & 0xff) << 4) | (b & 15)]!;
    if (t & (EMIT | FAIL)) {
      if (t & FAIL) return -1;
      dst[n++] = (t >>> 8) & 0xff;
    }
    state = t & 0xff;
  }
  return ACCEPTING[state] === 1 ? n : -1;
}

/** The Huffman-coded length in bytes of the latin1 string `s` (the char codes' low bytes). */
export function huffmanEncodedLength(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) bits += LENGTHS[s.charCodeAt(i) & 0xff]!;
  return (bits + 7) >>> 3;
}

/**
 * Writes the Huffman code of the latin1 string `s` into `dst` at `off`, padded with ones, and
 * returns the offset after it. `dst` has room for huffmanEncodedLength(s) bytes.
 */
export function huffmanEncode(s: string, dst: Uint8Array, off: number): number {
  // `acc` holds `n` < 8 pending bits between symbols; a code is added whole when it fits in 31
  // bits with them, else in two parts (only the 17 rare codes longer than 24 bits).
  let acc = 0;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const sym = s.charCodeAt(i) & 0xff;
    let code = CODES[sym]!;
    let len = LENGTHS[sym]!;
    if (len > 24) {
      const hiLen = len - 16;
      acc = (acc << hiLen) | (code >>> 16);
      n += hiLen;
      while (n >= 8) {
        n -= 8;
        dst[off++] = (acc >>> n) & 0xff;
      }
      acc &= (1 << n) - 1;
      code &= 0xffff;
      len = 16;
    }
    acc = (acc << len) | code;
    n += len;
    while (n >= 8) {
      n -= 8;
      dst[off++] = (acc >>> n) & 0xff;
    }
    acc &= (1 << n) - 1;
  }
  if (n > 0) dst[off++] = ((acc << (8 - n)) | (0xff >>> n)) & 0xff;
  return off;
}
