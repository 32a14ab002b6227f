// detectHttp: http_inspector's verdict on a connection's first bytes, byte by byte.

import { describe, expect, it } from "vitest";
import { detectHttp } from "../../../src/listener/filters/http-inspection.js";

const d = (s: string): string => detectHttp(Buffer.from(s, "latin1"));

describe("detectHttp", () => {
  it("HTTP/1.1 and HTTP/1.0 request lines, any method token", () => {
    expect(d("GET / HTTP/1.1\r\nHost: x\r\n\r\n")).toBe("http/1.1");
    expect(d("GET /a?b HTTP/1.0\r\n")).toBe("http/1.0");
    expect(d("PURGE * HTTP/1.1\r\n")).toBe("http/1.1");
    expect(d("CONNECT example.com:443 HTTP/1.1\r\n")).toBe("http/1.1");
  });

  it("the HTTP/2 prior-knowledge preface is h2c, and its prefixes wait", () => {
    const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    expect(d(preface + "\x00\x00\x12\x04")).toBe("h2c");
    for (let n = 1; n < preface.length; n++) expect(d(preface.slice(0, n)), `prefix ${n}`).toBe("more");
  });

  it("waits on every prefix of a request line", () => {
    const line = "OPTIONS /x HTTP/1.1\r\n";
    for (let n = 1; n < line.length; n++) expect(d(line.slice(0, n)), `prefix ${n}`).toBe("more");
    expect(d(line)).toBe("http/1.1");
  });

  it("anything else is no HTTP, decided as soon as it cannot be a request line", () => {
    expect(d("\x16\x03\x01")).toBe("none");
    expect(d("SSH-2.0-OpenSSH_9.6\r\n")).toBe("none");
    expect(d(" GET")).toBe("none");
    expect(d("GET  /")).toBe("none");
    expect(d("GET / HTTP/2.0\r\n")).toBe("none");
    expect(d("GET / HTTP/1.2\r\n")).toBe("none");
    expect(d("GET / HTTP/1.1\n")).toBe("none");
    expect(d("GET / FTP/1.1\r\n")).toBe("none");
    expect(d("*1\r\n$4\r\nPING\r\n")).toBe("none");
  });
});
