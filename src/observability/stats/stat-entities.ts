// The entity names a snapshot puts into stat names — clusters, HTTP connection managers' and TCP
// proxies' stat prefixes — so Prometheus tag extraction can cut them out whole.

import { HTTP_CONNECTION_MANAGER, TCP_PROXY, type Snapshot } from "../../config/model/types.js";
import type { KnownStatEntities } from "./envoy-tag-extractor.js";

export function statEntitiesOf(snapshot: Snapshot | null): KnownStatEntities {
  const httpPrefixes = new Set<string>();
  const tcpPrefixes = new Set<string>();
  for (const l of snapshot?.listeners ?? []) {
    const chains = l.defaultFilterChain === undefined ? l.filterChains : [...l.filterChains, l.defaultFilterChain];
    for (const c of chains) {
      for (const f of c.filters) {
        if (f.name === HTTP_CONNECTION_MANAGER) httpPrefixes.add(f.typedConfig.statPrefix);
        else if (f.name === TCP_PROXY) tcpPrefixes.add(f.typedConfig.statPrefix);
      }
    }
  }
  return { clusters: Object.keys(snapshot?.clusters ?? {}), httpPrefixes, tcpPrefixes };
}
