// HPACK (RFC 7541): header block compression for Outrigger's own HTTP/2 codec. The decoder turns
// a complete header block into name, value, … latin1 strings while keeping its dynamic table in
// step with the peer's encoder; the encoder writes blocks that index repeated fields, so the second
// request or response of a connection is mostly one-byte indexed fields. Both run for every
// header block, so there are no closures, regexps or per-field objects: integers and strings are
// read in place, the dynamic tables are ring buffers, and Huffman coding is table-driven.
// Indexing choices follow nghttp2 (Envoy's HTTP/2 codec): fields that change per message are not
// indexed, credentials and short cookies are never indexed (§7.1.3).

import { huffmanDecode, huffmanDecodedMax, huffmanEncode, huffmanEncodedLength } from "./huffman.js";
import { ByteWriter } from "./byte-writer.js";

export { ByteWriter } from "./byte-writer.js";

/** A header block that cannot be decoded: a connection error COMPRESSION_ERROR (RFC 9113 §4.3). */
export class HpackError extends Error {
  override name = "HpackError";
}

/** RFC 7541 Appendix A, index 1..61 at [0..60]. */
const STATIC_NAMES: readonly string[] = [
  ":authority", ":method", ":method", ":path", ":path", ":scheme", ":scheme", ":status", ":status",
  ":status", ":status", ":status", ":status", ":status", "accept-charset", "accept-encoding",
  "accept-language", "accept-ranges", "accept", "access-control-allow-origin", "age", "allow",
  "authorization", "cache-control", "content-disposition", "content-encoding", "content-language",
  "content-length", "content-location", "content-range", "content-type", "cookie", "date", "etag",
  "expect", "expires", "from", "host", "if-match", "if-modified-since", "if-none-match", "if-range",
  "if-unmodified-since", "last-modified", "link", "location", "max-forwards", "proxy-authenticate",
  "proxy-authorization", "range", "referer", "refresh", "retry-after", "server", "set-cookie",
  "strict-transport-security", "transfer-encoding", "user-agent", "vary", "via", "www-authenticate",
];
const STATIC_COUNT = 61;
/** The static values, "" where the RFC has none (all 61 present: no out-of-bounds reads). */
const STATIC_VALUES: readonly string[] = [
  "", "GET", "POST", "/", "/index.html", "http", "https", "200", "204", "206", "304", "400", "404",
  "500", "", "gzip, deflate", ...new Array<string>(STATIC_COUNT - 16).fill(""),
];
/** 32: the per-entry overhead of RFC 7541 §4.1 (and of RFC 9113's header list size). */
const ENTRY_OVERHEAD = 32;
/** The default SETTINGS_HEADER_TABLE_SIZE, and the most our encoder uses whatever the peer allows. */
const DEFAULT_TABLE_SIZE = 4096;
/** Integers above this are refused: no length, index or table size needs more. */
const MAX_INT = 0x7fffffff;

/** Static name → its first index; static name → value → index for the entries with a value. */
const STATIC_NAME_INDEX = new Map<string, number>();
const STATIC_FULL_INDEX = new Map<string, Map<string, number>>();
for (let i = 0; i < STATIC_COUNT; i++) {
  const name = STATIC_NAMES[i]!;
  if (!STATIC_NAME_INDEX.has(name)) STATIC_NAME_INDEX.set(name, i + 1);
  const value = STATIC_VALUES[i]!;
  if (value !== "") {
    let byValue = STATIC_FULL_INDEX.get(name);
    if (byValue === undefined) STATIC_FULL_INDEX.set(name, (byValue = new Map()));
    byValue.set(value, i + 1);
  }
}

/**
 * Fields nghttp2's deflater never adds to the dynamic table: values that change per message, so
 * indexing them would only evict useful entries. Sent as literals without indexing.
 */
const NOT_INDEXED = new Set([":path", "age", "content-length", "etag", "if-modified-since", "if-none-match", "location", "set-cookie"]);
/** Cookies shorter than this are never indexed (nghttp2): short secrets are the guessable ones (§7.1.3). */
const COOKIE_NEVER_INDEX_BELOW = 20;

/** Buffer's native latin1 slice: one call, no encoding-name dispatch. */
type SliceBuffer = Buffer & { latin1Slice(start: number, end: number): string };

/**
 * A dynamic table (RFC 7541 §2.3.2) as a ring: newest entry at `first`, dynamic index k (0-based)
 * at `(first + k) & mask`; inserting moves `first` back one, evicting drops the oldest (the last).
 */
