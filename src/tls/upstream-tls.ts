// Client-side TLS on a cluster. Placeholder of the issue-9 contract: replaced by its implementation.

import type { Secret, UpstreamTlsContext } from "../config/model/types.js";
import type { TransportSocketFactory } from "../listener/transport-socket.js";

export function upstreamTlsFactory(config: UpstreamTlsContext, secrets: Readonly<Record<string, Secret>>): TransportSocketFactory {
  void config;
  void secrets;
  throw new Error("envoy.transport_sockets.tls is not supported on clusters yet");
}
