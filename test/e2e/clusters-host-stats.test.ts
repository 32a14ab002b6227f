// /clusters per-host stats (Envoy's HostStats) through the real CLI with 2 workers: known traffic
// to a live host (2xx, an upstream 5xx, a retried 503, a route timeout) and to a host that refuses
// connections gives exact cx_* / rq_* numbers summed over both workers, in Envoy's text lines and
// in the JSON host_statuses stats.

import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCli, tempDir, writeConfig, type CliProcess } from "../helpers/cli-process.js";
import { freePort, startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";
import { waitForAsync } from "../helpers/wait.js";

const NS = "hosts";
let cli: CliProcess;
let upstream: EchoUpstream;
let admin: number;
let svcPort: number;
let deadPort: number;
let closedPort: number;
const svcCluster = (): string => `outbound|${svcPort}||svc.${NS}.svc.cluster.local`;
const deadCluster = (): string => `outbound|${deadPort}||dead.${NS}.svc.cluster.local`;

function yaml(upstreamPort: number): string {
  const se = (name: string, port: number, ep: number): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: ${NS}}
spec:
  hosts: [${name}.${NS}.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: ${port}, name: http, protocol: HTTP}]
  endpoints:
  - address: 127.0.0.1
    ports: {http: ${ep}}
---
`;
  return `${se("svc", svcPort, upstreamPort)}${se("dead", deadPort, closedPort)}apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc, namespace: ${NS}}
spec:
  hosts: [svc]
  http:
  - match: [{uri: {prefix: /retry}}]
    retries: {attempts: 2, retryOn: 5xx}
    route: [{destination: {host: svc}}]
  - match: [{uri: {prefix: /slow}}]
    timeout: 300ms
    route: [{destination: {host: svc}}]
  - route: [{destination: {host: svc}}]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: ${NS}}
spec:
  egress:
  - port: {number: ${svcPort}, name: http, protocol: HTTP}
    bind: 127.0.0.1
    hosts: ["./*"]
  - port: {number: ${deadPort}, name: http2, protocol: HTTP}
    bind: 127.0.0.1
    hosts: ["./*"]
`;
}

/** One request on its own connection (so the kernel spreads them over both workers). */
function get(port: number, host: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, agent: false, headers: { host } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode!));
    });
    req.on("error", reject);
    req.end();
  });
}

/** `/clusters` text lines of one host: stat name → value. */
async function hostLines(cluster: string, host: string): Promise<Record<string, string>> {
  const r = await fetch(`http://127.0.0.1:${admin}/clusters`);
  expect(r.status).toBe(200);
  const prefix = `${cluster}::${host}::`;
  const out: Record<string, string> = {};
  for (const line of (await r.text()).split("\n")) {
    if (!line.startsWith(prefix)) continue;
    const rest = line.slice(prefix.length);
    const i = rest.indexOf("::");
    out[rest.slice(0, i)] = rest.slice(i + 2);
  }
  return out;
}

const STATS = ["cx_active", "cx_connect_fail", "cx_total", "rq_active", "rq_error", "rq_success", "rq_timeout", "rq_total"];

function statsOf(lines: Record<string, string>): Record<string, number> {
  return Object.fromEntries(STATS.map((n) => [n, Number(lines[n])]));
}

