// What a resource waits for before it can be used (Envoy's warming): an EDS cluster needs its
// ClusterLoadAssignment, a listener its RDS route configurations, both the SDS secrets their
// transport sockets name. The same names are the EDS/RDS/SDS subscriptions the client keeps.

import type { Json } from "../config/envoy/decoded.js";
import type { Cluster, CommonTlsContext, Listener, TransportSocketConfig } from "../config/model/types.js";
import { HTTP_CONNECTION_MANAGER } from "../config/model/types.js";

export interface Dependencies {
  /** EDS resource names (a cluster's eds_cluster_config.service_name, or its name). */
  endpoints: string[];
  /** RDS route configuration names. */
  routes: string[];
  /** SDS secret names. */
  secrets: string[];
}

const NONE: Dependencies = { endpoints: [], routes: [], secrets: [] };

function secretsOfTls(ctx: CommonTlsContext | undefined, into: Set<string>): void {
  if (ctx === undefined) return;
  for (const s of ctx.tlsCertificateSdsSecretConfigs ?? []) into.add(s.name);
  const v = ctx.combinedValidationContext?.validationContextSdsSecretConfig;
  if (v !== undefined) into.add(v.name);
}

function secretsOfSocket(ts: TransportSocketConfig | undefined, into: Set<string>): void {
  secretsOfTls(ts?.typedConfig?.commonTlsContext, into);
}

/**
 * A cluster's dependencies. `json` is the cluster as received (proto JSON): the EDS service_name
 * is not part of the model, and Envoy subscribes by it when set (istiod sets it to the cluster name).
 */
export function clusterDependencies(c: Cluster, json: Json | undefined): Dependencies {
  const secrets = new Set<string>();
  secretsOfSocket(c.transportSocket, secrets);
  for (const m of c.transportSocketMatches ?? []) secretsOfSocket(m.transportSocket, secrets);
  let endpoints: string[] = [];
  if (c.type === "EDS") {
    const serviceName = (json?.eds_cluster_config as { service_name?: unknown } | undefined)?.service_name;
    endpoints = [typeof serviceName === "string" && serviceName !== "" ? serviceName : c.name];
  }
  return { endpoints, routes: [], secrets: [...secrets] };
}

export function listenerDependencies(l: Listener): Dependencies {
  const routes = new Set<string>();
  const secrets = new Set<string>();
  for (const fc of [...l.filterChains, ...(l.defaultFilterChain !== undefined ? [l.defaultFilterChain] : [])]) {
    secretsOfSocket(fc.transportSocket, secrets);
    for (const f of fc.filters) {
      if (f.name === HTTP_CONNECTION_MANAGER && f.typedConfig.routeConfig === undefined && f.typedConfig.routeConfigName !== "") routes.add(f.typedConfig.routeConfigName);
    }
  }
  return { endpoints: [], routes: [...routes], secrets: [...secrets] };
}

export function noDependencies(): Dependencies {
  return NONE;
}
