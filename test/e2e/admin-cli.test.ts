// The admin API and the health port of a real `outrigger run` process: /logging reaching every
// worker, /healthcheck/fail on :15021, /drain_listeners stopping listeners while the process keeps
// serving admin, /quitquitquit exiting 0, /memory counting the workers, /explain on the live config.

import { connect } from "node:net";
import { Agent, request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { meshYaml, startCli, tempDir, writeConfig, type CliProcess } from "../helpers/cli-process.js";
import { freePort, startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";

const NS = "admin";
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

async function run(extra: string[] = []): Promise<{ port: number; admin: string; health: string }> {
  ups.push(await startEchoUpstream("v1"));
  const dir = await tempDir();
  const port = await freePort();
  const adminPort = await freePort();
  await writeConfig(dir, "mesh.yaml", meshYaml(NS, port, [ups[0]!.port]));
  cli = startCli(["run", "--config", dir, "--workers", "2", "--admin-port", String(adminPort), "--health-port", "0", "--namespace", NS, "--outbound", "off", "--no-watch", ...extra]);
  await cli.waitReady(adminPort);
  const hp = /health http:\/\/0\.0\.0\.0:(\d+)\/healthz\/ready/.exec(cli.stdout());
  expect(hp).not.toBeNull();
  return { port, admin: `http://127.0.0.1:${adminPort}`, health: `http://127.0.0.1:${hp![1]}/healthz/ready` };
}

/** Resolves true when a TCP connect to `port` is accepted, false when refused. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

describe("admin API of a running proxy (CLI process)", () => {
  it("POST /logging?level=debug reaches every worker; /healthcheck/fail turns :15021 and /ready to 503", async () => {
    const { admin, health } = await run();
    const r = await fetch(`${admin}/logging?level=debug`, { method: "POST" });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("active loggers:\n  admin: debug\n  main: debug\n  worker: debug\n\n");
    // Each worker logs the change at the new level: the line exists only if the worker applied it.
    await cli!.waitForLog(/ debug worker-0: log level set to debug/);
    await cli!.waitForLog(/ debug worker-1: log level set to debug/);

    expect((await fetch(health)).status).toBe(200);
    expect((await fetch(`${admin}/healthcheck/fail`, { method: "POST" })).status).toBe(200);
    const h = await fetch(health);
    expect(h.status).toBe(503);
    expect(await h.text()).toBe("health check failed (POST /healthcheck/fail); POST /healthcheck/ok to pass again\n");
    expect(await (await fetch(`${admin}/ready`)).text()).toBe("DRAINING\n");
    await fetch(`${admin}/healthcheck/ok`, { method: "POST" });
    expect((await fetch(health)).status).toBe(200);

    const mem = (await (await fetch(`${admin}/memory`)).json()) as Record<string, string>;
    expect(Number(mem.allocated)).toBeGreaterThan(0);
    const info = (await (await fetch(`${admin}/server_info`)).json()) as { state: string; command_line_options: { concurrency: number } };
    expect(info).toMatchObject({ state: "LIVE", command_line_options: { concurrency: 2 } });
  });

  it("/explain on the live configuration", async () => {
    const { admin, port } = await run();
    const r = await fetch(`${admin}/explain?authority=svc:${port}&path=/x`);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain(`outcome      route "default": forwarded to outbound|${port}||svc.${NS}.svc.cluster.local\n`);
  });

  it("POST /drain_listeners stops the listeners; the process and its admin API stay up", async () => {
    const { admin, port } = await run();
    expect(await accepts(port)).toBe(true);
    const r = await fetch(`${admin}/drain_listeners`, { method: "POST" });
    expect(await r.text()).toBe("OK\n");
    await cli!.waitForLog(/drain_listeners: all listeners stopped/);
    expect(await accepts(port)).toBe(false);
    expect((await fetch(`${admin}/ready`)).status).toBe(200);
    expect(cli!.child.exitCode).toBeNull();
  });

  it("POST /drain_listeners?graceful: responses close their connection for the drain period, then the listeners stop", async () => {
    const { admin, port } = await run(["--drain-timeout", "400ms"]);
    const get = () => request(`http://127.0.0.1:${port}/`, { headers: { host: `svc:${port}` }, dispatcher: new Agent() });
    const before = await get();
    expect(before.statusCode).toBe(200);
    expect(before.headers.connection).not.toBe("close");
    await before.body.text();
    expect(await (await fetch(`${admin}/drain_listeners?graceful`, { method: "POST" })).text()).toBe("OK\n");
    const during = await get();
    expect(during.statusCode).toBe(200);
    expect(during.headers.connection).toBe("close");
    await during.body.text();
    await cli!.waitForLog(/drain_listeners: all listeners stopped/);
    expect(await accepts(port)).toBe(false);
    expect(cli!.child.exitCode).toBeNull();
  });

  it("POST /quitquitquit answers OK and the process exits 0 (GET is refused with Envoy's 405)", async () => {
    const { admin } = await run();
    const g = await fetch(`${admin}/quitquitquit`);
    expect(g.status).toBe(405);
    expect(await g.text()).toBe("Method GET not allowed, POST required.");
    const r = await fetch(`${admin}/quitquitquit`, { method: "POST" });
    expect(await r.text()).toBe("OK\n");
    expect(await cli!.exited).toBe(0);
  });
});
