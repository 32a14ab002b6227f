// The shared-memory layout of one cluster's cross-worker state: circuit-breaker counters and
// per-host outlier detection state, in one SharedArrayBuffer that every worker maps.
//
//   Int32 words [0, HEADER_WORDS)            cluster header (Atomics)
//   Int32 words [HEADER_WORDS, + n × HOST)   one HOST_WORDS record per host slot (Atomics)
//   Float64 [f64Offset, + n × HOST_F64)      per host: last ejection / unejection, wall-clock ms
//   Int32 [workerOffset, + w × WORKER_WORDS) per worker: its own share of the header counters
//
// The per-worker words let the main thread give back what a dead worker held (requests, pending
// requests, connections, retries): the worker count is fixed for the process and a replacement
// worker reuses its index, so a worker's words always describe exactly one live thread.
//
// Host slots follow the model's endpoint order (every locality group, every priority), so all
// workers and the main thread agree on them; a DNS endpoint's resolved addresses share its slot.

import type { Cluster } from "../../config/model/types.js";

/** Cluster header words. */
export const H = {
  /** Requests in flight (maxRequests). */
  Requests: 0,
  /** Requests waiting for a connection (maxPendingRequests). */
  Pending: 1,
  /** Connections open, every worker and host (maxConnections). */
  Connections: 2,
  /** Retries in flight (maxRetries). */
  Retries: 3,
  /** Bumped (and notified) whenever a connection slot frees up or a request starts waiting. */
  ConnGeneration: 4,
  /** Hosts currently ejected (maxEjectionPercent). */
  ActiveEjections: 5,
  /** Number of host slots (written once at allocation). */
  HostSlots: 6,
  /** Layout version, to refuse a buffer of another shape. */
  Version: 7,
  /** Bumped on every ejection and unejection: load balancers re-read host health only when it moves. */
  EjectionEpoch: 8,
  /** Number of per-worker records (written once at allocation). */
  WorkerSlots: 9,
} as const;
export const HEADER_WORDS = 12;
export const LAYOUT_VERSION = 3;

/**
 * The header counters that each worker also keeps a share of, in its own record at the same
 * offsets (W[k] === H[k]): acquire adds to both, release subtracts from both.
 */
export const W = { Requests: H.Requests, Pending: H.Pending, Connections: H.Connections, Retries: H.Retries } as const;
export const WORKER_WORDS = 4;
/** The counters a dead worker's record is reclaimed for. */
export const WORKER_COUNTERS: readonly number[] = [W.Requests, W.Pending, W.Connections, W.Retries];

/** Per-host Int32 words (offsets inside a host record). */
export const HW = {
  /** HostState: 0 healthy, 1 ejected, 2 being ejected (counts as ejected). */
  State: 0,
  Consecutive5xx: 1,
  ConsecutiveGateway: 2,
  ConsecutiveLocalOrigin: 3,
  /** Envoy's eject_time_backoff: the multiplier of base_ejection_time. */
  Backoff: 4,
  /** Times this host was ejected (stat). */
  Ejections: 5,
} as const;
export const HOST_WORDS = 8;

export const HostState = { Healthy: 0, Ejected: 1, Ejecting: 2 } as const;

/** Per-host Float64 slots. */
export const HF = { LastEjectionMs: 0, LastUnejectionMs: 1 } as const;
export const HOST_F64 = 2;

/** A cluster's shared buffer, mapped as typed arrays. */
export interface ClusterSharedView {
  readonly buffer: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly hostSlots: number;
  /** WORKER_WORDS per worker index; `workerBase(i)` is worker i's record. */
  readonly workers: Int32Array;
  readonly workerSlots: number;
}

function f64Offset(hostSlots: number): number {
  const bytes = (HEADER_WORDS + hostSlots * HOST_WORDS) * 4;
  return Math.ceil(bytes / 8) * 8;
}

function workerOffset(hostSlots: number): number {
  return f64Offset(hostSlots) + hostSlots * HOST_F64 * 8;
}

export function sharedByteLength(hostSlots: number, workerSlots = 1): number {
  return workerOffset(hostSlots) + workerSlots * WORKER_WORDS * 4;
}

/** `workerSlots`: the process's worker count (indexes 0 … workerSlots-1). */
export function allocateClusterShared(hostSlots: number, workerSlots = 1): SharedArrayBuffer {
  const w = Math.max(1, Math.floor(workerSlots));
  const buffer = new SharedArrayBuffer(sharedByteLength(hostSlots, w));
  const i32 = new Int32Array(buffer, 0, HEADER_WORDS);
  i32[H.HostSlots] = hostSlots;
  i32[H.WorkerSlots] = w;
  i32[H.Version] = LAYOUT_VERSION;
  return buffer;
}

/** Maps a buffer; undefined when it does not have the expected shape (then allocate afresh). */
export function viewClusterShared(buffer: SharedArrayBuffer, hostSlots: number): ClusterSharedView | undefined {
  if (buffer.byteLength < sharedByteLength(hostSlots)) return undefined;
  const i32 = new Int32Array(buffer, 0, HEADER_WORDS + hostSlots * HOST_WORDS);
  if (Atomics.load(i32, H.HostSlots) !== hostSlots || Atomics.load(i32, H.Version) !== LAYOUT_VERSION) return undefined;
  const workerSlots = Atomics.load(i32, H.WorkerSlots);
  if (workerSlots < 1 || buffer.byteLength !== sharedByteLength(hostSlots, workerSlots)) return undefined;
  const f64 = new Float64Array(buffer, f64Offset(hostSlots), hostSlots * HOST_F64);
  const workers = new Int32Array(buffer, workerOffset(hostSlots), workerSlots * WORKER_WORDS);
  return { buffer, i32, f64, hostSlots, workers, workerSlots };
}

/** Index (in `view.workers`) of a worker record's first word. */
export function workerBase(index: number): number {
  return index * WORKER_WORDS;
}

/** Index of a host record's first word. */
export function hostBase(slot: number): number {
  return HEADER_WORDS + slot * HOST_WORDS;
}

/** Host slots of a cluster: one per endpoint in model order. */
export function hostSlotCount(c: Cluster): number {
  let n = 0;
  for (const g of c.loadAssignment.endpoints) n += g.lbEndpoints.length;
  return n;
}

/** Same string for the same cluster config: unchanged clusters keep their shared buffers. */
export function clusterSignature(c: Cluster): string {
  return JSON.stringify(c);
}

/** Buffers handed to workers with a snapshot, by cluster name. */
export type SharedClusterBuffers = Record<string, SharedArrayBuffer>;
