// The StreamInfo record over real sockets: built by the stream, finished once, Envoy's timing
// points in order, attempt count, upstream local address and bytes both ways.

import { afterEach, describe, expect, it } from "vitest";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { parseResponses, rawExchange } from "../helpers/raw-client.js";
import { startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";
import { waitFor } from "../helpers/wait.js";

let proxy: TestProxy | undefined;
const ups: EchoUpstream[] = [];
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await Promise.all(ups.splice(0).map((u) => u.close()));
});

describe("StreamInfo", () => {
  it("records Envoy's timing points in order, attempts, the upstream local address and bytes both ways", async () => {
    const u = await startEchoUpstream("u", (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat([Buffer.from("echo:"), ...chunks]);
        res.writeHead(200, { "content-length": body.length });
        res.end(body);
      });
    });
    ups.push(u);
    const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("default", { route: { cluster: "c" } })] }], [cluster("c", [u.port])]);
    proxy = await startProxy(snap);
    const body = "z".repeat(3000);
    // Chunked on the way in: the record counts payload bytes, not framing.
    const chunked = `bb8\r\n${body}\r\n0\r\n\r\n`;
    const [r] = parseResponses(await rawExchange(proxy.port, `POST /s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunked}`));
    expect(r!.status).toBe(200);
    await waitFor(() => proxy!.streams.length === 1);
    const s = proxy.streams[0]!;
    expect(s).toMatchObject({ kind: "http", attemptCount: 1, responseCode: 200, bytesReceived: 3000, bytesSent: 3005, upstreamBytesSent: 3000, upstreamBytesReceived: 3005, upstreamHost: `127.0.0.1:${u.port}`, clusterName: "c", routeName: "default", filterChainName: `outbound_127.0.0.1_${proxy.port}` });
    expect(s.upstreamLocalAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    const t = s.timings;
    const order = [t.upstreamConnectStart, t.upstreamConnectComplete, t.firstUpstreamTxByteSent, t.firstUpstreamRxByteReceived, t.firstDownstreamTxByteSent, t.lastDownstreamTxByteSent];
    for (const v of order) expect(v).toBeTypeOf("number");
    for (let i = 1; i < order.length; i++) expect(order[i]!).toBeGreaterThanOrEqual(order[i - 1]!);
    expect(t.lastDownstreamRxByteReceived!).toBeLessThanOrEqual(t.lastUpstreamTxByteSent!);
    expect(t.lastUpstreamRxByteReceived!).toBeLessThanOrEqual(t.lastDownstreamTxByteSent!);
    expect(s.durationMs).toBeGreaterThanOrEqual(t.lastDownstreamTxByteSent!);
  });

  it("counts every attempt of a retried request, and a local reply has no upstream timings", async () => {
    let n = 0;
    const u = await startEchoUpstream("u", (_req, res) => {
      n++;
      res.writeHead(n === 1 ? 503 : 200, { "content-length": "2" });
      res.end("ok");
    });
    ups.push(u);
    const retryPolicy = { retryOn: ["5xx"], numRetries: 2, retriableStatusCodes: [], retriableHeaders: [], retryHostPredicatePreviousHosts: false, hostSelectionRetryMaxAttempts: 1, backoffBaseMs: 1, backoffMaxMs: 2 };
    const snap = await snapshotWith(
      [{ name: "vh", domains: ["svc"], routes: [route("default", { route: { cluster: "c", retryPolicy } })] }],
      [cluster("c", [u.port])],
    );
    proxy = await startProxy(snap);
    await rawExchange(proxy.port, "GET / HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n");
    await rawExchange(proxy.port, "GET / HTTP/1.1\r\nHost: nowhere\r\nConnection: close\r\n\r\n");
    await waitFor(() => proxy!.streams.length === 2);
    expect(proxy.streams[0]).toMatchObject({ responseCode: 200, attemptCount: 2 });
    expect(proxy.streams[1]).toMatchObject({ responseCode: 404, attemptCount: 0, responseFlags: ["NR"] });
    expect(proxy.streams[1]!.timings.upstreamConnectStart).toBeUndefined();
    expect(proxy.streams[1]!.timings.lastDownstreamTxByteSent).toBeTypeOf("number");
  });
});