class DynamicTable {
  names: string[];
  values: string[];
  mask: number;
  first = 0;
  count = 0;
  /** RFC size of the entries held (Σ 32 + name + value). */
  size = 0;
  /** The current maximum size (the last size update, or the initial setting). */
  max: number;

  constructor(max: number) {
    this.max = max;
    let cap = 16;
    const most = ((max / ENTRY_OVERHEAD) | 0) + 1;
    while (cap < most) cap *= 2;
    this.names = new Array<string>(cap).fill("");
    this.values = new Array<string>(cap).fill("");
    this.mask = cap - 1;
  }

  /** Adds an entry (evicting from the oldest first), or empties the table if it cannot fit (§4.4). */
  add(name: string, value: string): void {
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    if (entrySize > this.max) {
      this.evictTo(0);
      return;
    }
    this.evictTo(this.max - entrySize);
    const slot = (this.first - 1) & this.mask;
    this.names[slot] = name;
    this.values[slot] = value;
    this.first = slot;
    this.count++;
    this.size += entrySize;
  }

  /** Evicts oldest entries until the size is at most `limit`. */
  evictTo(limit: number): void {
    while (this.size > limit) {
      const slot = (this.first + this.count - 1) & this.mask;
      this.size -= this.names[slot]!.length + this.values[slot]!.length + ENTRY_OVERHEAD;
      this.onEvict(slot);
      this.names[slot] = "";
      this.values[slot] = "";
      this.count--;
    }
  }

  /** A new maximum (a size update): evicts down to it. */
  resize(max: number): void {
    this.max = max;
    this.evictTo(max);
  }

  /** Called with the ring slot of an entry about to be evicted (the encoder's index upkeep). */
  protected onEvict(_slot: number): void {}
}

/** Decodes the header blocks of one direction of a connection (one decoder per connection). */
export class HpackDecoder {
  private readonly table: DynamicTable;
  /** Our SETTINGS_HEADER_TABLE_SIZE: the most a size update may ask for. */
  private readonly limit: number;
  /** Read position in the block being decoded. */
  private pos = 0;
  /** Huffman output scratch, grown to the longest string seen. */
  private scratch: Buffer = Buffer.allocUnsafe(256);

  /** `maxTableSize`: our SETTINGS_HEADER_TABLE_SIZE (4096 = the default; we advertise it). */
  constructor(maxTableSize = DEFAULT_TABLE_SIZE) {
    this.limit = maxTableSize;
    this.table = new DynamicTable(maxTableSize);
  }

  /** Entries in the dynamic table (for tests and stats). */
  get tableLength(): number {
    return this.table.count;
  }

  /** The dynamic table's RFC size (Σ 32 + name + value). */
  get tableSize(): number {
    return this.table.size;
  }

  /** Dynamic table entry `i` (0 = newest) as [name, value], for tests. */
  tableEntry(i: number): [string, string] {
    const t = this.table;
    const slot = (t.first + i) & t.mask;
    return [t.names[slot]!, t.values[slot]!];
  }

  /**
   * Decodes one complete header block (HEADERS + CONTINUATION payloads joined) and appends
   * name, value, name, value… to `out` (names and values as latin1 strings, exactly the bytes).
   * Returns the block's RFC 9113 header list size (Σ name.length + value.length + 32).
   * Stops appending to `out` (but keeps decoding, so the dynamic table stays in step) once that
   * size passes `maxListSize` or `out` holds `maxPairs` pairs; the caller sees the returned size /
   * `out.length` and resets the stream (a caller allowing N fields passes N + 1 and refuses
   * `out.length > 2 * N`). Throws HpackError on any malformed input (bad integer, index 0 or out
   * of range, string past the end, bad Huffman, a dynamic table size update above the limit or
   * not at the start of the block, …).
   */
  decode(block: Buffer, out: string[], maxListSize: number, maxPairs: number): number {
    const buf = block as SliceBuffer;
    const end = buf.length;
    const maxOut = maxPairs * 2;
    const table = this.table;
    let listSize = 0;
    let fields = 0;
    this.pos = 0;
    while (this.pos < end) {
      const b = buf[this.pos]!;
      let name: string;
      let value: string;
      if (b & 0x80) {
        // Indexed field (§6.1).
        let index = b & 0x7f;
        if (index === 0x7f) index = this.integer(buf, 7);
        else this.pos++;
        if (index === 0) throw new HpackError("hpack: indexed field with index 0");
        if (index <= STATIC_COUNT) {
          name = STATIC_NAMES[index - 1]!;
          value = STATIC_VALUES[index - 1]!;
        } else {
          const k = index - STATIC_COUNT - 1;
          if (k >= table.count) throw new HpackError(`hpack: index ${index} past the table`);
          const slot = (table.first + k) & table.mask;
          name = table.names[slot]!;
          value = table.values[slot]!;
        }
      } else if ((b & 0xe0) === 0x20) {
        // Dynamic table size update (§6.3): only before the first field.
        if (fields > 0) throw new HpackError("hpack: table size update after a field");
        const size = this.integer(buf, 5);
        if (size > this.limit) throw new HpackError(`hpack: table size update ${size} above ${this.limit}`);
        table.resize(size);
        continue;
      } else {
        // Literal (§6.2): with incremental indexing (01), without (0000), never indexed (0001).
        const indexing = (b & 0xc0) === 0x40;
        const index = this.integer(buf, indexing ? 6 : 4);
        if (index === 0) {
          name = this.string(buf, end);
        } else if (index <= STATIC_COUNT) {
          name = STATIC_NAMES[index - 1]!;
        } else {
          const k = index - STATIC_COUNT - 1;
          if (k >= table.count) throw new HpackError(`hpack: name index ${index} past the table`);
          name = table.names[(table.first + k) & table.mask]!;
        }
        value = this.string(buf, end);
        if (indexing) table.add(name, value);
      }
      fields++;
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      if (listSize <= maxListSize && out.length < maxOut) out.push(name, value);
    }
    return listSize;
  }

