// One xDS gRPC stream (ADS, either protocol, or SDS's StreamSecrets) that outlives its calls: it
// keeps each type's subscription and last accepted version, ACKs or NACKs every response by its
// handler's answer, and when a call ends reconnects after a jittered exponential back-off,
// re-requesting every subscription (SotW: last accepted version_info, no nonce; delta:
// initial_resource_versions). Nothing the client holds is dropped on disconnect.

import * as grpc from "@grpc/grpc-js";
import type { Logger } from "../common/logger.js";
import type { TimerHandle, Timers } from "../common/timers.js";
import { Backoff, type BackoffOptions } from "./backoff.js";
import type { DeltaDiscoveryResponseMessage, DiscoveryResponseMessage } from "./discovery-protos.js";
import { deltaAck, deltaInitialRequest, deltaSubscriptionRequest, parseDeltaResponse } from "./delta-protocol.js";
import type { ParsedResponse } from "./parsed-response.js";
import { parseSotwResponse, sotwRequest } from "./sotw-protocol.js";

export interface StreamHandler {
  /** Applies a response; resolves with every error ([] = ACK). Called one response at a time. */
  onResponse(r: ParsedResponse): Promise<string[]>;
  /** Delta: the versions of what the client holds of a type (initial_resource_versions). */
  versionsOf(typeUrl: string): Record<string, string>;
  /** A call ended (Envoy counts update_failure for every type the stream carries). */
  onEnded?(typeUrls: string[]): void;
}

export interface DiscoveryStreamOptions {
  /** For logs: `ADS`, `SDS`. */
  label: string;
  target: string;
  service: grpc.ServiceClientConstructor;
  /** `StreamAggregatedResources`, `DeltaAggregatedResources`, `StreamSecrets`. */
  method: string;
  mode: "sotw" | "delta";
  /** The node message (Struct form), sent on a call's first request (or on every one). */
  node: Record<string, unknown>;
  nodeOnFirstMessageOnly: boolean;
  backoff: BackoffOptions;
  handler: StreamHandler;
  log: Logger;
  timers: Timers;
  random: () => number;
}

interface TypeState {
  wildcard: boolean;
  names: Set<string>;
  /** SotW: the version_info last ACKed (kept across calls). */
  accepted: string;
  /** Per call: the last nonce received, the names the server was last told, whether the type was requested. */
  nonce: string;
  sentNames: Set<string>;
  requested: boolean;
}

type Call = grpc.ClientDuplexStream<Record<string, unknown>, DiscoveryResponseMessage & DeltaDiscoveryResponseMessage>;

export class DiscoveryStream {
  private readonly types = new Map<string, TypeState>();
  private readonly backoff: Backoff;
  private client: grpc.Client | undefined;
  private call: Call | undefined;
  /** Bumped per call, so responses and ends of an old call are ignored. */
  private generation = 0;
  private nodeSent = false;
  private started = false;
  private closed = false;
  private failing = false;
  private reconnectTimer: TimerHandle | undefined;
  private queue: Promise<void> = Promise.resolve();
  private processing = false;

  constructor(private readonly opts: DiscoveryStreamOptions) {
    this.backoff = new Backoff(opts.backoff, opts.random);
  }

  /** Sets a type's subscription (`"*"` = wildcard); sends the change when the call is up. Order of first calls = request order. */
  subscribe(typeUrl: string, names: string[] | "*"): void {
    let t = this.types.get(typeUrl);
    if (t === undefined) {
      t = { wildcard: false, names: new Set(), accepted: "", nonce: "", sentNames: new Set(), requested: false };
      this.types.set(typeUrl, t);
    }
    t.wildcard = names === "*";
    t.names = new Set(names === "*" ? [] : names);
    if (!this.processing) this.flush();
  }

  /** The names subscribed for a type (empty for a wildcard or unknown type). */
  names(typeUrl: string): string[] {
    return [...(this.types.get(typeUrl)?.names ?? [])];
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.connect();
  }

