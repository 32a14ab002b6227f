// Outbound clusters for each HTTP, TCP-family or sniffed service port (`outbound|<port>||<host>`) and each DR subset
// (`outbound|<port>|<subset>|<host>`), with endpoints, localities and the merged traffic policy
// turned into Envoy cluster fields.

import { ISTIO_CONNECT_TIMEOUT_MS } from "../model/defaults.js";
import type { Cluster, ClusterType, LbEndpoint, Locality, LocalityLbEndpoints } from "../model/types.js";
import { applyTrafficPolicy, type ClusterPolicyContext } from "./cluster-policy.js";
import { applyClusterTls, TLS_MODE_LABEL } from "./cluster-tls.js";
import type { DestinationRuleIndex } from "./destination-rule-index.js";
import type { ParsedEndpoint, ParsedPort } from "./parsed-config.js";
import { listenerProtocol } from "./protocol.js";
import type { MeshService } from "./service-registry.js";
import type { TrafficPolicy } from "./istio-traffic-policy.js";
import { effectiveTrafficPolicy } from "./traffic-policy.js";
import { labelsMatch } from "./workload-selector.js";

export function outboundClusterName(port: number, subset: string, host: string): string {
  return `outbound|${port}|${subset}|${host}`;
}

export function buildOutboundClusters(services: MeshService[], drs: DestinationRuleIndex, ctx: ClusterPolicyContext): Record<string, Cluster> {
  const out: Record<string, Cluster> = {};
  for (const svc of services) {
    const dr = drs.lookup(svc.hostname, svc.namespace);
    for (const port of svc.ports) {
      // Every port with a listener protocol (HTTP, TCP, TLS, sniffed); UDP gets none.
      if (listenerProtocol(port.protocol) === "NONE") continue;
      const endpoints = serviceEndpoints(svc, port);
      const base = makeCluster(outboundClusterName(port.number, "", svc.hostname), svc, port, "", endpoints, effectiveTrafficPolicy(dr?.trafficPolicy, undefined, port.number), ctx);
      out[base.name] = base;
      for (const subset of dr?.subsets ?? []) {
        const selected = endpoints.filter((e) => labelsMatch(subset.labels, e.labels));
        const c = makeCluster(outboundClusterName(port.number, subset.name, svc.hostname), svc, port, subset.name, selected, effectiveTrafficPolicy(dr?.trafficPolicy, subset.trafficPolicy, port.number), ctx);
        out[c.name] = c;
      }
    }
  }
  return out;
}

interface ResolvedEndpoint {
  address: string;
  port: number;
  weight: number;
  labels: Record<string, string>;
  locality: string;
}

/** Endpoint port: the endpoint's `ports[portName]`, else the service port's targetPort, else its number. */
function serviceEndpoints(svc: MeshService, port: ParsedPort): ResolvedEndpoint[] {
  const dflt = port.targetPort ?? port.number;
  if (svc.resolution === "NONE") return [];
  if (svc.endpoints.length === 0 && (svc.resolution === "DNS" || svc.resolution === "DNS_ROUND_ROBIN")) {
    // A DNS ServiceEntry without endpoints resolves its own host name.
    return [{ address: svc.hostname, port: dflt, weight: 1, labels: {}, locality: "" }];
  }
  return svc.endpoints.map((e: ParsedEndpoint) => ({
    address: e.address,
    port: e.ports[port.name] ?? dflt,
    weight: e.weight,
    labels: e.labels,
    locality: e.locality ?? "",
  }));
}

function clusterType(svc: MeshService): ClusterType {
  if (svc.resolution === "STATIC") return "STATIC";
  if (svc.resolution === "NONE") return "ORIGINAL_DST";
  // istiod convertResolution: DNS → STRICT_DNS, DNS_ROUND_ROBIN → LOGICAL_DNS.
  return svc.resolution === "DNS_ROUND_ROBIN" ? "LOGICAL_DNS" : "STRICT_DNS";
}

function makeCluster(name: string, svc: MeshService, servicePort: ParsedPort, subset: string, eps: ResolvedEndpoint[], policy: TrafficPolicy | undefined, ctx: ClusterPolicyContext): Cluster {
  const port = servicePort.number;
  const type = clusterType(svc);
  const cluster: Cluster = {
    name,
    type,
    lbPolicy: "LEAST_REQUEST",
    connectTimeoutMs: ISTIO_CONNECT_TIMEOUT_MS,
    loadAssignment: { endpoints: type === "ORIGINAL_DST" ? [] : groupByLocality(eps) },
    serviceHost: svc.hostname,
    subset,
  };
  applyTrafficPolicy(cluster, policy, ctx, servicePort.protocol);
  if (ctx.tls !== undefined) applyClusterTls(cluster, policy?.tls, svc, port, subset, ctx.tls);
  return cluster;
}

export function parseLocality(s: string): Locality {
  const [region, zone, subZone] = s.split("/");
  const l: Locality = {};
  if (region) l.region = region;
  if (zone) l.zone = zone;
  if (subZone) l.subZone = subZone;
  return l;
}

function groupByLocality(eps: ResolvedEndpoint[]): LocalityLbEndpoints[] {
  const groups = new Map<string, LbEndpoint[]>();
  for (const e of eps) {
    const list = groups.get(e.locality) ?? [];
    // istiod copies the endpoint's security.istio.io/tlsMode as `tlsMode` (what auto mTLS matches on).
    const tlsMode = e.labels[TLS_MODE_LABEL];
    const labels = tlsMode !== undefined ? { ...e.labels, tlsMode } : e.labels;
    list.push({ address: e.address, port: e.port, weight: e.weight, labels, healthStatus: "HEALTHY" });
    groups.set(e.locality, list);
  }
  return [...groups.entries()].map(([loc, lbEndpoints]) => ({
    locality: parseLocality(loc),
    priority: 0,
    loadBalancingWeight: lbEndpoints.reduce((s, e) => s + e.weight, 0),
    lbEndpoints,
  }));
}
