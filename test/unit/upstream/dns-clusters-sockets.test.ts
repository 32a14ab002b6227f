// DNS clusters over real sockets: a ProxyRuntime whose resolver is injected sends requests to the
// addresses a name resolves to (two loopback addresses on one port). STRICT_DNS ejects the failing
// address alone; LOGICAL_DNS dials the first address of the latest resolution.

import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { defaultLimits } from "../../../src/bootstrap/bootstrap.js";
import { createLogger } from "../../../src/common/logger.js";
import { seededRandom } from "../../../src/common/random.js";
import type { Cluster } from "../../../src/config/model/types.js";
import { ProxyRuntime } from "../../../src/worker/proxy-runtime.js";
import { ManualTimers } from "../../helpers/manual-timers.js";
import { outlierConfig } from "../../helpers/outlier-config.js";
import { route, snapshotWith } from "../../helpers/proxy.js";

const servers: Server[] = [];
let runtime: ProxyRuntime | undefined;
afterEach(async () => {
  runtime?.close();
  runtime = undefined;
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** An HTTP server on `host:port` answering `status` with its own name; every response closes its connection. */
async function serve(host: string, port: number, name: string, status = 200): Promise<number> {
  const s = createServer((_req, res) => {
    res.writeHead(status, { "content-length": String(name.length), connection: "close" });
    res.end(name);
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(port, host, r));
  return (s.address() as { port: number }).port;
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

async function proxy(c: Cluster, answers: Map<string, string[]>, timers: ManualTimers): Promise<number> {
  const snapshot = await snapshotWith([{ name: "all", domains: ["*"], routes: [route("r", { route: { cluster: c.name } })] }], [c]);
  runtime = new ProxyRuntime({
    limits: defaultLimits,
    random: seededRandom(7),
    log: createLogger("off"),
    onStream: () => {},
    dns: { resolver: async (name) => answers.get(name) ?? [], timers },
  });
  const r = await runtime.apply(snapshot);
  if (!r.ok) throw new Error(r.errors.join("\n"));
  await settle();
  return snapshot.listeners[0]!.port;
}

async function get(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/`);
  return `${r.status} ${await r.text()}`;
}

function dnsCluster(type: Cluster["type"], name: string, port: number, over: Partial<Cluster> = {}): Cluster {
  return {
    name: "c",
    type,
    lbPolicy: "ROUND_ROBIN",
    connectTimeoutMs: 1000,
    loadAssignment: { endpoints: [{ locality: {}, priority: 0, lbEndpoints: [{ address: name, port, weight: 1, labels: {}, healthStatus: "HEALTHY" }] }] },
    ...over,
  };
}

describe("DNS clusters over real sockets", () => {
  it("STRICT_DNS: the address answering 503 is ejected alone; the other keeps serving", async () => {
    const port = await serve("127.0.0.1", 0, "one");
    await serve("127.0.0.2", port, "two", 503);
    const c = dnsCluster("STRICT_DNS", "svc.test", port, { outlierDetection: outlierConfig({ consecutive5xx: 1, maxEjectionPercent: 100 }), healthyPanicThreshold: 0 });
    const p = await proxy(c, new Map([["svc.test", ["127.0.0.1", "127.0.0.2"]]]), new ManualTimers());
    const seen = [await get(p), await get(p)].sort();
    expect(seen).toEqual(["200 one", "503 two"]);
    for (let i = 0; i < 6; i++) expect(await get(p)).toBe("200 one");
  });

  it("LOGICAL_DNS: new connections go to the first address of the latest resolution", async () => {
    const port = await serve("127.0.0.1", 0, "one");
    await serve("127.0.0.2", port, "two");
    const answers = new Map([["rr.test", ["127.0.0.1", "127.0.0.2"]]]);
    const timers = new ManualTimers();
    const p = await proxy(dnsCluster("LOGICAL_DNS", "rr.test", port), answers, timers);
    for (let i = 0; i < 3; i++) expect(await get(p)).toBe("200 one");
    answers.set("rr.test", ["127.0.0.2", "127.0.0.1"]);
    timers.advance(5_000);
    await settle();
    for (let i = 0; i < 3; i++) expect(await get(p)).toBe("200 two");
  });
});
