// ServiceEntry validation and parsing with istiod's rules (hosts, addresses, ports and their
// protocols, resolution, endpoints, workloadSelector, exportTo).

import type { FieldPath } from "./doc-issues.js";
import { checkExportTo } from "./export-to-rules.js";
import { checkDns1123Label, checkFqdn, checkIpSubnet, checkPort, checkWildcardDomain } from "./name-rules.js";
import type { ConfigRef, ParsedEndpoint, ParsedPort, ParsedServiceEntry, Resolution } from "./parsed-config.js";
import { isHttpProtocol, listenerProtocol, parseProtocol, serviceEntryPortProtocol } from "./protocol.js";
import type { SpecReader } from "./spec-reader.js";
import { parseEndpoint } from "./workload-entry.js";
import { parseWorkloadSelector } from "./workload-selector.js";

const RESOLUTIONS = ["NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN"] as const;

export function parseServiceEntry(r: SpecReader, spec: unknown, ref: ConfigRef): ParsedServiceEntry | undefined {
  const p: FieldPath = ["spec"];
  if (spec === undefined || spec === null) {
    r.issues.error(p, "spec is required");
    return undefined;
  }
  const o = r.obj(spec, p, ["hosts", "addresses", "ports", "location", "resolution", "endpoints", "workloadSelector", "exportTo", "subjectAltNames"]);
  if (!o) return undefined;

  const hosts = r.strArr(o, "hosts", p) ?? [];
  if (hosts.length === 0) r.issues.error([...p, "hosts"], "service entry must have at least one host");
  hosts.forEach((h, i) => {
    if (h === "*") r.issues.error([...p, "hosts", i], `invalid host ${h}`);
    else {
      const err = checkWildcardDomain(h);
      if (err) r.issues.error([...p, "hosts", i], err);
      else if (h.includes("*") && !h.startsWith("*.")) r.issues.warn([...p, "hosts", i], `partial wildcard "${h}" not allowed`);
    }
  });

  const addresses = r.strArr(o, "addresses", p) ?? [];
  let cidr = false;
  addresses.forEach((a, i) => {
    cidr ||= a.includes("/");
    const err = checkIpSubnet(a);
    if (err) r.issues.error([...p, "addresses", i], err);
  });

  const resolution: Resolution = r.enumOf(o, "resolution", p, RESOLUTIONS) ?? "NONE";
  const location = r.enumOf(o, "location", p, ["MESH_EXTERNAL", "MESH_INTERNAL"] as const) ?? "MESH_EXTERNAL";
  if (cidr && resolution !== "NONE" && resolution !== "STATIC") r.issues.error([...p, "addresses"], "CIDR addresses are allowed only for NONE/STATIC resolution types");

  const ports: ParsedPort[] = [];
  const portNames = new Set<string>();
  const portNumbers = new Set<number>();
  (r.arr(o, "ports", p) ?? []).forEach((pv, i) => {
    const pp = [...p, "ports", i];
    if (pv === null || pv === undefined) {
      r.issues.error(pp, "service entry port may not be null");
      return;
    }
    const po = r.obj(pv, pp, ["number", "protocol", "name", "targetPort"]);
    if (!po) return;
    const number = r.int(po, "number", pp);
    const name = r.str(po, "name", pp) ?? "";
    const protocol = r.str(po, "protocol", pp);
    const targetPort = r.int(po, "targetPort", pp);
    let ok = true;
    if (number === undefined || checkPort(number)) {
      r.issues.error([...pp, "number"], number === undefined ? "port number is required" : (checkPort(number) as string));
      ok = false;
    }
    const nerr = checkDns1123Label(name, "port name");
    if (nerr) r.issues.error([...pp, "name"], name === "" ? "port name is required" : nerr);
    if (portNames.has(name)) r.issues.error([...pp, "name"], `service entry port name "${name}" already defined`);
    if (number !== undefined && portNumbers.has(number)) r.issues.error([...pp, "number"], `service entry port ${number} already defined`);
    portNames.add(name);
    if (number !== undefined) portNumbers.add(number);
    if (protocol !== undefined && protocol !== "" && parseProtocol(protocol) === undefined) {
      r.issues.error([...pp, "protocol"], `unsupported protocol: ${protocol}`);
      ok = false;
    }
    if (targetPort !== undefined && targetPort !== 0) {
      const terr = checkPort(targetPort);
      if (terr) r.issues.error([...pp, "targetPort"], terr);
      if (resolution === "NONE") r.issues.warn([...pp, "targetPort"], "targetPort has no effect when resolution mode is NONE");
    }
    if (!ok || number === undefined) return;
    // istiod reads the protocol field only (an empty one is detected): the name is just a name.
    const port: ParsedPort = { number, protocol: serviceEntryPortProtocol(protocol), name };
    if (targetPort !== undefined && targetPort > 0) port.targetPort = targetPort;
    if (listenerProtocol(port.protocol) === "NONE") r.issues.warn(pp, `port ${number} (${port.protocol ?? ""}) is not routed: ${port.protocol ?? ""} is not supported`);
    ports.push(port);
  });

  const ws = parseWorkloadSelector(r, o["workloadSelector"], [...p, "workloadSelector"], "labels");
  const epList = r.arr(o, "endpoints", p);
  if (ws && epList) r.issues.error(p, "only one of WorkloadSelector or Endpoints is allowed in Service Entry");

  const endpoints: ParsedEndpoint[] = [];
  const epRules = { allowFqdn: resolution === "DNS" || resolution === "DNS_ROUND_ROBIN", servicePortNames: portNames };
  if (resolution === "NONE") {
    if (epList && epList.length > 0) r.issues.error([...p, "endpoints"], "no endpoints should be provided for resolution type none");
    if (ws) r.issues.warn([...p, "workloadSelector"], "workloadSelector should not be set when resolution mode is NONE");
  } else {
    (epList ?? []).forEach((e, i) => {
      const ep = parseEndpoint(r, e, [...p, "endpoints", i], epRules);
      if (ep) endpoints.push(ep);
    });
  }
  if (resolution === "DNS" || resolution === "DNS_ROUND_ROBIN") {
    if ((epList ?? []).length === 0) {
      hosts.forEach((h, i) => {
        if (checkFqdn(h)) r.issues.error([...p, "hosts", i], `hosts must be FQDN if no endpoints are provided for resolution mode ${resolution}`);
      });
    }
    if (resolution === "DNS_ROUND_ROBIN" && (epList ?? []).length > 1) r.issues.error([...p, "endpoints"], `there must only be 0 or 1 endpoint for resolution mode ${resolution}`);
    if (ws) r.issues.warn([...p, "workloadSelector"], `workloadSelector should not be set when resolution mode is ${resolution}`);
  }
  if (resolution !== "NONE" && hosts.length > 1 && ports.some((pt) => !isHttpProtocol(pt.protocol) && pt.protocol !== "HTTPS" && pt.protocol !== "TLS")) {
    r.issues.error([...p, "ports"], "multiple hosts provided with non-HTTP, non-TLS ports");
  }

  const exportTo = r.strArr(o, "exportTo", p) ?? [];
  checkExportTo(r, exportTo, ref.namespace, [...p, "exportTo"], true);
  const subjectAltNames = r.strArr(o, "subjectAltNames", p);

  const out: ParsedServiceEntry = {
    ref,
    hosts: hosts.map((h) => h.toLowerCase()),
    addresses,
    ports,
    location,
    resolution,
    endpoints,
    exportTo,
  };
  if (ws) out.workloadSelector = ws;
  if (subjectAltNames !== undefined && subjectAltNames.length > 0) out.subjectAltNames = subjectAltNames;
  return out;
}
