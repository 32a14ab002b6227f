// The HTTP/2 client codec's header mapping (http-message.ts's HTTP/2 rules): codec-neutral request
// headers and trailers → the flat raw header blocks H2Session.request() / sendTrailers() take
// (responses and trailers come back through http2-header-block.ts's headerListFromRaw).
// Pseudo-headers are fields, never HeaderList entries.

import type { HeaderList } from "../header-list.js";
import type { RequestHeaders } from "../http-message.js";
import { CONNECTION_SPECIFIC_HEADERS } from "./http2-header-block.js";

/**
 * Never sent to an HTTP/2 peer: the connection-specific headers, `host` (it becomes `:authority`)
 * and HTTP/1's `http2-settings`. `te` is handled apart (only `trailers` passes).
 */
const DROPPED = new Set([...CONNECTION_SPECIFIC_HEADERS, "host", "http2-settings"]);

/**
 * The header block of `req` for `H2Session.request()`, a flat raw array (`[name, value, …]`, built
 * straight from the HeaderList, no intermediate object): `:method`, `:scheme`, `:path`,
 * `:authority` (the `host` entry — rewrites change it — else `authority`), then the regular
 * headers in order (repeated names as repeated entries), the `cookie` headers joined with "; "
 * into one (RFC 9113 §8.2.3 allows either; one field compresses as Envoy's does).
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

/**
 * A request trailer block for `H2Stream.sendTrailers()`: the trailers in order, lower-case names,
 * without pseudo-headers or connection-specific names (RFC 9113 §8.1: trailers carry neither).
 */
export function http2TrailerBlock(trailers: HeaderList): string[] {
  const lower = trailers.lower;
  const values = trailers.values;
  const out: string[] = [];
  for (let i = 0; i < lower.length; i++) {
    const name = lower[i]!;
    if (name.charCodeAt(0) === 58 /* ':' */ || DROPPED.has(name) || name === "te") continue;
    out.push(name, values[i]!);
  }
  return out;
}

function hasTe(out: readonly string[]): boolean {
  for (let i = 8; i < out.length; i += 2) if (out[i] === "te") return true;
  return false;
}
