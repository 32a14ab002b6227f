// A raw HTTP/2 client for tests that must send what well-behaved clients never send (a header
// block without `:path`, a connection-specific header, more streams than the peer allows): frames
// written by hand (HPACK literals without indexing or Huffman), frames read back parsed.

import { connect, type Socket } from "node:net";

export const FrameType = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8 } as const;
export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

/** HPACK literal header fields without indexing, new names (RFC 7541 §6.2.2), no Huffman. */
export function hpackLiterals(headers: Array<[string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [n, v] of headers) {
    parts.push(Buffer.from([0x00]), hpackString(n), hpackString(v));
  }
  return Buffer.concat(parts);
}

function hpackString(s: string): Buffer {
  const b = Buffer.from(s, "latin1");
  // 7-bit prefix integer.
  if (b.length < 127) return Buffer.concat([Buffer.from([b.length]), b]);
  const out = [127];
  let n = b.length - 127;
  while (n >= 128) {
    out.push((n & 0x7f) | 0x80);
    n >>= 7;
  }
  out.push(n);
  return Buffer.concat([Buffer.from(out), b]);
}

export function headersFrame(streamId: number, headers: Array<[string, string]>, endStream: boolean): Buffer {
  return frame(FrameType.HEADERS, 0x4 | (endStream ? 0x1 : 0), streamId, hpackLiterals(headers));
}

/** SETTINGS payload as id → value. */
export function parseSettings(payload: Buffer): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i + 6 <= payload.length; i += 6) m.set(payload.readUInt16BE(i), payload.readUInt32BE(i + 2));
  return m;
}

export class RawHttp2Client {
  readonly frames: Frame[] = [];
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;
  readonly socket: Socket;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 9) {
        const len = this.buf.readUIntBE(0, 3);
        if (this.buf.length < 9 + len) break;
        this.frames.push({ type: this.buf[3]!, flags: this.buf[4]!, streamId: this.buf.readUInt32BE(5) & 0x7fffffff, payload: this.buf.subarray(9, 9 + len) });
        this.buf = this.buf.subarray(9 + len);
      }
      this.wake();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
  }

  /** Connects, sends the preface and empty SETTINGS, and ACKs the server's SETTINGS once they arrive (unless `ack` is false). */
  static async open(port: number, ack = true): Promise<RawHttp2Client> {
    const s = connect(port, "127.0.0.1");
    await new Promise<void>((r, j) => {
      s.once("connect", r);
      s.once("error", j);
    });
    const c = new RawHttp2Client(s);
    s.write(Buffer.concat([PREFACE, frame(FrameType.SETTINGS, 0, 0)]));
    await c.waitFrame((f) => f.type === FrameType.SETTINGS && (f.flags & 1) === 0, 5_000);
    if (ack) s.write(frame(FrameType.SETTINGS, 1, 0));
    return c;
  }

  write(b: Buffer): void {
    this.socket.write(b);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The first frame (received so far or later) matching `pred`; rejects after `ms` or on close. */
  async waitFrame(pred: (f: Frame) => boolean, ms = 5_000): Promise<Frame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const f = this.frames.find(pred);
      if (f !== undefined) return f;
      if (this.closed) throw new Error("connection closed before the frame arrived");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${ms} ms (received: ${this.frames.map((f) => `${f.type}/${f.flags}/${f.streamId}`).join(" ")})`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
