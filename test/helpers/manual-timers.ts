// ManualTimers: a Timers implementation that fires only when a test advances time, so router
// timeouts, back-offs and fault delays are deterministic while the sockets stay real.

import type { TimerHandle, Timers } from "../../src/common/timers.js";

interface Pending {
  id: number;
  due: number;
  ms: number;
  fn: () => void;
}

export class ManualTimers implements Timers {
  private now = 0;
  private nextId = 1;
  private pending: Pending[] = [];

  set(fn: () => void, ms: number): TimerHandle {
    const t = { id: this.nextId++, due: this.now + ms, ms, fn };
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
    const until = this.now + ms;
    for (;;) {
      const next = this.pending.filter((t) => t.due <= until).sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (next === undefined) break;
      this.pending = this.pending.filter((t) => t !== next);
      this.now = next.due;
      next.fn();
    }
    this.now = until;
  }
}
