// `outrigger run --bootstrap FILE`: its own flags (Outrigger's, not Envoy's), help, and errors.

import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { main } from "../../../src/cli/main.js";
import { renderHelp } from "../../../src/bootstrap/flag-parser.js";
import { runCommandSpec } from "../../../src/bootstrap/parse-run-flags.js";

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: "", stderr: "" };
  const code = await main(argv, { stdout: (s) => void (out.stdout += s), stderr: (s) => void (out.stderr += s), env: {}, signals: new EventEmitter(), cpuCount: () => 2, reusePortBalances: () => true });
  return { code, ...out };
}

describe("outrigger run --bootstrap", () => {
  it("has its own help, and run --help lists --bootstrap", async () => {
    const r = await run(["run", "--bootstrap", "x.json", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage: outrigger run --bootstrap <file>");
    for (const f of ["--workers", "--log-level", "--drain-timeout", "--admin-port"]) expect(r.stdout).toContain(f);
    expect(renderHelp(runCommandSpec)).toContain("--bootstrap <file>");
  });

  it("refuses Envoy's flags and --config alongside it (usage error, exit 2)", async () => {
    const envoyFlag = await run(["run", "--bootstrap", "x.json", "--drain-time-s", "5"]);
    expect(envoyFlag.code).toBe(2);
    expect(envoyFlag.stderr).toContain("unknown flag --drain-time-s");
    const config = await run(["run", "--bootstrap", "x.json", "--config", "y.yaml"]);
    expect(config.code).toBe(2);
    expect(config.stderr).toContain("unknown flag --config");
    const bad = await run(["run", "--bootstrap", "x.json", "--drain-timeout", "soon"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--drain-timeout: expected a duration');
  });

  it("exits 1 naming a bootstrap that is missing", async () => {
    const r = await run(["run", "--bootstrap", "/nonexistent/envoy-rev.json"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("outrigger run: error initializing configuration '/nonexistent/envoy-rev.json': unable to read file: /nonexistent/envoy-rev.json (no such file)");
  });
});
