// A model Cluster as Envoy's envoy.config.cluster.v3.Cluster JSON (type, lb_policy, connect_timeout,
// circuit_breakers, outlier_detection, load_assignment for non-EDS clusters, protocol options), and
// its endpoints as a ClusterLoadAssignment (EndpointsConfigDump with ?include_eds).

import type { Cluster, ClusterLoadAssignment, LbEndpoint, LocalityLbEndpoints } from "../../config/model/types.js";
import { compact, duration, nonEmpty, outriggerMetadata, socketAddress, typeUrl, type Json } from "./envoy-json.js";
import { ADS_CONFIG_SOURCE, transportSocketJson } from "./listener-json.js";
import { httpVersionsJson } from "./http2-options-json.js";

const UINT32_MAX = 4_294_967_295;

const UPSTREAM_TRANSPORT_SOCKET_TYPES: Record<string, string> = {
  "envoy.transport_sockets.raw_buffer": "envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer",
  "envoy.transport_sockets.tls": "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
};

/** Envoy's default (zero) values are left out, as proto3 JSON does. */
function lbEndpointJson(ep: LbEndpoint): Json {
  return compact({
    endpoint: { address: ep.pipe !== undefined ? { pipe: { path: ep.pipe } } : socketAddress(ep.address, ep.port) },
    health_status: ep.healthStatus,
    // Envoy matches transport_socket_matches against this metadata key (istiod writes tlsMode there).
    metadata: Object.keys(ep.labels).length > 0 ? outriggerMetadata({ labels: ep.labels }, ep.labels["tlsMode"] !== undefined ? { "envoy.transport_socket_match": { tlsMode: ep.labels["tlsMode"] } } : {}) : undefined,
    load_balancing_weight: ep.weight,
  });
}

function localityJson(g: LocalityLbEndpoints): Json {
  const loc = compact({ region: g.locality.region, zone: g.locality.zone, sub_zone: g.locality.subZone });
  return compact({
    locality: Object.keys(loc).length > 0 ? loc : undefined,
    lb_endpoints: g.lbEndpoints.map(lbEndpointJson),
    load_balancing_weight: g.loadBalancingWeight,
    priority: g.priority > 0 ? g.priority : undefined,
  });
}

export function loadAssignmentJson(clusterName: string, la: ClusterLoadAssignment, withType: boolean): Json {
  return compact({
    "@type": withType ? typeUrl("envoy.config.endpoint.v3.ClusterLoadAssignment") : undefined,
    cluster_name: clusterName,
    endpoints: nonEmpty(la.endpoints.map(localityJson)),
  });
}

/** Istio's `istio` filter metadata: the service (and subset) the cluster fronts. */
function istioMetadata(c: Cluster): Json {
  if (c.serviceHost === undefined) return {};
  const [name, namespace] = c.serviceHost.split(".");
  return { istio: compact({ services: [compact({ host: c.serviceHost, name, namespace })], subset: c.subset !== "" ? c.subset : undefined }) };
}

