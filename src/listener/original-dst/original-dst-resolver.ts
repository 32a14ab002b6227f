// OriginalDstResolver: where a downstream connection was really going, as Envoy's
// Utility::getOriginalDst answers it: SO_ORIGINAL_DST for iptables REDIRECT; on a transparent
// (TPROXY) listener the accepted socket's local address already is the original destination;
// otherwise nothing (the connection was not redirected). Injectable: without iptables, tests map
// connections to pretend destinations.

import type { Socket } from "node:net";
import type { SocketAddress, SocketOptions } from "./socket-options.js";
import { unmapV4 } from "./socket-options.js";

/** The original destination of `socket`, or undefined when it was not redirected. */
export type OriginalDstResolver = (socket: Socket, transparent: boolean) => SocketAddress | undefined;

/** The kernel's answer through `options` (one per worker). */
export function kernelOriginalDst(options: SocketOptions): OriginalDstResolver {
  return (socket, transparent) => {
    const local = socket.localAddress;
    if (local === undefined || socket.localPort === undefined) return undefined;
    if (transparent) return { ip: unmapV4(local), port: socket.localPort };
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (typeof fd !== "number" || fd < 0) return undefined;
    // A v4 connection accepted on a dual-stack [::] socket has a v4-mapped peer: netfilter
    // tracks it as IPv4, so it is asked on SOL_IP (Envoy does the same for v4-mapped sockets).
    const v6 = socket.remoteFamily === "IPv6" && !(socket.remoteAddress ?? "").startsWith("::ffff:");
    const r = options.originalDst(fd, v6);
    return "dst" in r ? r.dst : undefined;
  };
}
