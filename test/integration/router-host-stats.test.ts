// Per-host stats (/clusters) as the router counts them, over real sockets: a per-try timeout that
// is retried (a timeout and an error, then a success on the retry), a route timeout before any
// response (timeout and error) and after the response started (timeout only: the answer was
// already charged as a success), as Envoy's router charges its host stats.

import { afterEach, describe, expect, it } from "vitest";
import type { RetryPolicy, RouteAction } from "../../src/config/model/types.js";
import { StatsStore } from "../../src/observability/stats/stats-store.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { parseResponses, rawExchange } from "../helpers/raw-client.js";
import { startEchoUpstream, type EchoUpstream, type Handler } from "../helpers/upstreams.js";
import { waitFor } from "../helpers/wait.js";

let proxy: TestProxy | undefined;
let upstream: EchoUpstream | undefined;
afterEach(async () => {
  await proxy?.close();
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

const retry5xx: RetryPolicy = {
  retryOn: ["5xx"],
  numRetries: 2,
  retriableStatusCodes: [],
  retriableHeaders: [],
  retryHostPredicatePreviousHosts: false,
  hostSelectionRetryMaxAttempts: 1,
  backoffBaseMs: 1,
  backoffMaxMs: 1,
  perTryTimeoutMs: 100,
};

async function setup(handler: Handler, action: Partial<RouteAction>): Promise<{ stats: StatsStore; key: string }> {
  upstream = await startEchoUpstream("svc", handler);
  const stats = new StatsStore();
  const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c", ...action } })] }], [cluster("c", [upstream.port])]);
  proxy = await startProxy(snap, { runtime: { stats } });
  return { stats, key: `127.0.0.1:${upstream.port}` };
}

function get(): Promise<number | undefined> {
  return rawExchange(proxy!.port, "GET / HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n").then((out) => parseResponses(out)[0]?.status);
}

/** Named values of the host (cluster "c"). */
function host(stats: StatsStore, key: string): Record<string, number> {
  const v = stats.snapshot().hosts?.["c"]?.[key] ?? [];
  const names = ["cx_connect_fail", "cx_total", "rq_error", "rq_success", "rq_timeout", "rq_total", "cx_active", "rq_active"];
  return Object.fromEntries(names.map((n, i) => [n, v[i] ?? 0]));
}

describe("router per-host stats", () => {
  it("a per-try timeout retried to success: one timeout and one error, then one success", async () => {
    const { stats, key } = await setup((req, res) => {
      if (req.headers["x-envoy-attempt-count"] === "1") return; // the first attempt never answers
      res.writeHead(200, { "content-length": "2" });
      res.end("ok");
    }, { retryPolicy: retry5xx });
    expect(await get()).toBe(200);
    // The timed-out attempt's connection is closed; the retry's stays in the pool.
    await waitFor(() => host(stats, key).cx_active === 1, 5_000, "the timed-out connection closed");
    expect(host(stats, key)).toEqual({ cx_connect_fail: 0, cx_total: 2, rq_error: 1, rq_success: 1, rq_timeout: 1, rq_total: 2, cx_active: 1, rq_active: 0 });
  });

  it("a route timeout before the response: a timeout and an error (the 504) on the host", async () => {
    const { stats, key } = await setup(() => {}, { timeoutMs: 100 });
    expect(await get()).toBe(504);
    await waitFor(() => host(stats, key).cx_active === 0, 5_000, "the timed-out connection closed");
    expect(host(stats, key)).toEqual({ cx_connect_fail: 0, cx_total: 1, rq_error: 1, rq_success: 0, rq_timeout: 1, rq_total: 1, cx_active: 0, rq_active: 0 });
  });

  it("a route timeout after the response started: the success stands, the timeout counts", async () => {
    const { stats, key } = await setup((_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial"); // and never the rest
    }, { timeoutMs: 100 });
    expect(await get()).toBe(200);
    await waitFor(() => host(stats, key).cx_active === 0, 5_000, "the timed-out connection closed");
    expect(host(stats, key)).toEqual({ cx_connect_fail: 0, cx_total: 1, rq_error: 0, rq_success: 1, rq_timeout: 1, rq_total: 1, cx_active: 0, rq_active: 0 });
  });
});
