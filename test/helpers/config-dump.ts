// Reads an Envoy-shaped ConfigDump (admin /config_dump, `outrigger config-dump`) back into its
// parts, for tests that check what the proxy runs.

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface DumpParts {
  bootstrap: Json;
  /** Listener JSON by name. */
  listeners: Record<string, Json>;
  /** Cluster JSON by name. */
  clusters: Record<string, Json>;
  /** RouteConfiguration JSON by name. */
  routeConfigs: Record<string, Json>;
  /** ClusterLoadAssignment JSON by cluster name (with include_eds). */
  endpoints: Record<string, Json>;
  /** The snapshot version (version_info). */
  version: string | undefined;
  /** node.metadata.outrigger.lastReloadError. */
  lastReloadError: string | null;
}

export function dumpParts(dump: unknown): DumpParts {
  const configs = (dump as { configs: Json[] }).configs;
  const of = (t: string): Json => configs.find((c) => c["@type"] === `type.googleapis.com/envoy.admin.v3.${t}`) ?? {};
  const byName = <T extends Json>(items: T[] | undefined, get: (i: T) => Json): Record<string, Json> => Object.fromEntries((items ?? []).map((i) => [get(i).name ?? get(i).cluster_name, get(i)]));
  const bootstrap = of("BootstrapConfigDump").bootstrap as Json;
  return {
    bootstrap,
    listeners: byName(of("ListenersConfigDump").dynamic_listeners, (l) => l.active_state.listener),
    clusters: byName(of("ClustersConfigDump").dynamic_active_clusters, (c) => c.cluster),
    routeConfigs: byName(of("RoutesConfigDump").dynamic_route_configs, (r) => r.route_config),
    endpoints: byName(of("EndpointsConfigDump").dynamic_endpoint_configs, (e) => e.endpoint_config),
    version: of("ListenersConfigDump").version_info,
    lastReloadError: bootstrap?.node?.metadata?.outrigger?.lastReloadError ?? null,
  };
}
