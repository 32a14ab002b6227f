// Trace and span ids as lower-case hex, the form W3C traceparent, B3 and OTLP/JSON all carry.
// Drawn from a pooled crypto buffer (one randomFillSync per 256 ids), so an unsampled request
// that passes a fresh span id upstream costs a few table lookups, not an OpenSSL call.

import { randomFillSync } from "node:crypto";

/** ASCII hex of every byte value, two characters each. */
const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push((i + 0x100).toString(16).slice(1));

/** 4 KiB: 256 span ids or 170 trace+span pairs per refill. */
const POOL_BYTES = 4096;

export interface TraceIdGenerator {
  /** 32 hex characters, never all zeros. */
  traceId(): string;
  /** 16 hex characters, never all zeros. */
  spanId(): string;
}

/** One per worker (the pool is its state). */
export class RandomTraceIds implements TraceIdGenerator {
  private readonly pool = Buffer.allocUnsafe(POOL_BYTES);
  private at = POOL_BYTES;

  traceId(): string {
    for (;;) {
      const id = this.hex(16);
      if (id !== ZERO_TRACE_ID) return id;
    }
  }

  spanId(): string {
    for (;;) {
      const id = this.hex(8);
      if (id !== ZERO_SPAN_ID) return id;
    }
  }

  private hex(bytes: number): string {
    if (this.at + bytes > POOL_BYTES) {
      randomFillSync(this.pool);
      this.at = 0;
    }
    const p = this.pool;
    let s = "";
    for (let i = this.at, end = this.at + bytes; i < end; i++) s += HEX[p[i]!]!;
    this.at += bytes;
    return s;
  }
}

export const ZERO_TRACE_ID = "00000000000000000000000000000000";
export const ZERO_SPAN_ID = "0000000000000000";
