// The HTTP/2 client codec's header mapping (http-message.ts's HTTP/2 rules): codec-neutral request
// headers → an nghttp2 header block for node:http2 (responses and trailers come back through
// http2-header-block.ts's headerListFromRaw). Pseudo-headers are fields, never HeaderList entries.

import type { RequestHeaders } from "../http-message.js";
import { CONNECTION_SPECIFIC_HEADERS } from "./http2-header-block.js";

/**
 * Never sent to an HTTP/2 peer: the connection-specific headers, `host` (it becomes `:authority`)
 * and HTTP/1's `http2-settings`. `te` is handled apart (only `trailers` passes).
 */
const DROPPED = new Set([...CONNECTION_SPECIFIC_HEADERS, "host", "http2-settings"]);

/**
 * The header block of `req` for `session.request()`, as Node's flat raw array (`[name, value, …]`,
 * Node ≥ 22): `:method`, `:scheme`, `:path`, `:authority` (the `host` entry — rewrites change it —
 * else `authority`), then the regular headers in order (repeated names as repeated entries), the
 * `cookie` headers joined with "; " into one. A raw array spares Node's copy of a header object
 * and its per-key walk (h2c→HTTP/2 bench, see the commit).
 */
export function http2RequestHeaders(req: RequestHeaders): string[] {
  const h = req.headers;
  const out: string[] = [":method", req.method, ":scheme", req.scheme, ":path", req.path, ":authority", h.get("host") ?? req.authority];
  const lower = h.lower;
  const values = h.values;
  let cookie: string | undefined;
  for (let i = 0; i < lower.length; i++) {
    const name = lower[i]!;
    if (DROPPED.has(name)) continue;
    const value = values[i]!;
    if (name === "te") {
      // gRPC's `te: trailers` passes (once); any other TE value is connection-specific.
      if (value.trim().toLowerCase() === "trailers" && !hasTe(out)) out.push("te", "trailers");
      continue;
    }
    if (name === "cookie") {
      cookie = cookie === undefined ? value : `${cookie}; ${value}`;
      continue;
    }
    out.push(name, value);
  }
  if (cookie !== undefined) out.push("cookie", cookie);
  return out;
}

function hasTe(out: readonly string[]): boolean {
  for (let i = 8; i < out.length; i += 2) if (out[i] === "te") return true;
  return false;
}
