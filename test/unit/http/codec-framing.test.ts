import { describe, expect, it } from "vitest";
import { requestFraming, responseFraming, validateResponseHead } from "../../../src/http/codec/framing.js";
import { HeadErrorKind } from "../../../src/http/codec/head-parser.js";
import { isValidHost, parseRequestTarget } from "../../../src/http/codec/request-target.js";
import { trimOws } from "../../../src/http/codec/char-tables.js";
import { HeaderList } from "../../../src/http/header-list.js";

const h = (...pairs: Array<[string, string]>) => HeaderList.from(pairs);

function kindOf(f: () => unknown): HeadErrorKind | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    return (e as { kind: HeadErrorKind }).kind;
  }
}

describe("request framing", () => {
  it("decides length, chunked or none", () => {
    expect(requestFraming(h(["Content-Length", "007"]))).toEqual({ kind: "length", length: 7 });
    expect(requestFraming(h(["Transfer-Encoding", "Chunked"]))).toEqual({ kind: "chunked" });
    expect(requestFraming(h())).toEqual({ kind: "none" });
  });

  it.each<[string, Array<[string, string]>, number, HeadErrorKind]>([
    ["CL list", [["Content-Length", "5, 5"]], 1, HeadErrorKind.Malformed],
    ["CL twice", [["Content-Length", "5"], ["content-length", "5"]], 1, HeadErrorKind.Malformed],
    ["CL with NBSP", [["Content-Length", "\xa05"]], 1, HeadErrorKind.Malformed],
    ["CL + TE", [["Content-Length", "5"], ["Transfer-Encoding", "chunked"]], 1, HeadErrorKind.Malformed],
    ["TE on 1.0", [["Transfer-Encoding", "chunked"]], 0, HeadErrorKind.Malformed],
    ["TE gzip", [["Transfer-Encoding", "gzip"]], 1, HeadErrorKind.UnsupportedTransferEncoding],
    ["TE chunked NBSP", [["Transfer-Encoding", "chunked\xa0"]], 1, HeadErrorKind.UnsupportedTransferEncoding],
  ])("refuses %s", (_n, pairs, minor, kind) => {
    expect(kindOf(() => requestFraming(h(...pairs), minor))).toBe(kind);
  });
});

describe("response framing", () => {
  it("refuses an unsolicited 101 and accepts a requested one", () => {
    const head = { status: 101, versionMinor: 1, headers: h(["Upgrade", "websocket"]) };
    expect(kindOf(() => validateResponseHead(head, { method: "GET", upgradeRequested: false }))).toBe(HeadErrorKind.Malformed);
    expect(validateResponseHead(head, { method: "GET", upgradeRequested: true })).toEqual({ kind: "none" });
  });

  it("drops a 204's Content-Length: 0 and refuses a non-zero one", () => {
    const ok = h(["Content-Length", "0"]);
    expect(responseFraming(204, "GET", ok)).toEqual({ kind: "none" });
    expect(ok.has("content-length")).toBe(false);
    expect(kindOf(() => responseFraming(204, "GET", h(["Content-Length", "3"])))).toBe(HeadErrorKind.Malformed);
  });

  it("reads to close without framing headers, and canonicalises a length", () => {
    expect(responseFraming(200, "GET", h())).toEqual({ kind: "close" });
    const cl = h(["Content-Length", "0012"]);
    expect(responseFraming(200, "GET", cl)).toEqual({ kind: "length", length: 12 });
    expect(cl.get("content-length")).toBe("12");
  });
});

describe("request targets and Host", () => {
  it.each([
    ["/a#f", "/a", undefined],
    ["http://h?q", "/?q", "h"],
    ["HTTPS://H:1/p#x", "/p", "H:1"],
    ["*", "*", undefined],
  ])("%s → %s", (target, path, authority) => {
    expect(parseRequestTarget("OPTIONS", target)).toEqual({ path, authority });
  });

  it.each(["http://u@h/", "ftp://h/", "h/p", "http:///p", "http://h:x/"])("refuses %s", (t) => {
    expect(() => parseRequestTarget("GET", t)).toThrow();
  });

  it.each(["h", "h:80", "h:", "[::1]:8080", "a-b.c_d~e", "ex%41mple"])("accepts Host %s", (v) => expect(isValidHost(v)).toBe(true));
  it.each(["", "a b", "u@h", "h/p", "h:8x", "h:123456", "[::1", "\xa0h", "h#f", "ex%4", "[zz]"])("refuses Host %j", (v) => expect(isValidHost(v)).toBe(false));

  it("trims only SP and HTAB", () => {
    expect(trimOws(" \t5\t ")).toBe("5");
    expect(trimOws("\xa05\u000b")).toBe("\xa05\u000b");
  });
});
