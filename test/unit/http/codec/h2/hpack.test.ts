// HPACK (RFC 7541): the decoder and encoder against every example of Appendix C (byte for byte
// where the RFC fixes the encoding, table evolution where our indexing choices differ), seeded
// random round trips with table size changes, every malformed input, the list limits, and
// interop with nghttp2 itself (node:http2) in both directions over a raw socket.

import { describe, expect, it } from "vitest";
import { connect as h2connect, type ClientHttp2Session, type IncomingHttpHeaders } from "node:http2";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { ByteWriter, HpackDecoder, HpackEncoder, HpackError } from "../../../../../src/http/codec/h2/hpack.js";
import { prng } from "../../../../helpers/seeded-random.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const NO_LIMIT = 1 << 30;

function decodeAll(d: HpackDecoder, block: Buffer): string[] {
  const out: string[] = [];
  d.decode(block, out, NO_LIMIT, NO_LIMIT);
  return out;
}

function tableOf(d: HpackDecoder): Array<[string, string]> {
  const t: Array<[string, string]> = [];
  for (let i = 0; i < d.tableLength; i++) t.push(d.tableEntry(i));
  return t;
}

function encodeBlock(e: HpackEncoder, raw: string[]): Buffer {
  const w = new ByteWriter(16);
  e.encode(raw, w);
  return w.take();
}

function flat(pairs: Array<[string, string]>): string[] {
  return pairs.flat();
}


interface Step {
  block: string;
  headers: Array<[string, string]>;
  table: Array<[string, string]>;
  size: number;
}

const C3: Step[] = [
  {
    block: "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    headers: [[":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "www.example.com"]],
    table: [[":authority", "www.example.com"]],
    size: 57,
  },
  {
    block: "8286 84be 5808 6e6f 2d63 6163 6865",
    headers: [[":method", "GET"], [":scheme", "http"], [":path", "/"], [":authority", "www.example.com"], ["cache-control", "no-cache"]],
    table: [["cache-control", "no-cache"], [":authority", "www.example.com"]],
    size: 110,
  },
  {
    block: "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
    headers: [[":method", "GET"], [":scheme", "https"], [":path", "/index.html"], [":authority", "www.example.com"], ["custom-key", "custom-value"]],
    table: [["custom-key", "custom-value"], ["cache-control", "no-cache"], [":authority", "www.example.com"]],
    size: 164,
  },
];

const C4: Step[] = [
  { ...C3[0]!, block: "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff" },
  { ...C3[1]!, block: "8286 84be 5886 a8eb 1064 9cbf" },
  { ...C3[2]!, block: "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf" },
];

const DATE1 = "Mon, 21 Oct 2013 20:13:21 GMT";
const DATE2 = "Mon, 21 Oct 2013 20:13:22 GMT";
const LOC = "https://www.example.com";
const COOKIE = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";

const C5: Step[] = [
  {
    block:
      "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    headers: [[":status", "302"], ["cache-control", "private"], ["date", DATE1], ["location", LOC]],
    table: [["location", LOC], ["date", DATE1], ["cache-control", "private"], [":status", "302"]],
    size: 222,
  },
  {
    block: "4803 3330 37c1 c0bf",
    headers: [[":status", "307"], ["cache-control", "private"], ["date", DATE1], ["location", LOC]],
    table: [[":status", "307"], ["location", LOC], ["date", DATE1], ["cache-control", "private"]],
    size: 222,
  },
  {
    block:
      "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31",
    headers: [[":status", "200"], ["cache-control", "private"], ["date", DATE2], ["location", LOC], ["content-encoding", "gzip"], ["set-cookie", COOKIE]],
    table: [["set-cookie", COOKIE], ["content-encoding", "gzip"], ["date", DATE2]],
    size: 215,
  },
];

const C6: Step[] = [
  { ...C5[0]!, block: "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3" },
  { ...C5[1]!, block: "4883 640e ffc1 c0bf" },
  {
    ...C5[2]!,
    block:
      "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
  },
];

