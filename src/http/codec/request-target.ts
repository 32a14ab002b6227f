// Request-target forms (RFC 9112 §3.2) and Host values (RFC 9110 §7.2): which target a request
// names and which authority it is for, decided before routing. Fragments are stripped (Istio sets
// Envoy's http_reject_path_with_fragment to false, so its sidecars strip rather than reject);
// userinfo in an absolute-form authority is refused (RFC 9110 §4.2.4), and so is any Host that is
// not `uri-host [":" port]`.

import { HOST_CHAR } from "./char-tables.js";
import { HeadError, HeadErrorKind } from "./head-parser.js";

export interface RequestTarget {
  /** origin-form path and query ("/a?b"), fragment removed; "*" for OPTIONS *. */
  path: string;
  /** The authority of an absolute-form target (it replaces Host, RFC 9112 §3.2.2). */
  authority: string | undefined;
}

function bad(why: string): HeadError {
  return new HeadError(HeadErrorKind.Malformed, why);
}

function stripFragment(s: string): string {
  const hash = s.indexOf("#");
  return hash === -1 ? s : s.slice(0, hash);
}

/** Parses an HTTP/1.1 request target for any method but CONNECT. Throws HeadError (400). */
export function parseRequestTarget(method: string, target: string): RequestTarget {
  const c0 = target.charCodeAt(0);
  if (c0 === 47 /* / */) return { path: stripFragment(target), authority: undefined };
  if (target === "*") {
    if (method !== "OPTIONS") throw bad("asterisk-form target without OPTIONS");
    return { path: "*", authority: undefined };
  }
  // absolute-form: http(s)://authority[/path][?query][#fragment]
  let rest: string;
  const lower = target.slice(0, 8).toLowerCase();
  if (lower.startsWith("http://")) rest = target.slice(7);
  else if (lower.startsWith("https://")) rest = target.slice(8);
  else throw bad("invalid request target");
  let end = rest.length;
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    if (c === 47 || c === 63 || c === 35) {
      end = i;
      break;
    }
  }
  const authority = rest.slice(0, end);
  if (authority.includes("@")) throw bad("userinfo in request target");
  if (!isValidHost(authority)) throw bad("invalid authority in request target");
  let path = stripFragment(rest.slice(end));
  if (path === "" || path.charCodeAt(0) === 63 /* ? */) path = "/" + path;
  return { path, authority };
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/**
 * Host = uri-host [ ":" port ] (RFC 9110 §7.2): a reg-name (unreserved, pct-encoded, sub-delims)
 * or an IP-literal in brackets, then an optional port of digits. No userinfo, no path, no
 * whitespace or control bytes, not empty.
 */
export function isValidHost(host: string): boolean {
  const n = host.length;
  if (n === 0) return false;
  let i = 0;
  if (host.charCodeAt(0) === 91 /* [ */) {
    const close = host.indexOf("]");
    if (close < 3) return false;
    for (let k = 1; k < close; k++) {
      const c = host.charCodeAt(k);
      if (!isHex(c) && c !== 58 && c !== 46) return false;
    }
    i = close + 1;
  } else {
    for (; i < n; i++) {
      const c = host.charCodeAt(i);
      if (c === 58 /* : */) break;
      if (c > 255 || HOST_CHAR[c] === 0) return false;
      if (c === 37 /* % */ && !(i + 2 < n && isHex(host.charCodeAt(i + 1)) && isHex(host.charCodeAt(i + 2)))) return false;
    }
    if (i === 0) return false;
  }
  if (i === n) return true;
  if (host.charCodeAt(i) !== 58) return false;
  const port = n - i - 1;
  if (port > 5) return false;
  for (let k = i + 1; k < n; k++) {
    const c = host.charCodeAt(k);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
