// istio.stats for one chain: records Istio's standard metrics from each finished StreamInfo (HTTP)
// and for each TCP-proxied connection (opened, bytes every reporting interval and at close,
// closed), with the labels istio_stats.cc computes. The hot path builds a short key from what
// varies per request (cluster, peer, status, flags, override values) and finds the bound series
// in a bounded map; the 25 label values are only built for a key never seen before.

import type { IstioStatsConfig } from "../../config/model/types.js";
import type { TimerHandle, Timers } from "../../common/timers.js";
import { STATUS_TEXT } from "../../http/status-text.js";
import type { NodeIdentity } from "../node-identity.js";
import { formatResponseFlags, type StreamInfo } from "../stream-info.js";
import type { StreamStatsRecorder, TelemetryChainConfig } from "../telemetry.js";
import type { WorkloadMetadata } from "../workload-metadata.js";
import type { DownstreamTlsInfo, PeerCertificateInfo } from "../../listener/connection-info.js";
import { grpcStatusLabel, isGrpcContentType, localLabels, peerLabels, serviceFromCluster, UNKNOWN, type ServiceLabels, type WorkloadLabels } from "./istio-labels.js";
import type { IstioMetrics } from "./istio-metrics.js";
import { observe, type CounterFamily, type CounterSeries, type HistogramFamily, type HistogramSeries, type Labels } from "./metric-families.js";
import { compileOverrides, type ChainPlan, type MetricPlan } from "./metric-overrides.js";

/** 5 000 ms: istio.stats' default tcp_reporting_duration (Telemetry `reportingInterval`). */
export const DEFAULT_TCP_REPORTING_MS = 5_000;

/** 50 000 request keys per chain: past it the key map starts over (series themselves are capped per metric). */
const MAX_BOUND_KEYS = 50_000;

/** What every chain's recorder of one worker shares. */
export class IstioStatsWorkerContext {
  readonly local: WorkloadLabels;
  private readonly peers = new WeakMap<WorkloadMetadata, { id: number; labels: WorkloadLabels }>();
  private nextPeerId = 1;
  private readonly services = new Map<string, ServiceLabels | null>();
  /**
   * mTLS label pairs per peer certificate (the downstream TLS factory shares one
   * PeerCertificateInfo among the connections presenting a certificate), with a small id per
   * distinct (source, destination) pair for request keys: nothing is built per request.
   */
  private readonly mtlsByPeer = new WeakMap<PeerCertificateInfo, MutualTls & { by: readonly string[] }>();
  private readonly mtlsIds = new Map<string, number>();

  constructor(
    readonly metrics: IstioMetrics,
    readonly node: NodeIdentity,
    readonly timers: Timers,
  ) {
    this.local = localLabels(node);
  }

  /**
   * Istio's stats plugin on the server side: a TLS connection whose client presented a certificate
   * is `mutual_tls`, with source_principal = the peer's URI SAN and destination_principal = ours
   * (`spiffe://cluster.local/ns/NS/sa/SA`). Plaintext or TLS without a client certificate: none.
   */
  mutualTls(tls: DownstreamTlsInfo | undefined): MutualTls | undefined {
    const peer = tls?.peerCertificate;
    if (peer === undefined) return undefined;
    const by = tls!.localUriSans;
    let e = this.mtlsByPeer.get(peer);
    if (e === undefined || e.by !== by) {
      const source = peer.uriSans[0] ?? UNKNOWN;
      const destination = by[0] ?? UNKNOWN;
      const pair = `${source}\x02${destination}`;
      let id = this.mtlsIds.get(pair);
      if (id === undefined) this.mtlsIds.set(pair, (id = this.mtlsIds.size + 1));
      this.mtlsByPeer.set(peer, (e = { by, source, destination, key: `\x01m${id}` }));
    }
    return e;
  }

  /** A peer's labels and a small id for request keys, computed once per exchanged metadata object. */
  peer(p: WorkloadMetadata): { id: number; labels: WorkloadLabels } {
    let e = this.peers.get(p);
    if (e === undefined) this.peers.set(p, (e = { id: this.nextPeerId++, labels: peerLabels(p) }));
    return e;
  }

  service(cluster: string): ServiceLabels | null {
    let s = this.services.get(cluster);
    if (s === undefined) {
      s = serviceFromCluster(cluster) ?? null;
      if (this.services.size > 10_000) this.services.clear();
      this.services.set(cluster, s);
    }
    return s;
  }
}

/** Series of one request key (null: the metric is at its series cap; undefined: dropped by an override). */
interface HttpBound {
  requests: CounterSeries | null | undefined;
  duration: HistogramSeries | null | undefined;
  requestBytes: HistogramSeries | null | undefined;
  responseBytes: HistogramSeries | null | undefined;
}

