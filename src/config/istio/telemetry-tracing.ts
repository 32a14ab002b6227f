// Tracing as istiod configures each connection manager (pilot/pkg/model/telemetry.go Tracing,
// core/tracing.go configureTracingFromTelemetry), for OpenTelemetry over OTLP/HTTP, with the
// standard OTEL_* variables filling what MeshConfig and Telemetry leave unset:
// - provider: Telemetry `tracing.providers` > MeshConfig `defaultProviders.tracing` > (no Telemetry
//   tracing at all, `enableTracing` not false) OTEL_EXPORTER_OTLP_*ENDPOINT;
// - sampling: Telemetry randomSamplingPercentage > defaultConfig.tracing.sampling > OTEL_TRACES_SAMPLER > 1%;
// - headers and timeout: the provider's `http` > OTEL_EXPORTER_OTLP_*HEADERS / *TIMEOUT > 10 s;
// - service name: OTEL_SERVICE_NAME > the node's service cluster as istio-agent builds it;
// - OTEL_SDK_DISABLED=true / OTEL_TRACES_EXPORTER=none switch tracing off everywhere.

import type { OtelEnv } from "../../bootstrap/otel-env.js";
import type { TracingConfig, TracingCustomTag } from "../model/telemetry.js";
import type { NodeIdentity } from "../../observability/node-identity.js";
import type { OpenTelemetryProvider } from "./extension-providers.js";
import { fetchProvider } from "./telemetry-access-log.js";
import type { ParsedMeshConfig } from "./mesh-config.js";
import type { TelemetryTracing } from "./telemetry-api.js";

/** 256: Envoy's max_path_tag_length default. */
const DEFAULT_MAX_PATH_TAG_LENGTH = 256;
/** 1%: PILOT_TRACE_SAMPLING's default. */
const DEFAULT_SAMPLING = 1;
/** 10 000 ms: the OTLP exporter's default timeout (OpenTelemetry spec). */
const DEFAULT_EXPORT_TIMEOUT_MS = 10_000;
/** /v1/traces: OTLP/HTTP's traces path, used when the provider's http.path is empty. */
const OTLP_TRACES_PATH = "/v1/traces";

export interface TracingInput {
  mesh: ParsedMeshConfig;
  node: NodeIdentity;
  otel: OtelEnv;
  /** Where provider headers' `envName` are read (istiod reads its own environment; here, ours). */
  env: Readonly<Record<string, string | undefined>>;
  warn(message: string): void;
}

interface TracingSpec {
  provider?: string;
  disabled: boolean;
  randomSamplingPercentage?: number;
  customTags?: TracingCustomTag[];
  enableIstioTags: boolean;
}

/** istiod Telemetries.Tracing: client and server specs, or undefined when the Telemetry API says nothing. */
function telemetrySpecs(tracing: readonly TelemetryTracing[], mesh: ParsedMeshConfig): { client: TracingSpec; server: TracingSpec } | undefined {
  const defaults = mesh.defaultProviders.tracing;
  if (tracing.length === 0 && defaults.length === 0) return undefined;
  const client: TracingSpec = { disabled: false, enableIstioTags: true };
  const server: TracingSpec = { disabled: false, enableIstioTags: true };
  // Only the first default provider is used (istiod's todo).
  if (defaults.length > 0) client.provider = server.provider = defaults[0];
  for (const t of tracing) {
    const specs = t.mode === "CLIENT" ? [client] : t.mode === "SERVER" ? [server] : [client, server];
    for (const s of specs) {
      if (t.providers.length > 0) s.provider = t.providers[0];
      if (t.disableSpanReporting !== undefined) s.disabled = t.disableSpanReporting;
      // A shallow merge: a level's customTags replace the parent's.
      if (t.customTags !== undefined) s.customTags = t.customTags;
      if (t.randomSamplingPercentage !== undefined) s.randomSamplingPercentage = t.randomSamplingPercentage;
      if (t.enableIstioTags !== undefined) s.enableIstioTags = t.enableIstioTags;
    }
  }
  return { client, server };
}

/** The `istio.*` literal tags istiod adds to every span (buildServiceTags). */
function istioTags(input: TracingInput): TracingCustomTag[] {
  const labels = input.node.labels;
  const or = (v: string | undefined, d: string): string => (v === undefined || v === "" ? d : v);
  return [
    { tag: "istio.canonical_revision", literal: or(labels["service.istio.io/canonical-revision"], "latest") },
    { tag: "istio.canonical_service", literal: or(labels["service.istio.io/canonical-name"], "unknown") },
    { tag: "istio.mesh_id", literal: or(input.mesh.meshId ?? input.node.meshId, "unknown") },
    { tag: "istio.namespace", literal: or(input.node.namespace, "default") },
    { tag: "istio.cluster_id", literal: or(input.node.clusterId, "unknown") },
  ];
}

function sortTags(tags: TracingCustomTag[]): TracingCustomTag[] {
  return tags.sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
}

