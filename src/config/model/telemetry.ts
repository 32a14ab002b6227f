// Telemetry in Envoy's model: what istiod writes into a connection manager (access_log, tracing)
// and into the `istio.stats` / `istio.metadata_exchange` filters, translated here from MeshConfig
// and the Telemetry API (src/config/istio/). Plain JSON data, like the rest of the model.

/** Envoy's access log: `envoy.access_loggers.file` (Istio's envoyFileAccessLog provider). */
export interface AccessLogConfig {
  name: "envoy.access_loggers.file";
  /** `/dev/stdout`, `/dev/stderr` or a file path (appended to). */
  path: string;
  /** TEXT: one format string with command operators; JSON: key → format string. */
  format: { kind: "text"; text: string } | { kind: "json"; json: Record<string, string> };
  /**
   * The Telemetry API's `accessLogging[].filter.expression` (a CEL expression over the request
   * and response); absent = every stream is logged.
   */
  filter?: { expression: string };
}

/** A custom tag of Envoy's tracing config (Telemetry `tracing.customTags`). */
export type TracingCustomTag =
  | { tag: string; literal: string }
  | { tag: string; requestHeader: { name: string; defaultValue?: string } }
  | { tag: string; environment: { name: string; defaultValue?: string } };

/** Envoy's HCM `tracing` with an OpenTelemetry provider (OTLP over HTTP). */
export interface TracingConfig {
  provider: {
    name: "envoy.tracers.opentelemetry";
    /** The service name spans carry (`service.name`); Istio uses the workload's canonical name. */
    serviceName: string;
    /** OTLP/HTTP endpoint, e.g. `http://otel-collector.observability:4318/v1/traces`. */
    endpoint: string;
    /** Extra HTTP headers on every export request. */
    headers: Record<string, string>;
    /** Export request timeout. */
    timeoutMs: number;
  };
  /** Percent of new traces sampled, 0..100 (Istio: 1 by default). */
  randomSamplingPercentage: number;
  customTags: TracingCustomTag[];
  /** Longest `http.url` tag (Envoy's max_path_tag_length, 256). */
  maxPathTagLength: number;
}

/** Istio's standard metrics (Telemetry `metrics.overrides`): one override per metric. */
export interface IstioStatsMetricOverride {
  /** `requests_total`, `request_duration_milliseconds`, …, or absent for every metric. */
  name?: string;
  /** Drop the metric altogether (Telemetry `disabled: true`). */
  drop?: boolean;
  /** Labels removed from the metric (Telemetry `tagOverrides.<tag>.operation: REMOVE`). */
  tagsToRemove?: string[];
  /** Labels added or replaced: label → value expression (Telemetry `tagOverrides.<tag>.value`). */
  dimensions?: Record<string, string>;
}

/** `istio.stats` (stats.PluginConfig): Istio's standard metrics for this chain. */
export interface IstioStatsConfig {
  /** `source` outbound, `destination` inbound (Istio sets it from the listener's direction). */
  reporter: "source" | "destination";
  metrics: IstioStatsMetricOverride[];
  /** TCP metrics are reported this often while a connection is open, and at close (stats.PluginConfig tcp_reporting_duration, Telemetry `reportingInterval`); absent = 5 000 ms. */
  tcpReportingDurationMs?: number;
}

/** `istio.metadata_exchange`: Istio's HTTP peer-metadata exchange. */
export interface PeerMetadataConfig {
  /** Headers are removed before the app / client sees them (always true in Istio sidecars). */
  removeHeaders: true;
}
