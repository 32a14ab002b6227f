import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Bootstrap } from "../../../src/bootstrap/bootstrap.js";
import type { Supervisor } from "../../../src/supervisor/supervisor-api.js";
import { harness } from "./cli-harness.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

function fakeSupervisor() {
  const seen: { bootstrap?: Bootstrap } = {};
  let resolveExited!: (c: number) => void;
  const exited = new Promise<number>((r) => (resolveExited = r));
  const startSupervisor = async (b: Bootstrap): Promise<Supervisor> => {
    seen.bootstrap = b;
    return {
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
    const echo = (await (await fetch("http://127.0.0.1:19082/x")).json()) as { service: string; version: string };
    expect(echo).toMatchObject({ service: "reviews", version: "v2" });
    h.signals.send("SIGTERM");
    expect(await done).toBe(0);
    await expect(fetch("http://127.0.0.1:19082/x")).rejects.toThrow();
  });

  it("an upstream port already taken: exit 1 with a clear message, proxy not started", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(19091, "127.0.0.1", r));
    try {
      const fake = fakeSupervisor();
      const r = await harness({ deps: { startSupervisor: fake.startSupervisor } }).run(["demo", "--admin-port", "0"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("demo upstream ratings v1 cannot listen on 127.0.0.1:19091: address already in use");
      expect(fake.seen.bootstrap).toBeUndefined();
    } finally {
      blocker.close();
    }
  });
});
