// Deterministic large bodies for flow-control tests: both ends can produce or check the same bytes
// without holding them in a test-wide buffer, and compare by SHA-256.

import { createHash } from "node:crypto";

/** 64 KiB: the chunk size the pattern is made and written in. */
export const PATTERN_CHUNK = 64 * 1024;

// One 64 KiB block made once per process; chunks are copies of it (fast enough for 256 MiB bodies).
let block: Buffer | undefined;

/** Chunk `i` of the pattern (every chunk differs: its index is in its first 4 bytes). */
export function patternChunk(i: number, size = PATTERN_CHUNK): Buffer {
  if (!block) {
    block = Buffer.allocUnsafe(PATTERN_CHUNK);
    for (let j = 0; j < PATTERN_CHUNK; j++) block[j] = (j * 31 + (j >>> 8)) & 0xff;
  }
  const b = Buffer.from(block.subarray(0, size));
  if (size >= 4) b.writeUInt32BE(i >>> 0, 0);
  return b;
}

/** The chunks of a `total`-byte pattern body, in order (the last may be short). */
export function* patternChunks(total: number): Generator<Buffer> {
  let i = 0;
  for (let left = total; left > 0; left -= PATTERN_CHUNK, i++) yield patternChunk(i, Math.min(PATTERN_CHUNK, left));
}

/** SHA-256 (hex) of the `total`-byte pattern body. */
export function patternSha256(total: number): string {
  const h = createHash("sha256");
  for (const c of patternChunks(total)) h.update(c);
  return h.digest("hex");
}

/** A running SHA-256 and byte count of a body read in pieces. */
export class BodyDigest {
  private readonly h = createHash("sha256");
  length = 0;
  update(c: Buffer | Uint8Array): void {
    this.h.update(c);
    this.length += c.length;
  }
  hex(): string {
    return this.h.digest("hex");
  }
}
