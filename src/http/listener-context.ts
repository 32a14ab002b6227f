// ListenerContext: what a downstream HTTP connection needs from its listener, filter chain and
// worker. The route table and HTTP filter factories are swapped in place on reload, so
// connections pick up new routes on their next request.

import type { XfccConfig } from "./xfcc.js";
import type { DownstreamLimits } from "../bootstrap/bootstrap.js";
import type { DataPathClock } from "../common/clock.js";
import type { Random } from "../common/random.js";
import type { TrafficDirection } from "../config/model/types.js";
import type { StreamInfoSink } from "../observability/stream-info.js";
import type { StatsStore } from "../observability/stats/stats-store.js";
import type { HttpConnManagerStats } from "../observability/stats/http-conn-manager-stats.js";
import type { CompiledTelemetry, WorkerTelemetry } from "../observability/telemetry.js";
import type { RouteTable } from "../router/route-table.js";
import type { ClusterManager } from "../upstream/cluster-manager.js";
import type { HttpFilterFactory } from "./filters/http-filter.js";
import type { UpgradePolicy } from "./upgrade-policy.js";

export interface WorkerServices {
  readonly clusters: ClusterManager;
  readonly random: Random;
  /** Time and timers of the data path: timeouts, back-off, fault delays, durations (injectable). */
  readonly clock: DataPathClock;
  readonly limits: DownstreamLimits;
  /** Compiles chains' telemetry; `onStream` hands it every finished record. */
  readonly telemetry: WorkerTelemetry;
  /** This worker's Envoy-style stats (cluster.*, listener.*, http.*, server.*). */
  readonly stats: StatsStore;
  readonly onStream: StreamInfoSink;
  /** Coarse monotonic time in ms, advanced by the worker's sweep timer (cheap to read). */
  coarseNow: number;
}

export interface ListenerContext {
  name: string;
  direction: TrafficDirection;
  /** Envoy's server header: `envoy` outbound, `istio-envoy` inbound (Istio's server_name). */
  serverName: string;
  /** The filter chain this connection manager belongs to. */
  filterChainName: string;
  statPrefix: string;
  /** `http.<statPrefix>.*` Envoy stats. */
  httpStats: HttpConnManagerStats;
  routeTable: RouteTable | undefined;
  /** HTTP filter factories in decode order, the router last. */
  httpFilters: HttpFilterFactory[];
  /** Access logs, Istio stats and the tracer of this connection manager. */
  telemetry: CompiledTelemetry;
  /**
   * Set while this listener drains (on SIGTERM only inbound ones, as Istio's
   * `drain_listeners?inboundonly&graceful`): every HTTP/1 response carries `connection: close` and
   * the connection closes after it; new connections are still accepted and answered that way.
   */
  draining: boolean;
  /** forward_client_cert_details / set_current_client_cert_details, compiled (xfcc.ts). */
  xfcc: XfccConfig;
  /** upgrade_configs, compiled (upgrade-policy.ts): the upgrades this connection manager lets through. */
  upgrades: UpgradePolicy;
  readonly services: WorkerServices;
}
