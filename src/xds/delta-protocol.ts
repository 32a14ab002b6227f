// Incremental (delta) xDS requests (Envoy's NewGrpcMuxImpl): the first request of a type on a
// stream subscribes every name (none for a wildcard type) and lists initial_resource_versions
// (what the client already has, so a reconnect does not re-send it); later subscription changes
// carry only subscribe/unsubscribe and no nonce (istiod: an empty nonce is a subscription change);
// ACK = the nonce; NACK = the nonce + error_detail.

import type { DeltaDiscoveryRequestMessage, DeltaDiscoveryResponseMessage } from "./discovery-protos.js";
import { INVALID_ARGUMENT } from "./discovery-protos.js";
import type { ParsedResponse } from "./parsed-response.js";

export function deltaInitialRequest(typeUrl: string, names: string[], initialVersions: Record<string, string>): DeltaDiscoveryRequestMessage {
  return { type_url: typeUrl, resource_names_subscribe: names, initial_resource_versions: initialVersions };
}

export function deltaSubscriptionRequest(typeUrl: string, subscribe: string[], unsubscribe: string[]): DeltaDiscoveryRequestMessage {
  return { type_url: typeUrl, resource_names_subscribe: subscribe, resource_names_unsubscribe: unsubscribe };
}

export function deltaAck(typeUrl: string, nonce: string, errors?: string[]): DeltaDiscoveryRequestMessage {
  const req: DeltaDiscoveryRequestMessage = { type_url: typeUrl, response_nonce: nonce };
  if (errors !== undefined && errors.length > 0) req.error_detail = { code: INVALID_ARGUMENT, message: errors.join("; ") };
  return req;
}

export function parseDeltaResponse(m: DeltaDiscoveryResponseMessage): ParsedResponse {
  return {
    kind: "delta",
    typeUrl: m.type_url ?? "",
    nonce: m.nonce ?? "",
    versionInfo: m.system_version_info ?? "",
    resources: (m.resources ?? []).map((r) => ({ name: r.name, version: r.version, any: r.resource })),
    removed: m.removed_resources ?? [],
  };
}
