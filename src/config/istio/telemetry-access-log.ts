// Access logs as istiod writes them (pilot/pkg/model/telemetry_logging.go, core/accesslog.go):
// Istio's default TEXT and JSON formats, the MeshConfig `accessLogFile` fallback, and the
// Telemetry API's per-provider merge (mergeLogs) for one traffic direction.

import type { AccessLogConfig } from "../model/telemetry.js";
import type { ExtensionProvider, FileAccessLogProvider } from "./extension-providers.js";
import type { ParsedMeshConfig } from "./mesh-config.js";
import type { TelemetryAccessLogging, WorkloadMode } from "./telemetry-api.js";

/** Istio's default TEXT access log format (EnvoyTextLogFormat, Istio >= 1.9), newline included. */
export const ISTIO_TEXT_LOG_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% ' +
  '%DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" ' +
  '"%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% ' +
  "%DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n";

/**
 * Istio's default JSON access log (EnvoyJSONLogFormatIstio). Keys in the order they print: a
 * protobuf Struct reaches Envoy with its keys sorted, so Istio's JSON lines are alphabetical.
 */
export const ISTIO_JSON_LOG_FORMAT: Readonly<Record<string, string>> = sortedKeys({
  start_time: "%START_TIME%",
  route_name: "%ROUTE_NAME%",
  method: "%REQ(:METHOD)%",
  path: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
  protocol: "%PROTOCOL%",
  response_code: "%RESPONSE_CODE%",
  response_flags: "%RESPONSE_FLAGS%",
  response_code_details: "%RESPONSE_CODE_DETAILS%",
  connection_termination_details: "%CONNECTION_TERMINATION_DETAILS%",
  bytes_received: "%BYTES_RECEIVED%",
  bytes_sent: "%BYTES_SENT%",
  duration: "%DURATION%",
  upstream_service_time: "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
  x_forwarded_for: "%REQ(X-FORWARDED-FOR)%",
  user_agent: "%REQ(USER-AGENT)%",
  request_id: "%REQ(X-REQUEST-ID)%",
  authority: "%REQ(:AUTHORITY)%",
  upstream_host: "%UPSTREAM_HOST%",
  upstream_cluster: "%UPSTREAM_CLUSTER_RAW%",
  upstream_local_address: "%UPSTREAM_LOCAL_ADDRESS%",
  downstream_local_address: "%DOWNSTREAM_LOCAL_ADDRESS%",
  downstream_remote_address: "%DOWNSTREAM_REMOTE_ADDRESS%",
  requested_server_name: "%REQUESTED_SERVER_NAME%",
  upstream_transport_failure_reason: "%UPSTREAM_TRANSPORT_FAILURE_REASON%",
});

/** 'envoy': istiod's built-in file access log provider, formatted by MeshConfig when it sets no logFormat. */
const BUILTIN_ENVOY_PROVIDER = "envoy";
const DEV_STDOUT = "/dev/stdout";

export function sortedKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]!]));
}

/** fileAccessLogFormat: a given format gets a trailing newline; none = Istio's default. */
export function textFormat(format: string): string {
  if (format === "") return ISTIO_TEXT_LOG_FORMAT;
  return format.endsWith("\n") ? format : `${format}\n`;
}

/** FileAccessLogFromMeshConfig: `path` with MeshConfig's encoding and format. */
export function meshAccessLog(path: string, mesh: ParsedMeshConfig): AccessLogConfig {
  if (mesh.accessLogEncoding === "JSON") {
    return { name: "envoy.access_loggers.file", path, format: { kind: "json", json: { ...(mesh.accessLogJson ?? ISTIO_JSON_LOG_FORMAT) } } };
  }
  return { name: "envoy.access_loggers.file", path, format: { kind: "text", text: textFormat(mesh.accessLogFormat) } };
}

/** fileAccessLogFromTelemetry (and the built-in `envoy` provider's MeshConfig fallback). */
function providerAccessLog(p: FileAccessLogProvider, mesh: ParsedMeshConfig): AccessLogConfig {
  if (p.name === BUILTIN_ENVOY_PROVIDER && p.logFormat === undefined) return meshAccessLog(p.path, mesh);
  const path = p.path === "" ? DEV_STDOUT : p.path;
  const f = p.logFormat;
  if (f !== undefined && "labels" in f) {
    const labels = Object.keys(f.labels).length > 0 ? sortedKeys(f.labels) : ISTIO_JSON_LOG_FORMAT;
    return { name: "envoy.access_loggers.file", path, format: { kind: "json", json: { ...labels } } };
  }
  return { name: "envoy.access_loggers.file", path, format: { kind: "text", text: textFormat(f?.text ?? "") } };
}

