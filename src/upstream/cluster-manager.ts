// ClusterManager: one per worker. Turns the snapshot's clusters into runtime clusters (hosts, load
// balancer) and owns the connection pools, which survive config reloads when the endpoint stays.
// DNS clusters re-resolve on the injected timers: STRICT_DNS makes every address its own host
// (own LB entry, own outlier slot from the shared address table); LOGICAL_DNS keeps one host whose
// new connections go to the first address of the latest resolution.

import { createHash } from "node:crypto";
import { isIP } from "node:net";
import { dnsRefreshRateMs, ENVOY_MAX_RING_SIZE, ENVOY_MIN_RING_SIZE, maxRequestsPerConnection, upstreamIdleTimeoutMs } from "../config/model/defaults.js";
import type { Cluster, Http2ProtocolOptions, LbEndpoint, LocalityLbEndpoints, Secret } from "../config/model/types.js";
import { systemClock, type Clock } from "../common/clock.js";
import type { Logger } from "../common/logger.js";
import type { Random } from "../common/random.js";
import type { TimerHandle, Timers } from "../common/timers.js";
import type { LbContext, OutlierReporter, RouterCluster } from "./cluster-api.js";
import { ClusterLb, type ClusterLbConfig } from "./cluster-lb.js";
import { Http1Pool, type PoolOptions } from "./http1-pool.js";
import { Http2Pool, type Http2PoolOptions } from "./http2-pool.js";
import type { PoolProtocol } from "./conn-pool.js";
import { TcpConnPool, type TcpPoolOptions } from "./tcp-conn-pool.js";
import type { LbPolicy } from "./load-balancer.js";
import type { HostGroup } from "./priority-set.js";
import { systemDnsResolver, type DnsResolver } from "./dns-resolver.js";
import {
  allocateClusterShared,
  hostSlotShape,
  viewClusterShared,
  type ClusterSharedView,
  type SharedClusterBuffers,
} from "./shared/cluster-shared-layout.js";
import { ConnectionGate } from "./shared/connection-gate.js";
import { claimHostSlot } from "./shared/host-slot-table.js";
import { OutlierDetector } from "./shared/outlier-detector.js";
import { SharedClusterResources } from "./shared/shared-cluster-resources.js";
import { UpstreamHost, type UpstreamProtocol } from "./upstream-host.js";
import { OriginalDstHosts } from "./original-dst-hosts.js";
import { dataPathClock, type DataPathClock } from "../common/clock.js";
import { rawBufferTransport, TransportSocketRegistry, type TransportSocketEnv, type TransportSocketFactory } from "../listener/transport-socket.js";
import { UpstreamSessionCache } from "../tls/upstream-session-cache.js";
import { ClusterStats } from "../observability/stats/cluster-stats.js";
import { StatsStore } from "../observability/stats/stats-store.js";

