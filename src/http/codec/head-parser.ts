// HTTP/1.x message-head parsing (request and response lines plus header fields), strict per
// RFC 9112: no obs-fold, no whitespace before the colon, tokens checked. Works on a Buffer window
// and never copies the body.

import { HeaderList } from "../header-list.js";

export interface RequestHead {
  method: string;
  /** Request target as sent (origin-form "/a?b", absolute-form "http://h/a", or "*"). */
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  versionMinor: number;
  headers: HeaderList;
}

export interface ResponseHead {
  status: number;
  reason: string;
  versionMinor: number;
  headers: HeaderList;
}

export const enum HeadErrorKind {
  Malformed = 1,
  TooLarge = 2,
  TooManyHeaders = 3,
  /** The bytes look like an HTTP/2 connection preface. */
  Http2Preface = 4,
}

export class HeadError extends Error {
  constructor(
    readonly kind: HeadErrorKind,
    message: string,
  ) {
    super(message);
  }
}

const CRLFCRLF = Buffer.from("\r\n\r\n");

// RFC 9110 tchar: ALPHA / DIGIT / "!#$%&'*+-.^_`|~"
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;

function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || TCHAR[c] === 0) return false;
  }
  return true;
}

/**
 * Finds the end of a message head starting at `start`.
 * Returns the index just past the blank line, or -1 when more bytes are needed.
 * Throws HeadError(TooLarge) when `maxBytes` are buffered without a complete head.
 */
export function findHeadEnd(buf: Buffer, start: number, maxBytes: number): number {
  const i = buf.indexOf(CRLFCRLF, start);
  if (i === -1) {
    if (buf.length - start > maxBytes) throw new HeadError(HeadErrorKind.TooLarge, "headers too large");
    return -1;
  }
  if (i + 4 - start > maxBytes) throw new HeadError(HeadErrorKind.TooLarge, "headers too large");
  return i + 4;
}

/** Parses header lines of `text` beginning at `pos` (just after the start line's CRLF). */
function parseFields(text: string, pos: number, maxHeaders: number): HeaderList {
  const names: string[] = [];
  const lower: string[] = [];
  const values: string[] = [];
  const end = text.length - 2; // text ends with the blank line's CRLF
  while (pos < end) {
    let eol = text.indexOf("\r\n", pos);
    if (eol === -1 || eol > end) eol = end;
    const colon = text.indexOf(":", pos);
    if (colon === -1 || colon > eol) {
      throw new HeadError(HeadErrorKind.Malformed, "header line without a colon");
    }
    const name = text.slice(pos, colon);
    if (!isToken(name)) {
      // Covers obs-fold (leading whitespace) and whitespace before the colon (RFC 9112 §5.1).
      throw new HeadError(HeadErrorKind.Malformed, "invalid header name");
    }
    let vs = colon + 1;
    let ve = eol;
    while (vs < ve && (text.charCodeAt(vs) === 32 || text.charCodeAt(vs) === 9)) vs++;
    while (ve > vs && (text.charCodeAt(ve - 1) === 32 || text.charCodeAt(ve - 1) === 9)) ve--;
    const value = text.slice(vs, ve);
    for (let k = 0; k < value.length; k++) {
      const c = value.charCodeAt(k);
      // CTLs other than HTAB are invalid in field values; lone CR/LF would allow smuggling.
      if ((c < 32 && c !== 9) || c === 127) throw new HeadError(HeadErrorKind.Malformed, "invalid character in header value");
    }
    names.push(name);
    lower.push(name.toLowerCase());
    values.push(value);
    if (names.length > maxHeaders) throw new HeadError(HeadErrorKind.TooManyHeaders, "too many headers");
    pos = eol + 2;
  }
  return new HeaderList(names, lower, values);
}

function parseVersion(text: string, at: number): number {
  // "HTTP/1.1" or "HTTP/1.0"
  if (text.startsWith("HTTP/1.", at) && text.length >= at + 8) {
    const d = text.charCodeAt(at + 7);
    if (d === 49) return 1;
    if (d === 48) return 0;
  }
  return -1;
}

/** Parses a complete request head (bytes `start..end` including the final blank line). */
export function parseRequestHead(buf: Buffer, start: number, end: number, maxHeaders: number): RequestHead {
  const text = buf.toString("latin1", start, end);
  const lineEnd = text.indexOf("\r\n");
  const sp1 = text.indexOf(" ");
  if (sp1 <= 0 || sp1 > lineEnd) throw new HeadError(HeadErrorKind.Malformed, "malformed request line");
  const sp2 = text.indexOf(" ", sp1 + 1);
  if (sp2 === -1 || sp2 > lineEnd || lineEnd - sp2 !== 9) {
    if (text.startsWith("PRI * HTTP/2.0")) throw new HeadError(HeadErrorKind.Http2Preface, "HTTP/2 preface");
    throw new HeadError(HeadErrorKind.Malformed, "malformed request line");
  }
  const method = text.slice(0, sp1);
  if (!isToken(method)) throw new HeadError(HeadErrorKind.Malformed, "invalid method");
  const target = text.slice(sp1 + 1, sp2);
  for (let k = 0; k < target.length; k++) {
    const c = target.charCodeAt(k);
    if (c <= 32 || c >= 127) throw new HeadError(HeadErrorKind.Malformed, "invalid request target");
  }
  if (target.length === 0) throw new HeadError(HeadErrorKind.Malformed, "empty request target");
  const versionMinor = parseVersion(text, sp2 + 1);
  if (versionMinor < 0) {
    if (text.startsWith("PRI * HTTP/2.0")) throw new HeadError(HeadErrorKind.Http2Preface, "HTTP/2 preface");
    throw new HeadError(HeadErrorKind.Malformed, "unsupported HTTP version");
  }
  const headers = parseFields(text, lineEnd + 2, maxHeaders);
  return { method, target, versionMinor, headers };
}

/** Parses a complete response head. */
export function parseResponseHead(buf: Buffer, start: number, end: number, maxHeaders: number): ResponseHead {
  const text = buf.toString("latin1", start, end);
  const lineEnd = text.indexOf("\r\n");
  const versionMinor = parseVersion(text, 0);
  if (versionMinor < 0 || text.charCodeAt(8) !== 32) throw new HeadError(HeadErrorKind.Malformed, "malformed status line");
  const status = Number(text.slice(9, 12));
  if (!(status >= 100 && status <= 999) || (lineEnd > 12 && text.charCodeAt(12) !== 32)) {
    throw new HeadError(HeadErrorKind.Malformed, "malformed status code");
  }
  const reason = lineEnd > 13 ? text.slice(13, lineEnd) : "";
  const headers = parseFields(text, lineEnd + 2, maxHeaders);
  return { status, reason, versionMinor, headers };
}