function matchMode(m: WorkloadMode | undefined, mode: "CLIENT" | "SERVER"): boolean {
  return m === undefined || m === "CLIENT_AND_SERVER" || m === mode;
}

interface LoggingSpec {
  disabled: boolean;
  filter?: string;
}

/** istiod mergeLogs: provider → disabled / filter, from each level's accessLogging (root, namespace, workload…). */
export function mergeLogs(levels: readonly TelemetryAccessLogging[][], mesh: ParsedMeshConfig, mode: "CLIENT" | "SERVER"): Map<string, LoggingSpec> {
  const providers = new Map<string, LoggingSpec>();
  const defaults = mesh.defaultProviders.accessLogging;
  if (levels.length === 0) {
    for (const d of defaults) providers.set(d, { disabled: false });
    return providers;
  }
  // The last level naming providers (for this mode) decides which are in scope.
  let providerNames: readonly string[] = defaults;
  const filters = new Map<string, string | undefined>();
  for (const level of levels) {
    const names = new Set<string>();
    for (const l of level) {
      if (!matchMode(l.mode, mode)) continue;
      for (const p of l.providers) {
        names.add(p);
        filters.set(p, l.filter);
      }
    }
    if (names.size > 0) providerNames = [...names];
  }
  const inScope = new Set(providerNames);
  let parent: readonly string[] = defaults;
  for (const level of levels) {
    for (const l of level) {
      const names = l.providers.length > 0 ? l.providers : parent;
      parent = names;
      for (const p of names) {
        if (!inScope.has(p) || !matchMode(l.mode, mode)) continue;
        if (l.disabled === true) {
          providers.set(p, { disabled: true });
          continue;
        }
        const filter = filters.get(p);
        providers.set(p, filter !== undefined ? { disabled: false, filter } : { disabled: false });
      }
    }
  }
  return providers;
}

/** istiod fetchProvider: the first provider whose name matches, case-insensitively. */
export function fetchProvider(mesh: ParsedMeshConfig, name: string): ExtensionProvider | undefined {
  const n = name.toLowerCase();
  return mesh.extensionProviders.find((p) => p.name.toLowerCase() === n);
}

/**
 * The access logs of one direction: the Telemetry API's when it (or defaultProviders) configures
 * any provider outrigger can write, else MeshConfig's `accessLogFile` (setHTTPAccessLog /
 * setTCPAccessLog). Undefined = no access log.
 */
export function resolveAccessLogs(levels: readonly TelemetryAccessLogging[][], mesh: ParsedMeshConfig, mode: "CLIENT" | "SERVER", warn: (m: string) => void): AccessLogConfig[] | undefined {
  const out: Array<{ provider: string; disabled: boolean; log: AccessLogConfig }> = [];
  if (levels.length > 0 || mesh.defaultProviders.accessLogging.length > 0) {
    for (const [name, spec] of mergeLogs(levels, mesh, mode)) {
      const p = fetchProvider(mesh, name);
      if (p === undefined) {
        // Undefined default providers were reported where the mesh config names them.
        if (!mesh.defaultProviders.accessLogging.includes(name)) warn(`access logging provider "${name}" is not defined in the mesh config's extensionProviders: ignored`);
        continue;
      }
      if (p.kind !== "envoyFileAccessLog") {
        if (p.kind === "unsupported" && /Als$/.test(p.type)) warn(`access logging provider "${p.name}" (${p.type}) is not supported by outrigger: ignored`);
        continue;
      }
      const log = providerAccessLog(p, mesh);
      if (spec.filter !== undefined) log.filter = { expression: spec.filter };
      out.push({ provider: p.name, disabled: spec.disabled, log });
    }
  }
  if (out.length === 0) return mesh.accessLogFile !== "" ? [meshAccessLog(mesh.accessLogFile, mesh)] : undefined;
  out.sort((a, b) => (a.provider < b.provider ? -1 : a.provider > b.provider ? 1 : 0));
  const logs = out.filter((x) => !x.disabled).map((x) => x.log);
  return logs.length > 0 ? logs : undefined;
}
