// Cluster status for the admin API's /clusters: per cluster its circuit-breaker limits and what
// all workers have in use right now, per host its health (outlier ejections) — read from the
// shared state, so it is the mesh-wide truth, not one worker's view — and its request and
// connection stats (Envoy's HostStats), summed over the workers' stats replies. Text output follows Envoy's
// `/clusters` line format (`cluster::host::stat::value`), JSON Envoy's envoy.admin.v3.Clusters,
// so existing habits and parsers work. STRICT_DNS names show one host per address they resolved
// to (the shared address table), with the name as `hostname`, as Envoy shows them.

import { isIP } from "node:net";
import type { Cluster } from "../config/model/types.js";
import { H, type ClusterSharedView } from "../upstream/shared/cluster-shared-layout.js";
import { claimedHostSlots } from "../upstream/shared/host-slot-table.js";
import { outlierHostStates } from "../upstream/shared/outlier-detector.js";
import { ISTIO_UNLIMITED_THRESHOLD } from "../config/model/defaults.js";
import { HOST_COUNTERS, HOST_GAUGES, type HostStatsSnapshot, type HostStatValues } from "../observability/stats/host-stats.js";

export interface HostStatus {
  /** `ip:port` (`[v6]:port`). */
  address: string;
  ip: string;
  port: number;
  /** A Pipe host's Unix socket path (then `address` is the path, `ip` "" and `port` 0). */
  pipe?: string | undefined;
  /** The DNS name a STRICT_DNS host was resolved from, else "". */
  hostname: string;
  weight: number;
  priority: number;
  region: string;
  zone: string;
  subZone: string;
  healthStatus: "HEALTHY" | "UNHEALTHY" | "DRAINING";
  /** Ejected by outlier detection right now. */
  ejected: boolean;
  /** Times ejected since the cluster's config last changed. */
  ejections: number;
  /** cx_connect_fail … rq_active summed over the workers (HOST_COUNTERS then HOST_GAUGES); absent: all 0. */
  stats?: HostStatValues | undefined;
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

/** Envoy's defaults for the HIGH routing priority, which Istio never sets. */
const HIGH_PRIORITY = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 };

