// ProxyRuntime: the data path of one worker — applies snapshots (compiles route tables, updates
// clusters, binds/unbinds listeners with reusePort), tracks connections, drains listeners
// gracefully (per listener) and stops. Usable in-process
// (tests) or inside a worker thread (worker-main.ts).

import { createServer, type Server } from "node:net";
import type { DownstreamLimits } from "../bootstrap/bootstrap.js";
import { dataPathClock, systemClock, type Clock } from "../common/clock.js";
import type { Logger } from "../common/logger.js";
import type { Random } from "../common/random.js";
import type { TimerHandle, Timers } from "../common/timers.js";
import { HTTP_CONNECTION_MANAGER, NETWORK_RBAC_FILTER, NOOP_NETWORK_FILTER, TCP_PROXY, type FilterChain, type Listener, type Secret, type Snapshot } from "../config/model/types.js";
import { builtInHttpFilters, type HttpFilterRegistry } from "../http/filters/http-filter-registry.js";
import { HttpConnectionManagerFactory } from "../http/http-connection-manager.js";
import type { WorkerServices } from "../http/listener-context.js";
import { ActiveListener, type CompiledChain, type CompiledListener, type ListenerHost } from "../listener/active-listener.js";
import { builtInListenerFilters } from "../listener/filters/built-in-listener-filters.js";
import { kernelOriginalDst, type OriginalDstResolver } from "../listener/original-dst/original-dst-resolver.js";
import { SocketOptions } from "../listener/original-dst/socket-options.js";
import { FilterChainMatcher } from "../listener/filter-chain-matcher.js";
import { effectiveListenerFilters, ListenerFilterRegistry } from "../listener/listener-filter.js";
import { NetworkFilterRegistry, type ConnectionTracker, type DownstreamConnection, type NetworkFilterEnv } from "../listener/network-filter.js";
import type { TransportSocketRegistry } from "../listener/transport-socket.js";
import { networkRbacAdmission } from "../listener/network-rbac.js";
import type { ConnectionAdmission } from "../listener/active-listener.js";
import { builtInTransportSockets } from "../tls/tls-transport.js";
import type { StreamInfoSink } from "../observability/stream-info.js";
import { Registry } from "prom-client";
import { nodeIdentity, type NodeIdentity } from "../observability/node-identity.js";
import { StatsStore } from "../observability/stats/stats-store.js";
import { productionTelemetryFactories } from "../observability/telemetry-factories.js";
import { ListenerStats } from "../observability/stats/listener-stats.js";
import { DefaultWorkerTelemetry, type TelemetryFactories } from "../observability/worker-telemetry.js";
import { RouteTable } from "../router/route-table.js";
import { TcpProxyFactory } from "../tcp/tcp-proxy-filter.js";
import { ClusterManager, type ClusterManagerDns } from "../upstream/cluster-manager.js";
import type { SharedClusterBuffers } from "../upstream/shared/cluster-shared-layout.js";
import { SharedStateOwner, timerScheduler } from "../upstream/shared/shared-state-owner.js";

