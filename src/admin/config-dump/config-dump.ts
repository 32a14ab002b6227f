// Envoy's admin ConfigDump (`/config_dump`, `outrigger config-dump`): one entry per config tracker
// in Envoy's order — bootstrap, clusters, (endpoints with include_eds), listeners, scoped routes,
// routes, secrets — each with its envoy.admin.v3 `@type`, the resources rendered with Envoy's
// proto3 JSON names so istioctl-style tooling reads it. Query handling (resource, mask,
// name_regex) follows Envoy's config_dump_handler.

import type { Bootstrap } from "../../bootstrap/bootstrap.js";
import type { Snapshot } from "../../config/model/types.js";
import type { ResourceMeta, ResourceType } from "../../config/source/config-source.js";
import { bootstrapJson } from "./bootstrap-json.js";
import { clusterJson, loadAssignmentJson } from "./cluster-json.js";
import { typeUrl, type Json } from "./envoy-json.js";
import { listenerJson } from "./listener-json.js";
import { routeConfigJson } from "./route-config-json.js";
import { secretJson } from "./secret-json.js";

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
  const configs: Json[] = [
    { "@type": typeUrl(ADMIN + "BootstrapConfigDump"), bootstrap: input.envoyBootstrap ?? bootstrapJson(input.bootstrap, input.lastReloadError, s), last_updated: updated },
    {
      "@type": typeUrl(ADMIN + "ClustersConfigDump"),
      version_info: version,
      dynamic_active_clusters: clusters.map((c) => ({ version_info: version, cluster: clusterJson(c), last_updated: updated })),
    },
  ];
  if (opts.includeEds === true) {
    configs.push({
      "@type": typeUrl(ADMIN + "EndpointsConfigDump"),
      dynamic_endpoint_configs: clusters.map((c) => ({ version_info: version, endpoint_config: loadAssignmentJson(c.name, c.loadAssignment, true), last_updated: updated })),
    });
  }
  configs.push(
    {
      "@type": typeUrl(ADMIN + "ListenersConfigDump"),
      version_info: version,
      dynamic_listeners: listeners.map((l) => ({ name: l.name, active_state: { version_info: version, listener: listenerJson(l), last_updated: updated } })),
    },
    { "@type": typeUrl(ADMIN + "ScopedRoutesConfigDump") },
    {
      "@type": typeUrl(ADMIN + "RoutesConfigDump"),
      dynamic_route_configs: routes.map((r) => ({ version_info: version, route_config: routeConfigJson(r), last_updated: updated })),
    },
    {
      "@type": typeUrl(ADMIN + "SecretsConfigDump"),
      // istio-agent serves `default` and `ROOTCA` over SDS: Envoy lists them as dynamic, active.
      dynamic_active_secrets: secrets.map((x) => ({ name: x.name, version_info: version, last_updated: updated, secret: secretJson(x) })),
    },
  );
  // proto3 JSON leaves out unset fields (no version yet) and empty repeated fields.
  for (const c of configs) {
    for (const [k, v] of Object.entries(c)) if (v === undefined || (Array.isArray(v) && v.length === 0)) delete c[k];
  }
  return { configs };
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
