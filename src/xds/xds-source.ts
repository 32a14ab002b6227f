// The xDS client as a ConfigSource (issue 10; drop-in-envoy.md §4.3, §6): one ADS stream carrying
// CDS, EDS, LDS and RDS (and SDS for secrets the SDS server does not serve), state of the world or
// delta, plus a state-of-the-world SDS stream (pilot-agent's socket) for `default` / `ROOTCA`.
//
// Request order: CDS (wildcard), then LDS (wildcard) at once — earlier than Envoy, which asks for
// LDS only after the cluster manager initialised (clusters warmed): pilot-agent delivers NDS and
// starts health reporting only after the proxy's first LDS request, so waiting would only delay
// the pod. EDS follows the EDS clusters CDS brings, RDS the listeners' RDS names, SDS the secrets
// transport sockets name; each goes out after the ACK of the response that needed it.
//
// Each response is decoded through the injected codec; valid resources are applied even when
// others are bad (the response is then NACKed whole, the bad ones keep their last good version),
// and what is ready (warming.ts) is pushed into the sink, whose answer decides ACK or NACK.

import type { DecodeNote, Json } from "../config/envoy/decoded.js";
import { resourceName } from "../config/envoy/decode-resource.js";
import { resourceTypeOfUrl, TYPE_URLS } from "../config/envoy/type-urls.js";
import { formatConfigError } from "../config/model/config-error.js";
import type { Cluster, Listener } from "../config/model/types.js";
import type { ConfigSink, ConfigSource, ConfigUpdate, ResourceType, ResourceUpdate, UpdateResult } from "../config/source/config-source.js";
import { RESOURCE_TYPES } from "../config/source/config-source.js";
import type { TimerHandle, Timers } from "../common/timers.js";
import { ENVOY_XDS_BACKOFF, unrefTimers } from "./backoff.js";
import { clusterDependencies, listenerDependencies, noDependencies } from "./dependencies.js";
import { discoveryServices } from "./discovery-protos.js";
import { DiscoveryStream } from "./discovery-stream.js";
import type { ParsedResponse } from "./parsed-response.js";
import { nodeToMessage } from "./struct-json.js";
import type { Entry, Held, Released } from "./warming.js";
import { cloneHeld, emptyHeld, nextActive, warmingNames } from "./warming.js";
import type { XdsSourceOptions } from "./xds-options.js";

/**
 * Envoy's per-subscription stats (`cluster_manager.cds.*`, `listener_manager.lds.*`, EDS/RDS/SDS
 * ones), per type: pilot-agent's readiness probe needs cds/lds `update_success` > 0 and reports a
 * rejection when `update_rejected` > 0.
 */
export interface XdsTypeStats {
  /** Responses received. */
  updateAttempt: number;
  /** Responses ACKed. */
  updateSuccess: number;
  /** Responses NACKed. */
  updateRejected: number;
  /** Stream failures while subscribed. */
  updateFailure: number;
  /** Initial fetch timeouts that passed. */
  initFetchTimeout: number;
  /** The last accepted version_info (delta: system_version_info). */
  versionText: string;
}

/** The xDS client: a ConfigSource that also tells what is warming, what the decoders noted, and its stats. */
export interface XdsSource extends ConfigSource {
  /** Counters per resource type (a fresh copy). */
  stats(): Record<ResourceType, XdsTypeStats>;
  /** Held clusters and listeners not yet active (waiting for EDS, RDS or a secret): config_dump's dynamic_warming_*. */
  warming(): { clusters: string[]; listeners: string[] };
  /** The decoders' notes on every held resource (each logged once per resource version). */
  notes(): Array<{ type: ResourceType; name: string; note: DecodeNote }>;
}

export function createXdsSource(options: XdsSourceOptions): XdsSource {
  return new XdsClient(options);
}

type DepType = "endpoint" | "routeConfiguration" | "secret";
const DEP_TYPES: readonly DepType[] = ["endpoint", "routeConfiguration", "secret"];
const TIMEOUT_KEY: Record<DepType, "eds" | "rds" | "sds"> = { endpoint: "eds", routeConfiguration: "rds", secret: "sds" };

