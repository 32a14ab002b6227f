// VirtualHostSelector: picks the virtual host for an authority with Envoy's precedence
// (RouteMatcher::findVirtualHost): exact domain > longest suffix wildcard ("*.foo.com",
// "*-bar.foo.com") > longest prefix wildcard ("foo.*") > "*". Case-insensitive; the authority is
// matched as sent, port included (Istio emits both "host" and "host:port" domains) — unless the
// route configuration sets ignore_port_in_host_matching: then the port is stripped first (istiod
// >= 1.28 writes portless domains with it).

import { asciiToLower } from "./ascii-case.js";

interface WildcardBucket<T> {
  /** Length of the fixed part ("*.foo.com" → ".foo.com" → 8). */
  length: number;
  byFixedPart: Map<string, T>;
}

export class VirtualHostSelector<T> {
  private readonly exact = new Map<string, T>();
  /** Longest first. */
  private readonly suffixes: WildcardBucket<T>[] = [];
  private readonly prefixes: WildcardBucket<T>[] = [];
  private defaultValue: T | undefined;
  private readonly seen = new Set<string>();

  /** `ignorePort`: Envoy's ignore_port_in_host_matching. */
  constructor(private readonly options: { ignorePort?: boolean } = {}) {}

  /**
   * Register `value` under `domain`. Throws on a duplicate domain (Envoy rejects the route
   * configuration: "Only unique values for domains are permitted") or a wildcard that is neither
   * leading nor trailing.
   */
  add(domain: string, value: T, where = "virtual host"): void {
    const d = asciiToLower(domain);
    if (this.seen.has(d)) {
      throw new Error(`${where}: duplicate domain ${JSON.stringify(domain)}: only unique values for domains are permitted`);
    }
    this.seen.add(d);
    if (d === "*") {
      this.defaultValue = value;
    } else if (d.startsWith("*")) {
      addWildcard(this.suffixes, d.slice(1), value);
    } else if (d.endsWith("*")) {
      addWildcard(this.prefixes, d.slice(0, -1), value);
    } else if (d.includes("*")) {
      throw new Error(`${where}: domain ${JSON.stringify(domain)}: a wildcard may only be leading or trailing`);
    } else {
      this.exact.set(d, value);
    }
  }

  select(authority: string): T | undefined {
    if (this.exact.size === 0 && this.suffixes.length === 0 && this.prefixes.length === 0) return this.defaultValue;
    const host = asciiToLower(this.options.ignorePort === true ? stripPort(authority) : authority);
    const hit = this.exact.get(host);
    if (hit !== undefined) return hit;
    const len = host.length;
    // ">" not ">=": "*.foo.com" must not match ".foo.com" (the wildcard needs at least one char).
    for (const b of this.suffixes) {
      if (b.length >= len) continue;
      const v = b.byFixedPart.get(host.slice(len - b.length));
      if (v !== undefined) return v;
    }
    for (const b of this.prefixes) {
      if (b.length >= len) continue;
      const v = b.byFixedPart.get(host.slice(0, b.length));
      if (v !== undefined) return v;
    }
    return this.defaultValue;
  }
}

function addWildcard<T>(buckets: WildcardBucket<T>[], fixed: string, value: T): void {
  let b = buckets.find((x) => x.length === fixed.length);
  if (b === undefined) {
    b = { length: fixed.length, byFixedPart: new Map() };
    buckets.push(b);
    buckets.sort((x, y) => y.length - x.length);
  }
  b.byFixedPart.set(fixed, value);
}

/**
 * Envoy's HeaderUtility::stripPortFromHost: drop a trailing `:port` (a number) after the host; an
 * IPv6 literal keeps its colons (`[::1]:80` → `[::1]`, `[::1]` unchanged).
 */
export function stripPort(authority: string): string {
  const colon = authority.lastIndexOf(":");
  if (colon < 0) return authority;
  const v6End = authority.lastIndexOf("]");
  if (v6End >= 0 && v6End > colon) return authority;
  const port = authority.slice(colon + 1);
  if (!/^\d{1,10}$/.test(port) || Number(port) > 4_294_967_295) return authority;
  return authority.slice(0, colon);
}
