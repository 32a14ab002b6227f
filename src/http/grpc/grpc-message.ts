// grpc-message encoding (gRPC PROTOCOL-HTTP2 "Status-Message"): percent-encoded bytes outside
// printable ASCII, as Envoy's PercentEncoding::encode writes a local reply's body into it.

/**
 * Envoy's PercentEncoding::encode(value, "%"): every byte below ' ', from '~' up (so '~' too, and
 * every byte of a multi-byte UTF-8 character), and '%' become `%XX` (upper-case hex).
 */
export function percentEncodeGrpcMessage(value: string): string {
  let i = 0;
  for (; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c >= 0x7e || c === 0x25) break;
  }
  if (i === value.length) return value;
  const bytes = Buffer.from(value, "utf8");
  let out = "";
  for (const b of bytes) {
    out += b < 0x20 || b >= 0x7e || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, "0")}` : String.fromCharCode(b);
  }
  return out;
}
