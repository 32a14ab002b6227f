// Sidecar validation and parsing (ingress, egress, workloadSelector, outboundTrafficPolicy), and
// the choice of which Sidecar applies to this proxy.

import type { FieldPath } from "./doc-issues.js";
import { isIpAddress } from "./host-name.js";
import { checkDns1123Label, checkIpAddress, checkPort, checkWildcardDomain } from "./name-rules.js";
import type { ConfigRef, ParsedSidecar, ParsedSidecarEgress, ParsedSidecarIngress, ParsedSidecarPort } from "./parsed-config.js";
import { parseProtocol } from "./protocol.js";
import type { Obj, SpecReader } from "./spec-reader.js";
import { labelsMatch, parseWorkloadSelector } from "./workload-selector.js";

/** Root namespace whose selector-less Sidecar is the mesh-wide default (meshConfig.rootNamespace). */
export const ROOT_NAMESPACE = "istio-system";

export function parseSidecar(r: SpecReader, spec: unknown, ref: ConfigRef): ParsedSidecar | undefined {
  const p: FieldPath = ["spec"];
  if (spec === undefined || spec === null) {
    r.issues.error(p, "sidecar: empty configuration provided");
    return undefined;
  }
  const o = r.obj(spec, p, ["workloadSelector", "ingress", "egress", "outboundTrafficPolicy", "inboundConnectionPool"]);
  if (!o) return undefined;
  const out: ParsedSidecar = { ref, ingress: [], egress: [] };
  const ws = parseWorkloadSelector(r, o["workloadSelector"], [...p, "workloadSelector"], "labels");
  if (ws) out.workloadSelector = ws;
  const ingress = r.arr(o, "ingress", p) ?? [];
  const egress = r.arr(o, "egress", p) ?? [];
  if (ingress.length === 0 && egress.length === 0 && o["outboundTrafficPolicy"] === undefined && o["inboundConnectionPool"] === undefined) {
    r.issues.error(p, "sidecar: empty configuration provided");
  }
  if (o["inboundConnectionPool"] !== undefined) r.issues.warn([...p, "inboundConnectionPool"], "inboundConnectionPool is not supported yet and is ignored");

  const ingressPorts = new Set<number>();
  ingress.forEach((iv, i) => {
    const ip = [...p, "ingress", i];
    if (iv === null || iv === undefined) {
      r.issues.error(ip, "sidecar: ingress may not be null");
      return;
    }
    const io = r.obj(iv, ip, ["port", "bind", "captureMode", "defaultEndpoint", "tls", "connectionPool"]);
    if (!io) return;
    if (io["port"] === undefined || io["port"] === null) {
      r.issues.error(ip, "sidecar: port is required for ingress listeners");
      return;
    }
    const port = parseSidecarPort(r, io["port"], [...ip, "port"]);
    const bind = r.str(io, "bind", ip) ?? "";
    if (bind !== "") {
      const err = checkIpAddress(bind);
      if (err) r.issues.error([...ip, "bind"], err);
    }
    const duplicate = port !== undefined && ingressPorts.has(port.number);
    if (duplicate) r.issues.error([...ip, "port"], "sidecar: ports on IP bound listeners must be unique");
    if (port) ingressPorts.add(port.number);
    for (const k of ["tls", "connectionPool", "captureMode"] as const) {
      if (io[k] !== undefined) r.issues.warn([...ip, k], `${k} is not supported yet and is ignored`);
    }
    const ing: ParsedSidecarIngress = { index: i, port: port ?? { number: 0, protocol: undefined, name: undefined }, bind: bind || "0.0.0.0" };
    const de = r.str(io, "defaultEndpoint", ip);
    if (de !== undefined && de !== "") {
      const parsed = parseDefaultEndpoint(r, de, [...ip, "defaultEndpoint"]);
      if (parsed) ing.defaultEndpoint = parsed;
    }
    if (port && !duplicate) out.ingress.push(ing);
  });

  const egressPorts = new Set<number>();
  let catchAll = false;
  egress.forEach((ev, i) => {
    const ep = [...p, "egress", i];
    if (ev === null || ev === undefined) {
      r.issues.error(ep, "egress listener may not be null");
      return;
    }
    const eo = r.obj(ev, ep, ["port", "bind", "captureMode", "hosts"]);
    if (!eo) return;
    const eg: ParsedSidecarEgress = { index: i, hosts: [] };
    if (eo["port"] === undefined || eo["port"] === null) {
      if (catchAll) {
        r.issues.error(ep, "sidecar: egress can have only one listener with empty port");
        return;
      }
      if (i !== egress.length - 1) r.issues.error(ep, "sidecar: the egress listener with empty port should be the last listener in the list");
      catchAll = true;
    } else {
      const port = parseSidecarPort(r, eo["port"], [...ep, "port"]);
      if (port) {
        if (egressPorts.has(port.number)) r.issues.error([...ep, "port"], "sidecar: ports on IP bound listeners must be unique");
        else eg.port = port;
        egressPorts.add(port.number);
      }
    }
    const bind = r.str(eo, "bind", ep);
    if (bind !== undefined && bind !== "") {
      if (bind.startsWith("unix://")) r.issues.error([...ep, "bind"], "unix domain socket listeners are not supported yet");
      else {
        const err = checkIpAddress(bind);
        if (err) r.issues.error([...ep, "bind"], err);
        else eg.bind = bind;
      }
    }
    if (eo["captureMode"] !== undefined) r.issues.warn([...ep, "captureMode"], "captureMode is not supported yet and is ignored");
    const hosts = r.strArr(eo, "hosts", ep) ?? [];
    if (hosts.length === 0) r.issues.error([...ep, "hosts"], "sidecar: egress listener must contain at least one host");
    hosts.forEach((h, j) => {
      const hp = [...ep, "hosts", j];
      const parts = h.split("/");
      if (parts.length !== 2) {
        r.issues.error(hp, `host "${h}" must be of form namespace/dnsName`);
        return;
      }
      const [hns, name] = parts as [string, string];
      if (hns === "") r.issues.error(hp, `namespace must be set in "${h}"`);
      else if (hns !== "*" && hns !== "." && hns !== "~") {
        const err = checkDns1123Label(hns, "namespace");
        if (err) r.issues.error(hp, err);
      }
      const herr = name === "" ? "host cannot be empty" : checkWildcardDomain(name);
      if (herr) r.issues.error(hp, herr);
      eg.hosts.push({ namespace: hns === "." ? ref.namespace : hns, host: name.toLowerCase() });
    });
    out.egress.push(eg);
  });

  const otp = r.obj(o["outboundTrafficPolicy"], [...p, "outboundTrafficPolicy"], ["mode", "egressProxy"]);
  if (otp) {
    const mode = r.enumOf(otp, "mode", [...p, "outboundTrafficPolicy"], ["REGISTRY_ONLY", "ALLOW_ANY"] as const) ?? "ALLOW_ANY";
    out.outboundTrafficPolicy = mode;
    if (otp["egressProxy"] !== undefined) {
      if (mode !== "ALLOW_ANY") r.issues.error([...p, "outboundTrafficPolicy", "egressProxy"], "sidecar: egress_proxy must be set only with ALLOW_ANY outbound_traffic_policy mode");
      else r.issues.warn([...p, "outboundTrafficPolicy", "egressProxy"], "egressProxy is not supported: unknown destinations go to PassthroughCluster (ALLOW_ANY)");
    }
  }
  return out;
}

