// ASCII case helpers. Envoy folds case with absl's ASCII functions (never Unicode), and doing the
// same here lets the hot path compare without allocating a lower-cased copy of the input.

/** Lower-case A-Z only; returns `s` itself (no allocation) when it has no upper-case ASCII. */
export function asciiToLower(s: string): string {
  // V8's native toLowerCase scans one-byte strings much faster than a charCodeAt loop and
  // returns the same string object when nothing changes, which is the common case here.
  const lower = s.toLowerCase();
  if (lower === s) return s;
  // Something changed: redo it ASCII-only so non-ASCII letters keep their case, as in Envoy.
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

function foldEq(a: number, b: number): boolean {
  if (a === b) return true;
  // Map A-Z onto a-z; every other code unit must be identical.
  if (a >= 65 && a <= 90) a += 32;
  if (b >= 65 && b <= 90) b += 32;
  return a === b && a >= 97 && a <= 122;
}

/** `s` starts with `prefix`, ASCII case-insensitively. */
export function startsWithIgnoreCase(s: string, prefix: string): boolean {
  const n = prefix.length;
  if (s.length < n) return false;
  for (let i = 0; i < n; i++) if (!foldEq(s.charCodeAt(i), prefix.charCodeAt(i))) return false;
  return true;
}

/** `s` ends with `suffix`, ASCII case-insensitively. */
export function endsWithIgnoreCase(s: string, suffix: string): boolean {
  const n = suffix.length;
  const off = s.length - n;
  if (off < 0) return false;
  for (let i = 0; i < n; i++) if (!foldEq(s.charCodeAt(off + i), suffix.charCodeAt(i))) return false;
  return true;
}

/** `a` equals `b`, ASCII case-insensitively. */
export function equalsIgnoreCase(a: string, b: string): boolean {
  return a.length === b.length && startsWithIgnoreCase(a, b);
}
