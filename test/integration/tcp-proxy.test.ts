// tcp_proxy over real sockets: byte relay both ways, server-first protocols, half-close in both
// directions, resets, connect failure/timeout, overflow, no healthy host, unknown cluster,
// connect retries, idle timeout, weighted clusters, reload, back-pressure, and the StreamInfo
// record of each connection.

import { afterEach, describe, expect, it } from "vitest";
import type { Socket } from "node:net";
import type { Random } from "../../src/common/random.js";
import type { TimerHandle, Timers } from "../../src/common/timers.js";
import { TcpProxySession } from "../../src/tcp/tcp-proxy-session.js";
import { cluster, startProxy, type TestProxy } from "../helpers/proxy.js";
import { outlierConfig } from "../helpers/outlier-config.js";
import { readUntilEnd, tcpProxyConfig, tcpSnapshot, TcpTestClient } from "../helpers/tcp.js";
import { freePort, startRawUpstream, type RawUpstream } from "../helpers/upstreams.js";
import { waitFor } from "../helpers/wait.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function upstream(onConnection: (s: Socket) => void): Promise<RawUpstream> {
  const u = await startRawUpstream(onConnection);
  cleanups.push(() => u.close());
  return u;
}

async function proxy(...args: Parameters<typeof startProxy>): Promise<TestProxy> {
  const p = await startProxy(...args);
  cleanups.push(() => p.close());
  return p;
}

function client(port: number, opts: { allowHalfOpen?: boolean } = {}): TcpTestClient {
  const c = new TcpTestClient(port, opts);
  cleanups.push(() => void c.socket.destroy());
  return c;
}

/** Echoes every byte back and ends when the client ends. */
function echo(s: Socket): void {
  s.pipe(s);
}