/** Every secret not named `kubernetes://…` (istiod's credentialName secrets come over ADS). */
const defaultSdsSecretName = (name: string): boolean => !name.startsWith("kubernetes://");

class XdsClient implements XdsSource {
  readonly name = "xds";
  /** Every resource received and accepted (warming ones included). */
  private held: Held = emptyHeld();
  /** What the sink serves (last pushed and accepted). */
  private active: Held = emptyHeld();
  private released: Released = { endpoint: new Set(), routeConfiguration: new Set(), secret: new Set() };
  /** The latest accepted version_info per type (the `version` of SotW pushes). */
  private typeVersion = new Map<ResourceType, string>();
  private readonly fetchTimers = new Map<string, TimerHandle>();
  private startTimers: TimerHandle[] = [];
  private readonly timers: Timers;
  private sink: ConfigSink | undefined;
  private ads: DiscoveryStream | undefined;
  private sds: DiscoveryStream | undefined;
  private node: Record<string, unknown> = {};
  /** All state changes (responses of both streams, timeouts) run one at a time. */
  private serial: Promise<unknown> = Promise.resolve();
  private lastResult: UpdateResult | undefined;
  private resolveFirst: ((r: UpdateResult) => void) | undefined;
  /** CDS/LDS: answered (ACK or NACK) or past their initial fetch timeout — Envoy's init targets. */
  private readonly initDone = new Set<ResourceType>();
  private closed = false;
  private readonly counters = Object.fromEntries(
    RESOURCE_TYPES.map((t) => [t, { updateAttempt: 0, updateSuccess: 0, updateRejected: 0, updateFailure: 0, initFetchTimeout: 0, versionText: "" }]),
  ) as Record<ResourceType, XdsTypeStats>;

  constructor(private readonly options: XdsSourceOptions) {
    this.timers = options.timers ?? unrefTimers;
  }

  stats(): Record<ResourceType, XdsTypeStats> {
    return Object.fromEntries(RESOURCE_TYPES.map((t) => [t, { ...this.counters[t] }])) as Record<ResourceType, XdsTypeStats>;
  }

  /** One response: counted, then applied; its errors are the NACK. */
  private async respond(origin: string, r: ParsedResponse): Promise<string[]> {
    const type = resourceTypeOfUrl(r.typeUrl);
    if (type !== undefined) this.counters[type].updateAttempt++;
    this.options.log.debug(`${origin}: ${r.typeUrl} version ${JSON.stringify(r.versionInfo)} nonce ${r.nonce}: ${r.resources.length} resource(s)${r.removed.length > 0 ? `, ${r.removed.length} removed` : ""}`);
    const errors = await this.apply(origin, r);
    if (type === "cluster" || type === "listener") this.initDone.add(type);
    await this.maybeInitialized(origin);
    if (type !== undefined && !this.closed) {
      if (errors.length > 0) this.counters[type].updateRejected++;
      else {
        this.counters[type].updateSuccess++;
        this.counters[type].versionText = r.versionInfo;
      }
    }
    return errors;
  }

  private streamEnded(urls: string[]): void {
    for (const u of urls) {
      const t = resourceTypeOfUrl(u);
      if (t !== undefined) this.counters[t].updateFailure++;
    }
  }

