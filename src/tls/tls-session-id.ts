// The TLS session id of a connection, as Envoy's %DOWNSTREAM_TLS_SESSION_ID% /
// %UPSTREAM_TLS_SESSION_ID% print it (lower-case hex). Node has no getter for it, but
// TLSSocket.getSession() is OpenSSL's DER SSL_SESSION, whose fourth field is the id:
// SEQUENCE { version INTEGER, sslVersion INTEGER, cipher OCTET STRING, sessionId OCTET STRING, … }.

import type { TLSSocket } from "node:tls";

/** Lower-case hex session id; "" when the connection has no session (or an id of length 0). */
export function tlsSessionId(tls: TLSSocket): string {
  // undefined before a session exists, null once the socket is closed.
  const der = tls.getSession() as Buffer | null | undefined;
  return der == null ? "" : sessionIdOfDer(der);
}

const NODE_SESSION_MAGIC = Buffer.from("\0nodejs:tls:session:");

/**
 * Node 24's client sessions wrap the DER in a header: `\0nodejs:tls:session:<v>\0`, then a
 * 2-byte length and the server name. The DER starts after it.
 */
function derStart(buf: Buffer): number {
  if (buf.length < NODE_SESSION_MAGIC.length || buf.compare(NODE_SESSION_MAGIC, 0, NODE_SESSION_MAGIC.length, 0, NODE_SESSION_MAGIC.length) !== 0) return 0;
  const end = buf.indexOf(0, NODE_SESSION_MAGIC.length);
  if (end < 0 || end + 3 > buf.length) return -1;
  return end + 3 + buf.readUInt16BE(end + 1);
}

/** The session id field of a DER SSL_SESSION (optionally in Node's wrapper), hex; "" when the encoding is not the expected one. */
export function sessionIdOfDer(der: Buffer): string {
  let pos = derStart(der);
  if (pos < 0) return "";
  // Reads one TLV header at `pos`; returns [tag, content start, content length] or undefined.
  const header = (): [number, number, number] | undefined => {
    if (pos + 2 > der.length) return undefined;
    const tag = der[pos]!;
    let len = der[pos + 1]!;
    let start = pos + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 3 || start + n > der.length) return undefined;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
      start += n;
    }
    if (start + len > der.length) return undefined;
    return [tag, start, len];
  };
  const seq = header();
  if (seq === undefined || seq[0] !== 0x30) return "";
  pos = seq[1];
  const expected = [0x02, 0x02, 0x04, 0x04];
  for (let field = 0; field < expected.length; field++) {
    const h = header();
    if (h === undefined || h[0] !== expected[field]) return "";
    if (field === 3) return der.subarray(h[1], h[1] + h[2]).toString("hex");
    pos = h[1] + h[2];
  }
  return "";
}
