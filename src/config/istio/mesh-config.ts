// MeshConfig (the `mesh` key of the `istio` ConfigMap) → the validated telemetry part of it:
// access log file/encoding/format, tracing defaults, extension providers, default providers and
// the root namespace. Applied over istiod's code defaults (pkg/config/mesh DefaultMeshConfig), as
// istiod's ApplyMeshConfig does: fields override, extension providers merge by name.
// Field names are accepted in both protobuf JSON spellings (`accessLogFile`, `access_log_file`).

import type { TracingCustomTag } from "../model/telemetry.js";
import type { Http2ProtocolOptions } from "../model/types.js";
import type { DocIssues, FieldPath } from "./doc-issues.js";
import { parseDurationMs } from "./duration.js";
import { parseExtensionProvider, type ExtensionProvider } from "./extension-providers.js";
import { isObj, SpecReader, typeName, type Obj } from "./spec-reader.js";
import { parseMeshTlsConfig, type MeshTlsConfig } from "./mesh-tls-config.js";

/** istio-system: MeshConfig rootNamespace default (constants.IstioSystemNamespace). */
export const DEFAULT_ROOT_NAMESPACE = "istio-system";

export type TracingServiceName = "APP_LABEL_AND_NAMESPACE" | "CANONICAL_NAME_ONLY" | "CANONICAL_NAME_AND_NAMESPACE";

/** ProxyConfig.tracing (MeshConfig `defaultConfig.tracing`). */
export interface ProxyTracing {
  /** Percent; absent (or 0, as istiod reads it) = PILOT_TRACE_SAMPLING (1). */
  sampling?: number;
  customTags: TracingCustomTag[];
  maxPathTagLength?: number;
  enableIstioTags?: boolean;
  /** The legacy tracer named there (zipkin, lightstep, datadog, stackdriver, openCensusAgent), if any. */
  legacyTracer?: string;
}

export interface ParsedMeshConfig {
  /** Empty = no access log (unless the Telemetry API asks for one). */
  accessLogFile: string;
  accessLogEncoding: "TEXT" | "JSON";
  accessLogFormat: string;
  /** With JSON encoding and a format: the format's JSON object (keys sorted, as they print). */
  accessLogJson?: Record<string, string>;
  /** true by default (DefaultMeshConfig); `enableTracingSet` says whether the document said so. */
  enableTracing: boolean;
  enableTracingSet: boolean;
  rootNamespace?: string;
  tracing: ProxyTracing;
  /** ProxyConfig `serviceCluster` / `tracingServiceName`: how the span service name is built. */
  serviceCluster?: string;
  tracingServiceName?: TracingServiceName;
  /** ProxyConfig `meshId`. */
  meshId?: string;
  extensionProviders: ExtensionProvider[];
  /** `outboundTrafficPolicy.mode`; absent = not set (istiod's default is ALLOW_ANY). */
  outboundTrafficPolicy?: "ALLOW_ANY" | "REGISTRY_ONLY";
  /** `protocolDetectionTimeout` in ms (0 = none); absent = not set (Outrigger's default applies). */
  protocolDetectionTimeoutMs?: number;
  defaultProviders: { tracing: string[]; metrics: string[]; accessLogging: string[] };
  /** `enableAutoMtls`; absent = not set (istiod's default is true). */
  enableAutoMtls?: boolean;
  /** `trustDomain`: the SPIFFE trust domain istiod uses (SANs, principals); absent = not set. */
  trustDomain?: string;
  /** `meshMTLS`: inbound mTLS minimum version and ciphers (see mesh-tls-config.ts). */
  meshMTLS?: MeshTlsConfig;
  /** `tlsDefaults`: DestinationRule SIMPLE / MUTUAL curves and ciphers. */
  tlsDefaults?: MeshTlsConfig;
  /** `h2UpgradePolicy`: UPGRADE = outbound HTTP ports speak HTTP/2 unless a DestinationRule says DO_NOT_UPGRADE; absent = DO_NOT_UPGRADE. */
  h2UpgradePolicy?: "DO_NOT_UPGRADE" | "UPGRADE";
  /**
   * `defaultConfig.connectionSettings`' HTTP/2 part (httpMaxConcurrentStreams,
   * http2InitialStreamWindowSize, http2InitialConnectionWindowSize): istiod writes it as every HTTP
   * connection manager's http2_protocol_options. Absent = none set (Envoy's defaults).
   */
  downstreamHttp2?: Http2ProtocolOptions;
}

