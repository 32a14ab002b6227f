// The telemetry factories a production worker runs with (tests pass their own to ProxyRuntime).
// Each kind of telemetry adds its factory here.

import type { Registry } from "prom-client";
import type { Logger } from "../common/logger.js";
import { AccessLogFiles } from "./access-log/access-log-files.js";
import { fileAccessLogFactory } from "./access-log/file-access-logger.js";
import { istioStatsFactory } from "./metrics/istio-stats-factory.js";
import type { NodeIdentity } from "./node-identity.js";
import type { StatsStore } from "./stats/stats-store.js";
import { workerTracing } from "./tracing/tracing-factory.js";
import type { TelemetryFactories } from "./worker-telemetry.js";

export interface WorkerTelemetryEnv {
  workerIndex: number;
  /** This proxy's identity (local labels of metrics, metadata exchange, span tags). */
  node: NodeIdentity;
  /** This worker's prom-client registry (Istio's standard metrics); the supervisor merges every worker's. */
  registry: Registry;
  /** This worker's Envoy-style stats. */
  stats: StatsStore;
  log: Logger;
  /** This worker's access-log files (flushed by `close`; the worker reopens them on admin /reopen_logs); default: a new set. */
  accessLogFiles?: AccessLogFiles;
}

export function productionTelemetryFactories(env: WorkerTelemetryEnv): TelemetryFactories {
  const tracing = workerTracing({ node: env.node, stats: env.stats, log: env.log });
  const accessLogFiles = env.accessLogFiles ?? new AccessLogFiles({ stats: env.stats, log: env.log });
  return {
    accessLogs: fileAccessLogFactory(accessLogFiles, env.stats),
    stats: istioStatsFactory({ registry: env.registry, node: env.node }),
    tracer: tracing.tracer,
    snapshotApplied: () => tracing.snapshotApplied(),
    // Access-log files wait at most 1 s for their last writes (a stuck pipe cannot hold the exit).
    close: async () => {
      await Promise.all([tracing.close(), accessLogFiles.close()]);
    },
  };
}
