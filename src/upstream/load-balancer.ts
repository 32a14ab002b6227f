// LoadBalancer: picks a host of a cluster for one request attempt.

import type { UpstreamHost } from "./upstream-host.js";

export interface LoadBalancer {
  /** A host, or undefined when the cluster has none. */
  pick(): UpstreamHost | undefined;
}