/** istiod's built-in providers (DefaultMeshConfig): user providers with the same name replace them. */
export function builtinExtensionProviders(): ExtensionProvider[] {
  return [
    { name: "prometheus", kind: "prometheus" },
    { name: "stackdriver", kind: "unsupported", type: "stackdriver" },
    { name: "envoy", kind: "envoyFileAccessLog", path: "/dev/stdout" },
  ];
}

/** istiod's code defaults: what a mesh config file starts from. */
export function defaultMeshConfig(): ParsedMeshConfig {
  return {
    accessLogFile: "",
    accessLogEncoding: "TEXT",
    accessLogFormat: "",
    enableTracing: true,
    enableTracingSet: false,
    tracing: { customTags: [] },
    extensionProviders: builtinExtensionProviders(),
    defaultProviders: { tracing: [], metrics: [], accessLogging: [] },
  };
}

/**
 * Without any mesh config: the mesh config of a standard Istio install (Helm writes
 * `defaultProviders.metrics: [prometheus]` when telemetry v2 is on, its default).
 */
export function standardInstallMeshConfig(): ParsedMeshConfig {
  const m = defaultMeshConfig();
  m.defaultProviders.metrics = ["prometheus"];
  return m;
}

const MESH_FIELDS = [
  "proxyListenPort", "proxyInboundListenPort", "proxyHttpPort", "connectTimeout", "hboneIdleTimeout", "protocolDetectionTimeout", "tcpKeepalive",
  "ingressClass", "ingressService", "ingressControllerMode", "ingressSelector", "enableTracing", "accessLogFile", "accessLogFormat", "accessLogEncoding",
  "enableEnvoyAccessLogService", "disableEnvoyListenerLog", "defaultConfig", "outboundTrafficPolicy", "inboundTrafficPolicy", "configSources",
  "enableAutoMtls", "trustDomain", "trustDomainAliases", "caCertificates", "defaultServiceExportTo", "defaultVirtualServiceExportTo",
  "defaultDestinationRuleExportTo", "rootNamespace", "localityLbSetting", "zoneAwareLbSetting", "dnsRefreshRate", "h2UpgradePolicy",
  "inboundClusterStatName", "outboundClusterStatName", "certificates", "serviceSettings", "serviceScopeConfigs", "enablePrometheusMerge",
  "verifyCertificateAtClient", "ca", "extensionProviders", "defaultProviders", "discoverySelectors", "pathNormalization", "defaultHttpRetryPolicy",
  "meshMTLS", "tlsDefaults", "defaultTrafficPolicy", "serviceEntryVisibility",
] as const;

const PROXY_CONFIG_FIELDS = [
  "configPath", "binaryPath", "serviceCluster", "tracingServiceName", "drainDuration", "discoveryAddress", "discoveryRefreshDelay", "zipkinAddress",
  "statsdUdpAddress", "envoyMetricsServiceAddress", "proxyAdminPort", "availabilityZone", "controlPlaneAuthPolicy", "customConfigFile", "statNameLength",
  "concurrency", "proxyBootstrapTemplatePath", "interceptionMode", "tracing", "sds", "envoyAccessLogService", "envoyMetricsService", "proxyMetadata",
  "runtimeValues", "statusPort", "extraStatTags", "gatewayTopology", "terminationDrainDuration", "meshId", "readinessProbe", "proxyStatsMatcher",
  "holdApplicationUntilProxyStarts", "caCertificatesPem", "image", "privateKeyProvider", "proxyHeaders", "fileFlushInterval", "fileFlushMinSizeKb",
  "statsCompression", "connectionSettings",
] as const;

