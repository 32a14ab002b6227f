// MeshConfig `defaultConfig.connectionSettings` on the translated listeners: istiod writes its
// HTTP/2 settings as every HTTP connection manager's http2_protocol_options (the SETTINGS the
// proxy advertises to downstream HTTP/2 clients).

import { HTTP_CONNECTION_MANAGER, type Http2ProtocolOptions, type Listener } from "../model/types.js";

export function applyDownstreamHttp2(listeners: readonly Listener[], h2: Http2ProtocolOptions): void {
  for (const l of listeners) {
    for (const chain of [...l.filterChains, ...(l.defaultFilterChain !== undefined ? [l.defaultFilterChain] : [])]) {
      for (const f of chain.filters) if (f.name === HTTP_CONNECTION_MANAGER) f.typedConfig.http2ProtocolOptions = { ...h2 };
    }
  }
}
