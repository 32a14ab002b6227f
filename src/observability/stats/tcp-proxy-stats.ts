// A TCP proxy's Envoy stats (`tcp.<stat_prefix>.downstream_cx_total`, …).

import type { Counter, Gauge, StatsStore } from "./stats-store.js";

export class TcpProxyStats {
  readonly cxTotal: Counter;
  readonly cxNoRoute: Counter;
  readonly cxRxBytesTotal: Counter;
  readonly cxTxBytesTotal: Counter;
  readonly idleTimeout: Counter;
  readonly upstreamFlushActive: Gauge;

  constructor(store: StatsStore, statPrefix: string) {
    const p = `tcp.${statPrefix}.`;
    this.cxTotal = store.counter(p + "downstream_cx_total");
    this.cxNoRoute = store.counter(p + "downstream_cx_no_route");
    this.cxRxBytesTotal = store.counter(p + "downstream_cx_rx_bytes_total");
    this.cxTxBytesTotal = store.counter(p + "downstream_cx_tx_bytes_total");
    this.idleTimeout = store.counter(p + "idle_timeout");
    this.upstreamFlushActive = store.gauge(p + "upstream_flush_active");
  }
}
