// Envoy's admin ConfigDump (`/config_dump`, `outrigger config-dump`): one entry per config tracker
// in Envoy's order — bootstrap, clusters, (endpoints with include_eds), listeners, scoped routes,
// routes, secrets — each with its envoy.admin.v3 `@type`, the resources rendered with Envoy's
// proto3 JSON names so istioctl-style tooling reads it. Query handling (resource, mask,
// name_regex) follows Envoy's config_dump_handler.

import type { Bootstrap } from "../../bootstrap/bootstrap.js";
import { HTTP_CONNECTION_MANAGER, type Listener, type RouteConfiguration, type Snapshot } from "../../config/model/types.js";
import type { ResourceMeta, ResourceType } from "../../config/source/config-source.js";
import { bootstrapJson } from "./bootstrap-json.js";
import { clusterJson, loadAssignmentJson } from "./cluster-json.js";
import { compact, typeUrl, type Json } from "./envoy-json.js";
import { listenerJson } from "./listener-json.js";
import { routeConfigJson } from "./route-config-json.js";
import { secretJson } from "./secret-json.js";
import { redactSensitive } from "../../config/envoy/redact-sensitive.js";

export interface ConfigDumpInput {
  bootstrap: Bootstrap;
  snapshot: Snapshot | null;
  lastReloadError: string | null;
  /** When the serving snapshot was applied (ISO time); every resource shows it as last_updated. */
  lastUpdated?: string | undefined;
  /**
   * Per resource: version_info, last_updated and static or dynamic (the snapshot store's), so
   * static_* and dynamic_* entries carry their own. Absent = every resource dynamic, updated at lastUpdated.
   */
  resourceMeta?: ((type: ResourceType) => ReadonlyMap<string, ResourceMeta>) | undefined;
  /** Run from an Envoy bootstrap (`outrigger-envoy -c`, `run --bootstrap`): that bootstrap as read (proto JSON), shown in BootstrapConfigDump. */
  envoyBootstrap?: Json | undefined;
  /**
   * The version of each type's last accepted update (the snapshot store's versionOf): the top-level
   * version_info of the Clusters and Listeners dumps. Absent = the snapshot's version.
   */
  typeVersion?: ((type: ResourceType) => string | undefined) | undefined;
}

export interface ConfigDump {
  configs: Json[];
}

const ADMIN = "envoy.admin.v3.";

/** The element type of each repeated field of each dump, for `?resource=` (Envoy packs each element as its own Any). */
const REPEATED_ELEMENT_TYPES: Record<string, Record<string, string>> = {
  BootstrapConfigDump: {},
  ClustersConfigDump: { static_clusters: "ClustersConfigDump.StaticCluster", dynamic_active_clusters: "ClustersConfigDump.DynamicCluster", dynamic_warming_clusters: "ClustersConfigDump.DynamicCluster" },
  EndpointsConfigDump: { static_endpoint_configs: "EndpointsConfigDump.StaticEndpointConfig", dynamic_endpoint_configs: "EndpointsConfigDump.DynamicEndpointConfig" },
  ListenersConfigDump: { static_listeners: "ListenersConfigDump.StaticListener", dynamic_listeners: "ListenersConfigDump.DynamicListener" },
  ScopedRoutesConfigDump: { inline_scoped_route_configs: "ScopedRoutesConfigDump.InlineScopedRouteConfigs", dynamic_scoped_route_configs: "ScopedRoutesConfigDump.DynamicScopedRouteConfigs" },
  RoutesConfigDump: { static_route_configs: "RoutesConfigDump.StaticRouteConfig", dynamic_route_configs: "RoutesConfigDump.DynamicRouteConfig" },
  SecretsConfigDump: { static_secrets: "SecretsConfigDump.StaticSecret", dynamic_active_secrets: "SecretsConfigDump.DynamicSecret", dynamic_warming_secrets: "SecretsConfigDump.DynamicSecret" },
};

/** Every field of each dump message (field masks naming anything else are invalid for it). */
const FIELDS: Record<string, readonly string[]> = {
  BootstrapConfigDump: ["bootstrap", "last_updated"],
  ClustersConfigDump: ["version_info", "static_clusters", "dynamic_active_clusters", "dynamic_warming_clusters"],
  EndpointsConfigDump: ["static_endpoint_configs", "dynamic_endpoint_configs"],
  ListenersConfigDump: ["version_info", "static_listeners", "dynamic_listeners"],
  ScopedRoutesConfigDump: ["inline_scoped_route_configs", "dynamic_scoped_route_configs"],
  RoutesConfigDump: ["static_route_configs", "dynamic_route_configs"],
  SecretsConfigDump: ["static_secrets", "dynamic_active_secrets", "dynamic_warming_secrets"],
};

