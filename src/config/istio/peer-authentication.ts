// Istio PeerAuthentication (security.istio.io). Placeholder of the issue-9 contract: replaced by its implementation.

import type { ConfigRef } from "./parsed-config.js";
import type { ParsedSecurity, SecurityContext } from "./security.js";
import type { SpecReader } from "./spec-reader.js";

export interface ParsedPeerAuthentication {
  ref: ConfigRef;
  /** metadata.creationTimestamp (istiod orders same-level resources by age). */
  createdAt?: string;
}

export function parsePeerAuthentication(r: SpecReader, spec: unknown, ref: ConfigRef, createdAt?: string): ParsedPeerAuthentication | undefined {
  void spec;
  r.issues.warn([], "PeerAuthentication is not enforced yet");
  return { ref, ...(createdAt !== undefined ? { createdAt } : {}) };
}

export function applyPeerAuthentication(resources: ReadonlyArray<ParsedSecurity<ParsedPeerAuthentication>>, ctx: SecurityContext): void {
  for (const p of resources) ctx.summary.push(`${p.line}: not enforced yet`);
}
