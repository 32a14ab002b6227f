// This proxy's own identity as istio-agent hands it to Envoy (node id and metadata), read from the
// environment the sidecar injector sets and from the flags. Metrics label the local side with it,
// the metadata exchange sends it to peers, and spans carry it.

import type { WorkloadMetadata } from "./workload-metadata.js";

export interface NodeIdentity extends WorkloadMetadata {
  /** Envoy's node id as istio-agent builds it: `sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`. */
  nodeId: string;
  /** INSTANCE_IP (the pod IP), else 127.0.0.1 standalone. */
  instanceIp: string;
  /** `service.istio.io/canonical-name`, else `app.kubernetes.io/name`, else `app`, else the workload name. */
  canonicalService: string;
  /** `service.istio.io/canonical-revision`, else `app.kubernetes.io/version`, else `version`, else `latest`. */
  canonicalRevision: string;
  /** `app` label, else unknown. */
  app: string;
  /** `version` label, else unknown. */
  version: string;
}

export interface NodeIdentityInput {
  env: Readonly<Record<string, string | undefined>>;
  /** The proxy's namespace (--namespace / $POD_NAMESPACE / default). */
  namespace: string;
  /** The proxy's workload labels (--labels). */
  labels: Record<string, string>;
  domainSuffix: string;
}

const set = (v: string | undefined): v is string => v !== undefined && v !== "";

/**
 * The workload name when ISTIO_META_WORKLOAD_NAME is unset: the pod name without the ReplicaSet
 * and pod hashes (`reviews-v1-7d4f8b-x2k9z` → `reviews-v1`), as Istio's workload-name heuristic
 * does for Deployments.
 */
export function workloadNameFromPod(pod: string): string {
  const parts = pod.split("-");
  if (parts.length >= 3) return parts.slice(0, -2).join("-");
  return pod;
}

export function nodeIdentity(input: NodeIdentityInput): NodeIdentity {
  const { env, labels, namespace } = input;
  const pod = set(env.POD_NAME) ? env.POD_NAME : set(env.HOSTNAME) ? env.HOSTNAME : "outrigger";
  const workloadName = set(env.ISTIO_META_WORKLOAD_NAME) ? env.ISTIO_META_WORKLOAD_NAME : set(env.POD_NAME) ? workloadNameFromPod(env.POD_NAME) : pod;
  const ip = set(env.INSTANCE_IP) ? env.INSTANCE_IP : "127.0.0.1";
  const pick = (...keys: string[]): string | undefined => keys.map((k) => labels[k]).find(set);
  return {
    nodeId: `sidecar~${ip}~${pod}.${namespace}~${namespace}.svc.${input.domainSuffix}`,
    instanceName: pod,
    instanceIp: ip,
    workloadName,
    namespace,
    clusterId: set(env.ISTIO_META_CLUSTER_ID) ? env.ISTIO_META_CLUSTER_ID : "Kubernetes",
    meshId: set(env.ISTIO_META_MESH_ID) ? env.ISTIO_META_MESH_ID : "cluster.local",
    labels: { ...labels },
    canonicalService: pick("service.istio.io/canonical-name", "app.kubernetes.io/name", "app") ?? workloadName,
    canonicalRevision: pick("service.istio.io/canonical-revision", "app.kubernetes.io/version", "version") ?? "latest",
    app: labels.app ?? "unknown",
    version: labels.version ?? "unknown",
  };
}
