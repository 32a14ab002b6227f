// tls_inspector and http_inspector on a real listener: TLS passthrough by SNI through filter
// chains with serverNames, plaintext HTTP told from other TCP by application protocol, peeked
// bytes reaching the chain intact, filter_disabled ports, and the listener filter timeout
// (continue or close) on the injected timers, for clients that send nothing (server-first).

import { connect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { httpFilterChain, tcpProxyFilterChain } from "../../src/config/model/listener-defaults.js";
import type { FilterChain, Listener, ListenerFilterConfig, Snapshot } from "../../src/config/model/types.js";
import { parseClientHello } from "../../src/listener/filters/client-hello.js";
import { ManualTimers } from "../helpers/manual-timers.js";
import { cluster, route, startProxy, type TestProxy } from "../helpers/proxy.js";
import { parseResponses, rawExchange } from "../helpers/raw-client.js";
import { tcpProxyConfig, TcpTestClient } from "../helpers/tcp.js";
import { freePort, startEchoUpstream, startRawUpstream, type RawUpstream } from "../helpers/upstreams.js";
import { waitFor } from "../helpers/wait.js";

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const TLS_INSPECTOR: ListenerFilterConfig = { name: "envoy.filters.listener.tls_inspector" };
const HTTP_INSPECTOR: ListenerFilterConfig = { name: "envoy.filters.listener.http_inspector" };

function tcpChain(name: string, clusterName: string, match: FilterChain["filterChainMatch"] = {}): FilterChain {
  return { ...tcpProxyFilterChain(name, tcpProxyConfig({ statPrefix: clusterName, cluster: clusterName })), filterChainMatch: match };
}

/** A raw upstream that records what it reads and greets first (a server-first protocol). */
async function recorder(greeting: string): Promise<RawUpstream & { got: Buffer[] }> {
  const got: Buffer[] = [];
  const u = await startRawUpstream((s) => {
    s.write(greeting);
    s.on("data", (d: Buffer) => got.push(d));
  });
  closers.push(() => u.close());
  return Object.assign(u, { got });
}

async function start(snapshot: Snapshot, timers?: ManualTimers): Promise<TestProxy> {
  const p = await startProxy(snapshot, timers ? { timers, clock: timers } : {});
  closers.push(() => p.close());
  return p;
}

function listener(port: number, filters: ListenerFilterConfig[], chains: FilterChain[], extra: Partial<Listener> = {}): Listener {
  return { name: `l_${port}`, address: "127.0.0.1", port, trafficDirection: "OUTBOUND", listenerFilters: filters, filterChains: chains, ...extra };
}

describe("tls_inspector", () => {
  it("TLS passthrough by SNI: each ClientHello goes, byte for byte, to the chain of its server name", async () => {
    const a = await recorder("");
    const b = await recorder("");
    const port = await freePort();
    await start({
      version: "t/1",
      listeners: [listener(port, [TLS_INSPECTOR], [tcpChain("a", "a", { serverNames: ["a.example.com"] }), tcpChain("b", "b", { serverNames: ["*.b.example.com"], transportProtocol: "tls" })])],
      routeConfigs: {},
      clusters: { a: cluster("a", [a.port]), b: cluster("b", [b.port]) },
    });
    for (const [sni, up] of [["a.example.com", a], ["x.b.example.com", b]] as const) {
      const c = tlsConnect({ host: "127.0.0.1", port, servername: sni, rejectUnauthorized: false });
      c.on("error", () => {});
      closers.push(() => void c.destroy());
      await waitFor(() => parseClientHello(Buffer.concat(up.got)).kind === "hello");
      expect(parseClientHello(Buffer.concat(up.got))).toMatchObject({ serverName: sni });
    }
    // Each upstream saw only its own ClientHello.
    expect(parseClientHello(Buffer.concat(a.got))).toMatchObject({ serverName: "a.example.com" });
  });

  it("ALPN selects chains (Istio's mTLS chains match istio-peer-exchange); plaintext goes to the raw_buffer chain", async () => {
    const mtls = await recorder("");
    const plain = await recorder("plain-greeting\n");
    const port = await freePort();
    await start({
      version: "t/1",
      listeners: [
        listener(port, [TLS_INSPECTOR], [
          tcpChain("mtls", "mtls", { transportProtocol: "tls", applicationProtocols: ["istio-peer-exchange", "istio"] }),
          tcpChain("plain", "plain", { transportProtocol: "raw_buffer" }),
        ]),
      ],
      routeConfigs: {},
      clusters: { mtls: cluster("mtls", [mtls.port]), plain: cluster("plain", [plain.port]) },
    });
    const c = tlsConnect({ host: "127.0.0.1", port, ALPNProtocols: ["istio-peer-exchange", "istio"], rejectUnauthorized: false });
    c.on("error", () => {});
    closers.push(() => void c.destroy());
    await waitFor(() => mtls.got.length > 0);
    const p = new TcpTestClient(port);
    await p.connected;
    p.socket.write("hello plaintext");
    await p.received("plain-greeting\n");
    await waitFor(() => Buffer.concat(plain.got).toString() === "hello plaintext");
  });

  it("a ClientHello larger than 64 KiB closes the connection (Envoy's client_hello_too_large)", async () => {
    const up = await recorder("");
    const port = await freePort();
    await start({ version: "t/1", listeners: [listener(port, [TLS_INSPECTOR], [tcpChain("c", "c")])], routeConfigs: {}, clusters: { c: cluster("c", [up.port]) } });
    const c = new TcpTestClient(port);
    await c.connected;
    // A 100 000-byte ClientHello in full-size (16 KiB) handshake records.
    const hello = Buffer.concat([Buffer.from([1, 0x01, 0x86, 0xa0]), Buffer.alloc(100_000)]);
    const records: Buffer[] = [];
    for (let i = 0; i < hello.length; i += 16_384) {
      const part = hello.subarray(i, i + 16_384);
      records.push(Buffer.from([22, 3, 1, part.length >> 8, part.length & 255]), part);
    }
    c.socket.write(Buffer.concat(records));
    await c.closed;
    expect(up.got.length).toBe(0);
  });
});

describe("http_inspector", () => {
  it("plaintext HTTP/1.1 reaches the chain matching application protocol http/1.1; other TCP the default chain", async () => {
    const app = await startEchoUpstream("http");
    closers.push(() => app.close());
    const tcp = await recorder("");
    const port = await freePort();
    const httpChain = { ...httpFilterChain("http", "outbound", "rc"), filterChainMatch: { transportProtocol: "raw_buffer", applicationProtocols: ["http/1.1", "h2c"] } };
    const proxy = await start({
      version: "t/1",
      listeners: [listener(port, [TLS_INSPECTOR, HTTP_INSPECTOR], [httpChain], { defaultFilterChain: tcpChain("PassthroughFilterChain", "tcp") })],
      routeConfigs: { rc: { name: "rc", virtualHosts: [{ name: "v", domains: ["*"], routes: [route("r", { route: { cluster: "app" } as never })] }] } },
      clusters: { app: cluster("app", [app.port]), tcp: cluster("tcp", [tcp.port]) },
    });
    const res = parseResponses(await rawExchange(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    expect(res[0]?.headers["x-upstream"]).toBe("http");
    // HTTP/1.0 is detected too (http/1.0 is not in the chain's list: the default chain takes it).
    const c10 = new TcpTestClient(port);
    c10.socket.write("GET / HTTP/1.0\r\n\r\n");
    await waitFor(() => Buffer.concat(tcp.got).toString() === "GET / HTTP/1.0\r\n\r\n");
    c10.socket.destroy();
    await waitFor(() => proxy.streams.length === 2);
    expect(proxy.streams.map((s) => s.filterChainName)).toEqual(["http", "PassthroughFilterChain"]);
  });
});

describe("listener filter timeout", () => {
  /** ManualTimers that also remember every duration ever armed. */
  class RecordingTimers extends ManualTimers {
    armed: number[] = [];
    override set(fn: () => void, ms: number): unknown {
      this.armed.push(ms);
      return super.set(fn, ms);
    }
  }

  async function serverFirst(extra: Partial<Listener>, filters: ListenerFilterConfig[] = [TLS_INSPECTOR, HTTP_INSPECTOR]) {
    const timers = new RecordingTimers();
    const db = await recorder("mysql-greeting\n");
    const port = await freePort();
    const proxy = await start({ version: "t/1", listeners: [listener(port, filters, [tcpChain("db", "db")], extra)], routeConfigs: {}, clusters: { db: cluster("db", [db.port]) } }, timers);
    return { timers, db, port, proxy };
  }

  it("continue_on_listener_filters_timeout: a client that sends nothing reaches its chain when the timeout fires", async () => {
    const { timers, port, proxy } = await serverFirst({ listenerFiltersTimeoutMs: 1_000, continueOnListenerFiltersTimeout: true });
    const c = new TcpTestClient(port);
    await waitFor(() => timers.waiting().includes(1_000));
    timers.advance(999);
    expect(c.data).toBe("");
    timers.advance(1);
    await c.received("mysql-greeting\n");
    expect(proxy.runtime.services.stats.counter(`listener.127.0.0.1_${port}.downstream_pre_cx_timeout`).value).toBe(1);
  });

  it("bytes peeked before the timeout still reach the upstream, in order", async () => {
    const { timers, db, port } = await serverFirst({ listenerFiltersTimeoutMs: 1_000, continueOnListenerFiltersTimeout: true });
    const c = new TcpTestClient(port);
    await waitFor(() => timers.waiting().includes(1_000));
    c.socket.write("GET / HT"); // undecided for http_inspector
    await new Promise<void>((r) => setImmediate(r));
    await waitFor(() => timers.waiting().includes(1_000));
    timers.advance(1_000);
    await c.received("mysql-greeting\n");
    c.socket.write("TP/1.1\r\n");
    await waitFor(() => Buffer.concat(db.got).toString() === "GET / HTTP/1.1\r\n");
  });

  it("a TLS-only listener (STRICT) keeps waiting for a late ClientHello past the detection timeout, and closes after Envoy's 15 s", async () => {
    const timers = new RecordingTimers();
    const tlsApp = await recorder("");
    const port = await freePort();
    await start(
      { version: "t/1", listeners: [listener(port, [TLS_INSPECTOR], [tcpChain("mtls", "app", { transportProtocol: "tls" })], { listenerFiltersTimeoutMs: 100, continueOnListenerFiltersTimeout: true })], routeConfigs: {}, clusters: { app: cluster("app", [tlsApp.port]) } },
      timers,
    );
    const late = new TcpTestClient(port);
    await waitFor(() => timers.waiting().includes(100));
    timers.advance(100);
    // As plaintext no chain would take it: instead of closing, the inspector waits on.
    await waitFor(() => timers.waiting().includes(14_900));
    const tls = tlsConnect({ socket: late.socket, rejectUnauthorized: false, servername: "late.example" });
    tls.on("error", () => {});
    await waitFor(() => tlsApp.got.length > 0 && tlsApp.got[0]![0] === 0x16);
    expect(parseClientHello(Buffer.concat(tlsApp.got))).toMatchObject({ serverName: "late.example" });
    tls.destroy();
    const silent = new TcpTestClient(port);
    await waitFor(() => timers.waiting().includes(100));
    timers.advance(100);
    await waitFor(() => timers.waiting().includes(14_900));
    timers.advance(14_900);
    await silent.closed;
    expect(silent.data).toBe("");
  });

  it("without continue, the timeout closes the connection", async () => {
    const { timers, db, port } = await serverFirst({ listenerFiltersTimeoutMs: 1_000 });
    const c = new TcpTestClient(port);
    await waitFor(() => timers.waiting().includes(1_000));
    timers.advance(1_000);
    await c.closed;
    expect(c.data).toBe("");
    expect(db.sockets.length).toBe(0);
  });

  it("absent, the timeout is Envoy's 15 s; 0 arms none (Envoy: no timeout)", async () => {
    const a = await serverFirst({});
    new TcpTestClient(a.port);
    await waitFor(() => a.timers.waiting().includes(15_000));
    const b = await serverFirst({ listenerFiltersTimeoutMs: 0, continueOnListenerFiltersTimeout: true });
    const c = new TcpTestClient(b.port);
    await c.connected;
    // The inspector is waiting for bytes; as soon as they come the chain takes them.
    c.socket.write("\x00\x01");
    await c.received("mysql-greeting\n");
    // Only the upstream connect timeout (the cluster's 1 000 ms) was armed, no listener filter timeout.
    expect(b.timers.armed).toEqual([1_000]);
  });

  it("filter_disabled on the destination port skips the inspectors: a server-first protocol works at once", async () => {
    const disabled = await serverFirst({ listenerFiltersTimeoutMs: 0 }, [
      { ...TLS_INSPECTOR, disabledForDestinationPorts: [{ start: 1, end: 65_536 }] },
      { ...HTTP_INSPECTOR, disabledForDestinationPorts: [{ start: 80, end: 81 }, { start: 1, end: 65_536 }] },
    ]);
    const c = new TcpTestClient(disabled.port);
    await c.received("mysql-greeting\n");
    // A range that does not hold the port leaves the filter on: nothing until the client speaks.
    // A range that does not hold the port leaves the filter on: it waits for the client (here
    // until the timeout, counted as downstream_pre_cx_timeout).
    const enabled = await serverFirst({ listenerFiltersTimeoutMs: 1_000, continueOnListenerFiltersTimeout: true }, [{ ...HTTP_INSPECTOR, disabledForDestinationPorts: [{ start: 80, end: 81 }] }]);
    const e = new TcpTestClient(enabled.port);
    await waitFor(() => enabled.timers.waiting().includes(1_000));
    enabled.timers.advance(1_000);
    await e.received("mysql-greeting\n");
    expect(enabled.proxy.runtime.services.stats.counter(`listener.127.0.0.1_${enabled.port}.downstream_pre_cx_timeout`).value).toBe(1);
  });

  it("a client that goes away during inspection is closed without reaching a chain", async () => {
    const { timers, db, port, proxy } = await serverFirst({ listenerFiltersTimeoutMs: 1_000 });
    const s: Socket = connect({ host: "127.0.0.1", port });
    s.on("error", () => {});
    await waitFor(() => timers.waiting().includes(1_000));
    s.end("GE");
    await new Promise<void>((r) => s.once("close", () => r()));
    await waitFor(() => timers.waiting().length === 0);
    expect(db.sockets.length).toBe(0);
    expect(proxy.streams.length).toBe(0);
  });
});