interface TcpBound {
  opened: CounterSeries | null | undefined;
  closed: CounterSeries | null | undefined;
  sent: CounterSeries | null | undefined;
  received: CounterSeries | null | undefined;
}

interface OpenConnection {
  readonly bound: TcpBound;
  sent: number;
  received: number;
}

export class IstioStatsRecorder implements StreamStatsRecorder {
  private readonly server: boolean;
  /** istiod disables the Host header fallback on sidecar inbound listeners (telemetry.go disableHostHeaderFallback). */
  private readonly hostFallback: boolean;
  private readonly plan: ChainPlan;
  private readonly bound = new Map<string, HttpBound | TcpBound>();
  private readonly open = new Map<StreamInfo, OpenConnection>();
  private timer: TimerHandle | undefined;
  private readonly reportMs: number;

  constructor(
    config: IstioStatsConfig,
    chain: TelemetryChainConfig,
    private readonly ctx: IstioStatsWorkerContext,
  ) {
    this.server = config.reporter === "destination";
    this.hostFallback = !this.server;
    this.plan = compileOverrides(config.metrics, ctx.node);
    this.reportMs = config.tcpReportingDurationMs ?? DEFAULT_TCP_REPORTING_MS;
    if (!(this.reportMs >= 0)) throw new Error(`istio.stats: tcpReportingDurationMs must be >= 0 (got ${this.reportMs})`);
    void chain;
  }

  record(info: StreamInfo): void {
    if (info.kind === "tcp") this.connectionClosed(info);
    else this.recordHttp(info);
  }

  // ---- HTTP ----

  private recordHttp(info: StreamInfo): void {
    const grpc = isGrpcContentType(info.requestHeaders?.get("content-type"));
    const grpcStatus = grpc ? grpcStatusLabel(info.responseTrailers?.get("grpc-status"), info.responseHeaders?.get("grpc-status"), info.responseCode) : "";
    const flags = formatResponseFlags(info.responseFlags);
    const peer = info.peer === undefined ? undefined : this.ctx.peer(info.peer);
    const exprValues = this.evaluate(info);
    const mtls = this.server ? this.ctx.mutualTls(info.downstreamTls) : undefined;
    let key = `${this.serviceKey(info)}\x01${peer?.id ?? 0}\x01${info.responseCode}\x01${grpc ? "g" : "h"}${grpcStatus}\x01${flags}`;
    if (mtls !== undefined) key += mtls.key;
    if (exprValues !== undefined) key += `\x01${exprValues.join("\x01")}`;
    let b = this.bound.get(key) as HttpBound | undefined;
    if (b === undefined) {
      const tail = [grpc ? "grpc" : "http", String(info.responseCode), grpcStatus, flags, securityPolicy(this.server, mtls)];
      const std = this.standardValues(info, peer?.labels, tail, mtls);
      const m = this.ctx.metrics;
      const p = this.plan.metrics;
      const shared = new SharedLabels(std, exprValues);
      b = {
        requests: bind(m.requestsTotal, p.requests_total, shared),
        duration: bind(m.requestDuration, p.request_duration_milliseconds, shared),
        requestBytes: bind(m.requestBytes, p.request_bytes, shared),
        responseBytes: bind(m.responseBytes, p.response_bytes, shared),
      };
      this.remember(key, b);
    }
    const m = this.ctx.metrics;
    if (b.requests) b.requests.value++;
    else if (b.requests === null) m.dropped(m.requestsTotal.name);
    // Envoy records whole milliseconds (absl duration / 1ms).
    if (b.duration) observe(b.duration, Math.floor(info.durationMs));
    else if (b.duration === null) m.dropped(m.requestDuration.name);
    if (b.requestBytes) observe(b.requestBytes, requestSize(info));
    else if (b.requestBytes === null) m.dropped(m.requestBytes.name);
    if (b.responseBytes) observe(b.responseBytes, responseSize(info));
    else if (b.responseBytes === null) m.dropped(m.responseBytes.name);
  }

  /** What of the request decides destination_service*: special routes, the cluster, and the Host header when it is used. */
  private serviceKey(info: StreamInfo): string {
    const route = info.routeName;
    if (route === "block_all" || route === "allow_any") return this.hostFallback ? `r${route}\x02${info.authority}` : `r${route}`;
    const cluster = info.clusterName ?? "";
    const s = cluster === "" ? null : this.ctx.service(cluster);
    if (this.hostFallback && info.kind === "http" && (s === null || s.host === "")) return `c${cluster}\x02${info.authority}`;
    return `c${cluster}`;
  }

