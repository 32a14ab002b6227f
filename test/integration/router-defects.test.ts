// Router defects fixed with the seams refactor, each over real sockets with the clock under test
// control: a retry whose body outgrows the replay buffer during its back-off (Envoy's 507), and
// mirrors that accept connections and never answer (bounded by the route timeout, Envoy's stream
// idle timeout and the mirror cluster's circuit breaker).

import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { RetryPolicy } from "../../src/config/model/types.js";
import { SHADOW_DEFAULT_TIMEOUT_MS } from "../../src/router/shadow-request.js";
import { ManualTimers } from "../helpers/manual-timers.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { parseResponses, rawExchange } from "../helpers/raw-client.js";
import { startEchoUpstream, startRawUpstream, type EchoUpstream, type RawUpstream } from "../helpers/upstreams.js";
import { waitFor } from "../helpers/wait.js";

let proxy: TestProxy | undefined;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

const U = 4294967295;

function retries5xx(): RetryPolicy {
  return { retryOn: ["5xx"], numRetries: 2, retriableStatusCodes: [], retriableHeaders: [], retryHostPredicatePreviousHosts: true, hostSelectionRetryMaxAttempts: 5, backoffBaseMs: 25, backoffMaxMs: 250 };
}

describe("retry buffer overflow during back-off", () => {
  it("answers 507 `exceeded request buffer limit while retrying upstream` and sends nothing truncated upstream", async () => {
    // Answers 503 once the head and FIRST bytes of body arrived, without waiting for the rest.
    const FIRST = 1_000 * 1024;
    const heads: string[] = [];
    const up: RawUpstream = await startRawUpstream((s) => {
      let seen = Buffer.alloc(0);
      let answered = false;
      s.on("data", (d: Buffer) => {
        seen = Buffer.concat([seen, d]);
        const end = seen.indexOf("\r\n\r\n");
        if (!answered && end !== -1 && seen.length - end - 4 >= FIRST) {
          answered = true;
          heads.push(seen.subarray(0, end).toString("latin1"));
          s.write("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
        }
      });
    });
    cleanups.push(() => up.close());
    const timers = new ManualTimers();
    const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c", retryPolicy: retries5xx() } })] }], [cluster("c", [up.port])]);
    proxy = await startProxy(snap, { timers });
    const total = 2 * 1024 * 1024;
    const c: Socket = connect({ host: "127.0.0.1", port: proxy.port });
    let out = "";
    c.on("data", (d: Buffer) => (out += d.toString("latin1")));
    // The proxy closes with upload bytes unread: the kernel may answer them with a reset.
    c.on("error", () => {});
    const closed = new Promise<void>((r) => c.on("close", () => r()));
    c.write(`POST /upload HTTP/1.1\r\nHost: svc\r\nContent-Length: ${total}\r\n\r\n`);
    c.write(Buffer.alloc(FIRST, 97));
    // The first attempt got its 503; the retry waits for its back-off (a timer nobody fires).
    await waitFor(() => heads.length === 1 && timers.waiting().length === 1, 5_000, "retry back-off armed");
    // Less than the 64 KiB a waiting retry may queue gets it past the 1 MiB replay limit.
    c.write(Buffer.alloc(total - FIRST, 98));
    await closed;
    const [r] = parseResponses(out);
    expect(r!.status).toBe(507);
    expect(r!.body.toString()).toBe("exceeded request buffer limit while retrying upstream");
    expect(r!.headers["connection"]).toBe("close");
    await waitFor(() => proxy!.streams.length === 1);
    expect(proxy.streams[0]).toMatchObject({ responseCode: 507, responseCodeDetails: "request_payload_exceeded_retry_buffer_limit", responseFlags: [] });
    // The back-off never fires into a second attempt: no truncated replay reaches the upstream.
    timers.advance(1_000);
    expect(heads).toHaveLength(1);
    expect(proxy.runtime.services.clusters.get("c")!.hosts[0]!.active).toBe(0);
  });
});

describe("mirrors that never answer", () => {
  async function setup(timeoutMs: number, mirrorLimit = U): Promise<{ p: TestProxy; stuck: RawUpstream; primary: EchoUpstream; timers: ManualTimers }> {
    const primary = await startEchoUpstream("primary");
    cleanups.push(() => primary.close());
    const stuck = await startRawUpstream((s) => s.resume());
    cleanups.push(() => stuck.close());
    const timers = new ManualTimers();
    const snap = await snapshotWith(
      [{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c", timeoutMs, requestMirrorPolicies: [{ cluster: "m", disableShadowHostSuffixAppend: true }] } })] }],
      [cluster("c", [primary.port]), cluster("m", [stuck.port], { circuitBreakers: { maxConnections: U, maxPendingRequests: U, maxRequests: mirrorLimit, maxRetries: U } })],
    );
    const p = await startProxy(snap, { timers });
    proxy = p;
    return { p, stuck, primary, timers };
  }

  const get = (p: TestProxy) => rawExchange(p.port, "GET / HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n").then((o) => parseResponses(o)[0]!.status);
  const openSockets = (u: RawUpstream) => u.sockets.filter((s) => !s.destroyed).length;

  it("are dropped at the route timeout: their sockets close and their counts go back to zero", async () => {
    const { p, stuck, timers } = await setup(1_000);
    for (let i = 0; i < 10; i++) expect(await get(p)).toBe(200);
    const mirrorHost = p.runtime.services.clusters.get("m")!.hosts[0]!;
    await waitFor(() => stuck.sockets.length === 10, 5_000, "10 shadow connections");
    expect(mirrorHost.active).toBe(10);
    timers.advance(1_000);
    expect(mirrorHost.active).toBe(0);
    await waitFor(() => openSockets(stuck) === 0, 5_000, "shadow sockets closed");
    // The mirror cluster's request slots came back too: the next mirrored request gets one.
    expect(await get(p)).toBe(200);
    await waitFor(() => stuck.sockets.length === 11, 5_000, "a new shadow");
  });

  it("without a route timeout, Envoy's 5 min stream idle timeout bounds them", async () => {
    const { p, stuck, timers } = await setup(0);
    for (let i = 0; i < 3; i++) expect(await get(p)).toBe(200);
    await waitFor(() => stuck.sockets.length === 3, 5_000, "3 shadow connections");
    timers.advance(SHADOW_DEFAULT_TIMEOUT_MS - 1);
    expect(openSockets(stuck)).toBe(3);
    timers.advance(1);
    await waitFor(() => openSockets(stuck) === 0, 5_000, "shadow sockets closed");
    expect(p.runtime.services.clusters.get("m")!.hosts[0]!.active).toBe(0);
  });

  it("the mirror cluster's maxRequests caps the shadows in flight; the primary never notices", async () => {
    const { p, stuck, primary } = await setup(0, 4);
    for (let i = 0; i < 10; i++) expect(await get(p)).toBe(200);
    expect(primary.requests).toHaveLength(10);
    await waitFor(() => stuck.sockets.length === 4, 5_000, "4 shadow connections");
    // Nothing beyond the cap was even dialled.
    await new Promise<void>((r) => setImmediate(r));
    expect(stuck.sockets).toHaveLength(4);
  });
});
