// parseClientHello: what tls_inspector needs from the first bytes of a connection — is it TLS,
// and if so the ClientHello's SNI and ALPN — read straight from the TLS record layer (RFC 8446
// §5.1, §4.1.2; SNI RFC 6066 §3; ALPN RFC 7301). The ClientHello may span several records.

export type ClientHelloResult =
  /** More bytes are needed to decide. */
  | { kind: "more" }
  /** The bytes are not a TLS handshake: not TLS. */
  | { kind: "not-tls" }
  /** A TLS handshake whose ClientHello is malformed. */
  | { kind: "invalid" }
  | { kind: "hello"; serverName: string; alpn: string[] };

const MORE: ClientHelloResult = Object.freeze({ kind: "more" });
const NOT_TLS: ClientHelloResult = Object.freeze({ kind: "not-tls" });
const INVALID: ClientHelloResult = Object.freeze({ kind: "invalid" });

const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;

export function parseClientHello(buf: Buffer): ClientHelloResult {
  // Record layer: type 22, legacy version 3.x, length ≤ 2^14 + 2048.
  if (buf.length >= 1 && buf[0] !== HANDSHAKE) return NOT_TLS;
  if (buf.length >= 2 && buf[1] !== 3) return NOT_TLS;
  // Gather handshake bytes across records until the ClientHello is whole.
  const parts: Buffer[] = [];
  let have = 0;
  let need = -1;
  let off = 0;
  while (need < 0 || have < need) {
    if (buf.length < off + 5) return MORE;
    if (buf[off] !== HANDSHAKE || buf[off + 1] !== 3) return off === 0 ? NOT_TLS : INVALID;
    const len = buf.readUInt16BE(off + 3);
    if (len === 0 || len > 18_432) return off === 0 ? NOT_TLS : INVALID;
    const end = Math.min(buf.length, off + 5 + len);
    parts.push(buf.subarray(off + 5, end));
    have += end - off - 5;
    if (need < 0 && have >= 4) {
      const hs = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      if (hs[0] !== CLIENT_HELLO) return off === 0 ? NOT_TLS : INVALID;
      need = 4 + hs.readUIntBE(1, 3);
    }
    if (end < off + 5 + len) {
      if (need >= 0 && have >= need) break;
      return MORE;
    }
    off = end;
  }
  const hs = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  return parseHello(hs.subarray(4, need));
}

function parseHello(b: Buffer): ClientHelloResult {
  try {
    let p = 2 + 32; // legacy_version, random
    p += 1 + b[p]!; // session id
    p += 2 + b.readUInt16BE(p); // cipher suites
    p += 1 + b[p]!; // compression methods
    let serverName = "";
    let alpn: string[] = [];
    if (p === b.length) return { kind: "hello", serverName, alpn };
    const extEnd = p + 2 + b.readUInt16BE(p);
    if (extEnd > b.length) return INVALID;
    p += 2;
    while (p + 4 <= extEnd) {
      const type = b.readUInt16BE(p);
      const len = b.readUInt16BE(p + 2);
      const body = p + 4;
      if (body + len > extEnd) return INVALID;
      if (type === EXT_SERVER_NAME) serverName = readServerName(b.subarray(body, body + len));
      else if (type === EXT_ALPN) alpn = readAlpn(b.subarray(body, body + len));
      p = body + len;
    }
    return { kind: "hello", serverName, alpn };
  } catch {
    return INVALID; // a length ran past the end
  }
}

/** server_name_list: the first host_name entry (type 0), lower-cased as Envoy matches it. */
function readServerName(b: Buffer): string {
  let p = 2;
  const end = Math.min(b.length, 2 + b.readUInt16BE(0));
  while (p + 3 <= end) {
    const type = b[p]!;
    const len = b.readUInt16BE(p + 1);
    if (type === 0) return b.toString("latin1", p + 3, Math.min(end, p + 3 + len)).toLowerCase();
    p += 3 + len;
  }
  return "";
}

function readAlpn(b: Buffer): string[] {
  const out: string[] = [];
  let p = 2;
  const end = Math.min(b.length, 2 + b.readUInt16BE(0));
  while (p < end) {
    const len = b[p]!;
    if (p + 1 + len > end) break;
    out.push(b.toString("latin1", p + 1, p + 1 + len));
    p += 1 + len;
  }
  return out;
}
