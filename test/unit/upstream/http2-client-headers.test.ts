// The HTTP/2 client codec's header mapping (http-message.ts's rules): request headers → an
// nghttp2 header block, a received raw header list → a HeaderList.

import { describe, expect, it } from "vitest";
import { HeaderList } from "../../../src/http/header-list.js";
import { http2RequestHeaders, http2TrailerBlock } from "../../../src/http/codec/http2-client-headers.js";
import { headerListFromRaw } from "../../../src/http/codec/http2-header-block.js";
import type { RequestHeaders } from "../../../src/http/http-message.js";

/** The raw block as an object (repeated names as arrays), for assertions. */
function asObject(raw: string[]): Record<string, string | string[]> {
  const o: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!;
    const prev = o[k];
    o[k] = prev === undefined ? raw[i + 1]! : Array.isArray(prev) ? [...prev, raw[i + 1]!] : [prev, raw[i + 1]!];
  }
  return o;
}

function req(headers: Array<[string, string]>, authority = "svc"): RequestHeaders {
  return { method: "POST", path: "/p?q=1", authority, scheme: "https", protocol: "HTTP/1.1", headers: HeaderList.from(headers), upgrade: false };
}

describe("http2RequestHeaders", () => {
  it("pseudo-headers from the request; the Host header (rewrites change it) is :authority and never sent as host", () => {
    const h = asObject(http2RequestHeaders(req([["Host", "rewritten:8080"], ["X-A", "1"]])));
    expect({ ...h }).toEqual({ ":method": "POST", ":scheme": "https", ":path": "/p?q=1", ":authority": "rewritten:8080", "x-a": "1" });
  });

  it("without a Host header, the request's authority", () => {
    expect(asObject(http2RequestHeaders(req([], "fallback")))[":authority"]).toBe("fallback");
  });

  it("drops connection-specific headers; te passes only as trailers", () => {
    const h = asObject(
      http2RequestHeaders(
        req([
          ["Connection", "keep-alive"],
        ["Keep-Alive", "timeout=5"],
        ["Proxy-Connection", "x"],
        ["Transfer-Encoding", "chunked"],
        ["Upgrade", "h2c"],
        ["HTTP2-Settings", "AAA"],
        ["TE", " Trailers "],
        ["te", "trailers"],
        ]),
      ),
    );
    expect(Object.keys(h).filter((k) => !k.startsWith(":"))).toEqual(["te"]);
    expect(h.te).toBe("trailers");
    expect(asObject(http2RequestHeaders(req([["te", "gzip"]]))).te).toBeUndefined();
  });

  it("joins cookies with '; ' and keeps other repeated headers as several values in order", () => {
    const raw = http2RequestHeaders(
      req([
        ["Cookie", "a=1"],
        ["X-Rep", "1"],
        ["cookie", "b=2"],
        ["x-rep", "2"],
        ["x-rep", "3"],
      ]),
    );
    const h = asObject(raw);
    expect(h.cookie).toBe("a=1; b=2");
    expect(h["x-rep"]).toEqual(["1", "2", "3"]);
    // One cookie header; the others keep their order as separate entries.
    expect(raw.filter((_, i) => i % 2 === 0 && i >= 8)).toEqual(["x-rep", "x-rep", "x-rep", "cookie"]);
  });
});

describe("http2TrailerBlock", () => {
  it("keeps the trailers in order with lower-case names, repeats as repeats", () => {
    expect(http2TrailerBlock(HeaderList.from([["Grpc-Status", "0"], ["x-sum", "a"], ["X-Sum", "b"]]))).toEqual(["grpc-status", "0", "x-sum", "a", "x-sum", "b"]);
  });

  it("drops pseudo-headers, connection-specific names and te (RFC 9113 §8.1)", () => {
    const block = http2TrailerBlock(
      HeaderList.from([
        [":status", "200"],
        ["connection", "close"],
        ["transfer-encoding", "chunked"],
        ["te", "trailers"],
        ["host", "h"],
        ["x-ok", "1"],
      ]),
    );
    expect(block).toEqual(["x-ok", "1"]);
  });

  it("an empty list is an empty block (the codec then ends the stream with an empty DATA frame)", () => {
    expect(http2TrailerBlock(HeaderList.from([]))).toEqual([]);
  });
});

describe("headerListFromRaw", () => {
  it("leaves pseudo-headers out, keeps order and repeats, and the list stays editable", () => {
    const l = headerListFromRaw([":status", "200", "set-cookie", "a", "x-b", "1", "set-cookie", "b"]);
    expect(l.getAll("set-cookie")).toEqual(["a", "b"]);
    expect(l.names).toEqual(["set-cookie", "x-b", "set-cookie"]);
    l.add("X-New", "v");
    expect(l.get("x-new")).toBe("v");
    expect(l.names).toHaveLength(4);
  });
});
