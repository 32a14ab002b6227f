// Router resilience over real sockets: route and per-try timeouts, retries (conditions, budget,
// body replay, previous hosts, attempt count), fault injection and mirroring — with upstreams
// that misbehave on purpose.

import type { Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { RetryPolicy, Route, RouteAction } from "../../src/config/model/types.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { parseResponses, rawExchange } from "../helpers/raw-client.js";
import { freePort, startEchoUpstream, startRawUpstream, type EchoUpstream, type Handler } from "../helpers/upstreams.js";
import { ManualTimers } from "../helpers/manual-timers.js";
import { waitFor } from "../helpers/wait.js";
import { HTTP_FAULT_FILTER } from "../../src/config/model/types.js";

let proxy: TestProxy | undefined;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function upstream(name: string, handler?: Handler): Promise<EchoUpstream> {
  const u = await startEchoUpstream(name, handler);
  cleanups.push(() => u.close());
  return u;
}

function retries(retryOn: string[], extra: Partial<RetryPolicy> = {}): RetryPolicy {
  return {
    retryOn,
    numRetries: 2,
    retriableStatusCodes: [],
    retriableHeaders: [],
    retryHostPredicatePreviousHosts: true,
    hostSelectionRetryMaxAttempts: 5,
    backoffBaseMs: 25,
    backoffMaxMs: 250,
    ...extra,
  };
}

async function proxyWith(
  ports: number[],
  action: Partial<RouteAction>,
  routeExtra: Partial<Route> = {},
  extraClusters: Array<[string, number[]]> = [],
  timers?: ManualTimers,
): Promise<TestProxy> {
  const snap = await snapshotWith(
    [{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c", ...action }, ...routeExtra })] }],
    [cluster("c", ports), ...extraClusters.map(([n, p]) => cluster(n, p))],
  );
  // Hand-driven timers drive the data path's clock too: durations and timing points read them.
  proxy = await startProxy(snap, timers !== undefined ? { timers, clock: timers } : {});
  return proxy;
}

function get(p: TestProxy, path = "/", headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  return rawExchange(p.port, `GET ${path} HTTP/1.1\r\nHost: svc\r\n${extra}Connection: close\r\n\r\n`).then((out) => {
    const r = parseResponses(out)[0]!;
    return { status: r.status, headers: r.headers, body: r.body.toString() };
  });
}

const status = (code: number): Handler => (_req, res) => {
  res.writeHead(code, { "content-length": "2" });
  res.end("no");
};

describe("route timeout", () => {
  it("answers 504 `upstream request timeout` with flag UT when the upstream is too slow", async () => {
    const slow = await upstream("slow", () => {});
    const p = await proxyWith([slow.port], { timeoutMs: 200 });
    const r = await get(p);
    expect(r.status).toBe(504);
    expect(r.body).toBe("upstream request timeout");
    expect(p.streams[0]!.responseFlags).toContain("UT");
  });

  it("covers every retry: the route timeout ends the exchange even with retries left", async () => {
    const slow = await upstream("slow", () => {});
    const p = await proxyWith([slow.port], { timeoutMs: 300, retryPolicy: retries(["5xx"], { numRetries: 10, perTryTimeoutMs: 100 }) });
    const t0 = performance.now();
    const r = await get(p);
    expect(r.status).toBe(504);
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(slow.requests.length).toBeGreaterThanOrEqual(2);
  });

  it("honours x-envoy-upstream-rq-timeout-ms from an internal caller and does not forward it", async () => {
    const timers = new ManualTimers();
    const slow = await upstream("slow", () => {});
    const p = await proxyWith([slow.port], {}, {}, [], timers);
    const reply = get(p, "/", { "x-envoy-upstream-rq-timeout-ms": "100" });
    // The header's 100 ms is the route timeout (the route has none): it fires at 100 ms exactly.
    await waitFor(() => slow.requests.length === 1 && timers.waiting().includes(100), 5_000, "the 100 ms timer armed");
    timers.advance(99);
    expect(timers.waiting()).toContain(100);
    timers.advance(1);
    const r = await reply;
    expect(r.status).toBe(504);
    expect(p.streams[0]!.timings.firstDownstreamTxByteSent).toBe(100);
    expect(slow.requests[0]!.headers["x-envoy-upstream-rq-timeout-ms"]).toBeUndefined();
    expect(slow.requests[0]!.headers["x-envoy-expected-rq-timeout-ms"]).toBe("100");
  });
});

describe("retries", () => {
  it("retries a 5xx on another host, with x-envoy-attempt-count", async () => {
    const bad = await upstream("bad", status(503));
    const good = await upstream("good");
    const p = await proxyWith([bad.port, good.port], { retryPolicy: retries(["5xx"]) });
    for (let i = 0; i < 6; i++) {
      const r = await get(p);
      expect(r.status).toBe(200);
    }
    // Every request that hit `bad` first was retried on `good` (previous-hosts predicate).
    expect(good.requests.length).toBe(6);
    const attempts = good.requests.map((q) => q.headers["x-envoy-attempt-count"]);
    expect(attempts).toContain("2");
    expect(bad.requests.every((q) => q.headers["x-envoy-attempt-count"] === "1")).toBe(true);
  });

  it("returns the last response with flag URX when the budget is exhausted", async () => {
    const bad = await upstream("bad", status(503));
    const p = await proxyWith([bad.port], { retryPolicy: retries(["5xx"], { numRetries: 2 }) });
    const r = await get(p);
    expect(r.status).toBe(503);
    expect(r.body).toBe("no");
    expect(bad.requests.length).toBe(3);
    expect(p.streams[0]!.responseFlags).toContain("URX");
  });

  it("does not retry when retry_on does not cover the response (Istio's default has no 5xx)", async () => {
    const bad = await upstream("bad", status(503));
    const p = await proxyWith([bad.port], { retryPolicy: retries(["connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes"]) });
    expect((await get(p)).status).toBe(503);
    expect(bad.requests.length).toBe(1);
  });

  it("retries a connection failure on another host (connect-failure)", async () => {
    const dead = await freePort();
    const good = await upstream("good");
    const p = await proxyWith([dead, good.port], { retryPolicy: retries(["connect-failure"]) });
    for (let i = 0; i < 4; i++) expect((await get(p)).status).toBe(200);
    expect(good.requests.length).toBe(4);
  });

  it("says `retried and the latest reset reason` when every attempt fails to connect", async () => {
    const dead = await freePort();
    const p = await proxyWith([dead], { retryPolicy: retries(["connect-failure"], { numRetries: 1 }) });
    const r = await get(p);
    expect(r.status).toBe(503);
    expect(r.body).toBe("upstream connect error or disconnect/reset before headers. retried and the latest reset reason: connection failure, transport failure reason: delayed connect error: 111");
    expect(p.streams[0]!.responseFlags).toEqual(expect.arrayContaining(["UF", "URX"]));
  });

  it("never retries a request that reached the app unless retry_on says so (reset after send)", async () => {
    let conns = 0;
    const resetter = await startRawUpstream((s: Socket) => {
      conns++;
      s.once("data", () => s.destroy());
    });
    cleanups.push(() => resetter.close());
    const p = await proxyWith([resetter.port], { retryPolicy: retries(["connect-failure", "reset-before-request"]) });
    const r = await get(p);
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/reset reason: connection termination/);
    expect(conns).toBe(1);
    await proxy!.close();
    conns = 0;
    const p2 = await proxyWith([resetter.port], { retryPolicy: retries(["reset"], { numRetries: 2 }) });
    expect((await get(p2)).status).toBe(503);
    expect(conns).toBe(3);
  });

  it("replays a request body on retry", async () => {
    let first = true;
    const flaky = await upstream("flaky", (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (first) {
          first = false;
          res.writeHead(503, { "content-length": "0" });
          res.end();
          return;
        }
        const body = Buffer.concat(chunks).toString();
        res.writeHead(200, { "content-length": Buffer.byteLength(body) });
        res.end(body);
      });
    });
    const p = await proxyWith([flaky.port], { retryPolicy: retries(["5xx"]) });
    const payload = "x".repeat(100_000);
    const out = await rawExchange(p.port, `POST / HTTP/1.1\r\nHost: svc\r\nContent-Length: ${payload.length}\r\nConnection: close\r\n\r\n${payload}`);
    const r = parseResponses(out)[0]!;
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe(payload);
  });

  it("does not retry a body larger than the replay buffer", async () => {
    const bad = await upstream("bad", (req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(503, { "content-length": "0" });
        res.end();
      });
    });
    const p = await proxyWith([bad.port], { retryPolicy: retries(["5xx"]) });
    const payload = Buffer.alloc(3 * 1024 * 1024, 97);
    const out = await rawExchange(p.port, Buffer.concat([Buffer.from(`POST / HTTP/1.1\r\nHost: svc\r\nContent-Length: ${payload.length}\r\nConnection: close\r\n\r\n`), payload]), 1_000);
    expect(parseResponses(out)[0]!.status).toBe(503);
    expect(bad.requests.length).toBe(1);
  });

  it("retries a per-try timeout when retry_on has 5xx, then succeeds on another host", async () => {
    const slow = await upstream("slow", () => {});
    const good = await upstream("good");
    const p = await proxyWith([slow.port, good.port], { retryPolicy: retries(["5xx"], { perTryTimeoutMs: 150 }) });
    for (let i = 0; i < 3; i++) expect((await get(p)).status).toBe(200);
  });

  it("honours x-envoy-upstream-rq-per-try-timeout-ms from an internal caller", async () => {
    const slow = await upstream("slow", () => {});
    const good = await upstream("good");
    const p = await proxyWith([slow.port, good.port], { retryPolicy: retries(["5xx"]) });
    for (let i = 0; i < 3; i++) expect((await get(p, "/", { "x-envoy-upstream-rq-per-try-timeout-ms": "150" })).status).toBe(200);
    expect(good.requests.every((q) => q.headers["x-envoy-upstream-rq-per-try-timeout-ms"] === undefined)).toBe(true);
    expect(good.requests[0]!.headers["x-envoy-expected-rq-timeout-ms"]).toBe("150");
  });

  it("answers 504 UT on a per-try timeout that retry_on does not cover", async () => {
    const slow = await upstream("slow", () => {});
    const p = await proxyWith([slow.port], { retryPolicy: retries(["connect-failure"], { perTryTimeoutMs: 150 }) });
    const r = await get(p);
    expect(r.status).toBe(504);
    expect(p.streams[0]!.responseFlags).toContain("UT");
    expect(slow.requests.length).toBe(1);
  });
});

