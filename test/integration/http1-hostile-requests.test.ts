// Hostile-input corpus, request side: every case is raw client bytes, the exact replies, and exactly
// the requests the upstream receives (a raw TCP upstream records the bytes). Each runs on an
// outbound and an inbound listener. Where llhttp (Node), Envoy or nginx decide otherwise, the
// note says so.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TrafficDirection } from "../../src/config/model/types.js";
import { HOST, LOCAL_BODY, OK_GET, fwd, get, post, type RequestCase } from "../helpers/hostile-cases.js";
import { exchange, startHostileBed, upstreamSettled, type HostileBed } from "../helpers/hostile-harness.js";

const E400: Pick<RequestCase, "replies" | "upstream"> = { replies: [400], upstream: [] };
const E501: Pick<RequestCase, "replies" | "upstream"> = { replies: [501], upstream: [] };

const CHUNKED_ABC = fwd("POST / HTTP/1.1", ["Host: x", "Transfer-Encoding: chunked"], "3\r\nabc\r\n0\r\n\r\n");
const HELLO = (headers: string[]) => fwd("POST / HTTP/1.1", ["Host: x", ...headers], "hello");
const TE = "Transfer-Encoding: chunked";

const requestLine: RequestCase[] = [
  { name: "plain GET", send: get("/"), replies: [200], upstream: [OK_GET] },
  { name: "lower-case method", send: `get / HTTP/1.1\r\n${HOST}\r\n`, ...E400, note: "llhttp HPE_INVALID_METHOD, Envoy 400, nginx 400" },
  { name: "mixed-case method", send: `Get / HTTP/1.1\r\n${HOST}\r\n`, ...E400 },
  { name: "unknown method", send: `FOO / HTTP/1.1\r\n${HOST}\r\n`, ...E400, note: "llhttp and Envoy 400; nginx forwards any upper-case method" },
  { name: "method with a non-token byte", send: `G@T / HTTP/1.1\r\n${HOST}\r\n`, ...E400 },
  { name: "known WebDAV method", send: `PROPFIND / HTTP/1.1\r\n${HOST}\r\n`, replies: [200], upstream: [fwd("PROPFIND / HTTP/1.1", ["Host: x"])] },
  { name: "two spaces after the method", send: `GET  / HTTP/1.1\r\n${HOST}\r\n`, ...E400, note: "nginx tolerates repeated SP" },
  { name: "trailing space after the version", send: `GET / HTTP/1.1 \r\n${HOST}\r\n`, ...E400 },
  { name: "HTAB as separator", send: `GET\t/ HTTP/1.1\r\n${HOST}\r\n`, ...E400 },
  { name: "leading space", send: ` GET / HTTP/1.1\r\n${HOST}\r\n`, ...E400 },
  { name: "HTTP/1.2", send: `GET / HTTP/1.2\r\n${HOST}\r\n`, ...E400, note: "nginx serves it as 1.1; llhttp 400" },
  { name: "HTTP/2.0 request line on HTTP/1", send: `GET / HTTP/2.0\r\n${HOST}\r\n`, ...E400, note: "nginx 505" },
  { name: "HTTP/0.9 version", send: `GET / HTTP/0.9\r\n${HOST}\r\n`, ...E400 },
  { name: "lower-case version", send: `GET / http/1.1\r\n${HOST}\r\n`, ...E400 },
  { name: "HTTP/0.9 simple request", send: "GET /\r\n\r\n", ...E400 },
  { name: "bare LF line endings", send: "GET / HTTP/1.1\nHost: x\n\n", ...E400, note: "nginx and llhttp (lenient) accept bare LF" },
  { name: "bare LF ending one header", send: "GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", ...E400 },
  { name: "empty lines before the request line are skipped", send: `\r\n\r\n${get("/")}`, replies: [200], upstream: [OK_GET] },
  { name: "NUL in the target", send: `GET /a\x00b HTTP/1.1\r\n${HOST}\r\n`, ...E400 },
  { name: "byte >= 0x80 in the target", send: `GET /caf\xe9 HTTP/1.1\r\n${HOST}\r\n`, ...E400, note: "nginx accepts raw UTF-8 in paths" },
  { name: "DEL in the target", send: `GET /a\x7f HTTP/1.1\r\n${HOST}\r\n`, ...E400 },
  // The whole preface selects the HTTP/2 codec (codec_type AUTO; http2-downstream.test.ts); bytes that only start like it are HTTP/1.
  { name: "an HTTP/2 preface look-alike (PRI request line, other body)", send: "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", ...E400 },
  { name: "CONNECT", send: `CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n`, ...E400, note: "Envoy 404 without a CONNECT route" },
];