/** istio-agent's node cluster (getServiceCluster): what istiod names OpenTelemetry spans' service. */
export function serviceCluster(mesh: ParsedMeshConfig, node: NodeIdentity): string {
  const labels = node.labels;
  const orDefault = (name: string): string => {
    if (name !== "" && name !== "istio-proxy") return name;
    // labels.GetApp: app, app.kubernetes.io/name, service.istio.io/canonical-name.
    const app = [labels["app"], labels["app.kubernetes.io/name"], labels["service.istio.io/canonical-name"]].find((v) => v !== undefined && v !== "");
    if (app !== undefined) return `${app}.${node.namespace}`;
    if (node.workloadName !== "") return `${node.workloadName}.${node.namespace}`;
    return node.namespace !== "" ? `istio-proxy.${node.namespace}` : "istio-proxy";
  };
  switch (mesh.tracingServiceName) {
    case "CANONICAL_NAME_ONLY":
      return orDefault(node.canonicalService);
    case "CANONICAL_NAME_AND_NAMESPACE":
      return node.namespace !== "" ? `${node.canonicalService}.${node.namespace}` : orDefault(node.canonicalService);
    case "APP_LABEL_AND_NAMESPACE":
      return orDefault("istio-proxy");
    default:
      return orDefault(mesh.serviceCluster ?? "istio-proxy");
  }
}

function hostPort(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** An OTLP/HTTP provider (MeshConfig or OTEL_* endpoint) with the OTEL_* fill-ins. */
function providerConfig(input: TracingInput, p: OpenTelemetryProvider | { endpoint: string }): TracingConfig["provider"] {
  const headers: Record<string, string> = {};
  let endpoint: string;
  let timeoutMs: number | undefined;
  if ("endpoint" in p) endpoint = p.endpoint;
  else {
    const path = p.http!.path === "" ? OTLP_TRACES_PATH : p.http!.path.startsWith("/") ? p.http!.path : `/${p.http!.path}`;
    endpoint = `http://${hostPort(p.service, p.port)}${path}`;
    timeoutMs = p.http!.timeoutMs;
    for (const h of p.http!.headers) headers[h.name] = h.envName !== undefined ? (input.env[h.envName] ?? "") : (h.value ?? "");
  }
  const taken = new Set(Object.keys(headers).map((k) => k.toLowerCase()));
  for (const [k, v] of Object.entries(input.otel.headers)) if (!taken.has(k.toLowerCase())) headers[k] = v;
  return {
    name: "envoy.tracers.opentelemetry",
    serviceName: input.otel.serviceName ?? serviceCluster(input.mesh, input.node),
    endpoint,
    headers,
    timeoutMs: timeoutMs ?? input.otel.timeoutMs ?? DEFAULT_EXPORT_TIMEOUT_MS,
  };
}

/** The provider a spec names, if outrigger can export to it (warned once per reason otherwise). */
function openTelemetryProvider(input: TracingInput, name: string): OpenTelemetryProvider | undefined {
  const p = fetchProvider(input.mesh, name);
  if (p === undefined) {
    if (!input.mesh.defaultProviders.tracing.includes(name)) input.warn(`tracing provider "${name}" is not defined in the mesh config's extensionProviders: no tracing`);
    return undefined;
  }
  if (p.kind !== "opentelemetry") {
    input.warn(`tracing provider "${p.name}" (${p.kind === "unsupported" ? p.type : p.kind}) is not supported by outrigger (opentelemetry only): no tracing`);
    return undefined;
  }
  // A gRPC-only provider was warned about where it is defined.
  return p.http !== undefined ? p : undefined;
}

/** The tracing of one direction's connection managers (client = outbound, server = inbound). */
export function resolveTracing(tracing: readonly TelemetryTracing[], input: TracingInput): { client?: TracingConfig; server?: TracingConfig } {
  const { mesh, otel } = input;
  if (otel.tracesDisabled) return {};
  const maxLen = (providerMax: number): number => (providerMax !== 0 ? providerMax : (mesh.tracing.maxPathTagLength ?? DEFAULT_MAX_PATH_TAG_LENGTH));
  const meshSampling = mesh.tracing.sampling ?? otel.samplingPercentage ?? DEFAULT_SAMPLING;
  const specs = telemetrySpecs(tracing, mesh);
  if (specs === undefined) {
    // No Telemetry tracing: MeshConfig's legacy tracing (enableTracing, defaultConfig.tracing).
    if (!mesh.enableTracing) return {};
    if (otel.endpoint === undefined) {
      if (mesh.tracing.legacyTracer !== undefined) input.warn(`defaultConfig.tracing.${mesh.tracing.legacyTracer} is not supported by outrigger (use an opentelemetry extension provider, or OTEL_EXPORTER_OTLP_ENDPOINT): no tracing`);
      return {};
    }
    const tags = [...((mesh.tracing.enableIstioTags ?? true) ? istioTags(input) : []), ...mesh.tracing.customTags];
    const cfg: TracingConfig = { provider: providerConfig(input, { endpoint: otel.endpoint }), randomSamplingPercentage: meshSampling, customTags: sortTags(tags), maxPathTagLength: maxLen(0) };
    return { client: cfg, server: cfg };
  }
  const build = (s: TracingSpec): TracingConfig | undefined => {
    if (s.disabled || s.provider === undefined) return undefined;
    const p = openTelemetryProvider(input, s.provider);
    if (p === undefined) return undefined;
    const own = s.customTags !== undefined && s.customTags.length > 0 ? s.customTags : mesh.tracing.customTags;
    const tags = [...(s.enableIstioTags ? istioTags(input) : []), ...own];
    return {
      provider: providerConfig(input, p),
      randomSamplingPercentage: s.randomSamplingPercentage ?? meshSampling,
      customTags: sortTags(tags),
      maxPathTagLength: maxLen(p.maxTagLength),
    };
  };
  const out: { client?: TracingConfig; server?: TracingConfig } = {};
  const client = build(specs.client);
  const server = build(specs.server);
  if (client) out.client = client;
  if (server) out.server = server;
  return out;
}
