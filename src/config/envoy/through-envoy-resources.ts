// The Istio YAML path's last step: the translator's output is written as the Envoy v3 resources
// istiod would push (the same encoders /config_dump and `config-dump --envoy` use) and read back
// through the one decoder the xDS client and the bootstrap use — so a file and a control plane
// saying the same thing yield the same model, and a translation the decoder would refuse from a
// control plane is refused from files too.

import { clusterJson } from "../../admin/config-dump/cluster-json.js";
import { listenerJson } from "../../admin/config-dump/listener-json.js";
import { routeConfigJson } from "../../admin/config-dump/route-config-json.js";
import type { ConfigError } from "../model/config-error.js";
import type { Cluster, Listener, RouteConfiguration } from "../model/types.js";
import type { ResourceOfType, ResourceType } from "../source/config-source.js";
import { decodeResource } from "./decode-resource.js";
import type { DecodeContext, DecodeNote, Json } from "./decoded.js";

export interface TranslatedResources {
  listeners: Listener[];
  routeConfigs: Record<string, RouteConfiguration>;
  clusters: Record<string, Cluster>;
}

export interface ThroughEnvoyResult {
  resources: TranslatedResources;
  /** A resource the decoder refused (a translator bug if it ever happens), with its reasons. */
  errors: ConfigError[];
  /** The decoder's notes (none for what the translator writes today), for the log. */
  notes: Array<{ type: ResourceType; name: string; note: DecodeNote }>;
}

export function throughEnvoyResources(t: TranslatedResources, origin: string, cwd?: string): ThroughEnvoyResult {
  const ctx: DecodeContext = cwd !== undefined ? { origin: "files", cwd } : { origin: "files" };
  const errors: ConfigError[] = [];
  const notes: ThroughEnvoyResult["notes"] = [];
  const one = <T extends ResourceType>(type: T, name: string, json: Json): ResourceOfType[T] | undefined => {
    const d = decodeResource(type, json, ctx);
    if (!d.ok) {
      for (const message of d.errors) errors.push({ file: origin, line: 0, path: `${type}[${JSON.stringify(name)}]`, message: `the translated resource does not decode: ${message}`, severity: "error" });
      return undefined;
    }
    for (const note of d.notes) notes.push({ type, name, note });
    return d.value;
  };
  const listeners: Listener[] = [];
  for (const l of t.listeners) {
    const v = one("listener", l.name, listenerJson(l));
    if (v !== undefined) listeners.push(v);
  }
  const routeConfigs: Record<string, RouteConfiguration> = {};
  for (const [name, rc] of Object.entries(t.routeConfigs)) {
    const v = one("routeConfiguration", name, routeConfigJson(rc));
    if (v !== undefined) routeConfigs[name] = v;
  }
  const clusters: Record<string, Cluster> = {};
  for (const [name, c] of Object.entries(t.clusters)) {
    const v = one("cluster", name, clusterJson(c));
    if (v !== undefined) clusters[name] = v;
  }
  return { resources: { listeners, routeConfigs, clusters }, errors, notes };
}
