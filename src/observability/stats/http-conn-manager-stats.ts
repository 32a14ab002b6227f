// An HTTP connection manager's Envoy stats (`http.<stat_prefix>.downstream_rq_total`, …), one set
// per stat prefix (Istio: `outbound_0.0.0.0_8080`, `inbound_0.0.0.0_15006`). The store hands out one
// object per name, so chains sharing a prefix, and a chain rebuilt on reload, count on the same stats.
// Also the downstream HTTP/2 codec's `http2.*` stats (Envoy roots them at the listener's scope,
// without the connection manager's prefix).

import type { Counter, Gauge, Histogram, StatsStore } from "./stats-store.js";

export class HttpConnManagerStats {
  readonly cxTotal: Counter;
  readonly cxHttp1Total: Counter;
  readonly cxHttp2Total: Counter;
  readonly cxActive: Gauge;
  readonly cxHttp2Active: Gauge;
  readonly cxDestroy: Counter;
  readonly rqTotal: Counter;
  readonly rqHttp1Total: Counter;
  readonly rqHttp2Total: Counter;
  readonly rqActive: Gauge;
  readonly rqCompleted: Counter;
  /** Requests reset by the client (HTTP/2 RST_STREAM) / by the proxy. */
  readonly rqRxReset: Counter;
  readonly rqTxReset: Counter;
  readonly rqTime: Histogram;
  readonly http2: Http2CodecStats;
  /** `downstream_rq_1xx` … `downstream_rq_5xx`. */
  private readonly classes: Counter[];

  // Upgrades and stream durations (WebSocket, gRPC deadlines): Envoy's names.
  readonly cxUpgradesTotal: Counter;
  readonly cxUpgradesActive: Gauge;
  /** An upgrade request on a route (and connection manager) that does not allow it: 403. */
  readonly rqWsOnNonWsRoute: Counter;
  /** Streams ended by the route's max stream duration or gRPC deadline. */
  readonly rqMaxDurationReached: Counter;

  constructor(store: StatsStore, statPrefix: string) {
    const p = `http.${statPrefix}.`;
    const c = (n: string): Counter => store.counter(p + n);
    this.cxTotal = c("downstream_cx_total");
    this.cxHttp1Total = c("downstream_cx_http1_total");
    this.cxHttp2Total = c("downstream_cx_http2_total");
    this.cxActive = store.gauge(p + "downstream_cx_active");
    this.cxHttp2Active = store.gauge(p + "downstream_cx_http2_active");
    this.cxDestroy = c("downstream_cx_destroy");
    this.rqTotal = c("downstream_rq_total");
    this.rqHttp1Total = c("downstream_rq_http1_total");
    this.rqHttp2Total = c("downstream_rq_http2_total");
    this.rqActive = store.gauge(p + "downstream_rq_active");
    this.rqCompleted = c("downstream_rq_completed");
    this.rqRxReset = c("downstream_rq_rx_reset");
    this.rqTxReset = c("downstream_rq_tx_reset");
    this.rqTime = store.histogram(p + "downstream_rq_time");
    this.classes = [1, 2, 3, 4, 5].map((d) => c(`downstream_rq_${d}xx`));
    this.http2 = new Http2CodecStats(store);
    this.cxUpgradesTotal = c("downstream_cx_upgrades_total");
    this.cxUpgradesActive = store.gauge(p + "downstream_cx_upgrades_active");
    this.rqWsOnNonWsRoute = c("downstream_rq_ws_on_non_ws_route");
    this.rqMaxDurationReached = c("downstream_rq_max_duration_reached");
  }

  /** An allowed upgrade request started (Envoy counts it when the upgrade filter chain is made). */
  upgradeStarted(): void {
    this.cxUpgradesTotal.inc();
    this.cxUpgradesActive.add(1);
  }

  upgradeEnded(): void {
    this.cxUpgradesActive.add(-1);
  }

  /** A request's headers arrived (`http2`: on an HTTP/2 connection). */
  requestStarted(http2 = false): void {
    this.rqTotal.inc();
    if (http2) this.rqHttp2Total.inc();
    else this.rqHttp1Total.inc();
    this.rqActive.add(1);
  }

  /** The stream finished; `status` 0 when no response was sent (reset). */
  requestDone(status: number, durationMs: number): void {
    this.rqActive.add(-1);
    if (status >= 100 && status <= 599) {
      this.classes[((status / 100) | 0) - 1]!.inc();
      this.rqCompleted.inc();
    }
    this.rqTime.record(durationMs);
  }

  /** A connection's codec is known (`http2`: HTTP/2). */
  connectionOpened(http2 = false): void {
    this.cxTotal.inc();
    this.cxActive.add(1);
    if (http2) {
      this.cxHttp2Total.inc();
      this.cxHttp2Active.add(1);
    } else {
      this.cxHttp1Total.inc();
    }
  }

  connectionClosed(http2 = false): void {
    this.cxActive.add(-1);
    if (http2) this.cxHttp2Active.add(-1);
    this.cxDestroy.inc();
  }
}

/** Envoy's downstream `http2.*` codec stats, the ones Outrigger's HTTP/2 session keeps. */
export class Http2CodecStats {
  /** RST_STREAM frames received / sent. */
  readonly rxReset: Counter;
  readonly txReset: Counter;
  /** Request trailers received. */
  readonly trailers: Counter;
  readonly goawaySent: Counter;
  /** Header blocks over max_request_headers_kb / max_headers_count (the stream is reset). */
  readonly headerOverflow: Counter;
  readonly streamsActive: Gauge;

  constructor(store: StatsStore) {
    this.rxReset = store.counter("http2.rx_reset");
    this.txReset = store.counter("http2.tx_reset");
    this.trailers = store.counter("http2.trailers");
    this.goawaySent = store.counter("http2.goaway_sent");
    this.headerOverflow = store.counter("http2.header_overflow");
    this.streamsActive = store.gauge("http2.streams_active");
  }
}
