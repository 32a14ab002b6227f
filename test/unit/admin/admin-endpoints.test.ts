// Every Envoy admin endpoint over a real socket with a recording AdminControl: status, content
// type, body shape, methods (Envoy's 405 for a non-POST on a mutating endpoint), bad parameters.
import { afterEach, describe, expect, it } from "vitest";
import type { AdminControl } from "../../../src/admin/admin-control.js";
import { startAdminServer, type AdminServer } from "../../../src/admin/admin-server.js";
import { startHealthServer } from "../../../src/admin/health-server.js";
import { serverState } from "../../../src/admin/server-state.js";
import { createLogger, type LogLevel } from "../../../src/common/logger.js";
import { httpListener } from "../../../src/config/model/listener-defaults.js";
import type { Snapshot } from "../../../src/config/model/types.js";
import type { AdminState, DrainListenersOptions } from "../../../src/supervisor/supervisor-api.js";
import { testBootstrap } from "../../helpers/admin.js";
import { cluster, route } from "../../helpers/proxy.js";

const log = createLogger("off");

const snapshot: Snapshot = {
  version: "2026-01-01T00:00:00.000Z/3",
  listeners: [
    httpListener({ address: "0.0.0.0", port: 9080, direction: "OUTBOUND", routeConfigName: "9080" }),
    httpListener({ address: "0.0.0.0", port: 15006, direction: "INBOUND", routeConfigName: "inbound|15006||" }),
  ],
  routeConfigs: {
    "9080": {
      name: "9080",
      virtualHosts: [{ name: "reviews.shop.svc.cluster.local:9080", domains: ["reviews", "reviews:9080"], routes: [route("default", { route: { cluster: "outbound|9080||reviews.shop.svc.cluster.local" } })] }],
    },
  },
  clusters: { "outbound|9080||reviews.shop.svc.cluster.local": cluster("outbound|9080||reviews.shop.svc.cluster.local", [19081]) },
};

function setup() {
  const calls = { drains: [] as DrainListenersOptions[], quits: 0, reopens: 0, levels: [] as Array<[string, LogLevel]> };
  let ready = true;
  let failed = false;
  const levels: Record<string, LogLevel> = { admin: "info", main: "info", worker: "info" };
  const state: AdminState = { isReady: () => ready, configDump: () => ({ bootstrap: testBootstrap(), snapshot, lastReloadError: null, lastUpdated: "2026-01-01T00:00:01.000Z" }) };
  const control: AdminControl = {
    bootstrap: testBootstrap(),
    startedAtMs: Date.now() - 12_500,
    serverState: () => serverState(state, false, failed),
    notReadyReason: () => (!ready ? "initializing" : failed ? "health check failed" : undefined),
    setHealthCheckFailed: (f) => void (failed = f),
    drainListeners: async (o) => void calls.drains.push(o),
    quit: () => void calls.quits++,
    loggers: () => Object.entries(levels).map(([name, level]) => ({ name, level })),
    setLogLevels: async (changes) => {
      for (const [n, l] of changes) {
        levels[n] = l;
        calls.levels.push([n, l]);
      }
    },
    workerHeaps: async () => [{ used: 1_000, total: 4_000, external: 50_000_000 }],
    reopenLogs: async () => void calls.reopens++,
  };
  return { state, control, calls, setReady: (r: boolean) => (ready = r) };
}

let servers: AdminServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function start() {
  const s = setup();
  const server = await startAdminServer({ port: 0, state: s.state, control: s.control, log });
  servers.push(server);
  const url = (p: string) => `http://127.0.0.1:${server.port}${p}`;
  const post = (p: string) => fetch(url(p), { method: "POST" });
  return { ...s, url, post };
}

