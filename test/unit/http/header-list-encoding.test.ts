import { describe, expect, it } from "vitest";
import { writeLatin1 } from "../../../src/http/codec/latin1.js";
import { HeaderList } from "../../../src/http/header-list.js";

describe("HeaderList wire encoding", () => {
  it("encodeTo writes exactly the bytes serialize() sends as latin1, and encodedLength counts them", () => {
    const h = HeaderList.from([
      ["Host", "svc.example:8080"],
      ["x-long", "v".repeat(300)],
      ["x-obs-text", "caf\u00e9"],
      ["x-empty", ""],
    ]);
    const buf = Buffer.alloc(h.encodedLength() + 3, 0x2a);
    const end = h.encodeTo(buf, 1);
    expect(end).toBe(1 + h.encodedLength());
    expect(buf.subarray(1, end)).toEqual(Buffer.from(h.serialize(), "latin1"));
    expect(buf[0]).toBe(0x2a);
    expect(buf[end]).toBe(0x2a);
  });

  it("an empty list encodes to nothing", () => {
    const h = new HeaderList();
    expect(h.encodedLength()).toBe(0);
    expect(h.encodeTo(Buffer.alloc(0), 0)).toBe(0);
  });

  it("writeLatin1 keeps each UTF-16 unit's low byte, short and long, as Node's latin1 does", () => {
    for (const s of ["a\u263a\u00ff", "\u263a".repeat(100)]) {
      const buf = Buffer.alloc(s.length);
      expect(writeLatin1(buf, 0, s)).toBe(s.length);
      expect(buf).toEqual(Buffer.from(s, "latin1"));
    }
  });

  it("removing headers keeps the order of the rest", () => {
    const h = HeaderList.from([
      ["a", "1"],
      ["Connection", "close"],
      ["b", "2"],
      ["connection", "x"],
      ["c", "3"],
    ]);
    expect(h.remove("connection")).toBe(2);
    expect(h.serialize()).toBe("a: 1\r\nb: 2\r\nc: 3\r\n");
    h.removeAt(2);
    h.removeAt(0);
    expect([h.names, h.lower, h.values]).toEqual([["b"], ["b"], ["2"]]);
  });
});
