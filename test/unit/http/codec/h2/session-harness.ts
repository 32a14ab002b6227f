// Test harness for H2Session: a TCP server whose connections are server-role sessions, a
// client-role session connected to any port, and a recording stream handler (headers, body
// bytes, trailers, resets, close) with promises for each stage.

import { createServer, connect, type Server, type Socket } from "node:net";
import { H2Session, type H2SessionHandler, type H2SessionOptions, type H2Stream, type H2StreamHandler, type ResetWhy } from "../../../../../src/http/codec/h2/session.js";

export const OPTS: H2SessionOptions = {
  role: "server",
  maxConcurrentStreams: 1000,
  initialStreamWindowSize: 268_435_456,
  initialConnectionWindowSize: 268_435_456,
  maxHeaderListSize: 65_536,
  maxHeaderPairs: 200,
  streamBufferLimit: 1024 * 1024,
};

/** Records what a stream receives; `done` settles when it closes. */
export class Recorder implements H2StreamHandler {
  headers: string[][] = [];
  chunks: Buffer[] = [];
  trailers: string[] | null = null;
  ended = false;
  reset: { code: number; why: ResetWhy } | null = null;
  closed = false;
  writable = 0;
  readonly done: Promise<void>;
  private resolve!: () => void;
  /** Called on each event (tests hook behaviour here). */
  onEvent: ((r: Recorder, what: string) => void) | null = null;

  constructor() {
    this.done = new Promise((r) => (this.resolve = r));
  }

  get body(): Buffer {
    return Buffer.concat(this.chunks);
  }

  header(name: string): string | undefined {
    const h = this.headers.at(-1);
    if (h === undefined) return undefined;
    for (let i = 0; i < h.length; i += 2) if (h[i] === name) return h[i + 1];
    return undefined;
  }

  onHeaders(raw: string[], endStream: boolean): void {
    this.headers.push(raw);
    if (endStream) this.ended = true;
    this.onEvent?.(this, "headers");
  }
  onData(chunk: Buffer, endStream: boolean): void {
    this.chunks.push(Buffer.from(chunk));
    if (endStream) this.ended = true;
    this.onEvent?.(this, endStream ? "end" : "data");
  }
  onTrailers(raw: string[]): void {
    this.trailers = raw;
    this.ended = true;
    this.onEvent?.(this, "end");
  }
  onReset(code: number, why: ResetWhy): void {
    this.reset = { code, why };
    this.onEvent?.(this, "reset");
  }
  onWritable(): void {
    this.writable++;
    this.onEvent?.(this, "writable");
  }
  onClose(): void {
    this.closed = true;
    this.resolve();
  }
}

/** A session handler recording the session-level events. */
export class SessionEvents implements H2SessionHandler {
  goaways: Array<{ last: number; code: number }> = [];
  settings = 0;
  closed = false;
  readonly closedP: Promise<void>;
  private resolveClosed!: () => void;
  constructor(private readonly streamHook: (s: H2Stream, raw: string[], endStream: boolean, overflow: boolean) => void = () => {}) {
    this.closedP = new Promise((r) => (this.resolveClosed = r));
  }
  onStream(s: H2Stream, raw: string[], endStream: boolean, overflow: boolean): void {
    this.streamHook(s, raw, endStream, overflow);
  }
  onRemoteSettings(): void {
    this.settings++;
  }
  onGoaway(last: number, code: number): void {
    this.goaways.push({ last, code });
  }
  onClose(): void {
    this.closed = true;
    this.resolveClosed();
  }
}

export interface SessionServer {
  port: number;
  sessions: H2Session[];
  events: SessionEvents[];
  close(): Promise<void>;
}

/** A TCP server running a server-role H2Session per connection; `onStream` serves each stream. */
export async function startSessionServer(onStream: (s: H2Stream, raw: string[], endStream: boolean, overflow: boolean) => void, opts: Partial<H2SessionOptions> = {}): Promise<SessionServer> {
  const sessions: H2Session[] = [];
  const events: SessionEvents[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    const ev = new SessionEvents(onStream);
    events.push(ev);
    sessions.push(new H2Session(socket, { ...OPTS, ...opts, role: "server" }, ev));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    sessions,
    events,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A client-role session on a new TCP connection to `port`. */
export async function clientSession(port: number, opts: Partial<H2SessionOptions> = {}): Promise<{ session: H2Session; events: SessionEvents; socket: Socket }> {
  const socket = connect(port, "127.0.0.1");
  await new Promise<void>((r, j) => {
    socket.once("connect", r);
    socket.once("error", j);
  });
  const events = new SessionEvents();
  const session = new H2Session(socket, { ...OPTS, ...opts, role: "client" }, events);
  return { session, events, socket };
}

/** Bytes of `n` with a pattern (so misplaced chunks change the checksum). */
export function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}
