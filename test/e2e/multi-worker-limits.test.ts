// Connection-pool limits and outlier ejections hold per cluster across workers: the real CLI with
// 2 workers, Istio YAML (ServiceEntry + Sidecar + DestinationRule), clients on separate
// connections so the kernel spreads them over both workers' reusePort listeners.

import { request as httpRequest } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { meshYaml, startCli, tempDir, writeConfig, type CliProcess } from "../helpers/cli-process.js";
import { freePort, startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";
import { waitFor } from "../helpers/wait.js";

const NS = "limits";
const OVERFLOW_BODY = "upstream connect error or disconnect/reset before headers. reset reason: overflow";
let cli: CliProcess | undefined;
const ups: EchoUpstream[] = [];

afterEach(async () => {
  if (cli && cli.child.exitCode === null) {
    cli.kill("SIGKILL");
    await cli.exited;
  }
  cli = undefined;
  await Promise.all(ups.splice(0).map((u) => u.close()));
});

function destinationRule(trafficPolicy: string): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc, namespace: ${NS}}
spec:
  host: svc.${NS}.svc.cluster.local
  trafficPolicy:
${trafficPolicy}
`;
}

const POOL_POLICY = `    connectionPool:
      tcp: {maxConnections: 1}
      http: {http1MaxPendingRequests: 1}`;

const OUTLIER_POLICY = `    outlierDetection:
      consecutive5xxErrors: 2
      interval: 10s
      baseEjectionTime: 60s
      maxEjectionPercent: 100`;

interface Reply {
  status: number;
  overloaded: string | undefined;
  body: string;
  upstream: string | undefined;
}

/** One request on its own client connection. */
function get(port: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path: "/", agent: false, headers: { host: `svc:${port}` } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () =>
        resolve({ status: res.statusCode!, overloaded: res.headers["x-envoy-overloaded"] as string | undefined, body, upstream: res.headers["x-upstream"] as string | undefined }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

async function start(upstreamPorts: number[], policy: string): Promise<number> {
  const dir = await tempDir();
  const port = await freePort();
  const admin = await freePort();
  await writeConfig(dir, "mesh.yaml", meshYaml(NS, port, upstreamPorts));
  await writeConfig(dir, "dr.yaml", destinationRule(policy));
  cli = startCli(["run", "--config", dir, "--workers", "2", "--admin-port", String(admin), "--health-port", "0", "--namespace", NS, "--outbound", "off"]);
  await cli.waitReady(admin);
  return port;
}

describe("limits and ejections across 2 workers (CLI process)", () => {
  it("maxConnections 1 + http1MaxPendingRequests 1: 6 concurrent requests → exactly 4 overflow (503 UO), whichever worker took them", async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    // Answers wait until the round's overflows are in (then every answer goes at once), so the six
    // requests are concurrent by construction, not by racing a timer.
    let held: Array<() => void> | null = [];
    const u = await startEchoUpstream("held", (_q, s) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const answer = (): void => {
        inFlight--;
        s.writeHead(200, { "content-length": "2" });
        s.end("ok");
      };
      if (held === null) answer();
      else held.push(answer);
    });
    ups.push(u);
    const port = await start([u.port], POOL_POLICY);
    for (let round = 0; round < 2; round++) {
      held = [];
      let answered = 0;
      const all = Promise.all(Array.from({ length: 6 }, () => get(port).finally(() => answered++)));
      await waitFor(() => answered === 4 && held!.length === 1, 10_000, `round ${round}: four overflows and one held request`);
      const release = held;
      held = null;
      for (const a of release) a();
      const rs = await all;
      const ok = rs.filter((r) => r.status === 200).length;
      const overflow = rs.filter((r) => r.status === 503 && r.overloaded === "true" && r.body === OVERFLOW_BODY).length;
      expect({ ok, overflow }).toEqual({ ok: 2, overflow: 4 });
    }
    expect(maxInFlight).toBe(1);
  });

  it("a host ejected by consecutive5xxErrors is skipped by requests landing on either worker", async () => {
    const bad = await startEchoUpstream("bad", (_q, s) => {
      s.writeHead(500, { "content-length": "3", "x-upstream": "bad" });
      s.end("bad");
    });
    const good = await startEchoUpstream("good");
    ups.push(bad, good);
    const port = await start([bad.port, good.port], OUTLIER_POLICY);
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await get(port)).status);
    // Shared consecutive counter: the bad host is out after exactly 2 errors in a row, whichever
    // workers served them (per-worker state would let it fail up to twice per worker).
    expect(bad.requests.length).toBe(2);
    expect(statuses.filter((s) => s === 500)).toHaveLength(2);
    expect(statuses.slice(-20).every((s) => s === 200)).toBe(true);
  });
});