function runDecoderSteps(steps: Step[], tableSize: number): void {
  const d = new HpackDecoder(tableSize);
  // The RFC's responses assume the encoder shrank the table to 256 (it would signal it; the
  // examples start from a decoder already at 256).
  for (const step of steps) {
    const out: string[] = [];
    const size = d.decode(hex(step.block), out, NO_LIMIT, NO_LIMIT);
    expect(out).toEqual(flat(step.headers));
    expect(size).toBe(step.headers.reduce((n, [a, b]) => n + a.length + b.length + 32, 0));
    expect(tableOf(d)).toEqual(step.table);
    expect(d.tableSize).toBe(step.size);
  }
}

describe("HpackDecoder: RFC 7541 Appendix C", () => {
  it("C.2.1 literal with indexing", () => {
    const d = new HpackDecoder();
    expect(decodeAll(d, hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"))).toEqual(["custom-key", "custom-header"]);
    expect(tableOf(d)).toEqual([["custom-key", "custom-header"]]);
    expect(d.tableSize).toBe(55);
  });

  it("C.2.2 literal without indexing", () => {
    const d = new HpackDecoder();
    expect(decodeAll(d, hex("040c 2f73 616d 706c 652f 7061 7468"))).toEqual([":path", "/sample/path"]);
    expect(d.tableLength).toBe(0);
  });

  it("C.2.3 literal never indexed", () => {
    const d = new HpackDecoder();
    expect(decodeAll(d, hex("1008 7061 7373 776f 7264 0673 6563 7265 74"))).toEqual(["password", "secret"]);
    expect(d.tableLength).toBe(0);
  });

  it("C.2.4 indexed field", () => {
    const d = new HpackDecoder();
    expect(decodeAll(d, hex("82"))).toEqual([":method", "GET"]);
    expect(d.tableLength).toBe(0);
  });

  it("C.3 requests without Huffman", () => runDecoderSteps(C3, 4096));
  it("C.4 requests with Huffman", () => runDecoderSteps(C4, 4096));
  it("C.5 responses without Huffman, evicting at 256", () => runDecoderSteps(C5, 256));
  it("C.6 responses with Huffman, evicting at 256", () => runDecoderSteps(C6, 256));
});

describe("HpackEncoder: RFC 7541 Appendix C", () => {
  it("C.4 requests byte for byte (the RFC's encoder makes our choices: index, Huffman when shorter)", () => {
    const e = new HpackEncoder();
    for (const step of C4) {
      expect(encodeBlock(e, flat(step.headers)).toString("hex")).toBe(hex(step.block).toString("hex"));
      expect(e.tableLength).toBe(step.table.length);
    }
  });

  it("C.3 requests: the same fields Huffman-coded (shorter) decode to the RFC's lists and tables", () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    for (const step of C3) {
      const block = encodeBlock(e, flat(step.headers));
      expect(decodeAll(d, block)).toEqual(flat(step.headers));
      expect(tableOf(d)).toEqual(step.table);
    }
  });

  it("C.5/C.6 responses at table size 256: signalled size, nghttp2's choices (location and set-cookie not indexed)", () => {
    const e = new HpackEncoder();
    e.setMaxTableSize(256);
    const d = new HpackDecoder();
    const blocks: Buffer[] = [];
    for (const step of C6) {
      const block = encodeBlock(e, flat(step.headers));
      blocks.push(block);
      expect(decodeAll(d, block)).toEqual(flat(step.headers));
      expect(d.tableLength).toBe(e.tableLength);
    }
    // The first block opens with the size update to 256 (001 11111, 256 - 31 = 225 → e1 01).
    expect(blocks[0]!.subarray(0, 3).toString("hex")).toBe("3fe101");
    expect(blocks[1]![0]).not.toBe(0x3f);
    // location and set-cookie never enter the table; :status, cache-control, date and
    // content-encoding do, with the oldest evicted at 256.
    const names = tableOf(d).map(([n]) => n);
    expect(names).not.toContain("location");
    expect(names).not.toContain("set-cookie");
    // 42 + 52 + 65 (first) + 42 (second) = 201; the third's date (65) evicts :status 302 and
    // content-encoding (52) evicts cache-control.
    expect(tableOf(d)).toEqual([["content-encoding", "gzip"], ["date", DATE2], [":status", "307"], ["date", DATE1]]);
    expect(d.tableSize).toBe(224);
    // The second response: :status 307 indexed as the RFC does but raw (Huffman is not shorter for
    // "307": 3 bytes either way; nghttp2 also takes Huffman only when shorter), cache-control and
    // date one-byte indexed fields (64, 63), location a literal without indexing (0000 1111 + 31).
    expect(blocks[1]!.subarray(0, 9).toString("hex")).toBe("4803333037c0bf0f1f");
  });
});

describe("HpackEncoder choices", () => {
  it("repeats are one-byte indexed fields on the second block", () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const req = [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "svc.ns.svc.cluster.local:8080", "user-agent", "h2load nghttp2/1.59.0", "x-request-id", "abc", "accept", "*/*"];
    const first = encodeBlock(e, req);
    const second = encodeBlock(e, req);
    expect(decodeAll(d, first)).toEqual(req);
    expect(decodeAll(d, second)).toEqual(req);
    expect(second.length).toBe(req.length / 2);
    for (const b of second) expect(b & 0x80).toBe(0x80);
  });

  it("authorization, proxy-authorization and cookies under 20 bytes are never indexed; longer cookies are indexed", () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const raw = ["authorization", "Bearer abc", "proxy-authorization", "Basic xyz", "cookie", "a=b", "cookie", "session=0123456789ab", "cookie", "session=0123456789a"];
    const block = encodeBlock(e, raw);
    expect(decodeAll(d, block)).toEqual(raw);
    // authorization (static 23) never indexed: 0001 1111 + 8 (= 23 - 15).
    expect(block.subarray(0, 2).toString("hex")).toBe("1f08");
    // 20 bytes is indexed, 19 is not; never-indexed fields are 0001 xxxx.
    expect(tableOf(d)).toEqual([["cookie", "session=0123456789ab"]]);
    const first = (name: string, value: string): string => encodeBlock(new HpackEncoder(), [name, value]).subarray(0, 2).toString("hex");
    expect(first("proxy-authorization", "Basic xyz")).toBe("1f22"); // static 49 = 15 + 34
    expect(first("cookie", "session=0123456789a")).toBe("1f11"); // static 32 = 15 + 17
    expect(first("cookie", "session=0123456789ab").slice(0, 2)).toBe("60"); // with indexing, static 32
    expect(first("authorization", "x".repeat(100))).toBe("1f08");
    expect(e.tableLength).toBe(1);
  });

  it("per-message fields (:path, content-length, etag, location, set-cookie, age, if-*) are literals without indexing", () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const raw = [":path", "/a/b?c=d", "content-length", "1234", "etag", "\"x\"", "location", "/elsewhere", "set-cookie", "a=b", "age", "3", "if-none-match", "\"y\"", "if-modified-since", DATE1];
    const block = encodeBlock(e, raw);
    expect(decodeAll(d, block)).toEqual(raw);
    expect(d.tableLength).toBe(0);
    expect(block[0]! & 0xf0).toBe(0x00);
  });

  it("a new name reuses a dynamic entry's name index", () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const b1 = encodeBlock(e, ["x-trace", "1"]);
    const b2 = encodeBlock(e, ["x-trace", "2"]);
    expect(decodeAll(d, b1)).toEqual(["x-trace", "1"]);
    expect(decodeAll(d, b2)).toEqual(["x-trace", "2"]);
    expect(b2[0]).toBe(0x40 | 62);
  });

  it("a field taking more than 3/4 of the table is sent without indexing and the table is kept (nghttp2)", () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    // 5 + 3035 + 32 = 3072 = 3/4 of 4096: indexed; one byte more is not.
    const raw = ["x-a", "1", "x-big", "v".repeat(3036), "x-fit", "w".repeat(3035), "x-huge", "h".repeat(5000), "x-a", "1"];
    const block = encodeBlock(e, raw);
    expect(decodeAll(d, block)).toEqual(raw);
    expect(tableOf(d)).toEqual([["x-fit", "w".repeat(3035)], ["x-a", "1"]]);
    expect(e.tableLength).toBe(2);
  });

  it("latin1 values above 0x7f survive, byte for byte", () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const raw = ["x-bin", "\u00ff\u0080\u00e9abc\u0001", "x-empty", ""];
    expect(decodeAll(d, encodeBlock(e, raw))).toEqual(raw);
  });

  it("table size changes: the smallest then the final size are signalled at the next block (§4.2)", () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    decodeAll(d, encodeBlock(e, ["x-a", "1", "x-b", "2"]));
    expect(d.tableLength).toBe(2);
    e.setMaxTableSize(0);
    e.setMaxTableSize(8192); // capped at 4096
    const block = encodeBlock(e, ["x-a", "1"]);
    // 0 then 4096 (001 11111, 4096 - 31 = 4065 → e1 1f).
    expect(block.subarray(0, 4).toString("hex")).toBe("203fe11f");
    expect(decodeAll(d, block)).toEqual(["x-a", "1"]);
    // The update to 0 emptied both tables; x-a was re-added after.
    expect(tableOf(d)).toEqual([["x-a", "1"]]);
    expect(e.tableLength).toBe(1);
    // No change → no update on the next block.
    e.setMaxTableSize(4096);
    expect(encodeBlock(e, ["x-a", "1"]).toString("hex")).toBe("be");
  });

  it("a table size of 0 sends every field as a literal and the decoder's table stays empty", () => {
    const e = new HpackEncoder();
    e.setMaxTableSize(0);
    const d = new HpackDecoder();
    for (let i = 0; i < 3; i++) {
      const raw = ["x-a", "1", "server", "outrigger"];
      expect(decodeAll(d, encodeBlock(e, raw))).toEqual(raw);
      expect(d.tableLength).toBe(0);
      expect(e.tableLength).toBe(0);
    }
  });
});

