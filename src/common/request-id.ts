// Request IDs: UUID v4 strings for x-request-id. Uniqueness is what matters, not unpredictability
// (Envoy uses a non-cryptographic generator too), so V8's entropy-seeded Math.random is enough
// and spares each worker OpenSSL's initialisation and memory. The 36 characters are written into
// a scratch buffer and read out once: one string per ID, no chain of concatenations.

/** ASCII codes of the two hex digits of each byte value. */
const HEX_HI = new Uint8Array(256);
const HEX_LO = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  const s = (i + 0x100).toString(16);
  HEX_HI[i] = s.charCodeAt(1);
  HEX_LO[i] = s.charCodeAt(2);
}

/** Scratch for one ID; each worker thread has its own module instance. */
const scratch = Buffer.alloc(36, 45 /* "-" */);

function word(): number {
  return (Math.random() * 0x100000000) >>> 0;
}

/** Writes the 8 hex digits of `n` at scratch[at..], skipping the dash positions. */
function put(n: number, at: number): number {
  for (let shift = 24; shift >= 0; shift -= 8) {
    if (at === 8 || at === 13 || at === 18 || at === 23) at++;
    const b = (n >>> shift) & 0xff;
    scratch[at++] = HEX_HI[b]!;
    scratch[at++] = HEX_LO[b]!;
  }
  return at;
}

export function newRequestId(): string {
  let at = put(word(), 0);
  at = put((word() & 0xffff0fff) | 0x00004000, at); // version 4 in the time_hi nibble
  at = put((word() & 0x3fffffff) | 0x80000000, at); // RFC 4122 variant
  put(word(), at);
  return scratch.toString("latin1", 0, 36);
}
