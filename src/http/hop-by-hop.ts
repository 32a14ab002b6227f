// Hop-by-hop header handling (RFC 9110 §7.6.1): these never cross the proxy as-is.

import type { HeaderList } from "./header-list.js";

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "proxy-authenticate"]);

export interface ConnectionTokens {
  close: boolean;
  keepAlive: boolean;
  upgrade: boolean;
}

/** Reads the Connection header's tokens (case-insensitive). */
export function connectionTokens(headers: HeaderList): ConnectionTokens {
  const v = headers.getJoined("connection");
  if (v === undefined) return { close: false, keepAlive: false, upgrade: false };
  let close = false;
  let keepAlive = false;
  let upgrade = false;
  for (const token of v.split(",")) {
    const t = token.trim().toLowerCase();
    if (t === "close") close = true;
    else if (t === "keep-alive") keepAlive = true;
    else if (t === "upgrade") upgrade = true;
  }
  return { close, keepAlive, upgrade };
}

/**
 * Removes hop-by-hop headers and every header the Connection header names.
 * `keepUpgrade` keeps `upgrade` (and a Connection: upgrade is re-added by the caller).
 * `te: trailers` survives, as Envoy forwards it.
 */
export function stripHopByHop(headers: HeaderList, keepUpgrade: boolean): void {
  const conn = headers.getJoined("connection");
  if (conn !== undefined) {
    for (const token of conn.split(",")) {
      const name = token.trim().toLowerCase();
      if (name !== "" && name !== "close" && name !== "keep-alive" && name !== "upgrade") headers.remove(name);
    }
  }
  for (let i = headers.lower.length - 1; i >= 0; i--) {
    const n = headers.lower[i]!;
    if (!HOP_BY_HOP.has(n)) continue;
    if (n === "upgrade" && keepUpgrade) continue;
    if (n === "te" && headers.values[i]!.trim().toLowerCase() === "trailers") continue;
    headers.removeAt(i);
  }
}