const LEGACY_TRACERS = ["zipkin", "lightstep", "datadog", "stackdriver", "openCensusAgent"] as const;
const PROXY_TRACING_FIELDS = [...LEGACY_TRACERS, "customTags", "maxPathTagLength", "sampling", "tlsSettings", "enableIstioTags"] as const;

/** `access_log_file` → `accessLogFile` (protobuf JSON accepts both); `mesh_mTLS` → `meshMTLS`. */
export function camelKey(k: string): string {
  if (!k.includes("_")) return k;
  return k.replace(/_([a-zA-Z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** A message object with its keys in camelCase (map-valued fields must not go through this). */
export function camelized(v: unknown): unknown {
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, val] of Object.entries(v)) out[camelKey(k)] = val;
  return out;
}

/** SpecReader over protobuf messages that may use either JSON spelling. */
export class MessageReader extends SpecReader {
  constructor(issues: DocIssues) {
    super(issues);
  }

  msg(v: unknown, path: FieldPath, allowed: readonly string[]): Obj | undefined {
    return this.obj(camelized(v), path, allowed);
  }
}

/** Parse and validate a MeshConfig document over istiod's defaults. Errors go to `issues`. */
export function parseMeshConfig(issues: DocIssues, value: unknown): ParsedMeshConfig {
  const r = new MessageReader(issues);
  const m = defaultMeshConfig();
  if (value === undefined || value === null) return m;
  const o = r.msg(value, [], MESH_FIELDS);
  if (!o) return m;
  const file = r.str(o, "accessLogFile", []);
  if (file !== undefined) m.accessLogFile = file;
  const enc = o["accessLogEncoding"];
  if (enc !== undefined && enc !== null) {
    // protobuf JSON also takes the enum's number (TEXT = 0, JSON = 1).
    if (enc === 0 || enc === "TEXT") m.accessLogEncoding = "TEXT";
    else if (enc === 1 || enc === "JSON") m.accessLogEncoding = "JSON";
    else issues.error(["accessLogEncoding"], `unsupported value ${typeName(enc)}, must be TEXT or JSON`);
  }
  const fmt = r.str(o, "accessLogFormat", []);
  if (fmt !== undefined) m.accessLogFormat = fmt;
  if (m.accessLogEncoding === "JSON" && m.accessLogFormat !== "") m.accessLogJson = jsonLogFormat(issues, m.accessLogFormat);
  const tracing = r.bool(o, "enableTracing", []);
  if (tracing !== undefined) {
    m.enableTracing = tracing;
    m.enableTracingSet = true;
  }
  const autoMtls = r.bool(o, "enableAutoMtls", []);
  if (autoMtls !== undefined) m.enableAutoMtls = autoMtls;
  const td = r.str(o, "trustDomain", []);
  if (td !== undefined && td !== "") {
    if (/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(td)) m.trustDomain = td;
    else r.issues.error(["trustDomain"], `"${td}" is not a valid trust domain (lower-case DNS name)`);
  }
  const meshMtls = parseMeshTlsConfig(r, o["meshMTLS"], "meshMTLS");
  if (meshMtls !== undefined) m.meshMTLS = meshMtls;
  const tlsDefaults = parseMeshTlsConfig(r, o["tlsDefaults"], "tlsDefaults");
  if (tlsDefaults !== undefined) m.tlsDefaults = tlsDefaults;
  const root = r.str(o, "rootNamespace", []);
  if (root !== undefined && root !== "") m.rootNamespace = root;
  if (o["enableEnvoyAccessLogService"] === true) issues.warn(["enableEnvoyAccessLogService"], "the Envoy access log service (gRPC ALS) is not supported by outrigger; ignored");
  const otp = r.msg(o["outboundTrafficPolicy"], ["outboundTrafficPolicy"], ["mode"]);
  if (otp) {
    // protobuf JSON also takes the enum's number (REGISTRY_ONLY = 0, ALLOW_ANY = 1).
    const mode = otp["mode"];
    if (mode === "REGISTRY_ONLY" || mode === 0) m.outboundTrafficPolicy = "REGISTRY_ONLY";
    else if (mode === "ALLOW_ANY" || mode === 1 || mode === undefined || mode === null) m.outboundTrafficPolicy = "ALLOW_ANY";
    else issues.error(["outboundTrafficPolicy", "mode"], `unsupported value ${typeName(mode)}, must be ALLOW_ANY or REGISTRY_ONLY`);
  }
  const h2 = o["h2UpgradePolicy"];
  if (h2 !== undefined && h2 !== null) {
    // protobuf JSON also takes the enum's number (DO_NOT_UPGRADE = 0, UPGRADE = 1).
    if (h2 === "UPGRADE" || h2 === 1) m.h2UpgradePolicy = "UPGRADE";
    else if (h2 === "DO_NOT_UPGRADE" || h2 === 0) m.h2UpgradePolicy = "DO_NOT_UPGRADE";
    else issues.error(["h2UpgradePolicy"], `unsupported value ${JSON.stringify(h2)}, must be DO_NOT_UPGRADE or UPGRADE`);
  }
  const pdt = o["protocolDetectionTimeout"] ?? o["protocol_detection_timeout"];
  if (pdt !== undefined && pdt !== null) {
    const ms = parseDurationMs(pdt);
    // Istio's rule: at least 1 ms, or 0s to wait for ever.
    if (ms === undefined || ms < 0 || (ms > 0 && ms < 1)) issues.error(["protocolDetectionTimeout"], `${JSON.stringify(pdt)} is not a duration of at least 1ms (or 0s for none)`);
    else m.protocolDetectionTimeoutMs = Math.round(ms);
  }
  parseProxyConfig(r, o["defaultConfig"], m);
  parseProviders(r, o, m);
  return m;
}

/**
 * `accessLogFormat` with JSON encoding: a JSON object of key → format string. istiod logs an error
 * and falls back to its default format on bad JSON; outrigger refuses it so the mistake is seen.
 */
function jsonLogFormat(issues: DocIssues, text: string): Record<string, string> | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    issues.error(["accessLogFormat"], `with accessLogEncoding JSON this must be a JSON object of key to format string: ${(e as Error).message}`);
    return undefined;
  }
  if (!isObj(v)) {
    issues.error(["accessLogFormat"], `with accessLogEncoding JSON this must be a JSON object of key to format string, got ${typeName(v)}`);
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const k of Object.keys(v).sort()) {
    const val = v[k];
    if (typeof val === "string") out[k] = val;
    else issues.warn(["accessLogFormat"], `key "${k}": only string values are supported by outrigger, got ${typeName(val)}; key left out`);
  }
  return out;
}

