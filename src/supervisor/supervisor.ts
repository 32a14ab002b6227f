// Supervisor: the main thread. Consumes a config source (Istio YAML files by default) through a
// snapshot store, runs N data-path workers, pushes versioned snapshots to them, reloads on file
// change / SIGHUP (refusing bad config while the last good snapshot keeps serving), replaces
// crashed workers and, on shutdown, drains as istio-agent drives Envoy: inbound listeners drain
// gracefully for the termination drain duration (or until no connection is left, with
// exit-on-zero-active-connections) while outbound keeps serving.

import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Bootstrap } from "../bootstrap/bootstrap.js";
import { ErrorCode, ProxyError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import { formatConfigError, type ConfigError } from "../config/model/config-error.js";
import type { Snapshot } from "../config/model/types.js";
import { systemClock } from "../common/clock.js";
import type { SharedClusterBuffers } from "../upstream/shared/cluster-shared-layout.js";
import { SharedStateOwner, timerScheduler } from "../upstream/shared/shared-state-owner.js";
import { clusterStatus } from "../admin/cluster-status.js";
import type { ConfigSink, ConfigSource, ConfigUpdate, UpdateResult } from "../config/source/config-source.js";
import type { IstioFileSource } from "../config/source/istio-file-source.js";
import { securityOptionsFrom } from "../bootstrap/parse-run-flags.js";
import { SnapshotStore } from "../config/source/snapshot-store.js";
import type { FromWorker, ToWorker, WorkerInit } from "../worker/worker-messages.js";
import { applyWorkerV8Flags } from "../worker/worker-v8-flags.js";
import { ConfigWatcher } from "./config-watcher.js";
import type { LogLevel } from "../common/logger.js";
import type { MergedStats } from "../admin/stats-routes.js";
import { StatsCollector, type WorkerStatsPort } from "../observability/stats/stats-collector.js";
import { addServerStats, ConfigUpdateStats } from "../observability/stats/server-stats.js";
import type { WorkerStatsReply } from "../observability/stats/worker-stats-reply.js";
import { statEntitiesOf } from "../observability/stats/stat-entities.js";
import type { AdminState, DrainListenersOptions, Supervisor, WorkerHeap } from "./supervisor-api.js";

/**
 * 4 MiB: the worker's V8 young generation. V8's default lets the nursery grow to tens of MiB under
 * load, which is most of a busy sidecar's RSS (measured, 1 worker, 10 s saturation: default
 * 105 MiB after load, 4 MiB 97 MiB, 2 MiB 93 MiB; HTTP/1 CPU per request within the noise). 2 MiB
 * was too small for HTTP/2: a connection multiplexes tens of streams whose objects are still live
 * at each scavenge, so they are copied and promoted (h2load -c4 -m16, 1 worker, same rounds vs
 * nginx: CPU per request h2c→HTTP/1.1 60–63 → 51–53 µs, h2c→HTTP/2 78–115 → 70–80 µs; 16 MiB
 * gained little more: 49 and 72–76 µs).
 */
const WORKER_YOUNG_GENERATION_MB = 4;

/** Debounce for bursts of file events (editors write files in several steps), ms. */
const WATCH_DEBOUNCE_MS = 250;

/**
 * The bootstrap's config source: the Istio YAML files and folders of `--config`. Loaded on demand
 * (the YAML parser and the whole Istio translation, ~100 modules) once the workers are started.
 */
export async function fileSourceFor(b: Bootstrap, log: Logger): Promise<IstioFileSource> {
  const { IstioFileSource } = await import("../config/source/istio-file-source.js");
  return new IstioFileSource(
    b.configPaths,
    {
      namespace: b.namespace,
      proxyLabels: b.proxyLabels,
      domainSuffix: b.domainSuffix,
      defaultOutbound: b.outbound,
      proxyLocality: b.proxyLocality,
      mirrorShadowSuffix: b.mirrorShadowSuffix,
      ...(b.rootNamespace !== undefined ? { rootNamespace: b.rootNamespace } : {}),
      ...(b.otel !== undefined ? { otel: b.otel } : {}),
      ...(b.intercept !== undefined ? { intercept: b.intercept } : {}),
      ...(b.identity !== undefined ? { security: securityOptionsFrom(b.identity) } : {}),
      node: b.node,
      env: process.env,
    },
    log,
    b.meshConfigPath,
  );
}

export interface SupervisorOptions {
  /** Where config comes from; default the `--config` files (fileSourceFor). */
  source?: ConfigSource;
  /**
   * Where the `default` / `ROOTCA` secrets come from; default the bootstrap's --certs / --ca-address
   * (secretSourceFor), none without them. Started before `source`: its listeners refer to them.
   */
  secretSource?: ConfigSource;
}

/** A worker's apply failure (bind error, route table that does not compile) as a config error without a place. */
function workerError(message: string): ConfigError {
  return { file: "", line: 0, path: "", message, severity: "error" };
}

/** Errors without a place print as they are; config errors as `file:line: path: message`. */
function formatUpdateError(e: ConfigError): string {
  return e.file === "" ? e.message : formatConfigError(e);
}

/** 1 000 ms: istio-agent's activeConnectionCheckDelay, the exit-on-zero polling period. */
const ACTIVE_CONNECTION_CHECK_MS = 1_000;

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The compiled worker entry, also when the supervisor itself runs from TypeScript sources (tests). */
function workerEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const js = here.replace(/[\\/]src[\\/]supervisor[\\/]supervisor\.ts$/, "/dist/supervisor/supervisor.js");
  return js.replace(/supervisor[\\/]supervisor\.js$/, "worker/worker-main.js");
}

