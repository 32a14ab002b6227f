// The config-source contract: a source (Istio YAML files, an in-memory source for tests, later an
// xDS client) pushes versioned per-type resource updates into a sink; the sink validates them into
// the one Envoy-shaped snapshot, and answers accept or refuse (xDS ACK / NACK) with every error.
// A refused update changes nothing: the last good snapshot keeps serving.

import type { ConfigError } from "../model/config-error.js";
import type { Cluster, Listener, LocalityLbEndpoints, RouteConfiguration, Secret } from "../model/types.js";

/** Envoy's ClusterLoadAssignment as an EDS resource: the endpoints of the EDS cluster `clusterName`. */
export interface ClusterEndpoints {
  clusterName: string;
  endpoints: LocalityLbEndpoints[];
}

/** A secret (SDS): the workload certificate (`default`) or the mesh root (`ROOTCA`). */
export type SecretResource = Secret;

/** The resource of each xDS type (LDS, RDS, CDS, EDS, SDS), by the name it is keyed under. */
export interface ResourceOfType {
  listener: Listener;
  routeConfiguration: RouteConfiguration;
  cluster: Cluster;
  endpoint: ClusterEndpoints;
  secret: SecretResource;
}

export type ResourceType = keyof ResourceOfType;

export const RESOURCE_TYPES: readonly ResourceType[] = ["listener", "routeConfiguration", "cluster", "endpoint", "secret"];

/**
 * One type's resources after an update, as an xDS DiscoveryResponse carries them: either the whole
 * set (state of the world: names left out are removed) or a delta (added/changed, and removed names).
 */
export type ResourceUpdate = {
  [T in ResourceType]:
    | { type: T; version: string; kind: "state-of-the-world"; resources: Record<string, ResourceOfType[T]> }
    | {
        type: T;
        version: string;
        kind: "delta";
        upserted: Record<string, ResourceOfType[T]>;
        removed: string[];
        /** Delta xDS: each upserted resource's own version (Resource.version); absent = `version`. */
        resourceVersions?: Record<string, string>;
      };
}[ResourceType];

/** What a source pushes: per-type updates applied together (all or none), or decoding errors. */
export interface ConfigUpdate {
  /** Where it came from, for logs (`files`, `xds:ads`, `memory`). */
  origin: string;
  updates: ResourceUpdate[];
  /** Problems found while reading/decoding (severity "error" refuses the whole update). */
  errors?: ConfigError[];
  /**
   * The bootstrap's static_resources: kept apart from dynamic ones — a state-of-the-world update
   * of another origin never removes them, and no later update may replace them (Envoy refuses to
   * update a static listener or cluster by xDS). `/config_dump` lists them as static_*.
   */
  static?: boolean;
}

/** What `/config_dump` shows about one resource: its version_info and last_updated, static or dynamic. */
export interface ResourceMeta {
  /** The origin of the update that last changed it (`files`, `xds:ads`, `bootstrap`, …). */
  origin: string;
  /** version_info: the update's version, or the resource's own (delta). */
  version: string;
  /** When it last changed (ISO 8601). An update that leaves it byte-for-byte equal keeps the old time and version. */
  lastUpdated: string;
  static: boolean;
}

export interface UpdateResult {
  accepted: boolean;
  /** Every reason for refusing (empty when accepted). Worker apply failures are listed as errors too. */
  errors: ConfigError[];
  /** The snapshot version serving after this update (the old one when refused). */
  version: string | null;
}

/** Where sources push. Resolves once the update is refused, or accepted and handed to the data path. */
export interface ConfigSink {
  push(update: ConfigUpdate): Promise<UpdateResult>;
}

export interface ConfigSource {
  /** For logs: `files`, `memory`, `xds`. */
  readonly name: string;
  /** Starts delivering into `sink`; resolves with the result of the first update. */
  start(sink: ConfigSink): Promise<UpdateResult>;
  /** Re-read now (file change, SIGHUP). A source that pushes on its own answers with its last result. */
  refresh(reason: string): Promise<UpdateResult>;
  close(): void;
  /**
   * A control-plane source counts CDS/LDS responses itself (Envoy's `cluster_manager.cds.*` /
   * `listener_manager.lds.*`: NACKs decided before the sink is asked included); the supervisor
   * reports these instead of counting its own pushes. Absent = the supervisor counts pushes.
   */
  configStats?(): ConfigTypeCounts;
}

/** Envoy's `<cds|lds>.update_*` counters and `version` gauge (a hash of the version text). */
export interface ConfigTypeCounts {
  cds: { attempt: number; success: number; rejected: number; version: number };
  lds: { attempt: number; success: number; rejected: number; version: number };
}

/** A whole snapshot's resources as one state-of-the-world update per type (how file-like sources push). */
export function stateOfTheWorld(
  version: string,
  resources: { listeners: Listener[]; routeConfigs: Record<string, RouteConfiguration>; clusters: Record<string, Cluster> },
): ResourceUpdate[] {
  return [
    { type: "cluster", version, kind: "state-of-the-world", resources: { ...resources.clusters } },
    { type: "listener", version, kind: "state-of-the-world", resources: Object.fromEntries(resources.listeners.map((l) => [l.name, l])) },
    { type: "routeConfiguration", version, kind: "state-of-the-world", resources: { ...resources.routeConfigs } },
  ];
}
