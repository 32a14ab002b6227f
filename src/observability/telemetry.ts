// The telemetry seam: what a connection manager (or a TCP proxy) compiles from its config once per
// snapshot, and what the worker does with each finished StreamInfo. Metrics, access logs and
// traces plug in here; the data path only calls `startSpan` when a request arrives and hands the
// finished record to the worker's sink.

import type { AccessLogConfig, IstioStatsConfig, TracingConfig, TrafficDirection } from "../config/model/types.js";
import type { HeaderList } from "../http/header-list.js";
import type { RequestHeaders } from "../http/http-message.js";
import type { StreamInfo } from "./stream-info.js";

/** Writes one line per finished stream (Envoy's AccessLog::Instance). Never blocks. */
export interface AccessLogger {
  log(info: StreamInfo): void;
}

/** Records Istio's standard metrics (and the Envoy stats that hang off a stream) for a finished stream. */
export interface StreamStatsRecorder {
  record(info: StreamInfo): void;
  /** A TCP-proxied connection reached its upstream (istio_tcp_connections_opened_total); StreamInfo is still open. */
  connectionOpened?(info: StreamInfo): void;
}

/**
 * A request's trace span (or, when unsampled, just the context to pass on). Created when the
 * request headers arrive, finished when the stream ends.
 */
export interface ActiveSpan {
  /** Writes the trace context into an upstream request's headers (each attempt, each mirror). */
  injectContext(headers: HeaderList): void;
  /** Ends the span with the finished record (attributes, status, end time). */
  finish(info: StreamInfo): void;
}

/** An HCM's tracer: decides sampling and starts a span (or a context-only pass-through). */
export interface HttpTracer {
  startSpan(req: RequestHeaders, direction: TrafficDirection, info: StreamInfo): ActiveSpan | undefined;
}

/** One connection manager's or TCP proxy's telemetry, compiled per snapshot. */
export interface CompiledTelemetry {
  readonly accessLogs: readonly AccessLogger[];
  readonly stats: StreamStatsRecorder | undefined;
  readonly tracer: HttpTracer | undefined;
}

export const NO_TELEMETRY: CompiledTelemetry = Object.freeze({ accessLogs: [], stats: undefined, tracer: undefined });

/** What a chain's telemetry is compiled from. */
export interface TelemetryChainConfig {
  direction: TrafficDirection;
  listenerName: string;
  statPrefix: string;
  accessLog?: readonly AccessLogConfig[];
  tracing?: TracingConfig;
  istioStats?: IstioStatsConfig;
  kind: "http" | "tcp";
}

/** The worker's telemetry: compiles chains' configs and takes every finished record. */
export interface WorkerTelemetry {
  /** Throws with a clear message when the config cannot be compiled (the snapshot is refused). */
  compile(config: TelemetryChainConfig): CompiledTelemetry;
  /** The worker's StreamInfo sink: stats, then access logs, then the span. Never throws. */
  onStream(info: StreamInfo): void;
  /** A snapshot was applied (after all of its chains compiled): release what it no longer uses. */
  snapshotApplied?(): void;
  /** The worker stops: flush exporters and release what telemetry holds. */
  close?(): Promise<void>;
}