describe("round trip of random header lists", () => {
  const NAMES = [":status", ":method", ":path", ":authority", ":scheme", "content-type", "content-length", "date", "server", "x-request-id", "x-envoy-upstream-service-time", "cookie", "set-cookie", "authorization", "accept-encoding", "user-agent", "x-b3-traceid", "etag", "via", "x-custom-a", "x-custom-b", "grpc-status", "te"];
  const VALUES = ["", "GET", "POST", "/", "/index.html", "200", "404", "gzip, deflate", "http", "https", "text/html", "application/grpc", "0", "trailers"];

  function randomString(rand: () => number, max: number): string {
    const len = Math.floor(rand() * max);
    let s = "";
    for (let i = 0; i < len; i++) s += String.fromCharCode(rand() < 0.8 ? 32 + Math.floor(rand() * 95) : Math.floor(rand() * 256));
    return s;
  }

  it("encoder → decoder across 3000 blocks with table size changes keeps lists and tables equal", () => {
    const rand = prng(0x7541);
    const e = new HpackEncoder();
    const d = new HpackDecoder(4096);
    const sizes = [0, 64, 256, 1000, 4096, 65536];
    for (let block = 0; block < 3000; block++) {
      if (rand() < 0.02) e.setMaxTableSize(sizes[Math.floor(rand() * sizes.length)]!);
      const raw: string[] = [];
      const fields = Math.floor(rand() * 20);
      for (let f = 0; f < fields; f++) {
        const name = rand() < 0.7 ? NAMES[Math.floor(rand() * NAMES.length)]! : "x-" + randomString(rand, 12).toLowerCase().replace(/[^a-z0-9-]/g, "z");
        const value = rand() < 0.4 ? VALUES[Math.floor(rand() * VALUES.length)]! : randomString(rand, rand() < 0.05 ? 600 : 40);
        raw.push(name, value);
      }
      const w = new ByteWriter(8);
      w.byte(0xee); // blocks are appended: what the writer held stays
      e.encode(raw, w);
      const bytes = w.take(1);
      expect(w.length).toBe(1);
      const out: string[] = [];
      const size = d.decode(bytes, out, NO_LIMIT, NO_LIMIT);
      expect(out).toEqual(raw);
      let expected = 0;
      for (let i = 0; i < raw.length; i += 2) expected += raw[i]!.length + raw[i + 1]!.length + 32;
      expect(size).toBe(expected);
      expect(d.tableLength).toBe(e.tableLength);
      expect(d.tableSize).toBeLessThanOrEqual(4096);
    }
  });
});

