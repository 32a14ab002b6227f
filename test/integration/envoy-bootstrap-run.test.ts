// outrigger-envoy run from pilot-agent's rendered bootstrap (istio/istio pkg/bootstrap/testdata/
// default_golden.json, ports rewritten to free ones): the static 15021 listener proxies
// /healthz/ready to a fake agent, 15090 proxies /stats/prometheus to the admin server (at the
// bootstrap's admin address), and the admin answers what pilot-agent asks: server.state,
// workers_started, CDS/LDS update counts, /ready, /server_info. With dynamic_resources the server
// stays INITIALIZING until the xDS client's first update is applied.
//
// Everything is the production path (the Bootstrap proto check, the resource decoders, supervisor,
// workers, admin); only the xDS client is stood in for here (test/e2e/pilot-agent-lifecycle.test.ts
// runs the real one against a fake control plane).

import { afterEach, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventEmitter } from "node:events";
import type { AddressInfo } from "node:net";
import { envoyMain, type EnvoyDeps } from "../../src/cli/envoy-main.js";

import type { ConfigSink, ConfigSource, UpdateResult } from "../../src/config/source/config-source.js";
import type { XdsSourceOptions } from "../../src/xds/xds-options.js";
import { freePort } from "../helpers/upstreams.js";
import { rawExchange } from "../helpers/raw-client.js";
import { waitFor, within } from "../helpers/wait.js";
import { cluster } from "../helpers/proxy.js";
import { pilotAgentBootstrap } from "../helpers/pilot-agent-bootstrap.js";

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Ports {
  admin: number;
  health: number;
  stats: number;
  agent: number;
}