export interface ProxyRuntimeOptions {
  limits: DownstreamLimits;
  random: Random;
  log: Logger;
  /** Sees every finished StreamInfo after the telemetry (tests record them). */
  onStream?: StreamInfoSink;
  /**
   * How access logs, Istio stats and tracers are built in this worker. Default: the production
   * factories over `registry`, `stats` and `node` (what worker threads run).
   */
  telemetry?: TelemetryFactories;
  /** This proxy's identity (metrics labels, metadata exchange, span tags). Default: nodeIdentity of namespace `default`. */
  node?: NodeIdentity;
  /** This worker's prom-client registry for Istio's standard metrics. Default: a new one (`runtime.registry`). */
  registry?: Registry;
  /** This worker's Envoy-style stats (default: a new store). */
  stats?: StatsStore;
  workerIndex?: number;
  /** Wall-clock time for outlier ejections (shared across threads). Default: system clock. */
  clock?: Clock;
  /** Data-path timers (timeouts, back-off, fault delays). Default: real timers. */
  timers?: Timers;
  /** HTTP filters by name (default: fault and router), used by the default network filters. */
  httpFilters?: HttpFilterRegistry;
  /** Network filters by name (default: the HTTP connection manager and the TCP proxy). Tests and later work add theirs. */
  networkFilters?: NetworkFilterRegistry;
  /** Transport sockets by name (default: raw_buffer). */
  transportSockets?: TransportSocketRegistry;
  /** Listener filters by name (default: original_dst, tls_inspector, http_inspector). */
  listenerFilters?: ListenerFilterRegistry;
  /**
   * Where a connection was really going, for the default original_dst listener filter. Default:
   * the kernel (SO_ORIGINAL_DST; the local address on transparent listeners). Tests map
   * connections to pretend destinations, since there is no iptables redirect without root.
   */
  originalDst?: OriginalDstResolver;
  /** DNS clusters' resolver and refresh timers. Default: the system resolver, real timers. */
  dns?: ClusterManagerDns;
  /** Bind listeners with SO_REUSEPORT (default true; false where the OS cannot, see reuse-port.ts). */
  reusePort?: boolean;
  /** Shared open-connection counts; this runtime keeps slot `workerIndex` current. */
  activeConnections?: Int32Array;
  /**
   * Envoy's --drain-time-s for a listener a snapshot removes: it stops accepting at once, its
   * connections are discouraged (HTTP/1 `connection: close`, idle ones closed) and whatever is
   * still open after this long is closed. Default Envoy's 600 000 ms.
   */
  listenerDrainTimeMs?: number;
}

/** 600 s: Envoy's default --drain-time-s. */
const DEFAULT_LISTENER_DRAIN_MS = 600_000;

/** The network filters every worker knows; the connection manager runs `httpFilters`. */
export function defaultNetworkFilters(httpFilters: HttpFilterRegistry = builtInHttpFilters()): NetworkFilterRegistry {
  const r = new NetworkFilterRegistry();
  r.register(HTTP_CONNECTION_MANAGER, (config, env) => new HttpConnectionManagerFactory(config, env, httpFilters));
  r.register(TCP_PROXY, (config, env) => new TcpProxyFactory(config, env));
  return r;
}

export interface ApplyResult {
  ok: boolean;
  errors: string[];
  /** `address:port` of every bound listener (port resolved when the model said 0). */
  bound: string[];
}

/** Listen backlog of every bound listener. */
const LISTEN_BACKLOG = 1024;

/** Sweep period for idle/slow-head checks and pool idle timeouts (ms). */
const SWEEP_MS = 250;

export class ProxyRuntime {
  readonly services: WorkerServices;
  /** Istio's standard metrics of this worker (the supervisor merges every worker's). */
  readonly registry: Registry;
  private readonly log: Logger;
  private readonly listeners = new Map<string, ActiveListener>();
  /** Listeners by every address they have (additional ones too): the use_original_dst hand-off lookup. */
  private readonly byAddress = new Map<string, ActiveListener>();
  readonly connections = new Set<DownstreamConnection>();
  private readonly networkFilters: NetworkFilterRegistry;
  private readonly transportSockets: TransportSocketRegistry;
  private readonly listenerFilterRegistry: ListenerFilterRegistry;
  /** libc socket calls (SO_ORIGINAL_DST, IP_TRANSPARENT), loaded on first need. */
  private socketOptionsLoaded: SocketOptions | undefined;
  /** What every ActiveListener asks of this worker. */
  private readonly listenerHost: ListenerHost;
  /** Adds/removes in `connections` and mirrors the count into the shared slot. */
  private readonly tracker: ConnectionTracker;
  /** Open connections per listener (by its address key), so a removed listener drains its own. */
  private readonly byListener = new Map<string, { tracker: ConnectionTracker; open: Set<DownstreamConnection> }>();
  /** Removed listeners' drain deadlines still pending (cleared by close()). */
  private readonly drainDeadlines = new Set<TimerHandle>();
  private readonly listenerDrainTimeMs: number;
  private readonly reusePort: boolean;
  /** Which listeners drain gracefully (set by drainListeners; applies to listeners bound later too). */
  private drainScope: "none" | "inbound" | "all" = "none";
  /** Which listeners are stopped (stopListeners): not bound again by later snapshots. */
  private stopScope: "none" | "inbound" | "all" = "none";
  /** Set by drain(): listeners are closing, connections accepted meanwhile are refused. */
  private stopping = false;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly startMono: number;
  private readonly clock: Clock;
  /** In-process use (no supervisor): this runtime allocates shared state and runs its intervals. */
  private ownShared: SharedStateOwner | undefined;
  private readonly workerIndex: number;
  version = "";

