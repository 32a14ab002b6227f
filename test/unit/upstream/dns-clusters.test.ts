// DNS clusters in the ClusterManager, with an injected resolver and hand-fired refresh timers:
// STRICT_DNS makes every resolved address its own host with its own outlier-detection slot (the
// same slot in every worker), hosts follow re-resolution; LOGICAL_DNS keeps one host whose new
// connections go to the first address of the latest resolution.

import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../src/common/logger.js";
import { seededRandom } from "../../../src/common/random.js";
import type { Cluster } from "../../../src/config/model/types.js";
import { ClusterManager } from "../../../src/upstream/cluster-manager.js";
import type { SharedClusterBuffers } from "../../../src/upstream/shared/cluster-shared-layout.js";
import { claimedHostSlots } from "../../../src/upstream/shared/host-slot-table.js";
import { manualScheduler, SharedStateOwner } from "../../../src/upstream/shared/shared-state-owner.js";
import { ManualTimers } from "../../helpers/manual-timers.js";
import { outlierConfig } from "../../helpers/outlier-config.js";
import { FakeClock } from "./shared/helpers.js";

/** A resolver answering from a table the test edits; a missing name fails like NXDOMAIN. */
class FakeResolver {
  answers = new Map<string, string[]>();
  calls: string[] = [];
  readonly resolve = async (name: string): Promise<string[]> => {
    this.calls.push(name);
    const a = this.answers.get(name);
    if (a === undefined) throw new Error(`queryA ENOTFOUND ${name}`);
    return [...a];
  };
}

