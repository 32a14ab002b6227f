// The supervisor consumes a config source: resources pushed by an in-memory source (as an xDS
// client will push them) reach real worker threads; a bad update is refused with every error
// (the source sees the NACK), the last good snapshot keeps serving and /config_dump shows
// lastReloadError; a good one clears it.

import { nodeIdentity } from "../../../src/observability/node-identity.js";
import { afterEach, describe, expect, it } from "vitest";
import { defaultLimits, type Bootstrap } from "../../../src/bootstrap/bootstrap.js";
import { createLogger } from "../../../src/common/logger.js";
import type { Listener, RouteConfiguration } from "../../../src/config/model/types.js";
import { startSupervisor } from "../../../src/supervisor/supervisor.js";
import type { Supervisor } from "../../../src/supervisor/supervisor-api.js";
import { memorySource } from "../../helpers/memory-source.js";
import { cluster, route } from "../../helpers/proxy.js";
import { freePort, startEchoUpstream, type EchoUpstream } from "../../helpers/upstreams.js";
import { httpListener } from "../../../src/config/model/listener-defaults.js";

const bootstrap: Bootstrap = {
  configPaths: [],
  workers: 2,
  adminAddress: "127.0.0.1",
  adminPort: 0,
  namespace: "shop",
  proxyLabels: {},
  domainSuffix: "cluster.local",
  outbound: null,
  drainTimeoutMs: 1_000,
  exitOnZeroActiveConnections: false,
  minimumDrainMs: 5_000,
  reusePort: true,
  limits: defaultLimits,
  logLevel: "off",
  node: nodeIdentity({ env: {}, namespace: "shop", labels: {}, domainSuffix: "cluster.local" }),
  watch: false,
};

let sup: Supervisor | undefined;
let up: EchoUpstream | undefined;
afterEach(async () => {
  await sup?.drain();
  sup = undefined;
  await up?.close();
  up = undefined;
});

function listener(port: number): Listener {
  return httpListener({ address: "127.0.0.1", port, direction: "OUTBOUND", routeConfigName: "rc" });
}

function routeConfig(action: Parameters<typeof route>[1]): RouteConfiguration {
  return { name: "rc", virtualHosts: [{ name: "all", domains: ["*"], routes: [route("r", action)] }] };
}

async function get(port: number): Promise<{ status: number; body: string }> {
  const r = await fetch(`http://127.0.0.1:${port}/`);
  return { status: r.status, body: await r.text() };
}

describe("supervisor with an in-memory config source", () => {
  it("serves pushed resources; a bad update is refused (NACK) and the last good snapshot keeps serving", async () => {
    up = await startEchoUpstream("v1");
    const port = await freePort();
    const source = memorySource({ listeners: [listener(port)], routeConfigs: { rc: routeConfig({ route: { cluster: "c" } }) }, clusters: { c: cluster("c", [up.port]) } });
    const lines: string[] = [];
    sup = await startSupervisor(bootstrap, createLogger("info", "test", (l) => lines.push(l)), { source });
    await sup.ready;
    expect((await get(port)).status).toBe(200);
    const version = sup.admin.configDump().snapshot!.version;

    const bad = await source.push([
      { type: "listener", version: "2", kind: "delta", upserted: { dup: { ...listener(port), name: "dup" } }, removed: [] },
      { type: "routeConfiguration", version: "2", kind: "state-of-the-world", resources: { rc: routeConfig({ directResponse: { status: 418, body: "teapot" } }), other: { name: "wrong", virtualHosts: [] } } },
    ]);
    expect(bad.accepted).toBe(false);
    expect(bad.version).toBe(version);
    const messages = bad.errors.map((e) => e.message);
    expect(messages).toEqual(['resource is named "wrong", not "other"', `address 127.0.0.1:${port} is already used by listener 127.0.0.1_${port}`]);
    const dump = sup.admin.configDump();
    expect(dump.snapshot!.version).toBe(version);
    expect(dump.lastReloadError).toContain("resource is named");
    expect(dump.lastReloadError).toContain("is already used by listener");
    expect(lines.join("\n")).toMatch(/update from memory refused; still serving/);
    expect(await get(port)).toMatchObject({ status: 200 });

    const good = await source.push([{ type: "routeConfiguration", version: "3", kind: "state-of-the-world", resources: { rc: routeConfig({ directResponse: { status: 418, body: "teapot" } }) } }]);
    expect(good).toMatchObject({ accepted: true, errors: [] });
    expect(good.version).not.toBe(version);
    expect(sup.admin.configDump().lastReloadError).toBeNull();
    expect(await get(port)).toEqual({ status: 418, body: "teapot" });
    // Every answer is recorded, as a fake control plane records ACKs and NACKs.
    expect(source.answers.map((a) => a.result.accepted)).toEqual([true, false, true]);
  });

  it("refuses to start when the first update is refused, listing every error", async () => {
    const source = memorySource({ listeners: [{ ...listener(0), name: "x" }], routeConfigs: { a: { name: "b", virtualHosts: [] } }, clusters: {} });
    await expect(startSupervisor(bootstrap, createLogger("off"), { source })).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: 'memory: routeConfiguration["a"]: resource is named "b", not "a"',
    });
  });
});
