// SocketOptions: the three Linux socket calls interception needs and Node has no API for —
// SO_ORIGINAL_DST (where an iptables REDIRECT connection was going), IP_TRANSPARENT (TPROXY
// listeners) and binding such a listener — made through libc with koffi (prebuilt FFI binaries,
// no compiler). One instance per worker; off Linux every call reports "unsupported".

import { createRequire } from "node:module";
import { isIPv4 } from "node:net";
import type { IKoffiLib } from "koffi";

/**
 * koffi's native module costs ~13 MiB of RSS per process once loaded: it is required only when a
 * worker first needs a socket call (a connection with an original destination to learn, a
 * transparent listener), never by a proxy that does not intercept.
 */
function loadLibc(): { lib: IKoffiLib; errno: () => number } {
  const koffi = createRequire(import.meta.url)("koffi") as typeof import("koffi");
  return { lib: koffi.load("libc.so.6"), errno: () => koffi.errno() };
}

/** An IP address and port (the original destination of a redirected connection). */
export interface SocketAddress {
  ip: string;
  port: number;
}

// Linux constants (linux/in.h, linux/netfilter_ipv4.h, linux/netfilter_ipv6/ip6_tables.h).
const SOL_IP = 0;
const SOL_IPV6 = 41;
const SOL_SOCKET = 1;
/** SO_ORIGINAL_DST (IPv4) and IP6T_SO_ORIGINAL_DST (IPv6) share the value 80. */
const SO_ORIGINAL_DST = 80;
const IP_TRANSPARENT = 19;
const IPV6_TRANSPARENT = 75;
const SO_REUSEADDR = 2;
const SO_REUSEPORT = 15;
const IPV6_V6ONLY = 26;
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
/** sizeof(struct sockaddr_in6), the larger of the two. */
const SOCKADDR_MAX = 28;

interface Libc {
  getsockopt: (fd: number, level: number, name: number, value: Buffer, len: number[]) => number;
  setsockopt: (fd: number, level: number, name: number, value: Buffer, len: number) => number;
  socket: (domain: number, type: number, protocol: number) => number;
  bind: (fd: number, addr: Buffer, len: number) => number;
  listen: (fd: number, backlog: number) => number;
  close: (fd: number) => number;
  strerror: (errnum: number) => string;
}

export class SocketOptions {
  private readonly libc: Libc | undefined;
  /** Why the native calls are unavailable ("" when they are). */
  readonly unavailable: string;
  private errno: () => number = () => 0;

  constructor(platform: NodeJS.Platform = process.platform) {
    let libc: Libc | undefined;
    let why = "";
    if (platform !== "linux") why = `SO_ORIGINAL_DST and IP_TRANSPARENT need Linux (this is ${platform})`;
    else {
      try {
        const loaded = loadLibc();
        const lib = loaded.lib;
        this.errno = loaded.errno;
        libc = {
          getsockopt: lib.func("int getsockopt(int, int, int, _Out_ uint8_t *, _Inout_ uint32_t *)"),
          setsockopt: lib.func("int setsockopt(int, int, int, const uint8_t *, uint32_t)"),
          socket: lib.func("int socket(int, int, int)"),
          bind: lib.func("int bind(int, const uint8_t *, uint32_t)"),
          listen: lib.func("int listen(int, int)"),
          close: lib.func("int close(int)"),
          strerror: lib.func("const char *strerror(int)"),
        } as Libc;
      } catch (e) {
        why = `cannot load libc through koffi: ${(e as Error).message}`;
      }
    }
    this.libc = libc;
    this.unavailable = why;
  }

  /**
   * The original destination of a connection redirected by iptables (REDIRECT), or undefined
   * with the reason (not redirected: ENOENT; not Linux; no fd). `ipv6`: the socket's family.
   */
  originalDst(fd: number, ipv6: boolean): { dst: SocketAddress } | { error: string } {
    const libc = this.libc;
    if (libc === undefined) return { error: this.unavailable };
    const buf = Buffer.alloc(SOCKADDR_MAX);
    const len = [SOCKADDR_MAX];
    const rc = libc.getsockopt(fd, ipv6 ? SOL_IPV6 : SOL_IP, SO_ORIGINAL_DST, buf, len);
    if (rc !== 0) return { error: this.errorText("getsockopt(SO_ORIGINAL_DST)") };
    const dst = parseSockaddr(buf);
    return dst === undefined ? { error: `getsockopt(SO_ORIGINAL_DST): unknown address family ${buf.readUInt16LE(0)}` } : { dst };
  }

