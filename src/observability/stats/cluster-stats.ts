// A cluster's Envoy stats (`cluster.<name>.upstream_rq_total`, …), looked up once when the worker
// builds the cluster's runtime, so the data path only bumps fields. Names and the moment each one
// moves follow Envoy's cluster statistics (docs: configuration/upstream/cluster_manager/cluster_stats).
// Gauges that are the cluster's mesh-wide state (membership, ejections, circuit breakers open) are
// read from shared memory by the supervisor at scrape time, not kept here.

import type { UpstreamSslCounters } from "../../listener/transport-socket.js";
import type { Counter, Gauge, Histogram, StatsStore } from "./stats-store.js";

/** 100..599: HTTP status codes that get their own `upstream_rq_<code>` stat (bounded cardinality). */
const MIN_CODE = 100;
const MAX_CODE = 599;

/** Connection-level stats of a cluster, shared by its HTTP and TCP pools. */
export interface UpstreamCxStats {
  readonly cxTotal: Counter;
  readonly cxActive: Gauge;
  readonly cxConnectFail: Counter;
  readonly cxConnectTimeout: Counter;
  readonly cxOverflow: Counter;
  readonly cxDestroy: Counter;
  readonly cxDestroyLocal: Counter;
  readonly cxDestroyRemote: Counter;
  readonly cxRxBytesTotal: Counter;
  readonly cxTxBytesTotal: Counter;
  /** `ssl.*` of a cluster whose connections use TLS (made on first use: plaintext clusters have none). */
  readonly ssl?: UpstreamSslCounters;
}

/** Envoy's `cluster.<name>.ssl.*` (ssl_socket stats of the cluster's client context). */
export class ClusterSslStats implements UpstreamSslCounters {
  readonly handshake: Counter;
  readonly connectionError: Counter;
  readonly failVerifyError: Counter;
  readonly failVerifySan: Counter;
  readonly failVerifyNoCert: Counter;
  readonly sessionReused: Counter;
  /** `ssl.versions.TLSv1.3`, `ssl.ciphers.…`, `ssl.curves.X25519`: few distinct values, kept by name. */
  private readonly byName = new Map<string, Counter>();
  constructor(
    private readonly store: StatsStore,
    private readonly prefix: string,
  ) {
    const c = (n: string): Counter => store.counter(`${prefix}ssl.${n}`);
    this.handshake = c("handshake");
    this.connectionError = c("connection_error");
    this.failVerifyError = c("fail_verify_error");
    this.failVerifySan = c("fail_verify_san");
    this.failVerifyNoCert = c("fail_verify_no_cert");
    this.sessionReused = c("session_reused");
  }

  negotiated(version: string, cipher: string, curve: string | undefined): void {
    this.named("versions." + version).inc();
    this.named("ciphers." + cipher).inc();
    if (curve !== undefined) this.named("curves." + curve).inc();
  }

  private named(suffix: string): Counter {
    let c = this.byName.get(suffix);
    if (c === undefined) {
      c = this.store.counter(`${this.prefix}ssl.${suffix}`);
      this.byName.set(suffix, c);
    }
    return c;
  }
}

/**
 * What a cluster's HTTP/2 pool counts: Envoy's `upstream_cx_http2_total`, the connection ends it
 * causes (`upstream_cx_idle_timeout`, `upstream_cx_max_requests`, `upstream_cx_max_duration_reached`)
 * and the upstream codec's `http2.*` counters (the ones Outrigger's HTTP/2 session keeps).
 */
export class ClusterHttp2Stats {
  readonly cxHttp2Total: Counter;
  readonly cxIdleTimeout: Counter;
  readonly cxMaxRequests: Counter;
  readonly cxMaxDurationReached: Counter;
  /** Connections the upstream closed with GOAWAY (Envoy: close notifications). */
  readonly cxCloseNotify: Counter;
  /** RST_STREAM received / sent. */
  readonly rxReset: Counter;
  readonly txReset: Counter;
  /** Streams the upstream refused (RST_STREAM REFUSED_STREAM). */
  readonly streamRefusedErrors: Counter;
  /** Response trailers received. */
  readonly trailers: Counter;
  /** GOAWAY sent (our graceful closes); `goaway_received` is not an Envoy stat, kept apart. */
  readonly goawaySent: Counter;
  readonly streamsActive: Gauge;
  constructor(store: StatsStore, prefix: string) {
    this.cxHttp2Total = store.counter(prefix + "upstream_cx_http2_total");
    this.cxIdleTimeout = store.counter(prefix + "upstream_cx_idle_timeout");
    this.cxMaxRequests = store.counter(prefix + "upstream_cx_max_requests");
    this.cxMaxDurationReached = store.counter(prefix + "upstream_cx_max_duration_reached");
    this.cxCloseNotify = store.counter(prefix + "upstream_cx_close_notify");
    this.rxReset = store.counter(prefix + "http2.rx_reset");
    this.txReset = store.counter(prefix + "http2.tx_reset");
    this.streamRefusedErrors = store.counter(prefix + "http2.stream_refused_errors");
    this.trailers = store.counter(prefix + "http2.trailers");
    this.goawaySent = store.counter(prefix + "http2.goaway_sent");
    this.streamsActive = store.gauge(prefix + "http2.streams_active");
  }
}

