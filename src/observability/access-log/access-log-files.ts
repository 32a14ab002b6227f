// A worker's access-log files by path (Envoy's AccessLogManager): listeners logging to the same
// path share one buffer and descriptor. Files stay open for the worker's life (as in Envoy); the
// admin's /reopen_logs reaches `reopen()` through the worker, and the worker drains them on exit.

import type { Logger } from "../../common/logger.js";
import { realTimers, type Timers } from "../../common/timers.js";
import type { StatsStore } from "../stats/stats-store.js";
import { AccessLogFile, accessLogFileStats, DEFAULT_FLUSH_INTERVAL_MS, DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_MIN_FLUSH_BYTES, type AccessLogFileStats } from "./access-log-file.js";
import { nodeFileIo, type FileIo } from "./file-io.js";

export interface AccessLogFilesOptions {
  stats: StatsStore;
  log: Logger;
  /** The worker's data-path timers (flush interval, EAGAIN retries). Default: real timers. */
  timers?: Timers;
  io?: FileIo;
  flushIntervalMs?: number;
  minFlushBytes?: number;
  maxBufferedBytes?: number;
}

export class AccessLogFiles {
  private readonly files = new Map<string, AccessLogFile>();
  private readonly fileStats: AccessLogFileStats;

  constructor(private readonly opts: AccessLogFilesOptions) {
    this.fileStats = accessLogFileStats(opts.stats);
  }

  /** The shared file for `path`, opened on first use; throws `unable to open file '<path>': …`. */
  open(path: string): AccessLogFile {
    let f = this.files.get(path);
    if (f === undefined) {
      const o = this.opts;
      f = new AccessLogFile(path, {
        timers: o.timers ?? realTimers,
        stats: this.fileStats,
        log: o.log,
        io: o.io ?? nodeFileIo,
        flushIntervalMs: o.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS,
        minFlushBytes: o.minFlushBytes ?? DEFAULT_MIN_FLUSH_BYTES,
        maxBufferedBytes: o.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
      });
      this.files.set(path, f);
    }
    return f;
  }

  /** Admin /reopen_logs: every file is closed and opened again before its next write (log rotation). */
  reopen(): void {
    for (const f of this.files.values()) f.reopen();
  }

  /** Writes everything buffered now. */
  flush(): void {
    for (const f of this.files.values()) f.flush();
  }

  /** Flushes every file and resolves when what was buffered is written (or failed). */
  async drain(): Promise<void> {
    await Promise.all([...this.files.values()].map((f) => f.drain()));
  }

  /**
   * Worker exit: flushes every file, waits up to `timeoutMs` for the writes (a stuck pipe cannot
   * hold the exit), then closes them.
   */
  async close(timeoutMs = 1000): Promise<void> {
    const all = [...this.files.values()];
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => {
      timer = setTimeout(r, timeoutMs);
      timer.unref();
    });
    await Promise.race([Promise.all(all.map((f) => f.drain())), deadline]);
    clearTimeout(timer);
    for (const f of all) f.close();
    this.files.clear();
  }
}
