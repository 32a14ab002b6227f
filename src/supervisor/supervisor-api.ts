// The supervisor's public face: what the CLI and the admin server see of a running proxy.

import type { ClusterStatus } from "../admin/cluster-status.js";
import type { MergedStats } from "../admin/stats-routes.js";
import type { Snapshot } from "../config/model/types.js";

export interface AdminState {
  /** True once every listener of the current snapshot is bound in every worker. */
  isReady(): boolean;
  /** The current snapshot (the Envoy-shaped model) plus bootstrap facts, for /config_dump. */
  configDump(): { bootstrap: unknown; snapshot: Snapshot | null; lastReloadError: string | null };
  /** Every cluster's circuit-breaker use and host health across all workers, for /clusters. */
  clusters?(): ClusterStatus[];
  /** Every worker's stats and metrics merged with the supervisor's (`server.*`, config updates), for /stats. */
  stats?(): Promise<MergedStats>;
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
  /** Resolves with the exit code when the supervisor has stopped (after drain or a fatal error). */
  readonly exited: Promise<number>;
}
