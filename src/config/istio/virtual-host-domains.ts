// The Host/:authority forms a virtual host answers to, as istiod's generateVirtualHostDomains and
// generateAltVirtualHosts produce them (port-qualified forms included), lower-cased.

export interface DomainOptions {
  proxyNamespace: string;
  domainSuffix: string;
  /** Add the `host:port` forms. */
  withPort: boolean;
  /** Add the bare `host` forms. */
  withoutPort: boolean;
}

/**
 * For `reviews.shop.svc.cluster.local` port 9080 seen from namespace `shop`: the FQDN, `reviews`,
 * `reviews.shop`, `reviews.shop.svc` (each with and without `:9080`); from another namespace the
 * bare `reviews` forms are left out. Non-cluster hosts get only `host` and `host:port`; VIPs add `ip`, `ip:port`.
 */
export function serviceDomains(hostname: string, addresses: readonly string[], port: number, o: DomainOptions): string[] {
  const out: string[] = [];
  const add = (name: string): void => {
    const n = name.toLowerCase();
    if (o.withoutPort) out.push(n);
    if (o.withPort) out.push(`${n.includes(":") ? `[${n}]` : n}:${port}`);
  };
  add(hostname);
  const kubeSuffix = `.svc.${o.domainSuffix}`;
  if (hostname.endsWith(kubeSuffix)) {
    const short = hostname.slice(0, -kubeSuffix.length); // name.ns
    const dot = short.indexOf(".");
    if (dot > 0 && dot < short.length - 1 && !short.slice(dot + 1).includes(".")) {
      const name = short.slice(0, dot);
      const ns = short.slice(dot + 1);
      if (ns === o.proxyNamespace) add(name);
      add(short);
      add(`${short}.svc`);
    }
  }
  for (const a of addresses) {
    if (a !== "" && a !== "0.0.0.0" && !a.includes("/")) add(a);
  }
  return out;
}

/** Domains for a VirtualService host with no service behind it: `host` and `host:port`. */
export function plainDomains(host: string, port: number, o: Pick<DomainOptions, "withPort" | "withoutPort">): string[] {
  const out: string[] = [];
  if (o.withoutPort) out.push(host.toLowerCase());
  if (o.withPort) out.push(`${host.toLowerCase()}:${port}`);
  return out;
}
