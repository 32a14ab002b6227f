// A hand-written codec for `google.protobuf.Struct` / `Value` / `ListValue` in protobuf's binary
// wire format: what Istio's metadata exchange carries (base64) in `x-envoy-peer-metadata`. Small
// on purpose — varints, length-delimited fields, doubles and bools — so no protobuf runtime is
// loaded into a worker. Decoding is defensive: any malformed input throws a StructDecodeError,
// never reads out of bounds, and nesting is bounded.

/** A `google.protobuf.Value`. */
export type PbValue =
  | { kind: "null" }
  | { kind: "number"; value: number }
  | { kind: "string"; value: string }
  | { kind: "bool"; value: boolean }
  | { kind: "struct"; value: PbStruct }
  | { kind: "list"; value: PbValue[] };

/** A `google.protobuf.Struct`: fields in wire order (a protobuf map; a repeated key keeps the last value). */
export type PbStruct = Map<string, PbValue>;

export class StructDecodeError extends Error {
  readonly code = "struct_decode_error";
}

// Wire types.
const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

/** 32: deeper nesting than any workload metadata has; bounds the recursion on hostile input. */
const MAX_DEPTH = 32;

const fail = (why: string): never => {
  throw new StructDecodeError(why);
};

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) fail("truncated varint");
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    return fail("varint longer than 10 bytes");
  }

  /** Bounds of a length-delimited field's payload; advances past it. */
  len(): [number, number] {
    const n = this.varint();
    const start = this.pos;
    if (n > this.end - start) fail("length-delimited field past the end");
    this.pos = start + n;
    return [start, start + n];
  }

  skip(wireType: number): void {
    switch (wireType) {
      case VARINT:
        this.varint();
        return;
      case FIXED64:
        if (this.end - this.pos < 8) fail("truncated fixed64");
        this.pos += 8;
        return;
      case LEN:
        this.len();
        return;
      case FIXED32:
        if (this.end - this.pos < 4) fail("truncated fixed32");
        this.pos += 4;
        return;
      default:
        fail(`unsupported wire type ${wireType}`);
    }
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function str(buf: Uint8Array, [s, e]: [number, number]): string {
  try {
    return utf8.decode(buf.subarray(s, e));
  } catch {
    return fail("string is not valid UTF-8");
  }
}

/** Decodes a serialized `google.protobuf.Struct`. Throws StructDecodeError on malformed bytes. */
export function decodeStruct(buf: Uint8Array): PbStruct {
  return readStruct(buf, 0, buf.length, 0);
}

function readStruct(buf: Uint8Array, start: number, end: number, depth: number): PbStruct {
  if (depth > MAX_DEPTH) fail("nesting too deep");
  const out: PbStruct = new Map();
  const r = new Reader(buf, start, end);
  while (r.pos < end) {
    const tag = r.varint();
    if (tag >>> 3 === 1 && (tag & 7) === LEN) {
      const [es, ee] = r.len();
      const [key, value] = readEntry(buf, es, ee, depth);
      out.set(key, value);
    } else {
      r.skip(tag & 7);
    }
  }
  return out;
}

/** One `fields` map entry: key = 1 (string), value = 2 (Value). */
function readEntry(buf: Uint8Array, start: number, end: number, depth: number): [string, PbValue] {
  let key = "";
  let value: PbValue = { kind: "null" };
  const r = new Reader(buf, start, end);
  while (r.pos < end) {
    const tag = r.varint();
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === LEN) key = str(buf, r.len());
    else if (field === 2 && (tag & 7) === LEN) {
      const [vs, ve] = r.len();
      value = readValue(buf, vs, ve, depth + 1);
    } else r.skip(tag & 7);
  }
  return [key, value];
}

