// /stats and /stats/prometheus through the real CLI with 2 workers: known traffic (2xx, upstream
// 5xx, a retried 503, connect failures with retries) gives exact Envoy stat values summed over both
// workers; filters and the JSON shape; the stats port (its own port, only /stats/prometheus) and
// promtool's verdict on a real scrape.

import { spawn } from "node:child_process";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCli, tempDir, writeConfig, type CliProcess } from "../helpers/cli-process.js";
import { freePort, startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";
import { waitForAsync } from "../helpers/wait.js";

const NS = "stats";
let cli: CliProcess;
let upstream: EchoUpstream;
let admin: number;
let statsPort: number;
let svcPort: number;
let deadPort: number;
const svcCluster = (): string => `outbound|${svcPort}||svc.${NS}.svc.cluster.local`;
const deadCluster = (): string => `outbound|${deadPort}||dead.${NS}.svc.cluster.local`;

function yaml(upstreamPort: number, closedPort: number): string {
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

async function statsJson(query = ""): Promise<Map<string, number>> {
  const r = await fetch(`http://127.0.0.1:${admin}/stats?format=json${query}`);
  expect(r.status).toBe(200);
  const body = (await r.json()) as { stats: ({ name: string; value: number } | { histograms: unknown })[] };
  const m = new Map<string, number>();
  for (const s of body.stats) if ("name" in s) m.set(s.name, s.value);
  return m;
}

beforeAll(async () => {
  upstream = await startEchoUpstream("svc", (req, res) => {
    // /retry: the first attempt fails with 503, the retry succeeds.
    const fail = req.url === "/fail" || (req.url === "/retry" && req.headers["x-envoy-attempt-count"] === "1");
    res.writeHead(fail ? 503 : 200, { "content-length": "2" });
    res.end(fail ? "no" : "ok");
  });
  [svcPort, deadPort, admin, statsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const closed = await freePort();
  const dir = await tempDir();
  await writeConfig(dir, "mesh.yaml", yaml(upstream.port, closed));
  cli = startCli(["run", "--config", dir, "--workers", "2", "--admin-port", String(admin), "--stats-port", String(statsPort), "--namespace", NS, "--outbound", "off", "--no-watch"]);
  await cli.waitReady(admin);
  const svc = `svc.${NS}.svc.cluster.local`;
  const codes = await Promise.all([
    ...Array.from({ length: 4 }, () => get(svcPort, svc, "/ok")),
    get(svcPort, svc, "/fail"),
    get(svcPort, svc, "/fail"),
    get(svcPort, svc, "/retry"),
    get(deadPort, `dead.${NS}.svc.cluster.local`, "/"),
  ]);
  expect(codes).toEqual([200, 200, 200, 200, 503, 503, 200, 503]);
  // Every downstream connection closed (each worker counts its own closes).
  await waitForAsync(async () => (await statsJson("&filter=downstream_cx_active$")).get(`listener.127.0.0.1_${svcPort}.downstream_cx_active`) === 0, 10_000, "connections closed");
}, 30_000);

afterAll(async () => {
  if (cli !== undefined && cli.child.exitCode === null) {
    cli.kill("SIGKILL");
    await cli.exited;
  }
  await upstream?.close();
});

describe("Envoy stats merged over 2 workers (CLI process)", () => {
  it("cluster stats count each attempt, response and retry as Envoy does", async () => {
    const s = await statsJson();
    const c = `cluster.${svcCluster()}.`;
    expect({
      total: s.get(c + "upstream_rq_total"),
      ok: s.get(c + "upstream_rq_200"),
      unavailable: s.get(c + "upstream_rq_503"),
      retried503: s.get(c + "retry.upstream_rq_503"),
      c2xx: s.get(c + "upstream_rq_2xx"),
      c5xx: s.get(c + "upstream_rq_5xx"),
      completed: s.get(c + "upstream_rq_completed"),
      retry: s.get(c + "upstream_rq_retry"),
      retrySuccess: s.get(c + "upstream_rq_retry_success"),
      active: s.get(c + "upstream_rq_active"),
      pendingActive: s.get(c + "upstream_rq_pending_active"),
      connectFail: s.get(c + "upstream_cx_connect_fail"),
      membership: s.get(c + "membership_total"),
      healthy: s.get(c + "membership_healthy"),
    }).toEqual({ total: 8, ok: 5, unavailable: 2, retried503: 1, c2xx: 5, c5xx: 2, completed: 7, retry: 1, retrySuccess: 1, active: 0, pendingActive: 0, connectFail: 0, membership: 1, healthy: 1 });
    expect(s.get(c + "upstream_cx_total")).toBeGreaterThanOrEqual(2);
    expect(s.get(c + "upstream_cx_rx_bytes_total")).toBeGreaterThan(0);
    const d = `cluster.${deadCluster()}.`;
    // Istio's default retry policy retries connect failures twice: three connects, one 503 UF.
    expect({
      cxTotal: s.get(d + "upstream_cx_total"),
      connectFail: s.get(d + "upstream_cx_connect_fail"),
      retry: s.get(d + "upstream_rq_retry"),
      limit: s.get(d + "upstream_rq_retry_limit_exceeded"),
      unavailable: s.get(d + "upstream_rq_503"),
      total: s.get(d + "upstream_rq_total"),
      cxActive: s.get(d + "upstream_cx_active"),
    }).toEqual({ cxTotal: 3, connectFail: 3, retry: 2, limit: 1, unavailable: 1, total: 0, cxActive: 0 });
  });

  it("listener, connection manager and server stats", async () => {
    const s = await statsJson();
    expect(s.get(`listener.127.0.0.1_${svcPort}.downstream_cx_total`)).toBe(7);
    expect(s.get(`listener.127.0.0.1_${deadPort}.downstream_cx_total`)).toBe(1);
    const prefix = [...s.keys()].find((k) => k.startsWith("http.") && k.endsWith(`_${svcPort}.downstream_rq_total`));
    expect(prefix, "the svc listener's connection manager").toBeDefined();
    const h = prefix!.slice(0, -"downstream_rq_total".length);
    expect([s.get(h + "downstream_rq_total"), s.get(h + "downstream_rq_2xx"), s.get(h + "downstream_rq_5xx"), s.get(h + "downstream_rq_active"), s.get(h + "downstream_cx_total")]).toEqual([7, 5, 2, 0, 7]);
    expect({
      state: s.get("server.state"),
      live: s.get("server.live"),
      concurrency: s.get("server.concurrency"),
      workersStarted: s.get("listener_manager.workers_started"),
      cds: s.get("cluster_manager.cds.update_success"),
      cdsRejected: s.get("cluster_manager.cds.update_rejected"),
      lds: s.get("listener_manager.lds.update_success"),
      clusters: s.get("cluster_manager.active_clusters"),
      listeners: s.get("listener_manager.total_listeners_active"),
    }).toEqual({ state: 0, live: 1, concurrency: 2, workersStarted: 1, cds: 1, cdsRejected: 0, lds: 1, clusters: 2, listeners: 2 });
    expect(s.get("server.memory_allocated")).toBeGreaterThan(0);
  });

  it("text format, usedonly and the RE2 filters pilot-agent sends (unescaped)", async () => {
    const r = await fetch(`http://127.0.0.1:${admin}/stats?usedonly&filter=^(cluster_manager\\.cds|listener_manager\\.lds)\\.(update_success|update_rejected)$`);
    expect(r.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    // usedonly: update_rejected was never written… but the supervisor's counters are always used.
    expect(await r.text()).toBe(
      ["cluster_manager.cds.update_rejected: 0", "cluster_manager.cds.update_success: 1", "listener_manager.lds.update_rejected: 0", "listener_manager.lds.update_success: 1", ""].join("\n"),
    );
    const live = await (await fetch(`http://127.0.0.1:${admin}/stats?usedonly&filter=^(server\\.state|listener_manager\\.workers_started)`)).text();
    expect(live).toBe("listener_manager.workers_started: 1\nserver.state: 0\n");
    const time = await (await fetch(`http://127.0.0.1:${admin}/stats?filter=${encodeURIComponent(`cluster\\.${svcCluster().replace(/\|/g, "\\|")}\\.upstream_rq_time$`)}`)).text();
    expect(time).toMatch(/^cluster\.outbound\|\d+\|\|svc\.stats\.svc\.cluster\.local\.upstream_rq_time: P0\(nan,[\d.]+\) P25\(nan,[\d.]+\) P50\(nan,[\d.]+\) P75\(nan,[\d.]+\) P90\(nan,[\d.]+\) P95\(nan,[\d.]+\) P99\(nan,[\d.]+\) P99\.5\(nan,[\d.]+\) P99\.9\(nan,[\d.]+\) P100\(nan,[\d.]+\)\n$/);
    // Unused stats are listed without usedonly, hidden with it.
    const all = await (await fetch(`http://127.0.0.1:${admin}/stats?filter=upstream_rq_pending_overflow`)).text();
    expect(all).toContain(`cluster.${svcCluster()}.upstream_rq_pending_overflow: 0\n`);
    expect(await (await fetch(`http://127.0.0.1:${admin}/stats?usedonly&filter=upstream_rq_pending_overflow`)).text()).toBe("");
    const bad = await fetch(`http://127.0.0.1:${admin}/stats?filter=(`);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/^Invalid re2 regex: /);
  });

  it("JSON: Envoy's {stats:[{name,value}…,{histograms:{supported_quantiles,computed_quantiles}}]}", async () => {
    const r = await fetch(`http://127.0.0.1:${admin}/stats?format=json&filter=upstream_rq_time$`);
    expect(r.headers.get("content-type")).toBe("application/json");
    const body = (await r.json()) as { stats: { histograms: { supported_quantiles: number[]; computed_quantiles: { name: string; values: { interval: null; cumulative: number | null }[] }[] } }[] };
    expect(body.stats).toHaveLength(1);
    const h = body.stats[0]!.histograms;
    expect(h.supported_quantiles).toEqual([0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100]);
    const svc = h.computed_quantiles.find((q) => q.name === `cluster.${svcCluster()}.upstream_rq_time`)!;
    expect(svc.values).toHaveLength(10);
    expect(svc.values.every((v) => v.interval === null && typeof v.cumulative === "number")).toBe(true);
  });

  it("/stats/prometheus on the stats port: Istio's tag names, promtool accepts it", async () => {
    const r = await fetch(`http://127.0.0.1:${statsPort}/stats/prometheus`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const body = await r.text();
    const name = svcCluster();
    expect(body).toContain(`envoy_cluster_upstream_rq{cluster_name="${name}",response_code="200"} 5\n`);
    expect(body).toContain(`envoy_cluster_upstream_rq{cluster_name="${name}",response_code_class="5xx"} 2\n`);
    expect(body).toContain(`envoy_cluster_upstream_rq_total{cluster_name="${name}"} 8\n`);
    expect(body).toContain(`envoy_listener_downstream_cx_total{listener_address="127.0.0.1_${svcPort}"} 7\n`);
    expect(body).toContain(`envoy_cluster_upstream_rq_time_bucket{cluster_name="${name}",le="+Inf"} 7\n`);
    expect(body).toContain("envoy_server_state 0\n");
    expect(body.match(/^# TYPE envoy_cluster_upstream_rq counter$/gm)).toHaveLength(1);
    const problems = await promtool(body);
    // Envoy's names break promtool's naming lint (counters without `_total`, the gauge
    // membership_total with it) and carry no HELP text, as Envoy's own output does; Istio's
    // duration histogram is named in milliseconds (Kiali and Grafana query that name). Anything
    // else promtool reports — above all a parse error — fails.
    const unexpected = problems.filter(
      (p) =>
        !/^envoy_\w+ (counter metrics should have "_total" suffix|non-counter metrics should not have "_total" suffix|no help text)$/.test(p) &&
        p !== 'istio_request_duration_milliseconds use base unit "seconds" instead of "milliseconds"',
    );
    expect(unexpected).toEqual([]);
  });

  it("the stats port serves only /stats/prometheus (never config or controls)", async () => {
    for (const path of ["/config_dump", "/", "/stats", "/clusters"]) {
      expect((await fetch(`http://127.0.0.1:${statsPort}${path}`)).status).toBe(404);
    }
    expect(cli.stderr()).toContain(`stats endpoint: http://0.0.0.0:${statsPort}/stats/prometheus`);
    const filtered = await (await fetch(`http://127.0.0.1:${statsPort}/stats/prometheus?usedonly&filter=^server\\.state$`)).text();
    expect(filtered).toBe("# TYPE envoy_server_state gauge\nenvoy_server_state 0\n");
  });
});

/**
 * `promtool check metrics` on an exposition: its lint problems (exit 3) as lines; a parse error
 * (any other failure) throws. promtool comes from Debian's `prometheus` package (.ci/run installs it).
 */
function promtool(exposition: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const p = spawn("promtool", ["check", "metrics"], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (c: Buffer) => (out += c.toString()));
    p.stderr.on("data", (c: Buffer) => (out += c.toString()));
    p.on("error", (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === "ENOENT" ? "promtool is not installed: apt-get install prometheus (Debian's package ships promtool); CI installs it in .ci/run" : e.message)),
    );
    p.on("close", (code) => {
      if (code === 0 || code === 3) resolve(out.split("\n").filter((l) => l.trim() !== ""));
      else reject(new Error(`promtool check metrics failed (exit ${code}):\n${out}`));
    });
    p.stdin.end(exposition);
  });
}