async function fakeAgent(): Promise<number> {
  const server: Server = createServer((req, res) => {
    res.setHeader("x-fake-agent", "1");
    res.end(`agent saw ${req.url}`);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as AddressInfo).port;
}

/** The golden bootstrap with every fixed port replaced (tests never bind 15000/15021/15090). */
async function bootstrapFile(ports: Ports, keepDynamic: boolean): Promise<{ dir: string; json: J }> {
  const json = await pilotAgentBootstrap(ports);
  if (!keepDynamic) delete json.dynamic_resources;
  const dir = await mkdtemp(join(tmpdir(), "outrigger-envoy-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, "envoy-rev.json"), JSON.stringify(json));
  return { dir, json };
}

function start(argv: string[], dir: string, deps: EnvoyDeps) {
  const out = { stdout: "", stderr: "" };
  const signals = new EventEmitter();
  const exited = envoyMain(argv, {
    cwd: dir,
    stdout: (s) => void (out.stdout += s),
    stderr: (s) => void (out.stderr += s),
    env: {},
    signals,
    cpuCount: () => 2,
    reusePortBalances: () => true,
    envoyDeps: deps,
  });
  return { out, exited, signals };
}

async function get(port: number, path: string): Promise<{ status: number; body: string; headers: Headers }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, body: await r.text(), headers: r.headers };
}

/** pilot-agent's query, sent unescaped on a raw socket as its Go client does; the `name: value` lines. */
async function agentStats(adminPort: number, filter: string): Promise<Map<string, string>> {
  const text = await rawExchange(adminPort, `GET /stats?usedonly&filter=${filter} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  expect(text.startsWith("HTTP/1.1 200")).toBe(true);
  const body = text.slice(text.indexOf("\r\n\r\n") + 4);
  const lines = new Map<string, string>();
  for (const line of body.split("\n").filter((l) => l.trim() !== "" && !/^[0-9a-f]+\r?$/.test(l))) {
    const parts = line.replace(/\r$/, "").split(":");
    expect(parts.length, `"${line}" splits on ':' into exactly 2 parts`).toBe(2);
    lines.set(parts[0]!, parts[1]!.trim());
  }
  return lines;
}

const readinessFilter = "^(server\\.state|listener_manager\\.workers_started)";
const configFilter = "^(cluster_manager\\.cds|listener_manager\\.lds)\\.(update_success|update_rejected)$";

async function ports(): Promise<Ports> {
  return { admin: await freePort(), health: await freePort(), stats: await freePort(), agent: await fakeAgent() };
}

describe("outrigger-envoy with pilot-agent's bootstrap", () => {
  it("serves the static 15021 and 15090 listeners and answers pilot-agent's admin calls", async () => {
    const p = await ports();
    const { dir, json } = await bootstrapFile(p, false);
    const run = start(["-c", "envoy-rev.json", "--concurrency", "1", "--drain-time-s", "1", "--drain-strategy", "immediate", "-l", "warning", "--disable-hot-restart", "--allow-unknown-static-fields"], dir, {});
    await within(waitFor(() => run.out.stdout.includes("outrigger ready"), 20_000, "the ready line"), 25_000, "start-up");

    const health = await get(p.health, "/healthz/ready");
    expect(health.status).toBe(200);
    expect(health.body).toBe("agent saw /healthz/ready");
    expect(health.headers.get("x-fake-agent")).toBe("1");
    const prom = await get(p.stats, "/stats/prometheus");
    expect(prom.status).toBe(200);
    expect(prom.body).toMatch(/envoy_server_state\{?[^\n]*\}? 0/);
    // Routes match by prefix only: anything else on 15021 is a 404 from the proxy, not the agent.
    expect((await get(p.health, "/other")).status).toBe(404);

    const ready = await agentStats(p.admin, readinessFilter);
    expect(ready.get("server.state")).toBe("0");
    expect(ready.get("listener_manager.workers_started")).toBe("1");
    // The static resources are not an xDS update.
    const cfg = await agentStats(p.admin, configFilter);
    expect(cfg.get("cluster_manager.cds.update_success") ?? "0").toBe("0");
    expect(cfg.get("listener_manager.lds.update_success") ?? "0").toBe("0");

    const r = await get(p.admin, "/ready");
    expect(r.status).toBe(200);
    expect(r.body).toBe("LIVE\n");
    const info = JSON.parse((await get(p.admin, "/server_info")).body) as J;
    expect(info.state).toBe("LIVE");
    expect(info.node).toEqual(json.node);
    expect(info.command_line_options).toMatchObject({ config_path: "envoy-rev.json", concurrency: 1, drain_time: "1s", drain_strategy: "Immediate", log_level: "warning", disable_hot_restart: true, allow_unknown_static_fields: true });
    const clusters = (await get(p.admin, "/clusters")).body;
    expect(clusters).toContain("xds-grpc::/tmp/XDS::");
    // BootstrapConfigDump is the Envoy bootstrap as read (canonical proto JSON: defaults such as
    // codec_type AUTO left out, as Envoy prints them).
    const dump = JSON.parse((await get(p.admin, "/config_dump")).body) as J;
    const boot = dump.configs.find((c: J) => String(c["@type"]).endsWith("BootstrapConfigDump"));
    expect(boot.bootstrap.node).toEqual(json.node);
    expect(boot.bootstrap.admin.address).toEqual(json.admin.address);
    expect(boot.bootstrap.stats_config).toEqual(json.stats_config);
    expect(boot.bootstrap.static_resources.clusters.map((c: J) => c.name)).toEqual(["prometheus_stats", "agent", "sds-grpc", "xds-grpc"]);

    // pilot-agent's shutdown call: inbound listeners only (the static ones have no direction), graceful.
    const drain = await fetch(`http://127.0.0.1:${p.admin}/drain_listeners?inboundonly&graceful&skip_exit`, { method: "POST" });
    expect(drain.status).toBe(200);
    expect((await get(p.health, "/healthz/ready")).status).toBe(200);

    const quit = await fetch(`http://127.0.0.1:${p.admin}/quitquitquit`, { method: "POST" });
    expect(quit.status).toBe(200);
    expect(await within(run.exited, 10_000, "exit after /quitquitquit")).toBe(0);
  }, 40_000);

  it("stays INITIALIZING (503, workers not started) until the xDS client's first update, then counts CDS/LDS updates", async () => {
    const p = await ports();
    const { dir, json } = await bootstrapFile(p, true);
    let given: XdsSourceOptions | undefined;
    let release: () => void = () => {};
    const released = new Promise<void>((r) => (release = r));
    const createXdsSource = (opts: XdsSourceOptions): ConfigSource => {
      given = opts;
      return {
        name: "xds",
        async start(sink: ConfigSink): Promise<UpdateResult> {
          await released;
          const c = cluster("outbound|80||svc", [p.agent]);
          return sink.push({ origin: "xds:ads", updates: [{ type: "cluster", version: "v1", kind: "state-of-the-world", resources: { [c.name]: c } }, { type: "listener", version: "v1", kind: "state-of-the-world", resources: {} }] });
        },
        refresh: () => Promise.resolve({ accepted: true, errors: [], version: null }),
        close: () => {},
      };
    };
    const run = start(["-c", join(dir, "envoy-rev.json"), "--concurrency", "1"], "/", { createXdsSource });
    await waitFor(() => given !== undefined, 20_000, "the xDS client to be created");
    expect(given).toMatchObject({ ads: { target: "unix:/tmp/XDS", clusterName: "xds-grpc" }, mode: "delta", node: json.node, setNodeOnFirstMessageOnly: true, sds: { target: "unix:/var/run/secrets/workload-spiffe-uds/test.sock", clusterName: "sds-grpc" } });
    // The static listeners are bound already: the kubelet's probe reaches the agent, which says not ready itself.
    const before = await agentStats(p.admin, readinessFilter);
    expect(before.get("server.state")).toBe("3");
    expect(before.get("listener_manager.workers_started")).toBe("0");
    expect((await get(p.admin, "/ready")).status).toBe(503);

    release();
    await within(waitFor(() => run.out.stdout.includes("outrigger ready"), 20_000, "the ready line"), 25_000, "ready after xDS");
    const after = await agentStats(p.admin, readinessFilter);
    expect(after.get("server.state")).toBe("0");
    expect(after.get("listener_manager.workers_started")).toBe("1");
    const cfg = await agentStats(p.admin, configFilter);
    expect(cfg.get("cluster_manager.cds.update_success")).toBe("1");
    expect(cfg.get("listener_manager.lds.update_success")).toBe("1");
    expect(cfg.get("cluster_manager.cds.update_rejected")).toBe("0");

    await fetch(`http://127.0.0.1:${p.admin}/quitquitquit`, { method: "POST" });
    expect(await within(run.exited, 10_000, "exit")).toBe(0);
  }, 40_000);
});

