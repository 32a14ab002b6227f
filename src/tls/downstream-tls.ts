// Server-side TLS on a filter chain. Placeholder of the issue-9 contract: replaced by its implementation.

import type { DownstreamTlsContext, Secret } from "../config/model/types.js";
import type { TransportSocketFactory } from "../listener/transport-socket.js";

export function downstreamTlsFactory(config: DownstreamTlsContext, secrets: Readonly<Record<string, Secret>>): TransportSocketFactory {
  void config;
  void secrets;
  throw new Error("envoy.transport_sockets.tls is not supported on filter chains yet");
}
