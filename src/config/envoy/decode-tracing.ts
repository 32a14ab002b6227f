// The HTTP connection manager's `tracing` (envoy.extensions.filters.network.http_connection_manager.
// v3.HttpConnectionManager.Tracing) → the model's TracingConfig: the OpenTelemetry provider over
// OTLP/HTTP, random sampling, custom tags, max_path_tag_length. Other providers (Zipkin, Datadog,
// OTLP/gRPC…) are notes: spans are not exported, requests flow as before.

import type { TracingConfig, TracingCustomTag } from "../model/telemetry.js";
import { at, checkFields, DecodeState, durationMs, list, num, obj, str, typedConfig, uint } from "./decode-common.js";

const OTEL_TYPE = "envoy.config.trace.v3.OpenTelemetryConfig";

function customTag(v: unknown, path: string, st: DecodeState): TracingCustomTag | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  const tag = str(o.tag, at(path, "tag"), st);
  if (tag === undefined) return st.error(at(path, "tag"), "required");
  const nameDefault = (k: string): { name: string; defaultValue?: string } | undefined => {
    const x = obj(o[k], at(path, k), st) ?? {};
    const name = str(x.name, at(at(path, k), "name"), st);
    if (name === undefined) return st.error(at(at(path, k), "name"), "required");
    const d = str(x.default_value, at(at(path, k), "default_value"), st);
    return d !== undefined ? { name, defaultValue: d } : { name };
  };
  if (o.literal !== undefined) {
    const value = str(obj(o.literal, at(path, "literal"), st)?.value, at(at(path, "literal"), "value"), st);
    return value === undefined ? undefined : { tag, literal: value };
  }
  if (o.request_header !== undefined) {
    const h = nameDefault("request_header");
    return h && { tag, requestHeader: h };
  }
  if (o.environment !== undefined) {
    const e = nameDefault("environment");
    return e && { tag, environment: e };
  }
  st.note(path, `custom tag kind ${Object.keys(o).filter((k) => k !== "tag").join(", ")} is not supported; tag left out`);
  return undefined;
}

/** The fields of an HCM `tracing` message; undefined (with a note) when its provider is not supported. */
export function decodeTracing(v: unknown, path: string, st: DecodeState): TracingConfig | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["client_sampling", "random_sampling", "overall_sampling", "custom_tags", "max_path_tag_length", "provider"], {}, {
    verbose: "verbose tracing is not supported; ignored",
    spawn_upstream_span: "spawn_upstream_span is not supported: one span per request",
    operation_name: "operation_name is not supported; the span name is the route's",
  });
  for (const k of ["client_sampling", "overall_sampling"]) {
    const pct = num(obj(o[k], at(path, k), st)?.value, at(path, k), st);
    if (pct !== undefined && pct !== 100) st.note(at(path, k), `${k} other than 100% is not supported; 100% applies`);
  }
  const pp = at(path, "provider");
  const po = obj(o.provider, pp, st);
  if (po === undefined) {
    st.note(path, "tracing without a provider: no spans are exported");
    return undefined;
  }
  const name = str(po.name, at(pp, "name"), st) ?? "";
  const tc = typedConfig(po.typed_config, at(pp, "typed_config"), st);
  if (tc === undefined || tc.type !== OTEL_TYPE) {
    st.note(pp, `tracing provider ${name}${tc !== undefined ? ` (${tc.type})` : ""} is not supported (only envoy.tracers.opentelemetry over HTTP): no spans are exported`);
    return undefined;
  }
  const tp = at(pp, "typed_config");
  checkFields(tc.fields, tp, st, ["http_service", "grpc_service", "service_name"], {}, {
    resource_detectors: "resource detectors are not supported; ignored",
    sampler: "custom samplers are not supported; random_sampling applies",
  });
  const hs = obj(tc.fields.http_service, at(tp, "http_service"), st);
  if (hs === undefined) {
    st.note(tp, "OpenTelemetry over gRPC is not supported (only http_service): no spans are exported");
    return undefined;
  }
  const hp = at(tp, "http_service");
  checkFields(hs, hp, st, ["http_uri", "request_headers_to_add"]);
  const uo = obj(hs.http_uri, at(hp, "http_uri"), st) ?? {};
  const endpoint = str(uo.uri, at(at(hp, "http_uri"), "uri"), st);
  if (endpoint === undefined) return st.error(at(at(hp, "http_uri"), "uri"), "required");
  // Envoy's HttpUri.timeout is required (proto validation), as istiod always writes it.
  const timeoutMs = durationMs(uo.timeout, at(at(hp, "http_uri"), "timeout"), st);
  if (timeoutMs === undefined) return st.error(at(at(hp, "http_uri"), "timeout"), "required");
  const headers: Record<string, string> = {};
  list(hs.request_headers_to_add, at(hp, "request_headers_to_add"), st).forEach((h, i) => {
    const ho = obj(obj(h, at(at(hp, "request_headers_to_add"), i), st)?.header, at(at(at(hp, "request_headers_to_add"), i), "header"), st);
    const key = ho === undefined ? undefined : str(ho.key, at(at(at(hp, "request_headers_to_add"), i), "header.key"), st);
    if (ho !== undefined && key !== undefined) headers[key] = str(ho.value, at(at(at(hp, "request_headers_to_add"), i), "header.value"), st) ?? "";
  });
  const tags: TracingCustomTag[] = [];
  list(o.custom_tags, at(path, "custom_tags"), st).forEach((t, i) => {
    const d = customTag(t, at(at(path, "custom_tags"), i), st);
    if (d !== undefined) tags.push(d);
  });
  return {
    provider: {
      name: "envoy.tracers.opentelemetry",
      serviceName: str(tc.fields.service_name, at(tp, "service_name"), st) ?? "",
      endpoint,
      headers,
      timeoutMs,
    },
    // Envoy's default random_sampling is 100%.
    randomSamplingPercentage: num(obj(o.random_sampling, at(path, "random_sampling"), st)?.value, at(path, "random_sampling"), st) ?? 100,
    customTags: tags,
    // Envoy's default max_path_tag_length is 256.
    maxPathTagLength: uint(o.max_path_tag_length, at(path, "max_path_tag_length"), st) ?? 256,
  };
}
