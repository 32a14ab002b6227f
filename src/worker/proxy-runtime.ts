// ProxyRuntime: the data path of one worker — applies snapshots (compiles route tables, updates
// clusters, binds/unbinds listeners with reusePort), tracks connections, drains listeners
// gracefully (per listener) and stops. Usable in-process
// (tests) or inside a worker thread (worker-main.ts).

import { createServer, type Server } from "node:net";
import type { DownstreamLimits } from "../bootstrap/bootstrap.js";
import { systemClock, type Clock } from "../common/clock.js";
import type { Logger } from "../common/logger.js";
import type { Random } from "../common/random.js";
import { realTimers, type Timers } from "../common/timers.js";
import type { Listener, Snapshot } from "../config/model/types.js";
import { Http1ServerConnection, type ConnectionTracker } from "../http/http1-server-connection.js";
import type { ListenerContext, WorkerServices } from "../http/listener-context.js";
import type { StreamInfoSink } from "../observability/stream-info.js";
import { RouteTable } from "../router/route-table.js";
import { ClusterManager } from "../upstream/cluster-manager.js";
import type { SharedClusterBuffers } from "../upstream/shared/cluster-shared-layout.js";
import { SharedStateOwner, timerScheduler } from "../upstream/shared/shared-state-owner.js";

export interface ProxyRuntimeOptions {
  limits: DownstreamLimits;
  random: Random;
  log: Logger;
  onStream: StreamInfoSink;
  workerIndex?: number;
  /** Wall-clock time for outlier ejections (shared across threads). Default: system clock. */
  clock?: Clock;
  /** Router timers (timeouts, back-off, fault delays). Default: real timers. */
  timers?: Timers;
  /** Bind listeners with SO_REUSEPORT (default true; false where the OS cannot, see reuse-port.ts). */
  reusePort?: boolean;
  /** Shared open-connection counts; this runtime keeps slot `workerIndex` current. */
  activeConnections?: Int32Array;
}

interface BoundListener {
  /** The address actually bound (differs from the model's when it asked for port 0). */
  boundKey: string;
  model: Listener;
  server: Server;
  ctx: ListenerContext;
}

export interface ApplyResult {
  ok: boolean;
  errors: string[];
  /** `address:port` of every bound listener (port resolved when the model said 0). */
  bound: string[];
}

/** Sweep period for idle/slow-head checks and pool idle timeouts (ms). */
const SWEEP_MS = 250;

export class ProxyRuntime {
  readonly services: WorkerServices;
  private readonly log: Logger;
  private readonly listeners = new Map<string, BoundListener>();
  readonly connections = new Set<Http1ServerConnection>();
  /** Adds/removes in `connections` and mirrors the count into the shared slot. */
  private readonly tracker: ConnectionTracker;
  private readonly reusePort: boolean;
  /** Which listeners drain gracefully (set by drainListeners; applies to listeners bound later too). */
  private drainScope: "none" | "inbound" | "all" = "none";
  /** Set by drain(): listeners are closing, connections accepted meanwhile are refused. */
  private stopping = false;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly startMono = performance.now();
  private readonly clock: Clock;
  /** In-process use (no supervisor): this runtime allocates shared state and runs its intervals. */
  private ownShared: SharedStateOwner | undefined;
  private readonly workerIndex: number;
  version = "";

  constructor(opts: ProxyRuntimeOptions) {
    this.log = opts.log;
    this.clock = opts.clock ?? systemClock;
    this.workerIndex = opts.workerIndex ?? 0;
    this.reusePort = opts.reusePort ?? true;
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
    this.services = {
      clusters: new ClusterManager(opts.random, opts.log, this.workerIndex, this.clock),
      random: opts.random,
      timers: opts.timers ?? realTimers,
      limits: opts.limits,
      onStream: opts.onStream,
      coarseNow: 1,
    };
    this.sweepTimer = setInterval(() => this.sweep(), sweepPeriodMs(opts.limits));
    this.sweepTimer.unref();
  }

