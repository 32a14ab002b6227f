// HTTP/2 header blocks of the downstream codec ⇄ the codec-neutral request and response
// (the HTTP/2 rules of http-message.ts). The session (h2/session.ts, h2/messaging.ts) has already
// refused what RFC 9113 §8 forbids (missing or repeated pseudo-headers, connection-specific
// headers, `te` other than `trailers`, upper-case names) with a stream error before a header
// block reaches this file.

import { HeaderList } from "../header-list.js";
import type { RequestHeaders } from "../http-message.js";
import { normalizeTarget } from "../path-normalize.js";
import { FIELD_VCHAR, TCHAR } from "./char-tables.js";
import { CONNECTION_SPECIFIC_HEADERS } from "./http2-header-block.js";

/**
 * Why a header block cannot become a request: answered 400 as Envoy's connection manager does,
 * except `header_overflow` (over max_request_headers_kb / max_headers_count), which Envoy's
 * HTTP/2 codec answers by resetting the stream.
 */
export type Http2RequestError = "missing_host_header" | "invalid_path" | "connect_unsupported" | "header_overflow";

export interface DecodedHttp2Request {
  req: RequestHeaders;
  /** `:path` as received (x-envoy-original-path and StreamInfo). */
  originalPath: string;
}

/**
 * Turns a received raw header block (`[name, value, …]`, names lower-case, pseudo-headers first) into
 * a request. `tls`: the connection is TLS (the scheme when `:scheme` is not http/https).
 * Returns an error word for requests Envoy answers with 400.
 */
export function decodeHttp2Request(raw: readonly string[], tls: boolean, maxBytes: number, maxCount: number): DecodedHttp2Request | Http2RequestError {
  // nghttp2 enforces our SETTINGS_MAX_HEADER_LIST_SIZE only once the client ACKed it; Envoy checks
  // every block itself (names and values, pseudo-headers included).
  if (raw.length > maxCount * 2) return "header_overflow";
  let bytes = 0;
  let method = "";
  let path: string | undefined;
  let authority: string | undefined;
  let scheme: string | undefined;
  const n = raw.length;
  // Regular headers: `host` first (set below), then the rest in order.
  const names: string[] = [""];
  const lower: string[] = [""];
  const values: string[] = [""];
  let cookie: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < n; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    bytes += name.length + value.length;
    if (name.charCodeAt(0) === 58 /* : */) {
      if (name === ":method") method = value;
      else if (name === ":path") path = value;
      else if (name === ":authority") authority = value;
      else if (name === ":scheme") scheme = value;
      // `:protocol` (extended CONNECT) is never enabled in our SETTINGS: nghttp2 refuses it.
      continue;
    }
    if (name === "cookie") {
      // RFC 9113 §8.2.3: cookie crumbs are joined into one header for an HTTP/1 hop.
      cookie = cookie === undefined ? value : cookie + "; " + value;
      continue;
    }
    if (name === "host") {
      host ??= value;
      continue;
    }
    names.push(name);
    lower.push(name);
    values.push(value);
  }
  if (bytes > maxBytes) return "header_overflow";
  if (method === "CONNECT") return "connect_unsupported";
  // RFC 9113 §8.3.1: `:authority` wins over Host; without either Envoy answers 400.
  const auth = authority !== undefined && authority !== "" ? authority : host;
  if (auth === undefined || auth === "") return "missing_host_header";
  if (path === undefined) return "invalid_path";
  const normalized = path === "*" && method === "OPTIONS" ? path : normalizeTarget(path);
  if (normalized === undefined) return "invalid_path";
  names[0] = lower[0] = "host";
  values[0] = auth;
  if (cookie !== undefined) {
    names.push("cookie");
    lower.push("cookie");
    values.push(cookie);
  }
  // Names arrive lower-case on HTTP/2 (two arrays all the same: HeaderList appends to both).
  const headers = new HeaderList(names, lower, values);
  return {
    req: {
      method,
      path: normalized,
      authority: auth,
      scheme: scheme === "https" || scheme === "http" ? scheme : tls ? "https" : "http",
      protocol: "HTTP/2",
      headers,
      upgrade: false,
    },
    originalPath: path,
  };
}

/** Lengths of the connection-specific names: most names are ruled out by length, unhashed. */
const CONNECTION_SPECIFIC_LENGTH = new Uint8Array(32);
for (const name of CONNECTION_SPECIFIC_HEADERS) CONNECTION_SPECIFIC_LENGTH[name.length] = 1;

/** `:status` values as strings, made once (100-599). */
const STATUS_TEXT: string[] = [];
for (let s = 100; s < 600; s++) STATUS_TEXT[s] = String(s);

/**
 * A response's (or trailers') header list as the raw block the HPACK encoder takes, `:status`
 * first (status 0 = trailers, no `:status`). Names go lower-case (RFC 9113 §8.2.1);
 * connection-specific headers, `te` and pseudo-headers a filter may have added are dropped.
 * Returns undefined for what HTTP/2 cannot carry — a status outside 100-599 or 101, a name that
 * is not a token, a value with a control byte (NUL, CR, LF, …) — and the codec resets the stream.
 */
export function encodeHttp2Headers(status: number, h: HeaderList): string[] | undefined {
  const lower = h.lower;
  const values = h.values;
  const n = lower.length;
  let out: string[];
  if (status === 0) out = [];
  else {
    if (status < 100 || status > 599 || status === 101) return undefined;
    out = [":status", STATUS_TEXT[status]!];
  }
  for (let i = 0; i < n; i++) {
    const name = lower[i]!;
    const len = name.length;
    if (len < 32 && CONNECTION_SPECIFIC_LENGTH[len] === 1 && CONNECTION_SPECIFIC_HEADERS.has(name)) continue;
    if (name === "te" || name.charCodeAt(0) === 58 /* : */ || len === 0) continue;
    const value = values[i]!;
    if (!tokenName(name) || !fieldValue(value)) return undefined;
    out.push(name, value);
  }
  return out;
}

function tokenName(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || TCHAR[c] === 0) return false;
  }
  return true;
}

function fieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || FIELD_VCHAR[c] === 0) return false;
  }
  return true;
}
