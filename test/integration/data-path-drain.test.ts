// Drain over real sockets. runtime.drainListeners(inboundOnly) is the graceful, per-listener drain
// of SIGTERM (Envoy's drain_listeners?inboundonly&graceful): still accepting, connection: close on
// every response. runtime.drain(timeoutMs) stops: no more accepting, in-flight exchanges finish
// (telling their clients to close), idle keep-alive connections close at once, the rest are
// force-closed when the timeout expires.

import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Snapshot } from "../../src/config/model/types.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { freePort } from "../helpers/upstreams.js";
import { openSocket, parseResponses } from "../helpers/raw-client.js";
import { startEchoUpstream, startRawUpstream, type EchoUpstream, type Handler, type RawUpstream } from "../helpers/upstreams.js";
import { waitFor, within } from "../helpers/wait.js";

let proxy: TestProxy | undefined;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function echo(handler?: Handler): Promise<EchoUpstream> {
  const u = await startEchoUpstream("u", handler);
  cleanups.push(() => u.close());
  return u;
}

async function raw(onConnection: (s: Socket) => void): Promise<RawUpstream> {
  const u = await startRawUpstream(onConnection);
  cleanups.push(() => u.close());
  return u;
}

async function proxyTo(port: number): Promise<TestProxy> {
  const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c" } })] }], [cluster("c", [port])]);
  proxy = await startProxy(snap);
  return proxy;
}

async function sock(port: number): Promise<{ s: Socket; out: () => string; closed: Promise<void>; isClosed: () => boolean }> {
  const s = await openSocket(port);
  let out = "";
  let closed = false;
  s.on("data", (d: Buffer) => (out += d.toString("latin1")));
  s.on("error", () => {});
  const closedP = new Promise<void>((r) =>
    s.once("close", () => {
      closed = true;
      r();
    }),
  );
  cleanups.push(() => void s.destroy());
  return { s, out: () => out, closed: closedP, isClosed: () => closed };
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      // Accepted by the kernel: the proxy must close it without serving anything.
      s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      let got = "";
      s.on("data", (d: Buffer) => (got += d.toString()));
      s.once("close", () => resolve(got === ""));
    });
    s.once("error", () => resolve(true));
  });
}

function timed<T>(p: Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  return p.then((value) => ({ value, ms: performance.now() - t0 }));
}

/** The same routes on two listeners: the first INBOUND, the second OUTBOUND. */
async function inboundAndOutbound(upstreamPort: number): Promise<{ p: TestProxy; inbound: number; outbound: number }> {
  const base: Snapshot = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c" } })] }], [cluster("c", [upstreamPort])]);
  const inbound = base.listeners[0]!.port;
  const outbound = await freePort();
  const snap: Snapshot = {
    ...base,
    listeners: [
      { ...base.listeners[0]!, name: `127.0.0.1_${inbound}`, trafficDirection: "INBOUND" },
      { ...base.listeners[0]!, name: `127.0.0.1_${outbound}`, port: outbound, trafficDirection: "OUTBOUND" },
    ],
  };
  proxy = await startProxy(snap);
  return { p: proxy, inbound, outbound };
}