describe("admin endpoints", () => {
  it("/server_info: Envoy's ServerInfo JSON", async () => {
    const { url } = await start();
    const r = await fetch(url("/server_info"));
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json");
    const j = (await r.json()) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(j.version).toMatch(/^outrigger\/\d+\.\d+\.\d+\/Clean\/RELEASE\/Node\.js-\d+/);
    expect(j.state).toBe("LIVE");
    expect(j.hot_restart_version).toBe("disabled");
    expect(j.uptime_current_epoch).toMatch(/^1[23]s$/);
    expect(j.uptime_all_epochs).toBe(j.uptime_current_epoch);
    expect(j.command_line_options).toMatchObject({ concurrency: 2, config_path: "/etc/outrigger", log_level: "info", drain_time: "5s", mode: "Serve", disable_hot_restart: true });
    expect(j.node).toMatchObject({ id: "sidecar~10.1.2.3~productpage-v1-6b746f74dc-9stvs.shop~shop.svc.cluster.local", cluster: "productpage.shop", metadata: { NAMESPACE: "shop" } });
  });

  it("/memory: Envoy's Memory JSON, uint64 fields as strings", async () => {
    const { url } = await start();
    const j = (await (await fetch(url("/memory"))).json()) as Record<string, string>;
    expect(Object.keys(j)).toEqual(["allocated", "heap_size", "pageheap_unmapped", "pageheap_free", "total_thread_cache", "total_physical_bytes"]);
    for (const v of Object.values(j)) expect(v).toMatch(/^\d+$/);
    // A worker's off-heap buffers (its bodies) are its own isolate's count, not the main thread's.
    expect(Number(j.allocated)).toBeGreaterThan(50_000_000 + 1_000);
    expect(Number(j.heap_size)).toBe(Number(j.allocated) + Number(j.pageheap_free));
    expect(Number(j.total_physical_bytes)).toBeGreaterThan(0);
  });

  it("/listeners: `name::address:port` text, ?format=json ListenerStatuses, bad format 400", async () => {
    const { url } = await start();
    expect(await (await fetch(url("/listeners"))).text()).toBe("0.0.0.0_9080::0.0.0.0:9080\n0.0.0.0_15006::0.0.0.0:15006\n");
    const j = await (await fetch(url("/listeners?format=json"))).json();
    expect(j).toEqual({
      listener_statuses: [
        { name: "0.0.0.0_9080", local_address: { socket_address: { address: "0.0.0.0", port_value: 9080 } } },
        { name: "0.0.0.0_15006", local_address: { socket_address: { address: "0.0.0.0", port_value: 15006 } } },
      ],
    });
    const bad = await fetch(url("/listeners?format=yaml"));
    expect(bad.status).toBe(400);
    expect(await bad.text()).toBe('invalid format "yaml": use text or json\n');
  });

  it("/clusters: bad format 400", async () => {
    const { url } = await start();
    expect((await fetch(url("/clusters?format=xml"))).status).toBe(400);
    expect((await fetch(url("/clusters?format=json"))).status).toBe(200);
  });

  it("/runtime and /certs: Envoy's empty shapes", async () => {
    const { url } = await start();
    expect(await (await fetch(url("/runtime"))).json()).toEqual({ entries: {}, layers: [] });
    expect(await (await fetch(url("/certs"))).json()).toEqual({ certificates: [] });
  });

  it("/logging: POST lists the loggers; ?level= sets all, ?<name>= one, ?paths= several", async () => {
    const { url, post, calls } = await start();
    const get = await fetch(url("/logging"));
    expect(get.status).toBe(405);
    expect(await get.text()).toBe("Method GET not allowed, POST required.");
    let r = await post("/logging");
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("active loggers:\n  admin: info\n  main: info\n  worker: info\n\n");
    r = await post("/logging?level=debug");
    expect(await r.text()).toBe("active loggers:\n  admin: debug\n  main: debug\n  worker: debug\n\n");
    r = await post("/logging?worker=warning");
    expect(await r.text()).toContain("  worker: warning\n");
    r = await post("/logging?paths=admin:error,main:critical");
    expect(await r.text()).toBe("active loggers:\n  admin: error\n  main: error\n  worker: warning\n\n");
    expect(calls.levels).toContainEqual(["worker", "warn"]);
  });

  it("/logging errors: 400 with Envoy's usage text", async () => {
    const { post } = await start();
    for (const [q, msg] of [
      ["level=loud", "unknown logger level"],
      ["upstream=debug", "unknown logger name"],
      ["level=debug&worker=info", "invalid number of parameters"],
      ["paths=admin", "empty logger name or empty logger level"],
    ] as const) {
      const r = await post(`/logging?${q}`);
      expect(r.status, q).toBe(400);
      const body = await r.text();
      expect(body.startsWith(`error: ${msg}\n\nusage: /logging?<name>=<level> (change single level)\n`), q).toBe(true);
      expect(body).toContain("levels: trace debug info warning error critical off \n");
    }
  });

  it("/healthcheck/fail and /healthcheck/ok (POST): /ready DRAINING 503 while failed, and the health port too", async () => {
    const { url, post, control } = await start();
    const health = await startHealthServer({ address: "127.0.0.1", port: 0, control, log });
    servers.push(health);
    const ready = `http://127.0.0.1:${health.port}/healthz/ready`;
    expect((await fetch(ready)).status).toBe(200);
    expect((await fetch(url("/healthcheck/fail"))).status).toBe(405);
    const r = await post("/healthcheck/fail");
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("OK\n");
    const rd = await fetch(url("/ready"));
    expect(rd.status).toBe(503);
    expect(await rd.text()).toBe("DRAINING\n");
    const h = await fetch(ready);
    expect(h.status).toBe(503);
    expect(await h.text()).toBe("health check failed\n");
    expect(((await (await fetch(url("/server_info"))).json()) as { state: string }).state).toBe("DRAINING");
    await post("/healthcheck/ok");
    expect((await fetch(url("/ready"))).status).toBe(200);
    expect((await fetch(ready)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${health.port}/healthz/live`)).status).toBe(404);
  });

  it("/drain_listeners (POST): inboundonly, graceful, skip_exit as presence flags", async () => {
    const { url, post, calls } = await start();
    expect((await fetch(url("/drain_listeners?inboundonly"))).status).toBe(405);
    expect(await (await post("/drain_listeners?inboundonly&graceful")).text()).toBe("OK\n");
    await post("/drain_listeners?graceful&skip_exit");
    await post("/drain_listeners");
    expect(calls.drains).toEqual([
      { inboundOnly: true, graceful: true, skipExit: false },
      { inboundOnly: false, graceful: true, skipExit: true },
      { inboundOnly: false, graceful: false, skipExit: false },
    ]);
  });

  it("/quitquitquit (POST): OK, then quits; /reopen_logs (POST) calls the hook", async () => {
    const { url, post, calls } = await start();
    expect((await fetch(url("/quitquitquit"))).status).toBe(405);
    expect(calls.quits).toBe(0);
    const r = await post("/quitquitquit");
    expect(await r.text()).toBe("OK\n");
    await new Promise((res) => setImmediate(res));
    expect(calls.quits).toBe(1);
    expect(await (await post("/reopen_logs")).text()).toBe("OK\n");
    expect(calls.reopens).toBe(1);
  });

  it("/config_dump query errors are text with Envoy's status", async () => {
    const { url } = await start();
    const r = await fetch(url("/config_dump?resource=bogus"));
    expect(r.status).toBe(404);
    expect(r.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await r.text()).toBe("bogus not found in config dump");
    const re = await fetch(url("/config_dump?name_regex=("));
    expect(re.status).toBe(400);
    expect(await re.text()).toMatch(/^INVALID_ARGUMENT: Error while parsing name_regex from \(/);
    const ok = (await (await fetch(url("/config_dump?resource=dynamic_listeners&mask=name"))).json()) as { configs: unknown[] };
    expect(ok.configs).toEqual([
      { "@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump.DynamicListener", name: "0.0.0.0_9080" },
      { "@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump.DynamicListener", name: "0.0.0.0_15006" },
    ]);
  });

  it("/explain: text, json, missing authority 400, unknown port 404 listing the listeners", async () => {
    const { url } = await start();
    const t = await fetch(url("/explain?authority=reviews:9080&path=/r"));
    expect(t.status).toBe(200);
    expect(await t.text()).toContain('outcome      route "default": forwarded to outbound|9080||reviews.shop.svc.cluster.local\n');
    const j = (await (await fetch(url("/explain?authority=reviews:9080&format=json"))).json()) as { listener: { name: string }; routes: unknown[] };
    expect(j.listener.name).toBe("0.0.0.0_9080");
    expect(j.routes).toHaveLength(1);
    const bad = await fetch(url("/explain?path=/"));
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/^authority is required/);
    const nf = await fetch(url("/explain?authority=x&port=81"));
    expect(nf.status).toBe(404);
    expect(await nf.text()).toBe("no listener on port 81; listeners: 0.0.0.0_9080 (0.0.0.0:9080, outbound), 0.0.0.0_15006 (0.0.0.0:15006, inbound)\n");
  });
});
