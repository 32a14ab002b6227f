// Typed messages between the supervisor (main thread) and data-path workers.

import type { Bootstrap } from "../bootstrap/bootstrap.js";
import type { LogLevel } from "../common/logger.js";
import type { Snapshot } from "../config/model/types.js";
import type { WorkerStatsReply } from "../observability/stats/worker-stats-reply.js";
import type { SharedClusterBuffers } from "../upstream/shared/cluster-shared-layout.js";

export interface WorkerInit {
  bootstrap: Bootstrap;
  workerIndex: number;
  /**
   * Open downstream connections, one slot per worker index (SharedArrayBuffer): the worker keeps
   * its slot current, the supervisor sums them for exit-on-zero-active-connections.
   */
  activeConnections: Int32Array;
}

export type ToWorker =
  /** `shared`: each cluster's SharedArrayBuffer (postMessage shares, never copies, them). */
  | { type: "apply"; seq: number; snapshot: Snapshot; shared: SharedClusterBuffers }
  /** Graceful drain (Envoy's drain_listeners?graceful): listeners keep accepting, close after each response. */
  | { type: "drain-listeners"; inboundOnly: boolean }
  /** Envoy's stopListeners (drain_listeners after its drain period): stop accepting, keep serving open connections. */
  | { type: "stop-listeners"; inboundOnly: boolean }
  /** The admin API's /reopen_logs: every access-log file is reopened before its next write. */
  | { type: "reopen-logs" }
  /** The admin API's /logging: this worker's log level from now on. */
  | { type: "log-level"; level: LogLevel }
  /** Stop: close listeners, give in-flight exchanges `timeoutMs`, close the rest, exit. */
  | { type: "drain"; timeoutMs: number }
  /** A scrape: answer with `stats-reply` and the same `seq`. */
  | { type: "stats"; seq: number };

export type FromWorker =
  | { type: "applied"; seq: number; ok: boolean; errors: string[]; bound: string[] }
  /** The listeners asked to drain gracefully now answer with `connection: close`. */
  | { type: "draining" }
  | { type: "drained" }
  | { type: "stopped-listeners" }
  | { type: "logs-reopened" }
  /** The worker's log level after a `log-level` message. */
  | { type: "log-level"; level: LogLevel }
  | { type: "stats-reply"; seq: number; reply: WorkerStatsReply };
