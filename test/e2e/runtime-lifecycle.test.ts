// The process as operators run it: multi-worker start, reload under load with zero failed
// requests, a refused bad reload and crashed-worker replacement (SIGTERM: sigterm-drain.test.ts).

import { nodeIdentity } from "../../src/observability/node-identity.js";
import { EventEmitter } from "node:events";
import { rename } from "node:fs/promises";
import { join } from "node:path";
import { Agent, request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { defaultLimits, type Bootstrap } from "../../src/bootstrap/bootstrap.js";
import { createLogger } from "../../src/common/logger.js";
import { main } from "../../src/cli/main.js";
import { startSupervisor } from "../../src/supervisor/supervisor.js";
import { meshYaml, startCli, subsetRouteYaml, tempDir, writeConfig, type CliProcess } from "../helpers/cli-process.js";
import { freePort, startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";
import { dumpParts } from "../helpers/config-dump.js";
import { waitFor } from "../helpers/wait.js";

const NS = "lifecycle";
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

async function setup(): Promise<{ dir: string; port: number; admin: number }> {
  for (const n of ["v1", "v2"]) ups.push(await startEchoUpstream(n));
  const dir = await tempDir();
  const port = await freePort();
  const admin = await freePort();
  await writeConfig(dir, "mesh.yaml", meshYaml(NS, port, ups.map((u) => u.port)));
  await writeConfig(dir, "route.yaml", subsetRouteYaml(NS, "v1", 2));
  return { dir, port, admin };
}

/** Atomic replace, as editors and ConfigMap updates do. */
async function replaceFile(dir: string, name: string, text: string): Promise<void> {
  await writeConfig(dir, `.${name}.tmp`, text);
  await rename(join(dir, `.${name}.tmp`), join(dir, name));
}

async function get(agent: Agent, port: number): Promise<{ status: number; name: string }> {
  const r = await request(`http://127.0.0.1:${port}/`, { dispatcher: agent, headers: { host: `svc:${port}` } });
  const text = await r.body.text();
  return { status: r.statusCode, name: r.statusCode === 200 ? (JSON.parse(text) as { name: string }).name : text };
}

describe("runtime lifecycle (CLI process)", () => {
  it("reloads on file change and SIGHUP under load with zero failed requests", async () => {
    const { dir, port, admin } = await setup();
    cli = startCli(["run", "--config", dir, "--workers", "2", "--admin-port", String(admin), "--health-port", "0", "--namespace", NS, "--outbound", "off"]);
    await cli.waitReady(admin);
    const agent = new Agent({ connections: 8, pipelining: 1 });
    const seen = new Map<string, number>();
    let failures = 0;
    let total = 0;
    let stop = false;
    const deadline = Date.now() + 15_000;
    const loops = Array.from({ length: 8 }, async () => {
      while (!stop && Date.now() < deadline) {
        try {
          const r = await get(agent, port);
          total++;
          if (r.status !== 200) failures++;
          else seen.set(r.name, (seen.get(r.name) ?? 0) + 1);
        } catch {
          failures++;
        }
      }
    });
    for (let i = 0; i < 6; i++) {
      // Load against each snapshot: a number of requests answered since the last reload.
      const before = total;
      await waitFor(() => total >= before + 20, 10_000, `requests served under snapshot ${i + 1}`);
      const subset = i % 2 === 0 ? "v2" : "v1";
      await replaceFile(dir, "route.yaml", subsetRouteYaml(NS, subset, 2));
      if (i === 3) cli.kill("SIGHUP");
      await cli.waitForLog(new RegExp(`now serving snapshot \\S+/${i + 2}\\b`));
    }
    stop = true;
    await Promise.all(loops);
    await agent.close();
    expect(failures).toBe(0);
    expect(total).toBeGreaterThan(50);
    expect(seen.get("v1")).toBeGreaterThan(0);
    expect(seen.get("v2")).toBeGreaterThan(0);
  });

  it("refuses a bad reload with every error as file:line and keeps serving the old config", async () => {
    const { dir, port, admin } = await setup();
    cli = startCli(["run", "--config", dir, "--workers", "1", "--admin-port", String(admin), "--health-port", "0", "--namespace", NS, "--no-watch", "--outbound", "off"]);
    await cli.waitReady(admin);
    await writeConfig(dir, "route.yaml", subsetRouteYaml(NS, "v1", 2).replace("subset: v1}", "subset: v1}\n      weight: -5"));
    cli.kill("SIGHUP");
    const line = await cli.waitForLog(/reload \(SIGHUP\) refused[^\n]*\n[^\n]+/);
    expect(line).toMatch(/route\.yaml:\d+: spec\.http\[0\]\.route\[0\]\.weight/);
    const agent = new Agent();
    expect(await get(agent, port)).toEqual({ status: 200, name: "v1" });
    const dump = dumpParts(await (await fetch(`http://127.0.0.1:${admin}/config_dump`)).json());
    expect(dump.lastReloadError).toMatch(/weight/);
    expect(dump.version).toMatch(/\/1$/);
    await agent.close();
  });
  // SIGTERM drain under load: sigterm-drain.test.ts.
});

/** Log lines of an in-process supervisor, and a wait for one woken by the line itself. */
function logCapture(): { lines: string[]; sink: (line: string) => void; logged: (re: RegExp, timeoutMs?: number) => Promise<void> } {
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  return {
    lines,
    sink: (line) => {
      lines.push(line);
      for (const w of [...waiters]) w();
    },
    logged: (re, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => (waiters.delete(check), reject(new Error(`no log line matching ${re} after ${timeoutMs} ms:\n${lines.join("\n")}`))), timeoutMs);
        const check = (): void => {
          if (!lines.some((l) => re.test(l))) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      }),
  };
}

/** Settings for a supervisor started in-process on `dir`'s config (admin API not started). */
function inProcessBootstrap(dir: string, workers: number): Bootstrap {
  return {
    configPaths: [dir],
    workers,
    reusePort: true,
    adminAddress: "127.0.0.1",
    adminPort: 0,
    namespace: NS,
    proxyLabels: {},
    domainSuffix: "cluster.local",
    outbound: null,
    drainTimeoutMs: 0,
    exitOnZeroActiveConnections: false,
    minimumDrainMs: 0,
    limits: defaultLimits,
    logLevel: "info",
    watch: false,
    node: nodeIdentity({ env: {}, namespace: "default", labels: {}, domainSuffix: "cluster.local" }),
  };
}

describe("supervisor (in-process)", () => {
  it("replaces a crashed worker and keeps serving", async () => {
    const u = await startEchoUpstream("v1");
    ups.push(u);
    const dir = await tempDir();
    const port = await freePort();
    await writeConfig(dir, "mesh.yaml", meshYaml(NS, port, [u.port]));
    const { lines, sink, logged } = logCapture();
    const bootstrap = inProcessBootstrap(dir, 2);
    const sup = await startSupervisor(bootstrap, createLogger("info", "test", sink));
    try {
      await sup.ready;
      await sup.workers[0]!.terminate();
      await logged(/worker 0 replaced/);
      expect(lines.join("\n")).toMatch(/worker 0 exited unexpectedly/);
      expect(lines.join("\n")).toMatch(/worker 0 replaced/);
      const agent = new Agent();
      for (let i = 0; i < 20; i++) expect(await get(agent, port)).toEqual({ status: 200, name: "v1" });
      await agent.close();
    } finally {
      await sup.drain();
    }
  });

  it("gives a crashed worker's connection slot back: maxConnections 1, the worker dies mid-request, the next request is served", async () => {
    // The first request hangs at the upstream (the worker is killed while it waits); later ones answer at once.
    let seen = 0;
    let firstArrived!: () => void;
    const arrived = new Promise<void>((r) => (firstArrived = r));
    const u = await startEchoUpstream("slow-then-fast", (_req, res) => {
      if (seen++ === 0) {
        firstArrived();
        return;
      }
      res.writeHead(200, { "content-length": "2" });
      res.end("ok");
    });
    ups.push(u);
    const dir = await tempDir();
    const port = await freePort();
    await writeConfig(dir, "mesh.yaml", meshYaml(NS, port, [u.port]));
    await writeConfig(
      dir,
      "dr.yaml",
      `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc, namespace: ${NS}}
spec:
  host: svc.${NS}.svc.cluster.local
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 1}
      http: {http1MaxPendingRequests: 1}
`,
    );
    const { lines, sink, logged } = logCapture();
    const bootstrap = inProcessBootstrap(dir, 1);
    const sup = await startSupervisor(bootstrap, createLogger("info", "test", sink));
    const send = async (agent: Agent): Promise<{ status: number; body: string; flags: string | undefined }> => {
      const r = await request(`http://127.0.0.1:${port}/`, { dispatcher: agent, headers: { host: `svc:${port}` }, signal: AbortSignal.timeout(4_000) });
      return { status: r.statusCode, body: await r.body.text(), flags: r.headers["x-envoy-overloaded"] as string | undefined };
    };
    try {
      await sup.ready;
      const agent = new Agent();
      // Holds the cluster's only connection slot on worker 0 (the only worker).
      const inflight = send(agent).catch((e: unknown) => e);
      await arrived;
      await sup.workers[0]!.terminate();
      expect(await inflight).toBeInstanceOf(Error);
      await logged(/worker 0 replaced/);
      expect(lines.join("\n")).toMatch(/worker 0: reclaimed \d+ request\(s\), \d+ pending, 1 connection\(s\)/);
      // Without the reclaim the dead worker's connection stays counted: this request would wait
      // for a slot forever (and a concurrent one overflow with 503 UO).
      const results = [];
      for (let i = 0; i < 3; i++) results.push(await send(agent).catch((e: unknown) => String(e)));
      expect(results).toEqual(Array(3).fill({ status: 200, body: "ok", flags: undefined }));
      await agent.close();
    } finally {
      await sup.drain();
    }
  });
});

describe("platform without SO_REUSEPORT balancing (macOS, Windows), decided by an injected check", () => {
  it("runs 1 worker that binds without reusePort and serves, with a message saying why", async () => {
    const u = await startEchoUpstream("v1");
    ups.push(u);
    const dir = await tempDir();
    const port = await freePort();
    await writeConfig(dir, "mesh.yaml", meshYaml(NS, port, [u.port]));
    let stdout = "";
    let stderr = "";
    let onReady!: (v: "ready") => void;
    const ready = new Promise<"ready">((r) => (onReady = r));
    const signals = new EventEmitter();
    const done = main(["run", "--config", dir, "--workers", "4", "--admin-port", "0", "--health-port", "0", "--namespace", NS, "--no-watch", "--drain-timeout", "0", "--outbound", "off"], {
      stdout: (t) => {
        stdout += t;
        if (stdout.includes("outrigger ready")) onReady("ready");
      },
      stderr: (t) => void (stderr += t),
      env: {},
      signals,
      cpuCount: () => 8,
      reusePortBalances: () => false,
    });
    const first = await Promise.race([done.then((code) => ({ code })), ready]);
    expect(first, stderr).toBe("ready");
    expect(stdout).toMatch(/; 1 worker\n$/);
    expect(stderr).toMatch(/SO_REUSEPORT does not balance connections on this OS \(\w+\): running 1 worker, which accepts every connection/);
    const agent = new Agent();
    for (let i = 0; i < 5; i++) expect(await get(agent, port)).toEqual({ status: 200, name: "v1" });
    await agent.close();
    signals.emit("SIGTERM");
    expect(await done).toBe(0);
  });
});
