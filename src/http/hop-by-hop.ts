// Hop-by-hop header handling (RFC 9110 §7.6.1): these never cross the proxy as-is.

import { asciiLower, splitList } from "./codec/char-tables.js";
import type { HeaderList } from "./header-list.js";

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "proxy-authenticate"]);
/**
 * Lengths of the hop-by-hop names: most headers are ruled out by their length without hashing
 * the name (every request's header names are fresh strings, hashed anew by a Set lookup).
 */
const HOP_BY_HOP_LENGTH = new Uint8Array(32);
for (const n of HOP_BY_HOP) HOP_BY_HOP_LENGTH[n.length] = 1;

/**
 * Headers a Connection token may never remove: the framing was decided from them before
 * hop-by-hop processing, so dropping Content-Length ("Connection: content-length") would leave the
 * body without a boundary on the next hop — a second request smuggled to the app, or a response
 * whose end the client cannot find. Host identifies the request. Transfer-Encoding is removed
 * anyway and re-emitted canonically by the caller.
 */
const NOT_NOMINABLE = new Set(["content-length", "host", "close", "keep-alive", "upgrade", ""]);

export interface ConnectionTokens {
  close: boolean;
  keepAlive: boolean;
  upgrade: boolean;
}

/** Most messages have no Connection header: one shared answer, nothing allocated. */
const NO_TOKENS: Readonly<ConnectionTokens> = Object.freeze({ close: false, keepAlive: false, upgrade: false });

/** Reads the Connection header's tokens (case-insensitive; OWS is SP/HTAB only). */
export function connectionTokens(headers: HeaderList): Readonly<ConnectionTokens> {
  const v = headers.getJoined("connection");
  if (v === undefined) return NO_TOKENS;
  let close = false;
  let keepAlive = false;
  let upgrade = false;
  for (const token of splitList(v)) {
    const t = asciiLower(token);
    if (t === "close") close = true;
    else if (t === "keep-alive") keepAlive = true;
    else if (t === "upgrade") upgrade = true;
  }
  return { close, keepAlive, upgrade };
}

/**
 * Removes hop-by-hop headers and every header the Connection header names (except those framing
 * and routing depend on, see NOT_NOMINABLE).
 * `keepUpgrade` keeps `upgrade` (and a Connection: upgrade is re-added by the caller).
 * `te: trailers` survives, as Envoy forwards it.
 */
export function stripHopByHop(headers: HeaderList, keepUpgrade: boolean): void {
  const conn = headers.getJoined("connection");
  if (conn !== undefined) {
    for (const token of splitList(conn)) {
      const name = asciiLower(token);
      if (!NOT_NOMINABLE.has(name)) headers.remove(name);
    }
  }
  for (let i = headers.lower.length - 1; i >= 0; i--) {
    const n = headers.lower[i]!;
    if (n.length >= 32 || HOP_BY_HOP_LENGTH[n.length] === 0 || !HOP_BY_HOP.has(n)) continue;
    if (n === "upgrade" && keepUpgrade) continue;
    if (n === "te" && asciiLower(headers.values[i]!) === "trailers") continue;
    headers.removeAt(i);
  }
}
