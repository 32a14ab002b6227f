// State-of-the-world xDS requests (Envoy's GrpcMuxImpl): the first request of a type on a stream
// carries the last accepted version_info and no nonce (so a reconnect re-requests everything with
// the versions it has); ACK = the response's version_info + nonce; NACK = the last accepted
// version_info + nonce + error_detail {code 3 INVALID_ARGUMENT, every error}.

import type { DiscoveryRequestMessage, DiscoveryResponseMessage } from "./discovery-protos.js";
import { INVALID_ARGUMENT } from "./discovery-protos.js";
import type { ParsedResponse } from "./parsed-response.js";

export function sotwRequest(typeUrl: string, names: string[], versionInfo: string, nonce: string, errors?: string[]): DiscoveryRequestMessage {
  const req: DiscoveryRequestMessage = { type_url: typeUrl, version_info: versionInfo, resource_names: names, response_nonce: nonce };
  if (errors !== undefined && errors.length > 0) req.error_detail = { code: INVALID_ARGUMENT, message: errors.join("; ") };
  return req;
}

export function parseSotwResponse(m: DiscoveryResponseMessage): ParsedResponse {
  return {
    kind: "sotw",
    typeUrl: m.type_url ?? "",
    nonce: m.nonce ?? "",
    versionInfo: m.version_info ?? "",
    resources: (m.resources ?? []).map((any) => ({ any })),
    removed: [],
  };
}