  start(sink: ConfigSink): Promise<UpdateResult> {
    if (this.sink !== undefined) return Promise.reject(new Error("the xDS client is already started"));
    try {
      this.node = nodeToMessage(this.options.node);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    this.sink = sink;
    const first = new Promise<UpdateResult>((resolve) => (this.resolveFirst = resolve));
    const { Ads } = discoveryServices();
    this.ads = new DiscoveryStream({
      label: "ADS",
      target: this.options.ads.target,
      service: Ads,
      method: this.options.mode === "delta" ? "DeltaAggregatedResources" : "StreamAggregatedResources",
      mode: this.options.mode,
      node: this.node,
      nodeOnFirstMessageOnly: this.options.setNodeOnFirstMessageOnly,
      backoff: this.options.backoff ?? ENVOY_XDS_BACKOFF,
      handler: { onResponse: (r) => this.enqueue(() => this.respond("xds:ads", r)), versionsOf: (url) => this.versionsOf(url, "ads"), onEnded: (u) => this.streamEnded(u) },
      log: this.options.log,
      timers: this.timers,
      random: this.options.random ?? Math.random,
    });
    // Insertion order is the (re)request order: CDS, LDS early, then EDS, RDS, SDS once named.
    for (const t of ["cluster", "listener"] as const) this.ads.subscribe(TYPE_URLS[t], "*");
    for (const t of DEP_TYPES) this.ads.subscribe(TYPE_URLS[t], []);
    // grpc-js does not throw on a bad target: calls fail, and the stream retries with back-off (one warning).
    this.ads.start();
    // CDS/LDS initial fetch timeout: start() stops waiting for a silent control plane.
    for (const [t, ms] of [["cluster", this.options.initialFetchTimeoutMs.cds], ["listener", this.options.initialFetchTimeoutMs.lds]] as const) {
      if (ms <= 0) continue;
      const timer = this.timers.set(() => {
        void this.enqueue(async () => {
          if (this.initDone.has(t)) return [];
          this.initDone.add(t);
          this.counters[t].initFetchTimeout++;
          this.options.log.warn(`${t === "cluster" ? "CDS" : "LDS"} initial fetch timeout (${ms} ms) passed with no response; going on without it`);
          await this.maybeInitialized("xds:ads");
          return [];
        });
      }, ms);
      this.startTimers.push(timer);
    }
    return first;
  }

  refresh(_reason: string): Promise<UpdateResult> {
    return Promise.resolve(this.lastResult ?? { accepted: true, errors: [], version: null });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ads?.close();
    this.sds?.close();
    for (const t of this.fetchTimers.values()) this.timers.clear(t);
    this.fetchTimers.clear();
    for (const t of this.startTimers) this.timers.clear(t);
    this.startTimers = [];
    this.resolveFirst?.({ accepted: false, errors: [{ file: "xds", line: 0, path: "", message: "the xDS client was closed before its first update", severity: "error" }], version: null });
    this.resolveFirst = undefined;
  }

  warming(): { clusters: string[]; listeners: string[] } {
    return warmingNames(this.held, this.released);
  }

  notes(): Array<{ type: ResourceType; name: string; note: DecodeNote }> {
    const out: Array<{ type: ResourceType; name: string; note: DecodeNote }> = [];
    for (const type of RESOURCE_TYPES) for (const [name, e] of this.held[type] as Map<string, Entry>) for (const note of e.notes) out.push({ type, name, note });
    return out;
  }

  private enqueue(fn: () => Promise<string[]>): Promise<string[]> {
    const run = this.serial.then(() => (this.closed ? [] : fn()));
    this.serial = run.catch(() => undefined);
    return run;
  }

  private versionsOf(typeUrl: string, stream: "ads" | "sds"): Record<string, string> {
    const type = resourceTypeOfUrl(typeUrl);
    if (type === undefined) return {};
    const out: Record<string, string> = {};
    for (const [n, e] of this.held[type] as Map<string, Entry>) if (type !== "secret" || this.servedBySds(n) === (stream === "sds")) out[n] = e.version;
    return out;
  }

  private servedBySds(name: string): boolean {
    return this.options.sds !== undefined && (this.options.sdsSecretName ?? defaultSdsSecretName)(name);
  }

  /** One response: decode, apply what is valid, push what is ready; the errors NACK it. */
  private async apply(origin: string, r: ParsedResponse): Promise<string[]> {
    const type = resourceTypeOfUrl(r.typeUrl);
    if (type === undefined) return [`unsupported resource type ${r.typeUrl}`];
    const errors: string[] = [];
    // Pass 1: bytes → JSON and the name of each resource.
    const parsed: Array<{ name: string | undefined; where: string; json?: Json; version?: string }> = [];
    for (const [i, res] of r.resources.entries()) {
      const where = res.name !== undefined && res.name !== "" ? `${type} ${JSON.stringify(res.name)}` : `resources[${i}]`;
      if (res.any === undefined) continue; // a delta Resource without a body changes nothing
      if (res.any.type_url !== r.typeUrl) {
        errors.push(`${where}: a ${res.any.type_url} in a ${r.typeUrl} response`);
        parsed.push({ name: res.name, where });
        continue;
      }
      try {
        const json = this.options.codec.anyToJson(res.any.type_url, res.any.value);
        const own = type === "endpoint" ? json.cluster_name : json.name;
        const name = res.name !== undefined && res.name !== "" ? res.name : typeof own === "string" ? own : undefined;
        parsed.push({ name, where: name !== undefined ? `${type} ${JSON.stringify(name)}` : where, json, version: res.version });
      } catch (e) {
        errors.push(`${where}: ${(e as Error).message}`);
        parsed.push({ name: res.name, where });
      }
    }
    // A response naming one resource twice is refused whole (Envoy: "duplicate … found").
    const seen = new Set<string>();
    const dups = new Set<string>();
    for (const p of parsed) if (p.name !== undefined) (seen.has(p.name) ? dups : seen).add(p.name);
    if (dups.size > 0) return [...errors, ...[...dups].map((n) => `duplicate ${type} resource name ${JSON.stringify(n)} in one response`)];

    // Pass 2: decode; valid ones go into a copy of what is held.
    const prior = this.held[type] as Map<string, Entry>;
    const held = cloneHeld(this.held);
    const map = held[type] as Map<string, Entry>;
    const named = new Set<string>();
    const fresh: Array<{ name: string; entry: Entry }> = [];
    for (const p of parsed) {
      if (p.name !== undefined) named.add(p.name);
      if (p.json === undefined) continue;
      if (p.name === undefined) {
        errors.push(`${p.where}: the resource has no name`);
        continue;
      }
      const d = this.options.codec.decode(type, p.json);
      if (!d.ok) {
        for (const e of d.errors) errors.push(`${p.where}: ${e}`);
        continue;
      }
      const own = resourceName(type, d.value);
      if (own !== p.name) {
        errors.push(`${p.where}: the resource is named ${JSON.stringify(own)}`);
        continue;
      }
      const version = r.kind === "delta" ? p.version || r.versionInfo : r.versionInfo;
      const deps = type === "cluster" ? clusterDependencies(d.value as Cluster, p.json) : type === "listener" ? listenerDependencies(d.value as Listener) : noDependencies();
      fresh.push({ name: p.name, entry: { value: d.value, json: p.json, version, deps, notes: d.notes } });
    }
    // State of the world: LDS/CDS list everything, so a name left out is gone (a bad one keeps its last good version).
    // (Unless some resource could not even be named: it may be one held, so nothing is removed then.)
    const unnamed = parsed.some((p) => p.name === undefined);
    if (r.kind === "sotw" && (type === "cluster" || type === "listener") && !unnamed) for (const n of [...map.keys()]) if (!named.has(n)) map.delete(n);
    for (const n of r.removed) map.delete(n);
    for (const f of fresh) map.set(f.name, f.entry);

    const released = this.pruneDependents(held);
    const result = await this.push(origin, held, released, false, type, r.versionInfo);
    if (result !== undefined && !result.accepted) return [...errors, ...result.errors.map(formatConfigError)];
    for (const f of fresh) this.logNotes(type, f.name, f.entry, prior.get(f.name));
    return errors;
  }

  /**
   * Envoy's initialisation: CDS and LDS answered (or timed out) and no cluster or listener still
   * warming (EDS, RDS, secrets, each bounded by its initial fetch timeout). Only then does start()
   * resolve — with the last update's result (refused ones included, as Envoy's init completes on a
   * rejected update too), or an empty update's when nothing was pushed yet.
   */
  private async maybeInitialized(origin: string): Promise<void> {
    if (this.resolveFirst === undefined || this.closed) return;
    if (!this.initDone.has("cluster") || !this.initDone.has("listener")) return;
    const w = warmingNames(this.held, this.released);
    if (w.clusters.length > 0 || w.listeners.length > 0) return;
    const result = this.lastResult ?? (await this.push(origin, this.held, this.released, true));
    if (result === undefined || this.closed) return;
    this.options.log.info("xDS initialisation done (CDS and LDS received, nothing warming)");
    this.resolveFirst?.(result);
    this.resolveFirst = undefined;
  }

  /** Drops held EDS/RDS/secrets nothing refers to any more, and timeouts of names no longer wanted. */
  private pruneDependents(held: Held): Released {
    const wanted = this.wanted(held);
    const released: Released = { endpoint: new Set(), routeConfiguration: new Set(), secret: new Set() };
    for (const t of DEP_TYPES) {
      for (const n of [...held[t].keys()]) if (!wanted[t].has(n)) held[t].delete(n);
      for (const n of this.released[t]) if (wanted[t].has(n)) released[t].add(n);
    }
    return released;
  }

  private wanted(held: Held): Record<DepType, Set<string>> {
    const w: Record<DepType, Set<string>> = { endpoint: new Set(), routeConfiguration: new Set(), secret: new Set() };
    for (const m of [held.cluster, held.listener] as Array<Map<string, Entry>>) {
      for (const e of m.values()) {
        for (const n of e.deps.endpoints) w.endpoint.add(n);
        for (const n of e.deps.routes) w.routeConfiguration.add(n);
        for (const n of e.deps.secrets) w.secret.add(n);
      }
    }
    return w;
  }

  /**
   * Pushes what changed in the active set into the sink; on acceptance commits `held`/`released`
   * and follows the subscriptions. Undefined = nothing to push (still committed).
   */
  private async push(origin: string, held: Held, released: Released, force: boolean, respType?: ResourceType, respVersion?: string): Promise<UpdateResult | undefined> {
    const next = nextActive(held, this.active, released);
    const typeVersion = new Map(this.typeVersion);
    if (respType !== undefined && respVersion !== undefined) typeVersion.set(respType, respVersion);
    const updates: ResourceUpdate[] = [];
    for (const type of RESOURCE_TYPES) {
      const before = this.active[type] as Map<string, Entry>;
      const after = next[type] as Map<string, Entry>;
      const upserted: Record<string, unknown> = {};
      const resourceVersions: Record<string, string> = {};
      for (const [n, e] of after) {
        if (before.get(n) === e) continue;
        upserted[n] = e.value;
        resourceVersions[n] = e.version;
      }
      const removed = [...before.keys()].filter((n) => !after.has(n));
      if (Object.keys(upserted).length === 0 && removed.length === 0) continue;
      const version = typeVersion.get(type) ?? "";
      if (this.options.mode === "sotw" && (type === "cluster" || type === "listener")) {
        updates.push({ type, version, kind: "state-of-the-world", resources: Object.fromEntries([...after].map(([n, e]) => [n, e.value])) } as ResourceUpdate);
      } else {
        updates.push({ type, version, kind: "delta", upserted, removed, resourceVersions } as ResourceUpdate);
      }
    }
    let result: UpdateResult | undefined;
    // The first response is always pushed, so start() learns the control plane answered.
    if (updates.length > 0 || force) {
      const update: ConfigUpdate = { origin, updates };
      result = await this.sink!.push(update);
      if (this.closed) return result;
      this.lastResult = result;
      if (!result.accepted) {
        this.options.log.warn(`xDS update refused: ${result.errors.map(formatConfigError).join("; ")}`);
        return result;
      }
    }
    this.held = held;
    this.released = released;
    this.active = next;
    this.typeVersion = typeVersion;
    this.follow();
    return result;
  }

  /** Subscriptions and initial fetch timers follow what is held. */
  private follow(): void {
    const wanted = this.wanted(this.held);
    for (const t of DEP_TYPES) {
      const names = [...wanted[t]].sort();
      if (t === "secret") {
        const bySds = names.filter((n) => this.servedBySds(n));
        this.ads?.subscribe(TYPE_URLS.secret, names.filter((n) => !this.servedBySds(n)));
        if (bySds.length > 0) this.sdsStream().subscribe(TYPE_URLS.secret, bySds);
        else this.sds?.subscribe(TYPE_URLS.secret, []);
      } else this.ads?.subscribe(TYPE_URLS[t], names);
      for (const n of names) {
        const key = `${t}\u0000${n}`;
        const waiting = !this.held[t].has(n) && !this.released[t].has(n);
        const timer = this.fetchTimers.get(key);
        if (!waiting && timer !== undefined) {
          this.timers.clear(timer);
          this.fetchTimers.delete(key);
        }
        const ms = this.options.initialFetchTimeoutMs[TIMEOUT_KEY[t]];
        if (waiting && timer === undefined && ms > 0) {
          this.fetchTimers.set(key, this.timers.set(() => void this.enqueue(() => this.timedOut(t, n, ms)), ms));
        }
      }
      for (const [key, timer] of [...this.fetchTimers]) {
        const [kt, kn] = key.split("\u0000") as [string, string];
        if (kt === t && !wanted[t].has(kn)) {
          this.timers.clear(timer);
          this.fetchTimers.delete(key);
        }
      }
    }
  }

  /** A dependency's initial fetch timeout passed: what waits for it goes active without it. */
  private async timedOut(t: DepType, name: string, ms: number): Promise<string[]> {
    this.fetchTimers.delete(`${t}\u0000${name}`);
    if (this.held[t].has(name) || !this.wanted(this.held)[t].has(name)) return [];
    this.counters[t].initFetchTimeout++;
    this.options.log.warn(`initial fetch timeout (${ms} ms) for ${t} ${JSON.stringify(name)}: what waits for it goes active without it`);
    const released: Released = { endpoint: new Set(this.released.endpoint), routeConfiguration: new Set(this.released.routeConfiguration), secret: new Set(this.released.secret) };
    released[t].add(name);
    const origin = t === "secret" && this.servedBySds(name) ? "xds:sds" : "xds:ads";
    await this.push(origin, cloneHeld(this.held), released, false);
    await this.maybeInitialized(origin);
    return [];
  }

  private sdsStream(): DiscoveryStream {
    if (this.sds !== undefined) return this.sds;
    const sds = this.options.sds!;
    this.sds = new DiscoveryStream({
      label: "SDS",
      target: sds.target,
      service: discoveryServices().Sds,
      method: "StreamSecrets",
      mode: "sotw",
      node: this.node,
      // pilot-agent's SDS server needs node.id on the first request of each stream; later ones may omit it.
      nodeOnFirstMessageOnly: true,
      backoff: this.options.backoff ?? ENVOY_XDS_BACKOFF,
      handler: { onResponse: (r) => this.enqueue(() => this.respond("xds:sds", r)), versionsOf: (url) => this.versionsOf(url, "sds"), onEnded: (u) => this.streamEnded(u) },
      log: this.options.log,
      timers: this.timers,
      random: this.options.random ?? Math.random,
    });
    this.sds.start();
    return this.sds;
  }

  /** Once per resource version: a SotW response re-sending an unchanged resource under a new version_info is not a new version of it. */
  private logNotes(type: ResourceType, name: string, e: Entry, before: Entry | undefined): void {
    if (e.notes.length === 0 || (before !== undefined && JSON.stringify(before.json) === JSON.stringify(e.json))) return;
    for (const n of e.notes) this.options.log.info(`${type} ${JSON.stringify(name)} version ${e.version}: ${n.path}: ${n.message}`);
  }
}
