// parseClientHello over real ClientHellos: node:tls clients connect to a raw socket that keeps
// the bytes, so the parser is tested on what real stacks send, whole and cut at every length.

import { createServer, type AddressInfo, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseClientHello } from "../../../src/listener/filters/client-hello.js";

let server: ReturnType<typeof createServer>;
let port = 0;
let nextHello: ((b: Buffer) => void) | undefined;

beforeAll(async () => {
  server = createServer((s: Socket) => {
    let got = Buffer.alloc(0);
    s.on("data", (c: Buffer) => {
      got = Buffer.concat([got, c]);
      if (parseClientHello(got).kind === "more") return;
      nextHello?.(got);
      s.destroy();
    });
    s.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** The first flight of a real TLS client with these options. */
function captureHello(opts: ConnectionOptions): Promise<Buffer> {
  return new Promise((resolve) => {
    nextHello = resolve;
    const c = tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false, ...opts });
    c.on("error", () => {});
  });
}

describe("parseClientHello", () => {
  it("reads SNI (lower-cased) and ALPN from a real node:tls ClientHello", async () => {
    const hello = await captureHello({ servername: "Reviews.Default.svc.cluster.local", ALPNProtocols: ["istio-peer-exchange", "istio", "h2"] });
    expect(parseClientHello(hello)).toEqual({ kind: "hello", serverName: "reviews.default.svc.cluster.local", alpn: ["istio-peer-exchange", "istio", "h2"] });
  });

  it("a ClientHello without SNI or ALPN is still TLS, with both empty", async () => {
    // node:tls sends no SNI to an IP address.
    const hello = await captureHello({});
    expect(parseClientHello(hello)).toEqual({ kind: "hello", serverName: "", alpn: [] });
  });

  it("asks for more at every cut short of the whole hello, and decides at the last byte", async () => {
    const hello = await captureHello({ servername: "a.example.com", ALPNProtocols: ["http/1.1"] });
    for (let n = 0; n < hello.length; n++) expect(parseClientHello(hello.subarray(0, n)).kind, `cut at ${n}`).toBe("more");
    expect(parseClientHello(hello)).toMatchObject({ kind: "hello", serverName: "a.example.com" });
  });

  it("reassembles a ClientHello split over several TLS records", async () => {
    const hello = await captureHello({ servername: "split.example.com", ALPNProtocols: ["h2"] });
    const body = hello.subarray(5, 5 + hello.readUInt16BE(3));
    const record = (b: Buffer): Buffer => Buffer.concat([Buffer.from([22, 3, 1, b.length >> 8, b.length & 255]), b]);
    const split = Buffer.concat([record(body.subarray(0, 3)), record(body.subarray(3, 100)), record(body.subarray(100))]);
    expect(parseClientHello(split)).toEqual({ kind: "hello", serverName: "split.example.com", alpn: ["h2"] });
    expect(parseClientHello(split.subarray(0, 20)).kind).toBe("more");
  });

  it("plaintext is not TLS from its first byte", () => {
    expect(parseClientHello(Buffer.from("G")).kind).toBe("not-tls");
    expect(parseClientHello(Buffer.from("GET / HTTP/1.1\r\n")).kind).toBe("not-tls");
    expect(parseClientHello(Buffer.from("PRI * HTTP/2.0\r\n")).kind).toBe("not-tls");
    // A handshake record that is not a ClientHello (a ServerHello) is not a client's TLS either.
    expect(parseClientHello(Buffer.from([22, 3, 3, 0, 4, 2, 0, 0, 0])).kind).toBe("not-tls");
    // A record type byte right but a version byte wrong.
    expect(parseClientHello(Buffer.from([22, 9])).kind).toBe("not-tls");
    expect(parseClientHello(Buffer.alloc(0)).kind).toBe("more");
  });

  it("a ClientHello whose lengths run past its end is invalid (Envoy: tls_not_found, go on as plaintext)", async () => {
    const hello = Buffer.from(await captureHello({ servername: "x.example.com" }));
    // Extensions length claims more than the message holds.
    const body = 5 + 4;
    let p = body + 2 + 32;
    p += 1 + hello[p]!;
    p += 2 + hello.readUInt16BE(p);
    p += 1 + hello[p]!;
    hello.writeUInt16BE(0xfff0, p);
    expect(parseClientHello(hello).kind).toBe("invalid");
  });
});