/** Every field of each element type (masks naming anything else are invalid). */
const ELEMENT_FIELDS: Record<string, readonly string[]> = {
  "ClustersConfigDump.StaticCluster": ["cluster", "last_updated"],
  "ClustersConfigDump.DynamicCluster": ["version_info", "cluster", "last_updated", "error_state", "client_status"],
  "EndpointsConfigDump.StaticEndpointConfig": ["endpoint_config", "last_updated"],
  "EndpointsConfigDump.DynamicEndpointConfig": ["version_info", "endpoint_config", "last_updated", "error_state", "client_status"],
  "ListenersConfigDump.StaticListener": ["listener", "last_updated"],
  "ListenersConfigDump.DynamicListener": ["name", "active_state", "warming_state", "draining_state", "error_state", "client_status"],
  "RoutesConfigDump.StaticRouteConfig": ["route_config", "last_updated"],
  "RoutesConfigDump.DynamicRouteConfig": ["version_info", "route_config", "last_updated", "error_state", "client_status"],
  "SecretsConfigDump.StaticSecret": ["name", "last_updated", "secret"],
  "SecretsConfigDump.DynamicSecret": ["name", "version_info", "last_updated", "secret", "error_state", "client_status"],
};

/** The single Any field of each element type, the one a mask may reach into (Envoy's trimResourceMessage). */
const ANY_FIELD: Record<string, string> = {
  "ClustersConfigDump.StaticCluster": "cluster",
  "ClustersConfigDump.DynamicCluster": "cluster",
  "EndpointsConfigDump.StaticEndpointConfig": "endpoint_config",
  "EndpointsConfigDump.DynamicEndpointConfig": "endpoint_config",
  "RoutesConfigDump.StaticRouteConfig": "route_config",
  "RoutesConfigDump.DynamicRouteConfig": "route_config",
  "ListenersConfigDump.StaticListener": "listener",
  "SecretsConfigDump.StaticSecret": "secret",
  "SecretsConfigDump.DynamicSecret": "secret",
};

function kind(config: Json): string {
  return String(config["@type"]).slice(typeUrl(ADMIN).length);
}

export interface ConfigDumpOptions {
  includeEds?: boolean;
  /** Only resources whose name matches (full match, as Envoy's RE2 RegexMatcher). */
  nameRegex?: RegExp | undefined;
}

/** Where a resource sits in the dump and what it shows: static (bootstrap) or dynamic with its own version. */
interface Placed {
  static: boolean;
  version: string | undefined;
  lastUpdated: string;
}

