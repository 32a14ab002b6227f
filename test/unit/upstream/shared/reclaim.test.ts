// A dead worker's circuit-breaker counts go back to the cluster: each worker keeps its share in its
// own record of the cluster buffer, and SharedStateOwner.reclaimWorker returns that share.

import { describe, expect, it } from "vitest";
import type { CircuitBreakers, Cluster } from "../../../../src/config/model/types.js";
import { allocateClusterShared, viewClusterShared, workerBase, W } from "../../../../src/upstream/shared/cluster-shared-layout.js";
import { SharedClusterResources, unlimitedBreakers } from "../../../../src/upstream/shared/shared-cluster-resources.js";
import { manualScheduler, SharedStateOwner } from "../../../../src/upstream/shared/shared-state-owner.js";
import { nextTurn, within } from "../../../helpers/wait.js";
import { FakeClock } from "./helpers.js";

function limits(over: Partial<CircuitBreakers>): CircuitBreakers {
  return { ...unlimitedBreakers, ...over };
}

function cluster(name: string, circuitBreakers: CircuitBreakers): Cluster {
  return {
    name,
    type: "STATIC",
    lbPolicy: "ROUND_ROBIN",
    connectTimeoutMs: 1000,
    circuitBreakers,
    loadAssignment: {
      endpoints: [{ locality: {}, priority: 0, lbEndpoints: [{ address: "10.0.0.1", port: 80, weight: 1, labels: {}, healthStatus: "HEALTHY" }] }],
    },
  };
}

const LIMITS = limits({ maxConnections: 2, maxPendingRequests: 3, maxRequests: 3, maxRetries: 2 });

function setup(workers = 2): { owner: SharedStateOwner; forWorker: (i: number) => SharedClusterResources } {
  const owner = new SharedStateOwner(new FakeClock(), manualScheduler, workers);
  const buffers = owner.prepare({ c: cluster("c", LIMITS) });
  // As each worker does: its own view of the same buffer, its own index.
  const forWorker = (i: number): SharedClusterResources => new SharedClusterResources(viewClusterShared(buffers["c"]!, 1)!, LIMITS, i);
  return { owner, forWorker };
}

