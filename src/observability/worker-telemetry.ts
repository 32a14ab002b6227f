// The worker's telemetry hub: compiles each chain's telemetry config with the factories it was
// given (access logs, Istio stats, tracing) and dispatches every finished StreamInfo to them.
// Nothing here may throw into the data path or block it.

import type { Logger } from "../common/logger.js";
import type { AccessLogConfig, IstioStatsConfig, TracingConfig } from "../config/model/types.js";
import type { StreamInfo } from "./stream-info.js";
import {
  NO_TELEMETRY,
  type AccessLogger,
  type CompiledTelemetry,
  type HttpTracer,
  type StreamStatsRecorder,
  type TelemetryChainConfig,
  type WorkerTelemetry,
} from "./telemetry.js";

/** How each kind of telemetry is built; a missing factory means that kind is not available. */
export interface TelemetryFactories {
  accessLogs?(configs: readonly AccessLogConfig[], chain: TelemetryChainConfig): AccessLogger[];
  stats?(config: IstioStatsConfig, chain: TelemetryChainConfig): StreamStatsRecorder;
  tracer?(config: TracingConfig, chain: TelemetryChainConfig): HttpTracer;
  /**
   * A snapshot was applied: every chain it uses has been compiled since the previous call, so
   * resources only older snapshots used (e.g. a tracing exporter per endpoint) can be released.
   */
  snapshotApplied?(): void;
  /** The worker stops: flush and release what the factories hold (bounded in time). */
  close?(): Promise<void>;
}

export class DefaultWorkerTelemetry implements WorkerTelemetry {
  /** Failures of telemetry sinks (a bug, never the request's fault): logged once per kind. */
  private warned = false;

  constructor(
    private readonly factories: TelemetryFactories,
    private readonly log: Logger,
    /** An extra sink (tests record every StreamInfo). */
    private readonly extraSink?: (info: StreamInfo) => void,
  ) {}

  compile(chain: TelemetryChainConfig): CompiledTelemetry {
    const f = this.factories;
    const wantsLogs = chain.accessLog !== undefined && chain.accessLog.length > 0;
    if (!wantsLogs && chain.istioStats === undefined && chain.tracing === undefined) return NO_TELEMETRY;
    if (wantsLogs && f.accessLogs === undefined) throw new Error("access logs are not available in this worker");
    if (chain.istioStats !== undefined && f.stats === undefined) throw new Error("istio.stats is not available in this worker");
    if (chain.tracing !== undefined && f.tracer === undefined) throw new Error("tracing is not available in this worker");
    return {
      accessLogs: wantsLogs ? f.accessLogs!(chain.accessLog!, chain) : [],
      stats: chain.istioStats === undefined ? undefined : f.stats!(chain.istioStats, chain),
      tracer: chain.tracing === undefined ? undefined : f.tracer!(chain.tracing, chain),
    };
  }

  snapshotApplied(): void {
    this.factories.snapshotApplied?.();
  }

  close(): Promise<void> {
    return this.factories.close?.() ?? Promise.resolve();
  }

  onStream(info: StreamInfo): void {
    try {
      const t = info.telemetry;
      if (t !== undefined) {
        t.stats?.record(info);
        const logs = t.accessLogs;
        for (let i = 0; i < logs.length; i++) logs[i]!.log(info);
      }
      info.span?.finish(info);
      this.extraSink?.(info);
    } catch (e) {
      if (!this.warned) {
        this.warned = true;
        this.log.error(`telemetry failed for a stream (further failures are not logged): ${(e as Error).stack ?? String(e)}`);
      }
    }
  }
}
