// Test upstreams: real node:http servers on 127.0.0.1:0 that echo what they received, and raw
// net servers that misbehave on purpose.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

export interface EchoUpstream {
  port: number;
  name: string;
  requests: Array<{ method: string; url: string; headers: IncomingMessage["headers"]; rawHeaders: string[]; httpVersion: string }>;
  close(): Promise<void>;
  server: Server;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** An upstream answering JSON {name, method, url, headers} unless `handler` takes over. */
export async function startEchoUpstream(name: string, handler?: Handler): Promise<EchoUpstream> {
  const requests: EchoUpstream["requests"] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, httpVersion: req.httpVersion });
    if (handler) return handler(req, res);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers, bodyLength: Buffer.concat(chunks).length });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body), "x-upstream": name });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    name,
    requests,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface RawUpstream {
  port: number;
  sockets: Socket[];
  close(): Promise<void>;
}

/** A raw TCP upstream; `onConnection` decides what to do with each socket (reset, stall, …). */
export async function startRawUpstream(onConnection: (s: Socket) => void): Promise<RawUpstream> {
  const sockets: Socket[] = [];
  const server: NetServer = createNetServer((s) => {
    sockets.push(s);
    s.on("error", () => {});
    onConnection(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    sockets,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/**
 * A port that was free a moment ago, for config that must name a port before the proxy binds it.
 * Drawn below the kernel's ephemeral range (32768+), so the many sockets other test files bind
 * on port 0 — and every outgoing connection — can never take it in between; checked by binding.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canBind(port)) return port;
  }
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createNetServer();
    s.once("error", () => resolve(false));
    s.listen({ port, host: "0.0.0.0", exclusive: true }, () => s.close(() => resolve(true)));
  });
}
