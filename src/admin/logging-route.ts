// `/logging` (POST, as Envoy's): lists the loggers and their levels; `?level=<l>` sets every
// logger, `?<logger>=<l>` one, `?paths=a:l1,b:l2` several. Levels are Envoy's (spdlog) names;
// Outrigger's loggers are `main` (supervisor), `admin` and `worker` (every data-path worker — a
// change reaches all of them before the answer). Errors answer 400 with Envoy's usage text.

import type { LogLevel } from "../common/logger.js";
import type { AdminControl } from "./admin-control.js";
import { textResponse, type AdminRoute } from "./admin-server.js";

/** spdlog's level names, in order. */
const ENVOY_LEVELS = ["trace", "debug", "info", "warning", "error", "critical", "off"] as const;
const FROM_ENVOY: Record<string, LogLevel> = { trace: "debug", debug: "debug", info: "info", warning: "warn", error: "error", critical: "error", off: "off" };
const TO_ENVOY: Record<LogLevel, string> = { debug: "debug", info: "info", warn: "warning", error: "error", off: "off" };

export function envoyLevelName(l: LogLevel): string {
  return TO_ENVOY[l];
}

function usage(message: string): string {
  return [
    `error: ${message}`,
    "",
    "usage: /logging?<name>=<level> (change single level)",
    "usage: /logging?paths=name1:level1,name2:level2,... (change multiple levels)",
    "usage: /logging?level=<level> (change all levels)",
    `levels: ${ENVOY_LEVELS.map((l) => l + " ").join("")}`,
    "",
  ].join("\n");
}

/** The changes a query asks for, or an error message (Envoy's wording). */
export function parseLoggingQuery(query: URLSearchParams, known: readonly string[]): Map<string, LogLevel> | string {
  const params = [...query.entries()];
  if (params.length !== 1) return "invalid number of parameters";
  const [key, value] = params[0]!;
  const level = (v: string): LogLevel | undefined => FROM_ENVOY[v];
  const out = new Map<string, LogLevel>();
  if (key === "level") {
    const l = level(value);
    if (l === undefined) return "unknown logger level";
    for (const n of known) out.set(n, l);
    return out;
  }
  const pairs: Array<[string, string]> = [];
  if (key === "paths") {
    for (const part of value.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
      const i = part.indexOf(":");
      const name = i === -1 ? part : part.slice(0, i).trim();
      const lvl = i === -1 ? "" : part.slice(i + 1).trim();
      if (name === "" || lvl === "") return "empty logger name or empty logger level";
      pairs.push([name, lvl]);
    }
  } else pairs.push([key, value]);
  for (const [name, lvl] of pairs) {
    const l = level(lvl);
    if (l === undefined) return "unknown logger level";
    out.set(name, l);
  }
  for (const name of out.keys()) if (!known.includes(name)) return "unknown logger name";
  return out;
}

export function loggingRoute(control: AdminControl): AdminRoute {
  const list = (): string => ["active loggers:", ...control.loggers().map((l) => `  ${l.name}: ${envoyLevelName(l.level)}`), "", ""].join("\n");
  return {
    path: "/logging",
    method: "POST",
    help: "query/change logging levels",
    params: [
      { name: "paths", help: "Change multiple logging levels by setting to <logger_name1>:<desired_level1>,<logger_name2>:<desired_level2>" },
      { name: "level", help: `desired logging level, this will change all loggers's level; One of (, ${ENVOY_LEVELS.join(", ")})` },
    ],
    handle: async (req) => {
      if ([...req.query.keys()].length === 0) return textResponse(list());
      const changes = parseLoggingQuery(req.query, control.loggers().map((l) => l.name));
      if (typeof changes === "string") return textResponse(usage(changes) + list(), 400);
      await control.setLogLevels(changes);
      return textResponse(list());
    },
  };
}