describe("per-worker circuit-breaker counts", () => {
  it("buffers carry one record per worker; a buffer of another worker count does not map as this shape", () => {
    const v = viewClusterShared(allocateClusterShared(2, 3), 2)!;
    expect(v.workerSlots).toBe(3);
    expect(v.workers.length).toBe(3 * 4);
    expect(viewClusterShared(allocateClusterShared(1, 3), 2)).toBeUndefined();
  });

  it("acquire and release move the worker's own words with the global counters; refusals leave them alone", () => {
    const { owner, forWorker } = setup();
    const r = forWorker(1);
    const v = owner.view("c")!;
    expect(r.tryAcquireConnection()).toBe(true);
    expect(r.tryAcquireConnection()).toBe(true);
    expect(r.tryAcquireConnection()).toBe(false);
    expect(Atomics.load(v.workers, workerBase(1) + W.Connections)).toBe(2);
    r.releaseConnection();
    expect(Atomics.load(v.workers, workerBase(1) + W.Connections)).toBe(1);
    expect(r.connections).toBe(1);
    expect(Atomics.load(v.workers, workerBase(0) + W.Connections)).toBe(0);
  });

  it("reclaimWorker(1) returns worker 1's requests, pending, connections and retries; worker 0's stay", () => {
    const { owner, forWorker } = setup();
    const w0 = forWorker(0);
    const w1 = forWorker(1);
    expect(w0.tryAcquireRequest()).toBe(true);
    expect(w0.tryAcquireConnection()).toBe(true);
    expect(w0.tryAcquirePending()).toBe(true);
    expect(w1.tryAcquireRequest()).toBe(true);
    expect(w1.tryAcquireRequest()).toBe(true);
    expect(w1.tryAcquireConnection()).toBe(true);
    expect(w1.tryAcquirePending()).toBe(true);
    expect(w1.tryAcquirePending()).toBe(true);
    expect(w1.tryAcquireRetry()).toBe(true);
    // The cluster is full: maxRequests 3, maxConnections 2, maxPendingRequests 3.
    expect(w0.tryAcquireRequest()).toBe(false);
    expect(w0.tryAcquireConnection()).toBe(false);
    expect(w0.tryAcquirePending()).toBe(false);

    expect(owner.reclaimWorker(1)).toEqual({ requests: 2, pending: 2, connections: 1, retries: 1 });
    expect({ req: w0.requests, pend: w0.pending, conn: w0.connections, retry: w0.retries }).toEqual({ req: 1, pend: 1, conn: 1, retry: 0 });
    // A second reclaim has nothing left to give.
    expect(owner.reclaimWorker(1)).toEqual({ requests: 0, pending: 0, connections: 0, retries: 0 });

    // The freed capacity is usable again, and worker 0's own counts still release normally.
    expect(w0.tryAcquireConnection()).toBe(true);
    expect(w0.tryAcquireRequest()).toBe(true);
    w0.releaseConnection();
    w0.releaseConnection();
    expect(w0.connections).toBe(0);
    expect(owner.reclaimWorker(0)).toEqual({ requests: 2, pending: 1, connections: 0, retries: 0 });
    expect(w0.requests).toBe(0);
    expect(w0.pending).toBe(0);
  });

  it("a replacement worker with the reclaimed index counts from zero", () => {
    const { owner, forWorker } = setup();
    const dead = forWorker(1);
    expect(dead.tryAcquireConnection()).toBe(true);
    expect(dead.tryAcquireConnection()).toBe(true);
    owner.reclaimWorker(1);
    const fresh = forWorker(1);
    expect(fresh.tryAcquireConnection()).toBe(true);
    expect(fresh.connections).toBe(1);
    fresh.releaseConnection();
    expect(fresh.connections).toBe(0);
    expect(owner.reclaimWorker(1).connections).toBe(0);
  });

  it("reclaiming wakes a waiter on the connection generation word", async () => {
    const { owner, forWorker } = setup();
    const w0 = forWorker(0);
    const w1 = forWorker(1);
    expect(w1.tryAcquireConnection()).toBe(true);
    expect(w1.tryAcquireConnection()).toBe(true);
    expect(w0.tryAcquireConnection()).toBe(false);
    const seen = w0.generation;
    const wait = w0.waitChange(seen);
    expect(wait).toBeDefined();
    let woken = false;
    void wait!.then(() => (woken = true));
    // Nothing changed yet, so nothing may wake it. There is no event for "not woken": a wait
    // that settles without a change settles at once (a promise already resolved, or the
    // "not-equal" answer), so a turn of the event loop is enough to see it.
    await nextTurn();
    expect(woken).toBe(false);
    owner.reclaimWorker(1);
    await within(wait!, 5_000, "the waiter's wake-up");
    expect(woken).toBe(true);
    expect(w0.generation).not.toBe(seen);
    expect(w0.tryAcquireConnection()).toBe(true);
  });

  it("nothing to reclaim: no wake-up; an index without a record is ignored", () => {
    const { owner, forWorker } = setup();
    const g = forWorker(0).generation;
    expect(owner.reclaimWorker(1)).toEqual({ requests: 0, pending: 0, connections: 0, retries: 0 });
    expect(owner.reclaimWorker(7)).toEqual({ requests: 0, pending: 0, connections: 0, retries: 0 });
    expect(forWorker(0).generation).toBe(g);
  });

  it("unlimited counters cost no Atomics: the worker's words stay at zero", () => {
    const owner = new SharedStateOwner(new FakeClock(), manualScheduler, 2);
    const buffers = owner.prepare({ c: cluster("c", unlimitedBreakers) });
    const v = viewClusterShared(buffers["c"]!, 1)!;
    const r = new SharedClusterResources(v, unlimitedBreakers, 1);
    for (let i = 0; i < 5; i++) {
      expect(r.tryAcquireRequest()).toBe(true);
      expect(r.tryAcquireConnection()).toBe(true);
      expect(r.tryAcquireRetry()).toBe(true);
    }
    expect([...v.workers]).toEqual(new Array(8).fill(0));
    expect(r.requests).toBe(0);
  });
});
