// Istio AuthorizationPolicy (security.istio.io). Placeholder of the issue-9 contract: replaced by its implementation.

import type { ConfigRef } from "./parsed-config.js";
import type { ParsedSecurity, SecurityContext } from "./security.js";
import type { SpecReader } from "./spec-reader.js";

export interface ParsedAuthorizationPolicy {
  ref: ConfigRef;
  /** metadata.creationTimestamp (istiod orders same-level resources by age). */
  createdAt?: string;
}

export function parseAuthorizationPolicy(r: SpecReader, spec: unknown, ref: ConfigRef, createdAt?: string): ParsedAuthorizationPolicy | undefined {
  void spec;
  r.issues.warn([], "AuthorizationPolicy is not enforced yet");
  return { ref, ...(createdAt !== undefined ? { createdAt } : {}) };
}

export function applyAuthorizationPolicies(resources: ReadonlyArray<ParsedSecurity<ParsedAuthorizationPolicy>>, ctx: SecurityContext): void {
  for (const p of resources) ctx.summary.push(`${p.line}: not enforced yet`);
}