function parseProxyConfig(r: MessageReader, v: unknown, m: ParsedMeshConfig): void {
  const p: FieldPath = ["defaultConfig"];
  const pc = r.msg(v, p, PROXY_CONFIG_FIELDS);
  if (!pc) return;
  const sc = r.str(pc, "serviceCluster", p);
  if (sc !== undefined && sc !== "") m.serviceCluster = sc;
  const tsn = r.enumOf(pc, "tracingServiceName", p, ["APP_LABEL_AND_NAMESPACE", "CANONICAL_NAME_ONLY", "CANONICAL_NAME_AND_NAMESPACE"] as const);
  if (tsn !== undefined) m.tracingServiceName = tsn;
  if (sc !== undefined && tsn !== undefined) r.issues.error(p, "serviceCluster and tracingServiceName are one of a kind (cluster_name): set only one");
  const meshId = r.str(pc, "meshId", p);
  if (meshId !== undefined && meshId !== "") m.meshId = meshId;
  parseConnectionSettings(r, pc["connectionSettings"], [...p, "connectionSettings"], m);
  const tp: FieldPath = [...p, "tracing"];
  const t = r.msg(pc["tracing"], tp, PROXY_TRACING_FIELDS);
  if (!t) return;
  const sampling = r.num(t, "sampling", tp);
  if (sampling !== undefined) {
    if (sampling < 0) r.issues.error([...tp, "sampling"], `must be a percentage between 0 and 100, got ${sampling}`);
    else if (sampling > 100) {
      // istiod (proxyConfigSamplingValue) quietly falls back to 1% above 100.
      r.issues.warn([...tp, "sampling"], `${sampling} is above 100: istiod uses 1% instead`);
      m.tracing.sampling = 1;
    } else if (sampling !== 0) m.tracing.sampling = sampling;
  }
  const maxLen = r.int(t, "maxPathTagLength", tp, { min: 0, max: 4294967295 });
  if (maxLen !== undefined && maxLen !== 0) m.tracing.maxPathTagLength = maxLen;
  const istioTags = r.bool(t, "enableIstioTags", tp);
  if (istioTags !== undefined) m.tracing.enableIstioTags = istioTags;
  const tracers = LEGACY_TRACERS.filter((k) => t[k] !== undefined && t[k] !== null);
  if (tracers.length > 1) r.issues.error(tp, `only one tracer may be set (tracer is one of a kind), got ${tracers.join(", ")}`);
  if (tracers[0] !== undefined) m.tracing.legacyTracer = tracers[0];
  m.tracing.customTags = parseCustomTags(r, t["customTags"], [...tp, "customTags"], ["literal", "environment", "header"]);
}

