// A model Listener as Envoy's envoy.config.listener.v3.Listener JSON (what /config_dump shows under
// ListenersConfigDump.dynamic_listeners[].active_state.listener), network filters included.

import { http2OptionsJson, upgradeConfigsJson } from "./http2-options-json.js";
import {
  HTTP_EXT_AUTHZ_FILTER,
  type ExtAuthzConfig,
  HTTP_CONNECTION_MANAGER,
  HTTP_CORS_FILTER,
  ISTIO_ALPN_FILTER,
  NOOP_NETWORK_FILTER,
  type IstioAlpnConfig,
  HTTP_FAULT_FILTER,
  HTTP_JWT_AUTHN_FILTER,
  HTTP_RBAC_FILTER,
  HTTP_ROUTER_FILTER,
  ISTIO_METADATA_EXCHANGE_FILTER,
  ISTIO_STATS_FILTER,
  NETWORK_RBAC_FILTER,
  TCP_PROXY,
  type FilterChain,
  type FilterChainMatch,
  type HttpConnectionManager,
  type HttpFilterConfig,
  type IstioStatsConfig,
  type Listener,
  type NetworkFilter,
  type TcpProxy,
  type TransportSocketConfig,
  type DownstreamTlsContext,
  type UpstreamTlsContext,
  TLS_TRANSPORT_SOCKET,
} from "../../config/model/types.js";
import { downstreamTlsContextJson, upstreamTlsContextJson } from "./tls-context-json.js";
import type { AccessLogConfig, TracingConfig } from "../../config/model/telemetry.js";
import type { JwtAuthentication } from "../../config/model/jwt-authn.js";
import { jwtAuthnJson } from "./jwt-authn-json.js";
import type { RbacConfig } from "../../config/model/rbac.js";
import { rbacJson } from "./rbac-json.js";
import { cidrRange, compact, duration, nonEmpty, socketAddress, typeUrl, type Json } from "./envoy-json.js";
import { routeConfigJson } from "./route-config-json.js";

const LISTENER_FILTER_TYPES: Record<string, string> = {
  "envoy.filters.listener.original_dst": "envoy.extensions.filters.listener.original_dst.v3.OriginalDst",
  "envoy.filters.listener.tls_inspector": "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector",
  "envoy.filters.listener.http_inspector": "envoy.extensions.filters.listener.http_inspector.v3.HttpInspector",
};

const HTTP_FILTER_TYPES: Record<string, string> = {
  [HTTP_FAULT_FILTER]: "envoy.extensions.filters.http.fault.v3.HTTPFault",
  [HTTP_CORS_FILTER]: "envoy.extensions.filters.http.cors.v3.Cors",
  [HTTP_ROUTER_FILTER]: "envoy.extensions.filters.http.router.v3.Router",
  // Istio >= 1.22 writes the native peer-metadata filter under the old filter name.
  [ISTIO_METADATA_EXCHANGE_FILTER]: "io.istio.http.peer_metadata.Config",
  [ISTIO_STATS_FILTER]: "stats.PluginConfig",
};

const TRANSPORT_SOCKET_TYPES: Record<string, string> = {
  "envoy.transport_sockets.raw_buffer": "envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer",
  "envoy.transport_sockets.tls": "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
};

/** The ADS config source istiod writes for RDS/CDS/LDS. */
export const ADS_CONFIG_SOURCE: Json = { ads: {}, initial_fetch_timeout: "0s", resource_api_version: "V3" };

export function transportSocketJson(t: TransportSocketConfig, types: Record<string, string> = TRANSPORT_SOCKET_TYPES): Json {
  const type = types[t.name];
  if (type === undefined) return { name: t.name };
  let body: Json = {};
  if (t.name === TLS_TRANSPORT_SOCKET && t.typedConfig !== undefined) {
    // Which context it is follows from where it sits (the type table given): chain or cluster.
    body = type.endsWith("DownstreamTlsContext") ? downstreamTlsContextJson(t.typedConfig as DownstreamTlsContext) : upstreamTlsContextJson(t.typedConfig as UpstreamTlsContext);
  }
  return { name: t.name, typed_config: { "@type": typeUrl(type), ...body } };
}

function filterChainMatchJson(m: FilterChainMatch): Json | undefined {
  const j = compact({
    destination_port: m.destinationPort,
    prefix_ranges: nonEmpty(m.prefixRanges?.map(cidrRange)),
    server_names: nonEmpty(m.serverNames),
    transport_protocol: m.transportProtocol,
    application_protocols: nonEmpty(m.applicationProtocols),
    direct_source_prefix_ranges: nonEmpty(m.directSourcePrefixRanges?.map(cidrRange)),
    // ANY is the enum's zero value.
    source_type: m.sourceType === "ANY" ? undefined : m.sourceType,
    source_prefix_ranges: nonEmpty(m.sourcePrefixRanges?.map(cidrRange)),
    source_ports: nonEmpty(m.sourcePorts),
  });
  return Object.keys(j).length > 0 ? j : undefined;
}