const targets: RequestCase[] = [
  { name: "fragment stripped", send: get("/a#frag"), replies: [200], upstream: [fwd("GET /a HTTP/1.1", ["Host: x"])], note: "Istio strips (http_reject_path_with_fragment=false); Envoy's default 400; nginx and llhttp forward it" },
  { name: "fragment after a query stripped", send: get("/a?q=1#f"), replies: [200], upstream: [fwd("GET /a?q=1 HTTP/1.1", ["Host: x"])] },
  { name: "bare # stripped", send: get("/#"), replies: [200], upstream: [OK_GET] },
  { name: "fragment hiding a dot-segment", send: get("/a/..#/../b"), replies: [200], upstream: [OK_GET] },
  { name: "asterisk-form with GET", send: get("*"), ...E400 },
  { name: "absolute-form", send: get("http://y/abs"), replies: [200], upstream: [fwd("GET /abs HTTP/1.1", ["Host: y"])] },
  { name: "absolute-form without a path", send: get("http://y"), replies: [200], upstream: [fwd("GET / HTTP/1.1", ["Host: y"])] },
  { name: "absolute-form with a query but no path: the query is not the Host", send: get("http://y?q=1"), replies: [200], upstream: [fwd("GET /?q=1 HTTP/1.1", ["Host: y"])] },
  { name: "absolute-form with a fragment but no path", send: get("http://y#f"), replies: [200], upstream: [fwd("GET / HTTP/1.1", ["Host: y"])] },
  { name: "absolute-form with userinfo", send: get("http://user@y/"), ...E400, note: "RFC 9110 §4.2.4; llhttp and nginx accept" },
  { name: "absolute-form with user:password", send: get("http://u:p@y/"), ...E400 },
  { name: "absolute-form with an upper-case scheme", send: get("HTTP://Y/"), replies: [200], upstream: [fwd("GET / HTTP/1.1", ["Host: Y"])] },
  { name: "absolute-form https", send: get("https://y/"), replies: [200], upstream: [fwd("GET / HTTP/1.1", ["Host: y"])] },
  { name: "absolute-form with another scheme", send: get("ftp://y/"), ...E400 },
  { name: "relative target", send: get("a/b"), ...E400 },
  { name: "absolute-form with an empty authority", send: get("http:///p"), ...E400 },
  { name: "absolute-form with a port", send: get("http://y:8080/p"), replies: [200], upstream: [fwd("GET /p HTTP/1.1", ["Host: y:8080"])] },
  { name: "absolute-form with an IPv6 literal", send: get("http://[::1]:8080/p"), replies: [200], upstream: [fwd("GET /p HTTP/1.1", ["Host: [::1]:8080"])] },
  { name: "absolute-form with a bad port", send: get("http://y:8x/p"), ...E400 },
  { name: "absolute-form with a backslash in the authority", send: get("http://y\\z/p"), ...E400 },
  { name: "dot-segments normalised", send: get("/a/../b/./c"), replies: [200], upstream: [fwd("GET /b/c HTTP/1.1", ["Host: x"])] },
  { name: "encoded dot-segments normalised", send: get("/a/%2e%2E/b"), replies: [200], upstream: [fwd("GET /b HTTP/1.1", ["Host: x"])] },
  { name: "double slash kept (merge_slashes off)", send: get("//a"), replies: [200], upstream: [fwd("GET //a HTTP/1.1", ["Host: x"])] },
];

