// Istio RequestAuthentication (security.istio.io). Placeholder of the issue-9 contract: replaced by its implementation.

import type { ConfigRef } from "./parsed-config.js";
import type { ParsedSecurity, SecurityContext } from "./security.js";
import type { SpecReader } from "./spec-reader.js";

export interface ParsedRequestAuthentication {
  ref: ConfigRef;
  /** metadata.creationTimestamp (istiod orders same-level resources by age). */
  createdAt?: string;
}

export function parseRequestAuthentication(r: SpecReader, spec: unknown, ref: ConfigRef, createdAt?: string): ParsedRequestAuthentication | undefined {
  void spec;
  r.issues.warn([], "RequestAuthentication is not enforced yet");
  return { ref, ...(createdAt !== undefined ? { createdAt } : {}) };
}

export function applyRequestAuthentication(resources: ReadonlyArray<ParsedSecurity<ParsedRequestAuthentication>>, ctx: SecurityContext): void {
  for (const p of resources) ctx.summary.push(`${p.line}: not enforced yet`);
}
