// Circuit breakers and shared outlier state over real sockets: maxConnections + maxPendingRequests
// overflow (503 UO, x-envoy-overloaded), limits held across two runtimes sharing one cluster buffer
// (two workers in one thread), maxRequestsPerConnection, and ejections seen by both runtimes.

import { outlierConfig } from "../helpers/outlier-config.js";
import { request as httpRequest } from "node:http";
import { waitFor } from "../helpers/wait.js";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/common/logger.js";
import { seededRandom } from "../../src/common/random.js";
import { defaultLimits } from "../../src/bootstrap/bootstrap.js";
import type { Cluster, Snapshot } from "../../src/config/model/types.js";
import { manualScheduler, SharedStateOwner } from "../../src/upstream/shared/shared-state-owner.js";
import { ISTIO_DEFAULT_THRESHOLD } from "../../src/upstream/shared/shared-cluster-resources.js";
import { ProxyRuntime } from "../../src/worker/proxy-runtime.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";

const U = ISTIO_DEFAULT_THRESHOLD;
const OVERFLOW_BODY = "upstream connect error or disconnect/reset before headers. reset reason: overflow";

let proxies: TestProxy[] = [];
const runtimes: ProxyRuntime[] = [];
const ups: EchoUpstream[] = [];
afterEach(async () => {
  for (const p of proxies) await p.close();
  proxies = [];
  for (const r of runtimes.splice(0)) r.close();
  await Promise.all(ups.splice(0).map((u) => u.close()));
});

interface Reply {
  status: number;
  overloaded: string | undefined;
  body: string;
}

/** One request on its own client connection (no client-side pooling). */
function get(port: number, path = "/"): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, agent: false, headers: { host: "svc" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode!, overloaded: res.headers["x-envoy-overloaded"] as string | undefined, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

interface HeldUpstream extends EchoUpstream {
  /** Requests arrived and not answered yet. */
  held(): number;
  /** Answers every held request, and every later one at once. */
  release(): void;
  maxInFlight(): number;
  connections(): number;
}

/**
 * An upstream that holds its answers until the test releases them (so "concurrent" is a fact,
 * not a race with a timer), recording the most requests it ever had in flight.
 */
async function heldUpstream(): Promise<HeldUpstream> {
  let inFlight = 0;
  let max = 0;
  let conns = 0;
  let released = false;
  const held: Array<() => void> = [];
  const u = await startEchoUpstream("held", (_req, res) => {
    inFlight++;
    max = Math.max(max, inFlight);
    const answer = (): void => {
      inFlight--;
      res.writeHead(200, { "content-length": "2" });
      res.end("ok");
    };
    if (released) answer();
    else held.push(answer);
  });
  u.server.on("connection", () => conns++);
  ups.push(u);
  return Object.assign(u, {
    held: () => held.length,
    release: () => {
      released = true;
      for (const a of held.splice(0)) a();
    },
    maxInFlight: () => max,
    connections: () => conns,
  });
}

/** Sends `ports.length` requests at once; `answered()` counts those already back. */
function burst(ports: number[]): { all: Promise<Reply[]>; answered: () => number } {
  let n = 0;
  const all = Promise.all(ports.map((port) => get(port).finally(() => n++)));
  return { all, answered: () => n };
}

function limited(name: string, port: number, extra: Partial<Cluster>): Cluster {
  return cluster(name, [port], {
    circuitBreakers: { maxConnections: 1, maxPendingRequests: 1, maxRequests: U, maxRetries: U },
    ...extra,
  });
}

async function snap(c: Cluster): Promise<Snapshot> {
  return snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: c.name } })] }], [c]);
}

function summarize(rs: Reply[]): { ok: number; overflow: number } {
  let ok = 0;
  let overflow = 0;
  for (const r of rs) {
    if (r.status === 200) ok++;
    else if (r.status === 503 && r.overloaded === "true" && r.body === OVERFLOW_BODY) overflow++;
    else throw new Error(`unexpected reply ${r.status} ${r.body}`);
  }
  return { ok, overflow };
}