const hosts: RequestCase[] = [
  { name: "HTTP/1.1 without Host", send: "GET / HTTP/1.1\r\n\r\n", ...E400 },
  { name: "two Host headers", send: `GET / HTTP/1.1\r\n${HOST}Host: y\r\n\r\n`, ...E400 },
  { name: "two equal Host headers", send: `GET / HTTP/1.1\r\n${HOST}${HOST}\r\n`, ...E400 },
  { name: "empty Host", send: "GET / HTTP/1.1\r\nHost:\r\n\r\n", ...E400, note: "RFC 9112 allows an empty Host only when the target has no authority; Envoy 400" },
  { name: "Host with a space", send: "GET / HTTP/1.1\r\nHost: x y\r\n\r\n", ...E400 },
  { name: "a valid Host, then an invalid one on the same connection", send: get("/") + "GET / HTTP/1.1\r\nHost: x y\r\n\r\n", replies: [200, 400], upstream: [OK_GET] },
  { name: "a valid Host, then another valid one on the same connection", send: get("/") + "GET / HTTP/1.1\r\nHost: y\r\n\r\n", replies: [200, 200], upstream: [OK_GET, fwd("GET / HTTP/1.1", ["Host: y"])] },
  { name: "Host with userinfo", send: "GET / HTTP/1.1\r\nHost: u@x\r\n\r\n", ...E400, note: "Envoy's authority check allows '@'" },
  { name: "Host with a path", send: "GET / HTTP/1.1\r\nHost: x/y\r\n\r\n", ...E400 },
  { name: "Host with a backslash", send: "GET / HTTP/1.1\r\nHost: x\\y\r\n\r\n", ...E400 },
  { name: "Host with a non-numeric port", send: "GET / HTTP/1.1\r\nHost: x:y\r\n\r\n", ...E400 },
  { name: "Host with a six-digit port", send: "GET / HTTP/1.1\r\nHost: x:123456\r\n\r\n", ...E400 },
  { name: "Host with a query", send: "GET / HTTP/1.1\r\nHost: x?y\r\n\r\n", ...E400 },
  { name: "Host with a fragment", send: "GET / HTTP/1.1\r\nHost: x#y\r\n\r\n", ...E400 },
  { name: "Host with a byte >= 0x80", send: "GET / HTTP/1.1\r\nHost: caf\xe9\r\n\r\n", ...E400 },
  { name: "Host with NBSP in front", send: "GET / HTTP/1.1\r\nHost: \xa0x\r\n\r\n", ...E400 },
  { name: "Host IPv6 literal", send: "GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n", replies: [200], upstream: [fwd("GET / HTTP/1.1", ["Host: [::1]"])] },
  { name: "Host with an empty port", send: "GET / HTTP/1.1\r\nHost: x:\r\n\r\n", replies: [200], upstream: [fwd("GET / HTTP/1.1", ["Host: x:"])] },
  { name: "Host with OWS around it", send: "GET / HTTP/1.1\r\nHost: \tx \r\n\r\n", replies: [200], upstream: [OK_GET] },
  { name: "absolute-form replaces Host", send: `GET http://y/ HTTP/1.1\r\n${HOST}\r\n`, replies: [200], upstream: [fwd("GET / HTTP/1.1", ["Host: y"])] },
  { name: "absolute-form with an invalid Host header still 400", send: "GET http://y/ HTTP/1.1\r\nHost: a b\r\n\r\n", ...E400 },
  { name: "HTTP/1.0 without Host", send: "GET / HTTP/1.0\r\n\r\n", ...E400, note: "Envoy missing_host_header" },
  { name: "HTTP/1.0 absolute-form without Host", send: "GET http://y/ HTTP/1.0\r\n\r\n", replies: [200], upstream: [fwd("GET / HTTP/1.1", ["Host: y"])], close: true },
];

const headerSyntax: RequestCase[] = [
  { name: "space in a header name", send: get("/", "Bad Header: v\r\n"), ...E400 },
  { name: "space before the colon", send: get("/", "X : v\r\n"), ...E400 },
  { name: "HTAB before the colon", send: get("/", "X\t: v\r\n"), ...E400 },
  { name: "empty header name", send: get("/", ": v\r\n"), ...E400 },
  { name: "obs-fold with SP", send: get("/", "X: a\r\n b\r\n"), ...E400, note: "llhttp (lenient) and nginx unfold" },
  { name: "obs-fold with HTAB", send: get("/", "X: a\r\n\tb\r\n"), ...E400 },
  { name: "NUL in a header name", send: get("/", "X\x00Y: v\r\n"), ...E400 },
  { name: "byte >= 0x80 in a header name", send: get("/", "X-\xe9: v\r\n"), ...E400 },
  { name: "CR in a header name", send: get("/", "X\rY: v\r\n"), ...E400 },
  { name: "NUL in a header value", send: get("/", "X: a\x00b\r\n"), ...E400 },
  { name: "lone CR in a header value", send: get("/", "X: a\rb\r\n"), ...E400 },
  { name: "DEL in a header value", send: get("/", "X: a\x7fb\r\n"), ...E400 },
  { name: "SOH in a header value", send: get("/", "X: a\x01b\r\n"), ...E400 },
  { name: "VT in a header value", send: get("/", "X: a\x0bb\r\n"), ...E400 },
  { name: "obs-text in a header value is kept", send: get("/", "X: caf\xe9\r\n"), replies: [200], upstream: [fwd("GET / HTTP/1.1", ["Host: x", "X: caf\xe9"])] },
  { name: "NBSP is a value byte, not whitespace", send: get("/", "X: \xa0v\r\n"), replies: [200], upstream: [fwd("GET / HTTP/1.1", ["Host: x", "X: \xa0v"])] },
  { name: "SP/HTAB OWS trimmed", send: get("/", "X: \t v \t\r\n"), replies: [200], upstream: [fwd("GET / HTTP/1.1", ["Host: x", "X: v"])] },
  { name: "a line without a colon", send: get("/", "Garbage\r\n"), ...E400 },
  { name: "a line of spaces", send: get("/", "   \r\n"), ...E400 },
  { name: "repeated headers forwarded in order", send: get("/", "X-A: 1\r\nX-A: 2\r\n"), replies: [200], upstream: [fwd("GET / HTTP/1.1", ["Host: x", "X-A: 1", "X-A: 2"])] },
  { name: "empty header value", send: get("/", "X-E:\r\n"), replies: [200], upstream: [fwd("GET / HTTP/1.1", ["Host: x", "X-E: "])] },
];

