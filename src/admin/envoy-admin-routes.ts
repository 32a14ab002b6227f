// The admin endpoints Envoy has, with Envoy's paths, methods, query parameters, status codes and
// output shapes (istioctl, pilot-agent and bug-report read them): /ready, /config_dump,
// /clusters, /listeners, /server_info, /memory, /logging, /healthcheck/{fail,ok},
// /drain_listeners, /quitquitquit, /reopen_logs, /runtime, /certs — and, beyond Envoy, /explain.

import type { AdminState } from "../supervisor/supervisor-api.js";
import type { AdminControl } from "./admin-control.js";
import { jsonResponse, textResponse, type AdminRequest, type AdminResponse, type AdminRoute } from "./admin-server.js";
import { certsJson } from "./certs-json.js";
import { attachHostStats, clustersJson, formatClusters } from "./cluster-status.js";
import { configDumpRoute } from "./config-dump-route.js";
import { explainRoute } from "./explain-route.js";
import { listenersRoute } from "./listeners-route.js";
import { loggingRoute } from "./logging-route.js";
import { memoryJson } from "./memory.js";
import { serverInfoJson } from "./server-info.js";
import type { ServerState } from "./server-state.js";

/** `?name` present (Envoy's boolean parameters: presence is enough, any value). */
function flag(req: AdminRequest, name: string): boolean {
  return req.query.has(name);
}

/** Envoy's `format` parameter: json, text (default); anything else is refused. */
function format(req: AdminRequest): "json" | "text" | AdminResponse {
  const f = req.query.get("format");
  if (f === null || f === "text") return "text";
  if (f === "json") return "json";
  return textResponse(`invalid format ${JSON.stringify(f)}: use text or json\n`, 400);
}

export function envoyAdminRoutes(state: AdminState, control: AdminControl | undefined, currentState: () => ServerState): AdminRoute[] {
  const stateNow = (): ServerState => control?.serverState() ?? currentState();
  const routes: AdminRoute[] = [
    {
      path: "/ready",
      method: "GET",
      help: "print server state, return 200 if LIVE, otherwise return 503",
      handle: () => {
        const s = stateNow();
        return textResponse(`${s}\n`, s === "LIVE" ? 200 : 503);
      },
    },
    configDumpRoute(state),
    {
      path: "/clusters",
      method: "GET",
      help: "upstream cluster status: circuit-breaker limits and use, host health, ejections and request stats, across all workers",
      params: [{ name: "format", help: "File format to use; One of (text, json)" }],
      handle: async (req) => {
        const f = format(req);
        if (typeof f !== "string") return f;
        const all = state.clusters?.() ?? [];
        if (state.hostStats !== undefined) attachHostStats(all, await state.hostStats());
        return f === "json" ? jsonResponse(clustersJson(all)) : textResponse(formatClusters(all));
      },
    },
    listenersRoute(state),
    explainRoute(state),
    {
      path: "/runtime",
      method: "GET",
      help: "print runtime values (Outrigger has no runtime layers: always empty)",
      handle: () => jsonResponse({ entries: {}, layers: [] }),
    },
    {
      path: "/certs",
      method: "GET",
      help: "print certs on machine",
      handle: () => jsonResponse(certsJson(state.configDump().snapshot?.secrets, Date.now())),
    },
  ];
  if (control === undefined) return routes;
  routes.push(
    {
      path: "/server_info",
      method: "GET",
      help: "print server version/status information",
      handle: () => jsonResponse(serverInfoJson(control, stateNow(), Date.now())),
    },
    {
      path: "/memory",
      method: "GET",
      help: "print current allocation/heap usage (main thread and every worker's V8 heap)",
      handle: async () => jsonResponse(memoryJson(process.memoryUsage(), await control.workerHeaps())),
    },
    loggingRoute(control),
    {
      path: "/healthcheck/fail",
      method: "POST",
      help: "cause the server to fail health checks: /ready and :15021/healthz/ready answer 503 DRAINING",
      handle: () => {
        control.setHealthCheckFailed(true);
        return textResponse("OK\n");
      },
    },
    {
      path: "/healthcheck/ok",
      method: "POST",
      help: "cause the server to pass health checks",
      handle: () => {
        control.setHealthCheckFailed(false);
        return textResponse("OK\n");
      },
    },
    {
      path: "/drain_listeners",
      method: "POST",
      help: "drain listeners",
      params: [
        { name: "graceful", help: "When draining listeners, enter a graceful drain period (the drain duration) prior to closing listeners" },
        { name: "skip_exit", help: "When draining listeners, do not stop (close) the listeners after the drain period" },
        { name: "inboundonly", help: "Drains all inbound listeners (traffic_direction INBOUND)" },
      ],
      handle: async (req) => {
        await control.drainListeners({ inboundOnly: flag(req, "inboundonly"), graceful: flag(req, "graceful"), skipExit: flag(req, "skip_exit") });
        return textResponse("OK\n");
      },
    },
    {
      path: "/quitquitquit",
      method: "POST",
      help: "exit the server (no drain: workers stop now, exit code 0)",
      handle: () => {
        // After this response is written: dispatch resolves, the codec writes, then this runs.
        setImmediate(() => control.quit());
        return textResponse("OK\n");
      },
    },
    {
      path: "/reopen_logs",
      method: "POST",
      help: "reopen access logs",
      handle: async () => {
        await control.reopenLogs();
        return textResponse("OK\n");
      },
    },
  );
  return routes;
}
