import { describe, expect, it } from "vitest";
import { lookupMessageType, protoRoot, protoRootLoadMs } from "../../../../src/config/envoy/proto-registry.js";

// Every message type a sidecar meets (drop-in-envoy.md §4.2, §5), the bootstrap, xDS/SDS and admin.
const REQUIRED = [
  "envoy.config.listener.v3.Listener",
  "envoy.config.route.v3.RouteConfiguration",
  "envoy.config.cluster.v3.Cluster",
  "envoy.config.endpoint.v3.ClusterLoadAssignment",
  "envoy.extensions.transport_sockets.tls.v3.Secret",
  "envoy.config.core.v3.TypedExtensionConfig",
  "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
  "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
  "envoy.extensions.filters.network.rbac.v3.RBAC",
  "envoy.extensions.filters.http.rbac.v3.RBAC",
  "envoy.extensions.filters.http.rbac.v3.RBACPerRoute",
  "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
  "envoy.extensions.filters.http.fault.v3.HTTPFault",
  "envoy.extensions.filters.http.cors.v3.Cors",
  "envoy.extensions.filters.http.cors.v3.CorsPolicy",
  "envoy.extensions.filters.http.grpc_stats.v3.FilterConfig",
  "envoy.extensions.filters.http.router.v3.Router",
  "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
  "envoy.extensions.filters.network.ext_authz.v3.ExtAuthz",
  "envoy.extensions.filters.http.wasm.v3.Wasm",
  "envoy.extensions.filters.listener.original_dst.v3.OriginalDst",
  "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector",
  "envoy.extensions.filters.listener.http_inspector.v3.HttpInspector",
  "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
  "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
  "envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer",
  "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
  "envoy.extensions.access_loggers.file.v3.FileAccessLog",
  "envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig",
  "envoy.config.trace.v3.OpenTelemetryConfig",
  "envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate",
  "udpa.type.v1.TypedStruct",
  "xds.type.v3.TypedStruct",
  "envoy.extensions.formatter.cel.v3.Cel",
  "envoy.extensions.formatter.metadata.v3.Metadata",
  "envoy.extensions.formatter.req_without_query.v3.ReqWithoutQuery",
  "envoy.config.bootstrap.v3.Bootstrap",
  "envoy.service.discovery.v3.DiscoveryRequest",
  "envoy.service.discovery.v3.DiscoveryResponse",
  "envoy.service.discovery.v3.DeltaDiscoveryRequest",
  "envoy.service.discovery.v3.DeltaDiscoveryResponse",
  "envoy.admin.v3.ConfigDump",
  "envoy.admin.v3.BootstrapConfigDump",
  "envoy.admin.v3.ListenersConfigDump",
  "envoy.admin.v3.ClustersConfigDump",
  "envoy.admin.v3.RoutesConfigDump",
  "envoy.admin.v3.SecretsConfigDump",
  "envoy.admin.v3.EndpointsConfigDump",
  "envoy.admin.v3.ServerInfo",
  "envoy.admin.v3.Listeners",
  "envoy.admin.v3.Clusters",
  "envoy.admin.v3.Certificates",
  // Istio's own (vendored under proto/istio).
  "stats.PluginConfig",
  "istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig",
  "envoy.tcp.metadataexchange.config.MetadataExchange",
  "io.istio.http.peer_metadata.Config",
  "io.istio.network.authn.Config",
  "io.istio.http.connect_authority.Config",
  "io.istio.http.connect_baggage.Config",
  "istio.set_internal_dst_address.v1.Config",
];

describe("proto registry", () => {
  it("loads Envoy's, xds/udpa's and Istio's protos well under a second, once", () => {
    const root = protoRoot();
    expect(protoRootLoadMs()).toBeGreaterThan(0);
    expect(protoRootLoadMs()).toBeLessThan(1500);
    expect(protoRoot()).toBe(root);
    for (const name of REQUIRED) expect(lookupMessageType(name), name).toBeDefined();
  });

  it("knows the discovery services and answers undefined for a type it does not have", () => {
    expect(protoRoot().lookupService("envoy.service.discovery.v3.AggregatedDiscoveryService").methods).toHaveProperty("DeltaAggregatedResources");
    expect(protoRoot().lookupService("envoy.service.secret.v3.SecretDiscoveryService").methods).toHaveProperty("StreamSecrets");
    expect(lookupMessageType("envoy.config.filter.network.http_connection_manager.v2.HttpConnectionManager")).toBeUndefined();
  });
});