/** DNS refresh timers: unref'd, so a pending refresh never keeps the process alive. */
const dnsTimers: Timers = {
  set(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** How DNS clusters resolve and when they refresh (injected so tests need neither DNS nor sleeping). */
export interface ClusterManagerDns {
  resolver?: DnsResolver;
  /** Fires the dns_refresh_rate timer. */
  timers?: Timers;
  /** Transport sockets by name, for clusters' `transportSocket` (default: raw_buffer only). */
  transportSockets?: TransportSocketRegistry;
  /** The data path's clock: pools' connect timeouts and connection ages. */
  poolClock?: DataPathClock;
  /** The worker's Envoy stats (`cluster.<name>.*`); default: a store of its own. */
  stats?: StatsStore;
}

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
  /** The pending DNS refresh (DNS clusters only). */
  dnsTimer: TimerHandle | undefined;
  /** True while a DNS cluster has never resolved (its hosts are not known yet). */
  dnsPending = false;
  /** Last good addresses per model endpoint index (a failed resolution keeps them, as Envoy does). */
  readonly resolved = new Map<number, string[]>();
  /** Replaced by a newer runtime or closed: late DNS answers are dropped. */
  retired = false;
  /** Cross-worker state (circuit-breaker counts, outlier ejections) in shared memory. */
  readonly shared: ClusterSharedView;
  readonly resources: SharedClusterResources;
  /** maxConnections / maxPendingRequests for this worker's pools (null when unlimited). */
  readonly gate: ConnectionGate | null;
  /** Present when the cluster has outlier detection. */
  readonly detector: OutlierDetector | undefined;
  readonly outlier: OutlierReporter;
  /** The cluster's transport socket (set by the ClusterManager; TCP proxy connections use it too). */
  transport: TransportSocketFactory | undefined = undefined;
  /**
   * Envoy transport_socket_matches, resolved once: the first whose every entry is among a host's
   * labels secures that host's connections; none matching = `transport`.
   */
  transportMatches: Array<{ match: Array<[string, string]>; transport: TransportSocketFactory }> = [];
  /** Pools of limited clusters are the cluster's own (Envoy: pools are per cluster and host). */
  readonly poolScope: string;
  /** `cluster.<name>.*`, looked up once per runtime. */
  readonly stats: ClusterStats;
  /** ORIGINAL_DST clusters: hosts made per original destination (set by the ClusterManager). */
  originalDstHosts: OriginalDstHosts | undefined = undefined;
  readonly originalDst: boolean;

  constructor(model: Cluster, signature: string, shared: ClusterSharedView, random: Random, clock: Clock, scope: number, workerIndex = 0, stats?: ClusterStats) {
    this.model = model;
    this.stats = stats ?? new ClusterStats(new StatsStore(), model.name);
    this.signature = signature;
    this.shared = shared;
    // Counts are also kept in this worker's record, so the supervisor can reclaim them if it dies.
    this.resources = new SharedClusterResources(shared, model.circuitBreakers, workerIndex);
    this.gate = this.resources.connectionsLimited ? new ConnectionGate(this.resources) : null;
    this.detector = model.outlierDetection !== undefined ? new OutlierDetector(shared, model.outlierDetection, random, clock) : undefined;
    this.outlier = this.detector ?? noOutlier;
    const perConnLimit = maxRequestsPerConnection(model) !== undefined;
    this.poolScope = this.gate !== null || perConnLimit ? `${model.name}#${scope}` : "";
    this.originalDst = model.type === "ORIGINAL_DST";
  }

  get name(): string {
    return this.model.name;
  }

  /** The transport socket for an endpoint with these labels (auto mTLS: `tlsMode: istio` → ISTIO_MUTUAL). */
  transportFor(labels: Readonly<Record<string, string>>): TransportSocketFactory {
    for (const m of this.transportMatches) {
      if (m.match.every(([k, v]) => labels[k] === v)) return m.transport;
    }
    return this.transport ?? rawBufferTransport;
  }

  chooseHost(ctx: LbContext): UpstreamHost | undefined {
    const od = this.originalDstHosts;
    if (od !== undefined) {
      // Envoy's OriginalDstCluster LB: no downstream connection (a mirror), no host.
      const dst = ctx.originalDst;
      return dst === undefined ? undefined : od.pick(dst.ip, dst.port);
    }
    return this.balancer === undefined ? undefined : this.balancer.pick(ctx);
  }

  /**
   * The host's TCP proxy pool, made on first use: it holds no connections of its own (tcp_proxy
   * never returns one), only the cluster's connect options and its maxConnections gate.
   */
  tcpPoolOf(host: UpstreamHost): TcpConnPool {
    let p = host.tcpPool;
    if (p === undefined) {
      const opts = tcpPoolOptions(this.model);
      opts.transport = host.transport ?? this.transport ?? rawBufferTransport;
      p = new TcpConnPool(host.address, host.port, opts, this.gate, host.pipe);
      p.stats = this.stats;
      p.hostStats = host.stats;
      host.tcpPool = p;
    }
    return p;
  }
}

function tcpPoolOptions(m: Cluster): TcpPoolOptions {
  const ka = m.upstreamConnectionOptions?.tcpKeepalive;
  const o: TcpPoolOptions = { connectTimeoutMs: m.connectTimeoutMs };
  if (ka !== undefined) o.tcpKeepaliveTimeMs = ka.keepaliveTimeMs ?? 0;
  if (m.upstreamBindConfig !== undefined) o.sourceAddress = m.upstreamBindConfig.sourceAddress;
  if (m.upstreamBindConfig?.extraSourceAddresses !== undefined) o.extraSourceAddresses = m.upstreamBindConfig.extraSourceAddresses;
  return o;
}

const noOutlier: OutlierReporter = { report() {} };

/** A model endpoint with its index in model order (its host slot). */
interface ModelEndpoint {
  ep: LbEndpoint;
  index: number;
  group: LocalityLbEndpoints;
}

interface ResolvedEndpoint {
  ep: LbEndpoint;
  /** Shared-state host slot; undefined when the address table is full (no outlier detection then). */
  slot: number | undefined;
  address: string;
  group: LocalityLbEndpoints;
}

export class ClusterManager {
  private readonly clusters = new Map<string, ClusterRuntime>();
  private readonly pools = new Map<string, Http1Pool | Http2Pool>();
  private readonly random: Random;
  private readonly log: Logger;
  private readonly workerIndex: number;
  private readonly clock: Clock;
  private readonly resolver: DnsResolver;
  private readonly timers: Timers;
  private readonly transportSockets: TransportSocketRegistry;
  private readonly poolClock: DataPathClock;
  private readonly stats: StatsStore;
  /** Upstream TLS sessions of this worker, kept across snapshots (resumption). */
  private readonly sessions = new UpstreamSessionCache();
  private scopes = 0;

  constructor(random: Random, log: Logger, workerIndex = 0, clock: Clock = systemClock, dns: ClusterManagerDns = {}) {
    this.random = random;
    this.log = log;
    this.workerIndex = workerIndex;
    this.clock = clock;
    this.resolver = dns.resolver ?? systemDnsResolver;
    this.timers = dns.timers ?? dnsTimers;
    this.transportSockets = dns.transportSockets ?? new TransportSocketRegistry();
    this.poolClock = dns.poolClock ?? dataPathClock();
    this.stats = dns.stats ?? new StatsStore();
  }

  /** The snapshot's secrets (SDS) that clusters' TLS contexts refer to (set by update()). */
  private secrets: Readonly<Record<string, Secret>> = {};

  private upstreamEnv(): TransportSocketEnv {
    return { side: "upstream", secrets: this.secrets, sessions: this.sessions };
  }

  /** Throws with a clear message when a cluster names a transport socket this worker cannot run. */
  validate(models: Record<string, Cluster>, secrets: Readonly<Record<string, Secret>> = {}): string[] {
    const errors: string[] = [];
    const env: TransportSocketEnv = { side: "upstream", secrets };
    for (const m of Object.values(models)) {
      try {
        this.transportSockets.resolve(m.transportSocket, env);
      } catch (e) {
        errors.push(`cluster ${m.name}: ${(e as Error).message}`);
      }
      for (const tm of m.transportSocketMatches ?? []) {
        try {
          this.transportSockets.resolve(tm.transportSocket, env);
        } catch (e) {
          errors.push(`cluster ${m.name}: transport socket match ${tm.name}: ${(e as Error).message}`);
        }
      }
      // Envoy's own checks for ORIGINAL_DST (and the converse), with its wording.
      if (m.type === "ORIGINAL_DST") {
        if (m.lbPolicy !== "CLUSTER_PROVIDED") errors.push(`cluster ${m.name}: LB policy ${m.lbPolicy} is not valid for Cluster type ORIGINAL_DST. Only 'CLUSTER_PROVIDED' is allowed with cluster type 'ORIGINAL_DST'`);
        if (m.loadAssignment.endpoints.some((g) => g.lbEndpoints.length > 0)) errors.push(`cluster ${m.name}: ORIGINAL_DST clusters must have no load assignment configured`);
      } else if (m.lbPolicy === "CLUSTER_PROVIDED") {
        errors.push(`cluster ${m.name}: cluster type '${m.type}' cannot use the CLUSTER_PROVIDED LB policy`);
      }
      const src = m.upstreamBindConfig?.sourceAddress;
      if (src !== undefined && isIP(src) === 0) errors.push(`cluster ${m.name}: upstreamBindConfig.sourceAddress ${JSON.stringify(src)} is not an IP address`);
      for (const x of m.upstreamBindConfig?.extraSourceAddresses ?? []) {
        if (isIP(x) === 0) errors.push(`cluster ${m.name}: upstreamBindConfig.extraSourceAddresses ${JSON.stringify(x)} is not an IP address`);
      }
    }
    return errors;
  }

  get(name: string): ClusterRuntime | undefined {
    return this.clusters.get(name);
  }

  /**
   * Applies a snapshot's clusters, keeping runtimes (and their LB state) of unchanged ones.
   * `shared` holds each cluster's cross-worker buffer (from the supervisor); a cluster without
   * one gets a buffer of its own, which is then only this worker's.
   */
  update(models: Record<string, Cluster>, shared: SharedClusterBuffers = {}, secrets: Readonly<Record<string, Secret>> = {}): void {
    this.secrets = secrets;
    // A cluster with TLS is rebuilt when the secrets change (certificate rotation): its transport
    // sockets are made from them. Its new hashKey gives it new pools; connections in use finish.
    let secretsSig: string | undefined;
    const next = new Map<string, ClusterRuntime>();
    for (const [name, model] of Object.entries(models)) {
      const tls = model.transportSocket !== undefined || (model.transportSocketMatches?.length ?? 0) > 0;
      if (tls && secretsSig === undefined) secretsSig = createHash("sha256").update(JSON.stringify(secrets)).digest("hex");
      const signature = tls ? `${JSON.stringify(model)}|${secretsSig}` : JSON.stringify(model);
      const old = this.clusters.get(name);
      if (old !== undefined && old.signature === signature) {
        next.set(name, old);
        continue;
      }
      if (old !== undefined) this.retire(old);
      const rt = new ClusterRuntime(model, signature, this.sharedView(model, shared[name]), this.random, this.clock, ++this.scopes, this.workerIndex, new ClusterStats(this.stats, name));
      const env = this.upstreamEnv();
      rt.transport = this.transportSockets.resolve(model.transportSocket, env);
      rt.transportMatches = (model.transportSocketMatches ?? []).map((tm) => ({ match: Object.entries(tm.match), transport: this.transportSockets.resolve(tm.transportSocket, env) }));
      // Hosts already there keep their age; a cluster seen for the first time has no new hosts
      // (Envoy: slow start applies to hosts added to an existing cluster).
      if (old !== undefined) rt.hostTimes = old.hostTimes ?? new Map();
      this.populate(rt);
      next.set(name, rt);
    }
    for (const [name, old] of this.clusters) {
      if (next.get(name) !== old) {
        if (!next.has(name)) this.stats.hosts.drop(name);
        this.retire(old);
        old.gate?.close();
      }
    }
    this.clusters.clear();
    for (const [k, v] of next) this.clusters.set(k, v);
    this.collectPools();
  }

  private sharedView(model: Cluster, buffer: SharedArrayBuffer | undefined): ClusterSharedView {
    const { hostSlots, tableSlots } = hostSlotShape(model);
    const view = buffer !== undefined ? viewClusterShared(buffer, hostSlots, tableSlots) : undefined;
    if (view !== undefined) return view;
    if (buffer !== undefined) this.log.warn(`cluster ${model.name}: shared state has another shape; using worker-local state`);
    return viewClusterShared(allocateClusterShared(hostSlots, this.workerIndex + 1, tableSlots), hostSlots, tableSlots)!;
  }

  private retire(rt: ClusterRuntime): void {
    rt.retired = true;
    rt.originalDstHosts?.close();
    if (rt.dnsTimer !== undefined) this.timers.clear(rt.dnsTimer);
    rt.dnsTimer = undefined;
  }

  private populate(rt: ClusterRuntime): void {
    const m = rt.model;
    if (m.type === "ORIGINAL_DST") {
      // Pools of these hosts are the cluster's own (not shared by endpoint): a destination is only
      // known per connection, and the hosts go away with the cluster.
      const opts = this.poolOptions(m, rt.transport ?? rawBufferTransport);
      const h2opts: Http2PoolOptions = { ...opts, http2: http2OptionsOf(m) };
      rt.originalDstHosts = new OriginalDstHosts(
        (ip, port) => {
          const p = new Http1Pool(ip, port, opts, rt.gate);
          p.stats = rt.stats;
          return p;
        },
        undefined,
        upstreamProtocolOf(m),
        (ip, port) => {
          const p = new Http2Pool(ip, port, h2opts, rt.gate);
          p.stats = rt.stats;
          return p;
        },
      );
      return;
    }
    const eps: ModelEndpoint[] = [];
    let index = 0;
    for (const group of m.loadAssignment.endpoints) {
      for (const ep of group.lbEndpoints) {
        const i = index++;
        if (ep.healthStatus === "HEALTHY") eps.push({ ep, index: i, group });
      }
    }
    const dns = (m.type === "STRICT_DNS" || m.type === "LOGICAL_DNS") && eps.some((e) => isIP(e.ep.address) === 0);
    if (!dns) {
      // A Pipe endpoint is known by its path (its address is "").
      this.setHosts(rt, eps.map((e) => ({ ep: e.ep, slot: e.index, address: e.ep.pipe ?? e.ep.address, group: e.group })));
      return;
    }
    rt.dnsPending = true;
    const refresh = (): void => {
      rt.dnsTimer = undefined;
      const resolving = m.type === "LOGICAL_DNS" ? this.resolveLogical(rt, eps) : this.resolveStrict(rt, eps);
      void resolving.then((hosts) => {
        if (rt.retired) return;
        rt.dnsPending = false;
        if (hosts !== undefined) {
          this.setHosts(rt, hosts);
          this.collectPools();
        }
        rt.dnsTimer = this.timers.set(refresh, dnsRefreshRateMs(m));
      });
    };
    refresh();
  }

  /** Latest addresses of a name, or the last good ones when resolution fails (Envoy keeps the hosts). */
  private async lookup(rt: ClusterRuntime, e: ModelEndpoint): Promise<string[]> {
    try {
      const found = [...new Set(await this.resolver(e.ep.address))];
      rt.resolved.set(e.index, found);
      return found;
    } catch (err) {
      this.log.warn(`cluster ${rt.name}: DNS resolution of ${e.ep.address} failed: ${(err as Error).message}`);
      return rt.resolved.get(e.index) ?? [];
    }
  }

  /**
   * STRICT_DNS: one host per distinct address of each name (deduplicated per name, as Envoy does),
   * each with its own slot. Undefined when the host set did not change (LB state is kept).
   */
  private async resolveStrict(rt: ClusterRuntime, eps: ModelEndpoint[]): Promise<ResolvedEndpoint[] | undefined> {
    const out: ResolvedEndpoint[] = [];
    for (const e of eps) {
      if (isIP(e.ep.address) !== 0) {
        out.push({ ep: e.ep, slot: e.index, address: e.ep.address, group: e.group });
        continue;
      }
      for (const address of await this.lookup(rt, e)) {
        const slot = claimHostSlot(rt.shared, e.index, address, e.ep.port);
        if (slot === undefined) this.log.warn(`cluster ${rt.name}: no outlier-detection slot left for ${address}:${e.ep.port} (${e.ep.address})`);
        out.push({ ep: e.ep, slot, address, group: e.group });
      }
    }
    const same = rt.hosts.length === out.length && !rt.dnsPending && out.every((o, i) => rt.hosts[i]!.address === o.address && rt.hosts[i]!.port === o.ep.port);
    return same ? undefined : out;
  }

  /**
   * LOGICAL_DNS: one host (the cluster's one endpoint, its slot) whose pool connects to the first
   * address of the latest resolution; existing connections stay. A failed or empty resolution keeps
   * the last address. Undefined when nothing changed.
   */
  private async resolveLogical(rt: ClusterRuntime, eps: ModelEndpoint[]): Promise<ResolvedEndpoint[] | undefined> {
    const e = eps[0]!;
    const first = (await this.lookup(rt, e))[0] ?? rt.hosts[0]?.address;
    if (first === undefined) return rt.dnsPending ? [] : undefined;
    if (rt.hosts.length === 1 && rt.hosts[0]!.address === first) return undefined;
    return [{ ep: e.ep, slot: e.index, address: first, group: e.group }];
  }

  private setHosts(rt: ClusterRuntime, eps: ResolvedEndpoint[]): void {
    // Pool options per transport socket (transport socket matches give hosts different ones).
    const optsByTransport = new Map<TransportSocketFactory, PoolOptions>();
    const h2OptsByTransport = new Map<TransportSocketFactory, Http2PoolOptions>();
    const protocol = upstreamProtocolOf(rt.model);
    const now = this.clock.monotonic();
    const known = rt.hostTimes;
    const times = new Map<string, number>();
    const createdAt = new Map<UpstreamHost, number>();
    const groups = new Map<LocalityLbEndpoints, HostGroup & { hosts: UpstreamHost[] }>();
    const statsKeys = new Set<string>();
    rt.hosts = eps.map((e) => {
      const transport = rt.transportFor(e.ep.labels);
      let opts = optsByTransport.get(transport);
      if (opts === undefined) optsByTransport.set(transport, (opts = this.poolOptions(rt.model, transport)));
      const h = new UpstreamHost(e.address, e.ep.port, e.ep.weight > 0 ? e.ep.weight : 1, e.ep.labels, e.group.locality, this.pool(rt, e, opts), e.ep.pipe);
      h.transport = transport;
      if (protocol !== "http1") {
        let o2 = h2OptsByTransport.get(transport);
        if (o2 === undefined) h2OptsByTransport.set(transport, (o2 = { ...opts, http2: http2OptionsOf(rt.model) }));
        h.http2Pool = this.http2Pool(rt, e, o2);
        h.upstreamProtocol = protocol;
      }
      // /clusters shows a LOGICAL_DNS host by its name, whatever it resolved to last.
      const statsKey = rt.model.type === "LOGICAL_DNS" && isIP(e.ep.address) === 0 ? hostKeyOf(e.ep.address, e.ep.port) : h.key;
      h.stats = this.stats.hosts.of(rt.name, statsKey);
      statsKeys.add(statsKey);
      // A pool shared by clusters counts its connections under the host that last claimed it.
      h.pool.hostStats = h.stats;
      if (h.http2Pool !== undefined) h.http2Pool.hostStats = h.stats;
      if (e.slot !== undefined) rt.detector?.attach(h, e.slot);
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
    this.stats.hosts.retain(rt.name, statsKeys);
    rt.balancer = new ClusterLb({ ...lbConfigOf(rt.model), groups: [...groups.values()], createdAt }, {
      random: this.random,
      clock: this.clock,
      start: this.workerIndex,
      // Host health only moves with ejections: re-read it when the detector's epoch changes.
      healthEpoch: rt.detector?.epoch ?? neverChanges,
    });
  }

  private poolOptions(m: Cluster, transport: TransportSocketFactory): PoolOptions {
    const ka = m.upstreamConnectionOptions?.tcpKeepalive;
    return {
      connectTimeoutMs: m.connectTimeoutMs,
      idleTimeoutMs: upstreamIdleTimeoutMs(m),
      maxRequestsPerConnection: maxRequestsPerConnection(m),
      tcpKeepaliveTimeMs: ka !== undefined ? (ka.keepaliveTimeMs ?? 0) : undefined,
      maxConnectionDurationMs: m.httpProtocolOptions?.commonHttpProtocolOptions?.maxConnectionDurationMs,
      transport,
      clock: this.poolClock,
      sourceAddress: m.upstreamBindConfig?.sourceAddress,
      extraSourceAddresses: m.upstreamBindConfig?.extraSourceAddresses,
    };
  }

  private pool(rt: ClusterRuntime, e: ResolvedEndpoint, opts: PoolOptions): Http1Pool {
    return this.hostPool(rt, e, "http1", opts, Http1Pool);
  }

  /**
   * The host's HTTP/2 pool: per host × `http2` × transport socket like the HTTP/1 pool, kept
   * across snapshots while the endpoint stays.
   */
  private http2Pool(rt: ClusterRuntime, e: ResolvedEndpoint, opts: Http2PoolOptions): Http2Pool {
    return this.hostPool(rt, e, "http2", opts, Http2Pool);
  }

  /** The host's pool of `protocol` (made, or kept with the snapshot's options and address). */
  private hostPool<O extends PoolOptions, P extends Http1Pool | Http2Pool>(rt: ClusterRuntime, e: ResolvedEndpoint, protocol: "http1" | "http2", opts: O, make: new (address: string, port: number, opts: O, gate: ClusterRuntime["gate"]) => P): P {
    const { address, ep } = e;
    const key = poolKey(rt, e, protocol, opts.transport);
    let p = this.pools.get(key) as P | undefined;
    if (p === undefined) {
      p = new make(address, ep.port, opts, rt.gate);
      p.pipe = ep.pipe;
      this.pools.set(key, p);
    } else {
      p.updateOptions(opts as PoolOptions & Http2PoolOptions);
      p.address = address;
    }
    // Unlimited clusters with the same endpoint share pools: connections count under the cluster
    // that last claimed the pool.
    p.stats = rt.stats;
    return p;
  }

  /** Closes pools that no cluster references any more. */
  private collectPools(): void {
    const used = new Set<Http1Pool | Http2Pool>();
    for (const rt of this.clusters.values())
      for (const h of rt.hosts) {
        used.add(h.pool);
        if (h.http2Pool !== undefined) used.add(h.http2Pool);
      }
    for (const [k, p] of this.pools) {
      if (!used.has(p) && !this.isDnsPending()) {
        p.close();
        this.pools.delete(k);
      }
    }
  }

  private isDnsPending(): boolean {
    for (const rt of this.clusters.values()) if (rt.dnsPending) return true;
    return false;
  }

  sweep(now: number): void {
    for (const p of this.pools.values()) p.sweep(now);
    for (const rt of this.clusters.values()) {
      const od = rt.originalDstHosts;
      if (od === undefined) continue;
      od.sweep(now);
      // Their pools are not in `pools`: idle timeouts are swept here.
      od.sweepPools(now);
    }
  }

  close(): void {
    for (const rt of this.clusters.values()) {
      this.retire(rt);
      rt.gate?.close();
    }
    for (const p of this.pools.values()) p.close();
    this.pools.clear();
    this.clusters.clear();
  }
}

/**
 * The cluster's upstream protocol (Envoy's ClusterInfo features): explicit HTTP/2, the
 * downstream's protocol (use_downstream_protocol_config: HTTP/2 for an HTTP/2 request), else
 * HTTP/1.1.
 */
export function upstreamProtocolOf(m: Cluster): UpstreamProtocol {
  const o = m.httpProtocolOptions;
  if (o === undefined) return "http1";
  if (o.explicitHttpConfig?.http2ProtocolOptions !== undefined) return "http2";
  if (o.useDownstreamProtocolConfig !== undefined) return "downstream";
  return "http1";
}

/** The cluster's upstream Http2ProtocolOptions (explicit, else the downstream-protocol ones). */
export function http2OptionsOf(m: Cluster): Http2ProtocolOptions | undefined {
  const o = m.httpProtocolOptions;
  return o?.explicitHttpConfig?.http2ProtocolOptions ?? o?.useDownstreamProtocolConfig?.http2ProtocolOptions;
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

function hostKeyOf(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** The health epoch of a cluster without outlier detection: its hosts are never ejected. */
function neverChanges(): number {
  return 0;
}

/**
 * A pool's identity: per host × protocol × transport socket (its hashKey: plaintext and mTLS
 * connections to one address, or two TLS contexts, never share a connection). A LOGICAL_DNS host
 * has one pool by name (Envoy: one logical pool whose connections may go to several addresses);
 * every other host has one by address. Limited clusters' pools are their own (`poolScope`).
 */
function poolKey(rt: ClusterRuntime, e: ResolvedEndpoint, protocol: PoolProtocol, transport: TransportSocketFactory | undefined): string {
  const { address, ep } = e;
  const logical = rt.model.type === "LOGICAL_DNS" && isIP(ep.address) === 0;
  return `${rt.poolScope}|${ep.pipe !== undefined ? `pipe:${ep.pipe}` : logical ? `logical:${ep.address}` : address}|${ep.port}|${protocol}|${transport?.hashKey ?? ""}`;
}
