import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, vi } from "vitest";
import type { Bootstrap } from "../../../src/bootstrap/bootstrap.js";
import type { DemoUpstreamSpec, DemoUpstreams } from "../../../src/demo/demo-upstreams.js";
import type { Supervisor } from "../../../src/supervisor/supervisor-api.js";
import { freePort } from "../../helpers/upstreams.js";
import { supervisorStubs } from "../../helpers/admin.js";
import { harness } from "./cli-harness.js";

// `demo` binds the documented ports (19080-19091). Tests bind no fixed port: the real demo
// upstreams start on free ports instead (or on a port a test chose), and the test reads where.
const demoPorts: { override: (spec: DemoUpstreamSpec) => number; started?: DemoUpstreams } = { override: () => 0 };
vi.mock("../../../src/demo/demo-upstreams.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../../src/demo/demo-upstreams.js")>();
  return {
    ...real,
    startDemoUpstreams: async (opts: Parameters<typeof real.startDemoUpstreams>[0] = {}) => {
      const specs = (opts.specs ?? real.demoUpstreamSpecs).map((s) => ({ ...s, port: demoPorts.override(s) }));
      demoPorts.started = await real.startDemoUpstreams({ ...opts, specs });
      return demoPorts.started;
    },
  };
});

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

function fakeSupervisor() {
  const seen: { bootstrap?: Bootstrap } = {};
  let resolveExited!: (c: number) => void;
  const exited = new Promise<number>((r) => (resolveExited = r));
  const startSupervisor = async (b: Bootstrap): Promise<Supervisor> => {
    seen.bootstrap = b;
    return {
      ...supervisorStubs(),
      admin: { isReady: () => true, configDump: () => ({ bootstrap: b, snapshot: null, lastReloadError: null }) },
      ready: Promise.resolve(),
      reload: async () => ({ ok: true, errors: [] }),
      drain: async () => resolveExited(0),
      exited,
    };
  };
  return { seen, startSupervisor };
}

describe("outrigger demo", () => {
  it("starts the upstreams and the proxy on examples/demo (namespace demo), prints curls, stops on SIGTERM", async () => {
    const fake = fakeSupervisor();
    const h = harness({ deps: { startSupervisor: fake.startSupervisor } });
    const done = h.start(["demo", "--admin-port", "0", "--workers", "1"]);
    await h.output("Try:");
    expect(fake.seen.bootstrap).toMatchObject({ configPaths: [join(repoRoot, "examples", "demo")], namespace: "demo", workers: 1, adminPort: 0 });
    expect(h.out.stdout).toContain("demo upstreams on 127.0.0.1: productpage v1 :19080, reviews v1 :19081");
    expect(h.out.stdout).toContain("curl -H 'Host: reviews:9080' -H 'end-user: jason' http://127.0.0.1:9080/");
    expect(h.out.stdout).toContain("curl http://127.0.0.1:15080/");
    expect(h.out.stdout).toMatch(/curl http:\/\/127\.0\.0\.1:\d+\/config_dump/);
    // Telemetry on: access log to stdout, 100% tracing to the demo's own collector, which prints spans.
    const meshPath = (fake.seen.bootstrap as { meshConfigPath?: string }).meshConfigPath!;
    const mesh = await readFile(meshPath, "utf8");
    expect(mesh).toContain("accessLogFile: /dev/stdout");
    expect(mesh).toContain("sampling: 100");
    const otlpPort = Number(/port: (\d+)/.exec(mesh)![1]);
    const span = { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", name: "reviews.demo.svc.cluster.local:9080/*", kind: 3, startTimeUnixNano: "1000000", endTimeUnixNano: "3500000", attributes: [{ key: "http.status_code", value: { stringValue: "200" } }], status: {} };
    const exported = await fetch(`http://127.0.0.1:${otlpPort}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: "outrigger" }, spans: [span] }] }] }),
    });
    expect(exported.status).toBe(200);
    await h.output('span 4bf92f3577b34da6a3ce929d0e0e4736/00f067aa0ba902b7 CLIENT "reviews.demo.svc.cluster.local:9080/*" 200 2.5 ms');
    const v2 = demoPorts.started!.upstreams.find((u) => u.service === "reviews" && u.version === "v2")!.port;
    const echo = (await (await fetch(`http://127.0.0.1:${v2}/x`)).json()) as { service: string; version: string };
    expect(echo).toMatchObject({ service: "reviews", version: "v2" });
    h.signals.send("SIGTERM");
    expect(await done).toBe(0);
    await expect(fetch(`http://127.0.0.1:${v2}/x`)).rejects.toThrow();
    await expect(readFile(meshPath)).rejects.toThrow(/ENOENT/);
  });

  it("an upstream port already taken: exit 1 with a clear message, proxy not started", async () => {
    const taken = await freePort();
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(taken, "127.0.0.1", r));
    demoPorts.override = (s) => (s.service === "ratings" ? taken : 0);
    try {
      const fake = fakeSupervisor();
      const r = await harness({ deps: { startSupervisor: fake.startSupervisor } }).run(["demo", "--admin-port", "0"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`demo upstream ratings v1 cannot listen on 127.0.0.1:${taken}: address already in use`);
      expect(fake.seen.bootstrap).toBeUndefined();
    } finally {
      demoPorts.override = () => 0;
      blocker.close();
    }
  });
});