const contentLength: RequestCase[] = [
  { name: "Content-Length body", send: post(["Content-Length: 5"], "hello"), replies: [200], upstream: [HELLO(["Content-Length: 5"])] },
  { name: "leading zeros re-encoded", send: post(["Content-Length: 005"], "hello"), replies: [200], upstream: [HELLO(["Content-Length: 5"])], note: "llhttp, Envoy and nginx accept leading zeros" },
  { name: "OWS around the length", send: post(["Content-Length:\t5 "], "hello"), replies: [200], upstream: [HELLO(["Content-Length: 5"])] },
  { name: "list of equal lengths", send: post(["Content-Length: 5, 5"], "hello"), ...E400, note: "RFC 9110 §8.6 allows collapsing; llhttp, Envoy (http-parser) and nginx reject" },
  { name: "repeated equal Content-Length", send: post(["Content-Length: 5", "Content-Length: 5"], "hello"), ...E400 },
  { name: "conflicting Content-Length", send: post(["Content-Length: 5", "Content-Length: 6"], "hello!"), ...E400 },
  { name: "plus sign", send: post(["Content-Length: +5"], "hello"), ...E400 },
  { name: "negative", send: post(["Content-Length: -1"], "hello"), ...E400 },
  { name: "trailing letter", send: post(["Content-Length: 5a"], "hello"), ...E400 },
  { name: "hex", send: post(["Content-Length: 0x5"], "hello"), ...E400 },
  { name: "NBSP before the digits", send: post(["Content-Length: \xa05"], "hello"), ...E400 },
  { name: "NBSP after the digits", send: post(["Content-Length: 5\xa0"], "hello"), ...E400 },
  { name: "space inside the number", send: post(["Content-Length: 1 2"], "hello"), ...E400 },
  { name: "empty", send: post(["Content-Length:"], "hello"), ...E400 },
  { name: "decimal point", send: post(["Content-Length: 5.0"], "hello"), ...E400 },
  { name: "exponent", send: post(["Content-Length: 1e1"], "hello"), ...E400 },
  { name: "twenty digits", send: post(["Content-Length: 99999999999999999999"], "hello"), ...E400 },
  { name: "zero", send: post(["Content-Length: 0"], ""), replies: [200], upstream: [fwd("POST / HTTP/1.1", ["Host: x", "Content-Length: 0"])] },
  { name: "double zero re-encoded", send: post(["Content-Length: 00"], ""), replies: [200], upstream: [fwd("POST / HTTP/1.1", ["Host: x", "Content-Length: 0"])] },
  { name: "upper-case name", send: post(["CONTENT-LENGTH: 5"], "hello"), replies: [200], upstream: [HELLO(["CONTENT-LENGTH: 5"])] },
  { name: "body followed by a pipelined request", send: post(["Content-Length: 3"], "abc") + get("/n"), replies: [200, 200], upstream: [fwd("POST / HTTP/1.1", ["Host: x", "Content-Length: 3"], "abc"), fwd("GET /n HTTP/1.1", ["Host: x"])] },
  { name: "Content_Length (underscore) is not a length: the body is the next request", send: post(["Content_Length: 5"], "hello\r\n\r\n"), replies: [200, 400], upstream: [fwd("POST / HTTP/1.1", ["Host: x", "Content_Length: 5"])], note: "Envoy forwards underscores (headers_with_underscores_action ALLOW) likewise" },
];