export class ClusterStats implements UpstreamCxStats {
  readonly prefix: string;
  // Requests (Envoy's router and connection pool).
  readonly rqTotal: Counter;
  readonly rqCompleted: Counter;
  readonly rqActive: Gauge;
  readonly rqPendingActive: Gauge;
  readonly rqPendingTotal: Counter;
  readonly rqPendingOverflow: Counter;
  readonly rqTimeout: Counter;
  readonly rqPerTryTimeout: Counter;
  readonly rqRetry: Counter;
  readonly rqRetrySuccess: Counter;
  readonly rqRetryOverflow: Counter;
  readonly rqRetryLimitExceeded: Counter;
  readonly rqTime: Histogram;
  /** `upstream_cx_none_healthy`: no healthy host to connect to. */
  readonly cxNoneHealthy: Counter;
  // Connections.
  readonly cxTotal: Counter;
  readonly cxActive: Gauge;
  readonly cxConnectFail: Counter;
  readonly cxConnectTimeout: Counter;
  readonly cxOverflow: Counter;
  readonly cxDestroy: Counter;
  readonly cxDestroyLocal: Counter;
  readonly cxDestroyRemote: Counter;
  readonly cxRxBytesTotal: Counter;
  readonly cxTxBytesTotal: Counter;
  private sslStats: ClusterSslStats | undefined = undefined;
  private http2Stats: ClusterHttp2Stats | undefined = undefined;
  /** `upstream_rq_1xx` … `upstream_rq_5xx`, by the code's first digit. */
  private readonly classes: Counter[];
  /** `upstream_rq_<code>`, created on first use (Envoy creates them as codes are seen). */
  private readonly codes: (Counter | undefined)[] = [];
  /** `retry.upstream_rq_<code>` and `retry.upstream_rq_<N>xx`: responses that were retried. */
  private readonly retryCodes: (Counter | undefined)[] = [];

  constructor(
    private readonly store: StatsStore,
    clusterName: string,
  ) {
    const p = (this.prefix = `cluster.${clusterName}.`);
    const c = (n: string): Counter => store.counter(p + n);
    const g = (n: string): Gauge => store.gauge(p + n);
    this.rqTotal = c("upstream_rq_total");
    this.rqCompleted = c("upstream_rq_completed");
    this.rqActive = g("upstream_rq_active");
    this.rqPendingActive = g("upstream_rq_pending_active");
    this.rqPendingTotal = c("upstream_rq_pending_total");
    this.rqPendingOverflow = c("upstream_rq_pending_overflow");
    this.rqTimeout = c("upstream_rq_timeout");
    this.rqPerTryTimeout = c("upstream_rq_per_try_timeout");
    this.rqRetry = c("upstream_rq_retry");
    this.rqRetrySuccess = c("upstream_rq_retry_success");
    this.rqRetryOverflow = c("upstream_rq_retry_overflow");
    this.rqRetryLimitExceeded = c("upstream_rq_retry_limit_exceeded");
    this.rqTime = store.histogram(p + "upstream_rq_time");
    this.cxNoneHealthy = c("upstream_cx_none_healthy");
    this.cxTotal = c("upstream_cx_total");
    this.cxActive = g("upstream_cx_active");
    this.cxConnectFail = c("upstream_cx_connect_fail");
    this.cxConnectTimeout = c("upstream_cx_connect_timeout");
    this.cxOverflow = c("upstream_cx_overflow");
    this.cxDestroy = c("upstream_cx_destroy");
    this.cxDestroyLocal = c("upstream_cx_destroy_local");
    this.cxDestroyRemote = c("upstream_cx_destroy_remote");
    this.cxRxBytesTotal = c("upstream_cx_rx_bytes_total");
    this.cxTxBytesTotal = c("upstream_cx_tx_bytes_total");
    this.classes = [1, 2, 3, 4, 5].map((d) => c(`upstream_rq_${d}xx`));
  }

  /** `ssl.*`, made when a TLS connection first asks (a plaintext cluster shows none, as in Envoy). */
  get ssl(): ClusterSslStats {
    return (this.sslStats ??= new ClusterSslStats(this.store, this.prefix));
  }

  /** The HTTP/2 pool's stats, made when the cluster first opens an HTTP/2 connection. */
  get http2(): ClusterHttp2Stats {
    return (this.http2Stats ??= new ClusterHttp2Stats(this.store, this.prefix));
  }

  /**
   * Envoy's chargeUpstreamCode: an upstream response (or the local reply standing in for one after
   * a reset or timeout) counts under its code, its class and `upstream_rq_completed`.
   */
  chargeCode(status: number): void {
    if (status < MIN_CODE || status > MAX_CODE) return;
    let s = this.codes[status];
    if (s === undefined) this.codes[status] = s = this.store.counter(`${this.prefix}upstream_rq_${status}`);
    s.inc();
    this.classes[((status / 100) | 0) - 1]!.inc();
    this.rqCompleted.inc();
  }

  /** A response that the router retried (Envoy's chargeBasicResponseStat under `retry.`). */
  chargeRetryCode(status: number): void {
    if (status < MIN_CODE || status > MAX_CODE) return;
    const cls = 1000 + ((status / 100) | 0);
    let s = this.retryCodes[status];
    if (s === undefined) this.retryCodes[status] = s = this.store.counter(`${this.prefix}retry.upstream_rq_${status}`);
    let c = this.retryCodes[cls];
    if (c === undefined) this.retryCodes[cls] = c = this.store.counter(`${this.prefix}retry.upstream_rq_${(status / 100) | 0}xx`);
    s.inc();
    c.inc();
  }
}
