// Request IDs: UUID v4 strings for x-request-id. Uniqueness is what matters, not unpredictability
// (Envoy uses a non-cryptographic generator too), so V8's entropy-seeded Math.random is enough
// and spares each worker OpenSSL's initialisation and memory.

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push((i + 0x100).toString(16).slice(1));

function word(): number {
  return (Math.random() * 0x100000000) >>> 0;
}

function hex32(n: number): string {
  return HEX[n >>> 24]! + HEX[(n >>> 16) & 0xff]! + HEX[(n >>> 8) & 0xff]! + HEX[n & 0xff]!;
}

export function newRequestId(): string {
  const a = word();
  const b = (word() & 0xffff0fff) | 0x00004000; // version 4 in the time_hi nibble
  const c = (word() & 0x3fffffff) | 0x80000000; // RFC 4122 variant
  const d = word();
  const bs = hex32(b);
  const cs = hex32(c);
  return `${hex32(a)}-${bs.slice(0, 4)}-${bs.slice(4)}-${cs.slice(0, 4)}-${cs.slice(4)}${hex32(d)}`;
}
