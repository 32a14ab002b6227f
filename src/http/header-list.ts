// HeaderList: an ordered HTTP header list that keeps the case the peer sent (Envoy preserves it
// on HTTP/1.1 too when configured; users' apps sometimes depend on it) with lower-case lookup.

import { writeLatin1 } from "./codec/latin1.js";

export class HeaderList {
  /** Names as received/added, in order. */
  readonly names: string[];
  /** Lower-cased names, parallel to `names`. */
  readonly lower: string[];
  readonly values: string[];

  constructor(names: string[] = [], lower?: string[], values: string[] = []) {
    this.names = names;
    this.lower = lower ?? names.map((n) => n.toLowerCase());
    this.values = values;
  }

  static from(pairs: Array<[string, string]>): HeaderList {
    const h = new HeaderList();
    for (const [n, v] of pairs) h.add(n, v);
    return h;
  }

  get size(): number {
    return this.names.length;
  }

  /** First value of `lowerName`, or undefined. */
  get(lowerName: string): string | undefined {
    const lower = this.lower;
    for (let i = 0; i < lower.length; i++) if (lower[i] === lowerName) return this.values[i];
    return undefined;
  }

  /**
   * All values of `lowerName` joined with "," (RFC 9110 list semantics), as Envoy's header
   * matchers see repeated headers. undefined when absent.
   */
  getJoined(lowerName: string): string | undefined {
    let out: string | undefined;
    const lower = this.lower;
    for (let i = 0; i < lower.length; i++) {
      if (lower[i] === lowerName) out = out === undefined ? this.values[i] : out + "," + this.values[i];
    }
    return out;
  }

  getAll(lowerName: string): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.lower.length; i++) if (this.lower[i] === lowerName) out.push(this.values[i]!);
    return out;
  }

  has(lowerName: string): boolean {
    return this.lower.indexOf(lowerName) !== -1;
  }

  add(name: string, value: string): void {
    this.names.push(name);
    this.lower.push(name.toLowerCase());
    this.values.push(value);
  }

  /** Replace every value of `name` with one value, keeping the first one's position. */
  set(name: string, value: string): void {
    const lowerName = name.toLowerCase();
    const i = this.lower.indexOf(lowerName);
    if (i === -1) {
      this.add(name, value);
      return;
    }
    this.values[i] = value;
    for (let j = this.lower.length - 1; j > i; j--) if (this.lower[j] === lowerName) this.removeAt(j);
  }

  /** Remove every header named `lowerName`; returns how many were removed. */
  remove(lowerName: string): number {
    let n = 0;
    for (let j = this.lower.length - 1; j >= 0; j--) {
      if (this.lower[j] === lowerName) {
        this.removeAt(j);
        n++;
      }
    }
    return n;
  }

  removeAt(i: number): void {
    removeIndex(this.names, i);
    removeIndex(this.lower, i);
    removeIndex(this.values, i);
  }

  clone(): HeaderList {
    return new HeaderList(this.names.slice(), this.lower.slice(), this.values.slice());
  }

  /** Bytes of the `Name: value\r\n` lines as latin1 (what `encodeTo` writes). */
  encodedLength(): number {
    let n = 0;
    const names = this.names;
    const values = this.values;
    for (let i = 0; i < names.length; i++) n += names[i]!.length + values[i]!.length + 4;
    return n;
  }

  /** Writes the `Name: value\r\n` lines as latin1 at `off`; returns the offset after them. */
  encodeTo(buf: Buffer, off: number): number {
    const names = this.names;
    const values = this.values;
    for (let i = 0; i < names.length; i++) {
      off = writeLatin1(buf, off, names[i]!);
      buf[off++] = 58; // ':'
      buf[off++] = 32; // SP
      off = writeLatin1(buf, off, values[i]!);
      buf[off++] = 13;
      buf[off++] = 10;
    }
    return off;
  }

  /** `Name: value\r\n` lines, as sent on the wire. */
  serialize(): string {
    let s = "";
    for (let i = 0; i < this.names.length; i++) s += this.names[i] + ": " + this.values[i] + "\r\n";
    return s;
  }

  toObject(): Record<string, string> {
    const o: Record<string, string> = {};
    for (let i = 0; i < this.lower.length; i++) {
      const k = this.lower[i]!;
      o[k] = o[k] === undefined ? this.values[i]! : o[k] + "," + this.values[i];
    }
    return o;
  }
}

/** Removes a[i] in place (splice would allocate an array of the removed element). */
function removeIndex(a: string[], i: number): void {
  const last = a.length - 1;
  for (let j = i; j < last; j++) a[j] = a[j + 1]!;
  a.length = last;
}