export function buildConfigDump(input: ConfigDumpInput, opts: ConfigDumpOptions = {}): ConfigDump {
  const s = input.snapshot;
  const version = s?.version;
  const updated = input.lastUpdated ?? new Date(0).toISOString();
  const named = (name: string): boolean => opts.nameRegex === undefined || opts.nameRegex.test(name);
  const dyn = <T extends { name: string }>(items: readonly T[]): T[] => items.filter((i) => named(i.name));
  const clusters = dyn(Object.values(s?.clusters ?? {}));
  const listeners = dyn(s?.listeners ?? []);
  const routes = dyn(Object.values(s?.routeConfigs ?? {}));
  const secrets = dyn(Object.values(s?.secrets ?? {}));
  // Per resource: the snapshot store's meta when given (static_resources of the bootstrap are static_*,
  // every other resource dynamic with the version and time of the update that last changed it).
  const place = (type: ResourceType, name: string): Placed => {
    const m = input.resourceMeta?.(type).get(name);
    if (m === undefined) return { static: false, version, lastUpdated: updated };
    return { static: m.static, version: m.version, lastUpdated: m.lastUpdated };
  };
  const typeVersion = (type: ResourceType): string | undefined => input.typeVersion?.(type) ?? version;
  const split = <T extends { name: string }>(type: ResourceType, items: readonly T[]) => {
    const st: Array<{ item: T; p: Placed }> = [];
    const dy: Array<{ item: T; p: Placed }> = [];
    for (const item of items) {
      const p = place(type, item.name);
      (p.static ? st : dy).push({ item, p });
    }
    return { st, dy };
  };
  const bootstrapDump: Json =
    input.envoyBootstrap !== undefined
      ? { "@type": typeUrl(ADMIN + "BootstrapConfigDump"), bootstrap: redactBootstrap(input.envoyBootstrap), last_updated: updated }
      : { "@type": typeUrl(ADMIN + "BootstrapConfigDump"), bootstrap: bootstrapJson(input.bootstrap, input.lastReloadError, s), last_updated: updated };
  const cl = split("cluster", clusters);
  const configs: Json[] = [
    bootstrapDump,
    {
      "@type": typeUrl(ADMIN + "ClustersConfigDump"),
      version_info: typeVersion("cluster"),
      static_clusters: cl.st.map(({ item, p }) => ({ cluster: clusterJson(item), last_updated: p.lastUpdated })),
      dynamic_active_clusters: cl.dy.map(({ item, p }) => compact({ version_info: p.version, cluster: clusterJson(item), last_updated: p.lastUpdated })),
    },
  ];
  if (opts.includeEds === true) {
    // Envoy's cluster manager: a cluster added by the API lists its endpoints as dynamic, a bootstrap one as static.
    const endpoint = (item: (typeof clusters)[number], p: Placed): Json => {
      const e = input.resourceMeta?.("endpoint").get(item.name);
      return compact({
        version_info: p.static ? undefined : (e?.version ?? p.version),
        endpoint_config: loadAssignmentJson(item.name, item.loadAssignment, true),
        last_updated: e?.lastUpdated ?? p.lastUpdated,
      });
    };
    configs.push({
      "@type": typeUrl(ADMIN + "EndpointsConfigDump"),
      static_endpoint_configs: cl.st.map(({ item, p }) => endpoint(item, p)),
      dynamic_endpoint_configs: cl.dy.map(({ item, p }) => endpoint(item, p)),
    });
  }
  const ls = split("listener", listeners);
  const rs = split("routeConfiguration", routes);
  const ss = split("secret", secrets);
  configs.push(
    {
      "@type": typeUrl(ADMIN + "ListenersConfigDump"),
      version_info: typeVersion("listener"),
      static_listeners: ls.st.map(({ item, p }) => ({ listener: listenerJson(item), last_updated: p.lastUpdated })),
      dynamic_listeners: ls.dy.map(({ item, p }) => ({ name: item.name, active_state: compact({ version_info: p.version, listener: listenerJson(item), last_updated: p.lastUpdated }) })),
    },
    { "@type": typeUrl(ADMIN + "ScopedRoutesConfigDump") },
    {
      "@type": typeUrl(ADMIN + "RoutesConfigDump"),
      // Envoy lists inline route configurations (an HCM's route_config: istiod's inbound chains, the
      // bootstrap's 15021/15090 listeners) among the static ones, one per connection manager.
      static_route_configs: [
        ...rs.st.map(({ item, p }) => ({ route_config: routeConfigJson(item), last_updated: p.lastUpdated })),
        ...inlineRouteConfigs(s?.listeners ?? [])
          .filter(({ rc }) => named(rc.name))
          .map(({ listener, rc }) => ({ route_config: routeConfigJson(rc), last_updated: place("listener", listener).lastUpdated })),
      ],
      dynamic_route_configs: rs.dy.map(({ item, p }) => compact({ version_info: p.version, route_config: routeConfigJson(item), last_updated: p.lastUpdated })),
    },
    {
      "@type": typeUrl(ADMIN + "SecretsConfigDump"),
      static_secrets: ss.st.map(({ item, p }) => ({ name: item.name, last_updated: p.lastUpdated, secret: secretJson(item) })),
      // istio-agent serves `default` and `ROOTCA` over SDS: Envoy lists them as dynamic, active.
      dynamic_active_secrets: ss.dy.map(({ item, p }) => compact({ name: item.name, version_info: p.version, last_updated: p.lastUpdated, secret: secretJson(item) })),
    },
  );
  // proto3 JSON leaves out unset fields (no version yet) and empty repeated fields.
  for (const c of configs) {
    for (const [k, v] of Object.entries(c)) if (v === undefined || (Array.isArray(v) && v.length === 0)) delete c[k];
  }
  return { configs };
}