  close(): void {
    this.closed = true;
    if (this.reconnectTimer !== undefined) this.opts.timers.clear(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.generation++;
    this.call?.cancel();
    this.call = undefined;
    this.client?.close();
    this.client = undefined;
  }

  private connect(): void {
    if (this.closed) return;
    // No 4 MB cap (grpc-js' default): a large mesh's CDS/EDS responses exceed it, and Envoy's
    // envoy_grpc client has no such limit.
    this.client ??= new this.opts.service(this.opts.target, grpc.credentials.createInsecure(), { "grpc.max_receive_message_length": -1 });
    const gen = ++this.generation;
    const method = (this.client as unknown as Record<string, () => Call>)[this.opts.method];
    if (method === undefined) throw new Error(`${this.opts.label}: the service has no method ${this.opts.method}`);
    const call = method.call(this.client);
    this.call = call;
    this.nodeSent = false;
    for (const t of this.types.values()) {
      t.nonce = "";
      t.sentNames = new Set();
      t.requested = false;
    }
    call.on("data", (m: DiscoveryResponseMessage & DeltaDiscoveryResponseMessage) => {
      if (gen !== this.generation) return;
      const parsed = this.opts.mode === "delta" ? parseDeltaResponse(m) : parseSotwResponse(m);
      this.queue = this.queue.then(() => this.handle(gen, parsed)).catch((e: unknown) => this.opts.log.error(`${this.opts.label}: ${(e as Error).message}`));
    });
    call.on("error", (e: grpc.ServiceError) => this.ended(gen, `${grpc.status[e.code] ?? e.code}: ${e.details || e.message}`));
    call.on("end", () => this.ended(gen, "the server closed the stream"));
    this.flush();
  }

  private ended(gen: number, why: string): void {
    if (gen !== this.generation || this.closed) return;
    this.generation++;
    this.call?.cancel();
    this.call = undefined;
    this.opts.handler.onEnded?.([...this.types].filter(([, t]) => t.requested).map(([url]) => url));
    const wait = this.backoff.next();
    // One line per failure streak: a control plane down for an hour does not flood the log.
    if (!this.failing) this.opts.log.warn(`${this.opts.label} stream to ${this.opts.target} ended (${why}); reconnecting with back-off, keeping the current config`);
    else this.opts.log.debug(`${this.opts.label} stream ended again (${why}); next attempt in ${wait} ms`);
    this.failing = true;
    this.reconnectTimer = this.opts.timers.set(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, wait);
  }

  private async handle(gen: number, r: ParsedResponse): Promise<void> {
    if (gen !== this.generation) return;
    this.backoff.reset();
    if (this.failing) this.opts.log.info(`${this.opts.label} stream to ${this.opts.target} is back`);
    this.failing = false;
    const t = this.types.get(r.typeUrl);
    this.processing = true;
    let errors: string[];
    try {
      errors = t === undefined ? [`no subscription for type ${r.typeUrl}`] : await this.opts.handler.onResponse(r);
    } catch (e) {
      errors = [(e as Error).message];
    } finally {
      this.processing = false;
    }
    if (gen !== this.generation || this.closed) return;
    if (t !== undefined) t.nonce = r.nonce;
    if (errors.length > 0) this.opts.log.warn(`${this.opts.label}: NACK ${r.typeUrl} nonce ${r.nonce}: ${errors.join("; ")}`);
    if (this.opts.mode === "delta") this.send(deltaAck(r.typeUrl, r.nonce, errors));
    else {
      if (t !== undefined && errors.length === 0) t.accepted = r.versionInfo;
      const names = t === undefined ? [] : [...t.names];
      if (t !== undefined) t.sentNames = new Set(names);
      this.send(sotwRequest(r.typeUrl, names, t?.accepted ?? "", r.nonce, errors));
    }
    // Subscriptions changed by this response (new EDS clusters, RDS names) go out after its ACK.
    this.flush();
  }

  /** Sends what the server does not know yet: first requests of types, then subscription changes. */
  private flush(): void {
    if (this.call === undefined || this.closed) return;
    for (const [url, t] of this.types) {
      const names = [...t.names];
      if (!t.requested) {
        // A named type with nothing to ask for is not requested at all (Envoy: no EDS without EDS clusters).
        if (!t.wildcard && names.length === 0) continue;
        t.requested = true;
        t.sentNames = new Set(names);
        if (this.opts.mode === "delta") this.send(deltaInitialRequest(url, names, this.opts.handler.versionsOf(url)));
        else this.send(sotwRequest(url, names, t.accepted, ""));
        continue;
      }
      if (t.wildcard) continue;
      const add = names.filter((n) => !t.sentNames.has(n));
      const drop = [...t.sentNames].filter((n) => !t.names.has(n));
      if (add.length === 0 && drop.length === 0) continue;
      t.sentNames = new Set(names);
      if (this.opts.mode === "delta") this.send(deltaSubscriptionRequest(url, add, drop));
      else this.send(sotwRequest(url, names, t.accepted, t.nonce));
    }
  }

  private send(req: object): void {
    if (this.call === undefined) return;
    const msg: Record<string, unknown> = { ...req };
    if (!this.nodeSent || !this.opts.nodeOnFirstMessageOnly) msg.node = this.opts.node;
    this.nodeSent = true;
    this.call.write(msg);
  }
}