interface WorkerSlot {
  index: number;
  worker: Worker;
  /** Sequence number of the last snapshot this worker applied. */
  appliedSeq: number;
  drained: boolean;
  exited: boolean;
}

class SupervisorImpl implements Supervisor {
  readonly admin: AdminState;
  readonly ready: Promise<void>;
  readonly exited: Promise<number>;
  private resolveReady!: () => void;
  private rejectReady!: (e: Error) => void;
  private resolveExit!: (code: number) => void;
  private readonly slots: WorkerSlot[] = [];
  private snapshot: Snapshot | null = null;
  /**
   * Cross-worker cluster state: one SharedArrayBuffer per cluster, kept across reloads while the
   * cluster is unchanged, and the one place the outlier-detection interval runs.
   */
  private readonly shared: SharedStateOwner;
  private sharedBuffers: SharedClusterBuffers = {};
  private seq = 0;
  private isReady = false;
  private draining = false;
  private lastReloadError: string | null = null;
  /** When the serving snapshot was applied (config_dump's last_updated). */
  private lastUpdated: string | undefined;
  private logLevel: LogLevel;
  /** Admin commands that wait for every worker's answer run one at a time (one waiter per worker and type). */
  private adminChain: Promise<unknown> = Promise.resolve();
  private quitting = false;
  private readonly waiters = new Map<string, (m: FromWorker) => void>();
  private watcher: ConfigWatcher | undefined;
  private reloadChain: Promise<unknown> = Promise.resolve();
  private watchTimer: NodeJS.Timeout | undefined;
  /** Set by start() when not given (the --config files). */
  private source: ConfigSource | undefined;
  /** Set by start(): made there so the CA client (grpc-js) loads only when --ca-address asks for it. */
  private secretSource: ConfigSource | undefined;
  private readonly secretSourceOption: ConfigSource | undefined;
  /** The last accepted resources of every type; refused updates never reach it. */
  private readonly store = new SnapshotStore(() => this.nextVersion());
  /** Updates are applied one at a time, in the order sources pushed them. */
  private pushChain: Promise<unknown> = Promise.resolve();
  /** The reload in progress, for log lines (`reload (SIGHUP) refused …`). */
  private reloadReason: string | undefined;
  private readonly sink: ConfigSink = { push: (u) => this.enqueue(u) };
  /** Open downstream connections per worker index, kept by the workers (shared memory). */
  private readonly activeConnections: Int32Array;
  /** Asks the workers for their stats at each scrape and merges them. */
  private readonly statsCollector = new StatsCollector(() => this.slots.filter((s) => !s.exited).map((s) => this.statsPort(s)));
  private readonly configStats = new ConfigUpdateStats();
  private readonly startedAt = performance.now();

