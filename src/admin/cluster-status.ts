// Cluster status for the admin API's /clusters: per cluster its circuit-breaker limits and what
// all workers have in use right now, per host its health (outlier ejections) — read from the
// shared state, so it is the mesh-wide truth, not one worker's view. Text output follows
// Envoy's `/clusters` line format (`cluster::host::stat::value`) so existing habits work.

import type { Cluster } from "../config/model/types.js";
import { H, type ClusterSharedView } from "../upstream/shared/cluster-shared-layout.js";
import { outlierHostStates } from "../upstream/shared/outlier-detector.js";
import { ISTIO_UNLIMITED_THRESHOLD } from "../config/model/defaults.js";

export interface HostStatus {
  address: string;
  weight: number;
  priority: number;
  region: string;
  zone: string;
  subZone: string;
  /** Ejected by outlier detection right now. */
  ejected: boolean;
  /** Times ejected since the cluster's config last changed. */
  ejections: number;
}

export interface ClusterStatus {
  name: string;
  circuitBreakers: { maxConnections: number; maxPendingRequests: number; maxRequests: number; maxRetries: number };
  /** In use across all workers (0 where the limit is unlimited: nothing is counted then). */
  inUse: { connections: number; pendingRequests: number; requests: number; retries: number };
  outlierDetection: boolean;
  hosts: HostStatus[];
}

/** Istio's default for every threshold it does not set. */
const UNLIMITED = ISTIO_UNLIMITED_THRESHOLD;

export function clusterStatus(c: Cluster, view: ClusterSharedView | undefined): ClusterStatus {
  const states = view !== undefined ? outlierHostStates(view) : [];
  const hosts: HostStatus[] = [];
  let slot = 0;
  for (const g of c.loadAssignment.endpoints) {
    for (const ep of g.lbEndpoints) {
      const s = states[slot++];
      hosts.push({
        address: ep.address.includes(":") ? `[${ep.address}]:${ep.port}` : `${ep.address}:${ep.port}`,
        weight: ep.weight,
        priority: g.priority,
        region: g.locality.region ?? "",
        zone: g.locality.zone ?? "",
        subZone: g.locality.subZone ?? "",
        ejected: s?.ejected ?? false,
        ejections: s?.ejections ?? 0,
      });
    }
  }
  const cb = c.circuitBreakers;
  const load = (k: number): number => (view !== undefined ? Atomics.load(view.i32, k) : 0);
  return {
    name: c.name,
    circuitBreakers: {
      maxConnections: cb?.maxConnections ?? UNLIMITED,
      maxPendingRequests: cb?.maxPendingRequests ?? UNLIMITED,
      maxRequests: cb?.maxRequests ?? UNLIMITED,
      maxRetries: cb?.maxRetries ?? UNLIMITED,
    },
    inUse: { connections: load(H.Connections), pendingRequests: load(H.Pending), requests: load(H.Requests), retries: load(H.Retries) },
    outlierDetection: c.outlierDetection !== undefined,
    hosts,
  };
}

/** Envoy's /clusters text: one `name::…::value` line per fact. */
export function formatClusters(all: readonly ClusterStatus[]): string {
  const out: string[] = [];
  for (const c of all) {
    const n = c.name;
    const b = c.circuitBreakers;
    out.push(
      `${n}::default_priority::max_connections::${b.maxConnections}`,
      `${n}::default_priority::max_pending_requests::${b.maxPendingRequests}`,
      `${n}::default_priority::max_requests::${b.maxRequests}`,
      `${n}::default_priority::max_retries::${b.maxRetries}`,
      `${n}::in_use::connections::${c.inUse.connections}`,
      `${n}::in_use::pending_requests::${c.inUse.pendingRequests}`,
      `${n}::in_use::requests::${c.inUse.requests}`,
      `${n}::in_use::retries::${c.inUse.retries}`,
      `${n}::outlier_detection::${c.outlierDetection}`,
    );
    for (const h of c.hosts) {
      const p = `${n}::${h.address}`;
      out.push(
        `${p}::health_flags::${h.ejected ? "/failed_outlier_check" : "healthy"}`,
        `${p}::weight::${h.weight}`,
        `${p}::region::${h.region}`,
        `${p}::zone::${h.zone}`,
        `${p}::sub_zone::${h.subZone}`,
        `${p}::priority::${h.priority}`,
        `${p}::outlier_ejections::${h.ejections}`,
      );
    }
  }
  return out.join("\n") + (out.length > 0 ? "\n" : "");
}
