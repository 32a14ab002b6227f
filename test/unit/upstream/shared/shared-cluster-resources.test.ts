// SharedClusterResources and SharedStateOwner: circuit-breaker limits and release, unlimited
// defaults costing nothing, and buffers kept across reloads for unchanged clusters.

import { describe, expect, it } from "vitest";
import type { CircuitBreakers, Cluster } from "../../../../src/config/model/types.js";
import { H, hostBase, HW } from "../../../../src/upstream/shared/cluster-shared-layout.js";
import { ConnectionGate } from "../../../../src/upstream/shared/connection-gate.js";
import { runOutlierInterval } from "../../../../src/upstream/shared/outlier-detector.js";
import { ISTIO_DEFAULT_THRESHOLD, SharedClusterResources } from "../../../../src/upstream/shared/shared-cluster-resources.js";
import { manualScheduler, SharedStateOwner, type IntervalScheduler } from "../../../../src/upstream/shared/shared-state-owner.js";
import { within } from "../../../helpers/wait.js";
import { FakeClock, outlierConfig, view } from "./helpers.js";

const U = ISTIO_DEFAULT_THRESHOLD;
function limits(over: Partial<CircuitBreakers>): CircuitBreakers {
  return { maxConnections: U, maxPendingRequests: U, maxRequests: U, maxRetries: U, ...over };
}

describe("SharedClusterResources", () => {
  it("maxRequests: refuses at the limit, admits again after a release", () => {
    const r = new SharedClusterResources(view(1), limits({ maxRequests: 2 }));
    expect([r.tryAcquireRequest(), r.tryAcquireRequest(), r.tryAcquireRequest()]).toEqual([true, true, false]);
    r.releaseRequest();
    expect(r.tryAcquireRequest()).toBe(true);
    expect(r.requests).toBe(2);
  });

  it("maxRetries is counted separately from requests", () => {
    const r = new SharedClusterResources(view(1), limits({ maxRetries: 1, maxRequests: 1 }));
    expect(r.tryAcquireRequest()).toBe(true);
    expect(r.tryAcquireRetry()).toBe(true);
    expect(r.tryAcquireRetry()).toBe(false);
    r.releaseRetry();
    expect(r.tryAcquireRetry()).toBe(true);
    expect(r.retries).toBe(1);
  });

  it("maxConnections and maxPendingRequests", () => {
    const r = new SharedClusterResources(view(1), limits({ maxConnections: 1, maxPendingRequests: 1 }));
    expect(r.tryAcquireConnection()).toBe(true);
    expect(r.tryAcquireConnection()).toBe(false);
    expect(r.tryAcquirePending()).toBe(true);
    expect(r.tryAcquirePending()).toBe(false);
    r.releasePending();
    r.releaseConnection();
    expect([r.connections, r.pending]).toEqual([0, 0]);
  });

  it("a limit of 0 refuses everything (Envoy: 0 is a real limit)", () => {
    const r = new SharedClusterResources(view(1), limits({ maxRequests: 0 }));
    expect(r.tryAcquireRequest()).toBe(false);
  });

  it("Istio's 4294967295 defaults (or no circuit breakers) are unlimited and never touch memory", () => {
    const v = view(1);
    const r = new SharedClusterResources(v, undefined);
    for (let i = 0; i < 1000; i++) {
      expect(r.tryAcquireRequest()).toBe(true);
      expect(r.tryAcquireRetry()).toBe(true);
      expect(r.tryAcquireConnection()).toBe(true);
    }
    expect([v.i32[H.Requests], v.i32[H.Retries], v.i32[H.Connections]]).toEqual([0, 0, 0]);
    expect(r.connectionsLimited).toBe(false);
  });

  it("releases never drive a counter below zero", () => {
    const r = new SharedClusterResources(view(1), limits({ maxRequests: 1 }));
    r.releaseRequest();
    expect(r.requests).toBe(0);
    expect(r.tryAcquireRequest()).toBe(true);
    expect(r.tryAcquireRequest()).toBe(false);
  });

  it("two views of one buffer (two workers) share the limits", () => {
    const v = view(1);
    const a = new SharedClusterResources(v, limits({ maxRequests: 3 }));
    const b = new SharedClusterResources(v, limits({ maxRequests: 3 }));
    expect([a.tryAcquireRequest(), b.tryAcquireRequest(), a.tryAcquireRequest(), b.tryAcquireRequest()]).toEqual([true, true, true, false]);
  });
});

