// One access-log destination within a worker (Envoy's AccessLogFileImpl): lines are appended to a
// buffer and written asynchronously — flushed every `flushIntervalMs` (Envoy's
// --file-flush-interval-msec, 1 s) or as soon as the buffer passes `minFlushBytes` (Envoy's
// MIN_FLUSH_SIZE, 64 KiB). At most one write is in flight; at most `maxBufferedBytes` wait
// (buffered + in flight): past that a line is dropped and counted, so a slow disk or a stuck pipe
// never stalls traffic or grows memory.
//
// Interleaving guarantee: on a pipe, FIFO, socket or terminal every write() carries whole lines
// and at most PIPE_BUF (4096) bytes, which POSIX makes atomic — lines from several workers (or
// the supervisor's log) never mix. A single line longer than 4096 bytes is written alone and may
// interleave there. On a regular file each flush is one O_APPEND write() of whole lines.

import type { Logger } from "../../common/logger.js";
import type { TimerHandle, Timers } from "../../common/timers.js";
import type { Counter, Gauge, StatsStore } from "../stats/stats-store.js";
import type { FileIo, OpenedFile } from "./file-io.js";

/** Bytes one write() to a pipe may carry and stay atomic (Linux PIPE_BUF). */
export const PIPE_BUF = 4096;
/** 1 s: Envoy's default --file-flush-interval-msec. */
export const DEFAULT_FLUSH_INTERVAL_MS = 1000;
/** 64 KiB: Envoy's MIN_FLUSH_SIZE (a buffer past it is flushed at once). */
export const DEFAULT_MIN_FLUSH_BYTES = 64 * 1024;
/** 1 MiB per file per worker waiting to be written; more is dropped (and counted). */
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
/** 10 ms: retry after EAGAIN (a full non-blocking pipe). */
const RETRY_MS = 10;

/** The file stats, shared by every file of a worker (Envoy's `access_log_file.*`). */
export interface AccessLogFileStats {
  writeBuffered: Counter;
  writeCompleted: Counter;
  writeFailed: Counter;
  flushedByTimer: Counter;
  reopenFailed: Counter;
  writeTotalBuffered: Gauge;
  /** Outrigger's own: lines dropped because the file's buffer was full (Envoy buffers without bound). */
  writeDropped: Counter;
}

export function accessLogFileStats(stats: StatsStore): AccessLogFileStats {
  return {
    writeBuffered: stats.counter("access_log_file.write_buffered"),
    writeCompleted: stats.counter("access_log_file.write_completed"),
    writeFailed: stats.counter("access_log_file.write_failed"),
    flushedByTimer: stats.counter("access_log_file.flushed_by_timer"),
    reopenFailed: stats.counter("access_log_file.reopen_failed"),
    writeTotalBuffered: stats.gauge("access_log_file.write_total_buffered"),
    writeDropped: stats.counter("access_log_file.write_dropped"),
  };
}

export interface AccessLogFileOptions {
  timers: Timers;
  stats: AccessLogFileStats;
  log: Logger;
  io: FileIo;
  flushIntervalMs: number;
  minFlushBytes: number;
  maxBufferedBytes: number;
}

