// A workload's identity as Istio's telemetry sees it: this proxy's own (from the environment and
// flags, as istio-agent reads them) and a peer's (from Istio's metadata exchange). Metrics labels
// are built from two of these.

export interface WorkloadMetadata {
  /** Pod (instance) name: NAME. */
  instanceName: string;
  /** WORKLOAD_NAME, e.g. the Deployment's name. */
  workloadName: string;
  /** NAMESPACE. */
  namespace: string;
  /** CLUSTER_ID (Kubernetes cluster name; `Kubernetes` by default in Istio). */
  clusterId: string;
  /** LABELS: app, version, service.istio.io/canonical-name, …-revision and the rest. */
  labels: Record<string, string>;
  /** MESH_ID. */
  meshId: string;
}
