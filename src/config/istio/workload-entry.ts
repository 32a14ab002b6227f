// WorkloadEntry (also the shape of ServiceEntry endpoints): address, ports by name, labels,
// locality, weight, network.

import type { FieldPath } from "./doc-issues.js";
import { isIpAddress } from "./host-name.js";
import { checkDns1123Label, checkFqdn, checkLabels, checkPort } from "./name-rules.js";
import type { ConfigRef, ParsedEndpoint, ParsedWorkloadEntry } from "./parsed-config.js";
import type { SpecReader } from "./spec-reader.js";

export const WORKLOAD_ENTRY_FIELDS = ["address", "ports", "labels", "network", "locality", "weight", "serviceAccount"] as const;

export interface EndpointRules {
  /** Hostnames allowed (DNS resolution); STATIC requires IPs. */
  allowFqdn: boolean;
  /** Service port names the `ports` map may reference (ServiceEntry endpoints). */
  servicePortNames?: ReadonlySet<string>;
}

export function parseEndpoint(r: SpecReader, v: unknown, p: FieldPath, rules: EndpointRules): ParsedEndpoint | undefined {
  const o = r.obj(v, p, WORKLOAD_ENTRY_FIELDS);
  if (v === null || v === undefined) {
    r.issues.error(p, "endpoint cannot be nil");
    return undefined;
  }
  if (!o) return undefined;
  let ok = true;
  const address = r.str(o, "address", p) ?? "";
  const network = r.str(o, "network", p);
  if (address === "") {
    if (!network) {
      r.issues.error([...p, "address"], "address is required");
      ok = false;
    } else r.issues.warn([...p, "address"], `address is unset with network "${network}"`);
  } else if (address.startsWith("unix://")) {
    r.issues.warn([...p, "address"], "unix domain socket endpoints are not supported yet; endpoint ignored");
    ok = false;
  } else if (!isIpAddress(address)) {
    if (!rules.allowFqdn) {
      r.issues.error([...p, "address"], `endpoint address "${address}" is not a valid IP address`);
      ok = false;
    } else if (checkFqdn(address)) {
      r.issues.error([...p, "address"], `endpoint address "${address}" is not a valid FQDN or an IP address`);
      ok = false;
    }
  }
  const ports: Record<string, number> = {};
  const po = o["ports"];
  if (po !== undefined && po !== null) {
    if (typeof po !== "object" || Array.isArray(po)) r.issues.error([...p, "ports"], "must be a map of port name to number");
    else {
      for (const [name, n] of Object.entries(po as Record<string, unknown>)) {
        const pp = [...p, "ports", name];
        if (rules.servicePortNames && !rules.servicePortNames.has(name)) r.issues.error(pp, `endpoint port ${String(n)} is not defined by the service entry`);
        const nerr = checkDns1123Label(name, "port name");
        if (nerr) r.issues.error(pp, nerr);
        if (typeof n !== "number" || checkPort(n)) r.issues.error(pp, `port number ${String(n)} must be in the range 1..65535`);
        else ports[name] = n;
      }
    }
  }
  const labels = r.strMap(o, "labels", p) ?? {};
  for (const e of checkLabels(labels)) r.issues.error([...p, "labels"], e);
  const locality = r.str(o, "locality", p);
  if (locality !== undefined && locality.split("/").length > 3) r.issues.error([...p, "locality"], `locality "${locality}" must be region/zone/subzone`);
  const weight = r.int(o, "weight", p, { min: 0 });
  const serviceAccount = r.str(o, "serviceAccount", p);
  if (!ok) return undefined;
  const out: ParsedEndpoint = { address, ports, labels, weight: weight !== undefined && weight > 0 ? weight : 1 };
  if (serviceAccount !== undefined && serviceAccount !== "") out.serviceAccount = serviceAccount;
  if (locality) out.locality = locality;
  if (network) out.network = network;
  return out;
}

export function parseWorkloadEntry(r: SpecReader, spec: unknown, ref: ConfigRef): ParsedWorkloadEntry | undefined {
  if (spec === undefined || spec === null) {
    r.issues.error(["spec"], "spec is required");
    return undefined;
  }
  const ep = parseEndpoint(r, spec, ["spec"], { allowFqdn: true });
  return ep ? { ref, endpoint: ep } : undefined;
}
