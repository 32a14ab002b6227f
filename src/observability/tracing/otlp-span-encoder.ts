// OTLP protobuf, written by hand and straight from a finished request: each sampled span is
// encoded once, at its end, into its exporter's batch buffer, and a batch becomes an
// ExportTraceServiceRequest by prefixing three small headers. No span objects, no attribute
// objects, no OTLP object tree, no JSON: the OpenTelemetry SDK path (SDK span + OTLP/JSON
// serialization) cost ~40 µs CPU per sampled span here, two thirds of it in the garbage it left.
//
// Messages (opentelemetry-proto, collector/trace/v1 and trace/v1):
//   ExportTraceServiceRequest { 1 resource_spans: ResourceSpans }
//   ResourceSpans { 1 resource: Resource { 1 attributes: KeyValue }, 2 scope_spans: ScopeSpans }
//   ScopeSpans { 1 scope: InstrumentationScope { 1 name, 2 version }, 2 spans: Span }
//   Span { 1 trace_id bytes, 2 span_id bytes, 3 trace_state, 4 parent_span_id bytes, 5 name,
//          6 kind enum, 7 start_time_unix_nano fixed64, 8 end_time_unix_nano fixed64,
//          9 attributes KeyValue, 15 status Status { 2 message, 3 code enum } }
//   KeyValue { 1 key, 2 value: AnyValue { 1 string_value } }

/** Span.kind values. */
export const SpanKindValue = { SERVER: 2, CLIENT: 3 } as const;
/** Status.code values. */
export const StatusCodeValue = { UNSET: 0, OK: 1, ERROR: 2 } as const;

/** The request-dependent facts of one span; attributes are parallel key/value arrays (reused). */
export interface SpanRecord {
  /** 32 / 16 lower-case hex characters. */
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  traceState: string;
  name: string;
  kind: number;
  /** Ms since the epoch, sub-ms precision (StreamInfo's clock). */
  startMs: number;
  endMs: number;
  statusCode: number;
  attrCount: number;
  attrKeys: string[];
  attrValues: string[];
  /**
   * Attributes already encoded as `Span.attributes` fields, written before and after the ones in
   * the arrays: a chain's fixed tags (node_id, zone; istio.* and literal/environment custom tags),
   * encoded once per snapshot instead of once per span. Absent or empty: none.
   */
  leadingAttrs?: Uint8Array;
  trailingAttrs?: Uint8Array;
}

const NO_BYTES = new Uint8Array(0);

/** `attrs` as `Span.attributes` fields with string values, for SpanRecord.leadingAttrs/trailingAttrs. */
export function encodeSpanAttributes(attrs: ReadonlyArray<readonly [string, string]>): Uint8Array {
  return Buffer.concat(attrs.map(([k, v]) => lengthDelimited(0x4a, Buffer.concat([lengthDelimited(0x0a, Buffer.from(k, "utf8")), lengthDelimited(0x12, lengthDelimited(0x0a, Buffer.from(v, "utf8")))]))));
}

// Varints here are lengths, kinds and status codes: all below 2^32, so bit operations (not
// division, which showed in the profile) are exact.
export function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