  private evaluate(info: StreamInfo): string[] | undefined {
    const exprs = this.plan.exprs;
    if (exprs.length === 0) return undefined;
    const out = new Array<string>(exprs.length);
    for (let i = 0; i < exprs.length; i++) {
      let v: string | undefined;
      try {
        v = exprs[i]!(info);
      } catch {
        v = undefined;
      }
      out[i] = v === undefined ? UNKNOWN : v;
    }
    return out;
  }

  /** The 20 peer/local values (Envoy's push order) followed by `tail`. */
  private standardValues(info: StreamInfo, peer: WorkloadLabels | undefined, tail: string[], mtls?: MutualTls): string[] {
    const local = this.ctx.local;
    let host = "";
    let name = "";
    let ns = "";
    if (this.hostFallback && info.kind === "http") host = name = info.authority;
    const route = info.routeName;
    if (route === "block_all") name = "BlackHoleCluster";
    else if (route === "allow_any") name = "PassthroughCluster";
    else if (info.clusterName !== undefined) {
      const s = this.ctx.service(info.clusterName);
      if (s !== null) {
        if (s.host === "") name = s.name;
        else {
          host = s.host;
          name = s.name;
          ns = s.namespace;
        }
      }
    }
    const or = (v: string | undefined, d: string): string => (v === undefined || v === "" ? d : v);
    const peerNs = peer?.namespace ?? "";
    if (this.server) {
      return [
        "destination",
        or(peer?.workload, UNKNOWN),
        or(peer?.canonicalService, UNKNOWN),
        or(peer?.canonicalRevision, "latest"),
        or(peerNs, UNKNOWN),
        mtls?.source ?? UNKNOWN, // source_principal: the peer's URI SAN (mTLS)
        or(peer?.app, UNKNOWN),
        or(peer?.version, UNKNOWN),
        or(peer?.cluster, UNKNOWN),
        local.workload,
        local.namespace,
        mtls?.destination ?? UNKNOWN, // destination_principal: our own URI SAN (mTLS)
        local.app,
        local.version,
        or(host, local.canonicalService),
        local.canonicalService,
        local.canonicalRevision,
        or(name, local.canonicalService),
        local.namespace,
        local.cluster,
        ...tail,
      ];
    }
    return [
      "source",
      local.workload,
      local.canonicalService,
      local.canonicalRevision,
      local.namespace,
      UNKNOWN, // source_principal: our own SAN (mTLS)
      local.app,
      local.version,
      local.cluster,
      or(peer?.workload, UNKNOWN),
      or(peerNs, UNKNOWN),
      UNKNOWN, // destination_principal: the upstream's SAN (mTLS)
      or(peer?.app, UNKNOWN),
      or(peer?.version, UNKNOWN),
      or(host, UNKNOWN),
      or(peer?.canonicalService, UNKNOWN),
      or(peer?.canonicalRevision, "latest"),
      or(name, UNKNOWN),
      or(ns, or(peerNs, UNKNOWN)),
      or(peer?.cluster, UNKNOWN),
      ...tail,
    ];
  }

  private remember(key: string, b: HttpBound | TcpBound): void {
    if (this.bound.size >= MAX_BOUND_KEYS) this.bound.clear();
    this.bound.set(key, b);
  }

  // ---- TCP ----

  connectionOpened(info: StreamInfo): void {
    if (this.open.has(info)) return;
    const conn: OpenConnection = { bound: this.tcpBound(info), sent: 0, received: 0 };
    this.open.set(info, conn);
    this.count(conn.bound.opened, this.ctx.metrics.tcpOpened, 1);
    if (this.timer === undefined && this.reportMs > 0) this.armTimer();
  }

  private connectionClosed(info: StreamInfo): void {
    let conn = this.open.get(info);
    if (conn === undefined) {
      // Never reached its upstream: Envoy still reports the connection (opened and closed) at close.
      conn = { bound: this.tcpBound(info), sent: 0, received: 0 };
      this.count(conn.bound.opened, this.ctx.metrics.tcpOpened, 1);
    } else this.open.delete(info);
    this.flush(info, conn);
    this.count(conn.bound.closed, this.ctx.metrics.tcpClosed, 1);
    if (this.open.size === 0 && this.timer !== undefined) {
      this.ctx.timers.clear(this.timer);
      this.timer = undefined;
    }
  }

