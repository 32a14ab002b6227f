// outboundTrafficPolicy: where traffic to a destination the registry does not know goes. The
// Sidecar's own policy wins, else the MeshConfig's, else ALLOW_ANY (istiod's default). ALLOW_ANY
// sends it to PassthroughCluster (the original destination); REGISTRY_ONLY to BlackHoleCluster,
// and HTTP gets istiod's `block_all` virtual host (502).

import type { VirtualHost } from "../model/types.js";
import { BLACK_HOLE_CLUSTER, PASSTHROUGH_CLUSTER } from "./virtual-listeners.js";

export type OutboundTrafficPolicyMode = "ALLOW_ANY" | "REGISTRY_ONLY";

export interface OutboundTrafficPolicy {
  mode: OutboundTrafficPolicyMode;
  /** Where the mode came from, for the summary: `Sidecar shop/default`, `MeshConfig`, `default`. */
  source: string;
}

export function resolveOutboundTrafficPolicy(sidecar: { mode: OutboundTrafficPolicyMode; source: string } | undefined, mesh: OutboundTrafficPolicyMode | undefined): OutboundTrafficPolicy {
  if (sidecar !== undefined) return sidecar;
  if (mesh !== undefined) return { mode: mesh, source: "MeshConfig" };
  return { mode: "ALLOW_ANY", source: "default" };
}

/** The cluster that unknown TCP destinations go to under this policy. */
export function fallthroughCluster(mode: OutboundTrafficPolicyMode): string {
  return mode === "ALLOW_ANY" ? PASSTHROUGH_CLUSTER : BLACK_HOLE_CLUSTER;
}

/**
 * istiod's catch-all virtual host, last in every outbound route configuration of an intercepting
 * sidecar: `allow_any` → PassthroughCluster (no timeout, max_grpc_timeout 0s), or `block_all` → direct response 502.
 */
export function catchAllVirtualHost(mode: OutboundTrafficPolicyMode): VirtualHost {
  const base = { requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] };
  const match = { prefix: "/", caseSensitive: true, headers: [], queryParameters: [] };
  if (mode === "ALLOW_ANY") {
    return { name: "allow_any", domains: ["*"], routes: [{ name: "allow_any", match, route: { cluster: PASSTHROUGH_CLUSTER, timeoutMs: 0, maxGrpcTimeoutMs: 0 }, ...base }] };
  }
  return { name: "block_all", domains: ["*"], routes: [{ name: "block_all", match, directResponse: { status: 502 }, ...base }] };
}
