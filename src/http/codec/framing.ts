// Message framing (RFC 9112 §6): decided once, from validated Content-Length / Transfer-Encoding
// headers, before any hop-by-hop processing can touch them. Anything a peer could read another way
// (repeated or list-valued Content-Length, CL with TE, a coding other than "chunked", TE on
// HTTP/1.0) is refused rather than guessed at, as Envoy's codec does by default.

import type { HeaderList } from "../header-list.js";
import { asciiLower, trimOws } from "./char-tables.js";
import { HeadError, HeadErrorKind } from "./head-parser.js";

export type Framing =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  /** Response body delimited by the upstream closing the connection. */
  | { kind: "close" };

export const NONE: Framing = { kind: "none" };
export const CHUNKED: Framing = { kind: "chunked" };
export const CLOSE: Framing = { kind: "close" };

/** 15 significant digits: every length below 10^15 bytes is exact in a double. */
const MAX_LENGTH_DIGITS = 15;

function malformed(why: string): HeadError {
  return new HeadError(HeadErrorKind.Malformed, why);
}

/**
 * The Content-Length value, or undefined when absent. Exactly one header holding 1*DIGIT (OWS
 * already trimmed by the head parser, SP/HTAB only). Repeated headers and lists ("5, 5") are refused
 * even when equal, as llhttp, nginx and Envoy's http-parser codec do: RFC 9110 §8.6 allows either
 * rejecting or collapsing them, and rejecting leaves nothing for a downstream parser to read
 * differently.
 */
export function parseContentLength(headers: HeaderList): number | undefined {
  const lower = headers.lower;
  let at = -1;
  for (let i = 0; i < lower.length; i++) {
    if (lower[i] !== "content-length") continue;
    if (at !== -1) throw malformed("multiple content-length headers");
    at = i;
  }
  if (at === -1) return undefined;
  const v = headers.values[at]!;
  if (v.length === 0) throw malformed("invalid content-length");
  let n = 0;
  let digits = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) throw malformed("invalid content-length");
    if (n === 0 && c === 48) continue; // leading zeros carry no value
    if (++digits > MAX_LENGTH_DIGITS) throw malformed("content-length too large");
    n = n * 10 + (c - 48);
  }
  return n;
}

/**
 * Rewrites Content-Length in its canonical decimal form ("007" → "7") so the peer downstream
 * never parses the client's spelling of the length. No-op (and no allocation) when already canonical.
 */
export function canonicalizeContentLength(headers: HeaderList, length: number): void {
  const i = headers.lower.indexOf("content-length");
  if (i === -1) return;
  const v = headers.values[i]!;
  if (v.length === 1 || v.charCodeAt(0) !== 48) return;
  headers.values[i] = String(length);
}

/**
 * Checks Transfer-Encoding (all its headers, joined) is exactly "chunked" — the only coding Envoy
 * accepts; anything else is a 501 (Envoy's http1.invalid_transfer_encoding, and nginx's answer).
 */
function checkChunked(te: string): void {
  if (asciiLower(trimOws(te)) !== "chunked") throw new HeadError(HeadErrorKind.UnsupportedTransferEncoding, "unsupported transfer-encoding");
}

/** RFC 9112 §6.3 for a request. Throws HeadError for every ambiguous combination. */
export function requestFraming(headers: HeaderList, versionMinor = 1): Framing {
  const te = headers.getJoined("transfer-encoding");
  if (te !== undefined) {
    // RFC 9112 §6.1: TE in an HTTP/1.0 message is faulty framing (1.0 peers don't know chunked).
    if (versionMinor === 0) throw malformed("transfer-encoding in an HTTP/1.0 request");
    // CL with TE is the classic smuggling vector: refused, as Envoy does (allow_chunked_length false).
    if (headers.has("content-length")) throw malformed("both transfer-encoding and content-length");
    checkChunked(te);
    return CHUNKED;
  }
  const cl = parseContentLength(headers);
  if (cl === undefined || cl === 0) return NONE;
  return { kind: "length", length: cl };
}

/**
 * RFC 9112 §6.3 for a response to `method`. Throws HeadError (the caller answers 502) for framing
 * Envoy's client codec refuses: CL with TE, codings other than chunked, TE from an HTTP/1.0
 * server, invalid or repeated Content-Length, and a 204 with TE or a non-zero Content-Length
 * (a 204 "Content-Length: 0" is dropped, as Envoy papers over it).
 */
export function responseFraming(status: number, method: string, headers: HeaderList, versionMinor = 1): Framing {
  const te = headers.getJoined("transfer-encoding");
  if (te !== undefined) {
    if (versionMinor === 0) throw malformed("transfer-encoding in an HTTP/1.0 response");
    if (headers.has("content-length")) throw malformed("both transfer-encoding and content-length");
    if (status === 204) throw malformed("transfer-encoding in a 204 response");
    checkChunked(te);
  }
  const cl = te === undefined ? parseContentLength(headers) : undefined;
  if (status === 204 && cl !== undefined) {
    if (cl !== 0) throw malformed("content-length in a 204 response");
    headers.remove("content-length");
  }
  if (cl !== undefined) canonicalizeContentLength(headers, cl);
  if (method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200)) return NONE;
  if (te !== undefined) return CHUNKED;
  if (cl === undefined) return CLOSE;
  if (cl === 0) return NONE;
  return { kind: "length", length: cl };
}

export interface ResponseContext {
  /** The request's method (a HEAD response has no body). */
  method: string;
  /** The request asked to switch protocols (Connection: upgrade plus Upgrade). */
  upgradeRequested: boolean;
}

/**
 * Validates a final upstream response head against the request it answers and returns its
 * framing. A 101 is accepted only for a request that asked for an upgrade: an unsolicited one
 * would open a raw tunnel past the proxy. Throws HeadError: the caller answers 502 (UPE) and
 * never reuses the connection.
 */
export function validateResponseHead(head: { status: number; versionMinor: number; headers: HeaderList }, req: ResponseContext): Framing {
  if (head.status === 101) {
    if (!req.upgradeRequested || head.versionMinor === 0) throw malformed("unsolicited 101 response");
    return NONE;
  }
  return responseFraming(head.status, req.method, head.headers, head.versionMinor);
}
