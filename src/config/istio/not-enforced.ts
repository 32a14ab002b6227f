// Fields that parse and validate today but that the data path does not act on yet. Each one
// present in a config gets a warning, so nobody believes a setting is in force when it is not.
// Remove an entry in the same change that makes the data path honour it.

import type { FieldPath } from "./doc-issues.js";
import type { SpecReader } from "./spec-reader.js";

type Obj = Record<string, unknown>;

const present = (o: Obj | undefined, k: string): boolean => o !== undefined && o[k] !== undefined && o[k] !== null;
const asObj = (v: unknown): Obj | undefined => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);

/** DestinationRule trafficPolicy fields that are validated but not enforced yet. */
export function warnTrafficPolicyNotEnforced(r: SpecReader, policy: Obj, p: FieldPath): void {
  const lb = asObj(policy["loadBalancer"]);
  if (lb?.["simple"] === "PASSTHROUGH") r.issues.warn([...p, "loadBalancer", "simple"], "PASSTHROUGH needs original-destination capture, which is not supported yet: requests get 503 UH");
  const cp = asObj(policy["connectionPool"]);
  const tcp = asObj(cp?.["tcp"]);
  const ka = asObj(tcp?.["tcpKeepalive"]);
  for (const k of ["probes", "interval"]) {
    if (present(ka, k)) r.issues.warn([...p, "connectionPool", "tcp", "tcpKeepalive", k], `tcpKeepalive.${k} stays at the OS default (Node sets only the keep-alive time)`);
  }
}
