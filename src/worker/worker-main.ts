// Worker thread entry: owns one ProxyRuntime and answers the supervisor's typed messages.

import { parentPort, workerData } from "node:worker_threads";
import { createLogger } from "../common/logger.js";
import { mathRandom } from "../common/random.js";
import { ProxyRuntime } from "./proxy-runtime.js";
import type { FromWorker, ToWorker, WorkerInit } from "./worker-messages.js";

const init = workerData as WorkerInit;
const log = createLogger(init.bootstrap.logLevel, `worker-${init.workerIndex}`);
const port = parentPort!;
const post = (m: FromWorker): void => port.postMessage(m);

const runtime = new ProxyRuntime({
  limits: init.bootstrap.limits,
  random: mathRandom,
  log,
  workerIndex: init.workerIndex,
  onStream: () => {},
  reusePort: init.bootstrap.reusePort,
  activeConnections: init.activeConnections,
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
    case "drain":
      void runtime.drain(m.timeoutMs).then(() => {
        post({ type: "drained" });
        port.close();
      });
      return;
  }
});
