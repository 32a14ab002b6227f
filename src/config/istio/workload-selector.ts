// workloadSelector parsing: `{labels}` (Sidecar, ServiceEntry) or `{matchLabels}` (DestinationRule).

import type { FieldPath } from "./doc-issues.js";
import { checkLabels } from "./name-rules.js";
import type { SpecReader } from "./spec-reader.js";

export function parseWorkloadSelector(r: SpecReader, v: unknown, p: FieldPath, key: "labels" | "matchLabels"): Record<string, string> | undefined {
  const o = r.obj(v, p, [key]);
  if (!o) return undefined;
  const labels = r.strMap(o, key, p) ?? {};
  for (const [k, val] of Object.entries(labels)) {
    if (k === "") r.issues.error([...p, key], `empty key is not supported in selector: "${k}=${val}"`);
    if (k.includes("*") || val.includes("*")) r.issues.error([...p, key, k], `wildcard is not supported in selector: "${k}=${val}"`);
  }
  for (const e of checkLabels(labels)) r.issues.error([...p, key], e);
  if (Object.keys(labels).length === 0) r.issues.warn(p, "workload selector specified without labels, will be applied to all workloads in the namespace");
  return labels;
}

/** Selector labels ⊆ workload labels. */
export function labelsMatch(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}
