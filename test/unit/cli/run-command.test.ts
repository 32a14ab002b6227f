import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Bootstrap } from "../../../src/bootstrap/bootstrap.js";
import type { Snapshot } from "../../../src/config/model/types.js";
import type { Supervisor } from "../../../src/supervisor/supervisor-api.js";
import { harness } from "./cli-harness.js";
import { supervisorStubs } from "../../helpers/admin.js";
import { dumpParts } from "../../helpers/config-dump.js";
import { httpListener } from "../../../src/config/model/listener-defaults.js";

const snapshot: Snapshot = {
  version: "t/1",
  listeners: [
    httpListener({ address: "0.0.0.0", port: 9080, direction: "OUTBOUND", routeConfigName: "9080" }),
    httpListener({ address: "0.0.0.0", port: 15080, direction: "INBOUND", routeConfigName: "inbound|15080||" }),
  ],
  routeConfigs: {},
  clusters: {},
};

function fakeSupervisor(opts: { drainExits?: boolean; readyFails?: Error } = {}) {
  const calls = { bootstrap: undefined as Bootstrap | undefined, reloads: [] as string[], drains: 0 };
  let ready = false;
  let resolveReady!: () => void;
  let rejectReady!: (e: Error) => void;
  let resolveExited!: (code: number) => void;
  const readyP = new Promise<void>((res, rej) => ((resolveReady = res), (rejectReady = rej)));
  const exited = new Promise<number>((res) => (resolveExited = res));
  const sup: Supervisor = {
    ...supervisorStubs(),
    admin: { isReady: () => ready, configDump: () => ({ bootstrap: calls.bootstrap!, snapshot, lastReloadError: null }) },
    ready: readyP,
    reload: async (reason) => {
      calls.reloads.push(reason);
      return { ok: false, errors: ["x.yaml:3: spec: bad"] };
    },
    drain: async () => {
      calls.drains++;
      ready = false;
      if (opts.drainExits !== false) resolveExited(0);
    },
    exited,
  };
  const startSupervisor = async (b: Bootstrap) => {
    calls.bootstrap = b;
    // Readiness comes later than start (a later turn of the event loop), as real workers bind
    // after the supervisor starts: the CLI must wait for it.
    setImmediate(() => {
      if (opts.readyFails) rejectReady(opts.readyFails);
      else {
        ready = true;
        resolveReady();
      }
    });
    return sup;
  };
  return { calls, startSupervisor };
}

function configFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "outrigger-run-"));
  const f = join(dir, "vs.yaml");
  writeFileSync(f, "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: x}\nspec: {}\n");
  return f;
}

async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}