describe("outrigger-envoy with a control plane that is refused first", () => {
  it("keeps running INITIALIZING through a refused first update (counted as rejected), LIVE after the next", async () => {
    const p = await ports();
    const { dir } = await bootstrapFile(p, true);
    let sinkOf: ConfigSink | undefined;
    let firstResult: UpdateResult | undefined;
    let resolveStart: (r: UpdateResult) => void = () => {};
    const createXdsSource = (): ConfigSource => ({
      name: "xds",
      async start(sink: ConfigSink): Promise<UpdateResult> {
        sinkOf = sink;
        // A CDS response that tries to replace the bootstrap's static `agent` cluster: refused.
        const c = cluster("agent", [p.agent]);
        firstResult = await sink.push({ origin: "xds:ads", updates: [{ type: "cluster", version: "v1", kind: "state-of-the-world", resources: { agent: c } }] });
        resolveStart(firstResult);
        return firstResult;
      },
      refresh: () => Promise.resolve({ accepted: true, errors: [], version: null }),
      close: () => {},
    });
    const started = new Promise<UpdateResult>((r) => (resolveStart = r));
    const run = start(["-c", "envoy-rev.json", "--concurrency", "1"], dir, { createXdsSource });
    const refused = await within(started, 20_000, "the first xDS update");
    expect(refused.accepted).toBe(false);
    expect(refused.errors.map((e) => e.message).join()).toContain('"agent" is a static resource of the bootstrap and cannot be updated');
    const during = await agentStats(p.admin, configFilter);
    expect(during.get("cluster_manager.cds.update_rejected")).toBe("1");
    expect((await agentStats(p.admin, readinessFilter)).get("server.state")).toBe("3");
    expect(run.out.stdout).not.toContain("outrigger ready");

    const ok = cluster("outbound|80||svc", [p.agent]);
    const second = await sinkOf!.push({ origin: "xds:ads", updates: [{ type: "cluster", version: "v2", kind: "state-of-the-world", resources: { [ok.name]: ok } }] });
    expect(second.accepted).toBe(true);
    await within(waitFor(() => run.out.stdout.includes("outrigger ready"), 20_000, "the ready line"), 25_000, "ready after the accepted update");
    expect((await agentStats(p.admin, readinessFilter)).get("server.state")).toBe("0");
    const after = await agentStats(p.admin, configFilter);
    expect(after.get("cluster_manager.cds.update_success")).toBe("1");
    expect(after.get("cluster_manager.cds.update_rejected")).toBe("1");
    // The static cluster is still the bootstrap's.
    expect((await get(p.health, "/healthz/ready")).body).toBe("agent saw /healthz/ready");

    await fetch(`http://127.0.0.1:${p.admin}/quitquitquit`, { method: "POST" });
    expect(await within(run.exited, 10_000, "exit")).toBe(0);
  }, 40_000);
});

