// ConnectionGate: one worker's side of a cluster's maxConnections / maxPendingRequests. Pools ask
// it before dialing; requests that find the cluster at maxConnections wait in their pool's FIFO
// (counted in the shared pending counter). A request waits for a connection of its own worker, as
// in Envoy, but since the limit is held strictly across workers, a worker whose pools cannot
// serve a waiter must get a slot back from another: when anyone waits, a worker closes a released
// or idle connection instead of pooling it, and the freed slot wakes every worker
// (Atomics.notify on the cluster's generation word) so the waiter's worker can dial.

import type { SharedClusterResources } from "./shared-cluster-resources.js";

/** What the gate needs from a pool (Http1Pool implements it). */
export interface GatedPool {
  /** Dials for queued requests while connection slots are available. */
  serveWaiters(): void;
  /** Closes up to `n` idle connections; returns how many. */
  closeIdle(n: number): number;
}

export class ConnectionGate {
  readonly resources: SharedClusterResources;
  private readonly pools = new Set<GatedPool>();
  private armed = false;
  private closed = false;

  constructor(resources: SharedClusterResources) {
    this.resources = resources;
  }

  register(pool: GatedPool): void {
    this.pools.add(pool);
    this.arm();
  }

  unregister(pool: GatedPool): void {
    this.pools.delete(pool);
  }

  /** A connection slot for a new dial. */
  tryOpen(): boolean {
    return this.resources.tryAcquireConnection();
  }

  /** A connection this gate counted has closed. */
  onClosed(): void {
    this.resources.releaseConnection();
  }

  /** A request starts waiting; false = maxPendingRequests reached (overflow). */
  tryQueue(): boolean {
    if (!this.resources.tryAcquirePending()) return false;
    // Other workers may hold idle connections that this waiter needs.
    this.resources.poke();
    return true;
  }

  /** A waiter got a connection or gave up. */
  dequeued(): void {
    this.resources.releasePending();
  }

  /** Somebody (any pool, any worker) waits for a connection slot. */
  othersWaiting(): boolean {
    return this.resources.pending > 0;
  }

  /** Serves local waiters, then gives idle slots back if requests still wait anywhere. */
  rebalance(): void {
    for (const p of this.pools) p.serveWaiters();
    let wanted = this.resources.pending;
    if (wanted <= 0) return;
    for (const p of this.pools) {
      wanted -= p.closeIdle(wanted);
      if (wanted <= 0) return;
    }
  }

  /**
   * Keeps one Atomics.waitAsync outstanding on the generation word (it does not hold the process).
   * The generation is read before each rebalance, so a change made during one is never missed.
   */
  private arm(seen = this.resources.generation): void {
    if (this.armed || this.closed) return;
    this.armed = true;
    const wait = this.resources.waitChange(seen);
    const next = (): void => {
      this.armed = false;
      if (this.closed) return;
      const gen = this.resources.generation;
      this.rebalance();
      this.arm(gen);
    };
    if (wait === undefined) setImmediate(next);
    else void wait.then(next);
  }

  close(): void {
    this.closed = true;
    this.pools.clear();
    // Wakes our own outstanding wait so it ends.
    this.resources.poke();
  }
}
