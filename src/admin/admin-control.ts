// What the admin API may do to the running proxy beyond reading its state: the process-level
// switches (health check, drain, quit, log levels) that `outrigger run` owns, reached through the
// supervisor for the workers. One object per process, built by the run command.

import type { Bootstrap } from "../bootstrap/bootstrap.js";
import type { Json } from "../config/envoy/decoded.js";
import type { LogLevel } from "../common/logger.js";
import type { DrainListenersOptions, WorkerHeap } from "../supervisor/supervisor-api.js";
import type { ServerState } from "./server-state.js";

export interface AdminControl {
  readonly bootstrap: Bootstrap;
  /** Run from an Envoy bootstrap: its node and Envoy's command line options, for /server_info. */
  readonly envoy?: { node: Json; commandLineOptions: Json };
  /** Process start, ms since the epoch (server_info uptime). */
  readonly startedAtMs: number;
  serverState(): ServerState;
  /** Why the proxy is not ready (for :15021/healthz/ready), or undefined when it is. */
  notReadyReason(): string | undefined;
  /** Envoy's /healthcheck/fail and /healthcheck/ok. */
  setHealthCheckFailed(failed: boolean): void;
  drainListeners(opts: DrainListenersOptions): Promise<void>;
  /** Envoy's /quitquitquit: called after the response is written. */
  quit(): void;
  /** Envoy's logger registry: each logger and its level. */
  loggers(): Array<{ name: string; level: LogLevel }>;
  /** Set the named loggers' levels (every name is known: checked by the caller). */
  setLogLevels(changes: ReadonlyMap<string, LogLevel>): Promise<void>;
  workerHeaps(): Promise<WorkerHeap[]>;
  reopenLogs(): Promise<void>;
}