describe("tcp_proxy relays bytes", () => {
  it("echoes both ways and records one tcp StreamInfo with byte counts, host, cluster and timings", async () => {
    const up = await upstream(echo);
    const p = await proxy(await tcpSnapshot(tcpProxyConfig(), [cluster("backend", [up.port])]));
    const c = client(p.port);
    c.socket.write("hello");
    await c.received("hello");
    c.socket.write(" world");
    await c.received("hello world");
    c.socket.end();
    await c.closed;
    await waitFor(() => p.streams.length === 1, 5_000, "the connection's StreamInfo");
    const si = p.streams[0]!;
    expect(si).toMatchObject({
      kind: "tcp",
      protocol: "-",
      method: "-",
      path: "-",
      authority: "-",
      responseCode: 0,
      responseFlags: [],
      bytesReceived: 11,
      bytesSent: 11,
      upstreamBytesSent: 11,
      upstreamBytesReceived: 11,
      clusterName: "backend",
      upstreamHost: `127.0.0.1:${up.port}`,
      attemptCount: 1,
      listenerName: `127.0.0.1_${p.port}`,
      filterChainName: "tcp_chain",
    });
    expect(si.upstreamLocalAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(si.downstreamLocalAddress).toBe(`127.0.0.1:${p.port}`);
    const t = si.timings;
    for (const k of ["upstreamConnectStart", "upstreamConnectComplete", "firstUpstreamTxByteSent", "lastUpstreamTxByteSent", "firstUpstreamRxByteReceived", "lastUpstreamRxByteReceived", "firstDownstreamTxByteSent", "lastDownstreamTxByteSent", "lastDownstreamRxByteReceived"] as const) {
      expect(t[k], k).toBeTypeOf("number");
    }
    expect(t.upstreamConnectStart!).toBeLessThanOrEqual(t.upstreamConnectComplete!);
    expect(t.upstreamConnectComplete!).toBeLessThanOrEqual(t.firstUpstreamTxByteSent!);
    expect(si.durationMs).toBeGreaterThanOrEqual(t.lastDownstreamTxByteSent!);
    expect(p.runtime.connections.size).toBe(0);
  });

  it("delivers a server-first greeting without the client sending anything (MySQL/SMTP style)", async () => {
    const up = await upstream((s) => s.write("220 smtp.example ESMTP ready\r\n"));
    const p = await proxy(await tcpSnapshot(tcpProxyConfig(), [cluster("backend", [up.port])]));
    const c = client(p.port);
    await c.received("220 smtp.example ESMTP ready\r\n");
    expect(up.sockets).toHaveLength(1);
  });

  it("client half-close: the upstream sees the FIN after the bytes and can still answer", async () => {
    const up = await upstream((s) => {
      // A half-close-aware server (Node's default would answer our FIN with its own at once).
      s.allowHalfOpen = true;
      void readUntilEnd(s).then((got) => s.end(`got ${got.length} bytes: ${got}`));
    });
    const p = await proxy(await tcpSnapshot(tcpProxyConfig(), [cluster("backend", [up.port])]));
    const c = client(p.port);
    await c.connected;
    c.socket.end("request body");
    await c.ended;
    expect(c.data).toBe("got 12 bytes: request body");
    await c.closed;
    await waitFor(() => p.streams.length === 1, 5_000, "StreamInfo");
    expect(p.streams[0]).toMatchObject({ bytesReceived: 12, bytesSent: 26, responseFlags: [] });
  });

  it("upstream half-close: the client gets the FIN and can keep sending to the upstream", async () => {
    let upstreamGot: Promise<string> | undefined;
    const up = await upstream((s) => {
      upstreamGot = readUntilEnd(s);
      s.end("bye");
    });
    const p = await proxy(await tcpSnapshot(tcpProxyConfig(), [cluster("backend", [up.port])]));
    const c = client(p.port, { allowHalfOpen: true });
    await c.ended;
    expect(c.data).toBe("bye");
    c.socket.write("still ");
    c.socket.end("talking");
    expect(await upstreamGot).toBe("still talking");
    await c.closed;
    await waitFor(() => p.streams.length === 1, 5_000, "StreamInfo");
    expect(p.streams[0]).toMatchObject({ bytesReceived: 13, bytesSent: 3 });
  });

  it("an upstream reset resets the downstream", async () => {
    const up = await upstream((s) => s.once("data", () => s.resetAndDestroy()));
    const p = await proxy(await tcpSnapshot(tcpProxyConfig(), [cluster("backend", [up.port])]));
    const c = client(p.port);
    c.socket.write("x");
    await c.closed;
    await waitFor(() => p.streams.length === 1, 5_000, "StreamInfo");
    expect(p.runtime.connections.size).toBe(0);
  });

  it("a downstream reset closes the upstream connection", async () => {
    let upstreamClosed: Promise<void> | undefined;
    const up = await upstream((s) => {
      upstreamClosed = new Promise((r) => s.once("close", () => r()));
      s.write("ready");
    });
    const p = await proxy(await tcpSnapshot(tcpProxyConfig(), [cluster("backend", [up.port])]));
    const c = client(p.port);
    await c.received("ready");
    c.socket.resetAndDestroy();
    await upstreamClosed;
    await waitFor(() => p.streams.length === 1, 5_000, "StreamInfo");
  });

  it("applies back-pressure: a client that does not read pauses the upstream, and every byte arrives once it reads", async () => {
    const total = 16 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const up = await upstream((s) => {
      let sent = 0;
      const pump = (): void => {
        while (sent < total) {
          sent += chunk.length;
          if (!s.write(chunk)) return void s.once("drain", pump);
        }
        s.end();
      };
      pump();
    });
    const p = await proxy(await tcpSnapshot(tcpProxyConfig(), [cluster("backend", [up.port])]));
    const c = new TcpTestClient(p.port);
    cleanups.push(() => void c.socket.destroy());
    c.socket.pause();
    const session = await waitFor(() => [...p.runtime.connections].find((x): x is TcpProxySession => x instanceof TcpProxySession), 5_000, "session");
    await waitFor(() => session.upstreamReadPaused, 10_000, "upstream reading paused by back-pressure");
    let got = 0;
    c.socket.removeAllListeners("data");
    c.socket.on("data", (b: Buffer) => (got += b.length));
    c.socket.resume();
    await c.ended;
    expect(got).toBe(total);
    c.socket.end();
    await waitFor(() => p.streams.length === 1, 5_000, "StreamInfo");
    expect(p.streams[0]).toMatchObject({ bytesSent: total, upstreamBytesReceived: total });
  });
});

describe("tcp_proxy upstream failures", () => {
  it("connect failure closes the downstream without a byte: UF, transport failure reason, outlier detection counts it", async () => {
    const dead = await freePort();
    const p = await proxy(await tcpSnapshot(tcpProxyConfig(), [cluster("backend", [dead], { outlierDetection: outlierConfig({ consecutive5xx: 1, maxEjectionPercent: 100 }), healthyPanicThreshold: 0 })]));
    const c = client(p.port);
    await c.closed;
    expect(c.data).toBe("");
    await waitFor(() => p.streams.length === 1, 5_000, "StreamInfo");
    expect(p.streams[0]).toMatchObject({ kind: "tcp", responseFlags: ["UF"], upstreamHost: `127.0.0.1:${dead}`, upstreamTransportFailureReason: "delayed connect error: 111", bytesSent: 0, bytesReceived: 0 });
    // The one host is now ejected: the next connection finds no healthy upstream.
    const c2 = client(p.port);
    await c2.closed;
    await waitFor(() => p.streams.length === 2, 5_000, "second StreamInfo");
    expect(p.streams[1]!.responseFlags).toEqual(["UH"]);
  });

  it("connect timeout (cluster connectTimeout, on the injected timers) closes the downstream: UF", async () => {
    const up = await upstream(() => {});
    // Fires the 1234 ms connect timeout in a microtask: before any connect can complete.
    const timers: Timers = {
      set(fn, ms): TimerHandle {
        if (ms === 1234) queueMicrotask(fn);
        return undefined;
      },
      clear() {},
    };
    const p = await proxy(await tcpSnapshot(tcpProxyConfig(), [cluster("backend", [up.port], { connectTimeoutMs: 1234 })]), { timers });
    const c = client(p.port);
    await c.closed;
    expect(c.data).toBe("");
    await waitFor(() => p.streams.length === 1, 5_000, "StreamInfo");
    expect(p.streams[0]).toMatchObject({ responseFlags: ["UF"], upstreamTransportFailureReason: "connection timeout" });
  });

  it("retries the connect on another host up to maxConnectAttempts", async () => {
    const dead = await freePort();
    const up = await upstream((s) => s.write("hi"));
    const p = await proxy(await tcpSnapshot(tcpProxyConfig({ maxConnectAttempts: 2 }), [cluster("backend", [dead, up.port])]));
    const c = client(p.port);
    await c.received("hi");
    c.socket.end();
    await c.closed;
    await waitFor(() => p.streams.length === 1, 5_000, "StreamInfo");
    // Envoy keeps the flag of the failed attempt.
    expect(p.streams[0]).toMatchObject({ attemptCount: 2, responseFlags: ["UF"], upstreamHost: `127.0.0.1:${up.port}` });
  });

  it("with one attempt (Istio's default) a failed connect is final", async () => {
    const dead = await freePort();
    const up = await upstream((s) => s.write("hi"));
    const p = await proxy(await tcpSnapshot(tcpProxyConfig(), [cluster("backend", [dead, up.port])]));
    const c = client(p.port);
    await c.closed;
    expect(c.data).toBe("");
    await waitFor(() => p.streams.length === 1, 5_000, "StreamInfo");
    expect(p.streams[0]).toMatchObject({ attemptCount: 1, responseFlags: ["UF"] });
  });

  it("at the cluster's maxConnections a new connection is closed at once: UO", async () => {
    const up = await upstream((s) => s.write("ok"));
    const limits = { maxConnections: 1, maxPendingRequests: 4294967295, maxRequests: 4294967295, maxRetries: 4294967295 };
    const p = await proxy(await tcpSnapshot(tcpProxyConfig(), [cluster("backend", [up.port], { circuitBreakers: limits })]));
    const first = client(p.port);
    await first.received("ok");
    const second = client(p.port);
    await second.closed;
    expect(second.data).toBe("");
    await waitFor(() => p.streams.length === 1, 5_000, "StreamInfo");
    expect(p.streams[0]).toMatchObject({ responseFlags: ["UO"], clusterName: "backend" });
    // The slot comes back when the first connection closes.
    first.socket.end();
    await first.closed;
    await waitFor(() => p.streams.length === 2, 5_000, "first StreamInfo");
    const third = client(p.port);
    await third.received("ok");
  });

  it("a cluster without endpoints: UH; an unknown cluster: NC", async () => {
    const empty = cluster("backend", []);
    const p = await proxy(await tcpSnapshot(tcpProxyConfig(), [empty]));
    const c = client(p.port);
    await c.closed;
    await waitFor(() => p.streams.length === 1, 5_000, "StreamInfo");
    expect(p.streams[0]!.responseFlags).toEqual(["UH"]);

    const p2 = await proxy(await tcpSnapshot(tcpProxyConfig({ cluster: "missing" }), [empty]));
    const c2 = client(p2.port);
    await c2.closed;
    await waitFor(() => p2.streams.length === 1, 5_000, "StreamInfo");
    expect(p2.streams[0]).toMatchObject({ responseFlags: ["NC"], clusterName: "missing" });
  });
});

describe("tcp_proxy timeouts, weights, reload, drain", () => {
  it("idle timeout closes both sides when no byte flows either way for that long; traffic resets it", async () => {
    let upstreamClosed: Promise<void> | undefined;
    const up = await upstream((s) => {
      upstreamClosed = new Promise((r) => s.once("close", () => r()));
      s.pipe(s);
    });
    const p = await proxy(await tcpSnapshot(tcpProxyConfig({ idleTimeoutMs: 1_000 }), [cluster("backend", [up.port])]));
    const c = client(p.port);
    p.runtime.sweep(1_000_000);
    c.socket.write("ping");
    await c.received("ping");
    p.runtime.sweep(1_000_999);
    expect(p.runtime.connections.size).toBe(1);
    c.socket.write("again");
    await c.received("pingagain");
    p.runtime.sweep(1_001_500);
    expect(p.runtime.connections.size).toBe(1);
    p.runtime.sweep(1_002_000);
    await c.closed;
    await upstreamClosed;
    await waitFor(() => p.streams.length === 1, 5_000, "StreamInfo");
    expect(p.streams[0]!.responseFlags).toEqual([]);
  });

  it("idle timeout 0 never closes", async () => {
    const up = await upstream(echo);
    const p = await proxy(await tcpSnapshot(tcpProxyConfig({ idleTimeoutMs: 0 }), [cluster("backend", [up.port])]));
    const c = client(p.port);
    c.socket.write("x");
    await c.received("x");
    p.runtime.sweep(Number.MAX_SAFE_INTEGER);
    c.socket.write("y");
    await c.received("xy");
  });

  it("weighted clusters: each connection draws its cluster once with the worker's Random", async () => {
    const a = await upstream((s) => s.end("A"));
    const b = await upstream((s) => s.end("B"));
    const draws = [0.1, 0.9, 0.3, 0.5];
    const random: Random = { next: () => draws.shift() ?? 0, int: () => 0 };
    const cfg = tcpProxyConfig({ cluster: undefined, weightedClusters: [{ name: "a", weight: 40 }, { name: "zero", weight: 0 }, { name: "b", weight: 60 }] });
    const p = await proxy(await tcpSnapshot(cfg, [cluster("a", [a.port]), cluster("b", [b.port])]), { random });
    const got: string[] = [];
    for (let i = 0; i < 4; i++) {
      const c = client(p.port);
      await c.ended;
      got.push(c.data);
    }
    // 0.1×100 = 10 < 40 → a; 90 → b; 30 → a; 50 → b.
    expect(got).toEqual(["A", "B", "A", "B"]);
  });

  it("reload: a live connection keeps its upstream, new connections use the new cluster", async () => {
    const a = await upstream((s) => s.pipe(s));
    const b = await upstream((s) => s.end("from b"));
    const first = await tcpSnapshot(tcpProxyConfig({ cluster: "a" }), [cluster("a", [a.port]), cluster("b", [b.port])]);
    const p = await proxy(first);
    const live = client(p.port);
    live.socket.write("one");
    await live.received("one");
    const second = await tcpSnapshot(tcpProxyConfig({ cluster: "b" }), [cluster("a", [a.port]), cluster("b", [b.port])], "tcp/2", p.port);
    expect((await p.runtime.apply(second)).ok).toBe(true);
    live.socket.write("two");
    await live.received("onetwo");
    const fresh = client(p.port);
    await fresh.ended;
    expect(fresh.data).toBe("from b");
  });

  it("a snapshot with a bad tcp_proxy config is refused with the chain named", async () => {
    const p = await proxy(await tcpSnapshot(tcpProxyConfig(), [cluster("backend", [1])]));
    const bad = await tcpSnapshot(tcpProxyConfig({ cluster: undefined, weightedClusters: [{ name: "a", weight: 0 }] }), [], "tcp/2", p.port);
    const r = await p.runtime.apply(bad);
    expect(r.ok).toBe(false);
    expect(r.errors.join("\n")).toContain("filter chain tcp_chain: tcp_proxy weighted clusters have a total weight of 0");
    const both = await tcpSnapshot(tcpProxyConfig({ weightedClusters: [{ name: "a", weight: 1 }] }), [], "tcp/3", p.port);
    expect((await p.runtime.apply(both)).errors.join("\n")).toContain("tcp_proxy needs exactly one of cluster and weightedClusters");
    const attempts = await tcpSnapshot(tcpProxyConfig({ maxConnectAttempts: 0 }), [], "tcp/4", p.port);
    expect((await p.runtime.apply(attempts)).errors.join("\n")).toContain("maxConnectAttempts 0 must be an integer >= 1");
  });

  it("graceful drain leaves TCP connections open; the drain deadline closes them", async () => {
    const up = await upstream(echo);
    const p = await proxy(await tcpSnapshot(tcpProxyConfig(), [cluster("backend", [up.port])]));
    const c = client(p.port);
    c.socket.write("a");
    await c.received("a");
    p.runtime.drainListeners(false);
    c.socket.write("b");
    await c.received("ab");
    await p.runtime.drain(50);
    await c.closed;
    await waitFor(() => p.streams.length === 1, 5_000, "StreamInfo");
  });
});
