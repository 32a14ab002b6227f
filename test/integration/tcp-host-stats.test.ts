// Per-host stats (/clusters) for the TCP proxy: each proxied connection opens one upstream
// connection that is also one request on the host (Envoy's TCP pool attaches one stream per
// connection); a refused connect counts as a connect failure. Active counts fall back to zero.

import { afterEach, describe, expect, it } from "vitest";
import { StatsStore } from "../../src/observability/stats/stats-store.js";
import { cluster, startProxy, type TestProxy } from "../helpers/proxy.js";
import { tcpProxyConfig, tcpSnapshot, TcpTestClient } from "../helpers/tcp.js";
import { freePort, startRawUpstream, type RawUpstream } from "../helpers/upstreams.js";
import { waitFor } from "../helpers/wait.js";

let proxy: TestProxy | undefined;
let upstream: RawUpstream | undefined;
afterEach(async () => {
  await proxy?.close();
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

/** cx_connect_fail, cx_total, rq_error, rq_success, rq_timeout, rq_total, cx_active, rq_active */
function hostValues(stats: StatsStore, port: number): number[] | undefined {
  return stats.snapshot().hosts?.["backend"]?.[`127.0.0.1:${port}`];
}

describe("TCP proxy per-host stats", () => {
  it("a connection is one cx and one rq on the host while open; both active counts drop at close", async () => {
    upstream = await startRawUpstream((s) => s.pipe(s));
    const stats = new StatsStore();
    proxy = await startProxy(await tcpSnapshot(tcpProxyConfig(), [cluster("backend", [upstream.port])]), { runtime: { stats } });
    const clients = [new TcpTestClient(proxy.port), new TcpTestClient(proxy.port)];
    for (const [i, c] of clients.entries()) {
      c.socket.write(`ping${i}`);
      await c.received(`ping${i}`);
    }
    expect(hostValues(stats, upstream.port)).toEqual([0, 2, 0, 0, 0, 2, 2, 2]);
    for (const c of clients) c.socket.destroy();
    await waitFor(() => hostValues(stats, upstream!.port)?.[6] === 0, 5_000, "upstream connections released");
    expect(hostValues(stats, upstream.port)).toEqual([0, 2, 0, 0, 0, 2, 0, 0]);
  });

  it("a refused connect is a connect failure on the host, not a request", async () => {
    const closed = await freePort();
    const stats = new StatsStore();
    proxy = await startProxy(await tcpSnapshot(tcpProxyConfig(), [cluster("backend", [closed])]), { runtime: { stats } });
    const c = new TcpTestClient(proxy.port);
    await c.closed;
    expect(hostValues(stats, closed)).toEqual([1, 1, 0, 0, 0, 0, 0, 0]);
  });
});
