// Envoy's notion of an internal caller (Network::Utility::isInternalAddress): loopback, RFC 1918
// private IPv4, and IPv6 unique-local / loopback. Only such callers may steer the router with
// x-envoy-* request headers (timeouts), as Envoy allows for internal requests.

export function isInternalAddress(ip: string): boolean {
  let a = ip;
  if (a.startsWith("::ffff:")) a = a.slice(7);
  if (a.includes(".")) {
    const p = a.split(".").map(Number);
    if (p.length !== 4 || p.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) return false;
    const [x, y] = p as [number, number, number, number];
    return x === 10 || x === 127 || (x === 172 && y >= 16 && y <= 31) || (x === 192 && y === 168);
  }
  const l = a.toLowerCase();
  return l === "::1" || l.startsWith("fc") || l.startsWith("fd");
}
