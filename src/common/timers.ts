// Timers: the router's timeouts, back-offs and fault delays go through this, so tests can fire
// them by hand (deterministic, no sleeping) while the sockets stay real.

export type TimerHandle = unknown;

export interface Timers {
  set(fn: () => void, ms: number): TimerHandle;
  clear(handle: TimerHandle): void;
}

export const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};
