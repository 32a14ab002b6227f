// Address rendering as Envoy prints addresses in access logs: `ip:port`, IPv6 in brackets
// (`[::1]:8080`), `_WITHOUT_PORT` as the bare IP, `_PORT` as a number. StreamInfo keeps addresses
// as `ip:port` strings; "" means unknown.

/** `ip:port` with IPv6 bracketed; undefined for an unknown address. */
export function withPort(addr: string | undefined): string | undefined {
  if (addr === undefined || addr === "") return undefined;
  const i = addr.lastIndexOf(":");
  if (i === -1 || addr[0] === "[") return addr;
  // More than one colon: an unbracketed IPv6 address with its port.
  if (addr.indexOf(":") !== i) return `[${addr.slice(0, i)}]${addr.slice(i)}`;
  return addr;
}

/** The IP alone (no brackets); undefined for an unknown address. */
export function withoutPort(addr: string | undefined): string | undefined {
  if (addr === undefined || addr === "") return undefined;
  const i = addr.lastIndexOf(":");
  if (i === -1) return addr;
  const ip = addr.slice(0, i);
  return ip[0] === "[" ? ip.slice(1, -1) : ip;
}

/** The port as a number; undefined when unknown. */
export function justPort(addr: string | undefined): number | undefined {
  if (addr === undefined || addr === "") return undefined;
  const i = addr.lastIndexOf(":");
  if (i === -1) return undefined;
  const p = Number(addr.slice(i + 1));
  return Number.isInteger(p) ? p : undefined;
}