const transferEncoding: RequestCase[] = [
  { name: "chunked", send: post([TE], "3\r\nabc\r\n0\r\n\r\n"), replies: [200], upstream: [CHUNKED_ABC] },
  { name: "CHUNKED re-encoded canonically", send: post(["Transfer-Encoding: CHUNKED"], "3\r\nabc\r\n0\r\n\r\n"), replies: [200], upstream: [CHUNKED_ABC] },
  { name: "chunked with OWS", send: post(["Transfer-Encoding: \tchunked "], "3\r\nabc\r\n0\r\n\r\n"), replies: [200], upstream: [CHUNKED_ABC] },
  { name: "chunked followed by NBSP", send: post(["Transfer-Encoding: chunked\xa0"], "3\r\nabc\r\n0\r\n\r\n"), ...E501, note: "Envoy and nginx 501; llhttp 400" },
  { name: "NBSP before chunked", send: post(["Transfer-Encoding: \xa0chunked"], "3\r\nabc\r\n0\r\n\r\n"), ...E501 },
  { name: "gzip, chunked", send: post(["Transfer-Encoding: gzip, chunked"], "3\r\nabc\r\n0\r\n\r\n"), ...E501, note: "Envoy and nginx 501; llhttp accepts (chunked is final)" },
  { name: "chunked, gzip", send: post(["Transfer-Encoding: chunked, gzip"], "3\r\nabc\r\n0\r\n\r\n"), ...E501, note: "llhttp 400" },
  { name: "gzip", send: post(["Transfer-Encoding: gzip"], "abc"), ...E501 },
  { name: "identity", send: post(["Transfer-Encoding: identity"], ""), ...E501 },
  { name: "two chunked headers", send: post([TE, TE], "3\r\nabc\r\n0\r\n\r\n"), ...E501, note: "Envoy joins them (chunked,chunked): 501; llhttp accepts" },
  { name: "empty Transfer-Encoding", send: post(["Transfer-Encoding:"], ""), ...E501 },
  { name: "xchunked", send: post(["Transfer-Encoding: xchunked"], "3\r\nabc\r\n0\r\n\r\n"), ...E501 },
  { name: "chunked;q=1", send: post(["Transfer-Encoding: chunked;q=1"], "3\r\nabc\r\n0\r\n\r\n"), ...E501 },
  { name: "space before the colon of Transfer-Encoding", send: post(["Transfer-Encoding : chunked"], "3\r\nabc\r\n0\r\n\r\n"), ...E400 },
  { name: "folded onto the previous line", send: post(["X: y", " Transfer-Encoding: chunked"], "3\r\nabc\r\n0\r\n\r\n"), ...E400 },
  { name: "Transfer_Encoding (underscore) frames nothing: the body is the next request", send: post(["Transfer_Encoding: chunked"], "3\r\nabc\r\n0\r\n\r\n"), replies: [200, 400], upstream: [fwd("POST / HTTP/1.1", ["Host: x", "Transfer_Encoding: chunked"])] },
  { name: "chunked GET", send: `GET / HTTP/1.1\r\n${HOST}${TE}\r\n\r\n3\r\nabc\r\n0\r\n\r\n`, replies: [200], upstream: [fwd("GET / HTTP/1.1", ["Host: x", TE], "3\r\nabc\r\n0\r\n\r\n")] },
  { name: "chunked then CL", send: post([TE, "Content-Length: 3"], "3\r\nabc\r\n0\r\n\r\n"), ...E400, note: "Envoy 400 (allow_chunked_length false), llhttp 400, nginx 400" },
  { name: "CL then chunked", send: post(["Content-Length: 3", TE], "3\r\nabc\r\n0\r\n\r\n"), ...E400 },
  { name: "gzip and CL", send: post(["Transfer-Encoding: gzip", "Content-Length: 3"], "abc"), ...E400 },
  { name: "CL with an NBSP-padded TE", send: post(["Content-Length: 3", "Transfer-Encoding: chunked\xa0"], "abc"), ...E400 },
  { name: "CL 0 and chunked", send: post(["Content-Length: 0", TE], "0\r\n\r\n"), ...E400 },
  { name: "TE on HTTP/1.0", send: post([TE], "3\r\nabc\r\n0\r\n\r\n", "1.0"), ...E400, note: "RFC 9112 §6.1; nginx 400" },
  { name: "TE and CL on HTTP/1.0", send: post([TE, "Content-Length: 3"], "abc", "1.0"), ...E400 },
  { name: "TE on a keep-alive HTTP/1.0 request", send: post(["Connection: keep-alive", TE], "3\r\nabc\r\n0\r\n\r\n", "1.0"), ...E400 },
];