  constructor(
    private readonly bootstrap: Bootstrap,
    private readonly log: Logger,
    opts: SupervisorOptions = {},
  ) {
    this.source = opts.source;
    this.secretSourceOption = opts.secretSource;
    this.logLevel = bootstrap.logLevel;
    // One worker record per buffer for each worker index (a replacement reuses its index).
    this.shared = new SharedStateOwner(systemClock, timerScheduler, bootstrap.workers);
    this.activeConnections = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, bootstrap.workers)));
    this.ready = new Promise((res, rej) => {
      this.resolveReady = res;
      this.rejectReady = rej;
    });
    this.ready.catch(() => {});
    this.exited = new Promise((res) => (this.resolveExit = res));
    this.admin = {
      isReady: () => this.isReady && !this.draining,
      configDump: () => ({ bootstrap: this.bootstrap, snapshot: this.snapshot, lastReloadError: this.lastReloadError, lastUpdated: this.lastUpdated, resourceMeta: (t) => this.store.meta(t), typeVersion: (t) => this.store.versionOf(t) }),
      clusters: () => Object.values(this.snapshot?.clusters ?? {}).map((c) => clusterStatus(c, this.shared.view(c.name))),
      stats: () => this.stats(),
      hostStats: async () => (await this.statsCollector.collect()).envoy.hosts ?? {},
    };
  }

  private nextVersion(): string {
    this.seq++;
    return `${new Date().toISOString()}/${this.seq}`;
  }

  async start(): Promise<void> {
    // Before the workers: a bad --ca-root is a start error with nothing to stop.
    this.secretSource =
      this.secretSourceOption ?? (this.bootstrap.identity?.source !== undefined ? await (await import("../security/secret-source-for.js")).secretSourceFor(this.bootstrap, this.log) : undefined);
    // The workers start now and load the data path while this thread reads and translates the
    // config (or waits for the control plane); each applies the first snapshot when it comes.
    // Spawned after the first snapshot, their module loading came on top of the translation's
    // (bench/RESULTS.md "Start time").
    for (let i = 0; i < this.bootstrap.workers; i++) this.slots.push(this.spawn(i));
    try {
      await this.startSources();
    } catch (e) {
      this.rejectReady(e as Error);
      this.secretSource?.close();
      this.source?.close();
      await this.stopUnusedWorkers();
      throw e;
    }
    this.isReady = true;
    this.resolveReady();
    const bound = this.firstBound;
    this.log.info(`ready: ${this.bootstrap.workers} worker(s), snapshot ${this.snapshot?.version}, listeners ${bound.join(", ") || "(none)"}`);
    if (this.bootstrap.watch) await this.startWatching();
  }

  /** The secrets (when --certs / --ca-address), then the config: each first update accepted, or throws. */
  private async startSources(): Promise<void> {
    // The file source's modules load while the secret source starts.
    const fileSource = this.source === undefined ? fileSourceFor(this.bootstrap, this.log) : undefined;
    fileSource?.catch(() => {});
    if (this.secretSource !== undefined) {
      const secrets = await this.secretSource.start(this.sink);
      if (!secrets.accepted) throw new ProxyError(ErrorCode.ConfigInvalid, `workload certificate not loaded: ${secrets.errors.map(formatUpdateError).join("\n")}`);
    }
    this.source ??= await fileSource!;
    const first = await this.source.start(this.sink);
    if (!first.accepted) throw new ProxyError(ErrorCode.ConfigInvalid, first.errors.map(formatUpdateError).join("\n"));
  }

  /** Listeners bound by the first snapshot (for the ready log line). */
  private firstBound: string[] = [];

  private enqueue(update: ConfigUpdate): Promise<UpdateResult> {
    const run = this.pushChain.then(() => this.applyUpdate(update));
    this.pushChain = run.catch(() => {});
    return run;
  }

  /** One pushed update: refused (the last good snapshot keeps serving) or handed to every worker. */
  private async applyUpdate(update: ConfigUpdate): Promise<UpdateResult> {
    const serving = (): string | null => this.snapshot?.version ?? null;
    const what = this.reloadReason !== undefined ? `reload (${this.reloadReason})` : `update from ${update.origin}`;
    if (this.draining) return { accepted: false, errors: [workerError("draining")], version: serving() };
    const r = this.store.apply(update);
    this.configStats.record(update, r.accepted && r.snapshot !== undefined, r.snapshot?.version ?? serving());
    if (!r.accepted || r.snapshot === undefined) {
      const msg = r.errors.map(formatUpdateError).join("\n");
      // Before the first snapshot there is nothing serving: start() reports the errors.
      if (this.snapshot !== null) {
        this.lastReloadError = msg;
        this.log.error(`${what} refused; still serving ${serving()}:\n${msg}`);
      }
      return { accepted: false, errors: r.errors, version: serving() };
    }
    const snapshot = r.snapshot;
    const seq = this.seq;
    const first = this.snapshot === null;
    this.sharedBuffers = this.shared.prepare(snapshot.clusters);
    const results = await Promise.all(this.slots.map((s) => this.applyTo(s, snapshot, seq)));
    const errors = [...new Set(results.flatMap((res) => res.errors))];
    this.snapshot = snapshot;
    this.lastUpdated = new Date().toISOString();
    // The secrets may come first (no listeners yet): the ready line names what the config bound.
    if (this.firstBound.length === 0) this.firstBound = results[0]?.bound ?? [];
    if (errors.length > 0) {
      if (!first) {
        this.lastReloadError = errors.join("\n");
        this.log.error(`${what} applied with errors (snapshot ${snapshot.version}):\n${errors.join("\n")}`);
      }
      return { accepted: false, errors: errors.map(workerError), version: snapshot.version };
    }
    if (!first) {
      this.lastReloadError = null;
      this.log.info(`${what}: now serving snapshot ${snapshot.version}`);
    }
    return { accepted: true, errors: [], version: snapshot.version };
  }

  private spawn(index: number): WorkerSlot {
    // A replacement starts from zero: its dead predecessor's connections are gone with it.
    Atomics.store(this.activeConnections, index, 0);
    // A replacement worker starts at the level /logging last set.
    const init: WorkerInit = { bootstrap: { ...this.bootstrap, logLevel: this.logLevel }, workerIndex: index, activeConnections: this.activeConnections };
    applyWorkerV8Flags();
    const worker = new Worker(workerEntry(), { workerData: init, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
    const slot: WorkerSlot = { index, worker, appliedSeq: 0, drained: false, exited: false };
    worker.on("message", (m: FromWorker) => {
      const key = m.type === "applied" ? `${index}:applied:${m.seq}` : m.type === "stats-reply" ? `${index}:stats:${m.seq}` : `${index}:${m.type}`;
      const w = this.waiters.get(key);
      if (w !== undefined) {
        this.waiters.delete(key);
        w(m);
      }
    });
    worker.on("error", (err) => this.log.error(`worker ${index} failed: ${err.stack ?? err.message}`));
    worker.on("exit", (code) => this.onWorkerExit(slot, code));
    return slot;
  }

  private onWorkerExit(slot: WorkerSlot, code: number): void {
    slot.exited = true;
    if (this.draining || this.slots[slot.index] !== slot) return;
    this.log.error(`worker ${slot.index} exited unexpectedly (code ${code}); starting a replacement`);
    // Its counters stay in the sums; its open connections and requests are gone.
    void this.statsCollector.workerExited(slot.index);
    // The thread is gone: give back the circuit-breaker counts it held before its index is reused.
    const r = this.shared.reclaimWorker(slot.index);
    if (r.requests + r.pending + r.connections + r.retries > 0) {
      this.log.warn(`worker ${slot.index}: reclaimed ${r.requests} request(s), ${r.pending} pending, ${r.connections} connection(s), ${r.retries} retry(ies)`);
    }
    const fresh = this.spawn(slot.index);
    this.slots[slot.index] = fresh;
    // Anyone waiting on the dead worker gets a failure rather than hanging.
    for (const [k, w] of this.waiters) {
      if (k.startsWith(`${slot.index}:applied:`)) {
        this.waiters.delete(k);
        w({ type: "applied", seq: -1, ok: false, errors: [`worker ${slot.index} exited`], bound: [] });
      }
    }
    if (this.snapshot !== null) {
      void this.applyTo(fresh, this.snapshot, this.seq).then((r) => {
        if (r.ok) this.log.info(`worker ${slot.index} replaced and serving snapshot ${this.snapshot?.version}`);
        else this.log.error(`replacement worker ${slot.index} failed: ${r.errors.join("; ")}`);
      });
    }
  }

  /** A worker as the stats collector asks it: one outstanding request, failed when the worker exits. */
  private statsPort(slot: WorkerSlot): WorkerStatsPort {
    return {
      index: slot.index,
      request: (seq) =>
        new Promise<WorkerStatsReply>((resolve, reject) => {
          const prefix = `${slot.index}:stats:`;
          // A request the worker never answered (it missed an earlier deadline) is dropped.
          for (const k of this.waiters.keys()) if (k.startsWith(prefix)) this.waiters.delete(k);
          const onExit = (): void => {
            this.waiters.delete(prefix + seq);
            reject(new Error(`worker ${slot.index} exited`));
          };
          slot.worker.once("exit", onExit);
          this.waiters.set(prefix + seq, (m) => {
            slot.worker.off("exit", onExit);
            if (m.type === "stats-reply") resolve(m.reply);
          });
          this.send(slot, { type: "stats", seq });
        }),
    };
  }

  /** Every worker's stats merged, plus the supervisor's own (server, config updates, shared cluster state). */
  private async stats(): Promise<MergedStats> {
    const c = await this.statsCollector.collect();
    const envoy = structuredClone(c.envoy);
    addServerStats(envoy, {
      state: this.draining ? "DRAINING" : this.isReady ? "LIVE" : "INITIALIZING",
      uptimeSeconds: (performance.now() - this.startedAt) / 1_000,
      workers: this.bootstrap.workers,
      workersStarted: this.isReady,
      totalConnections: this.activeConnectionCount(),
      listeners: this.snapshot?.listeners.length ?? 0,
      clusters: this.admin.clusters?.() ?? [],
      config: this.source?.configStats?.() ?? this.configStats,
      heapUsed: c.heapUsed + process.memoryUsage().heapUsed,
      heapTotal: c.heapTotal + process.memoryUsage().heapTotal,
      rss: process.memoryUsage.rss(),
      lateWorkerReplies: this.statsCollector.lateTotal,
    });
    return { envoy, istio: c.istio, entities: statEntitiesOf(this.snapshot) };
  }

  private send(slot: WorkerSlot, m: ToWorker): void {
    slot.worker.postMessage(m);
  }

  private applyTo(slot: WorkerSlot, snapshot: Snapshot, seq: number): Promise<{ ok: boolean; errors: string[]; bound: string[] }> {
    return new Promise((resolve) => {
      this.waiters.set(`${slot.index}:applied:${seq}`, (m) => {
        if (m.type !== "applied") return;
        if (m.ok) slot.appliedSeq = seq;
        resolve({ ok: m.ok, errors: m.errors, bound: m.bound });
      });
      this.send(slot, { type: "apply", seq, snapshot, shared: this.sharedBuffers });
    });
  }

  reload(reason: string): Promise<{ ok: boolean; errors: string[] }> {
    const run = this.reloadChain.then(() => this.doReload(reason));
    this.reloadChain = run.catch(() => {});
    return run;
  }

  private async doReload(reason: string): Promise<{ ok: boolean; errors: string[] }> {
    if (this.draining) return { ok: false, errors: ["draining"] };
    this.reloadReason = reason;
    try {
      // SIGHUP re-reads --certs too (an unchanged or bad pair changes nothing; the CA source renews on its own).
      await this.secretSource?.refresh(reason);
      const r = await this.source?.refresh(reason);
      if (r === undefined) return { ok: false, errors: ["not started yet"] };
      return { ok: r.accepted, errors: r.errors.map(formatUpdateError) };
    } finally {
      this.reloadReason = undefined;
    }
  }

  private async startWatching(): Promise<void> {
    const watcher = new ConfigWatcher(
      this.bootstrap.meshConfigPath !== undefined ? [...this.bootstrap.configPaths, this.bootstrap.meshConfigPath] : this.bootstrap.configPaths,
      () => {
        clearTimeout(this.watchTimer);
        this.watchTimer = setTimeout(() => {
          // Follow folders that appeared or went away, then reload.
          void watcher.sync().then(() => this.reload("config change"));
        }, WATCH_DEBOUNCE_MS);
      },
      this.log,
    );
    this.watcher = watcher;
    await watcher.sync();
  }

  /** Open downstream connections across all workers (Envoy's listener downstream_cx_active sum). */
  activeConnectionCount(): number {
    let n = 0;
    for (let i = 0; i < this.activeConnections.length; i++) n += Atomics.load(this.activeConnections, i);
    return n;
  }

  /**
   * istio-agent's shutdown: `drain_listeners?inboundonly&graceful`, then either wait
   * terminationDrainDuration, or (EXIT_ON_ZERO_ACTIVE_CONNECTIONS) wait MINIMUM_DRAIN_DURATION and
   * poll the active downstream connections once a second until none is left; then stop.
   */
  async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    clearTimeout(this.watchTimer);
    this.watcher?.close();
    this.secretSource?.close();
    this.source?.close();
    await Promise.all(
      this.slots
        .filter((s) => !s.exited)
        .map(
          (s) =>
            new Promise<void>((resolve) => {
              // A worker that dies meanwhile is not waited for (its exit wakes this too).
              this.waiters.set(`${s.index}:draining`, () => resolve());
              s.worker.once("exit", () => resolve());
              this.send(s, { type: "drain-listeners", inboundOnly: true });
            }),
        ),
    );
    const b = this.bootstrap;
    if (b.exitOnZeroActiveConnections) {
      this.log.info(`draining inbound listeners: ${b.minimumDrainMs} ms, then until no connection is active`);
      await delay(b.minimumDrainMs);
      for (let n = this.activeConnectionCount(); n > 0; n = this.activeConnectionCount()) {
        this.log.info(`draining: still ${n} active connection(s)`);
        await delay(ACTIVE_CONNECTION_CHECK_MS);
      }
      this.log.info("draining: no active connection left");
    } else {
      this.log.info(`draining inbound listeners for ${b.drainTimeoutMs} ms; outbound keeps serving`);
      await delay(b.drainTimeoutMs);
    }
    // Past the drain the agent SIGKILLs Envoy: whatever is still open is closed now.
    await this.stopWorkers(0);
    this.shared.close();
    this.log.info("drained; exiting");
    this.resolveExit(0);
  }

  /** Sends `m` to every live worker and resolves with each one's `reply` message (a worker that exits meanwhile is skipped). */
  private askAll<T extends FromWorker["type"]>(m: ToWorker, reply: T): Promise<Array<Extract<FromWorker, { type: T }>>> {
    const run = this.adminChain.then(() =>
      Promise.all(
        this.slots
          .filter((s) => !s.exited)
          .map(
            (s) =>
              new Promise<Extract<FromWorker, { type: T }> | undefined>((resolve) => {
                const onExit = (): void => resolve(undefined);
                s.worker.once("exit", onExit);
                this.waiters.set(`${s.index}:${reply}`, (r) => {
                  s.worker.off("exit", onExit);
                  resolve(r as Extract<FromWorker, { type: T }>);
                });
                this.send(s, m);
              }),
          ),
      ).then((rs) => rs.filter((r) => r !== undefined)),
    );
    this.adminChain = run.catch(() => {});
    return run;
  }

  async drainListeners(opts: DrainListenersOptions): Promise<void> {
    const { inboundOnly } = opts;
    const what = inboundOnly ? "inbound listeners" : "all listeners";
    await this.askAll({ type: "drain-listeners", inboundOnly }, "draining");
    if (opts.skipExit) {
      this.log.info(`drain_listeners: draining ${what}; they keep accepting (skip_exit)`);
      return;
    }
    const stop = (): void => {
      if (this.draining) return;
      void this.askAll({ type: "stop-listeners", inboundOnly }, "stopped-listeners").then(() => this.log.info(`drain_listeners: ${what} stopped`));
    };
    if (!opts.graceful) return stop();
    this.log.info(`drain_listeners: draining ${what} for ${this.bootstrap.drainTimeoutMs} ms, then they stop accepting`);
    setTimeout(stop, this.bootstrap.drainTimeoutMs).unref();
  }

  /** Also during a drain: it ends the drain now, as Envoy's does. */
  async quit(): Promise<void> {
    if (this.quitting) return;
    this.quitting = true;
    this.log.info("quitquitquit: stopping the workers now");
    clearTimeout(this.watchTimer);
    this.watcher?.close();
    this.secretSource?.close();
    this.source?.close();
    await this.stopWorkers(0);
    this.shared.close();
    this.resolveExit(0);
  }

  async setWorkerLogLevel(level: LogLevel): Promise<LogLevel[]> {
    this.logLevel = level;
    const replies = await this.askAll({ type: "log-level", level }, "log-level");
    const levels = replies.map((r) => r.level);
    // What the workers report, not what was asked.
    this.logLevel = levels[0] ?? level;
    return levels;
  }

  workerLogLevel(): LogLevel {
    return this.logLevel;
  }

  async workerHeaps(): Promise<WorkerHeap[]> {
    const live = this.slots.filter((s) => !s.exited);
    // Worker.getHeapStatistics: Node >= 22.16 / 24; older runtimes report the main thread only.
    const stats = await Promise.all(
      live.map((s) => {
        const w = s.worker as Worker & { getHeapStatistics?: () => Promise<{ used_heap_size: number; total_heap_size: number; external_memory?: number }> };
        return typeof w.getHeapStatistics === "function" ? w.getHeapStatistics().catch(() => undefined) : Promise.resolve(undefined);
      }),
    );
    return stats.filter((h) => h !== undefined).map((h) => ({ used: h.used_heap_size, total: h.total_heap_size, external: h.external_memory ?? 0 }));
  }

  async reopenLogs(): Promise<void> {
    await this.askAll({ type: "reopen-logs" }, "logs-reopened");
  }

  /**
   * A start that failed before any snapshot was applied: nothing is bound or open, so the workers
   * (perhaps still loading their modules) are terminated rather than drained.
   */
  private async stopUnusedWorkers(): Promise<void> {
    if (this.snapshot !== null) return this.stopWorkers(0);
    this.draining = true;
    await Promise.all(this.slots.map((s) => (s.exited ? undefined : s.worker.terminate())));
  }

  private async stopWorkers(timeoutMs: number): Promise<void> {
    this.draining = true;
    const t = timeoutMs;
    await Promise.all(
      this.slots.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.exited) return resolve();
            const hard = setTimeout(() => void s.worker.terminate().then(() => resolve()), t + 2_000);
            this.waiters.set(`${s.index}:drained`, () => {
              s.drained = true;
            });
            s.worker.once("exit", () => {
              clearTimeout(hard);
              resolve();
            });
            this.send(s, { type: "drain", timeoutMs: t });
          }),
      ),
    );
  }

  /** For tests: the worker threads. */
  get workers(): Worker[] {
    return this.slots.map((s) => s.worker);
  }
}

/**
 * The supervisor before its first config is applied; `start()` brings it up. For runs whose admin
 * must answer while the first config is awaited (an Envoy bootstrap's xDS: INITIALIZING, the
 * static listeners serving, refused updates counted).
 */
export function createSupervisor(bootstrap: Bootstrap, log: Logger, opts: SupervisorOptions = {}): Supervisor & { workers: Worker[]; start(): Promise<void> } {
  return new SupervisorImpl(bootstrap, log, opts);
}

export async function startSupervisor(bootstrap: Bootstrap, log: Logger, opts: SupervisorOptions = {}): Promise<Supervisor & { workers: Worker[] }> {
  const s = new SupervisorImpl(bootstrap, log, opts);
  await s.start();
  return s;
}