  private tcpBound(info: StreamInfo): TcpBound {
    const flags = formatResponseFlags(info.responseFlags);
    const peer = info.peer === undefined ? undefined : this.ctx.peer(info.peer);
    const exprValues = this.evaluate(info);
    const mtls = this.server ? this.ctx.mutualTls(info.downstreamTls) : undefined;
    let key = `t${this.serviceKey(info)}\x01${peer?.id ?? 0}\x01${flags}`;
    if (mtls !== undefined) key += mtls.key;
    if (exprValues !== undefined) key += `\x01${exprValues.join("\x01")}`;
    let b = this.bound.get(key) as TcpBound | undefined;
    if (b === undefined) {
      const std = this.standardValues(info, peer?.labels, ["tcp", flags, securityPolicy(this.server, mtls)], mtls);
      const m = this.ctx.metrics;
      const p = this.plan.metrics;
      const shared = new SharedLabels(std, exprValues);
      b = {
        opened: bind(m.tcpOpened, p.tcp_connections_opened_total, shared),
        closed: bind(m.tcpClosed, p.tcp_connections_closed_total, shared),
        sent: bind(m.tcpSentBytes, p.tcp_sent_bytes_total, shared),
        received: bind(m.tcpReceivedBytes, p.tcp_received_bytes_total, shared),
      };
      this.remember(key, b);
    }
    return b;
  }

  /** Bytes since the last report (Envoy's downstream bytes meter: sent = to the client). */
  private flush(info: StreamInfo, conn: OpenConnection): void {
    const m = this.ctx.metrics;
    const sent = info.bytesSent - conn.sent;
    const received = info.bytesReceived - conn.received;
    conn.sent = info.bytesSent;
    conn.received = info.bytesReceived;
    if (sent > 0) this.count(conn.bound.sent, m.tcpSentBytes, sent);
    if (received > 0) this.count(conn.bound.received, m.tcpReceivedBytes, received);
  }

  private count(s: CounterSeries | null | undefined, family: CounterFamily, n: number): void {
    if (s) s.value += n;
    else if (s === null) this.ctx.metrics.dropped(family.name);
  }

  /** One timer per chain with open connections (not one per connection): every reporting interval, each open connection's new bytes. */
  private armTimer(): void {
    this.timer = this.ctx.timers.set(() => {
      this.timer = undefined;
      for (const [info, conn] of this.open) this.flush(info, conn);
      if (this.open.size > 0) this.armTimer();
    }, this.reportMs);
  }
}

/** One request's label values, turned into each metric's labels (and series key) at most once per plan. */
class SharedLabels {
  private standardLabels: Labels | undefined;
  private standardKey: string | undefined;

  constructor(
    private readonly std: readonly string[],
    private readonly exprs: readonly string[] | undefined,
  ) {}

  labelsFor(plan: MetricPlan): { key: string; labels: () => Labels } {
    if (plan.standard) {
      this.standardKey ??= this.std.join("\x00");
      return { key: this.standardKey, labels: () => (this.standardLabels ??= toLabels(plan, this.std, this.exprs)) };
    }
    const values = plan.sources.map((s) => (s >= 0 ? this.std[s]! : this.exprs![-1 - s]!));
    return { key: `${plan.signature}\x01${values.join("\x00")}`, labels: () => toLabels(plan, this.std, this.exprs) };
  }
}

function toLabels(plan: MetricPlan, std: readonly string[], exprs: readonly string[] | undefined): Labels {
  const out: Labels = {};
  for (let i = 0; i < plan.names.length; i++) {
    const s = plan.sources[i]!;
    out[plan.names[i]!] = s >= 0 ? std[s]! : exprs![-1 - s]!;
  }
  return out;
}

function bind<S>(family: { series(key: string, labels: () => Labels): S | undefined }, plan: MetricPlan | undefined, shared: SharedLabels): S | null | undefined {
  if (plan === undefined) return undefined;
  const { key, labels } = shared.labelsFor(plan);
  return family.series(key, labels) ?? null;
}

/** Request line + headers as forwarded + body: Envoy counts the downstream wire bytes of the request. */
function requestSize(info: StreamInfo): number {
  const h = info.requestHeaders;
  if (h === undefined) return info.bytesReceived;
  // `METHOD SP path SP HTTP/1.1 CRLF` + header lines + CRLF
  return info.method.length + info.path.length + 12 + h.encodedLength() + 2 + info.bytesReceived;
}

/** Status line + headers as sent + body (Envoy: the downstream wire bytes of the response). */
function responseSize(info: StreamInfo): number {
  const h = info.responseHeaders;
  if (h === undefined) return info.bytesSent;
  const reason = STATUS_TEXT[info.responseCode] ?? "Unknown";
  // `HTTP/1.1 SP NNN SP reason CRLF` + header lines + CRLF
  return 15 + reason.length + h.encodedLength() + 2 + info.bytesSent;
}

export type { HistogramFamily };

/** An inbound connection's mTLS facts for the labels: the peer's and our URI SANs (`unknown` when absent). */
interface MutualTls {
  source: string;
  destination: string;
  /** This pair's part of a request key. */
  key: string;
}

/** connection_security_policy: outbound is always `unknown` (Istio's client side does not know). */
function securityPolicy(server: boolean, mtls: MutualTls | undefined): string {
  if (!server) return UNKNOWN;
  return mtls !== undefined ? "mutual_tls" : "none";
}
