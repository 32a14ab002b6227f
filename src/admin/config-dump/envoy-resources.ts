// The translated snapshot as the Envoy v3 resources istiod would push, in istiod's push order
// (pilot/pkg/xds/ads.go PushOrder: CDS, EDS, LDS, RDS, SDS), each an Any with its "@type": what
// `outrigger config-dump --envoy` prints, for replaying to an Envoy or to Outrigger's own xDS client.

import type { Snapshot } from "../../config/model/types.js";
import { clusterJson, loadAssignmentJson } from "./cluster-json.js";
import { typeUrl, type Json } from "./envoy-json.js";
import { listenerJson } from "./listener-json.js";
import { routeConfigJson } from "./route-config-json.js";
import { secretJson } from "./secret-json.js";

const withType = (type: string, j: Json): Json => (j["@type"] !== undefined ? j : { "@type": typeUrl(type), ...j });

/** Clusters, the load assignments of EDS clusters, listeners, route configurations, secrets (private keys redacted). */
export function envoyResources(s: Snapshot): Json[] {
  const clusters = Object.values(s.clusters);
  return [
    ...clusters.map((c) => withType("envoy.config.cluster.v3.Cluster", clusterJson(c))),
    ...clusters.filter((c) => c.type === "EDS").map((c) => loadAssignmentJson(c.name, c.loadAssignment, true)),
    ...s.listeners.map((l) => withType("envoy.config.listener.v3.Listener", listenerJson(l))),
    ...Object.values(s.routeConfigs).map((r) => withType("envoy.config.route.v3.RouteConfiguration", routeConfigJson(r))),
    ...Object.values(s.secrets ?? {}).map((x) => withType("envoy.extensions.transport_sockets.tls.v3.Secret", secretJson(x))),
  ];
}
