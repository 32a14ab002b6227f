// Which Telemetry resources apply to this proxy, and what they, the MeshConfig and the OTEL_*
// environment make of each listener's connection manager / tcp_proxy. Precedence is istiod's
// (Telemetries.applicableTelemetries): the root namespace's namespace-wide Telemetry, then the
// proxy namespace's, then every Telemetry of the proxy's namespace whose selector matches its
// labels; later levels override earlier ones. Among namespace-wide Telemetries of one namespace
// the oldest (creationTimestamp, then name) applies and the others are ignored.

import type { OtelEnv } from "../../bootstrap/otel-env.js";
import {
  HTTP_CONNECTION_MANAGER,
  HTTP_ROUTER_FILTER,
  ISTIO_METADATA_EXCHANGE_FILTER,
  ISTIO_STATS_FILTER,
  TCP_PROXY,
  type HttpFilterConfig,
  type Listener,
  type TrafficDirection,
} from "../model/types.js";
import type { AccessLogConfig, IstioStatsConfig, TracingConfig } from "../model/telemetry.js";
import type { NodeIdentity } from "../../observability/node-identity.js";
import type { ParsedMeshConfig } from "./mesh-config.js";
import { resolveAccessLogs } from "./telemetry-access-log.js";
import type { ParsedTelemetry, TelemetryAccessLogging, TelemetryMetrics, TelemetryTracing } from "./telemetry-api.js";
import { resolveIstioStats } from "./telemetry-metrics.js";
import { resolveTracing } from "./telemetry-tracing.js";
import { labelsMatch } from "./workload-selector.js";

export interface ApplicableTelemetry {
  /** The Telemetry resources that apply, in precedence order (root, namespace, workload…). */
  applied: ParsedTelemetry[];
  /** Namespace-wide Telemetries that lose to an older one in the same namespace. */
  shadowed: Array<{ telemetry: ParsedTelemetry; by: ParsedTelemetry }>;
  metrics: TelemetryMetrics[];
  /** One group per level that has accessLogging. */
  logging: TelemetryAccessLogging[][];
  tracing: TelemetryTracing[];
}

/** istiod sortConfigByCreationTime: oldest first, then name, then namespace. */
function byAge(a: ParsedTelemetry, b: ParsedTelemetry): number {
  const k = (t: ParsedTelemetry): string[] => [t.creationTimestamp, t.ref.name, t.ref.namespace];
  const [x, y] = [k(a), k(b)];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return 0;
}

function namespaceWide(t: ParsedTelemetry): boolean {
  return t.selector === undefined && !t.targeted;
}

export function applicableTelemetry(all: readonly ParsedTelemetry[], rootNamespace: string, namespace: string, labels: Record<string, string>): ApplicableTelemetry {
  const sorted = [...all].sort(byAge);
  const out: ApplicableTelemetry = { applied: [], shadowed: [], metrics: [], logging: [], tracing: [] };
  const add = (t: ParsedTelemetry): void => {
    out.applied.push(t);
    out.metrics.push(...t.metrics);
    if (t.accessLogging.length > 0) out.logging.push(t.accessLogging);
    out.tracing.push(...t.tracing);
  };
  const wide = (ns: string): ParsedTelemetry | undefined => {
    const list = sorted.filter((t) => t.ref.namespace === ns && namespaceWide(t));
    for (const t of list.slice(1)) out.shadowed.push({ telemetry: t, by: list[0]! });
    return list[0];
  };
  const root = wide(rootNamespace);
  if (root) add(root);
  if (namespace !== rootNamespace) {
    const nsWide = wide(namespace);
    if (nsWide) add(nsWide);
  }
  for (const t of sorted) {
    if (t.ref.namespace !== namespace || t.selector === undefined || t.targeted) continue;
    if (labelsMatch(t.selector, labels)) add(t);
  }
  return out;
}

