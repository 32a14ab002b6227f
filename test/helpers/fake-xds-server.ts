// A fake control plane for tests: a grpc-js server on a Unix socket (in a temp dir) serving
// Envoy's ADS (StreamAggregatedResources = state of the world, DeltaAggregatedResources = delta)
// and SDS (SecretDiscoveryService.StreamSecrets, state of the world), answering like istiod, and
// recording every request.
//
// API
//   const s = await FakeXdsServer.start();        s.target = "unix:/tmp/…/xds.sock", s.socketPath
//   Resources (proto JSON with `@type` inside Anys; the resource's own type comes from `type`):
//     s.set(type, [json…])        replace the ADS set of a type (names left out are removed), push
//     s.upsert(type, json…)       add/change some, push only those (named types) / the whole set (CDS/LDS SotW)
//     s.remove(type, name…)       remove some, push (SotW LDS/CDS: the new set; delta: removed_resources)
//     s.setSecrets([json…]) / s.upsertSecret(json…)   the SDS server's secrets; an upsert pushes only
//                                 those secrets (pilot-agent's partial pushes)
//   Raw responses (bad or duplicate resources): s.respond(type, {resources, version?, removed?, service?})
//     resources: proto JSON, or {type_url, value} Anys with arbitrary bytes; sent to every stream
//     of that service that asked for the type (delta: a raw Any's Resource is named `raw-<index>`).
//   Requests: s.requests (every one, in arrival order), each a RecordedRequest: service, mode,
//     stream (1, 2, … per call), typeUrl/type, versionInfo, nonce, resourceNames (SotW),
//     subscribe/unsubscribe/initialResourceVersions (delta), errorDetail, node (JSON, when sent),
//     kind: initial | ack | nack | subscription.
//     await s.nextRequest(type, pred?)   the next request of that type (a cursor per type)
//     await s.waitFor(pred)              the first request ever matching pred
//     s.acks(type) / s.nacks(type)       the ACKs / NACKs so far
//   s.mute(type)  stop answering that type's requests (recorded still), for initial fetch timeouts
//   Streams: s.dropStreams()  ends every open call with UNAVAILABLE; s.openStreams; await s.waitForStreams(n)
//   s.close()   stops the server and removes the temp dir.
// Encoding uses the production proto JSON mapping (src/config/envoy/proto-json.ts: jsonToAny / anyToJson).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import type { Json } from "../../src/config/envoy/decoded.js";
import { anyToJson, jsonToAny } from "../../src/config/envoy/proto-json.js";
import { resourceTypeOfUrl, TYPE_URLS } from "../../src/config/envoy/type-urls.js";
import type { ResourceType } from "../../src/config/source/config-source.js";
import { discoveryServices } from "../../src/xds/discovery-protos.js";
import { nodeFromMessage } from "../../src/xds/struct-json.js";

export interface AnyBytes {
  type_url: string;
  value: Uint8Array;
}

export interface RecordedRequest {
  service: "ads" | "sds";
  mode: "sotw" | "delta";
  /** Which call (1, 2, … in opening order). */
  stream: number;
  typeUrl: string;
  type: ResourceType | undefined;
  versionInfo: string;
  nonce: string;
  resourceNames: string[];
  subscribe: string[];
  unsubscribe: string[];
  initialResourceVersions: Record<string, string>;
  errorDetail?: { code: number; message: string };
  node?: Json;
  kind: "initial" | "ack" | "nack" | "subscription";
}

/** Proto JSON (with nested `@type` Anys) of a resource type → Any bytes, through the real proto JSON mapping. */
export function encodeResource(type: ResourceType, json: Json): AnyBytes {
  const { "@type": _drop, ...fields } = json;
  const any = jsonToAny({ "@type": TYPE_URLS[type], ...fields });
  return { type_url: any.type_url, value: any.value };
}

/** Any bytes → proto JSON (`@type` in nested Anys), what the production ResourceCodec's anyToJson gives. */
export function decodeResourceBytes(typeUrl: string, value: Uint8Array): Json {
  return anyToJson(typeUrl, value);
}

function nameOf(type: ResourceType, json: Json): string {
  const n = type === "endpoint" ? json.cluster_name : json.name;
  if (typeof n !== "string") throw new Error(`fake xDS server: a ${type} without a name`);
  return n;
}

interface Stored {
  json: Json;
  version: string;
}

interface StreamState {
  id: number;
  service: "ads" | "sds";
  mode: "sotw" | "delta";
  call: grpc.ServerDuplexStream<Record<string, unknown>, Record<string, unknown>>;
  /** Per type URL: what the client asked for, and (delta) the versions it has. */
  subs: Map<string, { wildcard: boolean; names: Set<string>; has: Map<string, string>; lastNames: string[] }>;
}

