// SharedClusterResources: Envoy's per-cluster resource manager (circuit breakers) over a cluster's
// shared buffer, so every limit holds per cluster across all workers. Acquisition is a CAS loop
// (never overshoots, unlike Envoy's check-then-increment); a limit of 2^31-1 or more (Istio's
// default 4294967295) is unlimited and costs no Atomics at all.
//
// Each count is also kept in this worker's own record of the buffer (W words at workerBase(index)),
// so that when the worker dies the main thread can give back what it held (SharedStateOwner
// .reclaimWorker). Acquire adds to the worker's word before the CAS on the global counter (and
// takes it back on refusal); release decrements the global counter first. A thread killed between
// the two steps thus errs towards over-admitting by one, never towards losing a slot for good.

import type { CircuitBreakers } from "../../config/model/types.js";
import type { ClusterResources } from "../cluster-api.js";
import { H, W, workerBase, type ClusterSharedView } from "./cluster-shared-layout.js";
import { ISTIO_UNLIMITED_THRESHOLD } from "../../config/model/defaults.js";

/** Limits at or above this are unlimited (Int32 counters; Istio writes 4294967295). */
export const UNLIMITED = 0x7fffffff;

/** 4294967295: Istio's value for every threshold it does not set (the model's defaults table). */
export const ISTIO_DEFAULT_THRESHOLD = ISTIO_UNLIMITED_THRESHOLD;

export const unlimitedBreakers: CircuitBreakers = {
  maxConnections: ISTIO_DEFAULT_THRESHOLD,
  maxPendingRequests: ISTIO_DEFAULT_THRESHOLD,
  maxRequests: ISTIO_DEFAULT_THRESHOLD,
  maxRetries: ISTIO_DEFAULT_THRESHOLD,
};

export function isLimited(max: number): boolean {
  return max < UNLIMITED;
}

function tryInc(a: Int32Array, i: number, max: number): boolean {
  for (;;) {
    const cur = Atomics.load(a, i);
    if (cur >= max) return false;
    if (Atomics.compareExchange(a, i, cur, cur + 1) === cur) return true;
  }
}

function dec(a: Int32Array, i: number): void {
  // Never below zero: a buffer may outlive a crashed worker's counts, never the other way round.
  for (;;) {
    const cur = Atomics.load(a, i);
    if (cur <= 0) return;
    if (Atomics.compareExchange(a, i, cur, cur - 1) === cur) return;
  }
}

export class SharedClusterResources implements ClusterResources {
  readonly limits: CircuitBreakers;
  private readonly a: Int32Array;
  /** This worker's record (null: its index has no record in this buffer, counts are not tracked). */
  private readonly own: Int32Array | null;
  private readonly ownBase: number;
  private readonly reqLimited: boolean;
  private readonly retryLimited: boolean;
  readonly connectionsLimited: boolean;

  /** `workerIndex`: this worker's record in the buffer (the supervisor's index; 0 in-process). */
  constructor(view: ClusterSharedView, limits: CircuitBreakers | undefined, workerIndex = 0) {
    this.a = view.i32;
    const tracked = Number.isInteger(workerIndex) && workerIndex >= 0 && workerIndex < view.workerSlots;
    this.own = tracked ? view.workers : null;
    this.ownBase = tracked ? workerBase(workerIndex) : 0;
    this.limits = limits ?? unlimitedBreakers;
    this.reqLimited = isLimited(this.limits.maxRequests);
    this.retryLimited = isLimited(this.limits.maxRetries);
    this.connectionsLimited = isLimited(this.limits.maxConnections);
  }

  /** Takes one of global word `k` (limit `max`), counted as this worker's. */
  private acquire(k: number, max: number): boolean {
    const own = this.own;
    if (own === null) return tryInc(this.a, k, max);
    Atomics.add(own, this.ownBase + k, 1);
    if (tryInc(this.a, k, max)) return true;
    Atomics.sub(own, this.ownBase + k, 1);
    return false;
  }

  private release(k: number): void {
    dec(this.a, k);
    if (this.own !== null) Atomics.sub(this.own, this.ownBase + k, 1);
  }

  tryAcquireRequest(): boolean {
    return !this.reqLimited || this.acquire(W.Requests, this.limits.maxRequests);
  }

  releaseRequest(): void {
    if (this.reqLimited) this.release(W.Requests);
  }

  tryAcquireRetry(): boolean {
    return !this.retryLimited || this.acquire(W.Retries, this.limits.maxRetries);
  }

  releaseRetry(): void {
    if (this.retryLimited) this.release(W.Retries);
  }

  /** maxConnections: a new upstream connection (any host, any worker). */
  tryAcquireConnection(): boolean {
    return !this.connectionsLimited || this.acquire(W.Connections, this.limits.maxConnections);
  }

  /** A counted connection closed: frees the slot and wakes waiters in every worker. */
  releaseConnection(): void {
    if (!this.connectionsLimited) return;
    this.release(W.Connections);
    this.poke();
  }

  /** maxPendingRequests: a request starts waiting for a connection. */
  tryAcquirePending(): boolean {
    return this.acquire(W.Pending, this.limits.maxPendingRequests);
  }

  releasePending(): void {
    this.release(W.Pending);
  }

  get requests(): number {
    return Atomics.load(this.a, H.Requests);
  }
  get retries(): number {
    return Atomics.load(this.a, H.Retries);
  }
  get connections(): number {
    return Atomics.load(this.a, H.Connections);
  }
  get pending(): number {
    return Atomics.load(this.a, H.Pending);
  }

  get generation(): number {
    return Atomics.load(this.a, H.ConnGeneration);
  }

  /** Signals every worker's connection gate of this cluster that something changed. */
  poke(): void {
    Atomics.add(this.a, H.ConnGeneration, 1);
    Atomics.notify(this.a, H.ConnGeneration);
  }

  /** Resolves when the generation moves on from `seen` (cross-thread, no polling). */
  waitChange(seen: number): Promise<unknown> | undefined {
    const r = Atomics.waitAsync(this.a, H.ConnGeneration, seen);
    return r.async ? r.value : undefined;
  }
}