const chunks: RequestCase[] = [
  { name: "leading zeros in a chunk size", send: post([TE], "0003\r\nabc\r\n0\r\n\r\n"), replies: [200], upstream: [CHUNKED_ABC] },
  { name: "upper-case hex re-encoded lower-case", send: post([TE], "A\r\n0123456789\r\n0\r\n\r\n"), replies: [200], upstream: [fwd("POST / HTTP/1.1", ["Host: x", TE], "a\r\n0123456789\r\n0\r\n\r\n")] },
  { name: "chunks coalesced", send: post([TE], "1\r\na\r\n2\r\nbc\r\n0\r\n\r\n"), replies: [200], upstream: [CHUNKED_ABC] },
  { name: "empty chunked body", send: post([TE], "0\r\n\r\n"), replies: [200], upstream: [fwd("POST / HTTP/1.1", ["Host: x", TE], "0\r\n\r\n")] },
  { name: "many zeros as the last chunk", send: post([TE], "3\r\nabc\r\n000\r\n\r\n"), replies: [200], upstream: [CHUNKED_ABC] },
  { name: "negative size", send: post([TE], "-3\r\nabc\r\n0\r\n\r\n"), ...E400 },
  { name: "plus sign in a chunk size", send: post([TE], "+3\r\nabc\r\n0\r\n\r\n"), ...E400 },
  { name: "0x prefix", send: post([TE], "0x3\r\nabc\r\n0\r\n\r\n"), ...E400 },
  { name: "size overflowing 64 bits", send: post([TE], "fffffffffffffffff\r\nabc\r\n0\r\n\r\n"), ...E400, note: "llhttp HPE_INVALID_CHUNK_SIZE" },
  { name: "size of 2^48", send: post([TE], "1000000000000\r\nabc\r\n"), ...E400 },
  { name: "space after the size", send: post([TE], "3 \r\nabc\r\n0\r\n\r\n"), ...E400, note: "llhttp strict 400; Envoy (Balsa) and nginx accept" },
  { name: "space before the size", send: post([TE], " 3\r\nabc\r\n0\r\n\r\n"), ...E400 },
  { name: "BWS before an extension", send: post([TE], "3 ;x=1\r\nabc\r\n0\r\n\r\n"), replies: [200], upstream: [CHUNKED_ABC] },
  { name: "empty size line", send: post([TE], "\r\nabc\r\n0\r\n\r\n"), ...E400 },
  { name: "non-hex size", send: post([TE], "zz\r\nabc\r\n0\r\n\r\n"), ...E400 },
  { name: "data longer than its size", send: post([TE], "3\r\nabcd\r\n0\r\n\r\n"), ...E400 },
  { name: "bare LF after the data", send: post([TE], "3\r\nabc\n0\r\n\r\n"), ...E400 },
  { name: "bare LF after the size", send: post([TE], "3\nabc\r\n0\r\n\r\n"), ...E400, note: "llhttp (lenient) accepts" },
  { name: "bare CR after the size", send: post([TE], "3\rabc\r\n0\r\n\r\n"), ...E400 },
  { name: "extension dropped", send: post([TE], "3;x=1\r\nabc\r\n0\r\n\r\n"), replies: [200], upstream: [CHUNKED_ABC] },
  { name: "quoted extension dropped", send: post([TE], '3;x="a;b"\r\nabc\r\n0\r\n\r\n'), replies: [200], upstream: [CHUNKED_ABC] },
  { name: "extension on the last chunk dropped", send: post([TE], "3\r\nabc\r\n0;last\r\n\r\n"), replies: [200], upstream: [CHUNKED_ABC] },
  { name: "NUL in an extension", send: post([TE], "3;a\x00b\r\nabc\r\n0\r\n\r\n"), ...E400 },
  { name: "lone CR in an extension", send: post([TE], "3;a\rb\r\nabc\r\n0\r\n\r\n"), ...E400, note: "the lone-CR chunk-extension smuggling Envoy fixed in Balsa" },
  { name: "bare LF in an extension", send: post([TE], "3;a\nb\r\nabc\r\n0\r\n\r\n"), ...E400 },
  { name: "a 17 KiB extension", send: post([TE], `3;${"a".repeat(17 * 1024)}\r\nabc\r\n0\r\n\r\n`), ...E400 },
  { name: "missing last chunk then a request", send: post([TE], "3\r\nabc\r\n") + get("/x"), ...E400 },
];