/** stats.PluginConfig: the metric overrides (the reporter follows the listener's traffic_direction). */
function istioStatsJson(s: IstioStatsConfig | undefined): Json {
  return compact({
    "@type": typeUrl(HTTP_FILTER_TYPES[ISTIO_STATS_FILTER]!),
    metrics: nonEmpty(
      s?.metrics.map((m) =>
        compact({ name: m.name, drop: m.drop === true ? true : undefined, tags_to_remove: nonEmpty(m.tagsToRemove), dimensions: m.dimensions }),
      ),
    ),
    tcp_reporting_duration: s?.tcpReportingDurationMs !== undefined ? duration(s.tcpReportingDurationMs) : undefined,
  });
}

/** istio.alpn's FilterConfig (HTTP10 is the enum's zero value, left out). */
function istioAlpnJson(c: IstioAlpnConfig): Json {
  return {
    "@type": typeUrl("istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig"),
    alpn_override: c.alpnOverride.map((a) => compact({ upstream_protocol: a.upstreamProtocol === "HTTP10" ? undefined : a.upstreamProtocol, alpn_override: a.alpnOverride })),
  };
}

function httpFilterJson(f: HttpFilterConfig): Json {
  // A filter carried but not run goes back exactly as it was received.
  if (f.noop !== undefined) return compact({ name: f.name, typed_config: f.noop.typedConfig, is_optional: f.noop.isOptional, disabled: f.noop.disabled });
  if (f.name === ISTIO_ALPN_FILTER && f.typedConfig !== undefined) return { name: f.name, typed_config: istioAlpnJson(f.typedConfig as IstioAlpnConfig) };
  if (f.name === ISTIO_STATS_FILTER) return { name: f.name, typed_config: istioStatsJson(f.typedConfig as IstioStatsConfig | undefined) };
  if (f.name === HTTP_JWT_AUTHN_FILTER && f.typedConfig !== undefined) return { name: f.name, typed_config: jwtAuthnJson(f.typedConfig as JwtAuthentication) };
  if (f.name === HTTP_RBAC_FILTER) return { name: f.name, typed_config: rbacJson((f.typedConfig ?? {}) as RbacConfig, false) };
  // ext_authz runs fail-closed from its received config, which is what the dump shows.
  if (f.name === HTTP_EXT_AUTHZ_FILTER && f.typedConfig !== undefined) return { name: f.name, typed_config: (f.typedConfig as ExtAuthzConfig).original };
  const type = HTTP_FILTER_TYPES[f.name];
  return compact({ name: f.name, typed_config: type !== undefined ? { "@type": typeUrl(type) } : undefined });
}

export function accessLogJson(a: AccessLogConfig): Json {
  const format = a.format.kind === "text" ? { text_format_source: { inline_string: a.format.text } } : { json_format: a.format.json };
  return compact({
    name: a.name,
    filter:
      a.filter !== undefined
        ? { extension_filter: { name: "envoy.access_loggers.extension_filters.cel", typed_config: { "@type": typeUrl("envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter"), expression: a.filter.expression } } }
        : undefined,
    typed_config: { "@type": typeUrl("envoy.extensions.access_loggers.file.v3.FileAccessLog"), path: a.path, log_format: format },
  });
}

function tracingJson(t: TracingConfig): Json {
  const p = t.provider;
  return {
    client_sampling: { value: 100 },
    random_sampling: { value: t.randomSamplingPercentage },
    overall_sampling: { value: 100 },
    custom_tags: nonEmpty(
      t.customTags.map((c) =>
        "literal" in c
          ? { tag: c.tag, literal: { value: c.literal } }
          : "requestHeader" in c
            ? { tag: c.tag, request_header: compact({ name: c.requestHeader.name, default_value: c.requestHeader.defaultValue }) }
            : { tag: c.tag, environment: compact({ name: c.environment.name, default_value: c.environment.defaultValue }) },
      ),
    ),
    max_path_tag_length: t.maxPathTagLength,
    provider: {
      name: p.name,
      typed_config: {
        "@type": typeUrl("envoy.config.trace.v3.OpenTelemetryConfig"),
        http_service: compact({
          http_uri: { uri: p.endpoint, timeout: duration(p.timeoutMs) },
          request_headers_to_add: nonEmpty(Object.entries(p.headers).map(([key, value]) => ({ header: { key, value } }))),
        }),
        service_name: p.serviceName,
      },
    },
  };
}

function withoutType(j: Json): Json {
  const { "@type": _t, ...rest } = j;
  return rest;
}