  /**
   * A listening TCP socket with IP_TRANSPARENT set before bind (TPROXY: it accepts connections
   * for any destination address), SO_REUSEADDR and optionally SO_REUSEPORT. Node binds in one
   * step with no hook before bind, so the socket is made here and handed to `server.listen({fd})`.
   * Setting IP_TRANSPARENT needs CAP_NET_ADMIN (EPERM otherwise). `v6Only`: IPV6_V6ONLY on `::`
   * too (an additional `::` next to a `0.0.0.0` on the same port takes IPv6 only, as Envoy's).
   */
  transparentListenSocket(address: SocketAddress, reusePort: boolean, backlog: number, v6Only = false): { fd: number } | { error: string } {
    const libc = this.libc;
    if (libc === undefined) return { error: this.unavailable };
    const v4 = isIPv4(address.ip);
    const sa = v4 ? sockaddrIn(address) : sockaddrIn6(address);
    if (sa === undefined) return { error: `not an IP address: ${address.ip}` };
    const fd = libc.socket(v4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return { error: this.errorText("socket") };
    const one = Buffer.alloc(4);
    one.writeInt32LE(1);
    const fail = (what: string): { error: string } => {
      const error = this.errorText(what);
      libc.close(fd);
      return { error };
    };
    if (libc.setsockopt(fd, v4 ? SOL_IP : SOL_IPV6, v4 ? IP_TRANSPARENT : IPV6_TRANSPARENT, one, 4) !== 0) return fail(v4 ? "setsockopt(IP_TRANSPARENT)" : "setsockopt(IPV6_TRANSPARENT)");
    if (libc.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, 4) !== 0) return fail("setsockopt(SO_REUSEADDR)");
    if (reusePort && libc.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, one, 4) !== 0) return fail("setsockopt(SO_REUSEPORT)");
    if (!v4 && (address.ip !== "::" || v6Only) && libc.setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, one, 4) !== 0) return fail("setsockopt(IPV6_V6ONLY)");
    if (libc.bind(fd, sa, sa.length) !== 0) return fail(`bind(${address.ip}:${address.port})`);
    if (libc.listen(fd, backlog) !== 0) return fail("listen");
    return { fd };
  }

  /** Closes an fd this class made (when Node never took it over). */
  close(fd: number): void {
    this.libc?.close(fd);
  }

  private errorText(what: string): string {
    const errno = this.errno();
    return `${what} failed: ${this.libc!.strerror(errno)} (errno ${errno})`;
  }
}

/** struct sockaddr_in / sockaddr_in6 (family in host order, port and address in network order). */
export function parseSockaddr(buf: Buffer): SocketAddress | undefined {
  const family = buf.readUInt16LE(0);
  const port = buf.readUInt16BE(2);
  if (family === AF_INET) return { ip: `${buf[4]}.${buf[5]}.${buf[6]}.${buf[7]}`, port };
  if (family === AF_INET6) {
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(8 + i * 2).toString(16));
    return { ip: unmapV4(compressV6(groups)), port };
  }
  return undefined;
}

function sockaddrIn(a: SocketAddress): Buffer | undefined {
  const parts = a.ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) return undefined;
  const b = Buffer.alloc(16);
  b.writeUInt16LE(AF_INET, 0);
  b.writeUInt16BE(a.port, 2);
  for (let i = 0; i < 4; i++) b[4 + i] = parts[i]!;
  return b;
}

function sockaddrIn6(a: SocketAddress): Buffer | undefined {
  const groups = expandV6(a.ip);
  if (groups === undefined) return undefined;
  const b = Buffer.alloc(SOCKADDR_MAX);
  b.writeUInt16LE(AF_INET6, 0);
  b.writeUInt16BE(a.port, 2);
  for (let i = 0; i < 8; i++) b.writeUInt16BE(groups[i]!, 8 + i * 2);
  return b;
}

function expandV6(ip: string): number[] | undefined {
  const [head, tail, extra] = ip.split("::");
  if (extra !== undefined) return undefined;
  const h = head === "" || head === undefined ? [] : head.split(":");
  const t = tail === undefined || tail === "" ? [] : tail.split(":");
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  const all = [...h, ...Array<string>(Math.max(0, fill)).fill("0"), ...t].map((g) => parseInt(g, 16));
  return all.length === 8 && all.every((g) => g >= 0 && g <= 0xffff) ? all : undefined;
}

/** RFC 5952 text form: the longest run (≥ 2) of zero groups becomes "::". */
function compressV6(groups: string[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}

/** `::ffff:a.b.c.d` (a v4 connection on a dual-stack socket) → `a.b.c.d`, as Node reports it elsewhere. */
export function unmapV4(ip: string): string {
  if (!ip.startsWith("::ffff:")) return ip;
  const rest = ip.slice(7);
  if (rest.includes(".")) return rest;
  const [hi, lo] = rest.split(":").map((g) => parseInt(g, 16));
  if (hi === undefined || lo === undefined) return ip;
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}