describe("HpackDecoder: malformed blocks throw HpackError", () => {
  const cases: Array<[string, string]> = [
    ["indexed field with index 0", "80"],
    ["indexed field past the static table on an empty dynamic table", "be"],
    ["indexed field far past the table", "ff 80 01"],
    ["literal name index past the table", "7f 00 01 61"],
    ["never-indexed name index past the table", "1f 30 01 61"],
    ["integer prefix with no continuation byte", "ff"],
    ["integer continuation cut off", "ff 80"],
    ["integer above 2^31 - 1", "ff ff ff ff ff 0f"],
    ["integer encoding longer than 5 continuation bytes", "ff 80 80 80 80 80 00"],
    ["literal with no name string", "40"],
    ["literal with no value string", "40 01 61"],
    ["name string past the end", "40 05 61 62"],
    ["value string past the end", "41 03 61"],
    ["huge string length", "40 7f ff ff ff 07 61"],
    ["Huffman string with EOS", "40 84 ff ff ff ff 01 61"],
    ["Huffman string with 11 bits of padding", "40 82 1f ff 01 61"],
    ["Huffman padding not all ones", "40 81 18 01 61"],
    ["Huffman value with EOS", "41 84 ff ff ff ff"],
    ["table size update above the limit", "3f e2 1f"],
    ["table size update after a field", "82 20"],
    ["table size update after a literal", "0001 61 01 62 3f e1 01"],
  ];
  for (const [what, block] of cases) {
    it(what, () => {
      const d = new HpackDecoder();
      expect(() => d.decode(hex(block), [], NO_LIMIT, NO_LIMIT)).toThrow(HpackError);
    });
  }

  it("a size update to the exact limit is accepted, and two updates at the start too", () => {
    const d = new HpackDecoder(4096);
    expect(decodeAll(d, hex("3f e1 1f 20 82"))).toEqual([":method", "GET"]);
    const small = new HpackDecoder(100);
    expect(() => small.decode(hex("3f 46"), [], NO_LIMIT, NO_LIMIT)).toThrow(HpackError); // 101
    expect(decodeAll(small, hex("3f 45 82"))).toEqual([":method", "GET"]); // 100
  });

  it("an error thrown is an Error named HpackError", () => {
    try {
      new HpackDecoder().decode(hex("80"), [], NO_LIMIT, NO_LIMIT);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).name).toBe("HpackError");
    }
  });
});

