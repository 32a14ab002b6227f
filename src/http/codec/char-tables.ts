// Byte classes of RFC 9110/9112 as lookup tables (one array read per character on the hot path,
// no regex), and the OWS trim that JavaScript's `trim()` is not: `trim()` also strips bytes such as
// 0xA0 (NBSP) and 0x0B, so a value like "\xa043" would parse as "43" where a peer sees garbage.

/** RFC 9110 tchar: ALPHA / DIGIT / "!#$%&'*+-.^_`|~". */
export const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;

/**
 * Bytes allowed in a field value (RFC 9110 §5.5): HTAB, SP, VCHAR and obs-text. CTLs other than
 * HTAB, and DEL, are refused: a lone CR or LF is where request smuggling starts.
 */
export const FIELD_VCHAR = new Uint8Array(256);
for (let c = 0; c < 256; c++) FIELD_VCHAR[c] = c === 9 || (c >= 32 && c !== 127) ? 1 : 0;

/** RFC 3986 reg-name and port characters: unreserved / pct-encoded ("%") / sub-delims. */
export const HOST_CHAR = new Uint8Array(256);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,;=") HOST_CHAR[c.charCodeAt(0)] = 1;

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || TCHAR[c] === 0) return false;
  }
  return true;
}

/** Strips optional whitespace (SP and HTAB only, RFC 9110 §5.6.3) from both ends. */
export function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** Lower-cases ASCII letters only (`toLowerCase()` would also fold non-ASCII code points). */
export function asciiLower(s: string): string {
  let upper = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) {
      upper = true;
      break;
    }
  }
  if (!upper) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : s[i];
  }
  return out;
}

/** Splits a list-valued field on "," and trims OWS from each element (empty elements kept). */
export function splitList(v: string): string[] {
  const parts = v.split(",");
  for (let i = 0; i < parts.length; i++) parts[i] = trimOws(parts[i]!);
  return parts;
}
