// Admin API (Envoy's admin port, Istio's 15000): a small route table served on the main thread over
// the proxy's own HTTP/1 codec. Not node:http: loading it (it pulls in http2 too) costs ~15 MiB of
// RSS per process, a sixth of a sidecar's memory budget. Handlers return a plain AdminResponse so
// each endpoint is testable without sockets.

import { createServer, type AddressInfo, type Socket } from "node:net";
import { requestFraming } from "../http/codec/body-reader.js";
import { HeadError, HeadErrorKind, findHeadEnd, parseRequestHead } from "../http/codec/head-parser.js";
import { connectionTokens } from "../http/hop-by-hop.js";
import { STATUS_TEXT } from "../http/status-text.js";
import { formatClusters } from "./cluster-status.js";
import type { Logger } from "../common/logger.js";
import type { AdminState } from "../supervisor/supervisor-api.js";

/** Envoy's envoy.admin.v3.ServerInfo.State names, as `/ready` prints them. */
export type ServerState = "LIVE" | "DRAINING" | "PRE_INITIALIZING" | "INITIALIZING";

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
  /** GET routes also answer HEAD. */
  method: "GET" | "POST";
  /** One line for the `/` index. */
  help: string;
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

const text = "text/plain; charset=utf-8";

/** The state Envoy's `/ready` reports: LIVE (200) once ready, else 503 with the state name. */
export function serverState(state: AdminState, draining: boolean): ServerState {
  if (draining) return "DRAINING";
  // Not ready = workers are binding the first snapshot's listeners: Envoy's INITIALIZING (its init
  // manager is running). PRE_INITIALIZING is before that, which the admin server never sees.
  return state.isReady() ? "LIVE" : "INITIALIZING";
}

export function coreAdminRoutes(opts: Pick<AdminServerOptions, "state" | "isDraining">): AdminRoute[] {
  return [
    {
      path: "/ready",
      method: "GET",
      help: "LIVE (200) once every listener is bound, else INITIALIZING or DRAINING (503)",
      handle: () => {
        const s = serverState(opts.state, opts.isDraining?.() ?? false);
        return { status: s === "LIVE" ? 200 : 503, body: `${s}\n`, contentType: text };
      },
    },
    {
      path: "/config_dump",
      method: "GET",
      help: "the current configuration snapshot (listeners, routes, clusters) as JSON",
      handle: () => ({ status: 200, body: JSON.stringify(opts.state.configDump(), null, 2) + "\n", contentType: "application/json" }),
    },
    {
      path: "/clusters",
      method: "GET",
      help: "clusters: circuit-breaker limits and use, host health and ejections, across all workers (?format=json)",
      handle: (req) => {
        const all = opts.state.clusters?.() ?? [];
        if (req.query.get("format") === "json") return { status: 200, body: JSON.stringify({ clusters: all }, null, 2) + "\n", contentType: "application/json" };
        return { status: 200, body: formatClusters(all), contentType: text };
      },
    },
  ];
}

/** Route a request through the table: 404 for unknown paths, 405 for a known path, wrong method. */
export async function dispatchAdmin(routes: readonly AdminRoute[], req: AdminRequest): Promise<AdminResponse> {
  const forPath = routes.filter((r) => r.path === req.path);
  if (forPath.length === 0) return { status: 404, body: `no admin endpoint ${req.path}; see / for the list\n`, contentType: text };
  const method = req.method === "HEAD" ? "GET" : req.method;
  const route = forPath.find((r) => r.method === method);
  if (route === undefined) {
    const allow = [...new Set(forPath.flatMap((r) => (r.method === "GET" ? ["GET", "HEAD"] : [r.method])))].join(", ");
    return { status: 405, body: `method ${req.method} not allowed on ${req.path}; use ${allow}\n`, contentType: text, headers: { allow } };
  }
  return route.handle(req);
}

export function adminIndex(routes: readonly AdminRoute[]): string {
  const width = Math.max(...routes.map((r) => r.path.length + r.method.length + 1)) + 2;
  return ["outrigger admin commands are:", ...routes.map((r) => `  ${`${r.method} ${r.path}`.padEnd(width)}${r.help}`)].join("\n") + "\n";
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
  const address = opts.address ?? "127.0.0.1";
  const core = opts.coreRoutes ?? true;
  const routes: AdminRoute[] = [...(core ? coreAdminRoutes(opts) : []), ...(opts.routes ?? [])];
  const index: AdminRoute = { path: "/", method: "GET", help: "this list", handle: () => ({ status: 200, body: adminIndex(table), contentType: text }) };
  const help: AdminRoute = { ...index, path: "/help" };
  const table = core ? [index, help, ...routes] : routes;

  const server = createServer((socket) => serveAdminConnection(socket, table, opts.log));
  const sockets = new Set<Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new Error(`${opts.label ?? "admin API"} cannot listen on ${address}:${opts.port}: ${err.code === "EADDRINUSE" ? "address already in use" : err.message}`));
    };
    server.once("error", onError);
    server.listen(opts.port, address, () => {
      server.off("error", onError);
      resolve();
    });
  });
  server.on("error", (err) => opts.log.error(`${opts.label ?? "admin API"} server error: ${err.message}`));
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
