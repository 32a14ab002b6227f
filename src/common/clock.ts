// Clock: injected time so timeouts and durations are testable without sleeping.

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
