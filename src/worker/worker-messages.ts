// Typed messages between the supervisor (main thread) and data-path workers.

import type { Bootstrap } from "../bootstrap/bootstrap.js";
import type { Snapshot } from "../config/model/types.js";
import type { SharedClusterBuffers } from "../upstream/shared/cluster-shared-layout.js";

export interface WorkerInit {
  bootstrap: Bootstrap;
  workerIndex: number;
}

export type ToWorker =
  /** `shared`: each cluster's SharedArrayBuffer (postMessage shares, never copies, them). */
  | { type: "apply"; seq: number; snapshot: Snapshot; shared: SharedClusterBuffers }
  | { type: "drain"; timeoutMs: number };

export type FromWorker =
  | { type: "applied"; seq: number; ok: boolean; errors: string[]; bound: string[] }
  | { type: "drained" }
  | { type: "stats"; requests: number };
