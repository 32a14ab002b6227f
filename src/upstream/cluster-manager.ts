// ClusterManager: one per worker. Turns the snapshot's clusters into runtime clusters (hosts, load
// balancer) and owns the connection pools, which survive config reloads when the endpoint stays.

import { isIP } from "node:net";
import { ENVOY_MAX_RING_SIZE, ENVOY_MIN_RING_SIZE, maxRequestsPerConnection, upstreamIdleTimeoutMs } from "../config/model/defaults.js";
import type { Cluster, LbEndpoint, LocalityLbEndpoints } from "../config/model/types.js";
import { systemClock, type Clock } from "../common/clock.js";
import type { Logger } from "../common/logger.js";
import type { Random } from "../common/random.js";
import type { LbContext, OutlierReporter, RouterCluster } from "./cluster-api.js";
import { ClusterLb, type ClusterLbConfig } from "./cluster-lb.js";
import { Http1Pool, type PoolOptions } from "./http1-pool.js";
import type { LbPolicy } from "./load-balancer.js";
import type { HostGroup } from "./priority-set.js";
import {
  allocateClusterShared,
  hostSlotCount,
  viewClusterShared,
  type ClusterSharedView,
  type SharedClusterBuffers,
} from "./shared/cluster-shared-layout.js";
import { ConnectionGate } from "./shared/connection-gate.js";
import { OutlierDetector } from "./shared/outlier-detector.js";
import { SharedClusterResources } from "./shared/shared-cluster-resources.js";
import { UpstreamHost } from "./upstream-host.js";

/** 5 000 ms: Envoy's default dns_refresh_rate for STRICT_DNS clusters. */
const DNS_REFRESH_MS = 5_000;

export class ClusterRuntime implements RouterCluster {
  readonly model: Cluster;
  /** Serialized model, to tell unchanged clusters apart across snapshots. */
  readonly signature: string;
  /** Every host of every priority. */
  hosts: UpstreamHost[] = [];
  /** Host selection over `hosts` (priorities, health, localities, policy); undefined until hosts are known. */
  balancer: ClusterLb | undefined;
  /** When each host key joined (clock.monotonic ms), for slow start; undefined before the first hosts. */
  hostTimes: Map<string, number> | undefined;
  dnsTimer: NodeJS.Timeout | undefined;
  /** Cross-worker state (circuit-breaker counts, outlier ejections) in shared memory. */
  readonly shared: ClusterSharedView;
  readonly resources: SharedClusterResources;
  /** maxConnections / maxPendingRequests for this worker's pools (null when unlimited). */
  readonly gate: ConnectionGate | null;
  /** Present when the cluster has outlier detection. */
  readonly detector: OutlierDetector | undefined;
  readonly outlier: OutlierReporter;
  /** Pools of limited clusters are the cluster's own (Envoy: pools are per cluster and host). */
  readonly poolScope: string;

  constructor(model: Cluster, signature: string, shared: ClusterSharedView, random: Random, clock: Clock, scope: number, workerIndex = 0) {
    this.model = model;
    this.signature = signature;
    this.shared = shared;
    // Counts are also kept in this worker's record, so the supervisor can reclaim them if it dies.
    this.resources = new SharedClusterResources(shared, model.circuitBreakers, workerIndex);
    this.gate = this.resources.connectionsLimited ? new ConnectionGate(this.resources) : null;
    this.detector = model.outlierDetection !== undefined ? new OutlierDetector(shared, model.outlierDetection, random, clock) : undefined;
    this.outlier = this.detector ?? noOutlier;
    const perConnLimit = maxRequestsPerConnection(model) !== undefined;
    this.poolScope = this.gate !== null || perConnLimit ? `${model.name}#${scope}` : "";
  }

  get name(): string {
    return this.model.name;
  }

  chooseHost(ctx: LbContext): UpstreamHost | undefined {
    return this.balancer === undefined ? undefined : this.balancer.pick(ctx);
  }
}

const noOutlier: OutlierReporter = { report() {} };

interface ResolvedEndpoint {
  ep: LbEndpoint;
  /** The endpoint's shared-state host slot (model order). */
  slot: number;
  address: string;
  group: LocalityLbEndpoints;
}

export class ClusterManager {
  private readonly clusters = new Map<string, ClusterRuntime>();
  private readonly pools = new Map<string, Http1Pool>();
  private readonly random: Random;
  private readonly log: Logger;
  private readonly workerIndex: number;
  private readonly clock: Clock;
  private scopes = 0;

  constructor(random: Random, log: Logger, workerIndex = 0, clock: Clock = systemClock) {
    this.random = random;
    this.log = log;
    this.workerIndex = workerIndex;
    this.clock = clock;
  }

