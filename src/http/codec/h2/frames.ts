// HTTP/2 wire constants and the 9-byte frame header (RFC 9113 §4.1, §6, §7, §11): frame types,
// flags, SETTINGS identifiers, error codes, and reading/writing a frame header in place. The
// session (session.ts) parses and builds frames with these; nothing here allocates per frame.

/** Frame types (RFC 9113 §6). Unknown types are ignored by the session. */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** Frame flags (the same bit means different things per type). */
export const Flag = {
  /** DATA, HEADERS. */
  END_STREAM: 0x1,
  /** SETTINGS, PING. */
  ACK: 0x1,
  /** HEADERS, PUSH_PROMISE, CONTINUATION. */
  END_HEADERS: 0x4,
  /** DATA, HEADERS, PUSH_PROMISE. */
  PADDED: 0x8,
  /** HEADERS. */
  PRIORITY: 0x20,
} as const;

/** SETTINGS identifiers (RFC 9113 §6.5.2; ENABLE_CONNECT_PROTOCOL RFC 8441). */
export const SettingId = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
  ENABLE_CONNECT_PROTOCOL: 0x8,
} as const;

/** Error codes (RFC 9113 §7), in RST_STREAM and GOAWAY. */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

/** Bytes of a frame header. */
export const FRAME_HEADER_LENGTH = 9;
/** The initial and minimum SETTINGS_MAX_FRAME_SIZE (2^14). */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
/** The largest SETTINGS_MAX_FRAME_SIZE a peer may announce (2^24-1). */
export const MAX_ALLOWED_FRAME_SIZE = 16_777_215;
/** The initial stream and connection flow-control window (RFC 9113 §6.9.2). */
export const DEFAULT_WINDOW_SIZE = 65_535;
/** The largest flow-control window (2^31-1). */
export const MAX_WINDOW_SIZE = 2_147_483_647;
/** The largest stream id; also GOAWAY's "no new streams soon" last-stream-id. */
export const MAX_STREAM_ID = 2_147_483_647;
/** The HPACK dynamic table size both ends start with. */
export const DEFAULT_HEADER_TABLE_SIZE = 4_096;

/** The 24-byte client connection preface (RFC 9113 §3.4). */
export const CLIENT_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** Writes a frame header at `off` of `b` (which must have 9 bytes there). */
export function writeFrameHeader(b: Buffer, off: number, length: number, type: number, flags: number, streamId: number): void {
  b[off] = (length >>> 16) & 0xff;
  b[off + 1] = (length >>> 8) & 0xff;
  b[off + 2] = length & 0xff;
  b[off + 3] = type;
  b[off + 4] = flags;
  b[off + 5] = (streamId >>> 24) & 0x7f;
  b[off + 6] = (streamId >>> 16) & 0xff;
  b[off + 7] = (streamId >>> 8) & 0xff;
  b[off + 8] = streamId & 0xff;
}

/** The payload length of the frame header at `off`. */
export function frameLength(b: Buffer, off: number): number {
  return (b[off]! << 16) | (b[off + 1]! << 8) | b[off + 2]!;
}

/** The stream id of the frame header at `off` (the reserved bit dropped, RFC 9113 §4.1). */
export function frameStreamId(b: Buffer, off: number): number {
  return ((b[off + 5]! & 0x7f) * 0x1000000) + ((b[off + 6]! << 16) | (b[off + 7]! << 8) | b[off + 8]!);
}

/** A 31-bit big-endian value at `off` (WINDOW_UPDATE increment, GOAWAY last-stream-id, PRIORITY dependency). */
export function read31(b: Buffer, off: number): number {
  return ((b[off]! & 0x7f) * 0x1000000) + ((b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!);
}

/** A 32-bit big-endian unsigned value at `off`. */
export function read32(b: Buffer, off: number): number {
  return b[off]! * 0x1000000 + ((b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!);
}

/** Writes a 32-bit big-endian unsigned value at `off`. */
export function write32(b: Buffer, off: number, v: number): void {
  b[off] = (v >>> 24) & 0xff;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

/** A name for an error code (logs and test messages). */
export function errorCodeName(code: number): string {
  for (const [k, v] of Object.entries(ErrorCode)) if (v === code) return k;
  return `0x${code.toString(16)}`;
}
