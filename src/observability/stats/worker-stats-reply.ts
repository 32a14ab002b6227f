// What a worker answers to the supervisor's stats request: its Envoy stats, its prom-client
// registry as JSON (Istio's standard metrics) and its heap, for server.memory_*.

import type { MetricObjectWithValues, MetricValue } from "prom-client";
import type { StatsSnapshot } from "./stats-store.js";

export type IstioMetricsJson = MetricObjectWithValues<MetricValue<string>>[];

export interface WorkerStatsReply {
  envoy: StatsSnapshot;
  istio: IstioMetricsJson;
  /** V8 heap of the worker's isolate (bytes): used and reserved. */
  heapUsed: number;
  heapTotal: number;
}
