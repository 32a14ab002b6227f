// The HPACK Huffman code (RFC 7541 §5.2, Appendix B): the RFC's Appendix C strings byte-for-byte,
// every symbol, seeded random strings, and each way a Huffman string can be malformed.

import { describe, expect, it } from "vitest";
import { huffmanDecode, huffmanDecodedMax, huffmanEncode, huffmanEncodedLength } from "../../../../../src/http/codec/h2/huffman.js";
import { prng } from "../../../../helpers/seeded-random.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");

function encode(s: string): Buffer {
  const out = Buffer.alloc(huffmanEncodedLength(s));
  const end = huffmanEncode(s, out, 0);
  expect(end).toBe(out.length);
  return out;
}

function decode(b: Buffer): string | null {
  const dst = Buffer.alloc(huffmanDecodedMax(b.length));
  const n = huffmanDecode(b, 0, b.length, dst);
  return n < 0 ? null : dst.toString("latin1", 0, n);
}


// RFC 7541 Appendix C.4 and C.6: every Huffman-coded string of the examples.
const RFC_STRINGS: Array<[string, string]> = [
  ["www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff"],
  ["no-cache", "a8eb 1064 9cbf"],
  ["custom-key", "25a8 49e9 5ba9 7d7f"],
  ["custom-value", "25a8 49e9 5bb8 e8b4 bf"],
  ["302", "6402"],
  ["private", "aec3 771a 4b"],
  ["Mon, 21 Oct 2013 20:13:21 GMT", "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff"],
  ["https://www.example.com", "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3"],
  ["307", "640e ff"],
  ["Mon, 21 Oct 2013 20:13:22 GMT", "d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff"],
  ["gzip", "9bd9 ab"],
  ["foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1", "94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07"],
];

describe("huffman", () => {
  it("encodes and decodes the RFC 7541 Appendix C strings byte for byte", () => {
    for (const [text, code] of RFC_STRINGS) {
      expect(encode(text).toString("hex")).toBe(hex(code).toString("hex"));
      expect(huffmanEncodedLength(text)).toBe(hex(code).length);
      expect(decode(hex(code))).toBe(text);
    }
  });

  it("round-trips every symbol alone, and all 256 in one string", () => {
    let all = "";
    for (let c = 0; c < 256; c++) {
      const s = String.fromCharCode(c);
      all += s;
      expect(decode(encode(s))).toBe(s);
      expect(decode(encode(s + s + s))).toBe(s + s + s);
    }
    expect(decode(encode(all))).toBe(all);
  });

  it("round-trips seeded random strings, the decoded length within huffmanDecodedMax", () => {
    const rand = prng(7541);
    for (let i = 0; i < 2000; i++) {
      const len = Math.floor(rand() * 64);
      let s = "";
      // Half the strings printable ASCII (short codes), half any byte (codes up to 30 bits).
      const wide = i % 2 === 0;
      for (let j = 0; j < len; j++) s += String.fromCharCode(wide ? Math.floor(rand() * 256) : 32 + Math.floor(rand() * 95));
      const code = encode(s);
      expect(huffmanDecodedMax(code.length)).toBeGreaterThanOrEqual(len);
      expect(decode(code)).toBe(s);
    }
  });

  it("encodes at an offset into a larger buffer, leaving the bytes around it", () => {
    const dst = Buffer.alloc(20, 0xaa);
    const end = huffmanEncode("no-cache", dst, 3);
    expect(end).toBe(9);
    expect(dst.subarray(3, 9).toString("hex")).toBe("a8eb10649cbf");
    expect(dst[2]).toBe(0xaa);
    expect(dst[9]).toBe(0xaa);
  });

  it("decodes the empty string", () => {
    expect(decode(Buffer.alloc(0))).toBe("");
    expect(huffmanEncodedLength("")).toBe(0);
  });

  it("refuses EOS inside a string", () => {
    // EOS is 30 one-bits: four 0xff bytes hold it plus 2 bits of padding.
    expect(decode(hex("ffffffff"))).toBeNull();
    // 'a' (00011) then EOS: the string must be refused even after a valid symbol.
    expect(decode(hex("1fffffffff"))).toBeNull();
  });

  it("refuses padding longer than 7 bits", () => {
    // 'a' = 00011 + 111 pads a whole byte; one more 0xff byte is 11 bits of padding.
    expect(decode(hex("1f"))).toBe("a");
    expect(decode(hex("1fff"))).toBeNull();
    // A lone 0xff: 8 bits of padding.
    expect(decode(hex("ff"))).toBeNull();
  });

  it("refuses padding that is not all ones", () => {
    expect(decode(hex("18"))).toBeNull(); // 00011 000
    expect(decode(hex("1e"))).toBeNull(); // 00011 110
    // A partial code that is not a prefix of EOS: 'www.example.com' with its last byte zeroed.
    expect(decode(hex("f1e3c2e5f23a6ba0ab90f400"))).toBeNull();
  });
});