describe("HpackDecoder limits keep the table in step", () => {
  it("maxListSize: fields past it are not appended, indexing still happens, the full size is returned", () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const raw = ["x-a", "1".repeat(50), "x-b", "2".repeat(50), "x-c", "3".repeat(50)];
    const out: string[] = [];
    const size = d.decode(encodeBlock(e, raw), out, 100, NO_LIMIT);
    expect(size).toBe(3 * (3 + 50 + 32));
    expect(out).toEqual(raw.slice(0, 2));
    expect(d.tableLength).toBe(3);
    // The next block refers to all three entries: decoded right, so the table stayed in step.
    expect(decodeAll(d, encodeBlock(e, raw))).toEqual(raw);
  });

  it("maxPairs: at most that many pairs are appended, the rest still decoded", () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const raw: string[] = [];
    for (let i = 0; i < 10; i++) raw.push(`x-${i}`, `v${i}`);
    const out: string[] = [];
    const size = d.decode(encodeBlock(e, raw), out, NO_LIMIT, 4);
    expect(out).toEqual(raw.slice(0, 8));
    expect(size).toBe(10 * (3 + 2 + 32));
    expect(d.tableLength).toBe(10);
    expect(decodeAll(d, encodeBlock(e, raw))).toEqual(raw);
  });

  it("appends after what `out` already holds", () => {
    const d = new HpackDecoder();
    const out = ["a", "b"];
    d.decode(hex("82"), out, NO_LIMIT, NO_LIMIT);
    expect(out).toEqual(["a", "b", ":method", "GET"]);
  });
});

