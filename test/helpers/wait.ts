// Bounded waits for integration tests: every wait has a deadline, so a regression fails fast
// instead of hanging the suite.

export async function waitFor<T>(probe: () => T | undefined | false, timeoutMs = 5_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** waitFor with a probe that has to ask over the network (an admin endpoint, a log). */
export async function waitForAsync<T>(probe: () => Promise<T | undefined | false>, timeoutMs = 5_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Awaits `p`, failing (not hanging) when it has not settled within `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** One turn of the event loop: settled promises and queued I/O callbacks run before it resolves. */
export function nextTurn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** Real time passing, for what is not synchronisation (pacing, GC settling); never as a barrier. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