  /**
   * Advances the coarse clock and runs the idle / slow-head / pool checks. `now` (coarse ms) is
   * for tests that need a far-off instant without waiting for it.
   */
  sweep(now = Math.round(performance.now() - this.startMono) + 1): void {
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
    if (errors.length > 0) return { ok: false, errors, bound: this.boundAddresses() };
    if (shared === undefined) {
      // A worker record for this runtime's index (its circuit-breaker counts are tracked there).
      this.ownShared ??= new SharedStateOwner(this.clock, timerScheduler, this.workerIndex + 1);
      shared = this.ownShared.prepare(snapshot.clusters);
    }
    this.services.clusters.update(snapshot.clusters, shared);

    const wanted = new Map<string, Listener>();
    for (const l of snapshot.listeners) wanted.set(`${l.address}:${l.port}`, l);
    for (const [key, bl] of this.listeners) {
      if (!wanted.has(key)) {
        bl.server.close();
        this.listeners.delete(key);
        this.log.info(`listener ${bl.model.name} removed`);
      }
    }
    for (const [key, model] of wanted) {
      const table = tables.get(model.http.routeConfigName);
      const existing = this.listeners.get(key);
      if (existing !== undefined) {
        existing.model = model;
        existing.ctx.name = model.name;
        existing.ctx.direction = model.trafficDirection;
        existing.ctx.serverName = serverNameFor(model);
        existing.ctx.routeTable = table;
        existing.ctx.draining = this.drains(model);
        continue;
      }
      const ctx: ListenerContext = {
        name: model.name,
        direction: model.trafficDirection,
        serverName: serverNameFor(model),
        routeTable: table,
        draining: this.drains(model),
        services: this.services,
      };
      try {
        const server = await this.bind(model, ctx);
        const addr = server.address();
        const boundKey = typeof addr === "object" && addr !== null && model.port === 0 ? `${model.address}:${addr.port}` : key;
        this.listeners.set(key, { boundKey, model, server, ctx });
      } catch (e) {
        errors.push(`listener ${model.name}: cannot listen on ${key}: ${(e as Error).message}`);
      }
    }
    this.version = snapshot.version;
    return { ok: errors.length === 0, errors, bound: this.boundAddresses() };
  }

  private bind(model: Listener, ctx: ListenerContext): Promise<Server> {
    return new Promise((resolve, reject) => {
      const server = createServer({ noDelay: true }, (socket) => {
        if (this.stopping) {
          socket.destroy();
          return;
        }
        new Http1ServerConnection(socket, ctx, this.tracker);
      });
      server.once("error", reject);
      server.listen({ host: model.address, port: model.port, reusePort: this.reusePort, backlog: 1024 }, () => {
        server.removeListener("error", reject);
        server.on("error", (err) => this.log.error(`listener ${model.name}: ${err.message}`));
        resolve(server);
      });
    });
  }

  boundAddresses(): string[] {
    return [...this.listeners.values()].map((l) => l.boundKey);
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
    for (const bl of this.listeners.values()) bl.ctx.draining = this.drains(bl.model);
  }

  /** Stops accepting, lets in-flight exchanges finish, closes the rest after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    this.stopping = true;
    this.drainScope = "all";
    for (const bl of this.listeners.values()) bl.ctx.draining = true;
    // server.close() stops accepting now, but calls back only once every connection is gone, so
    // it is awaited last: connections are drained (and, after the deadline, closed) first.
    const closed = [...this.listeners.values()].map((bl) => new Promise<void>((r) => bl.server.close(() => r())));
    this.listeners.clear();
    for (const c of this.connections) c.drain();
    const deadline = performance.now() + timeoutMs;
    while (this.connections.size > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      for (const c of this.connections) c.drain();
    }
    for (const c of this.connections) c.destroySocket();
    await Promise.all(closed);
    this.close();
  }

  close(): void {
    clearInterval(this.sweepTimer);
    this.ownShared?.close();
    for (const bl of this.listeners.values()) bl.server.close();
    this.listeners.clear();
    for (const c of this.connections) c.destroySocket();
    this.services.clusters.close();
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

function serverNameFor(l: Listener): string {
  return l.trafficDirection === "INBOUND" ? "istio-envoy" : "envoy";
}