describe("ByteWriter", () => {
  it("grows, reserves, takes and rewinds", () => {
    const w = new ByteWriter(1);
    const at = w.reserve(3);
    expect(at).toBe(0);
    for (let i = 0; i < 100; i++) w.byte(i);
    w.latin1("h\u00e9llo-this-is-a-longer-string");
    w.bytes(Buffer.from([1, 2, 3]));
    w.buffer()[0] = 9;
    const all = w.take();
    expect(all.length).toBe(3 + 100 + 29 + 3);
    expect(all[0]).toBe(9);
    expect(all[3 + 99]).toBe(99);
    expect(all.toString("latin1", 103, 132)).toBe("h\u00e9llo-this-is-a-longer-string");
    expect(w.length).toBe(0);
    w.latin1("ab");
    w.latin1("cd");
    expect(w.take(1).toString("latin1")).toBe("bcd");
    expect(w.length).toBe(1);
  });
});

// ---- interop with nghttp2 (node:http2) over a raw socket ----

const PREFACE_LEN = 24;
const SETTINGS = 4;
const HEADERS = 1;
const CONTINUATION = 9;

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId, 5);
  return Buffer.concat([h, payload]);
}

/**
 * A raw HTTP/2 server: skips the client preface, answers SETTINGS, and hands each complete header
 * block (HEADERS + CONTINUATION, padding and priority removed) to `onBlock`.
 */
