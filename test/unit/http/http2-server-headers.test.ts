// The downstream HTTP/2 header rules (http-message.ts): pseudo-headers become fields, `:authority`
// becomes the first `host` entry, cookies are joined, connection-specific headers never go out,
// header limits; and the preface check codec_type AUTO makes on a connection's first bytes.

import { describe, expect, it } from "vitest";
import { decodeHttp2Request, encodeHttp2Headers } from "../../../src/http/codec/http2-server-headers.js";
import { headerListFromRaw } from "../../../src/http/codec/http2-header-block.js";
import { matchHttp2Preface, PrefaceMatch } from "../../../src/http/codec/http2-preface.js";
import { HeaderList } from "../../../src/http/header-list.js";

const BIG = 60 * 1024;

describe("decodeHttp2Request", () => {
  it("pseudo-headers are fields; :authority is the first host entry; cookies are joined with '; '", () => {
    const d = decodeHttp2Request([":method", "POST", ":scheme", "http", ":authority", "svc:8080", ":path", "/a/./b/../c?q=1", "cookie", "a=1", "x-y", "z", "cookie", "b=2"], false, BIG, 100);
    if (typeof d === "string") throw new Error(d);
    expect(d.req.method).toBe("POST");
    expect(d.req.path).toBe("/a/c?q=1");
    expect(d.originalPath).toBe("/a/./b/../c?q=1");
    expect(d.req.authority).toBe("svc:8080");
    expect(d.req.protocol).toBe("HTTP/2");
    expect(d.req.upgrade).toBe(false);
    expect(d.req.headers.names).toEqual(["host", "x-y", "cookie"]);
    expect(d.req.headers.values).toEqual(["svc:8080", "z", "a=1; b=2"]);
    expect(d.req.headers.get("host")).toBe("svc:8080");
    // HeaderList stays consistent when a filter adds to it.
    d.req.headers.add("X-Added", "1");
    expect(d.req.headers.get("x-added")).toBe("1");
    expect(d.req.headers.names).toHaveLength(4);
  });

  it(":authority wins over a host header; host alone is the authority", () => {
    const both = decodeHttp2Request([":method", "GET", ":scheme", "http", ":authority", "a", ":path", "/", "host", "b"], false, BIG, 100);
    if (typeof both === "string") throw new Error(both);
    expect(both.req.authority).toBe("a");
    expect(both.req.headers.getAll("host")).toEqual(["a"]);
    const hostOnly = decodeHttp2Request([":method", "GET", ":scheme", "http", ":path", "/", "host", "b"], false, BIG, 100);
    if (typeof hostOnly === "string") throw new Error(hostOnly);
    expect(hostOnly.req.authority).toBe("b");
  });

  it("scheme: the client's http/https, else by the connection", () => {
    const tls = decodeHttp2Request([":method", "GET", ":scheme", "foo", ":authority", "a", ":path", "/"], true, BIG, 100);
    if (typeof tls === "string") throw new Error(tls);
    expect(tls.req.scheme).toBe("https");
    const plain = decodeHttp2Request([":method", "GET", ":scheme", "https", ":authority", "a", ":path", "/"], false, BIG, 100);
    if (typeof plain === "string") throw new Error(plain);
    expect(plain.req.scheme).toBe("https");
  });

  it("OPTIONS * passes; no authority, a relative path and CONNECT are refused; limits count every name and value", () => {
    const star = decodeHttp2Request([":method", "OPTIONS", ":scheme", "http", ":authority", "a", ":path", "*"], false, BIG, 100);
    expect(typeof star === "string" ? star : star.req.path).toBe("*");
    expect(decodeHttp2Request([":method", "GET", ":scheme", "http", ":path", "/"], false, BIG, 100)).toBe("missing_host_header");
    expect(decodeHttp2Request([":method", "GET", ":scheme", "http", ":authority", "a", ":path", "x"], false, BIG, 100)).toBe("invalid_path");
    expect(decodeHttp2Request([":method", "CONNECT", ":authority", "db:5432"], false, BIG, 100)).toBe("connect_unsupported");
    const base = [":method", "GET", ":scheme", "http", ":authority", "a", ":path", "/"];
    expect(decodeHttp2Request([...base, "x", "y".repeat(100)], false, 100, 100)).toBe("header_overflow");
    expect(decodeHttp2Request([...base, "x", "1", "y", "2"], false, BIG, 5)).toBe("header_overflow");
    expect(typeof decodeHttp2Request([...base, "x", "1"], false, BIG, 5)).toBe("object");
  });
});

describe("encodeHttp2Headers", () => {
  it(":status first, names lower-case, connection-specific headers, te and stray pseudo-headers dropped", () => {
    const h = HeaderList.from([["Content-Type", "text/plain"], ["Connection", "keep-alive"], ["Keep-Alive", "timeout=5"], ["Transfer-Encoding", "chunked"], ["Upgrade", "h2c"], ["Proxy-Connection", "x"], ["TE", "trailers"], [":path", "/"], ["Set-Cookie", "a"], ["set-cookie", "b"]]);
    expect(encodeHttp2Headers(204, h)).toEqual([":status", "204", "content-type", "text/plain", "set-cookie", "a", "set-cookie", "b"]);
    expect(encodeHttp2Headers(0, HeaderList.from([["grpc-status", "0"]]))).toEqual(["grpc-status", "0"]);
  });

  it("what HTTP/2 cannot carry is undefined: status 101 or out of range, a control byte in a value, a name that is not a token", () => {
    const ok = HeaderList.from([["x", "1"]]);
    expect(encodeHttp2Headers(101, ok)).toBeUndefined();
    expect(encodeHttp2Headers(99, ok)).toBeUndefined();
    expect(encodeHttp2Headers(600, ok)).toBeUndefined();
    expect(encodeHttp2Headers(200, HeaderList.from([["x", "a\r\nb"]]))).toBeUndefined();
    expect(encodeHttp2Headers(200, HeaderList.from([["x", "a\u0000"]]))).toBeUndefined();
    expect(encodeHttp2Headers(200, HeaderList.from([["bad name", "v"]]))).toBeUndefined();
    expect(encodeHttp2Headers(200, HeaderList.from([["x", "tab\tand obs-text \u00e9"]]))).toEqual([":status", "200", "x", "tab\tand obs-text \u00e9"]);
  });

  it("trailers decode without pseudo-headers", () => {
    const t = headerListFromRaw(["grpc-status", "0", "x-a", "1", "x-a", "2"]);
    expect(t.getAll("x-a")).toEqual(["1", "2"]);
    t.add("X-B", "3");
    expect(t.get("x-b")).toBe("3");
  });
});

describe("matchHttp2Preface", () => {
  const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  it("the whole preface, a prefix of it, and anything else", () => {
    expect(matchHttp2Preface(preface)).toBe(PrefaceMatch.Full);
    expect(matchHttp2Preface(Buffer.concat([preface, Buffer.from([0, 0, 0, 4])]))).toBe(PrefaceMatch.Full);
    for (let n = 1; n < preface.length; n++) expect(matchHttp2Preface(preface.subarray(0, n))).toBe(PrefaceMatch.Partial);
    expect(matchHttp2Preface(Buffer.from("GET / HTTP/1.1\r\n"))).toBe(PrefaceMatch.No);
    expect(matchHttp2Preface(Buffer.from("POST / HTTP/1.1\r\n"))).toBe(PrefaceMatch.No);
    expect(matchHttp2Preface(Buffer.from("PRI * HTTP/2.0\r\n\r\nXX"))).toBe(PrefaceMatch.No);
  });
});