/** What one direction's connection managers and TCP proxies get. */
export interface DirectionTelemetry {
  accessLog?: AccessLogConfig[];
  tracing?: TracingConfig;
  istioStats?: IstioStatsConfig;
}

export interface ResolvedTelemetry {
  INBOUND: DirectionTelemetry;
  OUTBOUND: DirectionTelemetry;
}

export interface ResolveInput {
  mesh: ParsedMeshConfig;
  telemetry: ApplicableTelemetry;
  node: NodeIdentity;
  otel: OtelEnv;
  env: Readonly<Record<string, string | undefined>>;
  warn(message: string): void;
}

export function resolveTelemetry(input: ResolveInput): ResolvedTelemetry {
  const { mesh, telemetry } = input;
  const tracing = resolveTracing(telemetry.tracing, { mesh, node: input.node, otel: input.otel, env: input.env, warn: input.warn });
  const direction = (mode: "CLIENT" | "SERVER", t: TracingConfig | undefined): DirectionTelemetry => {
    const d: DirectionTelemetry = {};
    const logs = resolveAccessLogs(telemetry.logging, mesh, mode, input.warn);
    if (logs) d.accessLog = logs;
    if (t) d.tracing = t;
    const stats = resolveIstioStats(telemetry.metrics, mesh, mode, input.warn);
    if (stats) d.istioStats = stats;
    return d;
  };
  return { OUTBOUND: direction("CLIENT", tracing.client), INBOUND: direction("SERVER", tracing.server) };
}

/**
 * istiod's sidecar HTTP filter order, reduced to what outrigger runs: the metadata exchange first,
 * the stats filter just before the router (listener_builder.go buildHTTPFilters); the filters the
 * listener builders put in between (fault, …) keep their places.
 */
function withTelemetryFilters(existing: readonly HttpFilterConfig[], d: DirectionTelemetry, telemetryFilters: boolean): HttpFilterConfig[] {
  const filters = existing.filter((f) => f.name !== ISTIO_METADATA_EXCHANGE_FILTER && f.name !== ISTIO_STATS_FILTER);
  if (!telemetryFilters) return filters;
  filters.unshift({ name: ISTIO_METADATA_EXCHANGE_FILTER, typedConfig: { removeHeaders: true } });
  if (d.istioStats) {
    const router = filters.findIndex((f) => f.name === HTTP_ROUTER_FILTER);
    filters.splice(router < 0 ? filters.length : router, 0, { name: ISTIO_STATS_FILTER, typedConfig: structuredClone(d.istioStats) });
  }
  return filters;
}

/**
 * Decorates every connection manager and tcp_proxy of `listeners` (in place) with its direction's
 * telemetry. `telemetryFilters` false leaves the metadata exchange and stats filters out.
 */
export function applyTelemetry(listeners: Listener[], resolved: ResolvedTelemetry, telemetryFilters: boolean): void {
  for (const l of listeners) {
    // The translator writes a direction on every listener; an unspecified one has no telemetry of its own.
    if (l.trafficDirection === "UNSPECIFIED") continue;
    const d = resolved[l.trafficDirection satisfies TrafficDirection];
    const chains = l.defaultFilterChain ? [...l.filterChains, l.defaultFilterChain] : l.filterChains;
    for (const chain of chains) {
      for (const f of chain.filters) {
        if (f.name === HTTP_CONNECTION_MANAGER) {
          const hcm = f.typedConfig;
          hcm.httpFilters = withTelemetryFilters(hcm.httpFilters, d, telemetryFilters);
          if (d.accessLog) hcm.accessLog = structuredClone(d.accessLog);
          if (d.tracing) hcm.tracing = structuredClone(d.tracing);
        } else if (f.name === TCP_PROXY) {
          const tcp = f.typedConfig;
          if (d.accessLog) tcp.accessLog = structuredClone(d.accessLog);
          if (telemetryFilters && d.istioStats) tcp.istioStats = structuredClone(d.istioStats);
        }
      }
    }
  }
}