function parseSidecarPort(r: SpecReader, v: unknown, p: FieldPath): ParsedSidecarPort | undefined {
  const o: Obj | undefined = r.obj(v, p, ["number", "protocol", "name", "targetPort"]);
  if (!o) return undefined;
  const number = r.int(o, "number", p);
  const protocol = r.str(o, "protocol", p);
  const name = r.str(o, "name", p);
  if (o["targetPort"] !== undefined) r.issues.error([...p, "targetPort"], "targetPort has no impact on Sidecars");
  if (name !== undefined && name !== "") {
    const err = checkDns1123Label(name, "port name");
    if (err) r.issues.error([...p, "name"], err);
  }
  if (protocol !== undefined && protocol !== "" && parseProtocol(protocol) === undefined) {
    r.issues.error([...p, "protocol"], `unsupported protocol: ${protocol}`);
  }
  if (number === undefined || number === 0) {
    r.issues.error([...p, "number"], "port number is required (unix domain socket listeners are not supported yet)");
    return undefined;
  }
  const err = checkPort(number);
  if (err) {
    r.issues.error([...p, "number"], err);
    return undefined;
  }
  return { number, protocol, name };
}

function parseDefaultEndpoint(r: SpecReader, de: string, p: FieldPath): { address: string; port: number } | undefined {
  if (de.startsWith("unix://")) {
    r.issues.error(p, "unix domain socket defaultEndpoint is not supported yet");
    return undefined;
  }
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(de);
  if (!m) {
    r.issues.error(p, `defaultEndpoint "${de}" must be of form 127.0.0.1:<port>, 0.0.0.0:<port>, [::1]:port, [::]:port`);
    return undefined;
  }
  const host = m[1] ?? m[2] ?? "";
  const port = Number(m[3]);
  if (host !== "" && !["127.0.0.1", "0.0.0.0", "::1", "::"].includes(host)) {
    r.issues.error(p, "sidecar: defaultEndpoint must be of form 127.0.0.1:<port>,0.0.0.0:<port>,[::1]:port,[::]:port,unix://filepath or unset");
    return undefined;
  }
  const perr = checkPort(port);
  if (perr) {
    r.issues.error(p, perr);
    return undefined;
  }
  // 0.0.0.0 / :: / empty mean "the proxy's own address": the app listens locally, so use loopback.
  const address = host === "::1" || host === "::" ? "::1" : "127.0.0.1";
  if (host !== "" && !isIpAddress(host)) return undefined;
  return { address, port };
}

/** Istio's Sidecar precedence: same namespace with matching selector > same namespace without > root namespace without. */
export function selectSidecar(sidecars: ParsedSidecar[], namespace: string, proxyLabels: Record<string, string>, rootNamespace: string = ROOT_NAMESPACE): ParsedSidecar | undefined {
  const inNs = sidecars.filter((s) => s.ref.namespace === namespace);
  const bySelector = inNs.find((s) => s.workloadSelector && labelsMatch(s.workloadSelector, proxyLabels));
  if (bySelector) return bySelector;
  const plain = inNs.find((s) => !s.workloadSelector);
  if (plain) return plain;
  return sidecars.find((s) => s.ref.namespace === rootNamespace && !s.workloadSelector);
}
