// applyWorkerV8Flags: V8 flags the worker isolates must be created with. V8 flags are process-wide
// and some are read only when an isolate is created, so the supervisor applies them before it
// spawns a worker (worker-main.ts is too late: its isolate already exists).

import { setFlagsFromString } from "node:v8";

/**
 * No concurrent TurboFan recompilation: a worker optimizes hot functions on its own thread.
 * Concurrent jobs run on V8's platform threads and their compilation zones (about 14 MiB at peak
 * for the request path, measured with v8.getHeapStatistics().peak_malloced_memory) stay resident
 * in malloc after the jobs finish; compiled on the worker's thread the peak is 2.5 MiB. Measured,
 * 1 worker, wrk -c100 10 s, keep-alive upstream: RSS after load 104-106 -> 87-88 MiB. The cost is
 * that each optimization (a few ms, mostly in the first seconds under load, and again after a
 * deoptimization) runs on the worker's event loop instead of beside it; CPU per request and
 * throughput after warm-up were unchanged within the run-to-run noise. The supervisor's own
 * isolate exists before this is set and keeps compiling concurrently.
 */
const WORKER_V8_FLAGS = "--no-concurrent-recompilation";

export function applyWorkerV8Flags(): void {
  setFlagsFromString(WORKER_V8_FLAGS);
}
