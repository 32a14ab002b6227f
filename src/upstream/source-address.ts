// Which local address an upstream connection binds (Envoy BindConfig): source_address, unless the
// host is of the other IP family and extra_source_addresses has one of that family — a socket
// cannot bind an IPv4 address and connect to an IPv6 host (istiod's dual-stack inbound clusters:
// 127.0.0.6 with extra ::6).

import { isIP } from "node:net";

/** The source address for connections to `host`; undefined = let the kernel choose. Computed once per host pool. */
export function sourceAddressFor(source: string | undefined, extra: readonly string[] | undefined, host: string): string | undefined {
  if (source === undefined || extra === undefined || extra.length === 0) return source;
  const family = isIP(host);
  if (family === 0 || isIP(source) === family) return source;
  // Envoy: the first extra address of the host's family, else source_address (the connect then fails).
  return extra.find((a) => isIP(a) === family) ?? source;
}
