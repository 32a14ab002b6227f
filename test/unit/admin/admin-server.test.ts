import { afterEach, describe, expect, it } from "vitest";
import { dispatchAdmin, startAdminServer } from "../../../src/admin/admin-server.js";
import type { AdminServer } from "../../../src/admin/admin-server.js";
import { createLogger } from "../../../src/common/logger.js";
import type { AdminState } from "../../../src/supervisor/supervisor-api.js";
import { testBootstrap } from "../../helpers/admin.js";

const log = createLogger("off");

function fakeState() {
  let ready = false;
  const state: AdminState = {
    isReady: () => ready,
    configDump: () => ({ bootstrap: testBootstrap(), snapshot: { version: "v1", listeners: [], routeConfigs: {}, clusters: {} }, lastReloadError: null }),
  };
  return { state, setReady: (r: boolean) => (ready = r) };
}

let server: AdminServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(opts: { draining?: () => boolean } = {}) {
  const f = fakeState();
  server = await startAdminServer({ port: 0, state: f.state, log, isDraining: opts.draining });
  const url = (p: string) => `http://127.0.0.1:${server!.port}${p}`;
  return { ...f, url };
}

describe("admin server", () => {
  it("/ready: 503 INITIALIZING until ready, then 200 LIVE", async () => {
    const { url, setReady } = await start();
    let r = await fetch(url("/ready"));
    expect(r.status).toBe(503);
    expect(await r.text()).toBe("INITIALIZING\n");
    setReady(true);
    r = await fetch(url("/ready"));
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("LIVE\n");
    expect(r.headers.get("content-type")).toMatch(/^text\/plain/);
  });

  it("/ready: 503 DRAINING once a drain began", async () => {
    let draining = false;
    const { url, setReady } = await start({ draining: () => draining });
    setReady(true);
    draining = true;
    const r = await fetch(url("/ready"));
    expect(r.status).toBe(503);
    expect(await r.text()).toBe("DRAINING\n");
  });

  it("/config_dump: pretty JSON in Envoy's ConfigDump shape", async () => {
    const { url } = await start();
    const r = await fetch(url("/config_dump?include_eds"));
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json");
    const text = await r.text();
    expect(text).toContain('\n  "configs": [');
    const types = (JSON.parse(text) as { configs: Array<{ "@type": string }> }).configs.map((c) => c["@type"].replace("type.googleapis.com/envoy.admin.v3.", ""));
    expect(types).toEqual(["BootstrapConfigDump", "ClustersConfigDump", "EndpointsConfigDump", "ListenersConfigDump", "ScopedRoutesConfigDump", "RoutesConfigDump", "SecretsConfigDump"]);
  });

  it("/ and /help list the endpoints as Envoy does", async () => {
    const { url } = await start();
    for (const p of ["/", "/help"]) {
      const r = await fetch(url(p));
      expect(r.status).toBe(200);
      const text = await r.text();
      expect(text.startsWith("admin commands are:\n")).toBe(true);
      expect(text).toContain("\n  /ready: print server state, return 200 if LIVE, otherwise return 503\n");
      expect(text).toContain("\n      include_eds: ");
    }
  });

  it("unknown path → 404 `invalid path.` with the help; read endpoints answer any method, as Envoy's", async () => {
    const { url } = await start();
    const nf = await fetch(url("/nope"));
    expect(nf.status).toBe(404);
    expect(await nf.text()).toMatch(/^invalid path\. admin commands are:\n/);
    expect((await fetch(url("/ready"), { method: "POST", body: "x" })).status).toBe(503);
    expect((await fetch(url("/config_dump"), { method: "DELETE" })).status).toBe(200);
  });

  it("odd request targets never crash the server", async () => {
    const { url } = await start();
    const { request } = await import("node:http");
    const port = Number(new URL(url("/")).port);
    for (const target of ["//", "//ready", "/ready?%zz=%", "*"]) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, path: target, method: "GET" }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
        req.end();
      });
      expect([200, 404, 503], target).toContain(status);
    }
    expect((await fetch(url("/ready"))).status).toBe(503);
  });

  it("HEAD on a GET endpoint answers without a body", async () => {
    const { url, setReady } = await start();
    setReady(true);
    const r = await fetch(url("/ready"), { method: "HEAD" });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("");
  });

  it("binds 127.0.0.1 by default and reports a taken port clearly", async () => {
    const { state } = fakeState();
    server = await startAdminServer({ port: 0, state, log });
    await expect(startAdminServer({ port: server.port, state, log })).rejects.toThrow(`admin API cannot listen on 127.0.0.1:${server.port}: address already in use`);
  });

  it("extra routes join the table; a throwing handler is a 500", async () => {
    const routes = [
      { path: "/quitquitquit", method: "POST" as const, help: "exit", handle: () => ({ status: 200, body: "OK\n" }) },
      { path: "/boom", method: "GET" as const, help: "fails", handle: () => { throw new Error("kaput"); } },
    ];
    expect((await dispatchAdmin(routes, { method: "POST", path: "/quitquitquit", query: new URLSearchParams() })).status).toBe(200);
    const get = await dispatchAdmin(routes, { method: "GET", path: "/quitquitquit", query: new URLSearchParams() });
    expect(get).toMatchObject({ status: 405, body: "Method GET not allowed, POST required.", headers: { allow: "POST" } });
    const { state } = fakeState();
    server = await startAdminServer({ port: 0, state, log, routes });
    const r = await fetch(`http://127.0.0.1:${server.port}/boom`);
    expect(r.status).toBe(500);
    expect(await r.text()).toContain("kaput");
  });
});