  get(name: string): ClusterRuntime | undefined {
    return this.clusters.get(name);
  }

  /**
   * Applies a snapshot's clusters, keeping runtimes (and their LB state) of unchanged ones.
   * `shared` holds each cluster's cross-worker buffer (from the supervisor); a cluster without
   * one gets a buffer of its own, which is then only this worker's.
   */
  update(models: Record<string, Cluster>, shared: SharedClusterBuffers = {}): void {
    const next = new Map<string, ClusterRuntime>();
    for (const [name, model] of Object.entries(models)) {
      const signature = JSON.stringify(model);
      const old = this.clusters.get(name);
      if (old !== undefined && old.signature === signature) {
        next.set(name, old);
        continue;
      }
      if (old?.dnsTimer) clearInterval(old.dnsTimer);
      const rt = new ClusterRuntime(model, signature, this.sharedView(model, shared[name]), this.random, this.clock, ++this.scopes, this.workerIndex);
      // Hosts already there keep their age; a cluster seen for the first time has no new hosts
      // (Envoy: slow start applies to hosts added to an existing cluster).
      if (old !== undefined) rt.hostTimes = old.hostTimes ?? new Map();
      this.populate(rt);
      next.set(name, rt);
    }
    for (const [name, old] of this.clusters) {
      if (!next.has(name) && old.dnsTimer) clearInterval(old.dnsTimer);
      if (next.get(name) !== old) old.gate?.close();
    }
    this.clusters.clear();
    for (const [k, v] of next) this.clusters.set(k, v);
    this.collectPools();
  }

  private sharedView(model: Cluster, buffer: SharedArrayBuffer | undefined): ClusterSharedView {
    const slots = hostSlotCount(model);
    const view = buffer !== undefined ? viewClusterShared(buffer, slots) : undefined;
    if (view !== undefined) return view;
    if (buffer !== undefined) this.log.warn(`cluster ${model.name}: shared state has another shape; using worker-local state`);
    return viewClusterShared(allocateClusterShared(slots, this.workerIndex + 1), slots)!;
  }

  private populate(rt: ClusterRuntime): void {
    const m = rt.model;
    const eps: ResolvedEndpoint[] = [];
    let needsDns = false;
    let slot = 0;
    for (const group of m.loadAssignment.endpoints) {
      for (const ep of group.lbEndpoints) {
        const s = slot++;
        if (ep.healthStatus !== "HEALTHY") continue;
        if (isIP(ep.address) === 0) needsDns = true;
        eps.push({ ep, slot: s, address: ep.address, group });
      }
    }
    if (m.type === "STRICT_DNS" && needsDns) {
      const refresh = (): void => {
        void this.resolve(eps).then((resolved) => {
          if (this.clusters.get(m.name) !== rt && rt.hosts.length > 0) return;
          this.setHosts(rt, resolved);
        });
      };
      refresh();
      rt.dnsTimer = setInterval(refresh, DNS_REFRESH_MS);
      rt.dnsTimer.unref();
      return;
    }
    this.setHosts(rt, eps);
  }

  private async resolve(eps: ResolvedEndpoint[]): Promise<ResolvedEndpoint[]> {
    const out: ResolvedEndpoint[] = [];
    for (const e of eps) {
      if (isIP(e.ep.address) !== 0) {
        out.push(e);
        continue;
      }
      try {
        // Loaded on first use: only DNS clusters need the resolver.
        const { lookup } = await import("node:dns/promises");
        const addrs = await lookup(e.ep.address, { all: true });
        for (const a of addrs) out.push({ ep: e.ep, slot: e.slot, address: a.address, group: e.group });
      } catch (err) {
        this.log.warn(`DNS resolution of ${e.ep.address} failed: ${(err as Error).message}`);
      }
    }
    return out;
  }