describe("graceful drain of inbound listeners (SIGTERM)", () => {
  it("inbound: the next response on a kept-alive connection says close and the connection closes after it; new connections are accepted and answered the same way", async () => {
    const u = await echo();
    const { p, inbound } = await inboundAndOutbound(u.port);
    const kept = await sock(inbound);
    kept.s.write("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => parseResponses(kept.out()).length === 1, 5_000, "first response");
    p.runtime.drainListeners(true);
    // Idle connections are left open (closing one would race the client's next request).
    expect(kept.isClosed()).toBe(false);
    kept.s.write("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
    await kept.closed;
    expect(parseResponses(kept.out()).map((r) => [r.status, r.headers["connection"]])).toEqual([
      [200, undefined],
      [200, "close"],
    ]);
    const fresh = await sock(inbound);
    fresh.s.write("GET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
    await fresh.closed;
    expect(parseResponses(fresh.out()).map((r) => [r.status, r.headers["connection"]])).toEqual([[200, "close"]]);
  });

  it("outbound keeps serving with keep-alive while inbound drains", async () => {
    const u = await echo();
    const { p, outbound } = await inboundAndOutbound(u.port);
    p.runtime.drainListeners(true);
    const c = await sock(outbound);
    for (let i = 1; i <= 3; i++) {
      c.s.write(`GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await waitFor(() => parseResponses(c.out()).length === i, 5_000, `response ${i}`);
    }
    expect(c.isClosed()).toBe(false);
    expect(parseResponses(c.out()).map((r) => [r.status, r.headers["connection"]])).toEqual(Array(3).fill([200, undefined]));
  });

  it("drainListeners(false) drains outbound listeners too", async () => {
    const u = await echo();
    const { p, outbound } = await inboundAndOutbound(u.port);
    p.runtime.drainListeners(false);
    const c = await sock(outbound);
    c.s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.closed;
    expect(parseResponses(c.out()).map((r) => [r.status, r.headers["connection"]])).toEqual([[200, "close"]]);
  });
});

describe("drain", () => {
  it("closes idle keep-alive connections at once and stops accepting", async () => {
    const u = await echo();
    const p = await proxyTo(u.port);
    const idle = await sock(p.port);
    idle.s.write("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => parseResponses(idle.out()).length === 1, 5_000, "first response");
    const { ms } = await timed(within(p.runtime.drain(10_000), 3_000, "drain"));
    await within(idle.closed, 2_000, "the idle connection's close");
    // No need to wait for the timeout when nothing is in flight.
    expect(ms).toBeLessThan(5_000);
    expect(await refused(p.port)).toBe(true);
  });

  it("finishes an in-flight slow response, then closes its connection", async () => {
    let finish: (() => void) | undefined;
    const u = await echo((req, res) => {
      if (req.url !== "/slow") return void res.end("quick");
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("slow ");
      finish = () => res.end("but complete");
    });
    const p = await proxyTo(u.port);
    const busy = await sock(p.port);
    busy.s.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => busy.out().includes("slow "), 5_000, "response started");
    const idle = await sock(p.port);
    idle.s.write("GET /quick HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => idle.out().includes("\r\n\r\n"), 5_000, "idle connection's response");
    const drained = timed(within(p.runtime.drain(10_000), 5_000, "drain"));
    // The idle connection goes first; the busy one keeps streaming until its response ends.
    await within(idle.closed, 2_000, "the idle connection's close");
    expect(busy.isClosed()).toBe(false);
    finish!();
    const { ms } = await drained;
    await within(busy.closed, 2_000, "the busy connection's close");
    // Chunked body: the final chunk arrived before the close.
    expect(busy.out()).toContain("but complete");
    expect(busy.out()).toMatch(/0\r\n\r\n$/);
    expect(ms).toBeLessThan(8_000);
    expect(p.streams.find((s) => s.path === "/slow")).toMatchObject({ responseCode: 200, responseFlags: [] });
  });

  it("a response whose head goes out during drain carries connection: close; pipelined requests behind it are not served", async () => {
    let answer: (() => void) | undefined;
    const u = await echo((req, res) => {
      if (req.url === "/hold") answer = () => res.end("held");
      else res.end("next");
    });
    const p = await proxyTo(u.port);
    const c = await sock(p.port);
    // Pipelined: the second request is read while draining.
    c.s.write("GET /hold HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => u.requests.length === 1, 5_000, "first request upstream");
    const drained = p.runtime.drain(10_000);
    answer!();
    await within(c.closed, 5_000, "the connection's close");
    await within(drained, 5_000, "drain");
    const rs = parseResponses(c.out());
    expect(rs[0]!.body.toString()).toBe("held");
    expect(rs[0]!.headers["connection"]).toBe("close");
    expect(rs).toHaveLength(1);
    expect(u.requests.map((r) => r.url)).toEqual(["/hold"]);
  });

  it("force-closes connections still busy when the timeout expires", async () => {
    let upstreamClosed = false;
    const u = await raw((s) => {
      // Reads but never answers.
      s.resume();
      s.on("close", () => (upstreamClosed = true));
    });
    const p = await proxyTo(u.port);
    const stuck = await sock(p.port);
    stuck.s.write("GET /never HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => u.sockets.length === 1, 5_000, "upstream connection");
    const { ms } = await timed(within(p.runtime.drain(300), 3_000, "drain"));
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(5_000);
    await within(stuck.closed, 2_000, "the stuck connection's close");
    expect(p.runtime.connections.size).toBe(0);
    await waitFor(() => p.streams.length === 1, 2_000, "stream record");
    expect(p.streams[0]!.responseFlags).toContain("DC");
    await waitFor(() => upstreamClosed, 2_000, "upstream connection closed");
  });
});
