// SnapshotStore: the sink's memory. Holds the last accepted resources of every type with their
// versions, applies a ConfigUpdate to a copy, validates the result and only then makes it current,
// so a refused update (with every error) leaves the last good snapshot serving. Builds the
// Snapshot the data path sees: listeners, route configurations, clusters (EDS clusters take their
// endpoints from the endpoint resources).

import type { ConfigError } from "../model/config-error.js";
import type { Cluster, Snapshot } from "../model/types.js";
import { RESOURCE_TYPES, type ConfigUpdate, type ResourceMeta, type ResourceOfType, type ResourceType } from "./config-source.js";

type Resources = { [T in ResourceType]: Map<string, ResourceOfType[T]> };
type Metas = { [T in ResourceType]: Map<string, ResourceMeta> };

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

function emptyMetas(): Metas {
  return { listener: new Map(), routeConfiguration: new Map(), cluster: new Map(), endpoint: new Map(), secret: new Map() };
}

export class SnapshotStore {
  private current = emptyResources();
  private metas = emptyMetas();
  private versions: Partial<Record<ResourceType, string>> = {};
  private snapshotNow: Snapshot | null = null;

  /** `nextVersion`: the version stamp of each accepted snapshot; `now`: the clock of last_updated. */
  constructor(
    private readonly nextVersion: () => string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** version_info / last_updated / static of each current resource of a type, by name. */
  meta(type: ResourceType): ReadonlyMap<string, ResourceMeta> {
    return this.metas[type];
  }

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
    const isStatic = update.static === true;
    const staticErrors: ConfigError[] = [];
    for (const u of update.updates) {
      const map = next[u.type] as Map<string, unknown>;
      const metas = this.metas[u.type];
      const touch = (name: string): boolean => {
        if (metas.get(name)?.static !== true) return true;
        staticErrors.push({ file: update.origin, line: 0, path: `${u.type}[${JSON.stringify(name)}]`, message: `${JSON.stringify(name)} is a static resource of the bootstrap and cannot be updated`, severity: "error" });
        return false;
      };
      if (u.kind === "state-of-the-world") {
        // A state of the world replaces the dynamic resources; static ones (the bootstrap's) stay.
        for (const name of [...map.keys()]) if (metas.get(name)?.static !== true || isStatic) map.delete(name);
        for (const [k, v] of Object.entries(u.resources)) if (isStatic || touch(k)) map.set(k, v);
      } else {
        for (const name of u.removed) if (!map.has(name) || touch(name)) map.delete(name);
        for (const [k, v] of Object.entries(u.upserted)) if (isStatic || touch(k)) map.set(k, v);
      }
    }
    if (staticErrors.length > 0) return { accepted: false, errors: staticErrors };
    const problems = validate(next, update.origin);
    if (problems.length > 0) return { accepted: false, errors: problems };
    const stamp = this.now().toISOString();
    for (const u of update.updates) {
      const metas = this.metas[u.type];
      const before = this.current[u.type] as Map<string, unknown>;
      const after = next[u.type] as Map<string, unknown>;
      for (const name of [...metas.keys()]) if (!after.has(name)) metas.delete(name);
      const changed = u.kind === "state-of-the-world" ? Object.keys(u.resources) : Object.keys(u.upserted);
      for (const name of changed) {
        const old = metas.get(name);
        if (old !== undefined && JSON.stringify(before.get(name)) === JSON.stringify(after.get(name))) continue;
        const version = (u.kind === "delta" ? u.resourceVersions?.[name] : undefined) ?? u.version;
        metas.set(name, { origin: update.origin, version, lastUpdated: stamp, static: isStatic });
      }
    }
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
