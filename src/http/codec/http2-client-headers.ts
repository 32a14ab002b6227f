// The HTTP/2 client codec's header mapping (http-message.ts's HTTP/2 rules): codec-neutral request
// headers → an nghttp2 header block for node:http2, and a response's or trailers' raw header list
// (name, value, name, value…) → a HeaderList. Pseudo-headers are fields, never HeaderList entries.

import type { OutgoingHttpHeaders } from "node:http2";
import { HeaderList } from "../header-list.js";
import type { RequestHeaders } from "../http-message.js";

/**
 * Connection-specific headers (RFC 9113 §8.2.2) never sent to an HTTP/2 peer; `host` becomes
 * `:authority`. `te` is handled apart (only `trailers` passes).
 */
const DROPPED = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host", "http2-settings"]);

/**
 * The header block of `req` for `session.request()`: `:method`, `:scheme`, `:path`,
 * `:authority` (the `host` entry — rewrites change it — else `authority`), then the regular
 * headers in order, repeated names as arrays, several `cookie` headers joined with "; ".
 */
export function http2RequestHeaders(req: RequestHeaders): OutgoingHttpHeaders {
  const h = req.headers;
  const out: OutgoingHttpHeaders = Object.create(null) as OutgoingHttpHeaders;
  out[":method"] = req.method;
  out[":scheme"] = req.scheme;
  out[":path"] = req.path;
  out[":authority"] = h.get("host") ?? req.authority;
  const lower = h.lower;
  const values = h.values;
  for (let i = 0; i < lower.length; i++) {
    const name = lower[i]!;
    if (DROPPED.has(name)) continue;
    const value = values[i]!;
    if (name === "te") {
      // gRPC's `te: trailers` passes; any other TE value is connection-specific.
      if (value.trim().toLowerCase() === "trailers") out.te = "trailers";
      continue;
    }
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (name === "cookie") out.cookie = `${prev as string}; ${value}`;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev as string, value];
  }
  return out;
}

/** A received header block's raw list as a HeaderList, pseudo-headers (`:status`) left out. */
export function headerListFromRaw(raw: readonly string[]): HeaderList {
  const names: string[] = [];
  const values: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    names.push(name);
    values.push(raw[i + 1]!);
  }
  // Names of an HTTP/2 block are lower case already (the lists must still be distinct arrays).
  return new HeaderList(names, names.slice(), values);
}