const trailers: RequestCase[] = [
  { name: "a trailer is dropped", send: post([TE], "3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"), replies: [200], upstream: [CHUNKED_ABC], note: "Envoy drops trailers unless enable_trailers; nginx drops them" },
  { name: "two trailers dropped", send: post([TE], "3\r\nabc\r\n0\r\nX-T: 1\r\nX-U: 2\r\n\r\n"), replies: [200], upstream: [CHUNKED_ABC] },
  { name: "a framing header as a trailer is dropped", send: post([TE], "3\r\nabc\r\n0\r\nContent-Length: 5\r\n\r\n"), replies: [200], upstream: [CHUNKED_ABC] },
  { name: "a trailer without a colon", send: post([TE], "3\r\nabc\r\n0\r\nnocolon\r\n\r\n"), ...E400 },
  { name: "an obs-folded trailer", send: post([TE], "3\r\nabc\r\n0\r\nX-T: 1\r\n folded\r\n\r\n"), ...E400 },
  { name: "a trailer starting with whitespace", send: post([TE], "3\r\nabc\r\n0\r\n X-T: 1\r\n\r\n"), ...E400 },
  { name: "NUL in a trailer value", send: post([TE], "3\r\nabc\r\n0\r\nX-T: a\x00b\r\n\r\n"), ...E400 },
  { name: "space in a trailer name", send: post([TE], "3\r\nabc\r\n0\r\nX T: 1\r\n\r\n"), ...E400 },
  { name: "a request line inside the trailers", send: post([TE], "3\r\nabc\r\n0\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"), ...E400 },
  { name: "bare LF in the trailers", send: post([TE], "3\r\nabc\r\n0\r\nX-T: 1\n\r\n"), ...E400 },
  { name: "lone CR in a trailer", send: post([TE], "3\r\nabc\r\n0\r\nX-T: a\rb\r\n\r\n"), ...E400 },
  { name: "a pipelined request after the trailers", send: post([TE], "3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n") + get("/n"), replies: [200, 200], upstream: [CHUNKED_ABC, fwd("GET /n HTTP/1.1", ["Host: x"])] },
];

const pipelines: RequestCase[] = [
  { name: "a good request, then a bad one", send: get("/a") + get("/b", "Bad Header: v\r\n"), replies: [200, 400], upstream: [fwd("GET /a HTTP/1.1", ["Host: x"])] },
  { name: "a bad request, then a good one", send: get("/a", "X: a\x00b\r\n") + get("/b"), ...E400 },
  { name: "double Content-Length hiding a request", send: post(["Content-Length: 5", "Content-Length: 5"], "hello") + get("/smuggled"), ...E400 },
  { name: "CL+TE hiding a request", send: post(["Content-Length: 6", TE], "0\r\n\r\nG") + get("/smuggled"), ...E400 },
  { name: "TE.CL: chunk data that looks like a request", send: post([TE], `29\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\nX: y\r\n\r\n\r\n0\r\n\r\n`), replies: [200], upstream: [fwd("POST / HTTP/1.1", ["Host: x", TE], "29\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\nX: y\r\n\r\n\r\n0\r\n\r\n")] },
  { name: "broken chunk size, then a request", send: post([TE], "zz\r\n") + get("/smuggled"), ...E400 },
  { name: "HTTP/1.0 TE hiding a request", send: post([TE], "0\r\n\r\n", "1.0") + get("/smuggled"), ...E400 },
  { name: "three pipelined GETs", send: get("/1") + get("/2") + get("/3"), replies: [200, 200, 200], upstream: ["/1", "/2", "/3"].map((p) => fwd(`GET ${p} HTTP/1.1`, ["Host: x"])) },
];

const connection: RequestCase[] = [
  { name: "Connection naming Content-Length keeps the framing", send: post(["Content-Length: 3", "Connection: Content-Length"], "abc") + get("/n"), replies: [200, 200], upstream: [fwd("POST / HTTP/1.1", ["Host: x", "Content-Length: 3"], "abc"), fwd("GET /n HTTP/1.1", ["Host: x"])] },
  { name: "Connection naming Content-Length with a smuggled prefix", send: post(["Connection: content-length", "Content-Length: 41"], "GET /smuggled HTTP/1.1\r\nHost: x\r\nX-Y: z\r\n"), replies: [200], upstream: [fwd("POST / HTTP/1.1", ["Host: x", "Content-Length: 41"], "GET /smuggled HTTP/1.1\r\nHost: x\r\nX-Y: z\r\n")] },
  { name: "Connection naming Host keeps Host", send: get("/", "Connection: Host\r\n"), replies: [200], upstream: [OK_GET] },
  { name: "Connection naming Transfer-Encoding keeps chunked framing", send: post(["Connection: Transfer-Encoding", TE], "3\r\nabc\r\n0\r\n\r\n"), replies: [200], upstream: [CHUNKED_ABC] },
  { name: "Connection naming a custom header removes it", send: get("/", "Connection: X-Private\r\nX-Private: 1\r\nX-Public: 2\r\n"), replies: [200], upstream: [fwd("GET / HTTP/1.1", ["Host: x", "X-Public: 2"])] },
  { name: "close followed by NBSP is not close", send: get("/", "Connection: close\xa0\r\n"), replies: [200], upstream: [OK_GET], close: false },
  { name: "keep-alive, close", send: get("/", "Connection: keep-alive, close\r\n"), replies: [200], upstream: [OK_GET], close: true },
  { name: "CLOSE in capitals", send: get("/", "Connection: CLOSE\r\n"), replies: [200], upstream: [OK_GET], close: true },
  { name: "HTTP/1.0 keep-alive", send: "GET / HTTP/1.0\r\nHost: x\r\nConnection: Keep-Alive\r\n\r\n", replies: [200], upstream: [OK_GET], close: false },
  { name: "HTTP/1.0 closes by default", send: "GET / HTTP/1.0\r\nHost: x\r\n\r\n", replies: [200], upstream: [OK_GET], close: true },
  { name: "hop-by-hop headers stripped", send: get("/", "Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: gzip\r\nUpgrade: foo\r\n"), replies: [200], upstream: [OK_GET] },
  { name: "TE: trailers kept", send: get("/", "TE: trailers\r\n"), replies: [200], upstream: [fwd("GET / HTTP/1.1", ["Host: x", "TE: trailers"])] },
];