function readValue(buf: Uint8Array, start: number, end: number, depth: number): PbValue {
  if (depth > MAX_DEPTH) fail("nesting too deep");
  // An empty Value is a Value with no kind set; protobuf reads it as null.
  let value: PbValue = { kind: "null" };
  const r = new Reader(buf, start, end);
  while (r.pos < end) {
    const tag = r.varint();
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        if (wt !== VARINT) fail("null_value with a wrong wire type");
        r.varint();
        value = { kind: "null" };
        break;
      case 2: {
        if (wt !== FIXED64) fail("number_value with a wrong wire type");
        if (end - r.pos < 8) fail("truncated double");
        const dv = new DataView(buf.buffer, buf.byteOffset + r.pos, 8);
        value = { kind: "number", value: dv.getFloat64(0, true) };
        r.pos += 8;
        break;
      }
      case 3:
        if (wt !== LEN) fail("string_value with a wrong wire type");
        value = { kind: "string", value: str(buf, r.len()) };
        break;
      case 4:
        if (wt !== VARINT) fail("bool_value with a wrong wire type");
        value = { kind: "bool", value: r.varint() !== 0 };
        break;
      case 5: {
        if (wt !== LEN) fail("struct_value with a wrong wire type");
        const [s, e] = r.len();
        value = { kind: "struct", value: readStruct(buf, s, e, depth + 1) };
        break;
      }
      case 6: {
        if (wt !== LEN) fail("list_value with a wrong wire type");
        const [s, e] = r.len();
        value = { kind: "list", value: readList(buf, s, e, depth + 1) };
        break;
      }
      default:
        r.skip(wt);
    }
  }
  return value;
}

function readList(buf: Uint8Array, start: number, end: number, depth: number): PbValue[] {
  if (depth > MAX_DEPTH) fail("nesting too deep");
  const out: PbValue[] = [];
  const r = new Reader(buf, start, end);
  while (r.pos < end) {
    const tag = r.varint();
    if (tag >>> 3 === 1 && (tag & 7) === LEN) {
      const [s, e] = r.len();
      out.push(readValue(buf, s, e, depth + 1));
    } else r.skip(tag & 7);
  }
  return out;
}

// ---- encoding ----

/**
 * Serializes a Struct. Fields go out in the Map's order; build the Map with sorted keys for
 * protobuf's deterministic serialization (what Envoy's `serializeToStringDeterministic` writes).
 */
export function encodeStruct(s: PbStruct): Buffer {
  const parts: Buffer[] = [];
  writeStruct(s, parts);
  return Buffer.concat(parts);
}

function varintBytes(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

function lenField(tag: number, payload: Buffer, parts: Buffer[]): void {
  parts.push(Buffer.from([tag]), varintBytes(payload.length), payload);
}

function writeStruct(s: PbStruct, parts: Buffer[]): void {
  for (const [k, v] of s) {
    const entry: Buffer[] = [];
    lenField(0x0a, Buffer.from(k, "utf8"), entry);
    lenField(0x12, encodeValue(v), entry);
    lenField(0x0a, Buffer.concat(entry), parts);
  }
}

function encodeValue(v: PbValue): Buffer {
  const parts: Buffer[] = [];
  switch (v.kind) {
    case "null":
      parts.push(Buffer.from([0x08, 0x00]));
      break;
    case "number": {
      const b = Buffer.alloc(9);
      b[0] = 0x11;
      b.writeDoubleLE(v.value, 1);
      parts.push(b);
      break;
    }
    case "string":
      lenField(0x1a, Buffer.from(v.value, "utf8"), parts);
      break;
    case "bool":
      parts.push(Buffer.from([0x20, v.value ? 1 : 0]));
      break;
    case "struct":
      lenField(0x2a, encodeStruct(v.value), parts);
      break;
    case "list": {
      const items: Buffer[] = [];
      for (const item of v.value) lenField(0x0a, encodeValue(item), items);
      lenField(0x32, Buffer.concat(items), parts);
      break;
    }
  }
  return Buffer.concat(parts);
}

/** A Struct from plain strings and nested string maps, keys sorted (deterministic serialization). */
export function structOf(fields: Record<string, string | Record<string, string>>): PbStruct {
  const out: PbStruct = new Map();
  for (const k of Object.keys(fields).sort(byteOrder)) {
    const v = fields[k]!;
    out.set(k, typeof v === "string" ? { kind: "string", value: v } : { kind: "struct", value: structOf(v) });
  }
  return out;
}

/** Protobuf's deterministic map order compares keys as byte strings (UTF-8). */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
