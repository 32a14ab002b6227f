// detectHttp: what http_inspector makes of a connection's first bytes — the HTTP/2 connection
// preface (RFC 9113 §3.4) → `h2c`, an HTTP/1.x request line (RFC 9112 §3) → `http/1.1` or
// `http/1.0`, anything else → no protocol. Pure, so it is unit-tested byte by byte.

export type HttpDetection = "more" | "h2c" | "http/1.1" | "http/1.0" | "none";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const VERSION = "HTTP/1.";

/** RFC 9110 tchar. */
function isTchar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c));
}

export function detectHttp(b: Buffer): HttpDetection {
  // The preface starts like a request line ("PRI * HTTP/2.0"): test it first.
  const n = Math.min(b.length, PREFACE.length);
  if (b.compare(PREFACE, 0, n, 0, n) === 0) return n === PREFACE.length ? "h2c" : "more";
  // method SP request-target SP HTTP/1.x CRLF, checked as far as the bytes go.
  let p = 0;
  while (p < b.length && isTchar(b[p]!)) p++;
  if (p === b.length) return "more";
  if (p === 0 || b[p] !== 0x20) return "none";
  const targetStart = ++p;
  while (p < b.length && b[p]! > 0x20 && b[p]! !== 0x7f) p++;
  if (p === b.length) return "more";
  if (p === targetStart || b[p] !== 0x20) return "none";
  p++;
  for (let i = 0; i < VERSION.length; i++, p++) {
    if (p === b.length) return "more";
    if (b[p] !== VERSION.charCodeAt(i)) return "none";
  }
  if (p === b.length) return "more";
  const minor = b[p++]!;
  if (minor !== 0x30 && minor !== 0x31) return "none";
  if (p === b.length) return "more";
  if (b[p] !== 0x0d) return "none";
  if (p + 1 === b.length) return "more";
  if (b[p + 1] !== 0x0a) return "none";
  return minor === 0x31 ? "http/1.1" : "http/1.0";
}
