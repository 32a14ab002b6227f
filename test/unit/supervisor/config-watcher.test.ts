import { watch } from "node:fs";
import { mkdir, mkdtemp, rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../src/common/logger.js";
import { ConfigWatcher } from "../../../src/supervisor/config-watcher.js";

let watcher: ConfigWatcher | undefined;
afterEach(() => watcher?.close());

/** Counts the watcher's change callbacks; `past(n)` resolves on the first callback beyond n. */
function changeCounter(): { onChange: () => void; count: () => number; past: (n: number, ms?: number) => Promise<void> } {
  let count = 0;
  const waiters = new Set<() => void>();
  return {
    onChange: () => {
      count++;
      for (const w of [...waiters]) w();
    },
    count: () => count,
    past: (n, ms = 5_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => (waiters.delete(check), reject(new Error(`no change after ${ms} ms`))), ms);
        const check = (): void => {
          if (count <= n) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      }),
  };
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
    const changes = changeCounter();
    watcher = new ConfigWatcher([file], changes.onChange, createLogger("off"));
    await watcher.sync();
    for (let i = 0; i < 3; i++) {
      const before = changes.count();
      await replace(file, `a: ${i}\n`);
      await changes.past(before);
    }
    // Other files next to a watched file do not count. A second watcher on the folder tells when
    // the OS has delivered the unrelated file's event (to both watchers, in the same turn).
    const seen = new Promise<void>((resolve) => {
      const sentinel = watch(dir, (_event, name) => {
        if (name !== "unrelated.txt") return;
        sentinel.close();
        setImmediate(resolve);
      });
    });
    const before = changes.count();
    await writeFile(join(dir, "unrelated.txt"), "x");
    await seen;
    expect(changes.count()).toBe(before);
  });

  it("follows subfolders created after the start once synced", async () => {
    const dir = await mkdtemp(join(tmpdir(), "watch-"));
    const changes = changeCounter();
    watcher = new ConfigWatcher([dir], changes.onChange, createLogger("off"));
    await watcher.sync();
    await mkdir(join(dir, "sub"));
    await changes.past(0);
    await watcher.sync();
    const before = changes.count();
    await writeFile(join(dir, "sub", "vs.yaml"), "b: 1\n");
    await changes.past(before);
  });
});
