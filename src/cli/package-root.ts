// The installed package's root folder and version, found from this file (src/cli or dist/cli), so
// `outrigger demo` finds examples/ whatever the current directory is.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let cached: { root: string; version: string } | undefined;

function find(): { root: string; version: string } {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      const json = JSON.parse(readFileSync(pkg, "utf8")) as { name?: string; version?: string };
      if (json.name === "outrigger") return (cached = { root: dir, version: json.version ?? "0.0.0" });
    }
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the outrigger package.json above " + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export function packageRoot(): string {
  return find().root;
}

export function packageVersion(): string {
  return find().version;
}