/** Two runtimes (two "workers") on their own ports, sharing one owner's cluster buffers. */
async function twoWorkers(c: Cluster): Promise<{ a: ProxyRuntime; b: ProxyRuntime; portA: number; portB: number; owner: SharedStateOwner }> {
  const owner = new SharedStateOwner({ now: () => Date.now(), monotonic: () => performance.now() }, manualScheduler);
  const out: ProxyRuntime[] = [];
  const ports: number[] = [];
  for (let i = 0; i < 2; i++) {
    const s = await snap(c);
    const rt = new ProxyRuntime({ limits: defaultLimits, random: seededRandom(i + 1), log: createLogger("off"), onStream: () => {}, workerIndex: i });
    runtimes.push(rt);
    const r = await rt.apply(s, owner.prepare(s.clusters));
    if (!r.ok) throw new Error(r.errors.join("\n"));
    out.push(rt);
    ports.push(s.listeners[0]!.port);
  }
  return { a: out[0]!, b: out[1]!, portA: ports[0]!, portB: ports[1]!, owner };
}

describe("circuit breakers (connection pool limits)", () => {
  it("maxConnections 1 + http1MaxPendingRequests 1: of 6 concurrent requests 2 are served, 4 overflow with 503 UO", async () => {
    const u = await heldUpstream();
    const p = await startProxy(await snap(limited("c", u.port, {})));
    proxies.push(p);
    const b = burst(Array(6).fill(p.port));
    // Four answered with overflow while one request holds the connection and one is pending.
    await waitFor(() => b.answered() === 4 && u.held() === 1, 5_000, "four overflows and one held request");
    u.release();
    const rs = await b.all;
    expect(summarize(rs)).toEqual({ ok: 2, overflow: 4 });
    expect(u.maxInFlight()).toBe(1);
    // The pending request got the first request's connection (Envoy's http1 pool hand-over).
    expect(u.connections()).toBe(1);
    expect(p.streams.filter((s) => s.responseFlags.includes("UO"))).toHaveLength(4);
  });

  it("limits hold per cluster across two workers, not multiplied by them", async () => {
    const u = await heldUpstream();
    const { portA, portB } = await twoWorkers(limited("c", u.port, {}));
    const b = burst([portA, portB, portA, portB, portA, portB]);
    await waitFor(() => b.answered() === 4 && u.held() === 1, 5_000, "four overflows and one held request");
    u.release();
    const rs = await b.all;
    expect(summarize(rs)).toEqual({ ok: 2, overflow: 4 });
    expect(u.maxInFlight()).toBe(1);
  });

  it("a request pending in one worker is served when the other worker's connection frees up", async () => {
    const u = await heldUpstream();
    const { portA, portB, owner } = await twoWorkers(limited("c", u.port, {}));
    const first = get(portA);
    // The first request holds the cluster's only connection once the upstream has it.
    await waitFor(() => u.requests.length === 1, 5_000, "first request upstream");
    const second = get(portB); // cluster at maxConnections: waits in worker B
    const i32 = owner.view("c")!.i32;
    await waitFor(() => Atomics.load(i32, 1) === 1, 5_000, "the second request pending");
    u.release();
    const [r1, r2] = await Promise.all([first, second]);
    expect([r1.status, r2.status]).toEqual([200, 200]);
    expect(u.maxInFlight()).toBe(1);
    expect(u.connections()).toBe(2);
  });

  it("after the burst, the counters are back to zero and new requests are served", async () => {
    const u = await heldUpstream();
    const { portA, portB, owner } = await twoWorkers(limited("c", u.port, {}));
    const b = burst([portA, portB, portA, portB]);
    await waitFor(() => b.answered() === 2 && u.held() === 1, 5_000, "two overflows and one held request");
    u.release();
    expect(summarize(await b.all)).toEqual({ ok: 2, overflow: 2 });
    const rs = await Promise.all([get(portA), get(portB)]);
    expect(summarize(rs)).toEqual({ ok: 2, overflow: 0 });
    // Responses reach the client before the proxy releases what they held: wait for the release.
    const i32 = owner.view("c")!.i32;
    await waitFor(() => Atomics.load(i32, 1) === 0 && Atomics.load(i32, 2) <= 1, 5_000, "the cluster's counters to fall back");
    expect(Atomics.load(i32, 1)).toBe(0); // pending
    expect(Atomics.load(i32, 2)).toBeLessThanOrEqual(1); // connections: at most the idle one
  });

  it("maxRequestsPerConnection 1 closes each upstream connection after one request", async () => {
    const u = await heldUpstream();
    u.release();
    const p = await startProxy(await snap(cluster("c", [u.port], { httpProtocolOptions: { commonHttpProtocolOptions: { maxRequestsPerConnection: 1 } } })));
    proxies.push(p);
    for (let i = 0; i < 3; i++) expect((await get(p.port)).status).toBe(200);
    expect(u.connections()).toBe(3);
  });

  it("without limits (Istio's 4294967295 defaults) nothing overflows", async () => {
    const u = await heldUpstream();
    const p = await startProxy(await snap(cluster("c", [u.port], { circuitBreakers: { maxConnections: U, maxPendingRequests: U, maxRequests: U, maxRetries: U } })));
    proxies.push(p);
    const b = burst(Array(8).fill(p.port));
    // All eight in flight at the upstream at once, none turned away.
    await waitFor(() => u.held() === 8, 5_000, "eight requests held at once");
    expect(b.answered()).toBe(0);
    u.release();
    expect(summarize(await b.all)).toEqual({ ok: 8, overflow: 0 });
  });
});

