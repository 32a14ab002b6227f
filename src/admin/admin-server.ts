// Admin API (Envoy's admin port, Istio's 15000): a small route table served on the main thread over
// the proxy's own HTTP/1 codec. Not node:http: loading it (it pulls in http2 too) costs ~15 MiB of
// RSS per process, a sixth of a sidecar's memory budget. Handlers return a plain AdminResponse so
// each endpoint is testable without sockets.

import { createServer, type AddressInfo, type Socket } from "node:net";
import { requestFraming } from "../http/codec/body-reader.js";
import { HeadError, HeadErrorKind, findHeadEnd, parseRequestHead } from "../http/codec/head-parser.js";
import { connectionTokens } from "../http/hop-by-hop.js";
import { STATUS_TEXT } from "../http/status-text.js";
import type { Logger } from "../common/logger.js";
import type { AdminState } from "../supervisor/supervisor-api.js";
import type { AdminControl } from "./admin-control.js";
import { envoyAdminRoutes } from "./envoy-admin-routes.js";
import { serverState } from "./server-state.js";

export { serverState, type ServerState } from "./server-state.js";

export interface AdminResponse {
  status: number;
  body: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface AdminRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
}

export interface AdminRoute {
  path: string;
  /**
   * GET: reads state and answers any method, as Envoy's admin does. POST: changes state (Envoy's
   * mutates_server_state) and answers only POST; other methods get Envoy's 405.
   */
  method: "GET" | "POST";
  /** One line for the `/help` index. */
  help: string;
  /** Query parameters, listed under the endpoint in `/help` (Envoy's ParamDescriptor). */
  params?: Array<{ name: string; help: string }>;
  handle(req: AdminRequest): AdminResponse | Promise<AdminResponse>;
}

export interface AdminServerOptions {
  /** Default 127.0.0.1. */
  address?: string;
  /** 0 = pick a free port. */
  port: number;
  state: AdminState;
  log: Logger;
  /** True once a drain has begun: /ready then says DRAINING (503) like Envoy. */
  isDraining?: () => boolean;
  /** The process switches (health check, drain, quit, logging, memory); absent = read-only admin (tests). */
  control?: AdminControl;
  /** Extra endpoints (later features add theirs here). */
  routes?: AdminRoute[];
  /**
   * False: serve only `routes`, without the core endpoints and the `/` index (the stats port,
   * 15090, which listens on every address and must not expose config or controls). Default true.
   */
  coreRoutes?: boolean;
  /** What the server is, for the listen error (default `admin API`). */
  label?: string;
}

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

export const text = "text/plain; charset=utf-8";
export const json = "application/json";

/** Pretty JSON with a final newline, as every JSON endpoint answers. */
export function jsonResponse(body: unknown, status = 200): AdminResponse {
  return { status, body: JSON.stringify(body, null, 2) + "\n", contentType: json };
}

export function textResponse(body: string, status = 200): AdminResponse {
  return { status, body, contentType: text };
}

export function coreAdminRoutes(opts: Pick<AdminServerOptions, "state" | "isDraining" | "control">): AdminRoute[] {
  return envoyAdminRoutes(opts.state, opts.control, () => serverState(opts.state, opts.isDraining?.() ?? false));
}

/** Route a request through the table: Envoy's 404 (with the help text) for unknown paths, 405 for a GET on a mutating one. */
export async function dispatchAdmin(routes: readonly AdminRoute[], req: AdminRequest): Promise<AdminResponse> {
  const route = routes.find((r) => r.path === req.path);
  if (route === undefined) return textResponse(`invalid path. ${adminIndex(routes)}`, 404);
  if (route.method === "POST" && req.method !== "POST") {
    return { status: 405, body: `Method ${req.method} not allowed, POST required.`, contentType: text, headers: { allow: "POST" } };
  }
  return route.handle(req);
}

/** Envoy's help text: `admin commands are:` then each endpoint in path order, `(POST)` on mutating ones, then its parameters. */
export function adminIndex(routes: readonly AdminRoute[]): string {
  const lines = ["admin commands are:"];
  for (const r of [...routes].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    lines.push(`  ${r.path}${r.method === "POST" ? " (POST)" : ""}: ${r.help}`);
    for (const p of r.params ?? []) lines.push(`      ${p.name}: ${p.help}`);
  }
  return lines.join("\n") + "\n";
}

/**
 * Split a request target into path and query by hand: `new URL()` reads `//x` as a host and throws
 * on `//`, and a request line must never be able to crash the admin server.
 */
export function adminRequest(method: string, target: string): AdminRequest {
  const q = target.indexOf("?");
  const path = q === -1 ? target : target.slice(0, q);
  let query: URLSearchParams;
  try {
    query = new URLSearchParams(q === -1 ? "" : target.slice(q + 1));
  } catch {
    query = new URLSearchParams();
  }
  return { method, path: path === "" ? "/" : path, query };
}