function hcmJson(h: HttpConnectionManager): Json {
  return compact({
    "@type": typeUrl("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"),
    stat_prefix: h.statPrefix,
    // An inline route configuration is written as Envoy's route_config (its own "@type" left out: it is a field, not an Any).
    rds: h.routeConfig === undefined ? { config_source: ADS_CONFIG_SOURCE, route_config_name: h.routeConfigName } : undefined,
    route_config: h.routeConfig !== undefined ? withoutType(routeConfigJson(h.routeConfig)) : undefined,
    http_filters: h.httpFilters.map(httpFilterJson),
    // SANITIZE is the enum's zero value.
    forward_client_cert_details: h.forwardClientCertDetails !== undefined && h.forwardClientCertDetails !== "SANITIZE" ? h.forwardClientCertDetails : undefined,
    set_current_client_cert_details: h.setCurrentClientCertDetails !== undefined ? compact({ ...h.setCurrentClientCertDetails }) : undefined,
    access_log: nonEmpty(h.accessLog?.map(accessLogJson)),
    tracing: h.tracing !== undefined ? compact(tracingJson(h.tracing)) : undefined,
    // AUTO is the enum's zero value.
    codec_type: h.codecType !== undefined && h.codecType !== "AUTO" ? h.codecType : undefined,
    http2_protocol_options: h.http2ProtocolOptions !== undefined ? http2OptionsJson(h.http2ProtocolOptions) : undefined,
    upgrade_configs: upgradeConfigsJson(h.upgradeConfigs),
  });
}

function tcpProxyJson(t: TcpProxy): Json {
  return compact({
    "@type": typeUrl("envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"),
    stat_prefix: t.statPrefix,
    cluster: t.cluster,
    weighted_clusters: t.weightedClusters !== undefined ? { clusters: t.weightedClusters.map((c) => ({ name: c.name, weight: c.weight })) } : undefined,
    idle_timeout: duration(t.idleTimeoutMs),
    // 1 is Envoy's default: written only when it differs.
    max_connect_attempts: t.maxConnectAttempts !== 1 ? t.maxConnectAttempts : undefined,
    access_log: nonEmpty(t.accessLog?.map(accessLogJson)),
  });
}

/** A network filter; tcp_proxy's Istio stats become the `istio.stats` network filter before it, as istiod writes them. */
function networkFiltersJson(f: NetworkFilter): Json[] {
  if (f.name === HTTP_CONNECTION_MANAGER) return [{ name: f.name, typed_config: hcmJson(f.typedConfig) }];
  if (f.name === TCP_PROXY) {
    const out: Json[] = [];
    if (f.typedConfig.istioStats !== undefined) out.push({ name: ISTIO_STATS_FILTER, typed_config: istioStatsJson(f.typedConfig.istioStats) });
    out.push({ name: f.name, typed_config: tcpProxyJson(f.typedConfig) });
    return out;
  }
  if (f.name === NETWORK_RBAC_FILTER) return [{ name: f.name, typed_config: rbacJson(f.typedConfig, true) }];
  // A filter carried but not run goes back under its Envoy name, as received.
  if (f.name === NOOP_NETWORK_FILTER) return [compact({ name: f.noop.filterName, typed_config: f.noop.typedConfig })];
  return [{ name: (f as { name: string }).name }];
}

export function filterChainJson(c: FilterChain): Json {
  return compact({
    filter_chain_match: filterChainMatchJson(c.filterChainMatch),
    filters: c.filters.flatMap(networkFiltersJson),
    transport_socket: c.transportSocket !== undefined ? transportSocketJson(c.transportSocket) : undefined,
    name: c.name,
  });
}

/** Envoy filter_disabled as istiod writes it: one destination_port_range, or an or_match of several. */
function filterDisabledJson(ranges: ReadonlyArray<{ start: number; end: number }> | undefined): Json | undefined {
  if (ranges === undefined || ranges.length === 0) return undefined;
  const rules = ranges.map((r) => ({ destination_port_range: { start: r.start, end: r.end } }));
  return rules.length === 1 ? rules[0] : { or_match: { rules } };
}

export function listenerJson(l: Listener): Json {
  return compact({
    "@type": typeUrl("envoy.config.listener.v3.Listener"),
    name: l.name,
    address: socketAddress(l.address, l.port),
    filter_chains: nonEmpty(l.filterChains.map(filterChainJson)),
    default_filter_chain: l.defaultFilterChain !== undefined ? filterChainJson(l.defaultFilterChain) : undefined,
    listener_filters: nonEmpty(
      l.listenerFilters.map((f) => {
        const type = LISTENER_FILTER_TYPES[f.name];
        return compact({ name: f.name, typed_config: type !== undefined ? { "@type": typeUrl(type) } : undefined, filter_disabled: filterDisabledJson(f.disabledForDestinationPorts) });
      }),
    ),
    listener_filters_timeout: l.listenerFiltersTimeoutMs !== undefined ? duration(l.listenerFiltersTimeoutMs) : undefined,
    continue_on_listener_filters_timeout: l.continueOnListenerFiltersTimeout,
    use_original_dst: l.useOriginalDst,
    bind_to_port: l.bindToPort,
    transparent: l.transparent,
    traffic_direction: l.trafficDirection === "UNSPECIFIED" ? undefined : l.trafficDirection,
    // Listener.additional_addresses (field 33): AdditionalAddress{address}, each on the listener's port.
    additional_addresses: nonEmpty((l.additionalAddresses ?? []).map((a) => ({ address: socketAddress(a.address, l.port) }))),
  });
}
