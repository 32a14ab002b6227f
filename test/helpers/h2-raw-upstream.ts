// A scripted raw HTTP/2 upstream for hostile-upstream tests: a TCP server that reads the proxy's
// client preface and frames (parsed, recorded per connection) and lets a test answer with any
// bytes at all — frames built by hand (h2Frame), header blocks HPACK-encoded by src's own encoder
// (one per connection, so its dynamic table stays in step with the proxy's decoder).

import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { ByteWriter } from "../../src/http/codec/h2/byte-writer.js";
import { HpackEncoder } from "../../src/http/codec/h2/hpack.js";

export const T = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const F = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;
const PREFACE_LENGTH = 24;

export interface RawFrame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

/** One frame: 9-byte header and payload. `length` overrides the header's length field (a lie). */
export function h2Frame(type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0), length = payload.length): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id >>> 0, 5);
  return Buffer.concat([h, payload]);
}

/** A SETTINGS payload from [id, value] pairs. */
export function settingsPayload(pairs: Array<[number, number]>): Buffer {
  const b = Buffer.alloc(pairs.length * 6);
  pairs.forEach(([k, v], i) => {
    b.writeUInt16BE(k, i * 6);
    b.writeUInt32BE(v >>> 0, i * 6 + 2);
  });
  return b;
}

export function u32(...vs: number[]): Buffer {
  const b = Buffer.alloc(vs.length * 4);
  vs.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

/** One accepted connection of a RawH2Upstream. */
export class RawH2Conn {
  readonly frames: RawFrame[] = [];
  /** Stream ids of the requests (HEADERS the proxy opened), in order. */
  readonly requests: number[] = [];
  /** Request body bytes received per stream. */
  readonly bodyBytes = new Map<number, number>();
  closed = false;
  private readonly encoder = new HpackEncoder();
  private buf: Buffer = Buffer.alloc(0);
  private prefaceLeft = PREFACE_LENGTH;

  constructor(
    readonly sock: Socket,
    private readonly script: RawH2Script,
  ) {}

  write(b: Buffer): void {
    if (!this.sock.destroyed) this.sock.write(b);
  }

  /** An HPACK block of `headers` ([name, value] pairs; pseudo-headers first as given). */
  block(headers: Array<[string, string]>): Buffer {
    const w = new ByteWriter();
    this.encoder.encode(headers.flat(), w);
    return Buffer.from(w.buffer().subarray(0, w.length));
  }

  /** HEADERS (END_HEADERS) with `headers`, END_STREAM when `end`. */
  headers(id: number, headers: Array<[string, string]>, end: boolean): void {
    this.write(h2Frame(T.HEADERS, F.END_HEADERS | (end ? F.END_STREAM : 0), id, this.block(headers)));
  }

  data(id: number, body: Buffer | string, end: boolean): void {
    this.write(h2Frame(T.DATA, end ? F.END_STREAM : 0, id, Buffer.from(body)));
  }

  /** A whole 200 response with `body`. */
  ok(id: number, body = "ok"): void {
    this.headers(id, [[":status", "200"], ["content-length", String(Buffer.byteLength(body))]], false);
    this.data(id, body, true);
  }

  /** @internal */
  onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    if (this.prefaceLeft > 0) {
      const k = Math.min(this.prefaceLeft, this.buf.length);
      this.prefaceLeft -= k;
      this.buf = this.buf.subarray(k);
    }
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) return;
      const f: RawFrame = { type: this.buf[3]!, flags: this.buf[4]!, id: this.buf.readUInt32BE(5) & 0x7fffffff, payload: this.buf.subarray(9, 9 + len) };
      this.buf = this.buf.subarray(9 + len);
      this.frames.push(f);
      if (f.type === T.SETTINGS && (f.flags & F.ACK) === 0 && this.script.ackSettings !== false) this.write(h2Frame(T.SETTINGS, F.ACK, 0));
      if (f.type === T.DATA) this.bodyBytes.set(f.id, (this.bodyBytes.get(f.id) ?? 0) + len);
      const isRequest = f.type === T.HEADERS && !this.requests.includes(f.id);
      if (isRequest) this.requests.push(f.id);
      this.script.onFrame?.(this, f);
      if (isRequest) this.script.onRequest?.(this, f.id, f);
    }
  }

  /** Frames of a type the proxy sent. */
  sent(type: number): RawFrame[] {
    return this.frames.filter((f) => f.type === type);
  }

  /** The GOAWAY the proxy sent, as {last, code}, or undefined. */
  goaway(): { last: number; code: number } | undefined {
    const g = this.sent(T.GOAWAY)[0];
    return g === undefined ? undefined : { last: g.payload.readUInt32BE(0) & 0x7fffffff, code: g.payload.readUInt32BE(4) };
  }
}

export interface RawH2Script {
  /** Written on accept (default: an empty SETTINGS frame); null: nothing. */
  greeting?: Buffer | null;
  /** ACK the proxy's SETTINGS (default true). */
  ackSettings?: boolean;
  /** Every frame the proxy sends. */
  onFrame?(c: RawH2Conn, f: RawFrame): void;
  /** A new request stream (its first HEADERS). */
  onRequest?(c: RawH2Conn, id: number, f: RawFrame): void;
  onConnection?(c: RawH2Conn): void;
}

export interface RawH2Upstream {
  port: number;
  conns: RawH2Conn[];
  /** Requests over all connections. */
  requestCount(): number;
  close(): Promise<void>;
}

/** `script`: one for every connection, or one per connection by its index (0 = the first accepted). */
export async function startRawH2Upstream(scripts: RawH2Script | ((index: number) => RawH2Script)): Promise<RawH2Upstream> {
  const conns: RawH2Conn[] = [];
  const server: Server = createServer((sock) => {
    const script = typeof scripts === "function" ? scripts(conns.length) : scripts;
    const c = new RawH2Conn(sock, script);
    conns.push(c);
    sock.on("error", () => {});
    sock.on("close", () => (c.closed = true));
    sock.on("data", (d: Buffer) => c.onData(d));
    const greeting = script.greeting === undefined ? h2Frame(T.SETTINGS, 0, 0) : script.greeting;
    if (greeting !== null) sock.write(greeting);
    script.onConnection?.(c);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    conns,
    requestCount: () => conns.reduce((n, c) => n + c.requests.length, 0),
    close: () =>
      new Promise<void>((r) => {
        for (const c of conns) c.sock.destroy();
        server.close(() => r());
      }),
  };
}