function writeVarint(buf: Buffer, off: number, n: number): number {
  while (n > 0x7f) {
    buf[off++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[off++] = n;
  return off;
}

/** A length-delimited field's size: tag (one byte for every field here) + length + bytes. */
function fieldSize(len: number): number {
  return 1 + varintSize(len) + len;
}

/**
 * UTF-8 length of `s`; strings of ASCII only (nearly every tag value) are measured here rather
 * than by a native call, which costs more than the scan for strings this short.
 */
function utf8Length(s: string): number {
  const n = s.length;
  if (n > 64) return Buffer.byteLength(s);
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s);
  return n;
}

/** Writes `s` whose UTF-8 length is `len`: ASCII byte by byte, anything else natively. */
function writeString(buf: Buffer, off: number, s: string, len: number): number {
  const n = s.length;
  if (len !== n || n > 64) return off + buf.write(s, off, len, "utf8");
  for (let i = 0; i < n; i++) buf[off + i] = s.charCodeAt(i);
  return off + n;
}

/** fixed64 nanoseconds since the epoch from ms (sub-ms precision), exactly, without BigInt. */
function writeEpochNanos(buf: Buffer, off: number, ms: number): number {
  const whole = Math.floor(ms);
  const frac = Math.round((ms - whole) * 1e6);
  // nanos = whole * 1e6 + frac, as two 32-bit halves with every intermediate below 2^53.
  const ah = Math.floor(whole / 2097152); // 2^21
  const al = whole - ah * 2097152;
  const x = ah * 1e6; // times 2^21 below
  const xh = Math.floor(x / 2048); // 2^11
  const low = (x - xh * 2048) * 2097152 + al * 1e6 + frac;
  const lowHigh = Math.floor(low / 4294967296);
  buf.writeUInt32LE(low - lowHigh * 4294967296, off);
  buf.writeUInt32LE(xh + lowHigh, off + 4);
  return off + 8;
}

/**
 * `KeyValue.key` fields (tag, length, UTF-8) by tag name, kept by an exporter for its batches: the
 * names come from the code and the config, a few dozen at most; past 1024 (a config churning
 * custom tags) they are encoded afresh each time.
 */
export class KeyFields {
  private readonly byName = new Map<string, Buffer>();

  get(key: string): Buffer {
    let f = this.byName.get(key);
    if (f === undefined) {
      f = lengthDelimited(0x0a, Buffer.from(key, "utf8"));
      if (this.byName.size < 1024) this.byName.set(key, f);
    }
    return f;
  }
}

const HEX_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE["0123456789abcdef".charCodeAt(i)] = i;
  HEX_VALUE["0123456789ABCDEF".charCodeAt(i)] = i;
}

function writeHexBytes(buf: Buffer, off: number, hex: string): number {
  for (let i = 0; i < hex.length; i += 2) buf[off++] = (HEX_VALUE[hex.charCodeAt(i)]! << 4) | HEX_VALUE[hex.charCodeAt(i + 1)]!;
  return off;
}

/** Spans of one batch, each already encoded as a `ScopeSpans.spans` field. */
export class SpanBatch {
  private buf: Buffer;
  /** Bytes used. */
  length = 0;
  count = 0;
  /** The current span's encoded keys and value byte lengths (scratch, reused). */
  private keyFields: Buffer[] = [];
  /** The key names `keyFields` were looked up for (position by position, from the last span). */
  private lastKeyNames: string[] = [];
  private valueBytes: number[] = [];

  constructor(
    private readonly keys: KeyFields = new KeyFields(),
    initialBytes = 64 * 1024,
  ) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Appends one span. */
  add(s: SpanRecord): void {
    const n = s.attrCount;
    const kf = this.keyFields;
    const vb = this.valueBytes;
    let attrs = 0;
    const names = s.attrKeys;
    const lastNames = this.lastKeyNames;
    for (let i = 0; i < n; i++) {
      // Spans of a chain set their tags in the same order: the key in this position is nearly
      // always the previous span's (the same string constant, so === is a pointer compare).
      const name = names[i]!;
      let key: Buffer;
      if (lastNames[i] === name) key = kf[i]!;
      else {
        key = this.keys.get(name);
        lastNames[i] = name;
      }
      const v = utf8Length(s.attrValues[i]!);
      kf[i] = key;
      vb[i] = v;
      attrs += fieldSize(key.length + fieldSize(fieldSize(v)));
    }
    const leading = s.leadingAttrs ?? NO_BYTES;
    const trailing = s.trailingAttrs ?? NO_BYTES;
    attrs += leading.length + trailing.length;
    const stateLen = s.traceState === "" ? 0 : utf8Length(s.traceState);
    const nameLen = utf8Length(s.name);
    const statusLen = s.statusCode === 0 ? 0 : 2;
    const spanLen =
      fieldSize(16) +
      fieldSize(8) +
      (stateLen === 0 ? 0 : fieldSize(stateLen)) +
      (s.parentSpanId === "" ? 0 : fieldSize(8)) +
      fieldSize(nameLen) +
      2 + // kind
      9 +
      9 + // start and end times
      attrs +
      (statusLen === 0 ? 0 : fieldSize(statusLen));
    this.reserve(fieldSize(spanLen));
    const b = this.buf;
    let o = this.length;
    b[o++] = 0x12; // ScopeSpans.spans
    o = writeVarint(b, o, spanLen);
    b[o++] = 0x0a; // trace_id
    b[o++] = 16;
    o = writeHexBytes(b, o, s.traceId);
    b[o++] = 0x12; // span_id
    b[o++] = 8;
    o = writeHexBytes(b, o, s.spanId);
    if (stateLen !== 0) {
      b[o++] = 0x1a;
      o = writeVarint(b, o, stateLen);
      o = writeString(b, o, s.traceState, stateLen);
    }
    if (s.parentSpanId !== "") {
      b[o++] = 0x22;
      b[o++] = 8;
      o = writeHexBytes(b, o, s.parentSpanId);
    }
    b[o++] = 0x2a; // name
    o = writeVarint(b, o, nameLen);
    o = writeString(b, o, s.name, nameLen);
    b[o++] = 0x30; // kind
    b[o++] = s.kind;
    b[o++] = 0x39; // start_time_unix_nano
    o = writeEpochNanos(b, o, s.startMs);
    b[o++] = 0x41; // end_time_unix_nano
    o = writeEpochNanos(b, o, s.endMs);
    if (leading.length !== 0) {
      b.set(leading, o);
      o += leading.length;
    }
    for (let i = 0; i < n; i++) {
      const key = kf[i]!;
      const v = vb[i]!;
      const any = fieldSize(v);
      b[o++] = 0x4a; // attributes
      o = writeVarint(b, o, key.length + fieldSize(any));
      // KeyValue.key, encoded once per key name; copied by a loop (a few bytes: cheaper than the native call).
      for (let k = 0; k < key.length; k++) b[o++] = key[k]!;
      b[o++] = 0x12; // value
      o = writeVarint(b, o, any);
      b[o++] = 0x0a; // string_value
      o = writeVarint(b, o, v);
      o = writeString(b, o, s.attrValues[i]!, v);
    }
    if (trailing.length !== 0) {
      b.set(trailing, o);
      o += trailing.length;
    }
    if (statusLen !== 0) {
      b[o++] = 0x7a; // status
      b[o++] = statusLen;
      b[o++] = 0x18; // code
      b[o++] = s.statusCode;
    }
    this.length = o;
    this.count++;
  }

