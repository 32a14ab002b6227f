// Istio's standard metrics on one worker's registry, declared in one table with Istio's names,
// types and help (istio/proxy istio_stats.cc; istio.io "Istio Standard Metrics"), plus Outrigger's
// own counter of samples dropped at the series cap. One instance per worker registry.

import { Counter, type Registry } from "prom-client";
import { CounterFamily, HistogramFamily } from "./metric-families.js";

/** 10 000 series per metric per worker: far above a sidecar's real fan-out, well below a memory problem. */
export const DEFAULT_ISTIO_SERIES_CAP = 10_000;

/** Outrigger's own (not Istio's): samples not recorded because their metric reached its series cap. */
export const DROPPED_SERIES_METRIC = "outrigger_istio_series_dropped_total";

/** The short names Istio's stats config (and Telemetry overrides) use → Prometheus names. */
export const ISTIO_METRIC_NAMES = {
  requests_total: "istio_requests_total",
  request_duration_milliseconds: "istio_request_duration_milliseconds",
  request_bytes: "istio_request_bytes",
  response_bytes: "istio_response_bytes",
  tcp_connections_opened_total: "istio_tcp_connections_opened_total",
  tcp_connections_closed_total: "istio_tcp_connections_closed_total",
  tcp_sent_bytes_total: "istio_tcp_sent_bytes_total",
  tcp_received_bytes_total: "istio_tcp_received_bytes_total",
} as const;

export type IstioMetricKey = keyof typeof ISTIO_METRIC_NAMES;

/** gRPC message counters Istio defines; Outrigger does not count gRPC messages, overrides of them are accepted and have no effect. */
export const UNRECORDED_ISTIO_METRICS: ReadonlySet<string> = new Set(["request_messages_total", "response_messages_total"]);

export class IstioMetrics {
  readonly requestsTotal: CounterFamily;
  readonly requestDuration: HistogramFamily;
  readonly requestBytes: HistogramFamily;
  readonly responseBytes: HistogramFamily;
  readonly tcpOpened: CounterFamily;
  readonly tcpClosed: CounterFamily;
  readonly tcpSentBytes: CounterFamily;
  readonly tcpReceivedBytes: CounterFamily;
  private readonly droppedSeries: Counter<"metric">;

  constructor(registry: Registry, cap = DEFAULT_ISTIO_SERIES_CAP) {
    const c = (key: IstioMetricKey, help: string): CounterFamily => new CounterFamily(registry, ISTIO_METRIC_NAMES[key], help, cap);
    const h = (key: IstioMetricKey, help: string): HistogramFamily => new HistogramFamily(registry, ISTIO_METRIC_NAMES[key], help, cap);
    this.requestsTotal = c("requests_total", "Requests handled by the proxy (Istio standard metric).");
    this.requestDuration = h("request_duration_milliseconds", "Request duration in milliseconds (Istio standard metric).");
    this.requestBytes = h("request_bytes", "Request size in bytes: headers and body (Istio standard metric).");
    this.responseBytes = h("response_bytes", "Response size in bytes: headers and body (Istio standard metric).");
    this.tcpOpened = c("tcp_connections_opened_total", "TCP connections opened (Istio standard metric).");
    this.tcpClosed = c("tcp_connections_closed_total", "TCP connections closed (Istio standard metric).");
    this.tcpSentBytes = c("tcp_sent_bytes_total", "Bytes sent to the downstream on TCP connections (Istio standard metric).");
    this.tcpReceivedBytes = c("tcp_received_bytes_total", "Bytes received from the downstream on TCP connections (Istio standard metric).");
    this.droppedSeries = new Counter({
      name: DROPPED_SERIES_METRIC,
      help: `Outrigger's own: Istio metric samples not recorded because the metric reached its cap of ${cap} series in this worker.`,
      labelNames: ["metric"],
      registers: [registry],
    });
  }

  family(key: IstioMetricKey): CounterFamily | HistogramFamily {
    switch (key) {
      case "requests_total":
        return this.requestsTotal;
      case "request_duration_milliseconds":
        return this.requestDuration;
      case "request_bytes":
        return this.requestBytes;
      case "response_bytes":
        return this.responseBytes;
      case "tcp_connections_opened_total":
        return this.tcpOpened;
      case "tcp_connections_closed_total":
        return this.tcpClosed;
      case "tcp_sent_bytes_total":
        return this.tcpSentBytes;
      case "tcp_received_bytes_total":
        return this.tcpReceivedBytes;
    }
  }

  /** One sample of `metricName` not recorded: its series would pass the cap. */
  dropped(metricName: string): void {
    this.droppedSeries.inc({ metric: metricName });
  }
}
