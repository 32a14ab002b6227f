// The `outrigger-envoy` bin (package.json bin → dist/cli/envoy-main.js) as pilot-agent execs it:
// help and version exit 0; an unknown flag or a missing bootstrap exit 1 naming it.

import { execFile } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/cli-process.js";

const bin = join(repoRoot, "bin/outrigger-envoy.js");

function exec(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: "/" }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr });
    });
  });
}

describe("bin/outrigger-envoy.js", () => {
  it("prints help and version, exit 0", async () => {
    const help = await exec(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--drain-strategy <gradual|immediate>");
    const version = await exec(["--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/outrigger-envoy +version: outrigger\/\d/);
  });

  it("exits 1 on an unknown flag and on a missing bootstrap (relative to the working directory)", async () => {
    const flag = await exec(["-c", "x.json", "--frobnicate"]);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toContain("unknown flag --frobnicate");
    const missing = await exec(["-c", "./etc/istio/proxy/envoy-rev.json", "--drain-time-s", "45"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("unable to read file: /etc/istio/proxy/envoy-rev.json");
  });
});