const CONNECTION_SETTINGS_FIELDS = [
  "profile", "listenerPerConnectionBufferLimitBytes", "httpIdleTimeout", "httpMaxConnectionDuration", "httpMaxStreamDuration", "httpStreamIdleTimeout",
  "httpRequestTimeout", "httpRequestHeadersTimeout", "httpDrainTimeout", "httpMaxConcurrentStreams", "http2InitialStreamWindowSize",
  "http2InitialConnectionWindowSize", "httpHeadersWithUnderscoresAction", "httpMergeSlashes", "httpPathWithEscapedSlashesAction",
] as const;

/** The HTTP/2 settings and Envoy's lower bounds for them (protocol.proto: streams >= 1, windows >= 65535). */
const CONNECTION_SETTINGS_HTTP2 = [
  ["httpMaxConcurrentStreams", "maxConcurrentStreams", 1],
  ["http2InitialStreamWindowSize", "initialStreamWindowSize", 65_535],
  ["http2InitialConnectionWindowSize", "initialConnectionWindowSize", 65_535],
] as const;

/**
 * ProxyConfig `connectionSettings` (istiod's applyConnectionSettingsToHCM): the HTTP/2 settings
 * become every connection manager's http2_protocol_options; a negative value is skipped, as
 * istiod's safeUint32 does. The other settings are warned: not enforced. The EDGE profile only
 * changes gateways (Router proxies), never a sidecar.
 */
function parseConnectionSettings(r: MessageReader, v: unknown, p: FieldPath, m: ParsedMeshConfig): void {
  const cs = r.msg(v, p, CONNECTION_SETTINGS_FIELDS);
  if (!cs) return;
  const h2: Http2ProtocolOptions = {};
  for (const [field, key, min] of CONNECTION_SETTINGS_HTTP2) {
    const n = r.int(cs, field, p, { max: 2_147_483_647 });
    if (n === undefined || n < 0) continue;
    if (n < min) r.issues.error([...p, field], `must be at least ${min} (Envoy refuses ${n})`);
    else h2[key] = n;
  }
  if (Object.keys(h2).length > 0) m.downstreamHttp2 = h2;
  for (const k of CONNECTION_SETTINGS_FIELDS) {
    if (k === "profile" || CONNECTION_SETTINGS_HTTP2.some(([f]) => f === k) || cs[k] === undefined || cs[k] === null) continue;
    r.issues.warn([...p, k], `connectionSettings.${k} is not enforced by outrigger; ignored`);
  }
}

