// The xDS type URLs of the five resource types a sidecar receives, and the model's name for each.

import type { ResourceType } from "../source/config-source.js";

export const TYPE_URL_PREFIX = "type.googleapis.com/";

/** Envoy v3 type URL of each resource type (LDS, RDS, CDS, EDS, SDS). */
export const TYPE_URLS: Readonly<Record<ResourceType, string>> = {
  listener: "type.googleapis.com/envoy.config.listener.v3.Listener",
  routeConfiguration: "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
  cluster: "type.googleapis.com/envoy.config.cluster.v3.Cluster",
  endpoint: "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
  secret: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
};

/** The resource type of a type URL; undefined for any other type (NDS, PCDS, debug types, …). */
export function resourceTypeOfUrl(url: string): ResourceType | undefined {
  for (const [t, u] of Object.entries(TYPE_URLS)) if (u === url) return t as ResourceType;
  return undefined;
}
