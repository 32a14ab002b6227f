// Decodes an OTLP protobuf ExportTraceServiceRequest into plain spans, for the in-process
// receiver (tests, the demo). Defensive: a truncated or malformed message throws a clear error;
// unknown fields are skipped by wire type, as protobuf readers do.

import type { AttributeValue, ReceivedSpan, ReceivedSpanKind } from "./otlp-receiver.js";

const KINDS: ReceivedSpanKind[] = ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"];
const STATUS: Array<ReceivedSpan["status"]["code"]> = ["UNSET", "OK", "ERROR"];

class Reader {
  pos: number;
  constructor(
    private readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error("truncated varint");
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new Error("varint longer than 10 bytes");
  }

  fixed64(): bigint {
    if (this.pos + 8 > this.end) throw new Error("truncated fixed64");
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new Error("truncated double");
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A length-delimited field's extent. */
  sub(): Reader {
    const len = this.varint();
    if (this.pos + len > this.end) throw new Error("truncated length-delimited field");
    const r = new Reader(this.buf, this.pos, this.pos + len);
    this.pos += len;
    return r;
  }

  bytes(): Buffer {
    const r = this.sub();
    return this.buf.subarray(r.pos, r.end);
  }

  string(): string {
    return this.bytes().toString("utf8");
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.sub();
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${wireType}`);
    }
    if (this.pos > this.end) throw new Error("truncated field");
  }

  /** Calls `field` for each (number, wire type) until the end of this message. */
  each(field: (n: number, wt: number) => boolean): void {
    while (!this.done) {
      const tag = this.varint();
      const n = Math.floor(tag / 8);
      const wt = tag & 7;
      if (!field(n, wt)) this.skip(wt);
    }
  }
}

export function decodeOtlpProtobuf(buf: Buffer): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  const top = new Reader(buf);
  top.each((n, wt) => {
    if (n !== 1 || wt !== 2) return false;
    resourceSpans(top.sub(), out);
    return true;
  });
  return out;
}

function resourceSpans(r: Reader, out: ReceivedSpan[]): void {
  let resource: Record<string, AttributeValue> = {};
  const scopes: Reader[] = [];
  r.each((n, wt) => {
    if (wt !== 2) return false;
    if (n === 1) {
      const res = r.sub();
      const attrs: Record<string, AttributeValue> = {};
      res.each((m, w) => {
        if (m !== 1 || w !== 2) return false;
        keyValue(res.sub(), attrs);
        return true;
      });
      resource = attrs;
      return true;
    }
    if (n === 2) {
      scopes.push(r.sub());
      return true;
    }
    return false;
  });
  for (const s of scopes) scopeSpans(s, resource, out);
}

function scopeSpans(r: Reader, resource: Record<string, AttributeValue>, out: ReceivedSpan[]): void {
  const scope = { name: "", version: "" };
  const spans: Reader[] = [];
  r.each((n, wt) => {
    if (wt !== 2) return false;
    if (n === 1) {
      const sc = r.sub();
      sc.each((m, w) => {
        if (w !== 2 || (m !== 1 && m !== 2)) return false;
        if (m === 1) scope.name = sc.string();
        else scope.version = sc.string();
        return true;
      });
      return true;
    }
    if (n === 2) {
      spans.push(r.sub());
      return true;
    }
    return false;
  });
  for (const sp of spans) out.push(span(sp, resource, scope));
}

function span(r: Reader, resource: Record<string, AttributeValue>, scope: { name: string; version: string }): ReceivedSpan {
  const s: ReceivedSpan = {
    traceId: "",
    spanId: "",
    parentSpanId: "",
    traceState: "",
    name: "",
    kind: "UNSPECIFIED",
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    attributes: {},
    status: { code: "UNSET", message: "" },
    resource,
    scope,
  };
  r.each((n, wt) => {
    switch (n) {
      case 1:
        if (wt !== 2) return false;
        s.traceId = r.bytes().toString("hex");
        return true;
      case 2:
        if (wt !== 2) return false;
        s.spanId = r.bytes().toString("hex");
        return true;
      case 3:
        if (wt !== 2) return false;
        s.traceState = r.string();
        return true;
      case 4:
        if (wt !== 2) return false;
        s.parentSpanId = r.bytes().toString("hex");
        return true;
      case 5:
        if (wt !== 2) return false;
        s.name = r.string();
        return true;
      case 6:
        if (wt !== 0) return false;
        s.kind = KINDS[r.varint()] ?? "UNSPECIFIED";
        return true;
      case 7:
        if (wt !== 1) return false;
        s.startTimeUnixNano = r.fixed64();
        return true;
      case 8:
        if (wt !== 1) return false;
        s.endTimeUnixNano = r.fixed64();
        return true;
      case 9:
        if (wt !== 2) return false;
        keyValue(r.sub(), s.attributes);
        return true;
      case 15: {
        if (wt !== 2) return false;
        const st = r.sub();
        st.each((m, w) => {
          if (m === 2 && w === 2) s.status.message = st.string();
          else if (m === 3 && w === 0) s.status.code = STATUS[st.varint()] ?? "UNSET";
          else return false;
          return true;
        });
        return true;
      }
      default:
        return false;
    }
  });
  return s;
}

function keyValue(r: Reader, into: Record<string, AttributeValue>): void {
  let key = "";
  let value: AttributeValue = null;
  r.each((n, wt) => {
    if (wt !== 2) return false;
    if (n === 1) key = r.string();
    else if (n === 2) value = anyValue(r.sub());
    else return false;
    return true;
  });
  into[key] = value;
}

function anyValue(r: Reader): AttributeValue {
  let v: AttributeValue = null;
  r.each((n, wt) => {
    switch (n) {
      case 1: // string_value
        if (wt !== 2) return false;
        v = r.string();
        return true;
      case 2: // bool_value
        if (wt !== 0) return false;
        v = r.varint() !== 0;
        return true;
      case 3: // int_value
        if (wt !== 0) return false;
        v = r.varint();
        return true;
      case 4: // double_value
        if (wt !== 1) return false;
        v = r.double();
        return true;
      case 5: {
        // array_value { 1 values: AnyValue }
        if (wt !== 2) return false;
        const arr = r.sub();
        const items: AttributeValue[] = [];
        arr.each((m, w) => {
          if (m !== 1 || w !== 2) return false;
          items.push(anyValue(arr.sub()));
          return true;
        });
        v = items;
        return true;
      }
      case 6: {
        // kvlist_value { 1 values: KeyValue }
        if (wt !== 2) return false;
        const kv = r.sub();
        const o: Record<string, AttributeValue> = {};
        kv.each((m, w) => {
          if (m !== 1 || w !== 2) return false;
          keyValue(kv.sub(), o);
          return true;
        });
        v = o;
        return true;
      }
      case 7: // bytes_value
        if (wt !== 2) return false;
        v = r.bytes().toString("base64");
        return true;
      default:
        return false;
    }
  });
  return v;
}
