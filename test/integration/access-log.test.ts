// Access logs over real sockets: a ProxyRuntime with the file access-log factory writing to a
// real temporary file (or a FIFO, or a sink that never finishes a write), the data-path clock
// driven by hand so START_TIME and DURATION are known.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { defaultLimits } from "../../src/bootstrap/bootstrap.js";
import { createLogger } from "../../src/common/logger.js";
import { seededRandom } from "../../src/common/random.js";
import { buildRbacConfigs } from "../../src/config/istio/authorization-policy.js";
import { HTTP_CONNECTION_MANAGER, NETWORK_RBAC_FILTER, TCP_PROXY, type AccessLogConfig, type NetworkFilter, type Snapshot } from "../../src/config/model/types.js";
import { AccessLogFiles } from "../../src/observability/access-log/access-log-files.js";
import type { FileIo } from "../../src/observability/access-log/file-io.js";
import { fileAccessLogFactory } from "../../src/observability/access-log/file-access-logger.js";
import { ISTIO_JSON_LOG_FORMAT as ISTIO_DEFAULT_JSON_FORMAT, ISTIO_TEXT_LOG_FORMAT as ISTIO_DEFAULT_TEXT_FORMAT } from "../../src/config/istio/telemetry-access-log.js";
import { StatsStore } from "../../src/observability/stats/stats-store.js";
import type { StreamInfo } from "../../src/observability/stream-info.js";
import { nodeIdentity } from "../../src/observability/node-identity.js";
import { productionTelemetryFactories } from "../../src/observability/telemetry-factories.js";
import { Registry } from "prom-client";
import { ProxyRuntime } from "../../src/worker/proxy-runtime.js";
import { ManualTimers } from "../helpers/manual-timers.js";
import { cluster, route, snapshotWith } from "../helpers/proxy.js";
import { parseResponses, rawExchange } from "../helpers/raw-client.js";
import { tcpProxyConfig, tcpSnapshot, TcpTestClient } from "../helpers/tcp.js";
import { startEchoUpstream, startRawUpstream, type EchoUpstream, type RawUpstream } from "../helpers/upstreams.js";
import { waitFor } from "../helpers/wait.js";

/** 2026-11-30T17:00:00.123Z: the data-path clock's wall time at monotonic 0. */
const EPOCH = Date.UTC(2026, 10, 30, 17, 0, 0, 123);

interface LoggingProxy {
  port: number;
  runtime: ProxyRuntime;
  files: AccessLogFiles;
  stats: StatsStore;
  clock: ManualTimers;
  streams: StreamInfo[];
  /** Fires the 1 s flush timer and waits for the writes. */
  flush(): Promise<void>;
}

let dir: string;
let proxy: LoggingProxy | undefined;
const ups: Array<EchoUpstream | RawUpstream> = [];