type Waiter = { pred: (r: RecordedRequest) => boolean; from: number; resolve: (r: RecordedRequest) => void };

export class FakeXdsServer {
  readonly requests: RecordedRequest[] = [];
  private readonly store = new Map<string, Map<string, Stored>>();
  private readonly secrets = new Map<string, Stored>();
  private readonly streams = new Set<StreamState>();
  private streamSeq = 0;
  private versionSeq = 0;
  private nonceSeq = 0;
  private waiters: Waiter[] = [];
  private readonly cursors = new Map<string, number>();
  private streamWaiters: Array<{ n: number; resolve: () => void }> = [];
  private readonly muted = new Set<ResourceType>();

  private constructor(
    private readonly server: grpc.Server,
    private readonly dir: string,
    readonly socketPath: string,
  ) {}

  get target(): string {
    return `unix:${this.socketPath}`;
  }

  get openStreams(): number {
    return this.streams.size;
  }

  static async start(): Promise<FakeXdsServer> {
    const dir = mkdtempSync(join(tmpdir(), "fake-xds-"));
    const socketPath = join(dir, "xds.sock");
    const server = new grpc.Server();
    const fake = new FakeXdsServer(server, dir, socketPath);
    const { Ads, Sds } = discoveryServices();
    server.addService(Ads.service, {
      StreamAggregatedResources: (call: StreamState["call"]) => fake.open("ads", "sotw", call),
      DeltaAggregatedResources: (call: StreamState["call"]) => fake.open("ads", "delta", call),
    });
    const unimplemented = (_c: unknown, cb?: (e: grpc.ServiceError) => void): void => {
      const e = Object.assign(new Error("unimplemented"), { code: grpc.status.UNIMPLEMENTED, details: "unimplemented", metadata: new grpc.Metadata() });
      if (typeof cb === "function") cb(e);
      else (_c as { emit(ev: string, e: unknown): void }).emit("error", e);
    };
    server.addService(Sds.service, {
      StreamSecrets: (call: StreamState["call"]) => fake.open("sds", "sotw", call),
      DeltaSecrets: unimplemented,
      FetchSecrets: unimplemented,
    });
    await new Promise<void>((resolve, reject) => server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
    return fake;
  }

  // ---- resources ----------------------------------------------------------------------------

  private typeStore(type: ResourceType): Map<string, Stored> {
    let m = this.store.get(type);
    if (m === undefined) this.store.set(type, (m = new Map()));
    return m;
  }

  set(type: ResourceType, resources: Json[]): void {
    const m = this.typeStore(type);
    const version = String(++this.versionSeq);
    const removed = [...m.keys()].filter((n) => !resources.some((r) => nameOf(type, r) === n));
    for (const n of removed) m.delete(n);
    for (const r of resources) m.set(nameOf(type, r), { json: r, version });
    this.pushAds(type, resources.map((r) => nameOf(type, r)), removed);
  }

  upsert(type: ResourceType, ...resources: Json[]): void {
    const m = this.typeStore(type);
    const version = String(++this.versionSeq);
    for (const r of resources) m.set(nameOf(type, r), { json: r, version });
    this.pushAds(type, resources.map((r) => nameOf(type, r)), []);
  }

  remove(type: ResourceType, ...names: string[]): void {
    const m = this.typeStore(type);
    ++this.versionSeq;
    for (const n of names) m.delete(n);
    this.pushAds(type, [], names);
  }

  setSecrets(resources: Json[]): void {
    this.secrets.clear();
    this.upsertSecret(...resources);
  }

  /** Changes some SDS secrets and pushes only those (a rotation of `default` leaves ROOTCA out). */
  upsertSecret(...resources: Json[]): void {
    const version = `2026-11-30T00:00:00Z/${++this.versionSeq}`;
    for (const r of resources) this.secrets.set(nameOf("secret", r), { json: r, version });
    const names = resources.map((r) => nameOf("secret", r));
    for (const s of this.streams) {
      if (s.service !== "sds") continue;
      const sub = s.subs.get(TYPE_URLS.secret);
      if (sub === undefined) continue;
      const send = names.filter((n) => sub.names.has(n));
      if (send.length > 0) this.sendSotw(s, TYPE_URLS.secret, send.map((n) => this.secrets.get(n)!.json), version);
    }
  }

  /** Sends a response as given (bad bytes, duplicate names) to every stream of `service` that asked for the type. */
  respond(type: ResourceType, body: { resources: Array<Json | AnyBytes>; version?: string; removed?: string[]; service?: "ads" | "sds" }): void {
    const url = TYPE_URLS[type];
    const version = body.version ?? String(++this.versionSeq);
    for (const s of this.streams) {
      if (s.service !== (body.service ?? "ads") || !s.subs.has(url)) continue;
      const anys = body.resources.map((r) => (isAny(r) ? r : encodeResource(type, r)));
      if (s.mode === "sotw") this.write(s, { version_info: version, type_url: url, resources: anys, nonce: this.nonce() });
      else {
        const resources = body.resources.map((r, i) => ({ name: isAny(r) ? `raw-${i}` : nameOf(type, r), version, resource: anys[i] }));
        this.write(s, { system_version_info: version, type_url: url, resources, removed_resources: body.removed ?? [], nonce: this.nonce() });
      }
    }
  }

  private pushAds(type: ResourceType, changed: string[], removed: string[]): void {
    const url = TYPE_URLS[type];
    const m = this.typeStore(type);
    for (const s of this.streams) {
      if (s.service !== "ads") continue;
      const sub = s.subs.get(url);
      if (sub === undefined) continue;
      if (s.mode === "sotw") {
        if (sub.wildcard) this.sendSotw(s, url, [...m.values()].map((e) => e.json), String(this.versionSeq));
        else {
          const send = changed.filter((n) => sub.names.has(n) && m.has(n));
          if (send.length > 0) this.sendSotw(s, url, send.map((n) => m.get(n)!.json), String(this.versionSeq));
        }
      } else {
        const want = (n: string): boolean => sub.wildcard || sub.names.has(n);
        const up = changed.filter((n) => want(n) && m.has(n));
        const gone = removed.filter((n) => sub.has.has(n));
        if (up.length > 0 || gone.length > 0) this.sendDelta(s, type, up, gone);
      }
    }
  }

  private sendSotw(s: StreamState, url: string, resources: Json[], version: string): void {
    const type = resourceTypeOfUrl(url)!;
    this.write(s, { version_info: version, type_url: url, resources: resources.map((r) => encodeResource(type, r)), nonce: this.nonce() });
  }

  private sendDelta(s: StreamState, type: ResourceType, names: string[], removed: string[]): void {
    const url = TYPE_URLS[type];
    const m = this.typeStore(type);
    const sub = s.subs.get(url)!;
    const resources = names.map((n) => {
      const e = m.get(n)!;
      sub.has.set(n, e.version);
      return { name: n, version: e.version, resource: encodeResource(type, e.json) };
    });
    for (const n of removed) sub.has.delete(n);
    this.write(s, { system_version_info: String(this.versionSeq), type_url: url, resources, removed_resources: removed, nonce: this.nonce() });
  }

  private nonce(): string {
    return `n${++this.nonceSeq}`;
  }

  private write(s: StreamState, msg: Record<string, unknown>): void {
    s.call.write(msg);
  }

  // ---- streams ------------------------------------------------------------------------------

  private open(service: "ads" | "sds", mode: "sotw" | "delta", call: StreamState["call"]): void {
    const s: StreamState = { id: ++this.streamSeq, service, mode, call, subs: new Map() };
    this.streams.add(s);
    this.streamWaiters = this.streamWaiters.filter((w) => (this.streams.size >= w.n ? (w.resolve(), false) : true));
    const gone = (): void => void this.streams.delete(s);
    call.on("data", (m: Record<string, unknown>) => this.onRequest(s, m));
    call.on("end", () => {
      gone();
      call.end();
    });
    call.on("error", gone);
    call.on("cancelled", gone);
  }

  private onRequest(s: StreamState, m: Record<string, unknown>): void {
    const url = String(m.type_url ?? "");
    const type = resourceTypeOfUrl(url);
    const nonce = String(m.response_nonce ?? "");
    const err = m.error_detail as { code?: number; message?: string } | undefined;
    const names = (m.resource_names as string[] | undefined) ?? [];
    const subscribe = (m.resource_names_subscribe as string[] | undefined) ?? [];
    const unsubscribe = (m.resource_names_unsubscribe as string[] | undefined) ?? [];
    const initial = (m.initial_resource_versions as Record<string, string> | undefined) ?? {};
    let sub = s.subs.get(url);
    const first = sub === undefined;
    let kind: RecordedRequest["kind"];
    if (err !== undefined && (err.code !== undefined || err.message !== undefined)) kind = "nack";
    else if (s.mode === "delta") kind = nonce !== "" ? "ack" : first ? "initial" : "subscription";
    else if (nonce === "") kind = "initial";
    else kind = sub !== undefined && sameSet(sub.lastNames, names) ? "ack" : "subscription";
    const rec: RecordedRequest = {
      service: s.service,
      mode: s.mode,
      stream: s.id,
      typeUrl: url,
      type,
      versionInfo: String(m.version_info ?? ""),
      nonce,
      resourceNames: names,
      subscribe,
      unsubscribe,
      initialResourceVersions: initial,
      kind,
      ...(kind === "nack" ? { errorDetail: { code: err?.code ?? 0, message: err?.message ?? "" } } : {}),
      ...(m.node !== undefined && m.node !== null ? { node: nodeFromMessage(m.node as Record<string, unknown>) } : {}),
    };
    this.record(rec);
    if (type === undefined || this.muted.has(type)) return;
    const wildcardType = type === "cluster" || type === "listener";
    if (sub === undefined) {
      sub = { wildcard: false, names: new Set(), has: new Map(), lastNames: [] };
      s.subs.set(url, sub);
    }
    if (s.mode === "sotw") {
      sub.wildcard = wildcardType && names.length === 0;
      const added = names.filter((n) => !sub.names.has(n));
      sub.names = new Set(names);
      sub.lastNames = names;
      if (kind === "nack" || (kind === "ack" && added.length === 0)) return;
      if (kind === "subscription" && added.length === 0) return;
      // istiod: respond to a new request (no nonce) or to added names.
      const store = s.service === "sds" ? this.secrets : this.typeStore(type);
      const send = sub.wildcard ? [...store.values()] : names.filter((n) => store.has(n)).map((n) => store.get(n)!);
      if (!sub.wildcard && send.length === 0) return;
      this.sendSotw(s, url, send.map((e) => e.json), s.service === "sds" ? (send[0]?.version ?? "") : String(this.versionSeq));
      return;
    }
    if (kind === "ack" || kind === "nack") return;
    if (first) {
      sub.wildcard = subscribe.length === 0 || subscribe.includes("*");
      for (const [n, v] of Object.entries(initial)) sub.has.set(n, v);
    }
    for (const n of subscribe) if (n !== "*") sub.names.add(n);
    for (const n of unsubscribe) {
      sub.names.delete(n);
      sub.has.delete(n);
    }
    const m2 = this.typeStore(type);
    const want = [...(sub.wildcard ? m2.keys() : sub.names)].filter((n) => m2.has(n) && sub.has.get(n) !== m2.get(n)!.version);
    const gone = first ? Object.keys(initial).filter((n) => !m2.has(n)) : [];
    if (want.length > 0 || gone.length > 0 || (first && sub.wildcard)) this.sendDelta(s, type, want, gone);
  }

  /** Stops answering requests of a type (a control plane slow to answer); pushes still go out. */
  mute(type: ResourceType): void {
    this.muted.add(type);
  }

  // ---- waiting -----------------------------------------------------------------------------

  private record(r: RecordedRequest): void {
    this.requests.push(r);
    const i = this.requests.length - 1;
    this.waiters = this.waiters.filter((w) => {
      if (i < w.from || !w.pred(r)) return true;
      w.resolve(r);
      return false;
    });
  }

  /** The first request (from index `from`) matching `pred`, now or when it arrives. */
  waitFor(pred: (r: RecordedRequest) => boolean, from = 0): Promise<RecordedRequest> {
    for (let i = from; i < this.requests.length; i++) if (pred(this.requests[i]!)) return Promise.resolve(this.requests[i]!);
    return new Promise((resolve) => this.waiters.push({ pred, from, resolve }));
  }

  /** The next request of a type after the one this returned last for that type. */
  async nextRequest(type: ResourceType, pred: (r: RecordedRequest) => boolean = () => true): Promise<RecordedRequest> {
    const from = this.cursors.get(type) ?? 0;
    const r = await this.waitFor((x) => x.type === type && pred(x), from);
    this.cursors.set(type, this.requests.indexOf(r) + 1);
    return r;
  }

  acks(type: ResourceType): RecordedRequest[] {
    return this.requests.filter((r) => r.type === type && r.kind === "ack");
  }

  nacks(type: ResourceType): RecordedRequest[] {
    return this.requests.filter((r) => r.type === type && r.kind === "nack");
  }

  waitForStreams(n: number): Promise<void> {
    if (this.streams.size >= n) return Promise.resolve();
    return new Promise((resolve) => this.streamWaiters.push({ n, resolve }));
  }

  /** Ends every open call with UNAVAILABLE (a control plane restart). */
  dropStreams(): void {
    for (const s of [...this.streams]) {
      this.streams.delete(s);
      s.call.emit("error", { code: grpc.status.UNAVAILABLE, details: "dropped by the test", metadata: new grpc.Metadata() });
    }
  }

  async close(): Promise<void> {
    for (const s of this.streams) s.call.end();
    this.streams.clear();
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    this.server.forceShutdown();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function isAny(r: Json | AnyBytes): r is AnyBytes {
  return typeof (r as AnyBytes).type_url === "string" && (r as AnyBytes).value instanceof Uint8Array;
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