/**
 * `customTags` (ProxyConfig.tracing and Telemetry tracing): tag → one of literal / environment /
 * header, sorted by tag name as istiod emits them.
 */
export function parseCustomTags(r: MessageReader, v: unknown, p: FieldPath, kinds: readonly string[]): TracingCustomTag[] {
  if (v === undefined || v === null) return [];
  if (!isObj(v)) {
    r.issues.error(p, `must be a map of tag name to custom tag, got ${typeName(v)}`);
    return [];
  }
  const tags: TracingCustomTag[] = [];
  for (const [tag, raw] of Object.entries(v)) {
    const tp = [...p, tag];
    if (tag === "") r.issues.error(tp, "tag name may not be empty");
    const o = r.msg(raw, tp, kinds);
    if (!o) {
      if (raw === undefined || raw === null) r.issues.error(tp, `tag '${tag}' may not have a nil value`);
      continue;
    }
    const set = kinds.filter((k) => o[k] !== undefined && o[k] !== null);
    if (set.length !== 1) {
      r.issues.error(tp, set.length === 0 ? `tag '${tag}' must set one of ${kinds.join(", ")}` : `tag '${tag}' sets ${set.join(" and ")}: only one is allowed`);
      continue;
    }
    const kind = set[0]!;
    if (kind === "formatter") {
      r.issues.warn([...tp, kind], "formatter custom tags (Envoy substitution formats) are not supported by outrigger; tag ignored");
      continue;
    }
    const kp = [...tp, kind];
    const body = r.msg(o[kind], kp, kind === "literal" ? ["value"] : ["name", "defaultValue"]);
    if (!body) continue;
    if (kind === "literal") {
      const value = r.str(body, "value", kp) ?? "";
      if (value === "") r.issues.error([...kp, "value"], "literal tag value may not be empty");
      else tags.push({ tag, literal: value });
      continue;
    }
    const name = r.str(body, "name", kp) ?? "";
    const defaultValue = r.str(body, "defaultValue", kp);
    if (name === "") {
      r.issues.error([...kp, "name"], `${kind} tag name may not be empty`);
      continue;
    }
    const ref = defaultValue !== undefined && defaultValue !== "" ? { name, defaultValue } : { name };
    tags.push(kind === "environment" ? { tag, environment: ref } : { tag, requestHeader: ref });
  }
  return tags.sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
}

function parseProviders(r: MessageReader, o: Obj, m: ParsedMeshConfig): void {
  const list = r.arr(o, "extensionProviders", []);
  const seen = new Set<string>();
  list?.forEach((raw, i) => {
    const p = parseExtensionProvider(r, raw, ["extensionProviders", i]);
    if (!p) return;
    if (seen.has(p.name)) {
      r.issues.error(["extensionProviders", i, "name"], `invalid extension provider ${p.name}: duplicate extension provider name ${p.name}`);
      return;
    }
    seen.add(p.name);
    // ApplyMeshConfig: a provider named like a built-in one replaces it, others are appended.
    const at = m.extensionProviders.findIndex((e) => e.name === p.name);
    if (at >= 0) m.extensionProviders[at] = p;
    else m.extensionProviders.push(p);
  });
  const dp = r.msg(o["defaultProviders"], ["defaultProviders"], ["tracing", "metrics", "accessLogging"]);
  if (!dp) return;
  for (const key of ["tracing", "metrics", "accessLogging"] as const) {
    const names = r.strArr(dp, key, ["defaultProviders"]);
    if (names === undefined) continue;
    names.forEach((n, i) => {
      if (!m.extensionProviders.some((e) => e.name.toLowerCase() === n.toLowerCase())) {
        r.issues.warn(["defaultProviders", key, i], `provider "${n}" is not defined in extensionProviders: ignored`);
      }
    });
    m.defaultProviders[key] = names;
  }
  if (m.defaultProviders.tracing.length > 1) {
    r.issues.warn(["defaultProviders", "tracing"], `only the first tracing provider is used (${m.defaultProviders.tracing[0]}), as istiod does`);
  }
}
