// Downstream idle and request-head timeouts over real sockets: `0` turns each off (as the flags
// document), a positive value closes / answers 408. The sweep is driven with an explicit coarse
// time far in the future, so no test waits for a timeout to elapse.

import type { Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { DownstreamLimits } from "../../src/bootstrap/bootstrap.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { openSocket, parseResponses } from "../helpers/raw-client.js";
import { startEchoUpstream } from "../helpers/upstreams.js";
import { waitFor } from "../helpers/wait.js";
import type { Http1ServerConnection } from "../../src/http/http1-server-connection.js";

/** 10^9 ms (~11 days) after start: past any timeout a test sets. */
const FAR_FUTURE = 1e9;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function proxyWith(limits: Partial<DownstreamLimits>): Promise<TestProxy> {
  const u = await startEchoUpstream("u");
  cleanups.push(() => u.close());
  const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c" } })] }], [cluster("c", [u.port])]);
  const p = await startProxy(snap, { limits });
  cleanups.push(() => p.close());
  return p;
}

interface Conn {
  s: Socket;
  out: () => string;
  isClosed: () => boolean;
  closed: Promise<void>;
}

async function conn(port: number): Promise<Conn> {
  const s = await openSocket(port);
  let out = "";
  let closed = false;
  s.on("data", (d: Buffer) => (out += d.toString("latin1")));
  s.on("error", () => {});
  const closedP = new Promise<void>((r) => s.once("close", () => ((closed = true), r())));
  cleanups.push(() => void s.destroy());
  return { s, out: () => out, isClosed: () => closed, closed: closedP };
}

describe("downstream timeouts", () => {
  it("--idle-timeout 0 is off: a keep-alive connection idle past any deadline still serves its next request", async () => {
    const p = await proxyWith({ idleTimeoutMs: 0 });
    const c = await conn(p.port);
    c.s.write("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => parseResponses(c.out()).length === 1, 5_000, "first response");
    p.runtime.sweep(FAR_FUTURE);
    c.s.write("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => parseResponses(c.out()).length === 2 || c.isClosed(), 5_000, "second response or close");
    expect(c.isClosed()).toBe(false);
    expect(parseResponses(c.out()).map((r) => r.status)).toEqual([200, 200]);
  });

  it("a positive --idle-timeout closes the idle connection once it has passed", async () => {
    const p = await proxyWith({ idleTimeoutMs: 1_000 });
    const c = await conn(p.port);
    c.s.write("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => parseResponses(c.out()).length === 1, 5_000, "first response");
    p.runtime.sweep(FAR_FUTURE);
    await c.closed;
    expect(parseResponses(c.out())).toHaveLength(1);
  });

  it("--request-headers-timeout 0 is off: a head that stalls past any deadline is still served when it completes", async () => {
    const p = await proxyWith({ requestHeadersTimeoutMs: 0 });
    const c = await conn(p.port);
    c.s.write("GET /slow HTTP/1.1\r\nHo");
    await waitFor(() => p.runtime.connections.size === 1 && ([...p.runtime.connections][0] as Http1ServerConnection).headStartedAt !== 0, 5_000, "partial head read");
    p.runtime.sweep(FAR_FUTURE);
    c.s.write("st: x\r\n\r\n");
    await waitFor(() => parseResponses(c.out()).length === 1 || c.isClosed(), 5_000, "response or close");
    expect(parseResponses(c.out()).map((r) => r.status)).toEqual([200]);
    expect(c.isClosed()).toBe(false);
  });

  it("a positive --request-headers-timeout answers a stalled head with 408 and closes", async () => {
    const p = await proxyWith({ requestHeadersTimeoutMs: 1_000 });
    const c = await conn(p.port);
    c.s.write("GET /slow HTTP/1.1\r\nHo");
    await waitFor(() => p.runtime.connections.size === 1 && ([...p.runtime.connections][0] as Http1ServerConnection).headStartedAt !== 0, 5_000, "partial head read");
    p.runtime.sweep(FAR_FUTURE);
    await c.closed;
    const rs = parseResponses(c.out());
    expect(rs.map((r) => [r.status, r.headers["connection"]])).toEqual([[408, "close"]]);
  });
});
