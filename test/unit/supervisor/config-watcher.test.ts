import { mkdir, mkdtemp, rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../src/common/logger.js";
import { ConfigWatcher } from "../../../src/supervisor/config-watcher.js";

let watcher: ConfigWatcher | undefined;
afterEach(() => watcher?.close());

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

async function replace(path: string, text: string): Promise<void> {
  await writeFile(path + ".tmp", text);
  await rename(path + ".tmp", path);
}

describe("ConfigWatcher", () => {
  it("keeps seeing a file that is atomically replaced again and again", async () => {
    const dir = await mkdtemp(join(tmpdir(), "watch-"));
    const file = join(dir, "mesh.yaml");
    await writeFile(file, "a: 1\n");
    let changes = 0;
    watcher = new ConfigWatcher([file], () => changes++, createLogger("off"));
    await watcher.sync();
    for (let i = 0; i < 3; i++) {
      const before = changes;
      await replace(file, `a: ${i}\n`);
      await until(() => changes > before);
      expect(changes).toBeGreaterThan(before);
    }
    // Other files next to a watched file do not count.
    const before = changes;
    await writeFile(join(dir, "unrelated.txt"), "x");
    await new Promise((r) => setTimeout(r, 200));
    expect(changes).toBe(before);
  });

  it("follows subfolders created after the start once synced", async () => {
    const dir = await mkdtemp(join(tmpdir(), "watch-"));
    let changes = 0;
    watcher = new ConfigWatcher([dir], () => changes++, createLogger("off"));
    await watcher.sync();
    await mkdir(join(dir, "sub"));
    await until(() => changes > 0);
    expect(changes).toBeGreaterThan(0);
    await watcher.sync();
    const before = changes;
    await writeFile(join(dir, "sub", "vs.yaml"), "b: 1\n");
    await until(() => changes > before);
    expect(changes).toBeGreaterThan(before);
  });
});
