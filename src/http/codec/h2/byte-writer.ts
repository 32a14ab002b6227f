// ByteWriter: a growable byte buffer. The HTTP/2 session assembles frames in it (reserving a frame
// header, writing the payload, then filling the header in) and the HPACK encoder appends header
// blocks to it, so a response's frames are built in one buffer without intermediate copies.

import { writeLatin1 } from "../latin1.js";

/** A growable byte buffer; `take` hands out a copy and rewinds, so one writer serves many frames. */
export class ByteWriter {
  /** Bytes written so far. */
  length = 0;
  private buf: Buffer;

  constructor(initialSize = 1024) {
    this.buf = Buffer.allocUnsafe(initialSize > 16 ? initialSize : 16);
  }

  /** Makes room for `n` more bytes (doubling, so appends are amortised O(1)). */
  ensure(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  byte(b: number): void {
    if (this.length === this.buf.length) this.ensure(1);
    this.buf[this.length++] = b;
  }

  /** Latin1 string bytes (each char code's low byte). */
  latin1(s: string): void {
    this.ensure(s.length);
    this.length = writeLatin1(this.buf, this.length, s);
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** Reserves `n` bytes (returns their offset) to fill later, e.g. a frame header before its payload length is known. */
  reserve(n: number): number {
    this.ensure(n);
    const off = this.length;
    this.length += n;
    return off;
  }

  /**
   * The underlying buffer, bytes [0, length) written (valid until the next write, which may
   * replace it). Not a view: write reserved bytes into it, slice what is to be kept.
   */
  buffer(): Buffer {
    return this.buf;
  }

  /** A copy of bytes [start, length) as its own Buffer, then length = start (reuse the writer). */
  take(start = 0): Buffer {
    const out = Buffer.allocUnsafe(this.length - start);
    this.buf.copy(out, 0, start, this.length);
    this.length = start;
    return out;
  }
}