  constructor(opts: ProxyRuntimeOptions) {
    this.log = opts.log;
    this.clock = opts.clock ?? systemClock;
    this.workerIndex = opts.workerIndex ?? 0;
    const node = opts.node ?? nodeIdentity({ env: {}, namespace: "default", labels: {}, domainSuffix: "cluster.local" });
    this.networkFilters = opts.networkFilters ?? defaultNetworkFilters(opts.httpFilters ?? builtInHttpFilters(node));
    this.transportSockets = opts.transportSockets ?? builtInTransportSockets();
    this.listenerFilterRegistry = opts.listenerFilters ?? builtInListenerFilters(opts.originalDst ?? kernelOriginalDst(() => this.socketOptions));
    this.reusePort = opts.reusePort ?? true;
    this.listenerDrainTimeMs = opts.listenerDrainTimeMs ?? DEFAULT_LISTENER_DRAIN_MS;
    const counts = opts.activeConnections;
    const slot = this.workerIndex;
    this.tracker = {
      add: (c) => {
        this.connections.add(c);
        if (counts !== undefined) Atomics.add(counts, slot, 1);
      },
      delete: (c) => {
        if (this.connections.delete(c) && counts !== undefined) Atomics.sub(counts, slot, 1);
      },
    };
    const clock = dataPathClock(this.clock, opts.timers);
    this.listenerHost = {
      refusing: () => this.stopping,
      listenerFor: (ip, port) => this.listenerFor(ip, port),
      timers: clock,
    };
    const stats = opts.stats ?? new StatsStore();
    this.registry = opts.registry ?? new Registry();
    const factories = opts.telemetry ?? productionTelemetryFactories({ workerIndex: this.workerIndex, node, registry: this.registry, stats, log: opts.log });
    const telemetry = new DefaultWorkerTelemetry(factories, opts.log, opts.onStream);
    this.services = {
      clusters: new ClusterManager(opts.random, opts.log, this.workerIndex, this.clock, { ...opts.dns, transportSockets: this.transportSockets, poolClock: clock, stats }),
      random: opts.random,
      clock,
      limits: opts.limits,
      telemetry,
      stats,
      onStream: (info) => telemetry.onStream(info),
      coarseNow: 1,
    };
    // Coarse time counts from here on the data-path clock (the interval is only the tick).
    this.startMono = this.services.clock.monotonic();
    this.sweepTimer = setInterval(() => this.sweep(), sweepPeriodMs(opts.limits));
    this.sweepTimer.unref();
  }

  /** One per worker: koffi loads libc once, on the first redirected connection or transparent bind. */
  private get socketOptions(): SocketOptions {
    return (this.socketOptionsLoaded ??= new SocketOptions());
  }

  /**
   * Envoy's getBalancedHandlerByAddress: the listener at exactly `ip:port`, else the wildcard
   * address of the same family on `port` (0.0.0.0 or ::). Bound or not; stopped ones are gone
   * from the map.
   */
  private listenerFor(ip: string, port: number): ActiveListener | undefined {
    const exact = this.byAddress.get(`${ip}:${port}`);
    if (exact !== undefined) return exact;
    return this.byAddress.get(ip.includes(":") ? `:::${port}` : `0.0.0.0:${port}`);
  }

  /**
   * Advances the coarse clock and runs the idle / slow-head / pool checks. `now` (coarse ms) is
   * for tests that need a far-off instant without waiting for it.
   */
  sweep(now = Math.round(this.services.clock.monotonic() - this.startMono) + 1): void {
    this.services.coarseNow = now;
    for (const c of this.connections) c.sweep(now);
    this.services.clusters.sweep(now);
  }

