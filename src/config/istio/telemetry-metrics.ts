// Istio's standard metrics from the Telemetry API (istiod mergeMetrics + generateStatsConfig): the
// `istio.stats` config of one direction — reporter, per-metric drops and tag overrides — or none
// when no prometheus provider is active or every metric is disabled for that direction.

import type { IstioStatsConfig, IstioStatsMetricOverride } from "../model/telemetry.js";
import { fetchProvider } from "./telemetry-access-log.js";
import type { ParsedMeshConfig } from "./mesh-config.js";
import { ISTIO_METRICS, type MetricsOverride, type TelemetryMetrics, type WorkloadMode } from "./telemetry-api.js";

type Mode = "CLIENT" | "SERVER";

/** Telemetry metric enum → the Prometheus metric (without `istio_`) istio.stats knows it by. */
const PROMETHEUS_NAME: Record<string, string> = {
  REQUEST_COUNT: "requests_total",
  REQUEST_DURATION: "request_duration_milliseconds",
  REQUEST_SIZE: "request_bytes",
  RESPONSE_SIZE: "response_bytes",
  TCP_OPENED_CONNECTIONS: "tcp_connections_opened_total",
  TCP_CLOSED_CONNECTIONS: "tcp_connections_closed_total",
  TCP_SENT_BYTES: "tcp_sent_bytes_total",
  TCP_RECEIVED_BYTES: "tcp_received_bytes_total",
  GRPC_REQUEST_MESSAGES: "request_messages_total",
  GRPC_RESPONSE_MESSAGES: "response_messages_total",
};

/** Every metric but ALL_METRICS, sorted by enum name (istiod flattens ALL_METRICS into these). */
const ALL_METRICS = ISTIO_METRICS.filter((m) => m !== "ALL_METRICS").sort();

interface Override {
  disabled?: boolean;
  tags: Map<string, { remove: boolean; value: string }>;
}

interface ProviderMetrics {
  modes: Map<Mode, Map<string, Override>>;
  reportingIntervalMs?: number;
}

function modes(m: WorkloadMode): Mode[] {
  return m === "CLIENT" || m === "SERVER" ? [m] : ["CLIENT", "SERVER"];
}

function isAllMetrics(o: MetricsOverride): boolean {
  return o.customMetric === undefined && (o.metric === undefined || o.metric === "ALL_METRICS");
}

function matches(o: MetricsOverride): string[] {
  if (o.customMetric !== undefined) return [o.customMetric];
  return o.metric === undefined || o.metric === "ALL_METRICS" ? ALL_METRICS : [o.metric];
}

/** istiod mergeMetrics: provider → mode → metric → merged override; plus the disabled (provider, mode)s. */
function mergeMetrics(metrics: readonly TelemetryMetrics[], mesh: ParsedMeshConfig): { providers: Map<string, ProviderMetrics>; disabledAll: Set<string> } {
  const providers = new Map<string, ProviderMetrics>();
  const defaults = mesh.defaultProviders.metrics;
  if (metrics.length === 0) for (const d of defaults) providers.set(d, { modes: new Map() });
  // Providers set at a level override the parent's; the last level naming some decides the scope.
  let scope: readonly string[] = defaults;
  for (const m of metrics) if (m.providers.length > 0) scope = m.providers;
  const inScope = new Set(scope);
  let parent: readonly string[] = defaults;
  const disabledAll = new Set<string>();
  for (const m of metrics) {
    const names = m.providers.length > 0 ? m.providers : parent;
    parent = names;
    for (const provider of names) {
      if (!inScope.has(provider)) continue;
      let pm = providers.get(provider);
      if (pm === undefined) {
        pm = { modes: new Map([["CLIENT", new Map()], ["SERVER", new Map()]]) };
        providers.set(provider, pm);
      }
      if (m.reportingIntervalMs !== undefined) pm.reportingIntervalMs = m.reportingIntervalMs;
      for (const o of m.overrides) {
        if (isAllMetrics(o) && o.disabled === true) {
          for (const mode of modes(o.mode)) disabledAll.add(`${provider}/${mode}`);
          continue;
        }
        for (const mode of modes(o.mode)) {
          // A root namespace may disable everything and a namespace enable some again.
          disabledAll.delete(`${provider}/${mode}`);
          let byMetric = pm.modes.get(mode);
          if (byMetric === undefined) pm.modes.set(mode, (byMetric = new Map()));
          for (const metric of matches(o)) {
            const cur: Override = byMetric.get(metric) ?? { tags: new Map() };
            if (o.disabled !== undefined) cur.disabled = o.disabled;
            for (const [tag, t] of Object.entries(o.tagOverrides)) cur.tags.set(tag, t);
            byMetric.set(metric, cur);
          }
        }
      }
    }
  }
  return { providers, disabledAll };
}

function statsOverride(metric: string, o: Override): IstioStatsMetricOverride {
  const out: IstioStatsMetricOverride = { name: PROMETHEUS_NAME[metric] ?? metric };
  if (o.disabled === true) out.drop = true;
  const tags = [...o.tags.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const remove = tags.filter(([, t]) => t.remove).map(([k]) => k);
  const upsert = tags.filter(([, t]) => !t.remove);
  if (remove.length > 0) out.tagsToRemove = remove;
  if (upsert.length > 0) out.dimensions = Object.fromEntries(upsert.map(([k, t]) => [k, t.value]));
  return out;
}

/**
 * `istio.stats` for one direction (CLIENT = outbound, SERVER = inbound), or undefined when no
 * prometheus provider reports metrics for it. Only prometheus providers make the filter.
 */
export function resolveIstioStats(metrics: readonly TelemetryMetrics[], mesh: ParsedMeshConfig, mode: Mode, warn: (m: string) => void): IstioStatsConfig | undefined {
  const { providers, disabledAll } = mergeMetrics(metrics, mesh);
  for (const name of [...providers.keys()].sort()) {
    const p = fetchProvider(mesh, name);
    if (p === undefined) {
      if (!mesh.defaultProviders.metrics.includes(name)) warn(`metrics provider "${name}" is not defined in the mesh config's extensionProviders: ignored`);
      continue;
    }
    if (p.kind !== "prometheus") continue;
    if (disabledAll.has(`${name}/${mode}`)) continue;
    const pm = providers.get(name)!;
    const byMetric = pm.modes.get(mode) ?? new Map<string, Override>();
    const overrides = [...byMetric.keys()].sort().map((metric) => statsOverride(metric, byMetric.get(metric)!));
    const cfg: IstioStatsConfig = { reporter: mode === "SERVER" ? "destination" : "source", metrics: overrides };
    if (pm.reportingIntervalMs !== undefined) cfg.tcpReportingDurationMs = pm.reportingIntervalMs;
    return cfg;
  }
  return undefined;
}
