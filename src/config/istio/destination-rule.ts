// DestinationRule validation and parsing: host, trafficPolicy, subsets, exportTo, workloadSelector.

import type { FieldPath } from "./doc-issues.js";
import { checkExportTo } from "./export-to-rules.js";
import { resolveShortName } from "./host-name.js";
import { checkDns1123Label, checkLabels, checkWildcardDomain } from "./name-rules.js";
import type { ConfigRef, ParsedDestinationRule, ParsedSubset } from "./parsed-config.js";
import type { SpecReader } from "./spec-reader.js";
import { parseTrafficPolicy } from "./traffic-policy.js";
import { parseWorkloadSelector } from "./workload-selector.js";

export function parseDestinationRule(r: SpecReader, spec: unknown, ref: ConfigRef, domainSuffix: string): ParsedDestinationRule | undefined {
  const p: FieldPath = ["spec"];
  if (spec === undefined || spec === null) {
    r.issues.error(p, "spec is required");
    return undefined;
  }
  const o = r.obj(spec, p, ["host", "trafficPolicy", "subsets", "exportTo", "workloadSelector"]);
  if (!o) return undefined;
  const host = r.str(o, "host", p);
  if (host === undefined || host === "") r.issues.error([...p, "host"], "host is required");
  else {
    const err = checkWildcardDomain(host);
    if (err) r.issues.error([...p, "host"], err);
  }
  const out: ParsedDestinationRule = {
    ref,
    host: host ? resolveShortName(host, ref.namespace, domainSuffix) : "",
    subsets: [],
    exportTo: r.strArr(o, "exportTo", p) ?? [],
  };
  if (o["trafficPolicy"] !== undefined && o["trafficPolicy"] !== null) {
    const tp = parseTrafficPolicy(r, o["trafficPolicy"], [...p, "trafficPolicy"]);
    if (tp) out.trafficPolicy = tp;
  }
  const names = new Set<string>();
  (r.arr(o, "subsets", p) ?? []).forEach((s, i) => {
    const sp = [...p, "subsets", i];
    if (s === null || s === undefined) {
      r.issues.error(sp, "subset may not be null");
      return;
    }
    const so = r.obj(s, sp, ["name", "labels", "trafficPolicy"]);
    if (!so) return;
    const name = r.str(so, "name", sp) ?? "";
    const err = name === "" ? "subset name cannot be empty" : checkDns1123Label(name, "subset name");
    if (err) r.issues.error([...sp, "name"], err);
    if (names.has(name)) r.issues.error([...sp, "name"], `duplicate subset names: ${name}`);
    names.add(name);
    const labels = r.strMap(so, "labels", sp) ?? {};
    for (const e of checkLabels(labels)) r.issues.error([...sp, "labels"], e);
    const subset: ParsedSubset = { name, labels };
    if (so["trafficPolicy"] !== undefined && so["trafficPolicy"] !== null) {
      const tp = parseTrafficPolicy(r, so["trafficPolicy"], [...sp, "trafficPolicy"]);
      if (tp) subset.trafficPolicy = tp;
    }
    out.subsets.push(subset);
  });
  const ws = parseWorkloadSelector(r, o["workloadSelector"], [...p, "workloadSelector"], "matchLabels");
  if (ws) {
    out.workloadSelector = ws;
    const others = out.exportTo.filter((e) => e !== "." && e !== ref.namespace);
    if (others.length > 0) r.issues.error([...p, "exportTo"], "destination rule with workload selector cannot have exportTo beyond current namespace");
  }
  checkExportTo(r, out.exportTo, ref.namespace, [...p, "exportTo"], false);
  return out;
}
