// UpstreamSessionCache: a worker's TLS sessions for upstream resumption, by transport hashKey and
// host. Owned by the worker's ClusterManager (not a module singleton), so a new snapshot whose
// cluster keeps the same TLS context keeps resuming. Bounded: the least recently stored entry goes
// first (a Map iterates in insertion order; a re-stored key moves to the end).

import type { TlsSessionStore } from "../listener/transport-socket.js";

/** Default bound: enough for every host of a large mesh, a few MB at most (a ticket is ~1-2 KB). */
export const DEFAULT_MAX_UPSTREAM_SESSIONS = 2048;

export class UpstreamSessionCache implements TlsSessionStore {
  private readonly sessions = new Map<string, Buffer>();

  constructor(private readonly max = DEFAULT_MAX_UPSTREAM_SESSIONS) {}

  get(key: string): Buffer | undefined {
    return this.sessions.get(key);
  }

  set(key: string, session: Buffer): void {
    this.sessions.delete(key);
    this.sessions.set(key, session);
    if (this.sessions.size > this.max) this.sessions.delete(this.sessions.keys().next().value!);
  }

  get size(): number {
    return this.sessions.size;
  }
}
