// The HTTP/2 client connection preface (RFC 9113 §3.4): how codec_type AUTO tells a plaintext
// HTTP/2 client with prior knowledge from an HTTP/1 one by its first bytes.

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export const PrefaceMatch = {
  /** The bytes differ from the preface: HTTP/1. */
  No: 0,
  /** A proper prefix of the preface: wait for more bytes. */
  Partial: 1,
  /** The whole preface. */
  Full: 2,
} as const;
export type PrefaceMatch = (typeof PrefaceMatch)[keyof typeof PrefaceMatch];

export function matchHttp2Preface(b: Buffer): PrefaceMatch {
  // Nearly every HTTP/1 request is ruled out by its first byte (no method starts with "PRI").
  if (b.length === 0) return PrefaceMatch.Partial;
  if (b[0] !== 0x50) return PrefaceMatch.No;
  const n = Math.min(b.length, PREFACE.length);
  if (b.compare(PREFACE, 0, n, 0, n) !== 0) return PrefaceMatch.No;
  return n === PREFACE.length ? PrefaceMatch.Full : PrefaceMatch.Partial;
}
