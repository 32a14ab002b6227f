// writeLatin1: a string's latin1 bytes straight into a Buffer. Message heads are encoded into the
// Buffer that goes to the socket instead of being concatenated as strings first: a head built
// with `+=` leaves a chain of intermediate strings (about 1 KiB of garbage per head) on every
// request's path.

/**
 * From this length Buffer#write (native) beats a byte loop. It is V8's shortest sliced string:
 * a header name or value of 13 or more characters is usually a slice of the parsed head, and
 * charCodeAt on a slice is slow; shorter substrings are flat copies that the loop writes fastest.
 */
const NATIVE_WRITE_MIN = 13;

/**
 * Writes `s` at `off` as latin1 (each UTF-16 unit's low byte, as Node's "latin1" encoding does)
 * and returns the offset after it. The caller sized `buf` with `s.length`.
 */
export function writeLatin1(buf: Buffer, off: number, s: string): number {
  const n = s.length;
  if (n >= NATIVE_WRITE_MIN) return off + buf.write(s, off, n, "latin1");
  for (let i = 0; i < n; i++) buf[off + i] = s.charCodeAt(i);
  return off + n;
}
