// WebSocket through the proxy with real peers: Node's WebSocket client (undici) and an RFC 6455
// echo server. upgrade_configs decide what passes (403 upgrade_failed otherwise, as Envoy);
// messages flow both ways, either side closes, and the upgrade shows in stats and StreamInfo.

import { afterEach, describe, expect, it } from "vitest";
import type { Route, UpgradeConfig } from "../../src/config/model/types.js";
import { StatsStore } from "../../src/observability/stats/stats-store.js";
import { hcmOfListener } from "../helpers/model.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { parseResponses, rawExchange } from "../helpers/raw-client.js";
import { Opcode, startWsEchoServer, type WsEchoServer } from "../helpers/websocket-echo.js";
import { ManualTimers } from "../helpers/manual-timers.js";
import { waitFor } from "../helpers/wait.js";

let proxy: TestProxy | undefined;
let server: WsEchoServer | undefined;
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await proxy?.close();
  proxy = undefined;
  await server?.close();
  server = undefined;
});

interface Setup {
  p: TestProxy;
  srv: WsEchoServer;
  stats: StatsStore;
  prefix: string;
}

async function setup(o: { hcm?: UpgradeConfig[] | undefined; route?: UpgradeConfig[]; extra?: Partial<Route>; timers?: ManualTimers } = {}): Promise<Setup> {
  const srv = await startWsEchoServer();
  server = srv;
  const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "ws", ...(o.route !== undefined ? { upgradeConfigs: o.route } : {}) }, ...o.extra })] }], [cluster("ws", [srv.port])]);
  const hcm = hcmOfListener(snap.listeners[0]!);
  if ("hcm" in o) {
    if (o.hcm === undefined) delete hcm.upgradeConfigs;
    else hcm.upgradeConfigs = o.hcm;
  }
  const stats = new StatsStore();
  proxy = await startProxy(snap, { runtime: { stats }, ...(o.timers !== undefined ? { timers: o.timers, clock: o.timers } : {}) });
  return { p: proxy, srv, stats, prefix: `http.${hcm.statPrefix}.` };
}

/** A connected client with its received messages and its close event. */
async function connect(port: number, path = "/chat"): Promise<{ ws: WebSocket; received: Array<string | Buffer>; closed: Promise<CloseEvent> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
  ws.binaryType = "arraybuffer";
  sockets.push(ws);
  const received: Array<string | Buffer> = [];
  ws.addEventListener("message", (e: MessageEvent) => received.push(typeof e.data === "string" ? e.data : Buffer.from(e.data as ArrayBuffer)));
  const closed = new Promise<CloseEvent>((r) => ws.addEventListener("close", (e) => r(e)));
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve());
    ws.addEventListener("error", () => reject(new Error("websocket failed to open")));
  });
  return { ws, received, closed };
}

/** A raw upgrade request and its (single) response. */
async function rawUpgrade(port: number, upgrade = "websocket"): Promise<ReturnType<typeof parseResponses>[number]> {
  const out = await rawExchange(port, `GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: ${upgrade}\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`, { responses: 1 });
  const [r] = parseResponses(out);
  if (r === undefined) throw new Error(`no response: ${JSON.stringify(out)}`);
  return r;
}