  /**
   * Applies a snapshot: everything is compiled first, so a snapshot that cannot compile changes
   * nothing. Listener bind failures are reported; the rest of the snapshot still applies.
   * `shared`: each cluster's cross-worker buffer from the supervisor; without it (in-process use)
   * the runtime allocates and keeps its own, and runs the outlier-detection interval itself.
   */
  async apply(snapshot: Snapshot, shared?: SharedClusterBuffers): Promise<ApplyResult> {
    const errors: string[] = [];
    const tables = new Map<string, RouteTable>();
    for (const [name, rc] of Object.entries(snapshot.routeConfigs)) {
      try {
        tables.set(name, RouteTable.compile(rc));
      } catch (e) {
        errors.push(`route configuration ${name}: ${(e as Error).message}`);
      }
    }
    // Listeners compile against this snapshot's route tables; a chain that cannot compile
    // refuses the whole snapshot before anything changes.
    const wanted = new Map<string, Listener>();
    for (const l of snapshot.listeners) wanted.set(`${l.address}:${l.port}`, l);
    const compiled = new Map<string, CompiledListener>();
    for (const [key, model] of wanted) {
      try {
        compiled.set(key, this.compileListener(model, tables, this.listeners.get(key)?.compiled, snapshot.secrets ?? {}));
      } catch (e) {
        errors.push(`listener ${model.name}: ${(e as Error).message}`);
      }
    }
    errors.push(...this.services.clusters.validate(snapshot.clusters, snapshot.secrets ?? {}));
    if (errors.length > 0) return { ok: false, errors, bound: this.boundAddresses() };
    if (shared === undefined) {
      // A worker record for this runtime's index (its circuit-breaker counts are tracked there).
      this.ownShared ??= new SharedStateOwner(this.clock, timerScheduler, this.workerIndex + 1);
      shared = this.ownShared.prepare(snapshot.clusters);
    }
    this.services.clusters.update(snapshot.clusters, shared, snapshot.secrets ?? {});
    // Every chain of this snapshot compiled above: telemetry may release what only older ones used.
    this.services.telemetry.snapshotApplied?.();

    for (const [key, al] of this.listeners) {
      if (!wanted.has(key)) {
        al.close();
        this.listeners.delete(key);
        this.drainRemoved(key, al);
      }
    }
    for (const [key, c] of compiled) {
      let existing = this.listeners.get(key);
      if (existing !== undefined && ((existing.server === undefined) !== (c.model.bindToPort === false) || addressesKey(existing.model) !== addressesKey(c.model))) {
        // bindToPort or the additional addresses changed: the listener is made again.
        existing.close();
        this.listeners.delete(key);
        existing = undefined;
      }
      if (existing !== undefined) {
        existing.compiled = c;
        continue;
      }
      if (this.stopped(c.model)) continue;
      const al = new ActiveListener(c, this.log, this.listenerHost);
      if (c.model.bindToPort === false) {
        // Envoy bind_to_port: false — no socket; connections arrive by hand-off only.
        al.stats = new ListenerStats(this.services.stats, c.model.address, c.model.port);
        this.listeners.set(key, al);
        continue;
      }
      try {
        const server = await this.bind(c.model, c.model.address, c.model.port, al);
        al.server = server;
        const addr = server.address();
        const port = typeof addr === "object" && addr !== null ? addr.port : c.model.port;
        if (c.model.port === 0) al.boundKey = `${c.model.address}:${port}`;
        // Additional addresses share the port (the resolved one when the model asked for 0).
        for (const extra of c.model.additionalAddresses ?? []) {
          const where = `${extra.address}:${port}`;
          try {
            al.additionalServers.push(await this.bind(c.model, extra.address, port, al, true));
          } catch (e) {
            al.close();
            throw new Error(`${where}: ${(e as Error).message}`, { cause: e });
          }
        }
        al.stats = new ListenerStats(this.services.stats, c.model.address, port);
        this.listeners.set(key, al);
      } catch (e) {
        errors.push(`listener ${c.model.name}: cannot listen on ${key}: ${(e as Error).message}`);
      }
    }
    this.indexAddresses();
    this.version = snapshot.version;
    return { ok: errors.length === 0, errors, bound: this.boundAddresses() };
  }

