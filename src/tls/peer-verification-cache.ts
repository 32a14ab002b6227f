// PeerVerificationCache: the outcome of the per-certificate part of a downstream peer check (the
// certificate's facts for XFCC/RBAC/telemetry and the SAN matchers' verdict), by the certificate's
// SHA-256 fingerprint. A mesh client reuses one certificate for every connection until rotation, so
// parsing it, hashing it and PEM-encoding it once per factory instead of once per handshake takes
// that work off every new connection. Owned by one DownstreamTls factory (one snapshot's context and
// matchers), so a new snapshot starts empty. The trust chain verdict is OpenSSL's, per connection,
// and is never cached. Bounded: the least recently stored entry goes first.

import type { DownstreamVerification } from "./downstream-verify.js";

/** Enough for every client workload of a large mesh; an entry is a few KB (the PEM dominates). */
export const DEFAULT_MAX_PEER_VERIFICATIONS = 512;

export class PeerVerificationCache {
  private readonly entries = new Map<string, DownstreamVerification>();

  constructor(private readonly max = DEFAULT_MAX_PEER_VERIFICATIONS) {}

  get(fingerprint: string): DownstreamVerification | undefined {
    return this.entries.get(fingerprint);
  }

  set(fingerprint: string, v: DownstreamVerification): void {
    this.entries.set(fingerprint, v);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }

  get size(): number {
    return this.entries.size;
  }
}