describe("WebSocket through the proxy", () => {
  it("text and binary messages both ways; the handshake reaches the server; the upgrade is counted while open", async () => {
    const { p, srv, stats, prefix } = await setup();
    const c = await connect(p.port);
    c.ws.send("hello");
    c.ws.send(new Uint8Array([0, 1, 2, 250, 255]));
    const big = "x".repeat(70_000);
    c.ws.send(big);
    await waitFor(() => c.received.length === 3, 5_000, "three echoes");
    expect(c.received[0]).toBe("hello");
    expect([...(c.received[1] as Buffer)]).toEqual([0, 1, 2, 250, 255]);
    expect(c.received[2]).toBe(big);
    const conn = srv.connections[0]!;
    expect(conn.messages.map((m) => m.opcode)).toEqual([Opcode.Text, Opcode.Binary, Opcode.Text]);
    expect(conn.request.headers.upgrade).toBe("websocket");
    expect(conn.request.headers.connection?.toLowerCase()).toBe("upgrade");
    expect(conn.request.headers["sec-websocket-key"]).toBeDefined();
    // Server-initiated messages too.
    conn.send(Opcode.Text, "pushed");
    await waitFor(() => c.received.length === 4, 5_000, "server push");
    expect(c.received[3]).toBe("pushed");
    expect(stats.counter(`${prefix}downstream_cx_upgrades_total`).value).toBe(1);
    expect(stats.gauge(`${prefix}downstream_cx_upgrades_active`).value).toBe(1);
    // The stream's record waits for the tunnel's end.
    expect(p.streams.length).toBe(0);
    c.ws.close(1000, "bye");
    const ev = await c.closed;
    expect(ev.code).toBe(1000);
    await waitFor(() => p.streams.length === 1, 5_000, "stream record at the tunnel's end");
    const s = p.streams[0]!;
    expect(s.responseCode).toBe(101);
    expect(s.responseFlags).toEqual([]);
    expect(s.bytesReceived).toBeGreaterThan(70_000);
    expect(s.bytesSent).toBeGreaterThan(70_000);
    expect(stats.gauge(`${prefix}downstream_cx_upgrades_active`).value).toBe(0);
  });

  it("the client's close reaches the server, which answers; both connections end", async () => {
    const { p, srv } = await setup();
    const c = await connect(p.port);
    c.ws.close(4000, "client done");
    const ev = await c.closed;
    expect(ev.code).toBe(4000);
    const conn = srv.connections[0]!;
    expect(conn.closeReceived).toEqual({ code: 4000, reason: "client done" });
    await conn.ended;
    await waitFor(() => p.streams.length === 1, 5_000, "stream record");
  });

  it("the server's close reaches the client with its code and reason", async () => {
    const { p, srv } = await setup();
    const c = await connect(p.port);
    srv.connections[0]!.close(4001, "server done");
    const ev = await c.closed;
    expect(ev.code).toBe(4001);
    expect(ev.reason).toBe("server done");
    await srv.connections[0]!.ended;
    await waitFor(() => p.streams.length === 1, 5_000, "stream record");
  });

  it("a server that drops the TCP connection ends the client's too", async () => {
    const { p, srv } = await setup();
    const c = await connect(p.port);
    srv.connections[0]!.socket.destroy();
    const ev = await c.closed;
    expect(ev.code).toBe(1006);
    await waitFor(() => p.streams.length === 1, 5_000, "stream record");
  });

  it("the record's duration runs to the tunnel's end (data-path clock)", async () => {
    const timers = new ManualTimers();
    const { p } = await setup({ timers });
    const c = await connect(p.port);
    timers.advance(90_000);
    c.ws.send("late");
    await waitFor(() => c.received.length === 1, 5_000, "echo");
    c.ws.close(1000);
    await c.closed;
    await waitFor(() => p.streams.length === 1, 5_000, "stream record");
    expect(p.streams[0]!.durationMs).toBeGreaterThanOrEqual(90_000);
  });

  it("pings are answered through the tunnel", async () => {
    const { p, srv } = await setup();
    await connect(p.port);
    const conn = srv.connections[0]!;
    conn.send(Opcode.Ping, "are you there");
    await waitFor(() => conn.controls.some((f) => f.opcode === Opcode.Pong), 5_000, "pong from the client");
    expect(conn.controls.find((f) => f.opcode === Opcode.Pong)!.data.toString()).toBe("are you there");
  });

  it("the upgrade type matches case-insensitively", async () => {
    const { p } = await setup({ hcm: [{ upgradeType: "WebSocket" }] });
    const r = await rawUpgrade(p.port, "websocket");
    expect(r.status).toBe(101);
  });

  it("an upstream that refuses the upgrade: its answer passes to the client", async () => {
    const { p, srv } = await setup();
    srv.refuseWith = { status: 403, body: "origin not allowed" };
    const r = await rawUpgrade(p.port);
    expect(r.status).toBe(403);
    expect(r.body.toString()).toBe("origin not allowed");
    await waitFor(() => p.streams.length === 1, 5_000, "stream record");
    expect(p.streams[0]!.responseCodeDetails).toBe("via_upstream");
  });
});

describe("upgrade_configs decide which upgrades pass (Envoy's 403 upgrade_failed)", () => {
  it("a connection manager without upgrade_configs refuses WebSocket: 403, empty body, connection closed", async () => {
    const { p, srv, stats, prefix } = await setup({ hcm: undefined });
    const r = await rawUpgrade(p.port);
    expect(r.status).toBe(403);
    expect(r.body.length).toBe(0);
    expect(r.headers.connection).toBe("close");
    expect(srv.connections.length).toBe(0);
    await waitFor(() => p.streams.length === 1, 5_000, "stream record");
    expect(p.streams[0]!.responseCodeDetails).toBe("upgrade_failed");
    expect(stats.counter(`${prefix}downstream_rq_ws_on_non_ws_route`).value).toBe(1);
    expect(stats.counter(`${prefix}downstream_cx_upgrades_total`).value).toBe(0);
    // What a browser-style client sees: the handshake fails.
    const ws = new WebSocket(`ws://127.0.0.1:${p.port}/chat`);
    sockets.push(ws);
    const ev = await new Promise<CloseEvent>((res) => ws.addEventListener("close", (e) => res(e)));
    expect(ev.code).toBe(1006);
  });

  it("an upgrade type the connection manager does not list is refused", async () => {
    const { p } = await setup();
    expect((await rawUpgrade(p.port, "custom-proto")).status).toBe(403);
  });

  it("a route can turn an allowed upgrade off", async () => {
    const { p } = await setup({ route: [{ upgradeType: "websocket", enabled: false }] });
    expect((await rawUpgrade(p.port)).status).toBe(403);
  });

  it("a route can allow an upgrade the connection manager does not list", async () => {
    const { p } = await setup({ hcm: undefined, route: [{ upgradeType: "websocket" }] });
    const c = await connect(p.port);
    c.ws.send("through");
    await waitFor(() => c.received.length === 1, 5_000, "echo");
    expect(c.received[0]).toBe("through");
  });

  it("a plain request on the same route is not affected", async () => {
    const { p } = await setup({ hcm: undefined });
    const res = await fetch(p.url("/plain"));
    expect(res.status).toBe(426);
  });

  it("without a matching route the answer is the router's 404, not 403", async () => {
    const srv = await startWsEchoServer();
    server = srv;
    const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "ws" } }, { prefix: "/only" })] }], [cluster("ws", [srv.port])]);
    delete hcmOfListener(snap.listeners[0]!).upgradeConfigs;
    proxy = await startProxy(snap);
    expect((await rawUpgrade(proxy.port)).status).toBe(404);
  });
});
