// OriginalDstResolver: where a downstream connection was really going, as Envoy's
// Utility::getOriginalDst answers it: SO_ORIGINAL_DST for iptables REDIRECT; failing that, on a
// transparent (TPROXY) listener the accepted socket's local address is the original destination;
// otherwise nothing (the connection was not redirected). Injectable: without iptables, tests map
// connections to pretend destinations.

import type { Socket } from "node:net";
import type { SocketAddress, SocketOptions } from "./socket-options.js";
import { unmapV4 } from "./socket-options.js";

/** The original destination of `socket`, or undefined when it was not redirected. */
export type OriginalDstResolver = (socket: Socket, transparent: boolean) => SocketAddress | undefined;

/** The kernel's answer through `options` (one per worker). */
/** `options` is asked for on the first connection that needs it (koffi loads then, not before). */
export function kernelOriginalDst(options: () => SocketOptions): OriginalDstResolver {
  return (socket, transparent) => {
    const local = socket.localAddress;
    if (local === undefined || socket.localPort === undefined) return undefined;
    // SO_ORIGINAL_DST first, on transparent listeners too (as Envoy): in TPROXY mode istiod makes
    // virtualOutbound transparent, yet outbound traffic is still REDIRECTed to it, and only
    // conntrack knows where those connections were going.
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (typeof fd === "number" && fd >= 0) {
      // A v4 connection accepted on a dual-stack [::] socket has a v4-mapped peer: netfilter
      // tracks it as IPv4, so it is asked on SOL_IP (Envoy does the same for v4-mapped sockets).
      const v6 = socket.remoteFamily === "IPv6" && !(socket.remoteAddress ?? "").startsWith("::ffff:");
      const r = options().originalDst(fd, v6);
      if ("dst" in r) return r.dst;
    }
    // A TPROXY'd connection: the accepted socket's local address is the original destination.
    return transparent ? { ip: unmapV4(local), port: socket.localPort } : undefined;
  };
}
