// Envoy's proto tree (the one @grpc/grpc-js-xds ships: envoy-api, cncf xds/udpa, googleapis,
// protoc-gen-validate), protobufjs's well-known types and Istio's vendored protos (proto/istio/),
// loaded into one protobufjs Root with proto field names (keepCase).
//
// The Root is loaded lazily on first use and cached for the process: parsing ~300 files costs a few
// hundred milliseconds, and the Root is never modified after loading (types are only looked up), so
// sharing it between callers of one process (supervisor, workers each load their own) is safe. This
// is the one process-wide cache of this module, on purpose.

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import protobuf from "protobufjs";
import { packageRoot } from "../../cli/package-root.js";

/** Envoy-tree files loaded (their imports follow). Every type of drop-in-envoy.md §4.2 and §5, the bootstrap, xDS/SDS services and admin dumps. */
export const ENVOY_PROTO_FILES: readonly string[] = [
  // Resources and their services.
  "envoy/config/listener/v3/listener.proto",
  "envoy/config/route/v3/route.proto",
  "envoy/config/route/v3/scoped_route.proto",
  "envoy/config/cluster/v3/cluster.proto",
  "envoy/config/endpoint/v3/endpoint.proto",
  "envoy/extensions/transport_sockets/tls/v3/tls.proto",
  "envoy/extensions/transport_sockets/tls/v3/secret.proto",
  "envoy/config/core/v3/extension.proto",
  "envoy/config/bootstrap/v3/bootstrap.proto",
  "envoy/service/discovery/v3/ads.proto",
  "envoy/service/discovery/v3/discovery.proto",
  "envoy/service/secret/v3/sds.proto",
  "envoy/service/listener/v3/lds.proto",
  "envoy/service/route/v3/rds.proto",
  "envoy/service/cluster/v3/cds.proto",
  "envoy/service/endpoint/v3/eds.proto",
  "envoy/service/extension/v3/config_discovery.proto",
  // Admin.
  "envoy/admin/v3/config_dump.proto",
  "envoy/admin/v3/server_info.proto",
  "envoy/admin/v3/listeners.proto",
  "envoy/admin/v3/clusters.proto",
  "envoy/admin/v3/certs.proto",
  "envoy/admin/v3/init_dump.proto",
  "envoy/admin/v3/memory.proto",
  "envoy/admin/v3/metrics.proto",
  // Network filters.
  "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
  "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto",
  "envoy/extensions/filters/network/rbac/v3/rbac.proto",
  "envoy/extensions/filters/network/ext_authz/v3/ext_authz.proto",
  "envoy/extensions/filters/network/wasm/v3/wasm.proto",
  "envoy/extensions/filters/network/connection_limit/v3/connection_limit.proto",
  "envoy/extensions/filters/network/local_ratelimit/v3/local_rate_limit.proto",
  "envoy/extensions/filters/network/set_filter_state/v3/set_filter_state.proto",
  // HTTP filters.
  "envoy/extensions/filters/http/router/v3/router.proto",
  "envoy/extensions/filters/http/rbac/v3/rbac.proto",
  "envoy/extensions/filters/http/jwt_authn/v3/config.proto",
  "envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto",
  "envoy/extensions/filters/http/fault/v3/fault.proto",
  "envoy/extensions/filters/http/cors/v3/cors.proto",
  "envoy/extensions/filters/http/grpc_stats/v3/config.proto",
  "envoy/extensions/filters/http/grpc_web/v3/grpc_web.proto",
  "envoy/extensions/filters/http/wasm/v3/wasm.proto",
  "envoy/extensions/filters/http/stateful_session/v3/stateful_session.proto",
  "envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto",
  "envoy/extensions/filters/http/dynamic_forward_proxy/v3/dynamic_forward_proxy.proto",
  "envoy/extensions/filters/http/set_filter_state/v3/set_filter_state.proto",
  "envoy/extensions/filters/http/header_mutation/v3/header_mutation.proto",
  "envoy/extensions/filters/http/lua/v3/lua.proto",
  "envoy/extensions/filters/http/compressor/v3/compressor.proto",
  "envoy/extensions/filters/http/gzip/v3/gzip.proto",
  "envoy/extensions/filters/http/buffer/v3/buffer.proto",
  "envoy/extensions/filters/http/health_check/v3/health_check.proto",
  "envoy/extensions/filters/http/header_to_metadata/v3/header_to_metadata.proto",
  "envoy/extensions/filters/http/ratelimit/v3/rate_limit.proto",
  "envoy/extensions/filters/http/ext_proc/v3/ext_proc.proto",
  // Listener filters.
  "envoy/extensions/filters/listener/original_dst/v3/original_dst.proto",
  "envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto",
  "envoy/extensions/filters/listener/http_inspector/v3/http_inspector.proto",
  "envoy/extensions/filters/listener/proxy_protocol/v3/proxy_protocol.proto",
  "envoy/extensions/filters/listener/original_src/v3/original_src.proto",
  // Transport sockets, upstreams, clusters.
  "envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto",
  "envoy/extensions/transport_sockets/internal_upstream/v3/internal_upstream.proto",
  "envoy/extensions/transport_sockets/proxy_protocol/v3/upstream_proxy_protocol.proto",
  "envoy/extensions/transport_sockets/tcp_stats/v3/tcp_stats.proto",
  "envoy/extensions/upstreams/http/v3/http_protocol_options.proto",
  "envoy/extensions/upstreams/tcp/v3/tcp_protocol_options.proto",
  "envoy/extensions/clusters/aggregate/v3/cluster.proto",
  "envoy/extensions/clusters/dynamic_forward_proxy/v3/cluster.proto",
  "envoy/extensions/bootstrap/internal_listener/v3/internal_listener.proto",
  // Access logs, formatters, request ids, tracers, retry predicates, stats sinks.
  "envoy/extensions/access_loggers/file/v3/file.proto",
  "envoy/extensions/access_loggers/stream/v3/stream.proto",
  "envoy/extensions/access_loggers/grpc/v3/als.proto",
  "envoy/extensions/access_loggers/filters/cel/v3/cel.proto",
  "envoy/extensions/formatter/cel/v3/cel.proto",
  "envoy/extensions/formatter/metadata/v3/metadata.proto",
  "envoy/extensions/formatter/req_without_query/v3/req_without_query.proto",
  "envoy/extensions/request_id/uuid/v3/uuid.proto",
  "envoy/config/trace/v3/opentelemetry.proto",
  "envoy/config/trace/v3/zipkin.proto",
  "envoy/config/trace/v3/datadog.proto",
  "envoy/config/trace/v3/lightstep.proto",
  "envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto",
  "envoy/extensions/retry/priority/previous_priorities/v3/previous_priorities_config.proto",
  "envoy/config/metrics/v3/stats.proto",
  "envoy/extensions/wasm/v3/wasm.proto",
  "envoy/extensions/http/original_ip_detection/xff/v3/xff.proto",
  "envoy/extensions/http/header_formatters/preserve_case/v3/preserve_case.proto",
  "envoy/extensions/resource_monitors/fixed_heap/v3/fixed_heap.proto",
  // pilot-agent's bootstrap (1.29+): the 15090 listener's compressors, the overload manager's monitor.
  "envoy/extensions/compression/brotli/compressor/v3/brotli.proto",
  "envoy/extensions/compression/gzip/compressor/v3/gzip.proto",
  "envoy/extensions/compression/zstd/compressor/v3/zstd.proto",
  "envoy/extensions/resource_monitors/downstream_connections/v3/downstream_connections.proto",
  "envoy/extensions/http/stateful_session/cookie/v3/cookie.proto",
  "envoy/extensions/http/stateful_session/header/v3/header.proto",
  "envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto",
  "envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto",
  "envoy/extensions/load_balancing_policies/random/v3/random.proto",
  "envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash.proto",
  "envoy/extensions/load_balancing_policies/maglev/v3/maglev.proto",
  "envoy/extensions/load_balancing_policies/client_side_weighted_round_robin/v3/client_side_weighted_round_robin.proto",
  "envoy/extensions/load_balancing_policies/cluster_provided/v3/cluster_provided.proto",
  // Matchers (istiod's filter_chain_matcher: network inputs, IP / domain matchers), compression
  // libraries (the bootstrap's stats compressors), resource monitors, DNS resolvers, misc extensions.
  "envoy/extensions/matching/common_inputs/network/v3/network_inputs.proto",
  "envoy/extensions/matching/common_inputs/ssl/v3/ssl_inputs.proto",
  "envoy/extensions/matching/common_inputs/environment_variable/v3/input.proto",
  "envoy/extensions/matching/input_matchers/ip/v3/ip.proto",
  "envoy/extensions/matching/input_matchers/consistent_hashing/v3/consistent_hashing.proto",
  "envoy/extensions/matching/input_matchers/runtime_fraction/v3/runtime_fraction.proto",
  "envoy/type/matcher/v3/http_inputs.proto",
  "envoy/type/matcher/v3/status_code_input.proto",
  "envoy/type/matcher/v3/filter_state.proto",
  "xds/type/matcher/v3/matcher.proto",
  "xds/type/matcher/v3/ip.proto",
  "xds/type/matcher/v3/domain.proto",
  "xds/type/matcher/v3/range.proto",
  "xds/type/matcher/v3/http_inputs.proto",
  "envoy/extensions/compression/brotli/compressor/v3/brotli.proto",
  "envoy/extensions/compression/brotli/decompressor/v3/brotli.proto",
  "envoy/extensions/compression/gzip/compressor/v3/gzip.proto",
  "envoy/extensions/compression/gzip/decompressor/v3/gzip.proto",
  "envoy/extensions/compression/zstd/compressor/v3/zstd.proto",
  "envoy/extensions/compression/zstd/decompressor/v3/zstd.proto",
  "envoy/extensions/filters/http/decompressor/v3/decompressor.proto",
  "envoy/extensions/resource_monitors/downstream_connections/v3/downstream_connections.proto",
  "envoy/extensions/resource_monitors/injected_resource/v3/injected_resource.proto",
  "envoy/extensions/network/dns_resolver/cares/v3/cares_dns_resolver.proto",
  "envoy/extensions/network/dns_resolver/getaddrinfo/v3/getaddrinfo_dns_resolver.proto",
  "envoy/extensions/filters/network/sni_cluster/v3/sni_cluster.proto",
  "envoy/extensions/filters/network/sni_dynamic_forward_proxy/v3/sni_dynamic_forward_proxy.proto",
  "envoy/extensions/filters/udp/udp_proxy/v3/udp_proxy.proto",
  "envoy/extensions/filters/http/grpc_http1_bridge/v3/config.proto",
  "envoy/extensions/rbac/matchers/upstream_ip_port/v3/upstream_ip_port_matcher.proto",
  "envoy/extensions/rbac/audit_loggers/stream/v3/stream.proto",
  "envoy/extensions/path/match/uri_template/v3/uri_template_match.proto",
  "envoy/extensions/path/rewrite/uri_template/v3/uri_template_rewrite.proto",
  "envoy/extensions/http/custom_response/local_response_policy/v3/local_response_policy.proto",
  "envoy/extensions/http/custom_response/redirect_policy/v3/redirect_policy.proto",
  "envoy/extensions/stat_sinks/graphite_statsd/v3/graphite_statsd.proto",
  "envoy/extensions/health_checkers/redis/v3/redis.proto",
  // Well-known types (protobufjs's bundled definitions), so an Any may hold any of them.
  "google/protobuf/any.proto",
  "google/protobuf/duration.proto",
  "google/protobuf/timestamp.proto",
  "google/protobuf/struct.proto",
  "google/protobuf/wrappers.proto",
  "google/protobuf/field_mask.proto",
  "google/protobuf/empty.proto",
  // TypedStruct (udpa and xds).
  "udpa/type/v1/typed_struct.proto",
  "xds/type/v3/typed_struct.proto",
];

