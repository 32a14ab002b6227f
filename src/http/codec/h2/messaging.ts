// HTTP/2 message checks on received header blocks (RFC 9113 §8), the ones nghttp2 enforces for
// Envoy and Node: lower-case token names, field values without NUL/CR/LF/CTL or surrounding
// whitespace, pseudo-headers first, known, once each, and of the right kind (request or
// response), no connection-specific headers, `te` only `trailers`, one valid content-length.
// A block that fails is a malformed message: the session resets the stream (PROTOCOL_ERROR).

import { FIELD_VCHAR, TCHAR } from "../char-tables.js";
import { CONNECTION_SPECIFIC_HEADERS } from "../http2-header-block.js";

/** Lower-case token characters (header names; upper case is malformed in HTTP/2). */
const NAME_CHAR = new Uint8Array(256);
for (let c = 0; c < 256; c++) NAME_CHAR[c] = TCHAR[c] === 1 && !(c >= 65 && c <= 90) ? 1 : 0;

/** `:authority` characters (RFC 3986 authority: userinfo, host incl. IP literals, port). */
const AUTHORITY_CHAR = new Uint8Array(256);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,;=:@[]") AUTHORITY_CHAR[c.charCodeAt(0)] = 1;

/** `:scheme` characters after the first (ALPHA / DIGIT / "+" / "-" / "."). */
const SCHEME_CHAR = new Uint8Array(256);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.") SCHEME_CHAR[c.charCodeAt(0)] = 1;

/** `:path` characters: any visible byte (no CTL, no space, no DEL). */
function validPath(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c <= 32 || c === 127 || c > 255) return false;
  }
  return true;
}

function validName(n: string, from: number): boolean {
  if (n.length <= from) return false;
  for (let i = from; i < n.length; i++) {
    const c = n.charCodeAt(i);
    if (c > 255 || NAME_CHAR[c] === 0) return false;
  }
  return true;
}

function validValue(v: string): boolean {
  const n = v.length;
  if (n === 0) return true;
  // RFC 9113 §8.2.1: no leading or trailing SP / HTAB.
  const a = v.charCodeAt(0);
  const z = v.charCodeAt(n - 1);
  if (a === 32 || a === 9 || z === 32 || z === 9) return false;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c > 255 || FIELD_VCHAR[c] === 0) return false;
  }
  return true;
}

function validCharset(v: string, table: Uint8Array): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c > 255 || table[c] === 0) return false;
  }
  return true;
}

/** A regular (non-pseudo) field: valid name and value, not connection-specific, `te` only `trailers`. */
function regularField(name: string, value: string): boolean {
  if (!validName(name, 0) || !validValue(value)) return false;
  const len = name.length;
  if (len >= 2 && len <= 17 && CONNECTION_SPECIFIC_HEADERS.has(name)) return false;
  if (name === "te" && value !== "trailers") return false;
  return true;
}

const P_METHOD = 1;
const P_SCHEME = 2;
const P_AUTHORITY = 4;
const P_PATH = 8;

/** A request header block (server role) is well-formed. */
export function checkRequestBlock(raw: readonly string[], _endStream: boolean): boolean {
  let seen = 0;
  let regular = false;
  let method = "";
  let path = "";
  let scheme = "";
  let host = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 58 /* : */) {
      if (regular) return false;
      let bit: number;
      if (name === ":method") {
        bit = P_METHOD;
        if (!validCharset(value, TCHAR) || value.length === 0) return false;
        method = value;
      } else if (name === ":path") {
        bit = P_PATH;
        if (value.length === 0 || !validPath(value)) return false;
        path = value;
      } else if (name === ":scheme") {
        bit = P_SCHEME;
        const c = value.charCodeAt(0);
        if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) || !validCharset(value, SCHEME_CHAR)) return false;
        scheme = value;
      } else if (name === ":authority") {
        bit = P_AUTHORITY;
        if (!validCharset(value, AUTHORITY_CHAR)) return false;
      } else return false; // :status in a request, :protocol (extended CONNECT is not enabled), unknown
      if ((seen & bit) !== 0) return false;
      seen |= bit;
      continue;
    }
    regular = true;
    if (!regularField(name, value)) return false;
    if (name === "host") host = true;
  }
  if ((seen & P_METHOD) === 0) return false;
  if (method === "CONNECT") {
    // RFC 9113 §8.5: :authority only.
    return (seen & (P_SCHEME | P_PATH)) === 0 && (seen & P_AUTHORITY) !== 0;
  }
  if ((seen & (P_SCHEME | P_PATH)) !== (P_SCHEME | P_PATH)) return false;
  if ((seen & P_AUTHORITY) === 0 && !host) return false;
  if (scheme === "http" || scheme === "https") {
    if (path === "*") return method === "OPTIONS";
    if (path.charCodeAt(0) !== 47 /* / */) return false;
  }
  return true;
}

/** A response header block (client role): its `:status` (100-599, not 101), or -1 when malformed. */
export function checkResponseBlock(raw: readonly string[]): number {
  let status = -1;
  let regular = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 58 /* : */) {
      if (regular || name !== ":status" || status !== -1) return -1;
      if (value.length !== 3) return -1;
      let v = 0;
      for (let k = 0; k < 3; k++) {
        const c = value.charCodeAt(k) - 48;
        if (c < 0 || c > 9) return -1;
        v = v * 10 + c;
      }
      if (v < 100 || v > 599 || v === 101) return -1;
      status = v;
      continue;
    }
    regular = true;
    if (!regularField(name, value)) return -1;
  }
  return status;
}

/** A trailer block: regular fields only. */
export function checkTrailerBlock(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 58 || !regularField(name, raw[i + 1]!)) return false;
  }
  return true;
}

/** The block's content-length: -1 none, -2 malformed (not digits, or more than one). */
export function contentLengthOf(raw: readonly string[]): number {
  let cl = -1;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i] !== "content-length") continue;
    if (cl !== -1) return -2;
    const v = raw[i + 1]!;
    if (v.length === 0 || v.length > 15) return -2;
    let n = 0;
    for (let k = 0; k < v.length; k++) {
      const c = v.charCodeAt(k) - 48;
      if (c < 0 || c > 9) return -2;
      n = n * 10 + c;
    }
    cl = n;
  }
  return cl;
}
