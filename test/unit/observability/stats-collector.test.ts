// The supervisor's merge: sums over workers, one collection for concurrent scrapes, a stuck worker
// never hangs a scrape (its last answer counts), and a dead worker's counters stay in the sums.

import { describe, expect, it } from "vitest";
import { StatsCollector, type CollectorTimers, type WorkerStatsPort } from "../../../src/observability/stats/stats-collector.js";
import { StatsStore } from "../../../src/observability/stats/stats-store.js";
import type { WorkerStatsReply } from "../../../src/observability/stats/worker-stats-reply.js";
import { nextTurn } from "../../helpers/wait.js";

/** Timers fired by hand (the deadline without waiting for it). */
function manualTimers(): CollectorTimers & { fireAll(): void; pending(): number } {
  const timers = new Set<{ fn: () => void }>();
  return {
    set: (fn) => {
      const t = { fn };
      timers.add(t);
      return t;
    },
    clear: (h) => void timers.delete(h as { fn: () => void }),
    fireAll: () => {
      for (const t of [...timers]) {
        timers.delete(t);
        t.fn();
      }
    },
    pending: () => timers.size,
  };
}

function reply(store: StatsStore): WorkerStatsReply {
  return { envoy: store.snapshot(), istio: [], heapUsed: 10, heapTotal: 20 };
}

/** A worker whose answers the test releases (or never does). */
function worker(index: number, store: StatsStore): WorkerStatsPort & { asked: number[]; answer(): void; stuck: boolean } {
  const waiting: ((r: WorkerStatsReply) => void)[] = [];
  const w = {
    index,
    asked: [] as number[],
    stuck: false,
    request(seq: number): Promise<WorkerStatsReply> {
      w.asked.push(seq);
      return new Promise((resolve) => {
        if (w.stuck) waiting.push(resolve);
        else resolve(reply(store));
      });
    },
    answer() {
      for (const r of waiting.splice(0)) r(reply(store));
    },
  };
  return w;
}