/** Istio's vendored protos, relative to proto/istio (see its README). */
export const ISTIO_PROTO_FILES: readonly string[] = [
  "api/envoy/config/filter/http/alpn/v2alpha1/config.proto",
  "api/envoy/config/filter/network/metadata_exchange/metadata_exchange.proto",
  "api/envoy/extensions/stats/config.proto",
  "proxy/source/extensions/filters/http/peer_metadata/config.proto",
  "proxy/source/extensions/filters/network/peer_metadata/config.proto",
  "proxy/source/extensions/filters/network/istio_authn/config.proto",
  "proxy/source/extensions/filters/http/connect_authority/config.proto",
  "proxy/source/extensions/filters/http/connect_baggage/config.proto",
  "proxy/source/extensions/filters/listener/set_internal_dst_address/config.proto",
];

/** The folders imports resolve against, in order. */
export function protoIncludeDirs(): string[] {
  const xds = dirname(createRequire(import.meta.url).resolve("@grpc/grpc-js-xds/package.json"));
  const protobufjsDir = dirname(createRequire(import.meta.url).resolve("protobufjs/package.json"));
  return [
    ...["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((d) => join(xds, "deps", d)),
    // descriptor.proto (imported by the validate and udpa annotations); the other WKTs are bundled in protobufjs.
    protobufjsDir,
  ];
}

let cachedRoot: protobuf.Root | undefined;
let loadMs = 0;

/** The loaded Root (first call loads it, a few hundred ms). */
export function protoRoot(): protobuf.Root {
  if (cachedRoot !== undefined) return cachedRoot;
  const started = performance.now();
  const includes = protoIncludeDirs();
  const istioDir = join(packageRoot(), "proto", "istio");
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string | null => {
    if (target.startsWith("/") && existsSync(target)) return target;
    // protobufjs serves google/protobuf/{any,duration,struct,…}.proto from its bundled definitions.
    for (const dir of includes) {
      const p = join(dir, target);
      if (existsSync(p)) return p;
    }
    return target;
  };
  root.loadSync([...ENVOY_PROTO_FILES, ...ISTIO_PROTO_FILES.map((f) => join(istioDir, f))], { keepCase: true });
  root.resolveAll();
  loadMs = performance.now() - started;
  cachedRoot = root;
  return root;
}

/** How long the Root took to load (0 before the first load): measured by the tests. */
export function protoRootLoadMs(): number {
  return loadMs;
}

/** The message type `name` (fully qualified, no leading dot), or undefined when it is not loaded. */
export function lookupMessageType(name: string): protobuf.Type | undefined {
  try {
    return protoRoot().lookupType(name.startsWith(".") ? name : "." + name);
  } catch {
    return undefined;
  }
}