describe("outrigger-envoy exits 1 with Envoy-like messages", () => {
  async function runOnce(argv: string[], cwd = "/"): Promise<{ code: number; stdout: string; stderr: string }> {
    const out = { stdout: "", stderr: "" };
    const code = await envoyMain(argv, { cwd, stdout: (s) => void (out.stdout += s), stderr: (s) => void (out.stderr += s), env: {}, envoyDeps: {} });
    return { code, ...out };
  }

  it("on an unknown flag, naming it", async () => {
    const r = await runOnce(["-c", "b.json", "--certs", "/etc/certs"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("outrigger-envoy: PARSE ERROR: unknown flag --certs");
  });

  it("on a missing bootstrap", async () => {
    const dir = await mkdtemp(join(tmpdir(), "outrigger-envoy-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const r = await runOnce(["-c", "missing.json"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error initializing configuration 'missing.json': unable to read file: ${join(dir, "missing.json")}`);
  });

  it("validates with --mode validate: 0 and OK, or 1 naming the field", async () => {
    const p: Ports = { admin: 1, health: 2, stats: 3, agent: 4 };
    const { dir, json } = await bootstrapFile(p, true);
    const ok = await runOnce(["-c", "envoy-rev.json", "--mode", "validate"], dir);
    expect(ok).toMatchObject({ code: 0, stdout: "configuration 'envoy-rev.json' OK\n" });
    json.dynamic_resources.ads_config.api_type = "REST";
    await writeFile(join(dir, "bad.json"), JSON.stringify(json));
    expect(await runOnce(["-c", "envoy-rev.json", "--mode", "init_only"], dir)).toMatchObject({ code: 0, stdout: "" });
    const bad = await runOnce(["-c", "bad.json", "--mode", "validate"], dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("dynamic_resources.ads_config.api_type: REST is not supported for ADS");
  });

  it("prints help and version", async () => {
    expect((await runOnce(["--help"])).stdout).toContain("Usage: outrigger-envoy -c");
    expect((await runOnce(["--version"])).stdout).toMatch(/outrigger-envoy +version: outrigger\//);
  });
});