  private setHosts(rt: ClusterRuntime, eps: ResolvedEndpoint[]): void {
    const opts = this.poolOptions(rt.model);
    const now = this.clock.monotonic();
    const known = rt.hostTimes;
    const times = new Map<string, number>();
    const createdAt = new Map<UpstreamHost, number>();
    const groups = new Map<LocalityLbEndpoints, HostGroup & { hosts: UpstreamHost[] }>();
    rt.hosts = eps.map((e) => {
      const h = new UpstreamHost(e.address, e.ep.port, e.ep.weight > 0 ? e.ep.weight : 1, e.ep.labels, e.group.locality, this.pool(rt, e.address, e.ep.port, opts));
      rt.detector?.attach(h, e.slot);
      const t = known === undefined ? -Infinity : (known.get(h.key) ?? now);
      times.set(h.key, t);
      createdAt.set(h, t);
      let g = groups.get(e.group);
      if (g === undefined) {
        // Model: loadBalancingWeight defaults to the sum of the endpoint weights.
        const weight = e.group.loadBalancingWeight ?? e.group.lbEndpoints.reduce((s, ep) => s + (ep.weight > 0 ? ep.weight : 1), 0);
        g = { priority: e.group.priority, locality: e.group.locality, weight, hosts: [] };
        groups.set(e.group, g);
      }
      g.hosts.push(h);
      return h;
    });
    rt.hostTimes = times;
    rt.balancer = new ClusterLb({ ...lbConfigOf(rt.model), groups: [...groups.values()], createdAt }, {
      random: this.random,
      clock: this.clock,
      start: this.workerIndex,
      // Host health only moves with ejections: re-read it when the detector's epoch changes.
      healthEpoch: rt.detector?.epoch ?? neverChanges,
    });
  }

  private poolOptions(m: Cluster): PoolOptions {
    const ka = m.upstreamConnectionOptions?.tcpKeepalive;
    return {
      connectTimeoutMs: m.connectTimeoutMs,
      idleTimeoutMs: upstreamIdleTimeoutMs(m),
      maxRequestsPerConnection: maxRequestsPerConnection(m),
      tcpKeepaliveTimeMs: ka !== undefined ? (ka.keepaliveTimeMs ?? 0) : undefined,
      maxConnectionDurationMs: m.httpProtocolOptions?.commonHttpProtocolOptions?.maxConnectionDurationMs,
    };
  }

  private pool(rt: ClusterRuntime, address: string, port: number, opts: PoolOptions): Http1Pool {
    const key = `${rt.poolScope}|${address}|${port}`;
    let p = this.pools.get(key);
    if (p === undefined) {
      p = new Http1Pool(address, port, opts, rt.gate);
      this.pools.set(key, p);
    } else {
      p.updateOptions(opts);
    }
    return p;
  }

  /** Closes pools that no cluster references any more. */
  private collectPools(): void {
    const used = new Set<Http1Pool>();
    for (const rt of this.clusters.values()) for (const h of rt.hosts) used.add(h.pool);
    for (const [k, p] of this.pools) {
      if (!used.has(p) && !this.isDnsPending()) {
        p.close();
        this.pools.delete(k);
      }
    }
  }

  private isDnsPending(): boolean {
    for (const rt of this.clusters.values()) if (rt.dnsTimer !== undefined && rt.hosts.length === 0) return true;
    return false;
  }

  sweep(now: number): void {
    for (const p of this.pools.values()) p.sweep(now);
  }

  close(): void {
    for (const rt of this.clusters.values()) {
      if (rt.dnsTimer) clearInterval(rt.dnsTimer);
      rt.gate?.close();
    }
    for (const p of this.pools.values()) p.close();
    this.pools.clear();
    this.clusters.clear();
  }
}

/** The balancing policy: the model's lbPolicy (CLUSTER_PROVIDED, for ORIGINAL_DST, balances as least request). */
export function lbPolicyOf(m: Cluster): LbPolicy {
  switch (m.lbPolicy) {
    case "ROUND_ROBIN":
    case "RANDOM":
    case "RING_HASH":
    case "MAGLEV":
      return m.lbPolicy;
    default:
      return "LEAST_REQUEST";
  }
}

/** Everything ClusterLb needs from the model except the hosts (Envoy's defaults for absent fields). */
export function lbConfigOf(m: Cluster): Omit<ClusterLbConfig, "groups"> {
  const cfg: Omit<ClusterLbConfig, "groups"> = { policy: lbPolicyOf(m), localityWeighted: m.localityWeightedLb === true };
  if (m.healthyPanicThreshold !== undefined) cfg.healthyPanicThreshold = m.healthyPanicThreshold;
  if (m.ringHashLbConfig !== undefined) {
    const min = m.ringHashLbConfig.minimumRingSize;
    cfg.ringHash = {
      minimumRingSize: min > 0 ? min : ENVOY_MIN_RING_SIZE,
      maximumRingSize: m.ringHashLbConfig.maximumRingSize > 0 ? m.ringHashLbConfig.maximumRingSize : ENVOY_MAX_RING_SIZE,
    };
  }
  const table = m.maglevLbConfig?.tableSize;
  if (table !== undefined && table > 0) cfg.maglevTableSize = table;
  if (m.slowStart !== undefined) cfg.slowStart = m.slowStart;
  return cfg;
}

/** The health epoch of a cluster without outlier detection: its hosts are never ejected. */
function neverChanges(): number {
  return 0;
}