/** Resolution is promise work only: one macrotask turn lets every pending answer land. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

function dnsCluster(type: "STRICT_DNS" | "LOGICAL_DNS", names: string[], over: Partial<Cluster> = {}): Cluster {
  return {
    name: "ext",
    type,
    lbPolicy: "ROUND_ROBIN",
    connectTimeoutMs: 1000,
    loadAssignment: { endpoints: [{ locality: {}, priority: 0, lbEndpoints: names.map((address) => ({ address, port: 443, weight: 1, labels: {}, healthStatus: "HEALTHY" as const })) }] },
    ...over,
  };
}

const od = outlierConfig({ consecutive5xx: 1, maxEjectionPercent: 100 });
const managers: ClusterManager[] = [];
afterEach(() => {
  for (const m of managers.splice(0)) m.close();
});

function worker(index: number, resolver: FakeResolver, timers = new ManualTimers()): ClusterManager {
  const m = new ClusterManager(seededRandom(index + 1), createLogger("off"), index, new FakeClock(), { resolver: resolver.resolve, timers });
  managers.push(m);
  return m;
}

function sharedFor(clusters: Record<string, Cluster>): SharedClusterBuffers {
  return new SharedStateOwner(new FakeClock(), manualScheduler, 2).prepare(clusters);
}

describe("STRICT_DNS", () => {
  it("every resolved address is its own host with its own outlier state, the same slot in every worker", async () => {
    const c = dnsCluster("STRICT_DNS", ["api.example.com"], { outlierDetection: od });
    const shared = sharedFor({ ext: c });
    const r0 = new FakeResolver();
    r0.answers.set("api.example.com", ["10.0.0.1", "10.0.0.2"]);
    // The other worker's resolver answers in the other order (round-robin DNS does).
    const r1 = new FakeResolver();
    r1.answers.set("api.example.com", ["10.0.0.2", "10.0.0.1"]);
    const w0 = worker(0, r0);
    const w1 = worker(1, r1);
    w0.update({ ext: c }, shared);
    w1.update({ ext: c }, shared);
    await settle();
    const a = w0.get("ext")!;
    const b = w1.get("ext")!;
    expect(a.hosts.map((h) => h.key)).toEqual(["10.0.0.1:443", "10.0.0.2:443"]);
    expect(b.hosts.map((h) => h.key)).toEqual(["10.0.0.2:443", "10.0.0.1:443"]);

    // One 5xx ejects 10.0.0.1 only (it used to eject every address of the name: one shared slot).
    a.outlier.report(a.hosts[0]!, { kind: "response", status: 503 });
    expect(a.hosts.map((h) => [h.key, h.isEjected()])).toEqual([["10.0.0.1:443", true], ["10.0.0.2:443", false]]);
    // The other worker sees the same host ejected, through its own host objects.
    expect(b.hosts.map((h) => [h.key, h.isEjected()])).toEqual([["10.0.0.2:443", false], ["10.0.0.1:443", true]]);
    for (let i = 0; i < 4; i++) expect(a.chooseHost({})!.key).toBe("10.0.0.2:443");

    const slots = claimedHostSlots(a.shared);
    expect(slots.map((s) => `${s.address}:${s.port}`).sort()).toEqual(["10.0.0.1:443", "10.0.0.2:443"]);
    expect(new Set(slots.map((s) => s.slot)).size).toBe(2);
  });

  it("hosts follow re-resolution on the refresh timer (dns_refresh_rate, Envoy's 5 s by default); returning addresses keep their state", async () => {
    const timers = new ManualTimers();
    const r = new FakeResolver();
    r.answers.set("api.example.com", ["10.0.0.1", "10.0.0.2"]);
    const c = dnsCluster("STRICT_DNS", ["api.example.com"], { outlierDetection: od });
    const m = worker(0, r, timers);
    m.update({ ext: c }, sharedFor({ ext: c }));
    await settle();
    expect(timers.waiting()).toEqual([5_000]);
    const rt = m.get("ext")!;
    rt.outlier.report(rt.hosts[0]!, { kind: "response", status: 503 });

    r.answers.set("api.example.com", ["10.0.0.2", "10.0.0.3"]);
    timers.advance(5_000);
    await settle();
    expect(rt.hosts.map((h) => [h.key, h.isEjected()])).toEqual([["10.0.0.2:443", false], ["10.0.0.3:443", false]]);

    // 10.0.0.1 comes back: same slot, still ejected (the ejection is the cluster's, not the host object's).
    r.answers.set("api.example.com", ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
    timers.advance(5_000);
    await settle();
    expect(rt.hosts.map((h) => [h.key, h.isEjected()])).toEqual([["10.0.0.1:443", true], ["10.0.0.2:443", false], ["10.0.0.3:443", false]]);
    expect(r.calls).toHaveLength(3);
  });

  it("an unchanged answer keeps the host objects; a failed one keeps the last hosts; duplicates are one host", async () => {
    const timers = new ManualTimers();
    const r = new FakeResolver();
    r.answers.set("a.example.com", ["10.0.0.1", "10.0.0.1"]);
    const c = dnsCluster("STRICT_DNS", ["a.example.com"], { dnsRefreshRateMs: 1_000 });
    const m = worker(0, r, timers);
    m.update({ ext: c }, sharedFor({ ext: c }));
    await settle();
    const rt = m.get("ext")!;
    const first = rt.hosts;
    expect(first.map((h) => h.key)).toEqual(["10.0.0.1:443"]);
    expect(timers.waiting()).toEqual([1_000]);
    timers.advance(1_000);
    await settle();
    expect(rt.hosts).toBe(first);
    r.answers.delete("a.example.com");
    timers.advance(1_000);
    await settle();
    expect(rt.hosts.map((h) => h.key)).toEqual(["10.0.0.1:443"]);
    expect(timers.waiting()).toEqual([1_000]);
  });

  it("IP endpoints keep their model slot next to resolved names; a replaced cluster stops refreshing", async () => {
    const timers = new ManualTimers();
    const r = new FakeResolver();
    r.answers.set("b.example.com", ["10.0.1.1"]);
    const c = dnsCluster("STRICT_DNS", ["10.9.9.9", "b.example.com"], { outlierDetection: od });
    const m = worker(0, r, timers);
    m.update({ ext: c }, sharedFor({ ext: c }));
    await settle();
    const rt = m.get("ext")!;
    expect(rt.hosts.map((h) => h.key)).toEqual(["10.9.9.9:443", "10.0.1.1:443"]);
    rt.outlier.report(rt.hosts[0]!, { kind: "response", status: 500 });
    expect(rt.shared.hostSlots).toBe(2 + 64);
    expect(rt.hosts.map((h) => h.isEjected())).toEqual([true, false]);

    m.update({});
    expect(timers.waiting()).toEqual([]);
  });
});

describe("LOGICAL_DNS", () => {
  it("one host: new connections go to the first address of the latest resolution, over one pool", async () => {
    const timers = new ManualTimers();
    const r = new FakeResolver();
    r.answers.set("rr.example.com", ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
    const c = dnsCluster("LOGICAL_DNS", ["rr.example.com"], { outlierDetection: od });
    const m = worker(0, r, timers);
    m.update({ ext: c }, sharedFor({ ext: c }));
    await settle();
    const rt = m.get("ext")!;
    expect(rt.hosts.map((h) => h.key)).toEqual(["10.0.0.1:443"]);
    const pool = rt.hosts[0]!.pool;
    expect(pool.address).toBe("10.0.0.1");
    // No address table: the logical host is the cluster's one endpoint.
    expect(rt.shared.tableSlots).toBe(0);
    rt.outlier.report(rt.hosts[0]!, { kind: "response", status: 503 });

    r.answers.set("rr.example.com", ["10.0.0.3", "10.0.0.1"]);
    timers.advance(5_000);
    await settle();
    expect(rt.hosts.map((h) => h.key)).toEqual(["10.0.0.3:443"]);
    // The same logical pool (its connections are never drained), now dialling the new first address;
    // the host keeps the endpoint's outlier state.
    expect(rt.hosts[0]!.pool).toBe(pool);
    expect(pool.address).toBe("10.0.0.3");
    expect(rt.hosts[0]!.isEjected()).toBe(true);

    // An empty answer, or a failure, keeps the last address (Envoy never drains a logical host).
    r.answers.set("rr.example.com", []);
    timers.advance(5_000);
    await settle();
    r.answers.delete("rr.example.com");
    timers.advance(5_000);
    await settle();
    expect(rt.hosts.map((h) => h.key)).toEqual(["10.0.0.3:443"]);
  });

  it("a name that never resolved has no host yet (requests see no healthy upstream)", async () => {
    const r = new FakeResolver();
    const c = dnsCluster("LOGICAL_DNS", ["nx.example.com"]);
    const m = worker(0, r);
    m.update({ ext: c }, sharedFor({ ext: c }));
    await settle();
    expect(m.get("ext")!.hosts).toEqual([]);
    expect(m.get("ext")!.chooseHost({})).toBeUndefined();
  });
});
