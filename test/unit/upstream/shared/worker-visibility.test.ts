// Cross-thread visibility: two worker threads map one cluster's SharedArrayBuffer; limits hold
// across them (never multiplied by the thread count) and an ejection by one is seen by the other.

import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { allocateClusterShared, H, hostBase, HW, viewClusterShared } from "../../../../src/upstream/shared/cluster-shared-layout.js";
import { SharedClusterResources } from "../../../../src/upstream/shared/shared-cluster-resources.js";

const WORDS = { REQUESTS: H.Requests, ACTIVE_EJECTIONS: H.ActiveEjections, HOST0_STATE: hostBase(0) + HW.State };

// Plain JS (worker threads here cannot load TypeScript), given the layout's word indexes.
const WORKER_SRC = `
const { parentPort, workerData } = require("node:worker_threads");
const { buffer, role, words } = workerData;
const i32 = new Int32Array(buffer);
const { REQUESTS, ACTIVE_EJECTIONS, HOST0_STATE } = words;
function tryInc(i, max) {
  for (;;) {
    const cur = Atomics.load(i32, i);
    if (cur >= max) return false;
    if (Atomics.compareExchange(i32, i, cur, cur + 1) === cur) return true;
  }
}
let granted = 0;
for (let k = 0; k < 100000; k++) if (tryInc(REQUESTS, 1000)) granted++;
if (role === "ejector") {
  Atomics.store(i32, HOST0_STATE, 1);
  Atomics.add(i32, ACTIVE_EJECTIONS, 1);
  Atomics.notify(i32, HOST0_STATE);
  parentPort.postMessage({ granted });
} else {
  // Wait (blocking is fine in a worker) until the other thread ejects host 0.
  while (Atomics.load(i32, HOST0_STATE) === 0) Atomics.wait(i32, HOST0_STATE, 0, 1000);
  parentPort.postMessage({ granted, sawEjection: Atomics.load(i32, HOST0_STATE) === 1 });
}
`;

function run(buffer: SharedArrayBuffer, role: string): Promise<{ granted: number; sawEjection?: boolean }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER_SRC, { eval: true, workerData: { buffer, role, words: WORDS } });
    w.once("message", (m) => {
      resolve(m as { granted: number; sawEjection?: boolean });
      void w.terminate();
    });
    w.once("error", reject);
  });
}

describe("shared cluster state across worker threads", () => {
  it("a maxRequests of 1000 grants exactly 1000 across two threads, and an ejection is seen by both", async () => {
    const buffer = allocateClusterShared(2);
    const [a, b] = await Promise.all([run(buffer, "ejector"), run(buffer, "observer")]);
    expect(a.granted + b.granted).toBe(1000);
    expect(b.sawEjection).toBe(true);
    // The main thread's typed API sees the same state.
    const v = viewClusterShared(buffer, 2)!;
    const res = new SharedClusterResources(v, { maxConnections: 1, maxPendingRequests: 1, maxRequests: 1000, maxRetries: 1 });
    expect(res.requests).toBe(1000);
    expect(res.tryAcquireRequest()).toBe(false);
    expect(Atomics.load(v.i32, H.ActiveEjections)).toBe(1);
  });
});