  /**
   * A listener's runtime parts for this snapshot: listener filters, chain matcher, and per chain
   * its transport socket and terminal network filter. A chain kept from the previous snapshot
   * (same name, same filter) updates its factory in place, so live connections follow the reload.
   */
  private compileListener(model: Listener, tables: ReadonlyMap<string, RouteTable>, previous: CompiledListener | undefined, secrets: Readonly<Record<string, Secret>>): CompiledListener {
    const listenerFilters = this.listenerFilterRegistry.build(effectiveListenerFilters(model), model);
    const all: FilterChain[] = [...model.filterChains];
    if (model.defaultFilterChain !== undefined) all.push(model.defaultFilterChain);
    if (all.length === 0) throw new Error("has no filter chains");
    const prevByName = new Map<string, CompiledChain>();
    if (previous !== undefined) for (const c of previous.chains.values()) prevByName.set(c.chain.name, c);
    const chains = new Map<FilterChain, CompiledChain>();
    const seen = new Set<string>();
    for (const chain of all) {
      const label = chain.name === "" ? "(unnamed)" : chain.name;
      const where = `filter chain ${label}`;
      const matchKey = JSON.stringify(chain.filterChainMatch);
      if (chain !== model.defaultFilterChain) {
        if (seen.has(matchKey)) throw new Error(`${where}: another filter chain has the same filterChainMatch`);
        seen.add(matchKey);
      }
      const terminal = chain.filters[chain.filters.length - 1];
      if (terminal === undefined) throw new Error(`${where}: has no network filters`);
      if (terminal.name === NOOP_NETWORK_FILTER) throw new Error(`${where}: the terminal network filter ${terminal.noop.filterName} is not supported`);
      // Non-terminal filters: network RBAC (istiod's AuthorizationPolicy on TCP) as admission
      // checks; filters carried but not run (NoopNetworkFilter) are skipped.
      const admission: ConnectionAdmission[] = [];
      for (const f of chain.filters.slice(0, -1)) {
        if (f.name === NOOP_NETWORK_FILTER) continue;
        if (f.name !== NETWORK_RBAC_FILTER) throw new Error(`${where}: only ${NETWORK_RBAC_FILTER} may come before the terminal network filter, got ${chain.filters.map((x) => x.name).join(", ")}`);
        try {
          admission.push(networkRbacAdmission(f, this.services.stats, (info, details) => this.log.debug(`listener ${model.name} chain ${label}: ${info.remoteIp}:${info.remotePort} closed, ${details}`)));
        } catch (e) {
          throw new Error(`${where}: ${(e as Error).message}`);
        }
      }
      let transport;
      try {
        transport = this.transportSockets.resolve(chain.transportSocket, { side: "downstream", secrets, timers: this.listenerHost.timers, log: this.log, terminalFilter: terminal.name });
      } catch (e) {
        throw new Error(`${where}: ${(e as Error).message}`);
      }
      // An inline route_config is compiled for its chain alone (two listeners' inline configs may share a name).
      const inline = terminal.name === HTTP_CONNECTION_MANAGER ? terminal.typedConfig.routeConfig : undefined;
      let routeTables = tables;
      if (inline !== undefined) {
        try {
          routeTables = new Map([[inline.name, RouteTable.compile(inline)]]);
        } catch (e) {
          throw new Error(`${where}: route_config ${JSON.stringify(inline.name)}: ${(e as Error).message}`);
        }
      }
      const env: NetworkFilterEnv = { listener: model, services: this.services, tracker: this.trackerFor(`${model.address}:${model.port}`), routeTables, chainName: chain.name, draining: this.drains(model) };
      const prev = prevByName.get(chain.name);
      let filter;
      try {
        if (prev !== undefined && prev.filter.name === terminal.name) {
          // Validate the new config on a throwaway factory first, so a bad one changes nothing.
          this.networkFilters.create(terminal, env);
          filter = prev.filter;
          filter.update(terminal, env);
        } else {
          filter = this.networkFilters.create(terminal, env);
        }
      } catch (e) {
        throw new Error(`${where}: ${(e as Error).message}`);
      }
      chains.set(chain, admission.length > 0 ? { chain, transport, admission, filter } : { chain, transport, filter });
    }
    return { model, listenerFilters, matcher: new FilterChainMatcher(model.filterChains, model.defaultFilterChain), chains };
  }