/** Every HCM's inline route configuration, with its listener's name. */
function inlineRouteConfigs(listeners: readonly Listener[]): Array<{ listener: string; rc: RouteConfiguration }> {
  const out: Array<{ listener: string; rc: RouteConfiguration }> = [];
  for (const l of listeners)
    for (const chain of [...l.filterChains, ...(l.defaultFilterChain !== undefined ? [l.defaultFilterChain] : [])])
      for (const f of chain.filters) if (f.name === HTTP_CONNECTION_MANAGER && f.typedConfig.routeConfig !== undefined) out.push({ listener: l.name, rc: f.typedConfig.routeConfig });
  return out;
}

/** The Envoy bootstrap as read, its sensitive fields (private keys, passwords, …) redacted as Envoy's /config_dump does. */
export function redactBootstrap(bootstrap: Json): Json {
  return redactSensitive("envoy.config.bootstrap.v3.Bootstrap", bootstrap);
}

/** A `?resource=` / `?mask=` error with Envoy's status and text. */
export interface DumpQueryError {
  status: number;
  message: string;
}

function maskPaths(mask: string): string[] {
  return mask.split(",").map((p) => p.trim()).filter((p) => p !== "");
}

/** Keeps only the masked paths of `msg`, in `msg`'s field order; undefined when a path names no field of `fields` (Envoy: invalid mask). */
function trim(msg: Json, paths: readonly string[], fields: readonly string[] | undefined): Json | undefined {
  const wanted = new Map<string, string[] | "all">();
  for (const path of paths) {
    const [head, ...rest] = path.split(".");
    if (fields !== undefined && !fields.includes(head!)) return undefined;
    const prev = wanted.get(head!);
    if (rest.length === 0 || prev === "all") wanted.set(head!, "all");
    else wanted.set(head!, [...(prev ?? []), rest.join(".")]);
  }
  const out: Json = {};
  for (const [k, v] of Object.entries(msg)) {
    const w = wanted.get(k);
    if (w === undefined) continue;
    if (w === "all") {
      out[k] = v;
      continue;
    }
    // Field masks cannot index through repeated fields.
    if (Array.isArray(v) || v === null || typeof v !== "object") return undefined;
    const t = trim(v as Json, w, undefined);
    if (t === undefined) return undefined;
    out[k] = t;
  }
  return out;
}

/** Apply `?resource=` and `?mask=` as Envoy does. */
export function queryConfigDump(dump: ConfigDump, resource: string | null, mask: string | null): ConfigDump | DumpQueryError {
  const paths = mask !== null ? maskPaths(mask) : [];
  if (resource !== null) {
    for (const config of dump.configs) {
      const k = kind(config);
      if (!FIELDS[k]?.includes(resource)) continue;
      const elementType = REPEATED_ELEMENT_TYPES[k]?.[resource];
      if (elementType === undefined) return { status: 400, message: `${resource} is not a repeated field. Use ?mask=${resource} to get only this field` };
      const out: Json[] = [];
      for (const element of (config[resource] as Json[] | undefined) ?? []) {
        let e: Json = element;
        if (mask !== null) {
          // A path through the element's Any field (cluster.name) masks inside the resource.
          const anyField = ANY_FIELD[elementType];
          const outer: string[] = [];
          const inner: string[] = [];
          for (const p of paths) {
            const [head, ...rest] = p.split(".");
            if (head === anyField && rest.length > 0) {
              if (!outer.includes(head!)) outer.push(head!);
              inner.push(rest.join("."));
            } else outer.push(p);
          }
          const t = trim(element, outer, ELEMENT_FIELDS[elementType]);
          if (t === undefined) return { status: 400, message: `FieldMask ${mask} could not be successfully used.` };
          if (anyField !== undefined && inner.length > 0 && element[anyField] !== undefined) {
            const any = element[anyField] as Json;
            const ti = trim(any, inner, undefined);
            if (ti === undefined) return { status: 400, message: `FieldMask ${mask} could not be successfully used.` };
            t[anyField] = { "@type": any["@type"], ...ti };
          }
          e = t;
        }
        out.push({ "@type": typeUrl(ADMIN + elementType), ...e });
      }
      return { configs: out };
    }
    return { status: 404, message: `${resource} not found in config dump` };
  }
  if (mask === null) return dump;
  const out: Json[] = [];
  for (const config of dump.configs) {
    const t = trim(config, paths, FIELDS[kind(config)]);
    // A mask that fits another dump type is no error for this one: it is left out.
    if (t === undefined) continue;
    out.push({ "@type": config["@type"], ...t });
  }
  if (out.length === 0) return { status: 400, message: `FieldMask ${mask} could not be successfully applied to any configs.` };
  return { configs: out };
}