  /** Empties the batch, keeping its buffer (grown to a batch's size once, then reused). */
  reset(): void {
    this.length = 0;
    this.count = 0;
  }

  /** The finished ExportTraceServiceRequest for these spans under `prefix` (resource and scope): a copy, so the batch can be reset. */
  request(prefix: BatchPrefix): Buffer {
    const scopeSpansLen = prefix.scope.length + this.length;
    const resourceSpansLen = prefix.resource.length + fieldSize(scopeSpansLen);
    const head = Buffer.allocUnsafe(2 * 6 + 2);
    let o = 0;
    head[o++] = 0x0a; // ExportTraceServiceRequest.resource_spans
    o = writeVarint(head, o, resourceSpansLen);
    const h1 = o;
    head[o++] = 0x12; // ResourceSpans.scope_spans
    o = writeVarint(head, o, scopeSpansLen);
    return Buffer.concat([head.subarray(0, h1), prefix.resource, head.subarray(h1, o), prefix.scope, this.buf.subarray(0, this.length)]);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
}

/** The encoded `ResourceSpans.resource` and `ScopeSpans.scope` fields every batch of an exporter shares. */
export interface BatchPrefix {
  resource: Buffer;
  scope: Buffer;
}

export function batchPrefix(resourceAttributes: Readonly<Record<string, string>>, scope: { name: string; version: string }): BatchPrefix {
  const kvs = Object.entries(resourceAttributes).map(([k, v]) => lengthDelimited(0x0a, Buffer.concat([lengthDelimited(0x0a, Buffer.from(k)), lengthDelimited(0x12, lengthDelimited(0x0a, Buffer.from(v)))])));
  const resource = lengthDelimited(0x0a, Buffer.concat(kvs));
  const scopeMsg = Buffer.concat([lengthDelimited(0x0a, Buffer.from(scope.name)), ...(scope.version === "" ? [] : [lengthDelimited(0x12, Buffer.from(scope.version))])]);
  return { resource, scope: lengthDelimited(0x0a, scopeMsg) };
}

function lengthDelimited(tag: number, body: Buffer): Buffer {
  const head = Buffer.allocUnsafe(1 + varintSize(body.length));
  head[0] = tag;
  writeVarint(head, 1, body.length);
  return Buffer.concat([head, body]);
}
