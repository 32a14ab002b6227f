import { describe, expect, it } from "vitest";
import { BodyReader } from "../../../src/http/codec/body-reader.js";
import { CHUNKED } from "../../../src/http/codec/framing.js";

/** Feeds `wire` to a chunked reader in pieces of `step` bytes; returns the canonical output. */
function reencode(wire: string, step: number): { out: string; end: number } {
  const r = new BodyReader(CHUNKED);
  const buf = Buffer.from(wire, "latin1");
  let out = "";
  for (let i = 0; i < buf.length; i += step) {
    const piece = buf.subarray(i, Math.min(buf.length, i + step));
    const end = r.consume(piece, 0, piece.length);
    out += r.takeChunked()?.toString("latin1") ?? "";
    if (end !== -1) return { out, end: i + end };
  }
  return { out, end: -1 };
}

describe("BodyReader chunked re-encoding", () => {
  const wire = "0003;ext=1\r\nabc\r\nA\r\n0123456789\r\n0;x\r\nX-T: 1\r\n\r\nNEXT";
  it.each([1, 2, 3, 7, 1000])("gives canonical bytes whatever the read size (%i)", (step) => {
    const { out, end } = reencode(wire, step);
    // Coalescing depends on read boundaries; the canonical shape, the payload and the end of the
    // body never do.
    let rest = out;
    let payload = "";
    for (;;) {
      const m = /^([1-9a-f][0-9a-f]*)\r\n/.exec(rest);
      if (m === null) break;
      const n = parseInt(m[1]!, 16);
      payload += rest.slice(m[0].length, m[0].length + n);
      expect(rest.slice(m[0].length + n, m[0].length + n + 2)).toBe("\r\n");
      rest = rest.slice(m[0].length + n + 2);
    }
    expect(rest).toBe("0\r\n\r\n");
    expect(payload).toBe("abc0123456789");
    expect(end).toBe(wire.indexOf("NEXT"));
  });

  it("re-encodes one read as one chunk", () => {
    expect(reencode(wire, 10_000).out).toBe("d\r\nabc0123456789\r\n0\r\n\r\n");
  });

  it.each([
    ["5 \r\nhello\r\n0\r\n\r\n", "space after the size"],
    ["5;a\rb\r\nhello\r\n0\r\n\r\n", "lone CR in an extension"],
    ["5\r\nhello\r\n0\r\nbad line\r\n\r\n", "trailer without a colon"],
    ["5\r\nhello\r\n0\r\nX: 1\r\n y\r\n\r\n", "obs-folded trailer"],
    ["5\r\nhello\r\n0\r\nX: 1\n\r\n", "bare LF in the trailers"],
    ["1000000000000\r\n", "size of 2^48"],
  ])("refuses %j (%s) even byte by byte", (bad) => {
    expect(() => reencode(bad, 1)).toThrow();
    expect(() => reencode(bad, 1000)).toThrow();
  });

  it("does not collect payload when a sink takes it", () => {
    const got: string[] = [];
    const r = new BodyReader(CHUNKED, (b, s, e) => got.push(b.toString("latin1", s, e)));
    const buf = Buffer.from("3\r\nabc\r\n0\r\n\r\n");
    expect(r.consume(buf, 0, buf.length)).toBe(buf.length);
    expect(got.join("")).toBe("abc");
    expect(r.takeChunked()?.toString()).toBe("0\r\n\r\n");
  });

  it("streams a Content-Length body without copying", () => {
    const r = new BodyReader({ kind: "length", length: 3 });
    const buf = Buffer.from("abcdef");
    expect(r.consume(buf, 0, buf.length)).toBe(3);
    expect(r.done).toBe(true);
  });
});