  /** Reads an integer with an N-bit prefix (§5.1) at `pos`, moving `pos` past it. */
  private integer(buf: Buffer, prefixBits: number): number {
    const max = (1 << prefixBits) - 1;
    let value = buf[this.pos++]! & max;
    if (value < max) return value;
    const end = buf.length;
    let shift = 0;
    for (;;) {
      if (this.pos >= end) throw new HpackError("hpack: integer past the end of the block");
      const b = buf[this.pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      if (value > MAX_INT) throw new HpackError("hpack: integer too large");
      if ((b & 0x80) === 0) return value;
      shift += 7;
      // 5 continuation bytes carry 35 bits: more is padding with zeros, refused as nghttp2 does.
      if (shift > 28) throw new HpackError("hpack: integer encoding too long");
    }
  }

  /** Reads a string literal (§5.2) at `pos`, moving `pos` past it. */
  private string(buf: SliceBuffer, end: number): string {
    if (this.pos >= end) throw new HpackError("hpack: string past the end of the block");
    const huffman = (buf[this.pos]! & 0x80) !== 0;
    const len = this.integer(buf, 7);
    const start = this.pos;
    if (len > end - start) throw new HpackError("hpack: string past the end of the block");
    this.pos = start + len;
    if (!huffman) return buf.latin1Slice(start, start + len);
    const need = huffmanDecodedMax(len);
    if (need > this.scratch.length) this.scratch = Buffer.allocUnsafe(Math.max(need, this.scratch.length * 2));
    const n = huffmanDecode(buf, start, start + len, this.scratch);
    if (n < 0) throw new HpackError("hpack: malformed Huffman string");
    return (this.scratch as SliceBuffer).latin1Slice(0, n);
  }
}

/** The encoder's dynamic table: the ring plus maps from name and name+value to entries. */
class EncoderTable extends DynamicTable {
  /** Ring slot → insertion sequence number, so a map entry can be checked for being current. */
  readonly seqs: Float64Array;
  /** Entries inserted so far; entry `seq` is at dynamic index inserted - seq (1-based). */
  inserted = 0;
  /** name → value → newest seq with that name and value. */
  readonly byName = new Map<string, Map<string, number>>();
  /** name → newest seq with that name. */
  readonly nameSeq = new Map<string, number>();

  constructor(max: number) {
    super(max);
    this.seqs = new Float64Array(this.mask + 1);
  }

  /** Adds an entry and indexes it. */
  insert(name: string, value: string): void {
    this.add(name, value);
    const seq = this.inserted++;
    if (this.count === 0) return; // too large: the table was emptied, nothing inserted
    this.seqs[this.first] = seq;
    let byValue = this.byName.get(name);
    if (byValue === undefined) this.byName.set(name, (byValue = new Map()));
    byValue.set(value, seq);
    this.nameSeq.set(name, seq);
  }

  /** The 1-based HPACK index (62 and up) of entry `seq`, which must be in the table. */
  index(seq: number): number {
    return STATIC_COUNT + this.inserted - seq;
  }

