// Start order: the supervisor starts its worker threads before the first config arrives (they load
// the data path while the main thread translates or waits for the control plane), yet it is ready
// only once every worker applied the first snapshot and bound its listeners; a refused first
// config fails the start with its errors and leaves no worker thread running.

import { afterEach, describe, expect, it } from "vitest";
import type { Worker } from "node:worker_threads";
import { defaultLimits, type Bootstrap } from "../../../src/bootstrap/bootstrap.js";
import { createLogger } from "../../../src/common/logger.js";
import { httpListener } from "../../../src/config/model/listener-defaults.js";
import type { Listener } from "../../../src/config/model/types.js";
import type { ConfigSource } from "../../../src/config/source/config-source.js";
import { nodeIdentity } from "../../../src/observability/node-identity.js";
import { createSupervisor } from "../../../src/supervisor/supervisor.js";
import type { Supervisor } from "../../../src/supervisor/supervisor-api.js";
import { memorySource } from "../../helpers/memory-source.js";
import { route } from "../../helpers/proxy.js";
import { freePort } from "../../helpers/upstreams.js";

const bootstrap: Bootstrap = {
  configPaths: [],
  workers: 2,
  adminAddress: "127.0.0.1",
  adminPort: 0,
  namespace: "shop",
  proxyLabels: {},
  domainSuffix: "cluster.local",
  outbound: null,
  drainTimeoutMs: 0,
  exitOnZeroActiveConnections: false,
  minimumDrainMs: 0,
  reusePort: true,
  limits: defaultLimits,
  logLevel: "off",
  node: nodeIdentity({ env: {}, namespace: "shop", labels: {}, domainSuffix: "cluster.local" }),
  watch: false,
};

let sup: Supervisor | undefined;
afterEach(async () => {
  await sup?.drain();
  sup = undefined;
});

function listener(port: number, name?: string): Listener {
  return httpListener({ address: "127.0.0.1", port, direction: "OUTBOUND", routeConfigName: "rc", ...(name !== undefined ? { name } : {}) });
}

function teapot(port: number, extra: Listener[] = []) {
  return memorySource({
    listeners: [listener(port), ...extra],
    routeConfigs: { rc: { name: "rc", virtualHosts: [{ name: "all", domains: ["*"], routes: [route("r", { directResponse: { status: 418, body: "teapot" } })] }] } },
    clusters: {},
  });
}

/** `inner`, whose first config is held back until `open()` (a slow translation, a control plane not answering yet). */
function gated(inner: ConfigSource): { source: ConfigSource; open: () => void } {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  return {
    open,
    source: {
      name: inner.name,
      start: async (sink) => {
        await gate;
        return inner.start(sink);
      },
      refresh: (reason) => inner.refresh(reason),
      close: () => inner.close(),
    },
  };
}

const online = (w: Worker): Promise<void> => new Promise((r) => w.once("online", () => r()));

describe("supervisor start", () => {
  it("starts every worker before the first config, and is ready only once each has bound the first snapshot's listeners", async () => {
    const port = await freePort();
    const { source, open } = gated(teapot(port));
    const s = createSupervisor(bootstrap, createLogger("off", "test"), { source });
    sup = s;
    let ready = false;
    void s.ready.then(() => (ready = true));
    const started = s.start();
    // The config has not come yet, but the worker threads are already running.
    expect(s.workers).toHaveLength(2);
    await Promise.all(s.workers.map(online));
    expect(s.admin.isReady()).toBe(false);
    expect(ready).toBe(false);
    open();
    await started;
    await s.ready;
    expect(s.admin.isReady()).toBe(true);
    // Bound by then: the first request after ready is answered by the snapshot's route.
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`http://127.0.0.1:${port}/`);
      expect(r.status).toBe(418);
      expect(await r.text()).toBe("teapot");
    }
  });

  it("a refused first config fails the start with its errors and stops the already started workers", async () => {
    const port = await freePort();
    // Two listeners on one address: the snapshot store refuses the update.
    const s = createSupervisor(bootstrap, createLogger("off", "test"), { source: teapot(port, [listener(port, "dup")]) });
    const exits = (): Promise<number[]> => Promise.all(s.workers.map((w) => new Promise<number>((r) => w.once("exit", r))));
    const started = s.start();
    const exited = exits();
    await expect(started).rejects.toThrow(`address 127.0.0.1:${port} is already used by listener 127.0.0.1_${port}`);
    await expect(s.ready).rejects.toThrow("already used");
    expect(await exited).toHaveLength(2);
    expect(s.admin.isReady()).toBe(false);
  });
});
