// h2spec-style probes of an HTTP/2 server: a raw TCP client sends the connection preface, its
// SETTINGS and ACK, then the frames of one case followed by a PING, and classifies what the server
// answered before the PING's ACK (or the close): a connection error (GOAWAY, then the close), a
// stream error (RST_STREAM) or nothing (the frames were ignored; the PING ACK proves the server
// read past them). The same probe runs against Outrigger's listener and a node:http2 server
// (nghttp2, Envoy's codec underneath), the reference. Frames are built by hand so they can be wrong.

import { once } from "node:events";
import * as http2 from "node:http2";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import { type Frame, frame, hpackLiterals, PREFACE } from "./http2-raw-client.js";

export const T = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const F = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;
export const E = { NO_ERROR: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2, FLOW_CONTROL_ERROR: 3, STREAM_CLOSED: 5, FRAME_SIZE_ERROR: 6, REFUSED_STREAM: 7, CANCEL: 8, COMPRESSION_ERROR: 9, ENHANCE_YOUR_CALM: 11 } as const;

/** A request header block's fields (`path` defaults to "/"). */
export function requestFields(path = "/", extra: Array<[string, string]> = []): Array<[string, string]> {
  return [[":method", "GET"], [":scheme", "http"], [":authority", "conformance.test"], [":path", path], ...extra];
}

/** HEADERS with END_HEADERS carrying literal fields. */
export function headers(id: number, fields: Array<[string, string]>, endStream: boolean, extraFlags = 0): Buffer {
  return frame(T.HEADERS, F.END_HEADERS | (endStream ? F.END_STREAM : 0) | extraFlags, id, hpackLiterals(fields));
}

/** A HEADERS frame with a raw (possibly broken) header block fragment. */
export function headersRaw(id: number, block: Buffer, flags: number): Buffer {
  return frame(T.HEADERS, flags, id, block);
}

export function data(id: number, payload: Buffer | string, endStream: boolean, flags = 0): Buffer {
  return frame(T.DATA, flags | (endStream ? F.END_STREAM : 0), id, typeof payload === "string" ? Buffer.from(payload) : payload);
}

export function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

/** SETTINGS payload from [id, value] pairs. */
export function settingsPayload(entries: Array<[number, number]>): Buffer {
  const b = Buffer.alloc(entries.length * 6);
  entries.forEach(([k, v], i) => {
    b.writeUInt16BE(k, i * 6);
    b.writeUInt32BE(v >>> 0, i * 6 + 2);
  });
  return b;
}

export function windowUpdate(id: number, inc: number): Buffer {
  return frame(T.WINDOW_UPDATE, 0, id, u32(inc));
}

export function rst(id: number, code: number): Buffer {
  return frame(T.RST_STREAM, 0, id, u32(code));
}

export function priority(id: number, dependsOn: number, weight = 15): Buffer {
  return frame(T.PRIORITY, 0, id, Buffer.concat([u32(dependsOn), Buffer.from([weight])]));
}

export { frame };

/** The client connection preface. */
export const PREFACE_BYTES = PREFACE;

const PROBE_PING = Buffer.from("h2probe!", "latin1");

/** What the server did with a case's frames. */
export type Outcome =
  | { kind: "goaway"; code: number }
  | { kind: "rst"; stream: number; code: number }
  | { kind: "ignored" }
  | { kind: "closed" };

export interface ProbeResult {
  outcome: Outcome;
  /** Every frame received (the server's SETTINGS first). */
  frames: Frame[];
  /** The socket closed within the wait (a GOAWAY must be followed by the close). */
  closed: boolean;
}

export interface ProbeOptions {
  /** Our SETTINGS payload (default empty). */
  settings?: Buffer;
  /** Skip the preface and SETTINGS: the case's bytes are the first the server sees. */
  raw?: boolean;
  /** Wait for a frame matching this before sending `after` (e.g. a response HEADERS). */
  waitFor?: (f: Frame) => boolean;
  after?: Buffer[];
  /** After `after` went out: wait until the frames received satisfy this before the PING. */
  settle?: (frames: Frame[]) => boolean;
  /** Milliseconds for the whole probe (default 5 000). */
  timeoutMs?: number;
}

/**
 * Runs one case against `port` and classifies the server's answer: the first GOAWAY or
 * RST_STREAM received after our SETTINGS ACK went out, else `ignored` when our trailing PING was
 * answered, else `closed`.
 */
