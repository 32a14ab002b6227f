// exportTo validation (istiod validateExportTo): duplicates, `*` alone, `~` alone (ServiceEntry only).

import type { FieldPath } from "./doc-issues.js";
import { checkDns1123Label } from "./name-rules.js";
import type { SpecReader } from "./spec-reader.js";

export function checkExportTo(r: SpecReader, exportTo: string[], namespace: string, p: FieldPath, isServiceEntry: boolean): void {
  const seen = new Set<string>();
  exportTo.forEach((e, i) => {
    const key = e === "." ? namespace : e;
    if (seen.has(key)) {
      r.issues.error([...p, i], key !== e ? `duplicate entries in exportTo: . and current namespace ${namespace}` : `duplicate entries in exportTo for entry ${e}`);
      return;
    }
    seen.add(key);
    if (e === "*" || e === "." || (e === "~" && isServiceEntry)) return;
    if (e === "~") {
      r.issues.error([...p, i], `exportTo "~" is only allowed on ServiceEntry`);
      return;
    }
    const err = checkDns1123Label(e, "exportTo namespace");
    if (err) r.issues.error([...p, i], err);
  });
  if (seen.has("*") && exportTo.length > 1) r.issues.error(p, "cannot have both public (*) and non-public exportTo values for a resource");
  if (seen.has("~") && exportTo.length > 1) r.issues.error(p, "cannot export service entry to no one (~) and someone");
}