export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const core = opts.coreRoutes ?? true;
  const routes: AdminRoute[] = [...(core ? coreAdminRoutes(opts) : []), ...(opts.routes ?? [])];
  const index: AdminRoute = { path: "/", method: "GET", help: "Admin home page", handle: () => textResponse(adminIndex(table)) };
  const help: AdminRoute = { path: "/help", method: "GET", help: "print out list of admin commands", handle: () => textResponse(adminIndex(table)) };
  const table = core ? [index, help, ...routes] : routes;
  return serveAdminRoutes({ what: opts.label ?? "admin API", address: opts.address ?? "127.0.0.1", port: opts.port, routes: table, log: opts.log });
}

/** An HTTP endpoint over the admin codec serving exactly `routes` (the admin API, the health port). */
export async function serveAdminRoutes(opts: { what: string; address: string; port: number; routes: readonly AdminRoute[]; log: Logger }): Promise<AdminServer> {
  const { address, routes: table } = opts;
  const server = createServer((socket) => serveAdminConnection(socket, table, opts.log));
  const sockets = new Set<Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new Error(`${opts.what} cannot listen on ${address}:${opts.port}: ${err.code === "EADDRINUSE" ? "address already in use" : err.message}`));
    };
    server.once("error", onError);
    server.listen(opts.port, address, () => {
      server.off("error", onError);
      resolve();
    });
  });
  server.on("error", (err) => opts.log.error(`${opts.what} server error: ${err.message}`));
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

/** 64 KiB: admin request heads are tiny; anything bigger is refused. */
const MAX_ADMIN_HEAD = 64 * 1024;
/** 1 MiB: request bodies are read and discarded (no endpoint takes one yet). */
const MAX_ADMIN_BODY = 1024 * 1024;

function writeResponse(socket: Socket, r: AdminResponse, isHead: boolean, close: boolean): void {
  const body = Buffer.from(r.body);
  let head = `HTTP/1.1 ${r.status} ${STATUS_TEXT[r.status] ?? "Unknown"}\r\ncontent-type: ${r.contentType ?? text}\r\ncache-control: no-cache, max-age=0\r\ncontent-length: ${body.length}\r\n`;
  for (const [k, v] of Object.entries(r.headers ?? {})) head += `${k}: ${v}\r\n`;
  if (close) head += "connection: close\r\n";
  head += "\r\n";
  socket.write(isHead ? head : Buffer.concat([Buffer.from(head, "latin1"), body]));
  if (close) socket.end();
}

/** One admin connection: requests answered in order, keep-alive, bodies skipped. */
function serveAdminConnection(socket: Socket, table: readonly AdminRoute[], log: Logger): void {
  let buf: Buffer | null = null;
  let busy = false;
  socket.on("error", () => {});
  const fail = (status: number, message: string): void => {
    buf = null;
    writeResponse(socket, { status, body: message + "\n", contentType: text }, false, true);
  };
  const pump = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      while (buf !== null && !socket.destroyed) {
        let end: number;
        let head;
        let bodyLength = 0;
        try {
          end = findHeadEnd(buf, 0, MAX_ADMIN_HEAD);
          if (end === -1) return;
          head = parseRequestHead(buf, 0, end, 100);
          const framing = requestFraming(head.headers);
          if (framing.kind === "chunked") return fail(411, "admin requests with a body need content-length");
          if (framing.kind === "length") bodyLength = framing.length;
        } catch (e) {
          const tooLarge = e instanceof HeadError && e.kind !== HeadErrorKind.Malformed;
          return fail(tooLarge ? 431 : 400, tooLarge ? "request header fields too large" : "bad request");
        }
        if (bodyLength > MAX_ADMIN_BODY) return fail(413, "request body too large");
        if (buf.length < end + bodyLength) return; // wait for the rest of the body
        buf = buf.length === end + bodyLength ? null : buf.subarray(end + bodyLength);
        const request = adminRequest(head.method, head.target);
        const close = connectionTokens(head.headers).close || head.versionMinor === 0;
        const r = await dispatchAdmin(table, request).catch((err: unknown): AdminResponse => {
          log.error(`admin ${request.method} ${request.path} failed: ${(err as Error).stack ?? String(err)}`);
          return { status: 500, body: `internal error: ${(err as Error).message}\n`, contentType: text };
        });
        writeResponse(socket, r, head.method === "HEAD", close);
        if (close) return;
      }
    } finally {
      busy = false;
    }
  };
  socket.on("data", (chunk: Buffer) => {
    buf = buf === null ? chunk : Buffer.concat([buf, chunk]);
    if (buf.length > MAX_ADMIN_HEAD + MAX_ADMIN_BODY) return fail(413, "request too large");
    void pump();
  });
}
