#!/usr/bin/env node
// outrigger launcher: runs the compiled CLI in dist/ and exits with its code.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const entry = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write("outrigger: dist/cli/main.js is missing; run `npm run build` first\n");
  process.exit(1);
}
const { main } = await import(entry.href);
const code = await main(process.argv.slice(2));
// Exit explicitly (worker threads or sockets must not keep us alive), but only once stdout has
// flushed, so `outrigger config-dump | jq` gets the whole document.
process.stdout.write("", () => process.exit(code));