  /**
   * The hand-off index: every listener by each of its addresses (`ip:port`, additional ones too),
   * as Envoy's getBalancedHandlerByAddress sees them. Rebuilt whenever the set of listeners changes.
   */
  private indexAddresses(): void {
    this.byAddress.clear();
    for (const [key, al] of this.listeners) {
      this.byAddress.set(key, al);
      for (const a of al.model.additionalAddresses ?? []) this.byAddress.set(`${a.address}:${al.model.port}`, al);
    }
  }

  /**
   * `extra`: an additional address — an IPv6 one is v6-only (Envoy's default, ipv4_compat off),
   * so `::` and `0.0.0.0` on one port each take their own family.
   */
  private bind(model: Listener, host: string, port: number, al: ActiveListener, extra = false): Promise<Server> {
    return new Promise((resolve, reject) => {
      const server = createServer({ noDelay: true }, al.onSocket);
      server.once("error", reject);
      const v6Only = extra && host.includes(":");
      let where: { host: string; port: number; reusePort: boolean; backlog: number; ipv6Only?: boolean } | { fd: number; backlog: number } = { host, port, reusePort: this.reusePort, backlog: LISTEN_BACKLOG, ...(v6Only ? { ipv6Only: true } : {}) };
      if (model.transparent === true) {
        // IP_TRANSPARENT must be set before bind, and Node binds in one step: the socket is made
        // through libc and Node listens on its fd.
        const made = this.socketOptions.transparentListenSocket({ ip: host, port }, this.reusePort, LISTEN_BACKLOG, v6Only);
        if ("error" in made) {
          reject(new Error(`transparent listener: ${made.error}${made.error.includes("EPERM") || made.error.includes("not permitted") ? " (IP_TRANSPARENT needs CAP_NET_ADMIN)" : ""}`));
          return;
        }
        where = { fd: made.fd, backlog: LISTEN_BACKLOG };
      }
      server.listen(where, () => {
        server.removeListener("error", reject);
        server.on("error", (err) => this.log.error(`listener ${model.name}: ${err.message}`));
        resolve(server);
      });
    });
  }

  boundAddresses(): string[] {
    const out: string[] = [];
    for (const l of this.listeners.values()) {
      if (l.server === undefined) continue;
      out.push(l.boundKey);
      for (const s of l.additionalServers) {
        const a = s.address();
        if (typeof a === "object" && a !== null) out.push(`${a.address}:${a.port}`);
      }
    }
    return out;
  }

  /** The connection tracker of the listener at `key`: counts in the worker's set and the listener's own. */
  private trackerFor(key: string): ConnectionTracker {
    let entry = this.byListener.get(key);
    if (entry === undefined) {
      const open = new Set<DownstreamConnection>();
      entry = {
        open,
        tracker: {
          add: (c) => {
            open.add(c);
            this.tracker.add(c);
          },
          delete: (c) => {
            open.delete(c);
            this.tracker.delete(c);
          },
        },
      };
      this.byListener.set(key, entry);
    }
    return entry.tracker;
  }

  /**
   * A listener the snapshot removed (Envoy's listener drain): no new connections (already
   * closed), open ones drain — HTTP/1 responses carry `connection: close`, idle connections
   * close — and those still open after the drain time are closed.
   */
  private drainRemoved(key: string, al: ActiveListener): void {
    const entry = this.byListener.get(key);
    this.byListener.delete(key);
    al.setDraining(true);
    const open = entry?.open;
    if (open === undefined || open.size === 0) {
      this.log.info(`listener ${al.model.name} removed`);
      return;
    }
    this.log.info(`listener ${al.model.name} removed: draining ${open.size} connection(s) for ${this.listenerDrainTimeMs} ms`);
    for (const c of open) c.drain();
    const handle = this.services.clock.set(() => {
      this.drainDeadlines.delete(handle);
      for (const c of open) c.destroySocket();
    }, this.listenerDrainTimeMs);
    this.drainDeadlines.add(handle);
  }

