// DestinationRule connection options on real sockets: maxConnectionDuration retires old
// connections, tcpKeepalive turns on TCP keep-alive probes. Connection ages are read from the
// runtime's one data-path clock, driven here by hand.

import { execFileSync } from "node:child_process";
import type { Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Cluster } from "../../src/config/model/types.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { ManualTimers } from "../helpers/manual-timers.js";
import { startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";
import { within } from "../helpers/wait.js";

let proxy: TestProxy | undefined;
let up: EchoUpstream | undefined;
afterEach(async () => {
  await proxy?.close();
  await up?.close();
  proxy = undefined;
  up = undefined;
});

async function setup(extra: Partial<Cluster>): Promise<{ ports: number[]; sockets: Socket[]; clock: ManualTimers; get: () => Promise<number> }> {
  const ports: number[] = [];
  const sockets: Socket[] = [];
  up = await startEchoUpstream("u", (req, res) => {
    ports.push(req.socket.remotePort!);
    if (!sockets.includes(req.socket)) sockets.push(req.socket);
    res.writeHead(200, { "content-length": "2" });
    res.end("ok");
  });
  const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c" } })] }], [cluster("c", [up.port], extra)]);
  const clock = new ManualTimers();
  proxy = await startProxy(snap, { clock, timers: clock });
  const p = proxy;
  return { ports, sockets, clock, get: async () => (await fetch(p.url("/"))).status };
}

/** The proxy closing its side (FIN seen by the upstream), not the upstream timing the socket out. */
const endedByProxy = (s: Socket): Promise<void> => (s.readableEnded ? Promise.resolve() : new Promise((r) => s.once("end", () => r())));

describe("upstream connection options", () => {
  it("reuses a keep-alive connection by default", async () => {
    const { ports, clock, get } = await setup({});
    await get();
    // The same span that retires a connection below, with a sweep in it: no limit, no retirement.
    clock.advance(300);
    proxy!.runtime.sweep();
    await get();
    expect(ports).toHaveLength(2);
    expect(new Set(ports).size).toBe(1);
  });

  it("maxConnectionDuration: a connection older than the limit takes no new request", async () => {
    const { ports, clock, get } = await setup({ httpProtocolOptions: { commonHttpProtocolOptions: { maxConnectionDurationMs: 200 } } });
    await get();
    clock.advance(199);
    await get();
    // No sweep in between: the pool itself refuses to hand out a connection past its age.
    clock.advance(1);
    await get();
    expect(ports[0]).toBe(ports[1]);
    expect(ports[2]).not.toBe(ports[0]);
  });

  it("maxConnectionDuration: the sweep closes an idle connection past its age", async () => {
    const { sockets, clock, get } = await setup({ httpProtocolOptions: { commonHttpProtocolOptions: { maxConnectionDurationMs: 200 } } });
    up!.server.keepAliveTimeout = 60_000;
    await get();
    expect(sockets).toHaveLength(1);
    proxy!.runtime.sweep();
    expect(sockets[0]!.closed).toBe(false);
    clock.advance(200);
    proxy!.runtime.sweep();
    await within(endedByProxy(sockets[0]!), 3_000, "the proxy closing the old connection");
  });

  it("tcpKeepalive: upstream sockets get TCP keep-alive", async () => {
    const { get } = await setup({ upstreamConnectionOptions: { tcpKeepalive: { keepaliveTimeMs: 60_000 } } });
    await get();
    const out = execFileSync("ss", ["-tnoH", "state", "established", `( dport = :${up!.port} )`], { encoding: "utf8" });
    expect(out).toMatch(/timer:\(keepalive/);
  });
});
