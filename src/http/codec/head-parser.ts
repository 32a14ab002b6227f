// HTTP/1.x message-head parsing (request and response lines plus header fields), strict per
// RFC 9112: no obs-fold, no whitespace before the colon, tokens checked, CR only as part of CRLF,
// known upper-case methods only. Works on a Buffer window and never copies the body.

import { HeaderList } from "../header-list.js";
import { FIELD_VCHAR, TCHAR, isToken } from "./char-tables.js";

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
  /** A Transfer-Encoding other than "chunked" (Envoy answers 501). */
  UnsupportedTransferEncoding = 5,
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

/**
 * The methods llhttp and Envoy's codecs know (RFC 9110, WebDAV, CalDAV and the others http-parser
 * lists). Methods are case-sensitive (RFC 9110 §9.1): "get" is not GET, and an upstream that
 * folds case would route it as one, so anything else is a 400 as in Envoy and llhttp.
 */
const KNOWN_METHODS = new Set([
  "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
  "COPY", "LOCK", "MKCOL", "MOVE", "PROPFIND", "PROPPATCH", "SEARCH", "UNLOCK", "BIND", "REBIND", "UNBIND", "ACL",
  "REPORT", "MKACTIVITY", "CHECKOUT", "MERGE", "M-SEARCH", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE", "PURGE",
  "MKCALENDAR", "LINK", "UNLINK", "SOURCE", "QUERY",
]); // prettier-ignore

/**
 * Finds the end of a message head starting at `start`.
 * Returns the index just past the blank line, or -1 when more bytes are needed.
 * Throws HeadError(TooLarge) when `maxBytes` are buffered without a complete head, and
 * HeadError(Malformed) as soon as a bare LF shows up (a peer ending lines with LF alone would
 * otherwise wait for the head timeout; parsers that accept bare LF read such heads differently).
 */
export function findHeadEnd(buf: Buffer, start: number, maxBytes: number): number {
  const i = buf.indexOf(CRLFCRLF, start);
  const stop = i === -1 ? buf.length : i + 4;
  for (let lf = buf.indexOf(10, start); lf !== -1 && lf < stop; lf = buf.indexOf(10, lf + 1)) {
    if (lf === start || buf[lf - 1] !== 13) throw new HeadError(HeadErrorKind.Malformed, "bare LF in message head");
  }
  if (i === -1) {
    if (buf.length - start > maxBytes) throw new HeadError(HeadErrorKind.TooLarge, "headers too large");
    return -1;
  }
  if (i + 4 - start > maxBytes) throw new HeadError(HeadErrorKind.TooLarge, "headers too large");
  return i + 4;
}

/**
 * Parses header lines of `text` beginning at `pos` up to `end` (the index of the blank line's
 * CRLF). Also used for chunked trailers.
 */
export function parseFields(text: string, pos: number, end: number, maxHeaders: number): HeaderList {
  const names: string[] = [];
  const lower: string[] = [];
  const values: string[] = [];
  while (pos < end) {
    let eol = text.indexOf("\r\n", pos);
    if (eol === -1 || eol > end) eol = end;
    const colon = text.indexOf(":", pos);
    if (colon === -1 || colon > eol) throw new HeadError(HeadErrorKind.Malformed, "header line without a colon");
    if (colon === pos) throw new HeadError(HeadErrorKind.Malformed, "empty header name");
    for (let k = pos; k < colon; k++) {
      // Covers obs-fold (leading whitespace), whitespace before the colon (RFC 9112 §5.1), and
      // NUL, CR or bytes >= 0x80 in names.
      if (TCHAR[text.charCodeAt(k)] === 0) throw new HeadError(HeadErrorKind.Malformed, "invalid header name");
    }
    let vs = colon + 1;
    let ve = eol;
    while (vs < ve && (text.charCodeAt(vs) === 32 || text.charCodeAt(vs) === 9)) vs++;
    while (ve > vs && (text.charCodeAt(ve - 1) === 32 || text.charCodeAt(ve - 1) === 9)) ve--;
    for (let k = vs; k < ve; k++) {
      if (FIELD_VCHAR[text.charCodeAt(k)] === 0) throw new HeadError(HeadErrorKind.Malformed, "invalid character in header value");
    }
    const name = text.slice(pos, colon);
    names.push(name);
    lower.push(name.toLowerCase());
    values.push(text.slice(vs, ve));
    if (names.length > maxHeaders) throw new HeadError(HeadErrorKind.TooManyHeaders, "too many headers");
    pos = eol + 2;
  }
  return new HeaderList(names, lower, values);
}

function parseVersion(text: string, at: number): number {
  // "HTTP/1.1" or "HTTP/1.0" (case-sensitive, RFC 9112 §2.3)
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
  if (text.startsWith("PRI * HTTP/2.0\r\n")) throw new HeadError(HeadErrorKind.Http2Preface, "HTTP/2 preface");
  const lineEnd = text.indexOf("\r\n");
  const sp1 = text.indexOf(" ");
  if (sp1 <= 0 || sp1 > lineEnd) throw new HeadError(HeadErrorKind.Malformed, "malformed request line");
  const sp2 = text.indexOf(" ", sp1 + 1);
  if (sp2 === -1 || sp2 > lineEnd || lineEnd - sp2 !== 9) throw new HeadError(HeadErrorKind.Malformed, "malformed request line");
  const method = text.slice(0, sp1);
  if (method !== "GET" && !KNOWN_METHODS.has(method)) throw new HeadError(HeadErrorKind.Malformed, isToken(method) ? "unknown method" : "invalid method");
  const target = text.slice(sp1 + 1, sp2);
  if (target.length === 0) throw new HeadError(HeadErrorKind.Malformed, "empty request target");
  for (let k = 0; k < target.length; k++) {
    const c = target.charCodeAt(k);
    if (c <= 32 || c >= 127) throw new HeadError(HeadErrorKind.Malformed, "invalid request target");
  }
  const versionMinor = parseVersion(text, sp2 + 1);
  if (versionMinor < 0) throw new HeadError(HeadErrorKind.Malformed, "unsupported HTTP version");
  const headers = parseFields(text, lineEnd + 2, text.length - 2, maxHeaders);
  return { method, target, versionMinor, headers };
}

/** Parses a complete response head. */
export function parseResponseHead(buf: Buffer, start: number, end: number, maxHeaders: number): ResponseHead {
  const text = buf.toString("latin1", start, end);
  const lineEnd = text.indexOf("\r\n");
  const versionMinor = parseVersion(text, 0);
  if (versionMinor < 0 || text.charCodeAt(8) !== 32) throw new HeadError(HeadErrorKind.Malformed, "malformed status line");
  let status = 0;
  for (let k = 9; k < 12; k++) {
    const c = text.charCodeAt(k);
    if (c < 48 || c > 57) throw new HeadError(HeadErrorKind.Malformed, "malformed status code");
    status = status * 10 + (c - 48);
  }
  if (status < 100 || (lineEnd !== 12 && text.charCodeAt(12) !== 32)) throw new HeadError(HeadErrorKind.Malformed, "malformed status code");
  const reason = lineEnd > 13 ? text.slice(13, lineEnd) : "";
  for (let k = 0; k < reason.length; k++) {
    // The reason phrase is echoed to the client in our status line: no CR, LF or other CTLs.
    if (FIELD_VCHAR[reason.charCodeAt(k)] === 0) throw new HeadError(HeadErrorKind.Malformed, "invalid reason phrase");
  }
  const headers = parseFields(text, lineEnd + 2, text.length - 2, maxHeaders);
  return { status, reason, versionMinor, headers };
}
