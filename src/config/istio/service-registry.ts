// The service registry the proxy sees: ServiceEntries visible through exportTo, one MeshService
// per host, with WorkloadEntries selected by an SE workloadSelector (same namespace) as endpoints.

import { isExportedTo } from "./export-to.js";
import type { ParsedEndpoint, ParsedPort, ParsedServiceEntry, ParsedWorkloadEntry, Resolution } from "./parsed-config.js";
import { labelsMatch } from "./workload-selector.js";

export interface MeshService {
  hostname: string;
  /** Namespace of the ServiceEntry that defines it. */
  namespace: string;
  ports: ParsedPort[];
  addresses: string[];
  resolution: Resolution;
  endpoints: ParsedEndpoint[];
  source: ParsedServiceEntry;
}

/**
 * The identities the service's servers present, as istiod's GetServiceAccounts: the ServiceEntry's
 * `subjectAltNames` and the SPIFFE IDs of its endpoints' service accounts, sorted, each once.
 */
export function serviceAccounts(svc: MeshService, trustDomain: string): string[] {
  const out = new Set<string>(svc.source.subjectAltNames ?? []);
  for (const e of svc.endpoints) if (e.serviceAccount !== undefined) out.add(`spiffe://${trustDomain}/ns/${svc.namespace}/sa/${e.serviceAccount}`);
  return [...out].sort();
}

export function buildServiceRegistry(entries: ParsedServiceEntry[], workloads: ParsedWorkloadEntry[], proxyNamespace: string): MeshService[] {
  const byHost = new Map<string, MeshService>();
  for (const se of entries) {
    if (!isExportedTo(se.exportTo, se.ref.namespace, proxyNamespace)) continue;
    let endpoints = se.endpoints;
    if (se.workloadSelector) {
      const sel = se.workloadSelector;
      endpoints = workloads.filter((w) => w.ref.namespace === se.ref.namespace && labelsMatch(sel, w.endpoint.labels)).map((w) => w.endpoint);
    }
    for (const host of se.hosts) {
      // Istio prefers the oldest config for a duplicated host; document order stands in for age.
      if (byHost.has(host)) continue;
      byHost.set(host, { hostname: host, namespace: se.ref.namespace, ports: se.ports, addresses: se.addresses, resolution: se.resolution, endpoints, source: se });
    }
  }
  return [...byHost.values()].sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
}
