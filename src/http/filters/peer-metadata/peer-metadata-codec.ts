// Istio's peer metadata as it travels in `x-envoy-peer-metadata`: base64 of a serialized
// google.protobuf.Struct. What we send is what istio/proxy's peer_metadata filter sends
// (convertWorkloadMetadataToStruct: NAME, NAMESPACE, WORKLOAD_NAME, CLUSTER_ID and LABELS with the
// canonical name/revision, app and version, serialized deterministically). What we read may also
// be the older, larger form (the whole node metadata: OWNER, MESH_ID, PLATFORM_METADATA, every pod
// label, …); unknown keys are ignored.

import type { NodeIdentity } from "../../../observability/node-identity.js";
import type { WorkloadMetadata } from "../../../observability/workload-metadata.js";
import { decodeStruct, encodeStruct, structOf, type PbStruct, type PbValue } from "./protobuf-struct.js";

export const PEER_METADATA_HEADER = "x-envoy-peer-metadata";
export const PEER_METADATA_ID_HEADER = "x-envoy-peer-metadata-id";

/** The header value this proxy sends: computed once per node identity. */
export function encodePeerMetadata(node: NodeIdentity): string {
  const labels: Record<string, string> = {};
  // Istio's WorkloadMetadataObject: app from app.kubernetes.io/name else app (same for version).
  const app = node.labels["app.kubernetes.io/name"] || node.labels.app;
  const version = node.labels["app.kubernetes.io/version"] || node.labels.version;
  if (node.canonicalService !== "") labels["service.istio.io/canonical-name"] = node.canonicalService;
  if (node.canonicalRevision !== "") labels["service.istio.io/canonical-revision"] = node.canonicalRevision;
  if (app) labels.app = app;
  if (version) labels.version = version;
  const fields: Record<string, string | Record<string, string>> = { LABELS: labels };
  if (node.instanceName !== "") fields.NAME = node.instanceName;
  if (node.namespace !== "") fields.NAMESPACE = node.namespace;
  if (node.workloadName !== "") fields.WORKLOAD_NAME = node.workloadName;
  if (node.clusterId !== "") fields.CLUSTER_ID = node.clusterId;
  return encodeStruct(structOf(fields)).toString("base64");
}

/** Standard base64, padding optional (Envoy's Base64::decodeWithoutPadding). */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The peer's workload from a header value; throws (StructDecodeError or Error) when the value is
 * not base64 of a Struct — the caller counts it and treats the peer as unknown.
 */
export function decodePeerMetadata(value: string): WorkloadMetadata {
  if (!BASE64.test(value) || value.replace(/=+$/, "").length % 4 === 1) throw new Error("x-envoy-peer-metadata is not base64");
  return workloadFromStruct(decodeStruct(Buffer.from(value, "base64")));
}

const text = (v: PbValue | undefined): string => (v !== undefined && v.kind === "string" ? v.value : "");

export function workloadFromStruct(s: PbStruct): WorkloadMetadata {
  const labels: Record<string, string> = {};
  const l = s.get("LABELS");
  if (l !== undefined && l.kind === "struct") for (const [k, v] of l.value) if (v.kind === "string") labels[k] = v.value;
  return {
    instanceName: text(s.get("NAME")),
    workloadName: text(s.get("WORKLOAD_NAME")),
    namespace: text(s.get("NAMESPACE")),
    clusterId: text(s.get("CLUSTER_ID")),
    labels,
    meshId: text(s.get("MESH_ID")),
  };
}
