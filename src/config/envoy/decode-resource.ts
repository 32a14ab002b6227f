// One decoder for every source: an Envoy v3 resource (proto JSON, see decoded.ts) of a given type
// becomes the model's resource. The xDS client, the bootstrap's static_resources and the Istio
// YAML path (translator → Envoy resources) all come through here.

import type { ResourceOfType, ResourceType } from "../source/config-source.js";
import { decodeCluster } from "./decode-cluster.js";
import { decodeClusterLoadAssignment } from "./decode-endpoints.js";
import { decodeListener } from "./decode-listener.js";
import { decodeRouteConfiguration } from "./decode-route-config.js";
import { decodeSecret } from "./decode-secret.js";
import type { DecodeContext, Decoded, Json } from "./decoded.js";

export function decodeResource<T extends ResourceType>(type: T, json: Json, ctx: DecodeContext): Decoded<ResourceOfType[T]> {
  switch (type) {
    case "listener":
      return decodeListener(json, ctx) as Decoded<ResourceOfType[T]>;
    case "routeConfiguration":
      return decodeRouteConfiguration(json, ctx) as Decoded<ResourceOfType[T]>;
    case "cluster":
      return decodeCluster(json, ctx) as Decoded<ResourceOfType[T]>;
    case "endpoint":
      return decodeClusterLoadAssignment(json, ctx) as Decoded<ResourceOfType[T]>;
    case "secret":
      return decodeSecret(json, ctx) as Decoded<ResourceOfType[T]>;
  }
  return { ok: false, errors: [`unknown resource type ${String(type)}`] };
}

/** The name a decoded resource is keyed under (EDS: its cluster_name). */
export function resourceName<T extends ResourceType>(type: T, value: ResourceOfType[T]): string {
  return type === "endpoint" ? (value as ResourceOfType["endpoint"]).clusterName : (value as { name: string }).name;
}
