// Istio's syntactic rules for names, hosts, labels, ports and header names. Each returns an error
// message or undefined, so callers attach it to the right field path.

import { isIpAddress, isIpv4 } from "./host-name.js";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// Istio's host label check is case-insensitive (dns1123LabelFmt with A-Z).
const HOST_LABEL = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const HEADER_NAME = /^[-_A-Za-z0-9]+$/;
const LABEL_KEY = /^([a-zA-Z0-9]([-a-zA-Z0-9.]*[a-zA-Z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export function checkDns1123Label(s: string, what: string): string | undefined {
  if (s.length === 0) return `${what} cannot be empty`;
  if (s.length > 63 || !DNS1123_LABEL.test(s)) return `${what} "${s}" is invalid: must be a DNS-1123 label (lower-case alphanumerics and '-', at most 63 chars)`;
  return undefined;
}

/** agent.ValidateFQDN: dot-separated DNS labels (a trailing dot allowed). */
export function checkFqdn(s: string): string | undefined {
  const h = s.endsWith(".") ? s.slice(0, -1) : s;
  if (h.length === 0) return "domain name cannot be empty";
  if (h.length > 255) return `domain name "${s}" too long (max 255)`;
  for (const label of h.split(".")) {
    if (label.length > 63 || !HOST_LABEL.test(label)) return `domain name "${s}" invalid (label "${label}")`;
  }
  return undefined;
}

/** agent.ValidateWildcardDomain: `*`, `*.example.com`, or an FQDN/short name. */
export function checkWildcardDomain(s: string): string | undefined {
  if (s.length === 0) return "host cannot be empty";
  if (s.length > 255) return `host "${s}" too long (max 255)`;
  if (s === "*") return undefined;
  let rest = s;
  if (s.startsWith("*.")) rest = s.slice(2);
  else if (s.startsWith("*")) rest = s.slice(1);
  if (rest.length === 0) return `host "${s}" invalid`;
  const err = checkFqdn(rest);
  return err ? `host "${s}" invalid: ${err}` : undefined;
}

export function checkPort(n: number): string | undefined {
  if (!Number.isInteger(n) || n < 1 || n > 65535) return `port number ${n} must be in the range 1..65535`;
  return undefined;
}

export function checkIpAddress(s: string): string | undefined {
  return isIpAddress(s) ? undefined : `"${s}" is not a valid IP address`;
}

/** agent.ValidateIPSubnet: an IP or CIDR. */
export function checkIpSubnet(s: string): string | undefined {
  const [ip, bits, extra] = s.split("/");
  if (extra !== undefined || ip === undefined || !isIpAddress(ip)) return `"${s}" is not a valid IP address or CIDR`;
  if (bits !== undefined) {
    const max = isIpv4(ip) ? 32 : 128;
    if (!/^\d+$/.test(bits) || Number(bits) > max) return `"${s}" has an invalid prefix length`;
  }
  return undefined;
}

/** Header names in matches: Istio's `^[-_A-Za-z0-9]+$`, and lower-case as Envoy matches lower-cased names. */
export function checkMatchHeaderName(name: string): string | undefined {
  if (name === "") return "header name cannot be empty";
  if (!HEADER_NAME.test(name)) return `header name "${name}" is not a valid header name`;
  if (name !== name.toLowerCase()) return `header name "${name}" must be lower-case`;
  return undefined;
}

/** labels.Instance.Validate: Kubernetes qualified keys and label values. */
export function checkLabels(labels: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(labels)) {
    if (k.length === 0 || k.length > 317 || !LABEL_KEY.test(k)) out.push(`invalid label key "${k}"`);
    if (v.length > 63 || !LABEL_VALUE.test(v)) out.push(`invalid label value "${v}" for key "${k}"`);
  }
  return out;
}