beforeAll(async () => {
  upstream = await startEchoUpstream("svc", (req, res) => {
    // /slow never answers (the route's 300 ms timeout fires); /retry fails its first attempt.
    if (req.url === "/slow") return;
    const fail = req.url === "/fail" || (req.url === "/retry" && req.headers["x-envoy-attempt-count"] === "1");
    // A connection per request: cx_total is then exact, whichever worker took which request.
    res.writeHead(fail ? 503 : 200, { "content-length": "2", connection: "close" });
    res.end(fail ? "no" : "ok");
  });
  [svcPort, deadPort, admin, closedPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const dir = await tempDir();
  await writeConfig(dir, "mesh.yaml", yaml(upstream.port));
  cli = startCli(["run", "--config", dir, "--workers", "2", "--admin-port", String(admin), "--namespace", NS, "--outbound", "off", "--no-watch"]);
  await cli.waitReady(admin);
  const svc = `svc.${NS}.svc.cluster.local`;
  const codes = await Promise.all([
    ...Array.from({ length: 4 }, () => get(svcPort, svc, "/ok")),
    get(svcPort, svc, "/fail"),
    get(svcPort, svc, "/retry"),
    get(svcPort, svc, "/slow"),
    get(deadPort, `dead.${NS}.svc.cluster.local`, "/"),
  ]);
  expect(codes).toEqual([200, 200, 200, 200, 503, 200, 504, 503]);
  // Upstream connections close after the responses (the workers see the closes asynchronously).
  await waitForAsync(async () => (await hostLines(svcCluster(), `127.0.0.1:${upstream.port}`)).cx_active === "0", 10_000, "upstream connections closed");
}, 30_000);

afterAll(async () => {
  if (cli !== undefined && cli.child.exitCode === null) {
    cli.kill("SIGKILL");
    await cli.exited;
  }
  await upstream?.close();
});

describe("/clusters per-host stats merged over 2 workers (CLI process)", () => {
  it("text: the live host's requests, errors, successes and timeout; the refusing host's connect failures", async () => {
    const svc = await hostLines(svcCluster(), `127.0.0.1:${upstream.port}`);
    // 8 attempts got a connection (4 ok, 1 fail, 2 for /retry, 1 slow), each on its own connection.
    // Errors: the 503, the retried 503 and the timeout's 504; successes: 4 ok + the retry's 200.
    expect(statsOf(svc)).toEqual({ cx_active: 0, cx_connect_fail: 0, cx_total: 8, rq_active: 0, rq_error: 3, rq_success: 5, rq_timeout: 1, rq_total: 8 });
    // Envoy's order: the stats sorted by name, then hostname, health_flags, …
    expect(Object.keys(svc).slice(0, 10)).toEqual([...STATS, "hostname", "health_flags"]);
    // Istio's default retry policy retries connect failures twice: three refused connects, each an
    // error on the host; no request ever got a connection.
    const dead = await hostLines(deadCluster(), `127.0.0.1:${closedPort}`);
    expect(statsOf(dead)).toEqual({ cx_active: 0, cx_connect_fail: 3, cx_total: 3, rq_active: 0, rq_error: 3, rq_success: 0, rq_timeout: 0, rq_total: 0 });
  });

  it("JSON: host_statuses stats as Envoy's SimpleMetric (counters then gauges, zeros left out)", async () => {
    const r = await fetch(`http://127.0.0.1:${admin}/clusters?format=json`);
    expect(r.status).toBe(200);
    const body = (await r.json()) as { cluster_statuses: { name: string; host_statuses: { address: { socket_address: { port_value: number } }; stats: unknown[] }[] }[] };
    const hostOf = (cluster: string, port: number): unknown[] | undefined => body.cluster_statuses.find((c) => c.name === cluster)?.host_statuses.find((h) => h.address.socket_address.port_value === port)?.stats;
    expect(hostOf(svcCluster(), upstream.port)).toEqual([
      { name: "cx_connect_fail" },
      { value: "8", name: "cx_total" },
      { value: "3", name: "rq_error" },
      { value: "5", name: "rq_success" },
      { value: "1", name: "rq_timeout" },
      { value: "8", name: "rq_total" },
      { type: "GAUGE", name: "cx_active" },
      { type: "GAUGE", name: "rq_active" },
    ]);
    expect(hostOf(deadCluster(), closedPort)).toEqual([
      { value: "3", name: "cx_connect_fail" },
      { value: "3", name: "cx_total" },
      { value: "3", name: "rq_error" },
      { name: "rq_success" },
      { name: "rq_timeout" },
      { name: "rq_total" },
      { type: "GAUGE", name: "cx_active" },
      { type: "GAUGE", name: "rq_active" },
    ]);
  });
});
