// The worker's tracing: validates an HCM's TracingConfig, compiles it once per snapshot into an
// OtelHttpTracer (tags fixed at compile time precomputed), and owns the worker's exporters.

import type { Logger } from "../../common/logger.js";
import type { TracingConfig } from "../../config/model/types.js";
import type { NodeIdentity } from "../node-identity.js";
import type { StatsStore } from "../stats/stats-store.js";
import type { HttpTracer, TelemetryChainConfig } from "../telemetry.js";
import { OtelHttpTracer } from "./otel-http-tracer.js";
import { encodeSpanAttributes } from "./otlp-span-encoder.js";
import { STANDARD_TAG_NAMES, type HeaderTag, type SpanTemplate } from "./span-attributes.js";
import { RandomTraceIds, type TraceIdGenerator } from "./trace-ids.js";
import { samplingNumerator } from "./trace-sampler.js";
import { OtlpExporterPool, spanBatchOptionsFromEnv, type SpanBatchOptions } from "./otlp-http-exporter.js";

export interface TracingEnv {
  node: NodeIdentity;
  stats: StatsStore;
  log: Logger;
  /** Environment for `environment` custom tags and OTEL_BSP_* (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Batching (default: the SDK's, overridden by OTEL_BSP_*). */
  batch?: Partial<SpanBatchOptions>;
  /** Fallback randomness when a request's x-request-id is not hex (default: Math.random). */
  random?: () => number;
  ids?: TraceIdGenerator;
}

/** The `tracer` telemetry factory and the lifecycle of the exporters behind it. */
export interface WorkerTracing {
  tracer(config: TracingConfig, chain: TelemetryChainConfig): HttpTracer;
  snapshotApplied(): void;
  close(): Promise<void>;
  /** Collector endpoints this worker has an exporter for. */
  exporterEndpoints(): string[];
}

export function workerTracing(e: TracingEnv): WorkerTracing {
  const env = e.env ?? process.env;
  const ids = e.ids ?? new RandomTraceIds();
  const random = e.random ?? Math.random;
  const pool = new OtlpExporterPool(e.stats, { ...spanBatchOptionsFromEnv(env), ...e.batch }, e.log);
  return {
    tracer(config, chain) {
      validateTracingConfig(config);
      const template = spanTemplate(config, chain, e.node, env);
      return new OtelHttpTracer(pool.exporter(config.provider), template, samplingNumerator(config.randomSamplingPercentage), ids, random);
    },
    snapshotApplied: () => pool.snapshotApplied(),
    close: () => pool.close(),
    exporterEndpoints: () => pool.endpoints(),
  };
}

/** Throws one message naming the field, so the snapshot is refused with a clear reason. */
export function validateTracingConfig(c: TracingConfig): void {
  const p = c.provider;
  if (p.name !== "envoy.tracers.opentelemetry") throw new Error(`tracing.provider.name: ${JSON.stringify(p.name)} is not supported (only envoy.tracers.opentelemetry)`);
  let url: URL;
  try {
    url = new URL(p.endpoint);
  } catch {
    throw new Error(`tracing.provider.endpoint: ${JSON.stringify(p.endpoint)} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`tracing.provider.endpoint: ${JSON.stringify(p.endpoint)} must be http:// or https:// (OTLP/HTTP)`);
  if (p.serviceName === "") throw new Error("tracing.provider.serviceName: must not be empty");
  if (!(Number.isFinite(p.timeoutMs) && p.timeoutMs > 0)) throw new Error(`tracing.provider.timeoutMs: ${p.timeoutMs} must be a positive number of milliseconds`);
  const pct = c.randomSamplingPercentage;
  if (!(Number.isFinite(pct) && pct >= 0 && pct <= 100)) throw new Error(`tracing.randomSamplingPercentage: ${pct} must be between 0 and 100`);
  if (!(Number.isInteger(c.maxPathTagLength) && c.maxPathTagLength > 0)) throw new Error(`tracing.maxPathTagLength: ${c.maxPathTagLength} must be a positive integer`);
  for (const t of c.customTags) if (t.tag === "") throw new Error("tracing.customTags: a tag has an empty name");
}

/**
 * Everything about a chain's spans that does not depend on the request: Envoy's node_id and zone,
 * Istio's istio.* tags (Istio adds them as literal custom tags from the proxy's identity), and the
 * literal and environment custom tags (Envoy reads the environment once, at config time).
 */
export function spanTemplate(c: TracingConfig, chain: TelemetryChainConfig, node: NodeIdentity, env: Readonly<Record<string, string | undefined>>): SpanTemplate {
  const fixed: Record<string, string> = {
    "istio.canonical_revision": node.canonicalRevision,
    "istio.canonical_service": node.canonicalService,
    "istio.cluster_id": node.clusterId,
    "istio.mesh_id": node.meshId,
    "istio.namespace": node.namespace,
  };
  const headerTags: HeaderTag[] = [];
  for (const t of c.customTags) {
    if ("literal" in t) {
      if (t.literal !== "") fixed[t.tag] = t.literal;
    } else if ("environment" in t) {
      const v = env[t.environment.name] ?? t.environment.defaultValue ?? "";
      if (v !== "") fixed[t.tag] = v;
    } else {
      headerTags.push({ tag: t.tag, header: t.requestHeader.name.toLowerCase(), defaultValue: t.requestHeader.defaultValue ?? "" });
    }
  }
  const localTagEntries: Array<[string, string]> = [
    ["node_id", node.nodeId],
    ["zone", ""],
  ];
  const fixedCustomTagEntries = Object.entries(fixed);
  return {
    client: chain.direction === "OUTBOUND",
    maxPathTagLength: c.maxPathTagLength,
    // Istio's sidecars have no zone unless the node has a locality; NodeIdentity carries none.
    localTags: Object.freeze({ node_id: node.nodeId, zone: "" }),
    fixedCustomTags: Object.freeze(fixed),
    localTagEntries,
    fixedCustomTagEntries,
    headerTags,
    customTagsMayCollide: customTagsMayCollide(Object.keys(fixed), headerTags),
    localTagsEncoded: encodeSpanAttributes(localTagEntries),
    fixedCustomTagsEncoded: encodeSpanAttributes(fixedCustomTagEntries),
  };
}

/** Whether a custom tag (header or fixed) shares its name with a standard tag or another custom tag. */
function customTagsMayCollide(fixedNames: readonly string[], headerTags: readonly HeaderTag[]): boolean {
  const seen = new Set<string>(STANDARD_TAG_NAMES);
  for (const name of [...headerTags.map((t) => t.tag), ...fixedNames]) {
    if (seen.has(name)) return true;
    seen.add(name);
  }
  return false;
}

/** The `service.name` Istio gives a sidecar's spans by default (ProxyConfig tracingServiceName APP_LABEL_AND_NAMESPACE): `<app>.<namespace>`, else `<workload>.<namespace>`. */
export function defaultTracingServiceName(node: NodeIdentity): string {
  const app = node.labels.app;
  if (app !== undefined && app !== "") return `${app}.${node.namespace}`;
  if (node.workloadName !== "") return `${node.workloadName}.${node.namespace}`;
  return node.namespace !== "" ? `istio-proxy.${node.namespace}` : "istio-proxy";
}