function hostAddress(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function clusterStatus(c: Cluster, view: ClusterSharedView | undefined): ClusterStatus {
  const states = view !== undefined ? outlierHostStates(view) : [];
  const resolved = view !== undefined && view.tableSlots > 0 ? claimedHostSlots(view) : [];
  const hosts: HostStatus[] = [];
  let slot = 0;
  for (const g of c.loadAssignment.endpoints) {
    for (const ep of g.lbEndpoints) {
      const index = slot++;
      const base = { weight: ep.weight, priority: g.priority, region: g.locality.region ?? "", zone: g.locality.zone ?? "", subZone: g.locality.subZone ?? "", healthStatus: ep.healthStatus };
      if (c.type === "STRICT_DNS" && isIP(ep.address) === 0) {
        // Table order is a hash's: addresses sorted instead, so the output is stable.
        for (const r of resolved.filter((x) => x.endpoint === index).sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port))) {
          const s = states[r.slot];
          hosts.push({ ...base, address: hostAddress(r.address, r.port), ip: r.address, port: r.port, hostname: ep.address, ejected: s?.ejected ?? false, ejections: s?.ejections ?? 0 });
        }
        continue;
      }
      const s = states[index];
      if (ep.pipe !== undefined) {
        // Envoy prints a Pipe host by its path (`xds-grpc::./etc/istio/proxy/XDS::cx_active::1`).
        hosts.push({ ...base, address: ep.pipe, ip: "", port: 0, pipe: ep.pipe, hostname: "", ejected: s?.ejected ?? false, ejections: s?.ejections ?? 0 });
        continue;
      }
      hosts.push({ ...base, address: hostAddress(ep.address, ep.port), ip: ep.address, port: ep.port, hostname: isIP(ep.address) === 0 ? ep.address : "", ejected: s?.ejected ?? false, ejections: s?.ejections ?? 0 });
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

/** Fills in each host's stats from the workers' merged host stats (keyed by cluster and `ip:port`). */
export function attachHostStats(all: readonly ClusterStatus[], stats: HostStatsSnapshot): void {
  for (const c of all) {
    const hosts = stats[c.name];
    if (hosts === undefined) continue;
    for (const h of c.hosts) h.stats = hosts[h.address];
  }
}

/** Host stat names with their value index, sorted by name: Envoy's text output (one std::map). */
const TEXT_ORDER: readonly (readonly [string, number])[] = [...HOST_COUNTERS, ...HOST_GAUGES]
  .map((n, i) => [n, i] as const)
  .sort((a, b) => (a[0] < b[0] ? -1 : 1));

/** Envoy's health_flags text: `healthy`, or the failing flags joined with `/`. */
function healthFlags(h: HostStatus): string {
  let flags = "";
  if (h.ejected) flags += "/failed_outlier_check";
  if (h.healthStatus === "UNHEALTHY") flags += "/failed_eds_health";
  if (h.healthStatus === "DRAINING") flags += "/eds_status_draining";
  return flags === "" ? "healthy" : flags;
}

/**
 * Envoy's /clusters text: one `name::…::value` line per fact. Outrigger adds `in_use::*` (the
 * circuit breakers' live counts across workers) and per host `outlier_ejections`.
 */
export function formatClusters(all: readonly ClusterStatus[]): string {
  const out: string[] = [];
  for (const c of all) {
    const n = c.name;
    const b = c.circuitBreakers;
    if (c.outlierDetection) {
      // Istio turns success-rate ejection off: Envoy prints -1 for what it does not compute.
      out.push(`${n}::outlier::success_rate_average::-1`, `${n}::outlier::success_rate_ejection_threshold::-1`, `${n}::outlier::local_origin_success_rate_average::-1`, `${n}::outlier::local_origin_success_rate_ejection_threshold::-1`);
    }
    for (const [p, t] of [["default", b], ["high", HIGH_PRIORITY]] as const) {
      out.push(
        `${n}::${p}_priority::max_connections::${t.maxConnections}`,
        `${n}::${p}_priority::max_pending_requests::${t.maxPendingRequests}`,
        `${n}::${p}_priority::max_requests::${t.maxRequests}`,
        `${n}::${p}_priority::max_retries::${t.maxRetries}`,
      );
    }
    out.push(
      `${n}::added_via_api::true`,
      `${n}::in_use::connections::${c.inUse.connections}`,
      `${n}::in_use::pending_requests::${c.inUse.pendingRequests}`,
      `${n}::in_use::requests::${c.inUse.requests}`,
      `${n}::in_use::retries::${c.inUse.retries}`,
      `${n}::outlier_detection::${c.outlierDetection}`,
    );
    for (const h of c.hosts) {
      const p = `${n}::${h.address}`;
      for (const [name, i] of TEXT_ORDER) out.push(`${p}::${name}::${h.stats?.[i] ?? 0}`);
      out.push(
        `${p}::hostname::${h.hostname}`,
        `${p}::health_flags::${healthFlags(h)}`,
        `${p}::weight::${h.weight}`,
        `${p}::region::${h.region}`,
        `${p}::zone::${h.zone}`,
        `${p}::sub_zone::${h.subZone}`,
        `${p}::canary::false`,
        `${p}::priority::${h.priority}`,
        `${p}::success_rate::-1`,
        `${p}::local_origin_success_rate::-1`,
        `${p}::outlier_ejections::${h.ejections}`,
      );
    }
  }
  return out.join("\n") + (out.length > 0 ? "\n" : "");
}

/** Envoy's envoy.admin.v3.Clusters JSON (`/clusters?format=json`). */
export function clustersJson(all: readonly ClusterStatus[]): unknown {
  return {
    cluster_statuses: all.map((c) => ({
      name: c.name,
      added_via_api: true,
      circuit_breakers: {
        thresholds: [
          // DEFAULT is the enum's zero value: left out, as proto3 JSON does.
          { max_connections: c.circuitBreakers.maxConnections, max_pending_requests: c.circuitBreakers.maxPendingRequests, max_requests: c.circuitBreakers.maxRequests, max_retries: c.circuitBreakers.maxRetries },
          { priority: "HIGH", max_connections: HIGH_PRIORITY.maxConnections, max_pending_requests: HIGH_PRIORITY.maxPendingRequests, max_requests: HIGH_PRIORITY.maxRequests, max_retries: HIGH_PRIORITY.maxRetries },
        ],
      },
      host_statuses: c.hosts.map((h) => {
        const locality: Record<string, string> = {};
        if (h.region !== "") locality.region = h.region;
        if (h.zone !== "") locality.zone = h.zone;
        if (h.subZone !== "") locality.sub_zone = h.subZone;
        const health: Record<string, unknown> = { eds_health_status: h.healthStatus };
        if (h.ejected) health.failed_outlier_check = true;
        const s: Record<string, unknown> = {
          address: h.pipe !== undefined ? { pipe: { path: h.pipe } } : { socket_address: { address: h.ip, port_value: h.port } },
          stats: hostStatsJson(h.stats),
          health_status: health,
          weight: h.weight,
        };
        if (h.hostname !== "") s.hostname = h.hostname;
        if (h.priority > 0) s.priority = h.priority;
        if (Object.keys(locality).length > 0) s.locality = locality;
        return s;
      }),
    })),
  };
}

/**
 * Envoy's SimpleMetric list: counters then gauges, as proto3 JSON prints them — fields in number
 * order (type, value, name), the zero enum (COUNTER) and zero values left out, uint64 as a string.
 */
function hostStatsJson(values: HostStatValues | undefined): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  const names = [...HOST_COUNTERS, ...HOST_GAUGES];
  for (let i = 0; i < names.length; i++) {
    const m: Record<string, string> = {};
    if (i >= HOST_COUNTERS.length) m.type = "GAUGE";
    const v = values?.[i] ?? 0;
    if (v !== 0) m.value = String(v);
    m.name = names[i]!;
    out.push(m);
  }
  return out;
}
