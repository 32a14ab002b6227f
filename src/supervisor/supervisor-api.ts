// The supervisor's public face: what the CLI and the admin server see of a running proxy.

import type { ClusterStatus } from "../admin/cluster-status.js";
import type { LogLevel } from "../common/logger.js";
import type { MergedStats } from "../admin/stats-routes.js";
import type { ConfigDumpInput } from "../admin/config-dump/config-dump.js";
import type { HostStatsSnapshot } from "../observability/stats/host-stats.js";

export interface AdminState {
  /** True once every listener of the current snapshot is bound in every worker. */
  isReady(): boolean;
  /** The current snapshot (the Envoy-shaped model) plus bootstrap facts, for /config_dump. */
  configDump(): ConfigDumpInput;
  /** Every cluster's circuit-breaker use and host health across all workers, for /clusters. */
  clusters?(): ClusterStatus[];
  /** Every worker's per-host stats summed (Envoy's HostStats: rq_total, cx_active, …), for /clusters. */
  hostStats?(): Promise<HostStatsSnapshot>;
  /** Every worker's stats and metrics merged with the supervisor's (`server.*`, config updates), for /stats. */
  stats?(): Promise<MergedStats>;
}

/** Envoy's `drain_listeners` query: which listeners, and whether to wait the drain period first. */
export interface DrainListenersOptions {
  /** `?inboundonly`: only listeners with traffic_direction INBOUND. */
  inboundOnly: boolean;
  /** `?graceful`: keep accepting (and closing after each response) for the drain period, then stop. */
  graceful: boolean;
  /** `?skip_exit`: never stop the listeners, only drain them. */
  skipExit: boolean;
}

/** V8 heap use of one worker thread, bytes. */
export interface WorkerHeap {
  used: number;
  total: number;
  /** Off-heap memory the worker's isolate holds (its Buffers and ArrayBuffers: request and response bodies live here). */
  external: number;
}

export interface Supervisor {
  readonly admin: AdminState;
  /** Resolves once every worker has bound every listener of the first snapshot. */
  readonly ready: Promise<void>;
  /** Re-read config sources; a bad config is refused (logged) and the old one keeps serving. */
  reload(reason: string): Promise<{ ok: boolean; errors: string[] }>;
  /**
   * Istio's sidecar shutdown: inbound listeners drain gracefully (connection: close, still
   * accepting) while outbound serves, for the drain duration (or until no connection is left with
   * exit-on-zero-active-connections); then close what is left and stop the workers.
   */
  drain(): Promise<void>;
  /**
   * Envoy's admin `drain_listeners`: the listeners drain (HTTP/1 responses close their
   * connection); with `graceful` they keep accepting for the drain period first; then they stop
   * accepting unless `skipExit`. The process keeps running. Resolves once every worker drains.
   */
  drainListeners(opts: DrainListenersOptions): Promise<void>;
  /** Envoy's `/quitquitquit`: stop the workers now (no drain) and exit 0. */
  quit(): Promise<void>;
  /** Every worker's log level from now on; resolves with the level each worker reports. */
  setWorkerLogLevel(level: LogLevel): Promise<LogLevel[]>;
  /** The workers' log level (as they last reported it). */
  workerLogLevel(): LogLevel;
  /** Each live worker's V8 heap (for `/memory`). */
  workerHeaps(): Promise<WorkerHeap[]>;
  /**
   * Envoy's `/reopen_logs`: every worker reopens its access-log files before their next write
   * (after logrotate moved them). Resolves once every worker has been told.
   */
  reopenLogs(): Promise<void>;
  /** Resolves with the exit code when the supervisor has stopped (after drain or a fatal error). */
  readonly exited: Promise<number>;
}
