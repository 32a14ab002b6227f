// The proxy's bootstrap as Envoy's envoy.config.bootstrap.v3.Bootstrap JSON: the node (as
// istio-agent builds it), the admin address; Outrigger's own start-up settings, which have no
// Envoy field, under node.metadata.outrigger.

import type { Bootstrap } from "../../bootstrap/bootstrap.js";
import { TCP_PROXY, type Snapshot } from "../../config/model/types.js";
import { packageVersion } from "../../cli/package-root.js";
import { compact, socketAddress, type Json } from "./envoy-json.js";

/** Envoy's Node, with the metadata keys istio-agent sets (ISTIO_META_*) that we know. */
export function nodeJson(b: Bootstrap, extra: Json = {}): Json {
  const n = b.node;
  const loc = b.proxyLocality;
  const locality = loc !== undefined ? compact({ region: loc.region, zone: loc.zone, sub_zone: loc.subZone }) : {};
  return compact({
    id: n.nodeId,
    // istio-agent's ServiceCluster: <canonical service>.<namespace>.
    cluster: `${n.canonicalService}.${n.namespace}`,
    metadata: {
      NAME: n.instanceName,
      NAMESPACE: n.namespace,
      WORKLOAD_NAME: n.workloadName,
      CLUSTER_ID: n.clusterId,
      MESH_ID: n.meshId,
      INSTANCE_IPS: n.instanceIp,
      LABELS: n.labels,
      // istio-agent's ISTIO_META_INTERCEPTION_MODE (istiod reads it from the node metadata).
      INTERCEPTION_MODE: b.intercept?.mode,
      outrigger: {
        configPaths: b.configPaths,
        workers: b.workers,
        outbound: b.outbound,
        drainTimeoutMs: b.drainTimeoutMs,
        exitOnZeroActiveConnections: b.exitOnZeroActiveConnections,
        minimumDrainMs: b.minimumDrainMs,
        limits: b.limits,
        domainSuffix: b.domainSuffix,
        watch: b.watch,
        interception: b.intercept,
        ...extra,
      },
    },
    locality: Object.keys(locality).length > 0 ? locality : undefined,
    user_agent_name: "outrigger",
    user_agent_version: packageVersion(),
  });
}

export function bootstrapJson(b: Bootstrap, lastReloadError: string | null, snapshot: Snapshot | null = null): Json {
  const policy = outboundTrafficPolicyOf(snapshot);
  return {
    node: nodeJson(b, { lastReloadError, ...(policy !== undefined ? { outboundTrafficPolicy: policy } : {}) }),
    admin: { address: socketAddress(b.adminAddress, b.adminPort) },
  };
}

/**
 * The outbound traffic policy the serving config applies under `--intercept`, read from where it
 * acts: virtualOutbound's catch-all chain goes to PassthroughCluster (ALLOW_ANY) or
 * BlackHoleCluster (REGISTRY_ONLY). Undefined without interception.
 */
export function outboundTrafficPolicyOf(snapshot: Snapshot | null): "ALLOW_ANY" | "REGISTRY_ONLY" | undefined {
  const vo = snapshot?.listeners.find((l) => l.name === "virtualOutbound");
  const chain = vo?.filterChains.find((c) => c.name === "virtualOutbound-catchall-tcp");
  const f = chain?.filters[chain.filters.length - 1];
  if (f === undefined || f.name !== TCP_PROXY) return undefined;
  if (f.typedConfig.cluster === "PassthroughCluster") return "ALLOW_ANY";
  if (f.typedConfig.cluster === "BlackHoleCluster") return "REGISTRY_ONLY";
  return undefined;
}