export function clusterJson(c: Cluster): Json {
  const cb = c.circuitBreakers;
  const od = c.outlierDetection;
  const hpo = c.httpProtocolOptions;
  const slowStart = c.slowStart !== undefined
    ? { slow_start_config: { slow_start_window: duration(c.slowStart.windowMs), aggression: { default_value: c.slowStart.aggression, runtime_key: "" }, min_weight_percent: { value: c.slowStart.minWeightPercent } } }
    : undefined;
  const ka = c.upstreamConnectionOptions?.tcpKeepalive;
  return compact({
    "@type": typeUrl("envoy.config.cluster.v3.Cluster"),
    name: c.name,
    type: c.type,
    eds_cluster_config: c.type === "EDS" ? { eds_config: ADS_CONFIG_SOURCE, service_name: c.name } : undefined,
    connect_timeout: duration(c.connectTimeoutMs),
    // ROUND_ROBIN is the enum's zero value.
    lb_policy: c.lbPolicy === "ROUND_ROBIN" ? undefined : c.lbPolicy,
    // EDS clusters get their endpoints from EDS: they show in the EndpointsConfigDump (?include_eds).
    load_assignment: c.type !== "EDS" && c.type !== "ORIGINAL_DST" ? loadAssignmentJson(c.name, c.loadAssignment, false) : undefined,
    // No thresholds in the model = no limit in the data path: shown as Envoy must be told it
    // (Envoy's own defaults for an unset circuit_breakers are 1024 / 1024 / 1024 / 3).
    circuit_breakers: { thresholds: [{ max_connections: cb?.maxConnections ?? UINT32_MAX, max_pending_requests: cb?.maxPendingRequests ?? UINT32_MAX, max_requests: cb?.maxRequests ?? UINT32_MAX, max_retries: cb?.maxRetries ?? UINT32_MAX, track_remaining: true }] },
    dns_refresh_rate: c.dnsRefreshRateMs !== undefined ? duration(c.dnsRefreshRateMs) : undefined,
    outlier_detection: od !== undefined
      ? compact({
          consecutive_5xx: od.consecutive5xx,
          interval: duration(od.intervalMs),
          base_ejection_time: duration(od.baseEjectionTimeMs),
          max_ejection_percent: od.maxEjectionPercent,
          enforcing_consecutive_5xx: od.enforcingConsecutive5xx,
          // Istio turns success-rate ejection off.
          enforcing_success_rate: 0,
          consecutive_gateway_failure: od.consecutiveGatewayFailure,
          enforcing_consecutive_gateway_failure: od.enforcingConsecutiveGatewayFailure,
          split_external_local_origin_errors: od.splitExternalLocalOriginErrors ? true : undefined,
          consecutive_local_origin_failure: od.consecutiveLocalOriginFailure,
          enforcing_consecutive_local_origin_failure: od.enforcingConsecutiveLocalOriginFailure,
          max_ejection_time: duration(od.maxEjectionTimeMs),
        })
      : undefined,
    ring_hash_lb_config: c.ringHashLbConfig !== undefined
      ? { minimum_ring_size: String(c.ringHashLbConfig.minimumRingSize), maximum_ring_size: String(c.ringHashLbConfig.maximumRingSize) }
      : undefined,
    maglev_lb_config: c.maglevLbConfig !== undefined ? { table_size: String(c.maglevLbConfig.tableSize) } : undefined,
    round_robin_lb_config: c.lbPolicy === "ROUND_ROBIN" ? slowStart : undefined,
    least_request_lb_config: c.lbPolicy === "LEAST_REQUEST" ? slowStart : undefined,
    common_lb_config: c.healthyPanicThreshold !== undefined || c.localityWeightedLb === true
      ? compact({
          healthy_panic_threshold: c.healthyPanicThreshold !== undefined ? { value: c.healthyPanicThreshold } : undefined,
          locality_weighted_lb_config: c.localityWeightedLb === true ? {} : undefined,
        })
      : undefined,
    transport_socket: c.transportSocket !== undefined ? transportSocketJson(c.transportSocket, UPSTREAM_TRANSPORT_SOCKET_TYPES) : undefined,
    transport_socket_matches: nonEmpty(c.transportSocketMatches?.map((m) => ({ name: m.name, match: { ...m.match }, transport_socket: transportSocketJson(m.transportSocket, UPSTREAM_TRANSPORT_SOCKET_TYPES) }))),
    // istiod's metadata carries the subset only with a service; inbound clusters keep theirs here.
    metadata: outriggerMetadata({ subset: c.serviceHost === undefined ? c.subset : undefined }, istioMetadata(c)),
    filters: nonEmpty(c.filters?.map((f) => compact({ name: f.filterName, typed_config: f.typedConfig }))),
    upstream_bind_config: c.upstreamBindConfig !== undefined
      ? compact({
          source_address: { address: c.upstreamBindConfig.sourceAddress, port_value: 0 },
          extra_source_addresses: nonEmpty(c.upstreamBindConfig.extraSourceAddresses?.map((a) => ({ address: { address: a, port_value: 0 } }))),
        })
      : undefined,
    upstream_connection_options: ka !== undefined
      ? {
          tcp_keepalive: compact({
            keepalive_probes: ka.keepaliveProbes,
            // uint32 seconds in Envoy.
            keepalive_time: ka.keepaliveTimeMs !== undefined ? Math.floor(ka.keepaliveTimeMs / 1000) : undefined,
            keepalive_interval: ka.keepaliveIntervalMs !== undefined ? Math.floor(ka.keepaliveIntervalMs / 1000) : undefined,
          }),
        }
      : undefined,
    typed_extension_protocol_options: hpo !== undefined
      ? {
          "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": compact({
            "@type": typeUrl("envoy.extensions.upstreams.http.v3.HttpProtocolOptions"),
            common_http_protocol_options: hpo.commonHttpProtocolOptions !== undefined
              ? compact({
                  idle_timeout: hpo.commonHttpProtocolOptions.idleTimeoutMs !== undefined ? duration(hpo.commonHttpProtocolOptions.idleTimeoutMs) : undefined,
                  max_requests_per_connection: hpo.commonHttpProtocolOptions.maxRequestsPerConnection,
                  max_connection_duration: hpo.commonHttpProtocolOptions.maxConnectionDurationMs !== undefined ? duration(hpo.commonHttpProtocolOptions.maxConnectionDurationMs) : undefined,
                })
              : undefined,
            explicit_http_config: hpo.explicitHttpConfig !== undefined ? httpVersionsJson(hpo.explicitHttpConfig) : undefined,
            use_downstream_protocol_config: hpo.useDownstreamProtocolConfig !== undefined ? httpVersionsJson(hpo.useDownstreamProtocolConfig) : undefined,
          }),
        }
      : undefined,
  });
}