  private drains(l: Listener): boolean {
    return this.drainScope === "all" || (this.drainScope === "inbound" && l.trafficDirection === "INBOUND");
  }

  /**
   * Graceful drain, as Envoy's `drain_listeners?graceful` with `--drain-strategy immediate` (what
   * istio-agent asks for, `inboundonly` on a sidecar): the listeners keep accepting; each HTTP/1
   * response on them carries `connection: close` and its connection closes after it. Idle
   * keep-alive connections are left open — closing one races with the client's next request,
   * which would be lost; Envoy leaves them to the idle timeout or the exit too.
   */
  drainListeners(inboundOnly: boolean): void {
    if (this.drainScope !== "all") this.drainScope = inboundOnly ? "inbound" : "all";
    for (const al of this.listeners.values()) al.setDraining(this.drains(al.model));
  }

  private stopped(l: Listener): boolean {
    return this.stopScope === "all" || (this.stopScope === "inbound" && l.trafficDirection === "INBOUND");
  }

  /**
   * Envoy's stopListeners (`drain_listeners` once its drain period is over, or at once without
   * `graceful`): the listeners stop accepting and are not bound again by later snapshots; open
   * connections keep being served, draining (each HTTP/1 response carries `connection: close`).
   */
  stopListeners(inboundOnly: boolean): void {
    if (this.stopScope !== "all") this.stopScope = inboundOnly ? "inbound" : "all";
    this.drainListeners(inboundOnly);
    for (const [key, al] of this.listeners) {
      if (!this.stopped(al.model)) continue;
      al.close();
      this.listeners.delete(key);
      this.log.info(`listener ${al.model.name} stopped`);
    }
    this.indexAddresses();
  }

  /** Stops accepting, lets in-flight exchanges finish, closes the rest after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    this.stopping = true;
    this.drainScope = "all";
    for (const al of this.listeners.values()) al.setDraining(true);
    // server.close() stops accepting now, but calls back only once every connection is gone, so
    // it is awaited last: connections are drained (and, after the deadline, closed) first.
    const closed = [...this.listeners.values()].map((al) => new Promise<void>((r) => al.close(r)));
    this.listeners.clear();
    this.byAddress.clear();
    for (const c of this.connections) c.drain();
    const deadline = performance.now() + timeoutMs;
    while (this.connections.size > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      for (const c of this.connections) c.drain();
    }
    for (const c of this.connections) c.destroySocket();
    await Promise.all(closed);
    // Flush telemetry (exporters bound how long this waits) before the worker goes away.
    await this.services.telemetry.close?.();
    this.close();
  }

  close(): void {
    clearInterval(this.sweepTimer);
    for (const h of this.drainDeadlines) this.services.clock.clear(h);
    this.drainDeadlines.clear();
    this.ownShared?.close();
    for (const al of this.listeners.values()) al.close();
    this.listeners.clear();
    this.byAddress.clear();
    for (const c of this.connections) c.destroySocket();
    this.services.clusters.close();
    // Idempotent: after drain() this is a no-op; a bare close() (tests) lets exporters flush in the background.
    void this.services.telemetry.close?.();
  }
}

/**
 * A quarter of the head timeout (so a slow head is answered within 25% of its limit), at most
 * SWEEP_MS, at least 10 ms; with the head timeout off (0) the plain SWEEP_MS.
 */
function sweepPeriodMs(limits: DownstreamLimits): number {
  const head = limits.requestHeadersTimeoutMs;
  return head > 0 ? Math.min(SWEEP_MS, Math.max(10, head / 4)) : SWEEP_MS;
}

/** A listener's additional addresses as one comparable text (a change rebinds the listener). */
function addressesKey(l: Listener): string {
  return (l.additionalAddresses ?? []).map((a) => a.address).join(",");
}
