// envoy.filters.listener.original_dst: restores the connection's local address to where the
// client was really going (SO_ORIGINAL_DST after an iptables REDIRECT, the local address on a
// TPROXY listener). A useOriginalDst listener then hands the connection to the listener of that
// address; filter chains match on it; ORIGINAL_DST clusters connect to it.

import type { Socket } from "node:net";
import type { ConnectionInfo } from "../connection-info.js";
import type { ListenerFilter } from "../listener-filter.js";
import type { OriginalDstResolver } from "../original-dst/original-dst-resolver.js";

export class OriginalDstFilter implements ListenerFilter {
  constructor(
    private readonly resolve: OriginalDstResolver,
    /** The listener is transparent (TPROXY): the local address is the original destination. */
    private readonly transparent: boolean,
  ) {}

  onAccept(socket: Socket, info: ConnectionInfo, done: (proceed: boolean) => void): void {
    const dst = this.resolve(socket, this.transparent);
    // Not redirected (a direct connection): Envoy leaves the address alone and nothing is handed off.
    if (dst !== undefined) {
      info.localIp = dst.ip;
      info.localPort = dst.port;
      info.localAddressRestored = true;
    }
    done(true);
  }
}
