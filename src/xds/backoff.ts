// Envoy's reconnect back-off for xDS streams: jittered exponential (JitteredExponentialBackOffStrategy),
// base 500 ms, max 30 s. Each attempt waits a uniformly random time in [0, min(max, base·2^n)).

import type { Timers } from "../common/timers.js";

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const ENVOY_XDS_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000 };

/** Real timers that never keep the process alive on their own (the proxy's lifetime is not the xDS client's). */
export const unrefTimers: Timers = {
  set: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly opts: BackoffOptions = ENVOY_XDS_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {
    if (!(opts.baseMs > 0) || !(opts.maxMs >= opts.baseMs)) throw new Error(`xDS back-off: base (${opts.baseMs} ms) must be > 0 and max (${opts.maxMs} ms) >= base`);
  }

  /** The wait before the next attempt, in ms. */
  next(): number {
    // Bounded exponent: 2^30 · base already exceeds any sane max.
    const ceiling = Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.floor(this.random() * ceiling);
  }

  /** A stream that received a response is healthy again: start over from base. */
  reset(): void {
    this.attempt = 0;
  }
}
