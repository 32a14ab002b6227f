// The `stats` telemetry factory: Istio's standard metrics on a worker's prom-client registry. The
// metric families and the per-worker caches are created once per worker; each chain's istio.stats
// config compiles into its own recorder (reporter, overrides) when a snapshot is applied.

import type { Registry } from "prom-client";
import { realTimers, type Timers } from "../../common/timers.js";
import type { IstioStatsConfig } from "../../config/model/types.js";
import type { NodeIdentity } from "../node-identity.js";
import type { StreamStatsRecorder, TelemetryChainConfig } from "../telemetry.js";
import { DEFAULT_ISTIO_SERIES_CAP, IstioMetrics } from "./istio-metrics.js";
import { IstioStatsRecorder, IstioStatsWorkerContext } from "./istio-stats-recorder.js";

export interface IstioStatsFactoryEnv {
  registry: Registry;
  node: NodeIdentity;
  /** Timers of the TCP reporting interval (default: real timers; tests drive them by hand). */
  timers?: Timers;
  /** Series per metric per worker (default DEFAULT_ISTIO_SERIES_CAP). */
  seriesCap?: number;
}

export type IstioStatsFactory = ((config: IstioStatsConfig, chain: TelemetryChainConfig) => StreamStatsRecorder) & {
  /** The worker's metric families (tests read series counts). */
  readonly metrics: IstioMetrics;
};

export function istioStatsFactory(env: IstioStatsFactoryEnv): IstioStatsFactory {
  const metrics = new IstioMetrics(env.registry, env.seriesCap ?? DEFAULT_ISTIO_SERIES_CAP);
  const ctx = new IstioStatsWorkerContext(metrics, env.node, env.timers ?? realTimers);
  const f = (config: IstioStatsConfig, chain: TelemetryChainConfig): StreamStatsRecorder => new IstioStatsRecorder(config, chain, ctx);
  return Object.assign(f, { metrics });
}
