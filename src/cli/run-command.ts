// `outrigger run`: start the supervisor and the admin API, wire signals (SIGHUP reload, SIGTERM /
// SIGINT drain, second SIGINT exits at once) and resolve with the exit code.

import { stat } from "node:fs/promises";
import type { AdminControl } from "../admin/admin-control.js";
import { serverState, startAdminServer } from "../admin/admin-server.js";
import type { AdminServer } from "../admin/admin-server.js";
import { startHealthServer } from "../admin/health-server.js";
import { prometheusRoute, statsRoutes, type MergedStats } from "../admin/stats-routes.js";
import { statsAddress, type Bootstrap } from "../bootstrap/bootstrap.js";
import { renderHelp } from "../bootstrap/flag-parser.js";
import { formatAddress } from "../bootstrap/flag-values.js";
import { parseRunFlags, runCommandSpec } from "../bootstrap/parse-run-flags.js";
import { createLogger } from "../common/logger.js";
import type { LogLevel, Logger } from "../common/logger.js";
import type { AdminState, Supervisor } from "../supervisor/supervisor-api.js";
import type { Json } from "../config/envoy/decoded.js";
import type { CliContext } from "./cli-context.js";
import type { Command } from "./command.js";
import { ExitCode } from "./command.js";
import { plural } from "./translate-config.js";

/** 130: the shell's code for "killed by SIGINT", used when a second SIGINT cuts the drain short. */
const interruptedExitCode = 130;

export const runCommand: Command = {
  spec: runCommandSpec,
  summary: "run the proxy",
  async run(argv, ctx) {
    // The Envoy-bootstrap run (its decoders, protobufjs) is loaded only when asked for.
    if (argv.some((a) => a === "--bootstrap" || a.startsWith("--bootstrap="))) return (await import("./run-bootstrap-command.js")).runFromEnvoyBootstrap(argv, ctx);
    const bootstrap = parseRunFlags(argv, ctx);
    if (bootstrap === undefined) {
      ctx.stdout(renderHelp(runCommandSpec));
      return ExitCode.Ok;
    }
    return runProxy(bootstrap, ctx, "run");
  },
};

export interface RunHooks {
  /** Called once the proxy is ready (after the start-up line). */
  onReady?(info: { supervisor: Supervisor; admin: AdminServer; log: Logger }): void;
  /**
   * Starts the supervisor instead of ctx.deps.startSupervisor (an Envoy bootstrap's sources);
   * `created` hands it over before its first config is applied, so the admin reports on it meanwhile.
   */
  startSupervisor?(bootstrap: Bootstrap, log: Logger, created: (s: Supervisor) => void): Promise<Supervisor>;
  /** Run from an Envoy bootstrap: shown by /config_dump (bootstrap) and /server_info (node, command line). */
  envoy?: AdminControl["envoy"] & { bootstrap: Json };
  /** The program name in messages (`outrigger run`, `outrigger-envoy`). */
  program?: string;
}