export class AccessLogFile {
  private file: OpenedFile | undefined;
  /** Lines waiting for the next flush, and their sizes in bytes. */
  private pending: string[] = [];
  private pendingSizes: number[] = [];
  private pendingBytes = 0;
  /** Buffered + in flight. */
  private totalBytes = 0;
  private chunks: Buffer[] = [];
  private chunkOffset = 0;
  private writing = false;
  /** An io.write callback is outstanding. */
  private inFlight = false;
  private timer: TimerHandle | undefined;
  private reopenRequested = false;
  private closed = false;
  private warnedWrite = false;
  private idleWaiters: Array<() => void> = [];
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.opts.stats.flushedByTimer.inc();
    this.flush();
  };
  private readonly retry = (): void => {
    this.timer = undefined;
    this.writeNext();
  };

  /** Opens the file now: throws `unable to open file '<path>': <reason>` (the config is refused, as in Envoy). */
  constructor(
    readonly path: string,
    private readonly opts: AccessLogFileOptions,
  ) {
    this.file = this.open();
  }

  private open(): OpenedFile {
    try {
      return this.opts.io.open(this.path);
    } catch (e) {
      throw new Error(`unable to open file '${this.path}': ${(e as Error).message}`);
    }
  }

  /** Bytes buffered or being written. */
  get bufferedBytes(): number {
    return this.totalBytes;
  }

  /** Queues one whole record (a line with its newline). Never blocks, never throws. */
  write(line: string): void {
    const n = Buffer.byteLength(line);
    const s = this.opts.stats;
    if (this.closed || this.totalBytes + n > this.opts.maxBufferedBytes) {
      s.writeDropped.inc();
      return;
    }
    this.pending.push(line);
    this.pendingSizes.push(n);
    this.pendingBytes += n;
    this.totalBytes += n;
    s.writeBuffered.inc();
    s.writeTotalBuffered.add(n);
    if (this.pendingBytes > this.opts.minFlushBytes) this.flush();
    else if (this.timer === undefined && !this.writing) this.timer = this.opts.timers.set(this.onTimer, this.opts.flushIntervalMs);
  }

  /** Writes what is buffered now (no-op while a write is in flight: it continues after it). */
  flush(): void {
    if (this.writing || this.pending.length === 0) return;
    if (this.timer !== undefined) {
      this.opts.timers.clear(this.timer);
      this.timer = undefined;
    }
    if (this.reopenRequested || this.file === undefined) this.doReopen();
    const lines = this.pending;
    const sizes = this.pendingSizes;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingSizes = [];
    this.pendingBytes = 0;
    if (this.file === undefined) {
      // Could not (re)open: these lines are lost.
      this.opts.stats.writeDropped.inc(lines.length);
      this.release(bytes);
      return;
    }
    this.chunks = this.file.pipe ? pipeChunks(lines, sizes) : [Buffer.from(lines.join(""))];
    this.chunkOffset = 0;
    this.writing = true;
    this.writeNext();
  }

  /** Envoy's reopen (admin /reopen_logs): the file is closed and opened again before the next write. */
  reopen(): void {
    if (this.file !== undefined && !this.file.owned) return;
    this.reopenRequested = true;
    if (!this.writing && this.pending.length === 0) this.doReopen();
  }

  private doReopen(): void {
    this.reopenRequested = false;
    if (this.file !== undefined) {
      if (!this.file.owned) return;
      this.opts.io.close(this.file.fd);
      this.file = undefined;
    }
    try {
      this.file = this.open();
    } catch (e) {
      this.opts.stats.reopenFailed.inc();
      this.opts.log.error(`access log: ${(e as Error).message}`);
    }
  }

  private writeNext(): void {
    if (this.closed) {
      this.writing = false;
      if (this.file !== undefined && this.file.owned) this.opts.io.close(this.file.fd);
      this.file = undefined;
      return;
    }
    const file = this.file;
    const chunk = this.chunks[0];
    if (chunk === undefined || file === undefined) {
      this.writing = false;
      this.chunks = [];
      this.afterWrites();
      return;
    }
    const off = this.chunkOffset;
    this.inFlight = true;
    this.opts.io.write(file.fd, chunk, off, chunk.length - off, (err, written) => {
      this.inFlight = false;
      const s = this.opts.stats;
      if (err !== null) {
        if (err.code === "EAGAIN" || err.code === "EWOULDBLOCK") {
          // A full non-blocking pipe: nothing was written; try again shortly (the buffer bound
          // keeps dropping new lines meanwhile).
          this.timer = this.opts.timers.set(this.retry, RETRY_MS);
          return;
        }
        s.writeFailed.inc();
        if (!this.warnedWrite) {
          this.warnedWrite = true;
          this.opts.log.error(`access log: writing to '${this.path}' failed (further failures are only counted in access_log_file.write_failed): ${err.message}`);
        }
        this.chunks.shift();
        this.chunkOffset = 0;
        this.release(chunk.length - off);
        this.writeNext();
        return;
      }
      if (off + written < chunk.length) {
        this.chunkOffset = off + written;
        this.release(written);
        this.writeNext();
        return;
      }
      s.writeCompleted.inc();
      this.chunks.shift();
      this.chunkOffset = 0;
      this.release(chunk.length - off);
      this.writeNext();
    });
  }

  private release(bytes: number): void {
    this.totalBytes -= bytes;
    this.opts.stats.writeTotalBuffered.add(-bytes);
  }

  private afterWrites(): void {
    if (this.pendingBytes > this.opts.minFlushBytes) return this.flush();
    if (this.pending.length > 0) {
      if (this.timer === undefined) this.timer = this.opts.timers.set(this.onTimer, this.opts.flushIntervalMs);
      return;
    }
    if (this.reopenRequested) this.doReopen();
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /** Flushes everything buffered; resolves when it is written (or failed). */
  drain(): Promise<void> {
    this.flush();
    if (!this.writing && this.pending.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /**
   * Stops timers and closes the file (call after drain). Lines still buffered are dropped and
   * counted; a write in flight finishes, then the file is closed.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) this.opts.timers.clear(this.timer);
    this.timer = undefined;
    if (this.pending.length > 0) {
      this.opts.stats.writeDropped.inc(this.pending.length);
      this.release(this.pendingBytes);
      this.pending = [];
      this.pendingSizes = [];
      this.pendingBytes = 0;
    }
    if (!this.inFlight) {
      // Nothing outstanding (idle, or waiting to retry a full pipe): unsent chunks are let go.
      for (let i = 0; i < this.chunks.length; i++) this.release(this.chunks[i]!.length - (i === 0 ? this.chunkOffset : 0));
      this.chunks = [];
      this.writing = false;
      if (this.file !== undefined && this.file.owned) this.opts.io.close(this.file.fd);
      this.file = undefined;
    }
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const r of w) r();
  }
}

/** Whole lines grouped into writes of at most PIPE_BUF bytes (a longer line goes alone). */
function pipeChunks(lines: string[], sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let group = "";
  let groupBytes = 0;
  for (let i = 0; i < lines.length; i++) {
    const n = sizes[i]!;
    if (groupBytes > 0 && groupBytes + n > PIPE_BUF) {
      out.push(Buffer.from(group));
      group = "";
      groupBytes = 0;
    }
    group += lines[i]!;
    groupBytes += n;
  }
  if (groupBytes > 0) out.push(Buffer.from(group));
  return out;
}
