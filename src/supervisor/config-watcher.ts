// ConfigWatcher: notices changes to the config files and folders given with --config. It watches
// directories only, one non-recursive watcher each: a watcher on a file follows its inode and goes
// deaf after the first atomic replace (editors, ConfigMap updates), and Node's recursive mode on
// Linux has missed renames under load. The set of watched folders is re-synced after each
// change, so new subfolders are picked up.

import { watch, type FSWatcher } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { Logger } from "../common/logger.js";

export class ConfigWatcher {
  private readonly paths: string[];
  private readonly onChange: () => void;
  private readonly log: Logger;
  /** Watched folder → its watcher. */
  private readonly watchers = new Map<string, FSWatcher>();
  /** For folders watched because a file in them was given: the file names that matter. */
  private readonly fileFilters = new Map<string, Set<string>>();
  /** Folders given (or found below one): every entry in them matters. */
  private readonly wholeDirs = new Set<string>();
  private closed = false;

  constructor(paths: string[], onChange: () => void, log: Logger) {
    this.paths = paths.map((p) => resolve(p));
    this.onChange = onChange;
    this.log = log;
  }

  /** Starts watching; call again after a change to follow folders that appeared or went away. */
  async sync(): Promise<void> {
    const wholeDirs = new Set<string>();
    const fileFilters = new Map<string, Set<string>>();
    for (const p of this.paths) {
      try {
        const st = await stat(p);
        if (st.isDirectory()) await this.collectDirs(p, wholeDirs);
        else addFilter(fileFilters, dirname(p), basename(p));
      } catch {
        // A path that is missing now may come back: watch its folder for it.
        addFilter(fileFilters, dirname(p), basename(p));
      }
    }
    if (this.closed) return;
    this.wholeDirs.clear();
    for (const d of wholeDirs) this.wholeDirs.add(d);
    this.fileFilters.clear();
    for (const [d, f] of fileFilters) this.fileFilters.set(d, f);
    const wanted = new Set([...wholeDirs, ...fileFilters.keys()]);
    for (const [dir, w] of this.watchers) {
      if (!wanted.has(dir)) {
        w.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of wanted) if (!this.watchers.has(dir)) this.watchDir(dir);
  }

  private async collectDirs(dir: string, out: Set<string>): Promise<void> {
    out.add(dir);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) await this.collectDirs(join(dir, e.name), out);
  }

  private watchDir(dir: string): void {
    try {
      const w = watch(dir, { persistent: false }, (_event, name) => {
        if (this.wholeDirs.has(dir)) {
          this.onChange();
          return;
        }
        const names = this.fileFilters.get(dir);
        if (names === undefined || name === null || names.has(name.toString())) this.onChange();
      });
      w.on("error", (e) => {
        // The folder went away: forget its watcher; the next sync re-adds it if it comes back.
        this.log.debug(`watching ${dir}: ${e.message}`);
        w.close();
        if (this.watchers.get(dir) === w) this.watchers.delete(dir);
        this.onChange();
      });
      this.watchers.set(dir, w);
    } catch (e) {
      this.log.warn(`cannot watch ${dir}: ${(e as Error).message}`);
    }
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}

function addFilter(m: Map<string, Set<string>>, dir: string, name: string): void {
  let s = m.get(dir);
  if (s === undefined) m.set(dir, (s = new Set()));
  s.add(name);
}