afterEach(async () => {
  if (proxy !== undefined) {
    proxy.runtime.close();
    await proxy.files.close(200);
  }
  proxy = undefined;
  await Promise.all(ups.splice(0).map((u) => u.close()));
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function tmp(): string {
  dir = mkdtempSync(join(tmpdir(), "outrigger-al-it-"));
  return dir;
}

async function start(snapshot: Snapshot, o: { io?: FileIo; maxBufferedBytes?: number; minFlushBytes?: number } = {}): Promise<LoggingProxy> {
  const clock = new ManualTimers(EPOCH);
  const stats = new StatsStore();
  const log = createLogger("off");
  const files = new AccessLogFiles({ stats, log, timers: clock, ...(o.io !== undefined ? { io: o.io } : {}), ...(o.maxBufferedBytes !== undefined ? { maxBufferedBytes: o.maxBufferedBytes } : {}), ...(o.minFlushBytes !== undefined ? { minFlushBytes: o.minFlushBytes } : {}) });
  const streams: StreamInfo[] = [];
  const runtime = new ProxyRuntime({ limits: defaultLimits, random: seededRandom(7), log, clock, timers: clock, stats, telemetry: { accessLogs: fileAccessLogFactory(files, stats) }, onStream: (i) => streams.push(i) });
  const r = await runtime.apply(snapshot);
  if (!r.ok) {
    runtime.close();
    throw new Error(r.errors.join("\n"));
  }
  const p: LoggingProxy = {
    port: snapshot.listeners[0]!.port,
    runtime,
    files,
    stats,
    clock,
    streams,
    flush: async () => {
      clock.advance(1000);
      await files.drain();
    },
  };
  proxy = p;
  return p;
}

/** Puts `accessLog` on every HCM / tcp_proxy of the snapshot. */
function withAccessLog(s: Snapshot, accessLog: AccessLogConfig[]): Snapshot {
  for (const l of s.listeners) for (const c of l.filterChains) for (const f of c.filters) if (f.name === HTTP_CONNECTION_MANAGER || f.name === TCP_PROXY) (f.typedConfig as { accessLog?: AccessLogConfig[] }).accessLog = accessLog;
  return s;
}

const text = (path: string, format = ISTIO_DEFAULT_TEXT_FORMAT, filter?: string): AccessLogConfig => ({ name: "envoy.access_loggers.file", path, format: { kind: "text", text: format }, ...(filter !== undefined ? { filter: { expression: filter } } : {}) });

/** An upstream that takes 7 ms of data-path time and answers `hello world`. */
async function sevenMsUpstream(clock: () => ManualTimers): Promise<EchoUpstream> {
  const u = await startEchoUpstream("reviews", (req, res) => {
    req.resume();
    req.on("end", () => {
      clock().advance(7);
      res.writeHead(200, { "content-type": "text/plain", "content-length": "11" });
      res.end("hello world");
    });
  });
  ups.push(u);
  return u;
}

async function httpSnapshot(upstreamPort: number, accessLog: AccessLogConfig[]): Promise<Snapshot> {
  const snap = await snapshotWith([{ name: "vh", domains: ["reviews:9080"], routes: [route("default", { route: { cluster: "outbound|9080||reviews.default.svc.cluster.local" } })] }], [cluster("outbound|9080||reviews.default.svc.cluster.local", [upstreamPort])]);
  return withAccessLog(snap, accessLog);
}

const GET = "GET /api/items?page=2 HTTP/1.1\r\nHost: reviews:9080\r\nUser-Agent: curl/8.5.0\r\nX-Request-Id: 6d1e1f0e-3a2b-4c5d-9e8f-0a1b2c3d4e5f\r\nConnection: close\r\n\r\n";

describe("access log (HTTP)", () => {
  it("writes Istio's default TEXT line for a proxied request, byte for byte", async () => {
    const path = join(tmp(), "access.log");
    const u = await sevenMsUpstream(() => proxy!.clock);
    const p = await start(await httpSnapshot(u.port, [text(path)]));
    const [r] = parseResponses(await rawExchange(p.port, GET));
    expect(r!.status).toBe(200);
    await waitFor(() => p.streams.length === 1);
    await p.flush();
    const s = p.streams[0]!;
    expect(readFileSync(path, "utf8")).toBe(
      `[2026-11-30T17:00:00.123Z] "GET /api/items?page=2 HTTP/1.1" 200 - via_upstream - "-" 0 11 7 7 "-" "curl/8.5.0" "6d1e1f0e-3a2b-4c5d-9e8f-0a1b2c3d4e5f" "reviews:9080" "127.0.0.1:${u.port}" outbound|9080||reviews.default.svc.cluster.local ${s.upstreamLocalAddress} 127.0.0.1:${p.port} ${s.downstreamRemoteAddress} - default\n`,
    );
    expect(s.upstreamLocalAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(s.downstreamRemoteAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(p.stats.snapshot().counters["access_log_file.write_completed"]).toBe(1);
  });

  it("writes Istio's default JSON object for the same request", async () => {
    const path = join(tmp(), "access.json");
    const u = await sevenMsUpstream(() => proxy!.clock);
    const p = await start(await httpSnapshot(u.port, [{ name: "envoy.access_loggers.file", path, format: { kind: "json", json: { ...ISTIO_DEFAULT_JSON_FORMAT } } }]));
    await rawExchange(p.port, GET);
    await waitFor(() => p.streams.length === 1);
    await p.flush();
    const s = p.streams[0]!;
    const out = readFileSync(path, "utf8");
    expect(out.endsWith("}\n")).toBe(true);
    expect(out.split("\n")).toHaveLength(2);
    const obj = JSON.parse(out) as Record<string, unknown>;
    expect(Object.keys(obj)).toEqual(Object.keys(ISTIO_DEFAULT_JSON_FORMAT));
    expect(obj).toEqual({
      start_time: "2026-11-30T17:00:00.123Z",
      route_name: "default",
      method: "GET",
      path: "/api/items?page=2",
      protocol: "HTTP/1.1",
      response_code: 200,
      response_flags: "-",
      response_code_details: "via_upstream",
      connection_termination_details: null,
      bytes_received: 0,
      bytes_sent: 11,
      duration: 7,
      upstream_service_time: "7",
      x_forwarded_for: null,
      user_agent: "curl/8.5.0",
      request_id: "6d1e1f0e-3a2b-4c5d-9e8f-0a1b2c3d4e5f",
      authority: "reviews:9080",
      upstream_host: `127.0.0.1:${u.port}`,
      upstream_cluster: "outbound|9080||reviews.default.svc.cluster.local",
      upstream_local_address: s.upstreamLocalAddress,
      downstream_local_address: `127.0.0.1:${p.port}`,
      downstream_remote_address: s.downstreamRemoteAddress,
      requested_server_name: null,
      upstream_transport_failure_reason: null,
    });
  });

  it("logs a local reply: 404 NR route_not_found with no upstream", async () => {
    const path = join(tmp(), "access.log");
    const u = await sevenMsUpstream(() => proxy!.clock);
    const p = await start(await httpSnapshot(u.port, [text(path)]));
    const [r] = parseResponses(await rawExchange(p.port, "GET /nope HTTP/1.1\r\nHost: elsewhere\r\nUser-Agent: curl/8.5.0\r\nX-Request-Id: r-404\r\nConnection: close\r\n\r\n"));
    expect(r!.status).toBe(404);
    await waitFor(() => p.streams.length === 1);
    await p.flush();
    const s = p.streams[0]!;
    expect(readFileSync(path, "utf8")).toBe(`[2026-11-30T17:00:00.123Z] "GET /nope HTTP/1.1" 404 NR route_not_found - "-" 0 0 0 - "-" "curl/8.5.0" "r-404" "elsewhere" "-" - - 127.0.0.1:${p.port} ${s.downstreamRemoteAddress} - -\n`);
  });

  it("logs only what the filter expression selects", async () => {
    const path = join(tmp(), "access.log");
    const u = await startEchoUpstream("u", (req, res) => {
      req.resume();
      res.writeHead(req.url === "/fail" ? 503 : 200, { "content-length": "0" });
      res.end();
    });
    ups.push(u);
    const p = await start(await httpSnapshot(u.port, [text(path, "%RESPONSE_CODE% %REQ(:PATH)%\n", "response.code >= 500 || request.headers['x-debug'] == 'on'")]));
    const req = (path: string, extra = ""): string => `GET ${path} HTTP/1.1\r\nHost: reviews:9080\r\n${extra}Connection: close\r\n\r\n`;
    await rawExchange(p.port, req("/ok"));
    await rawExchange(p.port, req("/fail"));
    await rawExchange(p.port, req("/debug", "x-debug: on\r\n"));
    await waitFor(() => p.streams.length === 3);
    await p.flush();
    expect(readFileSync(path, "utf8")).toBe("503 /fail\n200 /debug\n");
    // `/ok` had no x-debug header: the lookup was an error (no such key), so not logged, and counted.
    expect(p.stats.snapshot().counters["access_log.filter_evaluation_errors"]).toBe(1);
  });

  it("two access logs on one path share one file", async () => {
    const path = join(tmp(), "access.log");
    const u = await sevenMsUpstream(() => proxy!.clock);
    const p = await start(await httpSnapshot(u.port, [text(path, "a %RESPONSE_CODE%\n"), text(path, "b %RESPONSE_CODE%\n")]));
    await rawExchange(p.port, GET);
    await waitFor(() => p.streams.length === 1);
    await p.flush();
    expect(readFileSync(path, "utf8")).toBe("a 200\nb 200\n");
    expect(p.stats.snapshot().counters["access_log_file.write_completed"]).toBe(1);
  });

  it("refuses a snapshot whose format, filter or path is bad, naming the listener", async () => {
    const d = tmp();
    const cases: Array<[AccessLogConfig, RegExp]> = [
      [text(join(d, "a.log"), "%NOPE%\n"), /accessLog\[0\]: access log format "%NOPE%\\n": unsupported command operator %NOPE%/],
      [text(join(d, "a.log"), "%RESPONSE_CODE%\n", "response.code >"), /accessLog\[0\]: access log filter "response.code >": unexpected end of expression/],
      [text(join(d, "missing", "a.log")), /accessLog\[0\]: unable to open file '.*\/missing\/a.log': ENOENT/],
    ];
    for (const [config, message] of cases) {
      const snap = await httpSnapshot(1, [config]);
      await expect(start(snap)).rejects.toThrow(message);
      proxy = undefined;
    }
  });
});

describe("access log (TCP)", () => {
  it("logs a proxied TCP connection with - for the HTTP fields", async () => {
    const path = join(tmp(), "tcp.log");
    const u = await startRawUpstream((s) => s.on("data", (d) => s.write(d)));
    ups.push(u);
    const snap = withAccessLog(await tcpSnapshot(tcpProxyConfig({ cluster: "outbound|3306||mysql.db.svc.cluster.local" }), [cluster("outbound|3306||mysql.db.svc.cluster.local", [u.port])]), [text(path)]);
    const p = await start(snap);
    const c = new TcpTestClient(p.port);
    await c.connected;
    c.socket.write("ping!");
    await c.received("ping!");
    p.clock.advance(1500);
    c.socket.end();
    await c.closed;
    await waitFor(() => p.streams.length === 1);
    await p.flush();
    const s = p.streams[0]!;
    expect(readFileSync(path, "utf8")).toBe(
      `[2026-11-30T17:00:00.123Z] "- - -" 0 - - - "-" 5 5 1500 - "-" "-" "-" "-" "127.0.0.1:${u.port}" outbound|3306||mysql.db.svc.cluster.local ${s.upstreamLocalAddress} 127.0.0.1:${p.port} ${s.downstreamRemoteAddress} - -\n`,
    );
  });
});

describe("access log (TCP refused by network RBAC)", () => {
  it("a connection closed by network RBAC is logged by the chain's tcp_proxy with Envoy's %CONNECTION_TERMINATION_DETAILS%, no flag, no upstream", async () => {
    const path = join(tmp(), "tcp-rbac.log");
    const u = await startRawUpstream((s) => s.on("data", (d) => s.write(d)));
    ups.push(u);
    const snap = withAccessLog(await tcpSnapshot(tcpProxyConfig({ cluster: "inbound|3306||" }), [cluster("inbound|3306||", [u.port])]), [text(path)]);
    const chain = snap.listeners[0]!.filterChains[0]!;
    const deny = buildRbacConfigs([{ ref: { kind: "AuthorizationPolicy", name: "deny-lo", namespace: "foo", file: "t.yaml" }, action: "DENY", rules: [{ from: [{ ipBlocks: ["127.0.0.0/8"] }], to: [], when: [] }] }], true);
    chain.filters = [...deny.map((c): NetworkFilter => ({ name: NETWORK_RBAC_FILTER, typedConfig: c })), ...chain.filters];
    const p = await start(snap);
    const c = new TcpTestClient(p.port);
    await c.closed;
    await waitFor(() => p.streams.length === 1);
    await p.flush();
    const s = p.streams[0]!;
    expect(s.connectionTerminationDetails).toBe("rbac_access_denied_matched_policy[ns[foo]-policy[deny-lo]-rule[0]]");
    expect(u.sockets.length).toBe(0);
    expect(p.stats.snapshot().counters["tcp.rbac.denied"]).toBe(1);
    expect(readFileSync(path, "utf8")).toBe(
      `[2026-11-30T17:00:00.123Z] "- - -" 0 - - rbac_access_denied_matched_policy[ns[foo]-policy[deny-lo]-rule[0]] "-" 0 0 0 - "-" "-" "-" "-" "-" inbound|3306|| - 127.0.0.1:${p.port} ${s.downstreamRemoteAddress} - -\n`,
    );
  });
});

describe("a slow access-log sink", () => {
  it("never holds up requests: past the buffer bound lines are dropped and counted", async () => {
    // A sink whose writes never complete (a hung disk).
    const stuck: FileIo = { open: () => ({ fd: 99, pipe: false, owned: false }), write: () => {}, close: () => {} };
    const u = await sevenMsUpstream(() => proxy!.clock);
    const p = await start(await httpSnapshot(u.port, [text("/hung/disk.log")]), { io: stuck, maxBufferedBytes: 4096, minFlushBytes: 1024 });
    const n = 40;
    for (let i = 0; i < n; i++) {
      const [r] = parseResponses(await rawExchange(p.port, GET));
      expect(r!.status).toBe(200);
    }
    await waitFor(() => p.streams.length === n);
    const c = p.stats.snapshot().counters;
    const g = p.stats.snapshot().gauges;
    expect(c["access_log_file.write_dropped"]).toBeGreaterThan(0);
    expect(c["access_log_file.write_buffered"]! + c["access_log_file.write_dropped"]!).toBe(n);
    expect(g["access_log_file.write_total_buffered"]).toBeLessThanOrEqual(4096);
  });

  it("a FIFO nobody reads: requests keep flowing, the pipe fills, lines are dropped and counted", async () => {
    const fifo = join(tmp(), "access.fifo");
    execFileSync("mkfifo", [fifo]);
    const u = await sevenMsUpstream(() => proxy!.clock);
    const p = await start(await httpSnapshot(u.port, [text(fifo, "%REQ(X-PAD)%\n")]), { maxBufferedBytes: 16 * 1024, minFlushBytes: 4096 });
    const pad = "p".repeat(2000);
    const n = 60; // ~120 KB of lines: more than a pipe (64 KiB) plus the buffer bound
    for (let i = 0; i < n; i++) {
      const [r] = parseResponses(await rawExchange(p.port, GET.replace("Connection: close", `X-Pad: ${pad}\r\nConnection: close`)));
      expect(r?.status, `request ${i}`).toBe(200);
    }
    await waitFor(() => p.streams.length === n);
    // Writes run on libuv's thread pool, shared with the rest of the process: wait for one to land.
    await waitFor(() => (p.stats.snapshot().counters["access_log_file.write_completed"] ?? 0) > 0, 5_000, "a completed write");
    const c = p.stats.snapshot().counters;
    const seen = JSON.stringify(c);
    expect(c["access_log_file.write_dropped"], seen).toBeGreaterThan(0);
    expect(c["access_log_file.write_failed"] ?? 0, seen).toBe(0);
    expect(p.stats.snapshot().gauges["access_log_file.write_total_buffered"]).toBeLessThanOrEqual(16 * 1024);
  });
});

describe("access logs in a production worker", () => {
  it("the production factories log, and a draining worker writes what is still buffered before it stops", async () => {
    const path = join(tmp(), "access.log");
    const clock = new ManualTimers(EPOCH);
    const u = await startEchoUpstream("u", (req, res) => {
      req.resume();
      res.writeHead(200, { "content-length": "2" });
      res.end("ok");
    });
    ups.push(u);
    const stats = new StatsStore();
    const log = createLogger("off");
    const files = new AccessLogFiles({ stats, log, timers: clock });
    const node = nodeIdentity({ env: {}, namespace: "default", labels: {}, domainSuffix: "cluster.local" });
    const telemetry = productionTelemetryFactories({ workerIndex: 0, node, registry: new Registry(), stats, log, accessLogFiles: files });
    const runtime = new ProxyRuntime({ limits: defaultLimits, random: seededRandom(7), log, clock, timers: clock, stats, telemetry });
    const snap = await httpSnapshot(u.port, [text(path, "%RESPONSE_CODE% %UPSTREAM_CLUSTER%\n")]);
    const r = await runtime.apply(snap);
    expect(r.errors).toEqual([]);
    await rawExchange(snap.listeners[0]!.port, GET);
    await waitFor(() => stats.snapshot().counters["access_log_file.write_buffered"] === 1);
    // The 1 s flush timer never fires (the clock stands still): drain() flushes through the factories' close().
    expect(readFileSync(path, "utf8")).toBe("");
    await runtime.drain(100);
    expect(readFileSync(path, "utf8")).toBe("200 outbound|9080||reviews.default.svc.cluster.local\n");
    expect(stats.snapshot().counters["access_log_file.flushed_by_timer"]).toBe(0);
  });
});
