// `envoy.transport_sockets.tls`: a filter chain's DownstreamTlsContext makes a server-side TLS
// transport socket (downstream-tls.ts), a cluster's UpstreamTlsContext a client-side one
// (upstream-tls.ts). Registered in every worker's transport socket registry.

import { TLS_TRANSPORT_SOCKET, type DownstreamTlsContext, type UpstreamTlsContext } from "../config/model/types.js";
import { TransportSocketRegistry, type TransportSocketCreator } from "../listener/transport-socket.js";
import { downstreamTlsFactory } from "./downstream-tls.js";
import { upstreamTlsFactory } from "./upstream-tls.js";

export const tlsTransportCreator: TransportSocketCreator = (config, env) => {
  if (config.typedConfig === undefined || !("commonTlsContext" in config.typedConfig)) {
    throw new Error(`${TLS_TRANSPORT_SOCKET} needs a ${env.side === "downstream" ? "DownstreamTlsContext" : "UpstreamTlsContext"}`);
  }
  return env.side === "downstream"
    ? downstreamTlsFactory(config.typedConfig as DownstreamTlsContext, env)
    : upstreamTlsFactory(config.typedConfig as UpstreamTlsContext, env.secrets, env.sessions);
};

/** raw_buffer and TLS: what a worker runs by default. */
export function builtInTransportSockets(): TransportSocketRegistry {
  return new TransportSocketRegistry().register(TLS_TRANSPORT_SOCKET, tlsTransportCreator);
}