describe("StatsCollector", () => {
  it("sums counters, gauges and histograms of every worker; concurrent scrapes share one collection", async () => {
    const a = new StatsStore();
    const b = new StatsStore();
    a.counter("cluster.c.upstream_rq_total").inc(3);
    b.counter("cluster.c.upstream_rq_total").inc(4);
    a.gauge("cluster.c.upstream_cx_active").add(1);
    b.gauge("cluster.c.upstream_cx_active").add(2);
    a.histogram("cluster.c.upstream_rq_time").record(3);
    b.histogram("cluster.c.upstream_rq_time").record(700);
    b.counter("cluster.c.upstream_rq_timeout");
    const wa = worker(0, a);
    const wb = worker(1, b);
    const c = new StatsCollector(() => [wa, wb], 2_000, manualTimers());
    const [r1, r2] = await Promise.all([c.collect(), c.collect()]);
    expect(r1).toBe(r2);
    expect(wa.asked).toEqual([1]);
    expect(r1.envoy.counters["cluster.c.upstream_rq_total"]).toBe(7);
    expect(r1.envoy.gauges["cluster.c.upstream_cx_active"]).toBe(3);
    const h = r1.envoy.histograms["cluster.c.upstream_rq_time"]!;
    expect([h.count, h.sum, h.counts[2], h.counts[9]]).toEqual([2, 703, 1, 1]);
    expect(r1.envoy.unused).toEqual(["cluster.c.upstream_rq_timeout"]);
    expect([r1.heapUsed, r1.heapTotal, r1.late]).toEqual([20, 40, 0]);
    // The next scrape asks again with the next sequence number.
    await c.collect();
    expect(wb.asked).toEqual([1, 2]);
  });

  it("a stuck worker does not hang the scrape: past the deadline its last answer counts, and the miss is counted", async () => {
    const a = new StatsStore();
    const b = new StatsStore();
    a.counter("x").inc(1);
    b.counter("x").inc(10);
    const timers = manualTimers();
    const wa = worker(0, a);
    const wb = worker(1, b);
    const c = new StatsCollector(() => [wa, wb], 2_000, timers);
    expect((await c.collect()).envoy.counters["x"]).toBe(11);
    wb.stuck = true;
    b.counter("x").inc(5);
    const pending = c.collect();
    await nextTurn();
    // The answering worker's deadline is cleared: only the stuck worker's is left running.
    expect(timers.pending()).toBe(1);
    timers.fireAll();
    const r = await pending;
    expect(r.late).toBe(1);
    expect(c.lateTotal).toBe(1);
    // Its previous answer (10), never less: counters do not go backwards.
    expect(r.envoy.counters["x"]).toBe(11);
    wb.stuck = false;
    wb.answer();
    expect((await c.collect()).envoy.counters["x"]).toBe(16);
  });

  it("a worker that dies: its counters stay in the sums, its gauges go", async () => {
    const a = new StatsStore();
    const b = new StatsStore();
    a.counter("x").inc(2);
    b.counter("x").inc(3);
    b.gauge("g").set(4);
    const wa = worker(0, a);
    let wb = worker(1, b);
    const c = new StatsCollector(() => [wa, wb], 2_000, manualTimers());
    expect((await c.collect()).envoy.counters["x"]).toBe(5);
    await c.workerExited(1);
    const fresh = new StatsStore();
    fresh.counter("x").inc(1);
    wb = worker(1, fresh);
    const r = await c.collect();
    expect(r.envoy.counters["x"]).toBe(6);
    expect(r.envoy.gauges["g"]).toBeUndefined();
  });

  it("per-host stats (/clusters): summed per cluster and host; a dead worker's counters stay, its cx_active / rq_active go", async () => {
    const a = new StatsStore();
    const b = new StatsStore();
    const ha = a.hosts.of("outbound|80||svc", "10.0.0.1:80");
    ha.rqTotal = 2;
    ha.rqSuccess = 2;
    ha.cxTotal = 1;
    ha.cxActive = 1;
    const hb = b.hosts.of("outbound|80||svc", "10.0.0.1:80");
    hb.rqTotal = 3;
    hb.rqError = 1;
    hb.rqTimeout = 1;
    hb.cxTotal = 2;
    hb.cxConnectFail = 1;
    hb.cxActive = 1;
    hb.rqActive = 1;
    b.hosts.of("outbound|80||svc", "10.0.0.2:80").cxConnectFail = 4;
    const wa = worker(0, a);
    let ports = [wa, worker(1, b)];
    const c = new StatsCollector(() => ports, 2_000, manualTimers());
    // cx_connect_fail, cx_total, rq_error, rq_success, rq_timeout, rq_total, cx_active, rq_active
    expect((await c.collect()).envoy.hosts).toEqual({ "outbound|80||svc": { "10.0.0.1:80": [1, 3, 1, 2, 1, 5, 2, 1], "10.0.0.2:80": [4, 0, 0, 0, 0, 0, 0, 0] } });
    await c.workerExited(1);
    ports = [wa];
    expect((await c.collect()).envoy.hosts).toEqual({ "outbound|80||svc": { "10.0.0.1:80": [1, 3, 1, 2, 1, 5, 1, 0], "10.0.0.2:80": [4, 0, 0, 0, 0, 0, 0, 0] } });
  });

  it("a worker that rejects (gone mid-scrape) is skipped like a late one", async () => {
    const a = new StatsStore();
    a.counter("x").inc(2);
    const gone: WorkerStatsPort = { index: 1, request: () => Promise.reject(new Error("worker 1 exited")) };
    const c = new StatsCollector(() => [worker(0, a), gone], 2_000, manualTimers());
    const r = await c.collect();
    expect([r.envoy.counters["x"], r.late]).toEqual([2, 1]);
  });
});
