// The shared-memory layout of one cluster's cross-worker state: circuit-breaker counters and
// per-host outlier detection state, in one SharedArrayBuffer that every worker maps.
//
//   Int32 words [0, HEADER_WORDS)            cluster header (Atomics)
//   Int32 words [HEADER_WORDS, + n × HOST)   one HOST_WORDS record per host slot (Atomics)
//   Float64 [f64Offset, + n × HOST_F64)      per host: last ejection / unejection, wall-clock ms
//   Int32 [workerOffset, + w × WORKER_WORDS) per worker: its own share of the header counters
//   Int32 [keyOffset, + t × KEY_WORDS)       per address-table slot: which DNS address owns it
//
// The per-worker words let the main thread give back what a dead worker held (requests, pending
// requests, connections, retries): the worker count is fixed for the process and a replacement
// worker reuses its index, so a worker's words always describe exactly one live thread.
//
// Host slots [0, endpoints) follow the model's endpoint order (every locality group, every
// priority), so all workers and the main thread agree on them. Addresses that STRICT_DNS names
// resolve to are discovered at run time in each worker; they get slots from the address table at
// the end, [endpoints, endpoints + t), claimed by key (endpoint, address, port) through the buffer
// itself (host-slot-table.ts), so every worker maps one address to one slot without asking the
// main thread. The table is sized with headroom per DNS name (DNS_SLOTS_PER_NAME).

import { isIP } from "node:net";
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
  /** Number of address-table slots (the last host slots; written once at allocation). */
  TableSlots: 10,
} as const;
export const HEADER_WORDS = 12;
export const LAYOUT_VERSION = 4;

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

/** Words of one address-table key (offsets inside a key record). */
export const KW = {
  /** KeyState. */
  State: 0,
  /** The model endpoint (index in model order) whose name resolved to the address. */
  Endpoint: 1,
  Port: 2,
  /** Length of the address text, then its characters, 4 per word (an IPv6 text is at most 45). */
  Length: 3,
  Text: 4,
} as const;
export const KEY_TEXT_WORDS = 12;
export const KEY_WORDS = KW.Text + KEY_TEXT_WORDS;
export const KeyState = { Free: 0, Claiming: 1, Claimed: 2 } as const;

/**
 * 64: address-table slots per STRICT_DNS name. Addresses that come and go keep their slot (slots
 * are never freed, so a returning address finds its outlier state); a name that has resolved to
 * more distinct addresses than this runs further ones without outlier detection (logged).
 */
export const DNS_SLOTS_PER_NAME = 64;

/** How many host slots a cluster's buffer has, and how many of the last ones form the address table. */
export interface HostSlotShape {
  hostSlots: number;
  tableSlots: number;
}

/** A cluster's shared buffer, mapped as typed arrays. */
export interface ClusterSharedView {
  readonly buffer: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly hostSlots: number;
  /** WORKER_WORDS per worker index; `workerBase(i)` is worker i's record. */
  readonly workers: Int32Array;
  readonly workerSlots: number;
  /** Address-table slots: host slots [hostSlots - tableSlots, hostSlots). */
  readonly tableSlots: number;
  /** KEY_WORDS per address-table slot. */
  readonly keys: Int32Array;
}

function f64Offset(hostSlots: number): number {
  const bytes = (HEADER_WORDS + hostSlots * HOST_WORDS) * 4;
  return Math.ceil(bytes / 8) * 8;
}

function workerOffset(hostSlots: number): number {
  return f64Offset(hostSlots) + hostSlots * HOST_F64 * 8;
}

function keyOffset(hostSlots: number, workerSlots: number): number {
  return workerOffset(hostSlots) + workerSlots * WORKER_WORDS * 4;
}

export function sharedByteLength(hostSlots: number, workerSlots = 1, tableSlots = 0): number {
  return keyOffset(hostSlots, workerSlots) + tableSlots * KEY_WORDS * 4;
}

/** `workerSlots`: the process's worker count (indexes 0 … workerSlots-1). `tableSlots`: the last host slots form the address table. */
export function allocateClusterShared(hostSlots: number, workerSlots = 1, tableSlots = 0): SharedArrayBuffer {
  const w = Math.max(1, Math.floor(workerSlots));
  const t = Math.min(hostSlots, Math.max(0, Math.floor(tableSlots)));
  const buffer = new SharedArrayBuffer(sharedByteLength(hostSlots, w, t));
  const i32 = new Int32Array(buffer, 0, HEADER_WORDS);
  i32[H.HostSlots] = hostSlots;
  i32[H.WorkerSlots] = w;
  i32[H.TableSlots] = t;
  i32[H.Version] = LAYOUT_VERSION;
  return buffer;
}

/** Maps a buffer; undefined when it does not have the expected shape (then allocate afresh). */
export function viewClusterShared(buffer: SharedArrayBuffer, hostSlots: number, tableSlots = 0): ClusterSharedView | undefined {
  if (buffer.byteLength < sharedByteLength(hostSlots, 1, tableSlots)) return undefined;
  const i32 = new Int32Array(buffer, 0, HEADER_WORDS + hostSlots * HOST_WORDS);
  if (Atomics.load(i32, H.HostSlots) !== hostSlots || Atomics.load(i32, H.Version) !== LAYOUT_VERSION) return undefined;
  if (Atomics.load(i32, H.TableSlots) !== tableSlots) return undefined;
  const workerSlots = Atomics.load(i32, H.WorkerSlots);
  if (workerSlots < 1 || buffer.byteLength !== sharedByteLength(hostSlots, workerSlots, tableSlots)) return undefined;
  const f64 = new Float64Array(buffer, f64Offset(hostSlots), hostSlots * HOST_F64);
  const workers = new Int32Array(buffer, workerOffset(hostSlots), workerSlots * WORKER_WORDS);
  const keys = new Int32Array(buffer, keyOffset(hostSlots, workerSlots), tableSlots * KEY_WORDS);
  return { buffer, i32, f64, hostSlots, workers, workerSlots, tableSlots, keys };
}

/** Index (in `view.workers`) of a worker record's first word. */
export function workerBase(index: number): number {
  return index * WORKER_WORDS;
}

/** Index of a host record's first word. */
export function hostBase(slot: number): number {
  return HEADER_WORDS + slot * HOST_WORDS;
}

/** Host slots of a cluster: one per endpoint in model order, then the address table. */
export function hostSlotCount(c: Cluster): number {
  return hostSlotShape(c).hostSlots;
}

/** One slot per model endpoint, plus DNS_SLOTS_PER_NAME table slots per STRICT_DNS name. */
export function hostSlotShape(c: Cluster): HostSlotShape {
  let endpoints = 0;
  let names = 0;
  for (const g of c.loadAssignment.endpoints) {
    for (const ep of g.lbEndpoints) {
      endpoints++;
      if (c.type === "STRICT_DNS" && isIP(ep.address) === 0) names++;
    }
  }
  const tableSlots = names * DNS_SLOTS_PER_NAME;
  return { hostSlots: endpoints + tableSlots, tableSlots };
}

/** Same string for the same cluster config: unchanged clusters keep their shared buffers. */
export function clusterSignature(c: Cluster): string {
  return JSON.stringify(c);
}

/** Buffers handed to workers with a snapshot, by cluster name. */
export type SharedClusterBuffers = Record<string, SharedArrayBuffer>;