describe("outrigger run", () => {
  it("starts, prints the start-up line, serves admin, reloads on SIGHUP, drains on SIGTERM", async () => {
    const fake = fakeSupervisor();
    const h = harness({ deps: { startSupervisor: fake.startSupervisor }, env: { POD_NAMESPACE: "shop" } });
    const file = configFile();
    const done = h.start(["run", "--config", file, "--admin-port", "0", "--health-port", "0", "--workers", "2", "--log-level", "info"]);
    await h.output("outrigger ready");
    expect(fake.calls.bootstrap).toMatchObject({ configPaths: [file], namespace: "shop", workers: 2, adminPort: 0 });
    const m = /admin http:\/\/127\.0\.0\.1:(\d+)\//.exec(h.out.stdout);
    expect(m).not.toBeNull();
    const hp = /health http:\/\/0\.0\.0\.0:(\d+)\/healthz\/ready/.exec(h.out.stdout);
    expect(h.out.stdout).toBe(`outrigger ready: listeners 0.0.0.0:9080 (outbound), 0.0.0.0:15080 (inbound); admin http://127.0.0.1:${m![1]}/; health http://0.0.0.0:${hp![1]}/healthz/ready; 2 workers\n`);
    expect((await fetch(`http://127.0.0.1:${hp![1]}/healthz/ready`)).status).toBe(200);

    const admin = `http://127.0.0.1:${m![1]}`;
    expect((await fetch(`${admin}/ready`)).status).toBe(200);
    const dump = dumpParts(await (await fetch(`${admin}/config_dump`)).json());
    expect(dump.version).toBe("t/1");

    // The reload starts synchronously with the signal.
    h.signals.send("SIGHUP");
    expect(fake.calls.reloads).toEqual(["SIGHUP"]);
    expect(h.out.stderr).toContain("SIGHUP: reloading config");

    h.signals.send("SIGTERM");
    expect(await done).toBe(0);
    expect(fake.calls.drains).toBe(1);
    expect(h.out.stderr).toContain("SIGTERM: draining");
    for (const s of ["SIGHUP", "SIGTERM", "SIGINT"]) expect(h.signals.listenerCount(s), s).toBe(0);
    await expect(fetch(`${admin}/ready`)).rejects.toThrow();
  });

  it("/ready says DRAINING during the drain; a second SIGINT exits at once with 130", async () => {
    const fake = fakeSupervisor({ drainExits: false });
    const h = harness({ deps: { startSupervisor: fake.startSupervisor } });
    const done = h.start(["run", "--config", configFile(), "--admin-port", "0", "--health-port", "0"]);
    await h.output("outrigger ready");
    const port = /admin http:\/\/127\.0\.0\.1:(\d+)\//.exec(h.out.stdout)![1];
    h.signals.send("SIGINT");
    const r = await fetch(`http://127.0.0.1:${port}/ready`);
    expect(r.status).toBe(503);
    expect(await r.text()).toBe("DRAINING\n");
    h.signals.send("SIGINT");
    expect(await done).toBe(130);
    expect(fake.calls.drains).toBe(1);
    expect(h.out.stderr).toContain("second SIGINT");
  });

  it("a config path that does not exist: exit 1 naming it, nothing started", async () => {
    const fake = fakeSupervisor();
    const h = harness({ deps: { startSupervisor: fake.startSupervisor } });
    const r = await h.run(["run", "--config", configFile(), "--config", "/nonexistent/outrigger.yaml"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("outrigger run: config path not found: /nonexistent/outrigger.yaml\n");
    expect(fake.calls.bootstrap).toBeUndefined();
  });

  it("the supervisor refusing to start: exit 1 with its message, one error per line", async () => {
    let h = harness({ deps: { startSupervisor: () => Promise.reject(new Error("listen EACCES 0.0.0.0:80")) } });
    let r = await h.run(["run", "--config", configFile(), "--admin-port", "0", "--health-port", "0"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("outrigger run: cannot start: listen EACCES 0.0.0.0:80\n");
    h = harness({ deps: { startSupervisor: () => Promise.reject(new Error("a.yaml:3: spec.hosts: required\nb.yaml:9: spec.http[0]: bad")) } });
    r = await h.run(["run", "--config", configFile(), "--admin-port", "0", "--health-port", "0"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("outrigger run: cannot start:\na.yaml:3: spec.hosts: required\nb.yaml:9: spec.http[0]: bad\n");
  });

  it("/ready is served (503) while the supervisor is still starting", async () => {
    const fake = fakeSupervisor();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // The admin API is up before the supervisor is asked to start.
    let asked!: () => void;
    const supervisorAsked = new Promise<void>((r) => (asked = r));
    const h = harness({ deps: { startSupervisor: async (b) => (asked(), await gate, fake.startSupervisor(b)) } });
    const port = await freePort();
    const done = h.start(["run", "--config", configFile(), "--admin-port", String(port), "--health-port", "0"]);
    await supervisorAsked;
    const r = await fetch(`http://127.0.0.1:${port}/ready`);
    expect(r.status).toBe(503);
    expect(await r.text()).toBe("INITIALIZING\n");
    const dump = dumpParts(await (await fetch(`http://127.0.0.1:${port}/config_dump`)).json());
    expect(dump.version).toBeUndefined();
    expect(dump.listeners).toEqual({});
    release();
    await h.output("outrigger ready");
    expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200);
    h.signals.send("SIGTERM");
    expect(await done).toBe(0);
  });

  it("workers failing to become ready: exit 1 after draining", async () => {
    const fake = fakeSupervisor({ readyFails: new Error("listen EADDRINUSE 0.0.0.0:9080") });
    const h = harness({ deps: { startSupervisor: fake.startSupervisor } });
    const r = await h.run(["run", "--config", configFile(), "--admin-port", "0", "--health-port", "0"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cannot start: listen EADDRINUSE 0.0.0.0:9080");
    expect(fake.calls.drains).toBe(1);
  });

  it("admin port taken: exit 1 before any worker starts", async () => {
    const { createServer } = await import("node:net");
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const fake = fakeSupervisor();
      const h = harness({ deps: { startSupervisor: fake.startSupervisor } });
      const r = await h.run(["run", "--config", configFile(), "--admin-port", String(port), "--health-port", "0"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`admin API cannot listen on 127.0.0.1:${port}: address already in use`);
      expect(fake.calls.bootstrap).toBeUndefined();
    } finally {
      blocker.close();
    }
  });

  it("health port taken: exit 1 before any worker starts", async () => {
    const { createServer } = await import("node:net");
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "0.0.0.0", r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const fake = fakeSupervisor();
      const h = harness({ deps: { startSupervisor: fake.startSupervisor } });
      const r = await h.run(["run", "--config", configFile(), "--admin-port", "0", "--health-port", String(port)]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`outrigger run: health port cannot listen on 0.0.0.0:${port}: address already in use\n`);
      expect(fake.calls.bootstrap).toBeUndefined();
    } finally {
      blocker.close();
    }
  });
});