function rawServer(onBlock: (socket: Socket, streamId: number, block: Buffer) => void, onSettings?: (payload: Buffer) => void): Promise<Server> {
  const server = createServer((socket) => {
    let buf = Buffer.alloc(0);
    let prefaceSeen = false;
    let pending: Buffer[] = [];
    let pendingStream = 0;
    socket.write(frame(SETTINGS, 0, 0, Buffer.alloc(0)));
    socket.on("error", () => {});
    socket.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!prefaceSeen) {
        if (buf.length < PREFACE_LEN) return;
        buf = buf.subarray(PREFACE_LEN);
        prefaceSeen = true;
      }
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const type = buf[3]!;
        const flags = buf[4]!;
        const streamId = buf.readUInt32BE(5) & 0x7fffffff;
        let payload = buf.subarray(9, 9 + len);
        buf = buf.subarray(9 + len);
        if (type === SETTINGS && (flags & 1) === 0) {
          onSettings?.(payload);
          socket.write(frame(SETTINGS, 1, 0, Buffer.alloc(0)));
        } else if (type === HEADERS || type === CONTINUATION) {
          if (type === HEADERS) {
            let start = 0;
            let end = payload.length;
            if (flags & 0x8) {
              end -= payload[0]!;
              start = 1;
            }
            if (flags & 0x20) start += 5;
            payload = payload.subarray(start, end);
            pending = [];
            pendingStream = streamId;
          }
          pending.push(Buffer.from(payload));
          if (flags & 0x4) onBlock(socket, pendingStream, Buffer.concat(pending));
        }
      }
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function close(server: Server, client: ClientHttp2Session): Promise<void> {
  client.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

describe("interop with nghttp2 (node:http2)", () => {
  it("decodes the header blocks a node:http2 client sends", async () => {
    const d = new HpackDecoder();
    const decoded: string[][] = [];
    const wanted = 40;
    let done!: () => void;
    const allSeen = new Promise<void>((r) => (done = r));
    const server = await rawServer((_s, _id, block) => {
      const out: string[] = [];
      d.decode(block, out, NO_LIMIT, NO_LIMIT);
      decoded.push(out);
      if (decoded.length === wanted) done();
    });
    const port = (server.address() as AddressInfo).port;
    const client = h2connect(`http://127.0.0.1:${port}`);
    client.on("error", () => {});
    const sent: Array<Record<string, string>> = [];
    for (let i = 0; i < wanted; i++) {
      const headers: Record<string, string> = {
        ":method": i % 3 === 0 ? "POST" : "GET",
        ":path": `/api/items/${i % 5}?q=${"x".repeat(i)}`,
        "user-agent": "interop-test/1.0",
        "x-request-id": `req-${i}-${"r".repeat(i * 7)}`,
        "x-same": "always the same value",
        cookie: i % 2 === 0 ? "short=1" : `long-session-cookie=${"c".repeat(40)}${i}`,
        authorization: `Bearer token-${i % 4}`,
        "x-big": "B".repeat(200 + i * 13), // distinct and large: forces eviction in nghttp2's table
      };
      if (i % 4 === 0) headers["x-binary"] = "tab\there ~!@#$%^&*()_+{}|:<>?";
      sent.push(headers);
      const req = client.request(headers, { endStream: true });
      req.on("error", () => {});
    }
    await allSeen;
    await close(server, client);
    expect(decoded.length).toBe(wanted);
    // Streams arrive in order; each decoded list carries what was sent (plus :scheme/:authority).
    for (let i = 0; i < wanted; i++) {
      const out = decoded[i]!;
      const got = new Map<string, string>();
      for (let j = 0; j < out.length; j += 2) got.set(out[j]!, out[j + 1]!);
      for (const [k, v] of Object.entries(sent[i]!)) expect(got.get(k)).toBe(v);
      expect(got.get(":scheme")).toBe("http");
      expect(got.get(":authority")).toBe(`127.0.0.1:${port}`);
    }
  });

  it("a node:http2 client reads the response header blocks our encoder makes (with its table size)", async () => {
    const e = new HpackEncoder();
    let responses = 0;
    const server = await rawServer(
      (socket, streamId) => {
        const n = responses++;
        const raw = [":status", n % 3 === 0 ? "200" : "404", "content-type", "application/json", "server", "outrigger", "x-envoy-upstream-service-time", String(n), "x-big", "Y".repeat(150 + n * 11), "set-cookie", `id=${n}`, "date", DATE1, "x-latin1", "caf\u00e9"];
        const w = new ByteWriter();
        const at = w.reserve(9);
        e.encode(raw, w);
        const len = w.length - at - 9;
        const b = w.buffer();
        b.writeUIntBE(len, at, 3);
        b[at + 3] = HEADERS;
        b[at + 4] = 0x4 | 0x1; // END_HEADERS | END_STREAM
        b.writeUInt32BE(streamId, at + 5);
        socket.write(w.take());
      },
      (payload) => {
        for (let i = 0; i + 6 <= payload.length; i += 6) if (payload.readUInt16BE(i) === 1) e.setMaxTableSize(payload.readUInt32BE(i + 2));
      },
    );
    const port = (server.address() as AddressInfo).port;
    // The client advertises a 512-byte table: our encoder must signal the size and evict within it.
    const client = h2connect(`http://127.0.0.1:${port}`, { settings: { headerTableSize: 512 } });
    client.on("error", () => {});
    const got: IncomingHttpHeaders[] = [];
    for (let i = 0; i < 30; i++) {
      const req = client.request({ ":path": `/${i}` }, { endStream: true });
      const headers = await new Promise<IncomingHttpHeaders>((resolve, reject) => {
        req.on("response", resolve);
        req.on("error", reject);
      });
      got.push(headers);
      req.resume();
    }
    await close(server, client);
    for (let n = 0; n < got.length; n++) {
      const h = got[n]!;
      expect(h[":status"]).toBe(n % 3 === 0 ? 200 : 404);
      expect(h["content-type"]).toBe("application/json");
      expect(h["server"]).toBe("outrigger");
      expect(h["x-envoy-upstream-service-time"]).toBe(String(n));
      expect(h["x-big"]).toBe("Y".repeat(150 + n * 11));
      expect(h["set-cookie"]).toEqual([`id=${n}`]);
      expect(h["date"]).toBe(DATE1);
      expect(Buffer.from(h["x-latin1"] as string, "latin1").toString("latin1")).toBe("caf\u00e9");
    }
    expect(e.tableLength).toBeGreaterThan(0);
  });
});
