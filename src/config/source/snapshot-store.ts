// SnapshotStore: the sink's memory. Holds the last accepted resources of every type with their
// versions, applies a ConfigUpdate to a copy, validates the result and only then makes it current,
// so a refused update (with every error) leaves the last good snapshot serving. Builds the
// Snapshot the data path sees: listeners, route configurations, clusters (EDS clusters take their
// endpoints from the endpoint resources).

import type { ConfigError } from "../model/config-error.js";
import type { Cluster, Snapshot } from "../model/types.js";
import { RESOURCE_TYPES, type ConfigUpdate, type ResourceOfType, type ResourceType } from "./config-source.js";

type Resources = { [T in ResourceType]: Map<string, ResourceOfType[T]> };

export interface StoreResult {
  accepted: boolean;
  errors: ConfigError[];
  /** The new snapshot when accepted. */
  snapshot?: Snapshot;
}

function emptyResources(): Resources {
  return { listener: new Map(), routeConfiguration: new Map(), cluster: new Map(), endpoint: new Map(), secret: new Map() };
}

function copy(r: Resources): Resources {
  const out = emptyResources();
  for (const t of RESOURCE_TYPES) for (const [k, v] of r[t]) (out[t] as Map<string, unknown>).set(k, v);
  return out;
}

export class SnapshotStore {
  private current = emptyResources();
  private versions: Partial<Record<ResourceType, string>> = {};
  private snapshotNow: Snapshot | null = null;

  /** `nextVersion`: the version stamp of each accepted snapshot. */
  constructor(private readonly nextVersion: () => string) {}

  get snapshot(): Snapshot | null {
    return this.snapshotNow;
  }

  /** The version of a type's last accepted update (xDS version_info to ACK with). */
  versionOf(type: ResourceType): string | undefined {
    return this.versions[type];
  }

  apply(update: ConfigUpdate): StoreResult {
    const errors = (update.errors ?? []).filter((e) => e.severity !== "warning");
    if (errors.length > 0) return { accepted: false, errors };
    const next = copy(this.current);
    for (const u of update.updates) {
      const map = next[u.type] as Map<string, unknown>;
      if (u.kind === "state-of-the-world") {
        map.clear();
        for (const [k, v] of Object.entries(u.resources)) map.set(k, v);
      } else {
        for (const name of u.removed) map.delete(name);
        for (const [k, v] of Object.entries(u.upserted)) map.set(k, v);
      }
    }
    const problems = validate(next, update.origin);
    if (problems.length > 0) return { accepted: false, errors: problems };
    this.current = next;
    for (const u of update.updates) this.versions[u.type] = u.version;
    this.snapshotNow = build(next, this.nextVersion());
    return { accepted: true, errors: [], snapshot: this.snapshotNow };
  }
}

/** What the data path cannot run: names that disagree with their keys, two listeners on one address. */
function validate(r: Resources, origin: string): ConfigError[] {
  const errors: ConfigError[] = [];
  const err = (path: string, message: string): void => {
    errors.push({ file: origin, line: 0, path, message, severity: "error" });
  };
  const named = <T extends { name: string }>(type: ResourceType, map: Map<string, T>): void => {
    for (const [k, v] of map) if (v.name !== k) err(`${type}[${JSON.stringify(k)}]`, `resource is named ${JSON.stringify(v.name)}, not ${JSON.stringify(k)}`);
  };
  named("listener", r.listener);
  named("routeConfiguration", r.routeConfiguration);
  named("cluster", r.cluster);
  named("secret", r.secret);
  for (const [k, v] of r.endpoint) {
    if (v.clusterName !== k) err(`endpoint[${JSON.stringify(k)}]`, `endpoints are for cluster ${JSON.stringify(v.clusterName)}, not ${JSON.stringify(k)}`);
  }
  const bound = new Map<string, string>();
  for (const l of r.listener.values()) {
    const at = `${l.address}:${l.port}`;
    const other = bound.get(at);
    // Port 0 asks for any free port: several may share it.
    if (other !== undefined && l.port !== 0) err(`listener[${JSON.stringify(l.name)}]`, `address ${at} is already used by listener ${other}`);
    bound.set(at, l.name);
  }
  for (const c of r.cluster.values()) {
    // Envoy refuses a LOGICAL_DNS cluster with several endpoints (one logical host); none just has no host.
    if (c.type === "LOGICAL_DNS" && c.loadAssignment.endpoints.reduce((n, g) => n + g.lbEndpoints.length, 0) > 1) {
      err(`cluster[${JSON.stringify(c.name)}]`, "LOGICAL_DNS clusters must have at most one endpoint");
    }
  }
  return errors;
}

function build(r: Resources, version: string): Snapshot {
  const clusters: Record<string, Cluster> = {};
  for (const [name, c] of r.cluster) {
    const eds = c.type === "EDS" ? r.endpoint.get(name) : undefined;
    clusters[name] = eds !== undefined ? { ...c, loadAssignment: { endpoints: eds.endpoints } } : c;
  }
  return {
    version,
    listeners: [...r.listener.values()],
    routeConfigs: Object.fromEntries(r.routeConfiguration),
    clusters,
    ...(r.secret.size > 0 ? { secrets: Object.fromEntries(r.secret) } : {}),
  };
}
