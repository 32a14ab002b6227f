import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../src/common/logger.js";
import { AccessLogFiles } from "../../../src/observability/access-log/access-log-files.js";
import { nodeFileIo, type FileIo } from "../../../src/observability/access-log/file-io.js";
import { StatsStore } from "../../../src/observability/stats/stats-store.js";
import { ManualTimers } from "../../helpers/manual-timers.js";

/** An in-memory FileIo whose writes complete only when the test says so. */
class FakeIo implements FileIo {
  writes: Array<{ fd: number; data: string; done: (err: NodeJS.ErrnoException | null, n: number) => void }> = [];
  opened: string[] = [];
  closed: number[] = [];
  pipe = false;
  failOpen: string | undefined;
  private nextFd = 10;
  open(path: string) {
    if (this.failOpen !== undefined) throw Object.assign(new Error(this.failOpen), { code: "EACCES" });
    this.opened.push(path);
    return { fd: this.nextFd++, pipe: this.pipe, owned: true };
  }
  write(fd: number, buf: Buffer, off: number, len: number, cb: (err: NodeJS.ErrnoException | null, n: number) => void): void {
    this.writes.push({ fd, data: buf.subarray(off, off + len).toString(), done: cb });
  }
  close(fd: number): void {
    this.closed.push(fd);
  }
  /** Completes the oldest outstanding write in full. */
  complete(): string {
    const w = this.writes.shift()!;
    w.done(null, Buffer.byteLength(w.data));
    return w.data;
  }
}

function setup(o: { pipe?: boolean; maxBufferedBytes?: number; minFlushBytes?: number } = {}) {
  const io = new FakeIo();
  io.pipe = o.pipe ?? false;
  const timers = new ManualTimers();
  const stats = new StatsStore();
  const errors: string[] = [];
  const log = createLogger("error", "test", (l) => errors.push(l));
  const files = new AccessLogFiles({ stats, log, timers, io, maxBufferedBytes: o.maxBufferedBytes ?? 1024 * 1024, minFlushBytes: o.minFlushBytes ?? 64 * 1024 });
  const counter = (n: string): number => stats.snapshot().counters[`access_log_file.${n}`] ?? 0;
  const gauge = (): number => stats.snapshot().gauges["access_log_file.write_total_buffered"] ?? 0;
  return { io, timers, stats, files, counter, gauge, errors };
}