export async function probe(port: number, bytes: Buffer[], o: ProbeOptions = {}): Promise<ProbeResult> {
  const socket = connect(port, "127.0.0.1");
  socket.on("error", () => {});
  await once(socket, "connect");
  const frames: Frame[] = [];
  let buf = Buffer.alloc(0);
  let closed = false;
  let wake: (() => void) | null = null;
  const poke = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  socket.on("data", (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3);
      if (buf.length < 9 + len) break;
      frames.push({ type: buf[3]!, flags: buf[4]!, streamId: buf.readUInt32BE(5) & 0x7fffffff, payload: buf.subarray(9, 9 + len) });
      buf = buf.subarray(9 + len);
    }
    poke();
  });
  socket.on("close", () => {
    closed = true;
    poke();
  });
  const deadline = Date.now() + (o.timeoutMs ?? 5_000);
  let timer: NodeJS.Timeout | undefined;
  const until = async (pred: () => boolean): Promise<boolean> => {
    while (!pred()) {
      if (closed || Date.now() >= deadline) return pred();
      await new Promise<void>((r) => {
        wake = r;
        timer = setTimeout(r, Math.max(1, deadline - Date.now()));
      });
      clearTimeout(timer);
    }
    return true;
  };
  const ping = frame(T.PING, 0, 0, PROBE_PING);
  let from = 0;
  try {
    if (o.raw !== true) {
      socket.write(Buffer.concat([PREFACE, frame(T.SETTINGS, 0, 0, o.settings ?? Buffer.alloc(0))]));
      if (!(await until(() => frames.some((f) => f.type === T.SETTINGS && (f.flags & F.ACK) === 0)))) throw new Error("no server SETTINGS");
      socket.write(frame(T.SETTINGS, F.ACK, 0));
      from = frames.length;
    }
    socket.write(Buffer.concat(bytes));
    if (o.waitFor !== undefined) {
      const pred = o.waitFor;
      await until(() => frames.some(pred) || frames.some((f) => f.type === T.GOAWAY));
      if (o.after !== undefined && !closed) socket.write(Buffer.concat(o.after));
    }
    if (o.settle !== undefined) {
      const settle = o.settle;
      await until(() => settle(frames));
    }
    if (!closed) socket.write(ping);
    const isPingAck = (f: Frame): boolean => f.type === T.PING && (f.flags & F.ACK) !== 0 && f.payload.equals(PROBE_PING);
    const errorFrame = (f: Frame): boolean => f.type === T.GOAWAY || f.type === T.RST_STREAM;
    await until(() => frames.slice(from).some((f) => errorFrame(f) || isPingAck(f)));
    const first = frames.slice(from).find(errorFrame);
    let outcome: Outcome;
    if (first?.type === T.GOAWAY) {
      // GOAWAY with NO_ERROR and 2^31-1 is a drain notice, not an error: look on.
      outcome = { kind: "goaway", code: first.payload.readUInt32BE(4) };
      await until(() => closed);
    } else if (first !== undefined) outcome = { kind: "rst", stream: first.streamId, code: first.payload.readUInt32BE(0) };
    else if (frames.some(isPingAck)) outcome = { kind: "ignored" };
    else outcome = { kind: "closed" };
    return { outcome, frames, closed };
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

/** A node:http2 server (nghttp2 with Node's options): the reference the proxy is compared with. `/hold` never answers. */
export async function startReferenceServer(settings: http2.Settings = {}): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http2.createServer({ settings });
  server.on("stream", (stream, hdrs) => {
    stream.on("error", () => {});
    if (hdrs[":path"] === "/hold") {
      stream.resume();
      return;
    }
    stream.resume();
    stream.on("end", () => {
      if (!stream.destroyed && !stream.headersSent) stream.respond({ ":status": 200 });
      if (!stream.destroyed) stream.end(hdrs[":path"] === "/big" ? Buffer.alloc(1000, 0x61) : "ok");
    });
  });
  server.on("sessionError", () => {});
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("error", () => {});
    s.on("close", () => sessions.delete(s));
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sessions) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** "goaway PROTOCOL_ERROR" etc. (readable test failures). */
export function describeOutcome(o: Outcome): string {
  const name = (c: number): string => Object.entries(E).find(([, v]) => v === c)?.[0] ?? `0x${c.toString(16)}`;
  switch (o.kind) {
    case "goaway":
      return `goaway ${name(o.code)}`;
    case "rst":
      return `rst ${o.stream} ${name(o.code)}`;
    default:
      return o.kind;
  }
}
