// MeshConfig `extensionProviders[]`: the named telemetry backends Telemetry resources and
// `defaultProviders` refer to. Outrigger runs `opentelemetry` (OTLP over HTTP), `envoyFileAccessLog`
// and `prometheus`; the other kinds are accepted (istiod would accept them) and warned as ignored.

import type { FieldPath } from "./doc-issues.js";
import { parseDuration } from "./duration.js";
import type { MessageReader } from "./mesh-config.js";
import { isObj, typeName, type Obj } from "./spec-reader.js";

export interface ProviderHeader {
  name: string;
  /** A literal value, or the environment variable istiod (here: this process) reads it from. */
  value?: string;
  envName?: string;
}

export interface OpenTelemetryProvider {
  name: string;
  kind: "opentelemetry";
  /** Collector host (`ns/host` already reduced to the host). */
  service: string;
  port: number;
  /** 0 = unset (Envoy's 256). */
  maxTagLength: number;
  /** OTLP/HTTP export; absent = OTLP/gRPC, which outrigger does not speak. */
  http?: { path: string; timeoutMs?: number; headers: ProviderHeader[] };
}

export interface FileAccessLogProvider {
  name: string;
  kind: "envoyFileAccessLog";
  /** Empty = /dev/stdout. */
  path: string;
  logFormat?: { text: string } | { labels: Record<string, string> };
}

export interface PrometheusProvider {
  name: string;
  kind: "prometheus";
}

/** A provider kind istiod knows and outrigger does not run (zipkin, datadog, envoyOtelAls, …). */
export interface UnsupportedProvider {
  name: string;
  kind: "unsupported";
  /** The MeshConfig field name of its kind (`zipkin`, `envoyExtAuthzHttp`, …). */
  type: string;
}

export type ExtensionProvider = OpenTelemetryProvider | FileAccessLogProvider | PrometheusProvider | UnsupportedProvider;

const SUPPORTED = ["opentelemetry", "envoyFileAccessLog", "prometheus"] as const;
const UNSUPPORTED = ["envoyExtAuthzHttp", "envoyExtAuthzGrpc", "zipkin", "lightstep", "datadog", "stackdriver", "opencensus", "skywalking", "envoyHttpAls", "envoyTcpAls", "envoyOtelAls", "sds"] as const;
const KINDS: readonly string[] = [...SUPPORTED, ...UNSUPPORTED];

/** istiod's validateExtensionProviderService: an FQDN or IP, or `namespace/host`. */
function serviceHost(r: MessageReader, o: Obj, p: FieldPath, label: string): string | undefined {
  const s = r.str(o, "service", p) ?? "";
  if (s === "") {
    r.issues.error([...p, "service"], `invalid extension provider ${label}: service must not be empty`);
    return undefined;
  }
  const parts = s.split("/");
  const host = parts[parts.length - 1]!;
  if (parts.length > 2 || host === "" || !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[?[0-9a-fA-F:.]+\]?$/.test(host)) {
    r.issues.error([...p, "service"], `invalid extension provider ${label}: invalid service ${JSON.stringify(s)} (expected a host name, an IP, or namespace/host)`);
    return undefined;
  }
  return host;
}

function port(r: MessageReader, o: Obj, p: FieldPath, label: string): number | undefined {
  const n = r.int(o, "port", p);
  if (n === undefined || n < 1 || n > 65535) {
    if (n !== undefined || o["port"] === undefined) r.issues.error([...p, "port"], `invalid extension provider ${label}: port number ${n ?? 0} must be in the range 1..65535`);
    return undefined;
  }
  return n;
}

function headers(r: MessageReader, o: Obj, p: FieldPath): ProviderHeader[] {
  const out: ProviderHeader[] = [];
  r.arr(o, "headers", p)?.forEach((raw, i) => {
    const hp = [...p, "headers", i];
    const h = r.msg(raw, hp, ["name", "value", "envName"]);
    if (!h) return;
    const name = r.str(h, "name", hp) ?? "";
    const value = r.str(h, "value", hp);
    const envName = r.str(h, "envName", hp);
    if (name === "") r.issues.error([...hp, "name"], "header name may not be empty");
    else if (value !== undefined && envName !== undefined) r.issues.error(hp, "set value or envName, not both (header_value is one of a kind)");
    else out.push(envName !== undefined ? { name, envName } : { name, value: value ?? "" });
  });
  return out;
}

function timeoutMs(r: MessageReader, o: Obj, p: FieldPath): number | undefined {
  const t = o["timeout"];
  if (t === undefined || t === null) return undefined;
  const d = parseDuration(t);
  if ("error" in d) {
    r.issues.error([...p, "timeout"], d.error);
    return undefined;
  }
  return d.ms;
}