describe("access log file writer", () => {
  it("buffers lines and writes them in one write when the 1 s flush timer fires", () => {
    const t = setup();
    const f = t.files.open("/var/log/a.log");
    f.write("one\n");
    f.write("two\n");
    expect(t.io.writes).toHaveLength(0);
    expect(t.timers.waiting()).toEqual([1000]);
    expect(t.counter("write_buffered")).toBe(2);
    expect(t.gauge()).toBe(8);
    t.timers.advance(1000);
    expect(t.counter("flushed_by_timer")).toBe(1);
    expect(t.io.complete()).toBe("one\ntwo\n");
    expect(t.counter("write_completed")).toBe(1);
    expect(t.gauge()).toBe(0);
    // Idle: no timer stays armed.
    expect(t.timers.waiting()).toEqual([]);
  });

  it("writes at once when the buffer passes 64 KiB", () => {
    const t = setup({ minFlushBytes: 100 });
    const f = t.files.open("/var/log/a.log");
    f.write("x".repeat(60) + "\n");
    expect(t.io.writes).toHaveLength(0);
    f.write("y".repeat(60) + "\n");
    expect(t.io.writes).toHaveLength(1);
    expect(t.counter("flushed_by_timer")).toBe(0);
  });

  it("keeps at most maxBufferedBytes queued behind a stuck write, dropping and counting the rest", () => {
    const t = setup({ maxBufferedBytes: 100, minFlushBytes: 10 });
    const f = t.files.open("/var/log/a.log");
    const line = "z".repeat(19) + "\n"; // 20 bytes
    for (let i = 0; i < 20; i++) f.write(line);
    // The first line went out (and never completes); 4 more fit behind it.
    expect(t.io.writes).toHaveLength(1);
    expect(t.counter("write_buffered")).toBe(5);
    expect(t.counter("write_dropped")).toBe(15);
    expect(t.gauge()).toBe(100);
    expect(f.bufferedBytes).toBe(100);
    // The disk catches up: the queued lines follow in one write and room opens again.
    t.io.complete();
    expect(t.io.writes).toHaveLength(1);
    expect(t.io.complete()).toBe(line.repeat(4));
    expect(t.gauge()).toBe(0);
    f.write(line);
    expect(t.counter("write_dropped")).toBe(15);
  });

  it("on a pipe, writes whole lines of at most PIPE_BUF bytes each; a longer line goes alone", () => {
    const t = setup({ pipe: true });
    const f = t.files.open("/dev/fifo");
    const line = "p".repeat(99) + "\n"; // 100 bytes
    for (let i = 0; i < 100; i++) f.write(line);
    f.write("L".repeat(5000) + "\n");
    f.write(line);
    t.timers.advance(1000);
    const out: string[] = [];
    while (t.io.writes.length > 0) out.push(t.io.complete());
    expect(out.map((c) => Buffer.byteLength(c))).toEqual([4000, 4000, 2000, 5001, 100]);
    for (const c of out) expect(c.endsWith("\n")).toBe(true);
    expect(t.counter("write_completed")).toBe(5);
  });

  it("retries a full non-blocking pipe (EAGAIN) without losing the chunk", () => {
    const t = setup();
    const f = t.files.open("/dev/fifo");
    f.write("a\n");
    t.timers.advance(1000);
    const w = t.io.writes.shift()!;
    w.done(Object.assign(new Error("EAGAIN"), { code: "EAGAIN" }), 0);
    expect(t.counter("write_failed")).toBe(0);
    expect(t.io.writes).toHaveLength(0);
    t.timers.advance(10);
    expect(t.io.complete()).toBe("a\n");
    expect(t.counter("write_completed")).toBe(1);
  });

  it("finishes a partial write", () => {
    const t = setup();
    const f = t.files.open("/var/log/a.log");
    f.write("abcdef\n");
    t.timers.advance(1000);
    t.io.writes.shift()!.done(null, 3);
    expect(t.io.complete()).toBe("def\n");
    expect(t.gauge()).toBe(0);
  });

  it("counts a failed write, logs it once, and keeps going", () => {
    const t = setup();
    const f = t.files.open("/var/log/a.log");
    for (const l of ["a\n", "b\n"]) {
      f.write(l);
      t.timers.advance(1000);
      t.io.writes.shift()!.done(Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" }), 0);
    }
    expect(t.counter("write_failed")).toBe(2);
    expect(t.errors).toHaveLength(1);
    expect(t.errors[0]).toMatch(/writing to '\/var\/log\/a.log' failed .*ENOSPC/);
    expect(t.gauge()).toBe(0);
    f.write("c\n");
    t.timers.advance(1000);
    expect(t.io.complete()).toBe("c\n");
  });

  it("refuses a file it cannot open with Envoy's message", () => {
    const t = setup();
    t.io.failOpen = "EACCES: permission denied";
    expect(() => t.files.open("/root/x.log")).toThrow("unable to open file '/root/x.log': EACCES: permission denied");
  });

  it("shares one file per path", () => {
    const t = setup();
    expect(t.files.open("/var/log/a.log")).toBe(t.files.open("/var/log/a.log"));
    expect(t.files.open("/var/log/b.log")).not.toBe(t.files.open("/var/log/a.log"));
    expect(t.io.opened).toEqual(["/var/log/a.log", "/var/log/b.log"]);
  });

  it("reopens the file on reopen(); a failed reopen is counted and lines are dropped until it opens", () => {
    const t = setup();
    const f = t.files.open("/var/log/a.log");
    t.files.reopen();
    expect(t.io.closed).toEqual([10]);
    expect(t.io.opened).toEqual(["/var/log/a.log", "/var/log/a.log"]);
    t.io.failOpen = "ENOENT: no such file or directory";
    t.files.reopen();
    expect(t.counter("reopen_failed")).toBe(1);
    f.write("lost\n");
    t.timers.advance(1000);
    expect(t.counter("reopen_failed")).toBe(2);
    expect(t.counter("write_dropped")).toBe(1);
    t.io.failOpen = undefined;
    f.write("kept\n");
    t.timers.advance(1000);
    expect(t.io.complete()).toBe("kept\n");
  });

  it("close() drains what is buffered, then closes", async () => {
    const t = setup();
    const f = t.files.open("/var/log/a.log");
    f.write("last\n");
    const closed = t.files.close(5000);
    expect(t.io.complete()).toBe("last\n");
    await closed;
    expect(t.io.closed).toEqual([10]);
    // Closed: further lines are dropped, not written.
    f.write("after\n");
    expect(t.counter("write_dropped")).toBe(1);
  });

  it("close() gives up on a stuck write after its deadline", async () => {
    const t = setup();
    const f = t.files.open("/var/log/a.log");
    f.write("stuck\n");
    await t.files.close(20);
    expect(t.io.writes).toHaveLength(1);
    expect(t.io.closed).toEqual([]);
    // The write finally returns: the file is closed then.
    t.io.complete();
    expect(t.io.closed).toEqual([10]);
  });
});

describe("access log file on disk", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("appends to a regular file (created if absent) and reopens it after rotation", async () => {
    dir = mkdtempSync(join(tmpdir(), "outrigger-al-"));
    const path = join(dir, "access.log");
    const timers = new ManualTimers();
    const files = new AccessLogFiles({ stats: new StatsStore(), log: createLogger("off"), timers, io: nodeFileIo });
    const f = files.open(path);
    f.write("first\n");
    await f.drain();
    expect(readFileSync(path, "utf8")).toBe("first\n");
    rmSync(path);
    files.reopen();
    f.write("second\n");
    await files.close();
    expect(readFileSync(path, "utf8")).toBe("second\n");
  });

  it("refuses a path in a missing directory", () => {
    const files = new AccessLogFiles({ stats: new StatsStore(), log: createLogger("off"), timers: new ManualTimers() });
    expect(() => files.open("/nonexistent-dir/access.log")).toThrow(/^unable to open file '\/nonexistent-dir\/access.log': ENOENT/);
  });
});
