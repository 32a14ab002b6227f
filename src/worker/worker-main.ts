// Worker thread entry: owns one ProxyRuntime and answers the supervisor's typed messages.

import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { parentPort, workerData } from "node:worker_threads";
import { createLogger } from "../common/logger.js";
import { mathRandom } from "../common/random.js";
import { Registry } from "prom-client";
import { StatsStore } from "../observability/stats/stats-store.js";
import { AccessLogFiles } from "../observability/access-log/access-log-files.js";
import { productionTelemetryFactories } from "../observability/telemetry-factories.js";
import { ProxyRuntime } from "./proxy-runtime.js";
import type { FromWorker, ToWorker, WorkerInit } from "./worker-messages.js";

/**
 * 10%: old space may grow to 1.1x what survived the last full GC before the next one (V8's own
 * factor goes up to 4x on small heaps). With the small nursery (supervisor.ts) requests still in
 * flight at a scavenge are promoted, so when requests live longer (an upstream that closes every
 * connection, a CPU-starved box) the old space fills with promoted garbage: live set ~6 MiB, but
 * V8 let it reach 33-40 MiB before collecting. Measured, 1 worker, wrk -c100 10 s, upstream closing
 * each connection: 126 -> 109 MiB RSS after load (worker heap peak 40 -> 20 MiB); keep-alive
 * upstream unchanged (92-99 MiB), CPU per request within the noise. The flag is process-wide.
 */
const WORKER_HEAP_GROWING_PERCENT = 10;
setFlagsFromString(`--heap-growing-percent=${WORKER_HEAP_GROWING_PERCENT}`);

const init = workerData as WorkerInit;
const log = createLogger(init.bootstrap.logLevel, `worker-${init.workerIndex}`);
const port = parentPort!;
const post = (m: FromWorker): void => port.postMessage(m);

/** This worker's metrics: Istio's standard metrics (prom-client) and Envoy-style stats. */
const registry = new Registry();
const stats = new StatsStore();

/** This worker's access-log files (reopened on the admin API's /reopen_logs). */
const flush = init.bootstrap.accessLogFlush;
const accessLogFiles = new AccessLogFiles({ stats, log, ...(flush !== undefined ? { flushIntervalMs: flush.intervalMs, minFlushBytes: flush.minBytes } : {}) });

const runtime = new ProxyRuntime({
  limits: init.bootstrap.limits,
  random: mathRandom,
  log,
  workerIndex: init.workerIndex,
  // Production telemetry over this worker's registry and stats; the metadata exchange sends this identity.
  node: init.bootstrap.node,
  registry,
  // Built here rather than by the runtime so /reopen_logs can reach this worker's access-log files.
  telemetry: productionTelemetryFactories({ workerIndex: init.workerIndex, node: init.bootstrap.node, registry, stats, log, accessLogFiles }),
  stats,
  reusePort: init.bootstrap.reusePort,
  activeConnections: init.activeConnections,
  // A listener a snapshot removes drains for the drain period (Envoy's --drain-time-s).
  listenerDrainTimeMs: init.bootstrap.drainTimeoutMs,
});

port.on("message", (m: ToWorker) => {
  switch (m.type) {
    case "apply":
      void runtime.apply(m.snapshot, m.shared).then(
        (r) => post({ type: "applied", seq: m.seq, ok: r.ok, errors: r.errors, bound: r.bound }),
        (e: unknown) => post({ type: "applied", seq: m.seq, ok: false, errors: [String(e)], bound: runtime.boundAddresses() }),
      );
      return;
    case "drain-listeners":
      runtime.drainListeners(m.inboundOnly);
      post({ type: "draining" });
      return;
    case "stop-listeners":
      runtime.stopListeners(m.inboundOnly);
      post({ type: "stopped-listeners" });
      return;
    case "reopen-logs":
      accessLogFiles.reopen();
      post({ type: "logs-reopened" });
      return;
    case "log-level":
      log.setLevel(m.level);
      // Logged at the new level itself: the line shows only when the change took effect.
      if (m.level !== "off") log[m.level](`log level set to ${m.level} (admin /logging)`);
      post({ type: "log-level", level: log.level });
      return;
    case "stats":
      // Istio's metrics (prom-client JSON) and the Envoy stats, for the supervisor to merge.
      void registry.getMetricsAsJSON().then((istio) => {
        const heap = getHeapStatistics();
        post({ type: "stats-reply", seq: m.seq, reply: { envoy: stats.snapshot(), istio, heapUsed: heap.used_heap_size, heapTotal: heap.total_heap_size } });
      });
      return;
    case "drain":
      void runtime.drain(m.timeoutMs).then(() => {
        post({ type: "drained" });
        port.close();
      });
      return;
  }
});
