// Clock: injected time so timeouts and durations are testable without sleeping. The data path
// reads every time and arms every timer through one DataPathClock (wall clock, monotonic clock and
// timers together), so a test can drive all of it by hand while the sockets stay real.

import { realTimers, type Timers } from "./timers.js";

export interface Clock {
  /** Milliseconds since the epoch (wall clock, for access-log start times). */
  now(): number;
  /** Monotonic milliseconds with sub-ms precision (for durations). */
  monotonic(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};

/** The one clock of a worker's data path: time and timers. */
export interface DataPathClock extends Clock, Timers {}

export function dataPathClock(clock: Clock = systemClock, timers: Timers = realTimers): DataPathClock {
  return { now: () => clock.now(), monotonic: () => clock.monotonic(), set: (fn, ms) => timers.set(fn, ms), clear: (h) => timers.clear(h) };
}
