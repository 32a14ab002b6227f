// A small RFC 6455 WebSocket server for tests: the opening handshake (Sec-WebSocket-Accept), and
// framing for text, binary, continuation, close, ping and pong, with client-to-server masking
// checked. It echoes every message, answers pings, returns a close frame, and can close first or
// refuse the upgrade with a plain HTTP answer.

import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export const Opcode = { Continuation: 0, Text: 1, Binary: 2, Close: 8, Ping: 9, Pong: 10 } as const;

export interface WsMessage {
  opcode: number;
  data: Buffer;
}

export interface WsConnection {
  /** The upgrade request as the server saw it. */
  request: IncomingMessage;
  socket: Duplex;
  /** Data messages (text/binary) received, and control frames (ping/pong/close). */
  messages: WsMessage[];
  controls: WsMessage[];
  /** The close frame's code and reason, once one arrived. */
  closeReceived?: { code: number; reason: string };
  /** Resolves when the TCP connection is gone. */
  ended: Promise<void>;
  send(opcode: number, data: Buffer | string): void;
  /** Starts the closing handshake from the server side. */
  close(code: number, reason: string): void;
}

export interface WsEchoServer {
  port: number;
  connections: WsConnection[];
  /** Answers instead of switching protocols when set: e.g. `HTTP/1.1 403 Forbidden` and a body. */
  refuseWith: { status: number; body: string } | undefined;
  close(): Promise<void>;
}

/** Encodes one unmasked frame (server to client). */
export function encodeFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = (fin ? 0x80 : 0) | opcode;
  if (len < 126) head[1] = len;
  else if (len < 65536) {
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

interface Frame {
  fin: boolean;
  opcode: number;
  masked: boolean;
  payload: Buffer;
  size: number;
}

/** Decodes one frame from the start of `buf` (undefined: not all of it arrived yet). */
export function decodeFrame(buf: Buffer): Frame | undefined {
  if (buf.length < 2) return undefined;
  const fin = (buf[0]! & 0x80) !== 0;
  const opcode = buf[0]! & 0x0f;
  const masked = (buf[1]! & 0x80) !== 0;
  let len = buf[1]! & 0x7f;
  let at = 2;
  if (len === 126) {
    if (buf.length < 4) return undefined;
    len = buf.readUInt16BE(2);
    at = 4;
  } else if (len === 127) {
    if (buf.length < 10) return undefined;
    len = Number(buf.readBigUInt64BE(2));
    at = 10;
  }
  const maskAt = at;
  if (masked) at += 4;
  if (buf.length < at + len) return undefined;
  const payload = Buffer.from(buf.subarray(at, at + len));
  if (masked) for (let i = 0; i < len; i++) payload[i]! ^= buf[maskAt + (i % 4)]!;
  return { fin, opcode, masked, payload, size: at + len };
}

function closePayload(code: number, reason: string): Buffer {
  const r = Buffer.from(reason);
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}

export async function startWsEchoServer(): Promise<WsEchoServer> {
  const connections: WsConnection[] = [];
  const server: Server = createServer((_req, res) => {
    res.writeHead(426, { "content-type": "text/plain" });
    res.end("upgrade required");
  });
  const state: WsEchoServer = {
    port: 0,
    connections,
    refuseWith: undefined,
    close: () =>
      new Promise<void>((r) => {
        for (const c of connections) c.socket.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => {});
    const refuse = state.refuseWith;
    if (refuse !== undefined) {
      socket.end(`HTTP/1.1 ${refuse.status} Refused\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(refuse.body)}\r\n\r\n${refuse.body}`);
      return;
    }
    const key = req.headers["sec-websocket-key"];
    const accept = createHash("sha1").update(`${String(key)}${GUID}`).digest("base64");
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    let endedResolve!: () => void;
    const conn: WsConnection = {
      request: req,
      socket,
      messages: [],
      controls: [],
      ended: new Promise<void>((r) => (endedResolve = r)),
      send: (opcode, data) => socket.write(encodeFrame(opcode, typeof data === "string" ? Buffer.from(data) : data)),
      close(code, reason) {
        socket.write(encodeFrame(Opcode.Close, closePayload(code, reason)));
      },
    };
    socket.on("close", () => endedResolve());
    connections.push(conn);
    let buf: Buffer = head.length > 0 ? Buffer.from(head) : Buffer.alloc(0);
    let fragments: Buffer[] = [];
    let fragmentOpcode = 0;
    let closeSent = false;
    const onData = (): void => {
      for (;;) {
        const f = decodeFrame(buf);
        if (f === undefined) return;
        buf = buf.subarray(f.size);
        // RFC 6455 §5.1: a server must close the connection on an unmasked client frame.
        if (!f.masked) {
          socket.destroy();
          return;
        }
        if (f.opcode >= 8) {
          conn.controls.push({ opcode: f.opcode, data: f.payload });
          if (f.opcode === Opcode.Ping) socket.write(encodeFrame(Opcode.Pong, f.payload));
          else if (f.opcode === Opcode.Close) {
            const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
            conn.closeReceived = { code, reason: f.payload.subarray(2).toString() };
            if (!closeSent) {
              closeSent = true;
              socket.write(encodeFrame(Opcode.Close, f.payload.length >= 2 ? closePayload(code, "") : Buffer.alloc(0)));
            }
            socket.end();
          }
          continue;
        }
        if (f.opcode !== Opcode.Continuation) fragmentOpcode = f.opcode;
        fragments.push(f.payload);
        if (!f.fin) continue;
        const data = Buffer.concat(fragments);
        fragments = [];
        conn.messages.push({ opcode: fragmentOpcode, data });
        socket.write(encodeFrame(fragmentOpcode, data));
      }
    };
    const origClose = conn.close;
    conn.close = (code, reason) => {
      closeSent = true;
      origClose(code, reason);
    };
    socket.on("data", (d: Buffer) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      onData();
    });
    if (buf.length > 0) onData();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  state.port = (server.address() as AddressInfo).port;
  return state;
}
