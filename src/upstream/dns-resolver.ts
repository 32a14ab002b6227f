// DnsResolver: how STRICT_DNS / LOGICAL_DNS clusters turn a name into addresses. Injected into the
// ClusterManager so tests resolve names without real DNS.

/** Addresses of `hostname` in the resolver's order; rejects when resolution fails. */
export type DnsResolver = (hostname: string) => Promise<string[]>;

/** getaddrinfo through Node (the system resolver, /etc/hosts included), every address family. */
export const systemDnsResolver: DnsResolver = async (hostname) => {
  // Loaded on first use: only DNS clusters need the resolver.
  const { lookup } = await import("node:dns/promises");
  const addrs = await lookup(hostname, { all: true });
  return addrs.map((a) => a.address);
};