  protected override onEvict(slot: number): void {
    const name = this.names[slot]!;
    const seq = this.seqs[slot]!;
    const byValue = this.byName.get(name);
    if (byValue !== undefined) {
      const value = this.values[slot]!;
      if (byValue.get(value) === seq) {
        byValue.delete(value);
        if (byValue.size === 0) this.byName.delete(name);
      }
    }
    if (this.nameSeq.get(name) === seq) this.nameSeq.delete(name);
  }
}

/** Encodes the header blocks of one direction of a connection (one encoder per connection). */
export class HpackEncoder {
  private table = new EncoderTable(DEFAULT_TABLE_SIZE);
  /** Smallest size set since the last block, or -1: the size updates owed (§4.2). */
  private pendingMin = -1;

  /** The peer's SETTINGS_HEADER_TABLE_SIZE: the encoder uses at most min(4096, n) and emits the size update RFC 7541 §4.2 requires at the start of the next block. */
  setMaxTableSize(n: number): void {
    const size = n < DEFAULT_TABLE_SIZE ? n : DEFAULT_TABLE_SIZE;
    if (size === this.table.max && this.pendingMin < 0) return;
    if (this.pendingMin < 0 || size < this.pendingMin) this.pendingMin = size;
    this.table.resize(size);
  }

  /** Entries in the dynamic table (for tests and stats). */
  get tableLength(): number {
    return this.table.count;
  }

  /**
   * Encodes `raw` (name, value, name, value…; names already lower case, latin1 strings) as one
   * header block appended to `w`. Static-table full matches as indexed fields; otherwise literal
   * with incremental indexing for names worth indexing (repeated response / request headers, so
   * the second request's block is mostly 1-byte indexed fields), literal without indexing for the
   * per-message names of NOT_INDEXED and for fields taking more than 3/4 of the table (they would
   * flush it; nghttp2's rule), literal never-indexed for `authorization`, `proxy-authorization`
   * and `cookie` values under 20 bytes (nghttp2 never-indexes the first and the cookies; we add
   * proxy credentials). Huffman only when shorter (as nghttp2).
   */
  encode(raw: readonly string[], w: ByteWriter): void {
    const table = this.table;
    if (this.pendingMin >= 0) {
      // The smallest size since the last block, then the final one if it differs (§4.2).
      integer(w, 0x20, 5, this.pendingMin);
      if (table.max !== this.pendingMin) integer(w, 0x20, 5, table.max);
      this.pendingMin = -1;
    }
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!;
      const value = raw[i + 1]!;
      const staticValues = STATIC_FULL_INDEX.get(name);
      if (staticValues !== undefined) {
        const full = staticValues.get(value);
        if (full !== undefined) {
          integer(w, 0x80, 7, full);
          continue;
        }
      }
      const dynValues = table.byName.get(name);
      if (dynValues !== undefined) {
        const seq = dynValues.get(value);
        if (seq !== undefined) {
          integer(w, 0x80, 7, table.index(seq));
          continue;
        }
      }
      let nameIndex = STATIC_NAME_INDEX.get(name);
      if (nameIndex === undefined) {
        const seq = table.nameSeq.get(name);
        nameIndex = seq === undefined ? 0 : table.index(seq);
      }
      if (
        name === "authorization" ||
        name === "proxy-authorization" ||
        (name === "cookie" && value.length < COOKIE_NEVER_INDEX_BELOW)
      ) {
        integer(w, 0x10, 4, nameIndex);
      } else if (NOT_INDEXED.has(name) || (name.length + value.length + ENTRY_OVERHEAD) * 4 > table.max * 3) {
        integer(w, 0x00, 4, nameIndex);
      } else {
        integer(w, 0x40, 6, nameIndex);
        if (nameIndex === 0) this.string(w, name);
        this.string(w, value);
        table.insert(name, value);
        continue;
      }
      if (nameIndex === 0) this.string(w, name);
      this.string(w, value);
    }
  }

  /** Writes a string literal (§5.2), Huffman-coded when that is shorter. */
  private string(w: ByteWriter, s: string): void {
    const n = s.length;
    const h = n > 0 ? huffmanEncodedLength(s) : 0;
    if (h < n) {
      integer(w, 0x80, 7, h);
      w.ensure(h);
      w.length = huffmanEncode(s, w.buffer(), w.length);
    } else {
      integer(w, 0x00, 7, n);
      w.latin1(s);
    }
  }
}

/** Writes `value` as an integer with an N-bit prefix (§5.1) after the pattern bits `first`. */
function integer(w: ByteWriter, first: number, prefixBits: number, value: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    w.byte(first | value);
    return;
  }
  w.byte(first | max);
  value -= max;
  while (value >= 0x80) {
    w.byte((value & 0x7f) | 0x80);
    value = Math.floor(value / 0x80);
  }
  w.byte(value);
}
