// Istio host-name rules: short-name expansion relative to the config's namespace, wildcard
// matching, and the domain-suffix facts the route builder needs.

/** `reviews` in ns `shop` → `reviews.shop.svc.cluster.local`; names with dots and `*` kept (lower-cased). */
export function resolveShortName(host: string, namespace: string, domainSuffix: string): string {
  const h = host.toLowerCase();
  if (h === "*" || h.includes(".") || h.startsWith("*") || isIpAddress(h)) return h;
  return `${h}.${namespace}.svc.${domainSuffix}`;
}

/** Istio host.Name.Matches: exact, or `*.x` wildcards on either side covering the other. */
export function hostsMatch(a: string, b: string): boolean {
  if (a === b) return true;
  const aw = a.startsWith("*");
  const bw = b.startsWith("*");
  if (aw && bw) return a.length <= b.length ? b.endsWith(a.slice(1)) : a.endsWith(b.slice(1));
  if (aw) return b.endsWith(a.slice(1));
  if (bw) return a.endsWith(b.slice(1));
  return false;
}

/** Does wildcard-or-exact pattern `pattern` cover concrete-or-wildcard host `host`? (`*.a.com` covers `b.a.com`). */
export function hostCoveredBy(host: string, pattern: string): boolean {
  if (pattern === "*") return true;
  if (pattern === host) return true;
  if (pattern.startsWith("*")) {
    const suffix = pattern.slice(1);
    if (host.startsWith("*")) return host.slice(1).endsWith(suffix);
    return host.endsWith(suffix);
  }
  return false;
}

export function isIpAddress(s: string): boolean {
  return isIpv4(s) || isIpv6(s);
}

export function isIpv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

export function isIpv6(s: string): boolean {
  if (!s.includes(":")) return false;
  return /^[0-9a-fA-F:.]+$/.test(s) && (s.match(/::/g) ?? []).length <= 1;
}
