// Which workloads a security policy (RequestAuthentication, AuthorizationPolicy) is written for:
// `selector.matchLabels`, or `targetRef(s)` — which select gateways and waypoints, never a
// sidecar. istiod's rules: not both a selector and targetRefs, not both targetRef and targetRefs.

import type { Obj, SpecReader } from "./spec-reader.js";
import { parseWorkloadSelector } from "./workload-selector.js";

export interface PolicyTarget {
  /** selector.matchLabels; absent = the whole namespace (mesh-wide in the root namespace). */
  selector?: Record<string, string>;
  /** Written with targetRef(s): never applies to a sidecar. */
  targeted?: boolean;
}

export function parsePolicyTarget(r: SpecReader, o: Obj): PolicyTarget {
  const out: PolicyTarget = {};
  if (o["selector"] !== undefined && o["selector"] !== null) out.selector = parseWorkloadSelector(r, o["selector"], ["selector"], "matchLabels") ?? {};
  const targeted = (o["targetRef"] ?? null) !== null || (r.arr(o, "targetRefs", []) ?? []).length > 0;
  if (targeted) {
    if (out.selector !== undefined) r.issues.error([], "only one of targetRefs or workloadSelector can be set");
    if ((o["targetRef"] ?? null) !== null && (o["targetRefs"] ?? null) !== null) r.issues.error([], "only one of targetRef or targetRefs can be set");
    r.issues.warn(["targetRefs"], "targetRef(s) select gateways and waypoints: the policy never applies to a sidecar");
    out.targeted = true;
  }
  return out;
}

/** Why a targetRef(s) policy is not applied (summary line). */
export const TARGETED_NOT_APPLIED = "targetRef(s): applies to gateways / waypoints, not to this sidecar";
