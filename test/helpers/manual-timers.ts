// ManualTimers: a Timers implementation that fires only when a test advances time, so router
// timeouts, back-offs and fault delays are deterministic while the sockets stay real. It is a
// Clock too: passed as a runtime's `clock` as well, durations, timing points and connection ages
// read the same hand-driven time (the one data-path clock).

import type { Clock } from "../../src/common/clock.js";
import type { TimerHandle, Timers } from "../../src/common/timers.js";

interface Pending {
  id: number;
  due: number;
  ms: number;
  fn: () => void;
}

export class ManualTimers implements Timers, Clock {
  private time = 0;
  private nextId = 1;
  private pending: Pending[] = [];

  /** `epochMs`: the wall-clock time that monotonic 0 stands for. */
  constructor(private readonly epochMs = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.epochMs + this.time;
  }

  monotonic(): number {
    return this.time;
  }

  set(fn: () => void, ms: number): TimerHandle {
    const t = { id: this.nextId++, due: this.time + ms, ms, fn };
    this.pending.push(t);
    return t.id;
  }

  clear(handle: TimerHandle): void {
    this.pending = this.pending.filter((t) => t.id !== handle);
  }

  /** Durations (ms) of the timers waiting to fire, oldest first. */
  waiting(): number[] {
    return this.pending.map((t) => t.ms);
  }

  /** Moves time forward and fires every timer that falls due, in due order. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const next = this.pending.filter((t) => t.due <= until).sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (next === undefined) break;
      this.pending = this.pending.filter((t) => t !== next);
      this.time = next.due;
      next.fn();
    }
    this.time = until;
  }
}
