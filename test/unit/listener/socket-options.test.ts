// SocketOptions / kernelOriginalDst: the koffi calls into libc on real sockets. Without an
// iptables redirect, SO_ORIGINAL_DST fails (ENOENT) and the resolver reports no original
// destination; IP_TRANSPARENT listening sockets are made and served by Node.

import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { kernelOriginalDst } from "../../../src/listener/original-dst/original-dst-resolver.js";
import { parseSockaddr, SocketOptions, unmapV4 } from "../../../src/listener/original-dst/socket-options.js";

const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

/** An accepted server-side socket on `host`. */
async function accepted(host: string): Promise<Socket> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, host, r));
  const got = new Promise<Socket>((r) => server.once("connection", r));
  const client = connect({ host, port: (server.address() as AddressInfo).port });
  client.on("error", () => {});
  const s = await got;
  closers.push(() => {
    client.destroy();
    s.destroy();
    server.close();
  });
  return s;
}

describe("SocketOptions", () => {
  it("getsockopt(SO_ORIGINAL_DST) on a connection that was not redirected fails with ENOENT", async () => {
    const s = await accepted("127.0.0.1");
    const fd = (s as unknown as { _handle: { fd: number } })._handle.fd;
    const r = new SocketOptions().originalDst(fd, false);
    expect(r).toEqual({ error: expect.stringMatching(/^getsockopt\(SO_ORIGINAL_DST\) failed: .* \(errno 2\)$/) });
  });

  it("IPv6 asks on SOL_IPV6 and fails the same way on a plain socket", async () => {
    const s = await accepted("::1");
    const fd = (s as unknown as { _handle: { fd: number } })._handle.fd;
    const r = new SocketOptions().originalDst(fd, true);
    expect("error" in r && r.error).toMatch(/errno (2|92)\)/);
  });

  it("a bad fd is an error, not a crash", () => {
    expect(new SocketOptions().originalDst(-1, false)).toEqual({ error: expect.stringContaining("errno 9") });
  });

  it("off Linux every call says why", () => {
    const o = new SocketOptions("darwin");
    expect(o.originalDst(3, false)).toEqual({ error: "SO_ORIGINAL_DST and IP_TRANSPARENT need Linux (this is darwin)" });
    expect(o.transparentListenSocket({ ip: "127.0.0.1", port: 0 }, true, 8)).toEqual({ error: "SO_ORIGINAL_DST and IP_TRANSPARENT need Linux (this is darwin)" });
  });

  it("makes an IP_TRANSPARENT listening socket Node can serve, v4 and v6", async () => {
    const o = new SocketOptions();
    for (const ip of ["127.0.0.1", "::1"]) {
      const made = o.transparentListenSocket({ ip, port: 0 }, true, 16);
      if ("error" in made) throw new Error(made.error);
      const server = createServer((s) => s.end("hi"));
      await new Promise<void>((r) => server.listen({ fd: made.fd }, r));
      closers.push(() => server.close());
      const port = (server.address() as AddressInfo).port;
      const got = await new Promise<string>((resolve) => {
        const c = connect({ host: ip, port });
        let out = "";
        c.on("data", (d: Buffer) => (out += d.toString()));
        c.on("end", () => resolve(out));
      });
      expect(got).toBe("hi");
    }
  });

  it("binding a transparent socket to a port in use fails with the bind error", async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    closers.push(() => taken.close());
    const r = new SocketOptions().transparentListenSocket({ ip: "127.0.0.1", port: (taken.address() as AddressInfo).port }, false, 16);
    expect(r).toEqual({ error: expect.stringMatching(/^bind\(127\.0\.0\.1:\d+\) failed: .*\(errno 98\)$/) });
    expect(new SocketOptions().transparentListenSocket({ ip: "nope", port: 1 }, false, 16)).toEqual({ error: "not an IP address: nope" });
  });
});

describe("kernelOriginalDst", () => {
  it("a connection that was not redirected has no original destination", async () => {
    const s = await accepted("127.0.0.1");
    expect(kernelOriginalDst(() => new SocketOptions())(s, false)).toBeUndefined();
  });

  it("on a transparent listener the local address is the original destination", async () => {
    const s = await accepted("127.0.0.1");
    expect(kernelOriginalDst(() => new SocketOptions())(s, true)).toEqual({ ip: "127.0.0.1", port: s.localPort });
  });
});

describe("sockaddr parsing", () => {
  it("sockaddr_in and sockaddr_in6 (v4-mapped unmapped, zeros compressed)", () => {
    const v4 = Buffer.alloc(16);
    v4.writeUInt16LE(2, 0);
    v4.writeUInt16BE(9080, 2);
    v4.set([10, 1, 2, 3], 4);
    expect(parseSockaddr(v4)).toEqual({ ip: "10.1.2.3", port: 9080 });
    const v6 = Buffer.alloc(28);
    v6.writeUInt16LE(10, 0);
    v6.writeUInt16BE(443, 2);
    v6.writeUInt16BE(0xfd00, 8);
    v6.writeUInt16BE(0x6, 22);
    expect(parseSockaddr(v6)).toEqual({ ip: "fd00::6", port: 443 });
    const mapped = Buffer.alloc(28);
    mapped.writeUInt16LE(10, 0);
    mapped.writeUInt16BE(80, 2);
    mapped.writeUInt16BE(0xffff, 18);
    mapped.set([10, 0, 0, 7], 20);
    expect(parseSockaddr(mapped)).toEqual({ ip: "10.0.0.7", port: 80 });
    expect(parseSockaddr(Buffer.alloc(28))).toBeUndefined();
    expect(unmapV4("::ffff:10.0.0.1")).toBe("10.0.0.1");
    expect(unmapV4("fd00::1")).toBe("fd00::1");
  });
});
