// The label values of Istio's standard metrics, as istio/proxy's istio_stats.cc computes them:
// the local side from this proxy's NodeIdentity, the peer side from the metadata exchange
// (StreamInfo.peer), the destination service from the upstream cluster (or the Host header), and
// the per-request tags. Everything that depends only on the chain or the cluster is computed once.

import type { NodeIdentity } from "../node-identity.js";
import type { WorkloadMetadata } from "../workload-metadata.js";
import { httpToGrpcStatus, isGrpcContentType } from "../../http/grpc/grpc-status.js";

// The gRPC rules live with the data path's (src/http/grpc/); telemetry callers import them here too.
export { httpToGrpcStatus, isGrpcContentType };

export const UNKNOWN = "unknown";

/**
 * Labels in the order Envoy's istio.stats emits them (the order it pushes its tag vector, which is
 * what a scrape of a real sidecar shows). HTTP metrics end with the five request tags, TCP ones
 * with `request_protocol, response_flags, connection_security_policy`.
 */
export const PEER_AND_LOCAL_TAGS = [
  "reporter",
  "source_workload",
  "source_canonical_service",
  "source_canonical_revision",
  "source_workload_namespace",
  "source_principal",
  "source_app",
  "source_version",
  "source_cluster",
  "destination_workload",
  "destination_workload_namespace",
  "destination_principal",
  "destination_app",
  "destination_version",
  "destination_service",
  "destination_canonical_service",
  "destination_canonical_revision",
  "destination_service_name",
  "destination_service_namespace",
  "destination_cluster",
] as const;

export const HTTP_TAGS = [...PEER_AND_LOCAL_TAGS, "request_protocol", "response_code", "grpc_response_status", "response_flags", "connection_security_policy"] as const;
export const TCP_TAGS = [...PEER_AND_LOCAL_TAGS, "request_protocol", "response_flags", "connection_security_policy"] as const;

/** Every standard tag name (Telemetry overrides may replace or remove only these; others are added). */
export const STANDARD_TAGS: ReadonlySet<string> = new Set<string>(HTTP_TAGS);

/** A workload's label values as Istio's WorkloadMetadataObject holds them ("" = absent). */
export interface WorkloadLabels {
  workload: string;
  namespace: string;
  canonicalService: string;
  canonicalRevision: string;
  app: string;
  version: string;
  cluster: string;
}

/** This proxy's own side: node metadata WORKLOAD_NAME, NAMESPACE, LABELS, CLUSTER_ID (app/version "" when the pod has no such label, as Envoy prints them). */
export function localLabels(node: NodeIdentity): WorkloadLabels {
  return {
    workload: node.workloadName,
    namespace: node.namespace,
    canonicalService: node.canonicalService,
    canonicalRevision: node.canonicalRevision,
    app: node.labels.app ?? "",
    version: node.labels.version ?? "",
    cluster: node.clusterId,
  };
}

/** A peer's side from its exchanged metadata (convertStructToWorkloadMetadata's label rules). */
export function peerLabels(peer: WorkloadMetadata): WorkloadLabels {
  const l = peer.labels;
  return {
    workload: peer.workloadName,
    namespace: peer.namespace,
    canonicalService: l["service.istio.io/canonical-name"] ?? "",
    canonicalRevision: l["service.istio.io/canonical-revision"] ?? "",
    app: l["app.kubernetes.io/name"] || (l.app ?? ""),
    version: l["app.kubernetes.io/version"] || (l.version ?? ""),
    cluster: peer.clusterId,
  };
}

/** What the upstream cluster says about the destination service (istiod's `istio.services` cluster metadata). */
export interface ServiceLabels {
  /** destination_service (FQDN), "" = not known from the cluster. */
  host: string;
  /** destination_service_name. */
  name: string;
  /** destination_service_namespace, "" = not known. */
  namespace: string;
}

/** Clusters istio.stats names the destination after (istio_stats.cc). */
const SPECIAL_CLUSTERS: ReadonlySet<string> = new Set(["BlackHoleCluster", "PassthroughCluster", "InboundPassthroughCluster", "InboundPassthroughClusterIpv4", "InboundPassthroughClusterIpv6"]);

/**
 * The destination service from an upstream cluster name. istiod attaches the service (host, name,
 * namespace) to each cluster's metadata; Outrigger's clusters carry Istio's names, which hold the
 * host: `outbound|9080|v1|reviews.shop.svc.cluster.local` → host `reviews.shop.svc.cluster.local`,
 * name `reviews`, namespace `shop`. A ServiceEntry host (`api.example.com`) is its own name; its
 * namespace is not in the name ("" → the peer's namespace or unknown, as Istio falls back).
 * Special clusters name themselves (host stays ""). undefined: the name says nothing (inbound
 * `inbound|9080||`, hand-written names).
 */
export function serviceFromCluster(cluster: string): ServiceLabels | undefined {
  if (SPECIAL_CLUSTERS.has(cluster)) return { host: "", name: cluster, namespace: "" };
  const parts = cluster.split("|");
  if (parts.length !== 4 || parts[0] !== "outbound" || parts[3] === "") return undefined;
  const host = parts[3]!;
  const labels = host.split(".");
  if (labels.length >= 4 && labels[2] === "svc") return { host, name: labels[0]!, namespace: labels[1]! };
  return { host, name: host, namespace: "" };
}

/** 16: the highest well-known gRPC status (Unauthenticated); istio.stats does not allow user-defined ones. */
const MAX_KNOWN_GRPC_STATUS = 16;
/** Envoy's InvalidCode (-1 as its uint64 GrpcStatus), what istio.stats prints for a bad grpc-status. */
const INVALID_GRPC_STATUS = "18446744073709551615";

/** grpc_response_status: trailers' grpc-status, else the headers', else from the HTTP status; "" without a response. */
export function grpcStatusLabel(trailerStatus: string | undefined, headerStatus: string | undefined, responseCode: number): string {
  const raw = trailerStatus !== undefined && trailerStatus !== "" ? trailerStatus : headerStatus;
  if (raw !== undefined && raw !== "") {
    if (!/^[0-9]+$/.test(raw) || Number(raw) > MAX_KNOWN_GRPC_STATUS) return INVALID_GRPC_STATUS;
    return String(Number(raw));
  }
  return responseCode === 0 ? "" : String(httpToGrpcStatus(responseCode));
}
