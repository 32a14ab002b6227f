// SharedClusterResources: Envoy's per-cluster resource manager (circuit breakers) over a cluster's
// shared buffer, so every limit holds per cluster across all workers. Acquisition is a CAS loop
// (never overshoots, unlike Envoy's check-then-increment); a limit of 2^31-1 or more (Istio's
// default 4294967295) is unlimited and costs no Atomics at all.

import type { CircuitBreakers } from "../../config/model/types.js";
import type { ClusterResources } from "../cluster-api.js";
import { H, type ClusterSharedView } from "./cluster-shared-layout.js";

/** Limits at or above this are unlimited (Int32 counters; Istio writes 4294967295). */
export const UNLIMITED = 0x7fffffff;

/** 4294967295: Istio's value for every threshold it does not set. */
export const ISTIO_DEFAULT_THRESHOLD = 4294967295;

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
  private readonly reqLimited: boolean;
  private readonly retryLimited: boolean;
  readonly connectionsLimited: boolean;

  constructor(view: ClusterSharedView, limits: CircuitBreakers | undefined) {
    this.a = view.i32;
    this.limits = limits ?? unlimitedBreakers;
    this.reqLimited = isLimited(this.limits.maxRequests);
    this.retryLimited = isLimited(this.limits.maxRetries);
    this.connectionsLimited = isLimited(this.limits.maxConnections);
  }

  tryAcquireRequest(): boolean {
    return !this.reqLimited || tryInc(this.a, H.Requests, this.limits.maxRequests);
  }

  releaseRequest(): void {
    if (this.reqLimited) dec(this.a, H.Requests);
  }

  tryAcquireRetry(): boolean {
    return !this.retryLimited || tryInc(this.a, H.Retries, this.limits.maxRetries);
  }

  releaseRetry(): void {
    if (this.retryLimited) dec(this.a, H.Retries);
  }

  /** maxConnections: a new upstream connection (any host, any worker). */
  tryAcquireConnection(): boolean {
    return !this.connectionsLimited || tryInc(this.a, H.Connections, this.limits.maxConnections);
  }

  /** A counted connection closed: frees the slot and wakes waiters in every worker. */
  releaseConnection(): void {
    if (!this.connectionsLimited) return;
    dec(this.a, H.Connections);
    this.poke();
  }

  /** maxPendingRequests: a request starts waiting for a connection. */
  tryAcquirePending(): boolean {
    return tryInc(this.a, H.Pending, this.limits.maxPendingRequests);
  }

  releasePending(): void {
    dec(this.a, H.Pending);
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
