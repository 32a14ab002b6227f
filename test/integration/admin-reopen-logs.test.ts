// /reopen_logs through the supervisor and real worker threads: after logrotate moves an access-log
// file away, the workers write their next lines to a new file at the configured path.

import { existsSync, mkdtempSync, readFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/common/logger.js";
import { httpListener } from "../../src/config/model/listener-defaults.js";
import { HTTP_CONNECTION_MANAGER, type HttpConnectionManager } from "../../src/config/model/types.js";
import { startSupervisor } from "../../src/supervisor/supervisor.js";
import type { Supervisor } from "../../src/supervisor/supervisor-api.js";
import { testBootstrap } from "../helpers/admin.js";
import { memorySource } from "../helpers/memory-source.js";
import { cluster, route } from "../helpers/proxy.js";
import { freePort, startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";
import { waitFor } from "../helpers/wait.js";

let sup: Supervisor | undefined;
let up: EchoUpstream | undefined;
afterEach(async () => {
  await sup?.drain();
  sup = undefined;
  await up?.close();
  up = undefined;
});

describe("/reopen_logs", () => {
  it("every worker reopens its access-log files: lines after a rotation land in a new file", async () => {
    up = await startEchoUpstream("v1");
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "outrigger-reopen-"));
    const path = join(dir, "access.log");
    const l = httpListener({ address: "127.0.0.1", port, direction: "OUTBOUND", routeConfigName: "rc" });
    const hcm = l.filterChains[0]!.filters[0]!;
    if (hcm.name === HTTP_CONNECTION_MANAGER) (hcm.typedConfig as HttpConnectionManager).accessLog = [{ name: "envoy.access_loggers.file", path, format: { kind: "text", text: "%REQ(:PATH)%\n" } }];
    const source = memorySource({ listeners: [l], routeConfigs: { rc: { name: "rc", virtualHosts: [{ name: "all", domains: ["*"], routes: [route("r", { route: { cluster: "c" } })] }] } }, clusters: { c: cluster("c", [up.port]) } });
    sup = await startSupervisor(testBootstrap({ workers: 2, drainTimeoutMs: 0, logLevel: "off" }), createLogger("off"), { source });
    await sup.ready;
    // New connections each time, so both workers get requests.
    const get = async (p: string): Promise<void> => void (await (await fetch(`http://127.0.0.1:${port}${p}`, { headers: { connection: "close" } })).text());
    for (let i = 0; i < 6; i++) await get(`/before-${i}`);
    await waitFor(() => existsSync(path) && readFileSync(path, "utf8").split("\n").filter((x) => x !== "").length === 6, 5_000, "six lines before the rotation");
    renameSync(path, `${path}.1`);
    await sup.reopenLogs();
    for (let i = 0; i < 6; i++) await get(`/after-${i}`);
    await waitFor(() => existsSync(path) && readFileSync(path, "utf8").split("\n").filter((x) => x !== "").length === 6, 5_000, "six lines in the new file");
    expect(readFileSync(path, "utf8")).not.toContain("/before-");
    expect(readFileSync(`${path}.1`, "utf8")).not.toContain("/after-");
  });
});