describe("outlier detection state across workers", () => {
  const od = outlierConfig({ consecutive5xx: 2, maxEjectionPercent: 50 });

  it("an ejection reported in one worker is seen by the other; the owner's interval unejects it", async () => {
    const c = cluster("c", [1, 2], { outlierDetection: od });
    const { a, b, owner } = await twoWorkers(c);
    const ca = a.services.clusters.get("c")!;
    const cb = b.services.clusters.get("c")!;
    ca.outlier.report(ca.hosts[1]!, { kind: "response", status: 500 });
    cb.outlier.report(cb.hosts[1]!, { kind: "response", status: 503 });
    expect(cb.hosts.map((h) => h.isEjected())).toEqual([false, true]);
    expect(ca.hosts.map((h) => h.isEjected())).toEqual([false, true]);
    owner.runIntervals(Date.now() + 29_000);
    expect(ca.hosts[1]!.isEjected()).toBe(true);
    owner.runIntervals(Date.now() + 31_000);
    expect(ca.hosts[1]!.isEjected()).toBe(false);
    expect(cb.hosts[1]!.isEjected()).toBe(false);
  });

  it("an unchanged cluster keeps its ejections across a reload; a changed one starts afresh", async () => {
    const c = cluster("c", [1, 2], { outlierDetection: od });
    const { a, owner } = await twoWorkers(c);
    const rt = a.services.clusters.get("c")!;
    rt.outlier.report(rt.hosts[0]!, { kind: "connect-failure" });
    rt.outlier.report(rt.hosts[0]!, { kind: "timeout" });
    expect(rt.hosts[0]!.isEjected()).toBe(true);
    const s2 = await snap(c);
    await a.apply(s2, owner.prepare(s2.clusters));
    expect(a.services.clusters.get("c")!.hosts[0]!.isEjected()).toBe(true);
    const changed = cluster("c", [1, 2], { outlierDetection: { ...od, baseEjectionTimeMs: 1_000 } });
    const s3 = await snap(changed);
    await a.apply(s3, owner.prepare(s3.clusters));
    expect(a.services.clusters.get("c")!.hosts[0]!.isEjected()).toBe(false);
  });
});