describe("fault injection", () => {
  it("aborts with the configured status, Envoy's body and flag FI", async () => {
    const u = await upstream("u");
    const p = await proxyWith([u.port], {}, { typedPerFilterConfig: { [HTTP_FAULT_FILTER]: { abort: { httpStatus: 418, percentage: { numerator: 100, denominator: "HUNDRED" } } } } });
    const r = await get(p);
    expect(r.status).toBe(418);
    expect(r.body).toBe("fault filter abort");
    expect(p.streams[0]!.responseFlags).toEqual(["FI"]);
    expect(u.requests.length).toBe(0);
  });

  it("delays by the fixed delay with flag DI, then proxies", async () => {
    const u = await upstream("u");
    const p = await proxyWith([u.port], {}, { typedPerFilterConfig: { [HTTP_FAULT_FILTER]: { delay: { fixedDelayMs: 300, percentage: { numerator: 100, denominator: "HUNDRED" } } } } });
    const t0 = performance.now();
    const r = await get(p);
    expect(r.status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(p.streams[0]!.responseFlags).toEqual(["DI"]);
  });

  it("aborts a share of requests matching the percentage (seeded)", async () => {
    const u = await upstream("u");
    const p = await proxyWith([u.port], {}, { typedPerFilterConfig: { [HTTP_FAULT_FILTER]: { abort: { httpStatus: 503, percentage: { numerator: 300_000, denominator: "MILLION" } } } } });
    let aborted = 0;
    const n = 300;
    for (let i = 0; i < n; i++) if ((await get(p)).status === 503) aborted++;
    // 30% ± 5 standard deviations (sd ≈ 2.6%).
    expect(Math.abs(aborted / n - 0.3)).toBeLessThan(0.14);
  });
});

describe("mirroring", () => {
  it("sends a copy to the mirror cluster with the -shadow host when asked, without affecting the primary", async () => {
    const primary = await upstream("primary");
    const mirror = await upstream("mirror");
    const p = await proxyWith([primary.port], { requestMirrorPolicies: [{ cluster: "m", disableShadowHostSuffixAppend: false }] }, {}, [["m", [mirror.port]]]);
    const r = await get(p, "/copy-me");
    expect(r.status).toBe(200);
    await waitFor(() => mirror.requests.length === 1, 5_000, "mirrored request");
    expect(mirror.requests[0]!.url).toBe("/copy-me");
    expect(mirror.requests[0]!.headers.host).toBe("svc-shadow");
  });

  it("keeps the Host as is when the shadow suffix is disabled (Istio >= 1.28)", async () => {
    const primary = await upstream("primary");
    const mirror = await upstream("mirror");
    const p = await proxyWith([primary.port], { requestMirrorPolicies: [{ cluster: "m", disableShadowHostSuffixAppend: true }] }, {}, [["m", [mirror.port]]]);
    await get(p);
    await waitFor(() => mirror.requests.length === 1, 5_000, "mirrored request");
    expect(mirror.requests[0]!.headers.host).toBe("svc");
  });

  it("a mirror that never answers, or is down, never slows or fails the primary", async () => {
    const primary = await upstream("primary");
    const stuck = await upstream("stuck", () => {});
    const dead = await freePort();
    const p = await proxyWith(
      [primary.port],
      { requestMirrorPolicies: [{ cluster: "m1", disableShadowHostSuffixAppend: true }, { cluster: "m2", disableShadowHostSuffixAppend: true }] },
      {},
      [
        ["m1", [stuck.port]],
        ["m2", [dead]],
      ],
    );
    for (let i = 0; i < 5; i++) expect((await get(p)).status).toBe(200);
    const payload = "y".repeat(500_000);
    const out = await rawExchange(p.port, `POST / HTTP/1.1\r\nHost: svc\r\nContent-Length: ${payload.length}\r\nConnection: close\r\n\r\n${payload}`);
    expect(parseResponses(out)[0]!.status).toBe(200);
    // The copies did go out while the primary answered: the five GETs' reached the stuck mirror
    // and wait there (the big POST's may be dropped past the shadow buffer), and every copy to the
    // dead mirror ended with its connect failure. Settled: every copy still counted on the stuck
    // host has arrived there.
    const stuckHost = p.runtime.services.clusters.get("m1")!.hosts[0]!;
    const deadHost = p.runtime.services.clusters.get("m2")!.hosts[0]!;
    await waitFor(() => stuck.requests.length >= 5 && stuckHost.active === stuck.requests.length && deadHost.active === 0, 5_000, "the copies to settle");
    expect(stuck.requests.filter((q) => q.method === "GET")).toHaveLength(5);
  });

  it("a mirrored HEAD request completes and frees its upstream connection", async () => {
    const primary = await upstream("primary");
    const mirror = await upstream("mirror");
    const p = await proxyWith([primary.port], { requestMirrorPolicies: [{ cluster: "m", disableShadowHostSuffixAppend: true }] }, {}, [["m", [mirror.port]]]);
    const out = await rawExchange(p.port, "HEAD / HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n");
    expect(out).toMatch(/^HTTP\/1\.1 200/);
    await waitFor(() => mirror.requests.length === 1, 5_000, "mirrored request");
    const host = p.runtime.services.clusters.get("m")!.hosts[0]!;
    await waitFor(() => host.active === 0 && host.pool.idleCount === 1, 5_000, "shadow exchange finished and pooled");
  });

  it("mirrors only the configured percentage", async () => {
    const primary = await upstream("primary");
    const mirror = await upstream("mirror");
    const mirrorAt = (numerator: number): Partial<RouteAction> => ({ cluster: "c", requestMirrorPolicies: [{ cluster: "m", percentage: { numerator, denominator: "HUNDRED" }, disableShadowHostSuffixAppend: true }] });
    const snap = await snapshotWith(
      [{ name: "vh", domains: ["*"], routes: [route("always", { route: mirrorAt(100) as RouteAction }, { prefix: "/barrier" }), route("never", { route: mirrorAt(0) as RouteAction })] }],
      [cluster("c", [primary.port]), cluster("m", [mirror.port])],
    );
    const p = (proxy = await startProxy(snap));
    for (let i = 0; i < 5; i++) expect((await get(p, "/zero")).status).toBe(200);
    // Nothing to wait for when nothing is mirrored: a later request that is mirrored is the
    // barrier. Copies are counted on the mirror host from the moment they start, so once the
    // barrier's copy has arrived and none is in flight, any copy of /zero would have arrived too.
    expect((await get(p, "/barrier")).status).toBe(200);
    const host = p.runtime.services.clusters.get("m")!.hosts[0]!;
    await waitFor(() => mirror.requests.length >= 1 && host.active === 0, 5_000, "the barrier's copy");
    expect(mirror.requests.map((r) => r.url)).toEqual(["/barrier"]);
  });
});

describe("timers under test control (deterministic, no sleeping)", () => {
  it("the route timeout fires at exactly its duration", async () => {
    const timers = new ManualTimers();
    const stuck = await upstream("stuck", () => {});
    const p = await proxyWith([stuck.port], { timeoutMs: 5_000 }, {}, [], timers);
    const reply = get(p);
    await waitFor(() => timers.waiting().includes(5_000), 5_000, "route timer armed");
    timers.advance(4_999);
    expect(timers.waiting()).toContain(5_000);
    expect(p.streams).toHaveLength(0);
    timers.advance(1);
    const r = await reply;
    expect(r.status).toBe(504);
    expect(p.streams[0]!.responseFlags).toEqual(["UT"]);
    // On the hand-driven clock the answer went out at 5 000 ms, not a moment before.
    expect(p.streams[0]!.timings.firstDownstreamTxByteSent).toBe(5_000);
  });

  it("a retry waits for its jittered back-off, within [0, 25 ms) for the first retry", async () => {
    const timers = new ManualTimers();
    const bad = await upstream("bad", status(503));
    const good = await upstream("good");
    // Round robin: the first attempt goes to `bad`, the retry to `good`. `/barrier` reaches `good`
    // through a cluster of its own, without touching the round robin of `c`.
    const snap = await snapshotWith(
      [{ name: "vh", domains: ["*"], routes: [route("b", { route: { cluster: "g" } }, { prefix: "/barrier" }), route("r", { route: { cluster: "c", retryPolicy: retries(["5xx"]) } })] }],
      [cluster("c", [bad.port, good.port]), cluster("g", [good.port])],
    );
    proxy = await startProxy(snap, { timers, clock: timers });
    const reply = get(proxy);
    await waitFor(() => timers.waiting().length === 1, 5_000, "back-off armed");
    const [backoff] = timers.waiting();
    expect(backoff).toBeGreaterThanOrEqual(0);
    expect(backoff).toBeLessThan(25);
    // A retry sent without waiting would have left before this later request on the same worker,
    // to the same upstream: `good` sees the barrier alone.
    expect((await get(proxy, "/barrier")).status).toBe(200);
    expect(good.requests.map((q) => q.url)).toEqual(["/barrier"]);
    timers.advance(backoff!);
    expect((await reply).status).toBe(200);
    expect(good.requests.map((q) => q.url)).toEqual(["/barrier", "/"]);
    expect(good.requests[1]!.headers["x-envoy-attempt-count"]).toBe("2");
  });

  it("a fault delay holds the request until its time has passed", async () => {
    const timers = new ManualTimers();
    const u = await upstream("u");
    const p = await proxyWith([u.port], {}, { typedPerFilterConfig: { [HTTP_FAULT_FILTER]: { delay: { fixedDelayMs: 600_000, percentage: { numerator: 100, denominator: "HUNDRED" } } } } }, [], timers);
    const reply = get(p);
    await waitFor(() => timers.waiting().includes(600_000), 5_000, "fault delay armed");
    expect(u.requests).toHaveLength(0);
    timers.advance(600_000);
    expect((await reply).status).toBe(200);
    expect(p.streams[0]!.responseFlags).toEqual(["DI"]);
    // On the hand-driven clock the router started only once the delay had passed.
    expect(p.streams[0]!.timings.upstreamConnectStart).toBe(600_000);
    expect(u.requests).toHaveLength(1);
  });
});