const upgradeAndExpect: RequestCase[] = [
  { name: "Upgrade with Connection: upgrade is forwarded", send: get("/", "Upgrade: websocket\r\nConnection: Upgrade\r\n"), replies: [200], upstream: [fwd("GET / HTTP/1.1", ["Host: x", "Upgrade: websocket", "Connection: Upgrade"])] },
  { name: "Upgrade without Connection: upgrade is stripped", send: get("/", "Upgrade: websocket\r\n"), replies: [200], upstream: [OK_GET] },
  { name: "Expect: 100-continue answered and not forwarded", send: post(["Content-Length: 5", "Expect: 100-continue"], "hello"), replies: [100, 200], upstream: [HELLO(["Content-Length: 5"])] },
  { name: "Expect: 100-continue from HTTP/1.0 gets no 100", send: post(["Content-Length: 5", "Expect: 100-continue"], "hello", "1.0"), replies: [200], upstream: [HELLO(["Content-Length: 5"])], close: true },
];

export const REQUEST_CORPUS: Array<[string, RequestCase[]]> = [
  ["request line", requestLine],
  ["request targets", targets],
  ["Host", hosts],
  ["header syntax", headerSyntax],
  ["Content-Length", contentLength],
  ["Transfer-Encoding and CL+TE", transferEncoding],
  ["chunk sizes and extensions", chunks],
  ["trailers", trailers],
  ["pipelining after bad framing", pipelines],
  ["Connection and hop-by-hop", connection],
  ["Upgrade and Expect", upgradeAndExpect],
];

describe.each<TrafficDirection>(["OUTBOUND", "INBOUND"])("hostile requests on an %s listener", (direction) => {
  let bed: HostileBed;
  beforeAll(async () => {
    bed = await startHostileBed(direction);
  });
  afterAll(async () => bed.close());

  describe.each(REQUEST_CORPUS)("%s", (_group, cases) => {
    it.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
      const u = bed.upstream;
      const streamsBefore = bed.proxy.streams.length;
      for (const conn of u.connections) conn.requests.length = 0;
      const r = await exchange(bed.proxy.port, c.send, c.replies.length, c.head);
      expect(r.responses.map((x) => x.status)).toEqual(c.replies);
      const last = r.responses.at(-1);
      const local = last !== undefined && last.status >= 400;
      if (local) {
        expect(last.rawBody).toBe(LOCAL_BODY[last.status]);
        expect(last.headers["connection"]).toBe("close");
        const info = bed.proxy.streams.slice(streamsBefore).at(-1)!;
        expect(info.responseFlags).toEqual(["DPE"]);
      }
      const close = c.close ?? (local || c.replies.length === 0);
      expect(r.closed).toBe(close);
      if (!close && last !== undefined) expect(last.headers["connection"]).not.toBe("close");
      expect(r.rest).toBe("");
      await upstreamSettled(u);
      expect(u.requests()).toEqual(c.upstream);
      for (const conn of u.connections) expect(conn.pending).toBe("");
    });
  });
});

describe("the request corpus", () => {
  it("has at least 150 distinct cases with request and upstream expectations", () => {
    const all = REQUEST_CORPUS.flatMap(([, cs]) => cs);
    expect(new Set(all.map((c) => c.name)).size).toBe(all.length);
    expect(all.length).toBeGreaterThanOrEqual(150);
  });
});
