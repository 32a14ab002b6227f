// Transport sockets: what sits between a TCP socket and the codec on a filter chain or an upstream
// connection (Envoy's transport_socket). Plaintext (`raw_buffer`) passes the socket through; TLS
// comes with mTLS. A factory is chosen per filter chain / per cluster.

import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { TransportSocketConfig } from "../config/model/types.js";

export const RAW_BUFFER = "envoy.transport_sockets.raw_buffer";

export interface TransportSocketFactory {
  readonly name: string;
  /** Wraps an accepted downstream socket; the codec reads and writes the returned stream. */
  wrapDownstream(socket: Socket): Duplex;
  /** Wraps a connected upstream socket. */
  wrapUpstream(socket: Socket): Duplex;
}

export const rawBufferTransport: TransportSocketFactory = {
  name: RAW_BUFFER,
  wrapDownstream: (s) => s,
  wrapUpstream: (s) => s,
};

/** Transport socket factories by name; tests register their own. */
export class TransportSocketRegistry {
  private readonly byName = new Map<string, TransportSocketFactory>([[RAW_BUFFER, rawBufferTransport]]);

  register(f: TransportSocketFactory): void {
    this.byName.set(f.name, f);
  }

  /** The factory for a chain's or cluster's config; throws with a clear message when unknown. */
  resolve(config: TransportSocketConfig | undefined): TransportSocketFactory {
    if (config === undefined) return rawBufferTransport;
    const f = this.byName.get(config.name);
    if (f === undefined) throw new Error(`transport socket ${config.name} is not supported (known: ${[...this.byName.keys()].join(", ")})`);
    return f;
  }
}
