// Admin API (Envoy's admin port, Istio's 15000): a small route table served with node:http on the
// main thread. Handlers return a plain AdminResponse so each endpoint is testable without sockets.

import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
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
  const routes: AdminRoute[] = [...coreAdminRoutes(opts), ...(opts.routes ?? [])];
  const index: AdminRoute = { path: "/", method: "GET", help: "this list", handle: () => ({ status: 200, body: adminIndex(table), contentType: text }) };
  const help: AdminRoute = { ...index, path: "/help" };
  const table = [index, help, ...routes];

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const request = adminRequest(req.method ?? "GET", req.url ?? "/");
    // Drain any request body so keep-alive connections stay usable.
    req.resume();
    dispatchAdmin(table, request)
      .catch((err: unknown): AdminResponse => {
        opts.log.error(`admin ${request.method} ${request.path} failed: ${(err as Error).stack ?? String(err)}`);
        return { status: 500, body: `internal error: ${(err as Error).message}\n`, contentType: text };
      })
      .then((r) => {
        res.writeHead(r.status, { "content-type": r.contentType ?? text, "cache-control": "no-cache, max-age=0", ...r.headers });
        res.end(r.body);
      });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new Error(`admin API cannot listen on ${address}:${opts.port}: ${err.code === "EADDRINUSE" ? "address already in use" : err.message}`));
    };
    server.once("error", onError);
    server.listen(opts.port, address, () => {
      server.off("error", onError);
      resolve();
    });
  });
  server.on("error", (err) => opts.log.error(`admin server error: ${err.message}`));
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