describe("ConnectionGate", () => {
  it("queueing pokes the generation so other workers can give idle connections back", async () => {
    const v = view(1);
    const res = new SharedClusterResources(v, limits({ maxConnections: 1, maxPendingRequests: 1 }));
    const gate = new ConnectionGate(res);
    let closedIdle = 0;
    let idle = 1;
    let gaveBack!: () => void;
    const givenBack = new Promise<void>((r) => (gaveBack = r));
    gate.register({ serveWaiters() {}, closeIdle: (n) => {
      const c = Math.min(n, idle);
      idle -= c;
      closedIdle += c;
      if (c > 0) {
        res.releaseConnection();
        gaveBack();
      }
      return c;
    } });
    expect(gate.tryOpen()).toBe(true);
    expect(gate.tryOpen()).toBe(false);
    const g0 = res.generation;
    expect(gate.tryQueue()).toBe(true);
    expect(gate.tryQueue()).toBe(false);
    expect(res.generation).toBeGreaterThan(g0);
    // The wake-up crosses Atomics.waitAsync (as it would between threads): wait for the hand-back.
    await within(givenBack, 5_000, "the idle connection given back");
    expect(closedIdle).toBe(1);
    expect(res.connections).toBe(0);
    gate.close();
  });
});

function cluster(name: string, over: Partial<Cluster> = {}): Cluster {
  return {
    name,
    type: "STATIC",
    lbPolicy: "ROUND_ROBIN",
    connectTimeoutMs: 1000,
    loadAssignment: {
      endpoints: [
        {
          locality: {},
          priority: 0,
          lbEndpoints: [
            { address: "10.0.0.1", port: 80, weight: 1, labels: {}, healthStatus: "HEALTHY" },
            { address: "10.0.0.2", port: 80, weight: 1, labels: {}, healthStatus: "HEALTHY" },
          ],
        },
      ],
    },
    ...over,
  };
}

describe("SharedStateOwner", () => {
  it("keeps buffers of unchanged clusters across reloads and replaces changed ones", () => {
    const owner = new SharedStateOwner(new FakeClock(), manualScheduler);
    const a = cluster("a");
    const b = cluster("b");
    const first = owner.prepare({ a, b });
    const second = owner.prepare({ a: cluster("a"), b: cluster("b", { connectTimeoutMs: 5 }) });
    expect(second.a).toBe(first.a);
    expect(second.b).not.toBe(first.b);
    const third = owner.prepare({ b: cluster("b", { connectTimeoutMs: 5 }) });
    expect(Object.keys(third)).toEqual(["b"]);
    expect(third.b).toBe(second.b);
    owner.close();
  });

  it("runs each outlier-detecting cluster's interval on its own schedule (exactly one runner)", () => {
    const clock = new FakeClock();
    const timers: Array<{ ms: number; fn: () => void; cancelled: boolean }> = [];
    const scheduler: IntervalScheduler = {
      every(ms, fn) {
        const t = { ms, fn, cancelled: false };
        timers.push(t);
        return { cancel: () => (t.cancelled = true) };
      },
    };
    const owner = new SharedStateOwner(clock, scheduler);
    const od = outlierConfig({ intervalMs: 5_000, consecutive5xx: 1 });
    owner.prepare({ plain: cluster("plain"), od: cluster("od", { outlierDetection: od }) });
    expect(timers.map((t) => t.ms)).toEqual([5_000]);
    // Eject slot 0 directly in the shared memory, then let the timer uneject it.
    const v = owner.view("od")!;
    v.i32[hostBase(0) + HW.State] = 1; // host 0 ejected
    v.i32[H.ActiveEjections] = 1;
    v.i32[hostBase(0) + HW.Backoff] = 1;
    v.f64[0] = clock.now();
    clock.advance(30_000);
    timers[0]!.fn();
    expect(v.i32[hostBase(0) + HW.State]).toBe(0);
    expect(v.i32[H.ActiveEjections]).toBe(0);
    // A changed cluster gets a new timer; the old one is cancelled.
    owner.prepare({ od: cluster("od", { outlierDetection: { ...od, intervalMs: 7_000 } }) });
    expect(timers.map((t) => [t.ms, t.cancelled])).toEqual([
      [5_000, true],
      [7_000, false],
    ]);
    owner.close();
    expect(timers[1]!.cancelled).toBe(true);
    // runIntervals is the same work, on demand.
    expect(() => runOutlierInterval(v, od, clock.now())).not.toThrow();
  });
});