/** Start, serve until a signal or a fatal error, stop. Shared by `run` and `demo`. */
export async function runProxy(bootstrap: Bootstrap, ctx: CliContext, command: string, hooks: RunHooks = {}): Promise<number> {
  const program = hooks.program ?? `outrigger ${command}`;
  for (const p of bootstrap.configPaths) {
    try {
      await stat(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      ctx.stderr(`${program}: config path ${code === "ENOENT" ? "not found" : `unreadable (${code ?? "error"})`}: ${p}\n`);
      return ExitCode.Failure;
    }
  }
  const log = createLogger(bootstrap.logLevel, "outrigger", (line) => ctx.stderr(line + "\n"));
  if (!bootstrap.reusePort) {
    // Node's reusePort listen option fails outright on these systems: one worker binds normally.
    log.warn(`SO_REUSEPORT does not balance connections on this OS (${process.platform}): running 1 worker, which accepts every connection`);
  }

  // The admin API comes up first, like Envoy's: /ready answers 503 while workers bind, and a taken
  // admin port is reported before any worker starts.
  const startedAtMs = Date.now();
  let supervisor: Supervisor | undefined;
  let draining = false;
  let healthCheckFailed = false;
  const adminLog = log.child("admin");
  let quit: () => void = () => {};
  const state: AdminState = {
    isReady: () => supervisor?.admin.isReady() ?? false,
    configDump: () => ({ ...(supervisor?.admin.configDump() ?? { bootstrap, snapshot: null, lastReloadError: null }), ...(hooks.envoy !== undefined ? { envoyBootstrap: hooks.envoy.bootstrap } : {}) }),
    clusters: () => supervisor?.admin.clusters?.() ?? [],
    hostStats: () => supervisor?.admin.hostStats?.() ?? Promise.resolve({}),
  };
  // Until the supervisor has started (its first config applied: with xDS, the control plane's first
  // answer) there is nothing to merge — only what pilot-agent's readiness probe must find: Envoy's
  // server.state INITIALIZING (3) and no workers started.
  const stats = (): Promise<MergedStats> =>
    supervisor?.admin.stats?.() ??
    Promise.resolve({ envoy: { counters: {}, gauges: { "server.state": 3, "listener_manager.workers_started": 0 }, histograms: {}, unused: [] }, istio: [], entities: {} });
  const control: AdminControl = {
    bootstrap,
    ...(hooks.envoy !== undefined ? { envoy: { node: hooks.envoy.node, commandLineOptions: hooks.envoy.commandLineOptions } } : {}),
    startedAtMs,
    serverState: () => serverState(state, draining, healthCheckFailed),
    notReadyReason: () => {
      if (draining) return "draining: the proxy is shutting down";
      if (!state.isReady()) return "initializing: workers are binding the listeners of the first configuration";
      if (healthCheckFailed) return "health check failed (POST /healthcheck/fail); POST /healthcheck/ok to pass again";
      return undefined;
    },
    setHealthCheckFailed: (failed) => {
      if (failed !== healthCheckFailed) adminLog.info(failed ? "health check failed by hand: /ready and the health port answer 503" : "health check passes again");
      healthCheckFailed = failed;
    },
    drainListeners: async (opts) => {
      if (supervisor === undefined) throw new Error("not started yet");
      await supervisor.drainListeners(opts);
    },
    quit: () => quit(),
    loggers: () => [
      { name: "admin", level: adminLog.level },
      { name: "main", level: log.level },
      { name: "worker", level: supervisor?.workerLogLevel() ?? bootstrap.logLevel },
    ],
    setLogLevels: async (changes: ReadonlyMap<string, LogLevel>) => {
      for (const [name, level] of changes) {
        if (name === "admin") adminLog.setLevel(level);
        else if (name === "main") log.setLevel(level);
        else if (name === "worker" && supervisor !== undefined) await supervisor.setWorkerLogLevel(level);
        log.info(`change log level: name='${name}' level='${level}'`);
      }
    },
    workerHeaps: () => supervisor?.workerHeaps() ?? Promise.resolve([]),
    reopenLogs: () => supervisor?.reopenLogs() ?? Promise.resolve(),
  };
  let admin: AdminServer;
  let health: AdminServer | undefined;
  let statsServer: AdminServer | undefined;
  try {
    admin = await startAdminServer({ address: bootstrap.adminAddress, port: bootstrap.adminPort, state, control, log: adminLog, isDraining: () => draining, routes: statsRoutes(stats) });
  } catch (e) {
    ctx.stderr(`${program}: ${(e as Error).message}\n`);
    return ExitCode.Failure;
  }
  if (bootstrap.healthPort !== undefined) {
    try {
      health = await startHealthServer({ port: bootstrap.healthPort, control, log: adminLog });
    } catch (e) {
      ctx.stderr(`${program}: ${(e as Error).message}\n`);
      await admin.close();
      return ExitCode.Failure;
    }
  }
  if (bootstrap.statsPort !== undefined) {
    // Istio's 15090 listener: only /stats/prometheus, on every address, for Prometheus and pilot-agent.
    try {
      statsServer = await startAdminServer({ address: statsAddress, port: bootstrap.statsPort, state, log: log.child("stats"), routes: [prometheusRoute(stats)], coreRoutes: false, label: "stats endpoint" });
    } catch (e) {
      ctx.stderr(`${program}: ${(e as Error).message}\n`);
      await admin.close();
      await health?.close();
      return ExitCode.Failure;
    }
  }

  try {
    supervisor = hooks.startSupervisor !== undefined ? await hooks.startSupervisor(bootstrap, log, (s) => (supervisor = s)) : await ctx.deps.startSupervisor(bootstrap, log);
  } catch (e) {
    const msg = (e as Error).message;
    ctx.stderr(`${program}: cannot start:${msg.includes("\n") ? "\n" : " "}${msg}\n`);
    await admin.close();
    await health?.close();
    await statsServer?.close();
    return ExitCode.Failure;
  }
  const sup = supervisor;
  quit = () => {
    log.info("/quitquitquit: exiting now");
    sup.quit().catch((e: unknown) => log.error(`quit failed: ${(e as Error).message}`));
  };

  let interrupt: (code: number) => void = () => {};
  const interrupted = new Promise<number>((resolve) => (interrupt = resolve));
  const startDrain = (signal: string): void => {
    if (draining) return;
    draining = true;
    const until = bootstrap.exitOnZeroActiveConnections
      ? `at least ${bootstrap.minimumDrainMs} ms, then until no connection is active`
      : `${bootstrap.drainTimeoutMs} ms`;
    log.info(`${signal}: draining inbound listeners (${until}); /ready answers 503 DRAINING`);
    sup.drain().catch((e: unknown) => log.error(`drain failed: ${(e as Error).message}`));
  };
  const onHup = (): void => {
    log.info("SIGHUP: reloading config");
    // The supervisor logs the outcome (and keeps the old snapshot on a refusal).
    sup.reload("SIGHUP").catch((e: unknown) => log.error(`reload (SIGHUP) failed: ${(e as Error).message}`));
  };
  const onTerm = (): void => startDrain("SIGTERM");
  const onInt = (): void => {
    if (!draining) return startDrain("SIGINT");
    log.warn("second SIGINT: exiting without waiting for the drain");
    interrupt(interruptedExitCode);
  };
  ctx.signals.on("SIGHUP", onHup);
  ctx.signals.on("SIGTERM", onTerm);
  ctx.signals.on("SIGINT", onInt);

  try {
    const first = await Promise.race([
      sup.ready.then(() => "ready" as const, (e: unknown) => e as Error),
      sup.exited.then(() => "exited" as const),
      interrupted.then(() => "interrupted" as const),
    ]);
    if (first === "ready") {
      ctx.stdout(startupLine(bootstrap, sup, admin.port, health?.port));
      if (statsServer !== undefined) log.info(`stats endpoint: http://${statsAddress}:${statsServer.port}/stats/prometheus`);
      hooks.onReady?.({ supervisor: sup, admin, log });
    } else if (first instanceof Error) {
      ctx.stderr(`${program}: cannot start: ${first.message}\n`);
      startDrain("start-up failure");
    }
    const code = await Promise.race([sup.exited, interrupted]);
    return first instanceof Error && code === 0 ? ExitCode.Failure : code;
  } finally {
    ctx.signals.off("SIGHUP", onHup);
    ctx.signals.off("SIGTERM", onTerm);
    ctx.signals.off("SIGINT", onInt);
    await admin.close();
    await health?.close();
    await statsServer?.close();
  }
}

/** `outrigger ready: listeners …; admin http://…/; N workers` — the one line an operator looks for. */
export function startupLine(bootstrap: Bootstrap, supervisor: Supervisor, adminPort: number, healthPort?: number): string {
  const snapshot = supervisor.admin.configDump().snapshot;
  const listeners = (snapshot?.listeners ?? []).map((l) => `${formatAddress(l)} (${l.trafficDirection.toLowerCase()})`);
  const adminUrl = `http://${formatAddress({ address: bootstrap.adminAddress, port: adminPort })}/`;
  const healthUrl = healthPort !== undefined ? `; health http://0.0.0.0:${healthPort}/healthz/ready` : "";
  return `outrigger ready: listeners ${listeners.length > 0 ? listeners.join(", ") : "none"}; admin ${adminUrl}${healthUrl}; ${plural(bootstrap.workers, "worker")}\n`;
}
