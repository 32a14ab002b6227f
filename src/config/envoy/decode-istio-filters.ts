// Istio's own filters as istiod sends them, in each of their forms: `istio.stats`
// (stats.PluginConfig directly, in a TypedStruct, or as the null-VM Wasm `envoy.wasm.stats` with a
// JSON StringValue configuration), `istio.metadata_exchange` (the native peer_metadata Config,
// TypedStruct, or null-VM Wasm `envoy.wasm.metadata_exchange`) and `istio.alpn`.

import type { IstioAlpnConfig, IstioStatsConfig, TrafficDirection } from "../model/types.js";
import type { IstioStatsMetricOverride } from "../model/telemetry.js";
import { at, bool, checkFields, DecodeState, durationMs, enumOf, isObject, list, obj, str, strList, typedConfig } from "./decode-common.js";
import type { Json } from "./decoded.js";

export const STATS_TYPE = "stats.PluginConfig";
export const PEER_METADATA_TYPES = new Set(["io.istio.http.peer_metadata.Config", "envoy.tcp.metadataexchange.config.MetadataExchange"]);
export const ALPN_TYPE = "istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig";
const WASM_TYPES = new Set(["envoy.extensions.filters.http.wasm.v3.Wasm", "envoy.extensions.filters.network.wasm.v3.Wasm", "envoy.extensions.wasm.v3.Wasm"]);

/** Null-VM Wasm codes Istio compiled into its Envoy, and the native filter each one is. */
export const NULL_VM_CODES: Record<string, "stats" | "metadata_exchange"> = {
  "envoy.wasm.stats": "stats",
  "envoy.wasm.metadata_exchange": "metadata_exchange",
};

export function isWasmType(type: string): boolean {
  return WASM_TYPES.has(type);
}

/**
 * A Wasm filter's plugin: the null-VM code it names and its configuration (a JSON StringValue or
 * an Any, unwrapped), or an error for a real VM (Outrigger runs no Wasm).
 */
export function nullVmPlugin(fields: Json, path: string, st: DecodeState): { code: string; configuration: Json } | undefined {
  const cp = at(path, "config");
  const config = obj(fields.config, cp, st) ?? {};
  const vm = obj(config.vm_config, at(cp, "vm_config"), st) ?? {};
  const runtime = str(vm.runtime, at(at(cp, "vm_config"), "runtime"), st);
  const code = str(obj(obj(vm.code, at(at(cp, "vm_config"), "code"), st)?.local, at(at(cp, "vm_config"), "code.local"), st)?.inline_string, at(at(cp, "vm_config"), "code.local.inline_string"), st);
  if (runtime !== "envoy.wasm.runtime.null" || code === undefined) return st.error(path, `Wasm filters are not supported by Outrigger (runtime ${runtime ?? "unset"}); only Istio's null-VM plugins ${Object.keys(NULL_VM_CODES).join(", ")} are understood`);
  let configuration: Json = {};
  const c = config.configuration;
  if (isObject(c)) {
    const t = typeof c["@type"] === "string" ? (c["@type"] as string) : "";
    if (t.endsWith("google.protobuf.StringValue")) {
      const text = typeof c.value === "string" ? c.value : "";
      try {
        const parsed: unknown = text === "" ? {} : JSON.parse(text);
        if (isObject(parsed)) configuration = parsed;
      } catch (e) {
        return st.error(at(cp, "configuration.value"), `not valid JSON: ${(e as Error).message}`);
      }
    } else configuration = typedConfig(c, at(cp, "configuration"), st)?.fields ?? {};
  }
  return { code, configuration };
}

/** stats.PluginConfig fields → IstioStatsConfig (the reporter follows the listener's direction, as in Istio). */
export function decodeIstioStats(o: Json, path: string, st: DecodeState, direction: TrafficDirection | undefined): IstioStatsConfig {
  checkFields(o, path, st, ["metrics", "tcp_reporting_duration", "tcpReportingDuration"], {}, {
    definitions: "custom metric definitions are not supported; ignored",
    disable_host_header_fallback: "disable_host_header_fallback is not supported; ignored",
    reporter: "the reporter follows the listener's traffic_direction",
    stat_prefix: "stat_prefix is not supported: Istio's metric names apply",
    debug: "debug is ignored",
    rotation_interval: "rotation_interval is not supported; ignored",
    graceful_deletion_interval: "graceful_deletion_interval is not supported; ignored",
    field_separator: "field_separator is not supported; ignored",
    value_separator: "value_separator is not supported; ignored",
  });
  const metrics: IstioStatsMetricOverride[] = [];
  list(o.metrics, at(path, "metrics"), st).forEach((m, i) => {
    const p = at(at(path, "metrics"), i);
    const mo = obj(m, p, st);
    if (mo === undefined) return;
    checkFields(mo, p, st, ["name", "dimensions", "tags_to_remove", "tagsToRemove", "drop"], {}, { match: "metric match expressions are not supported; the override applies to every request" });
    const out: IstioStatsMetricOverride = {};
    const name = str(mo.name, at(p, "name"), st);
    if (name !== undefined && name !== "") out.name = name;
    if (bool(mo.drop, at(p, "drop"), st) === true) out.drop = true;
    const remove = strList(mo.tags_to_remove ?? mo.tagsToRemove, at(p, "tags_to_remove"), st);
    if (remove.length > 0) out.tagsToRemove = remove;
    const dims = obj(mo.dimensions, at(p, "dimensions"), st);
    if (dims !== undefined) {
      const d: Record<string, string> = {};
      for (const [k, v] of Object.entries(dims)) {
        const s = str(v, at(at(p, "dimensions"), k), st);
        if (s !== undefined) d[k] = s;
      }
      out.dimensions = d;
    }
    metrics.push(out);
  });
  const s: IstioStatsConfig = { reporter: direction === "INBOUND" ? "destination" : "source", metrics };
  const tcp = durationMs(o.tcp_reporting_duration ?? o.tcpReportingDuration, at(path, "tcp_reporting_duration"), st);
  if (tcp !== undefined) s.tcpReportingDurationMs = tcp;
  return s;
}

/** istio.alpn's FilterConfig fields → IstioAlpnConfig (HTTP10 is the enum's zero value). */
export function decodeIstioAlpn(o: Json, path: string, st: DecodeState): IstioAlpnConfig {
  checkFields(o, path, st, ["alpn_override"]);
  const out: IstioAlpnConfig["alpnOverride"] = [];
  list(o.alpn_override, at(path, "alpn_override"), st).forEach((a, i) => {
    const p = at(at(path, "alpn_override"), i);
    const ao = obj(a, p, st);
    if (ao === undefined) return;
    checkFields(ao, p, st, ["upstream_protocol", "alpn_override"]);
    const proto = enumOf(ao.upstream_protocol ?? "HTTP10", ["HTTP10", "HTTP11", "HTTP2"] as const, at(p, "upstream_protocol"), st);
    if (proto !== undefined) out.push({ upstreamProtocol: proto, alpnOverride: strList(ao.alpn_override, at(p, "alpn_override"), st) });
  });
  return { alpnOverride: out };
}