function openTelemetry(r: MessageReader, name: string, v: unknown, p: FieldPath): OpenTelemetryProvider | undefined {
  const o = r.msg(v, p, ["service", "port", "maxTagLength", "http", "grpc", "resourceDetectors", "serviceAttributeEnrichment", "dynatraceSampler"]);
  if (!o) return undefined;
  const host = serviceHost(r, o, p, name);
  const prt = port(r, o, p, name);
  const maxTagLength = r.int(o, "maxTagLength", p, { min: 0, max: 4294967295 }) ?? 0;
  const hasHttp = isObj(o["http"]);
  if (hasHttp && o["grpc"] !== undefined && o["grpc"] !== null) r.issues.error(p, `invalid extension provider ${name}: OpenTelemetryTracingProvider cannot specify both grpc and http`);
  for (const k of ["resourceDetectors", "dynatraceSampler"]) {
    if (o[k] !== undefined && o[k] !== null) r.issues.warn([...p, k], `${k} is not supported by outrigger; ignored`);
  }
  if (o["serviceAttributeEnrichment"] !== undefined && o["serviceAttributeEnrichment"] !== "ISTIO_CANONICAL") {
    r.issues.warn([...p, "serviceAttributeEnrichment"], "only ISTIO_CANONICAL service names are supported by outrigger; ignored");
  }
  if (!hasHttp) {
    if (o["http"] !== undefined && o["http"] !== null) r.issues.error([...p, "http"], `must be an object, got ${typeName(o["http"])}`);
    else r.issues.warn(p, `opentelemetry provider ${name} exports over OTLP/gRPC (no http section), which outrigger does not support: add http: {path: /v1/traces} and the collector's OTLP/HTTP port (usually 4318); spans are not exported to it`);
  }
  if (host === undefined || prt === undefined) return undefined;
  const provider: OpenTelemetryProvider = { name, kind: "opentelemetry", service: host, port: prt, maxTagLength };
  if (hasHttp) {
    const hp = [...p, "http"];
    const h = r.msg(o["http"], hp, ["path", "timeout", "headers"])!;
    const path = r.str(h, "path", hp) ?? "";
    const t = timeoutMs(r, h, hp);
    provider.http = { path, headers: headers(r, h, hp), ...(t !== undefined ? { timeoutMs: t } : {}) };
  }
  return provider;
}

function fileAccessLog(r: MessageReader, name: string, v: unknown, p: FieldPath): FileAccessLogProvider | undefined {
  const o = r.msg(v ?? {}, p, ["path", "logFormat", "omitEmptyValues"]);
  if (!o) return undefined;
  const provider: FileAccessLogProvider = { name, kind: "envoyFileAccessLog", path: r.str(o, "path", p) ?? "" };
  if (o["omitEmptyValues"] === true) r.issues.warn([...p, "omitEmptyValues"], "omitEmptyValues is not supported by outrigger; empty values print as -");
  const fp = [...p, "logFormat"];
  const f = r.msg(o["logFormat"], fp, ["text", "labels"]);
  if (!f) return provider;
  const hasText = f["text"] !== undefined && f["text"] !== null;
  const hasLabels = f["labels"] !== undefined && f["labels"] !== null;
  if (hasText && hasLabels) {
    r.issues.error(fp, "set text or labels, not both (log_format is one of a kind)");
    return provider;
  }
  if (hasText) provider.logFormat = { text: r.str(f, "text", fp) ?? "" };
  else if (hasLabels) {
    if (!isObj(f["labels"])) {
      r.issues.error([...fp, "labels"], `must be a map of JSON key to format string, got ${typeName(f["labels"])}`);
      return provider;
    }
    const labels: Record<string, string> = {};
    for (const [k, val] of Object.entries(f["labels"])) {
      if (typeof val === "string") labels[k] = val;
      else r.issues.warn([...fp, "labels", k], `only string values are supported by outrigger, got ${typeName(val)}; key left out`);
    }
    provider.logFormat = { labels };
  }
  return provider;
}

/** One `extensionProviders[i]`: a name and exactly one provider kind. */
export function parseExtensionProvider(r: MessageReader, raw: unknown, p: FieldPath): ExtensionProvider | undefined {
  const o = r.msg(raw, p, ["name", ...KINDS]);
  if (!o) return undefined;
  const name = r.str(o, "name", p) ?? "";
  if (name === "") {
    r.issues.error([...p, "name"], "invalid extension provider: empty extension provider name");
    return undefined;
  }
  const kinds = KINDS.filter((k) => o[k] !== undefined && o[k] !== null);
  if (kinds.length !== 1) {
    r.issues.error(p, kinds.length === 0 ? `invalid extension provider ${name}: no provider kind set (one of ${SUPPORTED.join(", ")}, …)` : `invalid extension provider ${name}: sets ${kinds.join(" and ")}, only one is allowed`);
    return undefined;
  }
  const kind = kinds[0]!;
  const kp = [...p, kind];
  switch (kind) {
    case "opentelemetry":
      return openTelemetry(r, name, o[kind], kp);
    case "envoyFileAccessLog":
      return fileAccessLog(r, name, o[kind], kp);
    case "prometheus":
      r.msg(o[kind], kp, []);
      return { name, kind: "prometheus" };
    default:
      r.issues.warn(kp, `extension provider ${name}: ${kind} is not supported by outrigger; ignored`);
      return { name, kind: "unsupported", type: kind };
  }
}
