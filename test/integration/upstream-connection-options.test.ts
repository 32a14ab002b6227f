// DestinationRule connection options on real sockets: maxConnectionDuration retires old
// connections, tcpKeepalive turns on TCP keep-alive probes.

import { execFileSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import type { Cluster } from "../../src/config/model/types.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";
import { sleep } from "../helpers/wait.js";

let proxy: TestProxy | undefined;
let up: EchoUpstream | undefined;
afterEach(async () => {
  await proxy?.close();
  await up?.close();
  proxy = undefined;
  up = undefined;
});

async function setup(extra: Partial<Cluster>): Promise<{ ports: number[]; get: () => Promise<number> }> {
  const ports: number[] = [];
  up = await startEchoUpstream("u", (req, res) => {
    ports.push(req.socket.remotePort!);
    res.writeHead(200, { "content-length": "2" });
    res.end("ok");
  });
  const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c" } })] }], [cluster("c", [up.port], extra)]);
  proxy = await startProxy(snap);
  const p = proxy;
  return { ports, get: async () => (await fetch(p.url("/"))).status };
}

describe("upstream connection options", () => {
  it("reuses a keep-alive connection by default", async () => {
    const { ports, get } = await setup({});
    await get();
    await sleep(300);
    await get();
    expect(new Set(ports).size).toBe(1);
  });

  it("maxConnectionDuration: a connection older than the limit takes no new request", async () => {
    const { ports, get } = await setup({ httpProtocolOptions: { commonHttpProtocolOptions: { maxConnectionDurationMs: 200 } } });
    await get();
    await get();
    await sleep(300);
    await get();
    expect(ports[0]).toBe(ports[1]);
    expect(ports[2]).not.toBe(ports[0]);
  });

  it("tcpKeepalive: upstream sockets get TCP keep-alive", async () => {
    const { get } = await setup({ upstreamConnectionOptions: { tcpKeepalive: { keepaliveTimeMs: 60_000 } } });
    await get();
    const out = execFileSync("ss", ["-tnoH", "state", "established", `( dport = :${up!.port} )`], { encoding: "utf8" });
    expect(out).toMatch(/timer:\(keepalive/);
  });
});
