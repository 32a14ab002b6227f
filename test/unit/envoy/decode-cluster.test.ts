// Cluster, ClusterLoadAssignment and Secret decoding: Envoy's defaults, the forms istiod sends, and
// an error naming the field for what Outrigger cannot honour.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeCluster } from "../../../src/config/envoy/decode-cluster.js";
import { decodeClusterLoadAssignment } from "../../../src/config/envoy/decode-endpoints.js";
import { decodeSecret } from "../../../src/config/envoy/decode-secret.js";
import type { DecodeContext, Decoded, Json } from "../../../src/config/envoy/decoded.js";

const ctx: DecodeContext = { origin: "xds" };

function ok<T>(d: Decoded<T>): { value: T; notes: string[] } {
  if (!d.ok) throw new Error(d.errors.join("; "));
  return { value: d.value, notes: d.notes.map((n) => `${n.path}: ${n.message}`) };
}
function bad<T>(d: Decoded<T>): string[] {
  if (d.ok) throw new Error("expected errors");
  return d.errors;
}
const sa = (address: string, port_value: number) => ({ socket_address: { address, port_value } });
const ep = (address: string, port: number, extra: Json = {}) => ({ endpoint: { address: sa(address, port) }, ...extra });
const cluster = (extra: Json): Decoded<import("../../../src/config/model/types.js").Cluster> => decodeCluster({ name: "c", ...extra }, ctx);

describe("Cluster decoder", () => {
  it("Envoy's defaults: STATIC, ROUND_ROBIN, 5 s connect timeout, thresholds 1024/1024/1024/3", () => {
    expect(ok(cluster({})).value).toEqual({ name: "c", type: "STATIC", lbPolicy: "ROUND_ROBIN", connectTimeoutMs: 5000, loadAssignment: { endpoints: [] }, circuitBreakers: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 } });
  });

  it("istiod's outbound EDS cluster: metadata → serviceHost/subset, auto-mTLS transport socket matches, metadata exchange filter carried", () => {
    const tls = { name: "envoy.transport_sockets.tls", typed_config: { "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext", common_tls_context: { tls_certificate_sds_secret_configs: [{ name: "default", sds_config: { ads: {}, resource_api_version: "V3" } }], combined_validation_context: { default_validation_context: { match_subject_alt_names: [{ exact: "spiffe://cluster.local/ns/shop/sa/reviews" }] }, validation_context_sds_secret_config: { name: "ROOTCA", sds_config: { ads: {}, resource_api_version: "V3" } } }, alpn_protocols: ["istio-peer-exchange", "istio"] }, sni: "outbound_.9080_.v1_.reviews.shop.svc.cluster.local" } };
    const d = ok(cluster({
      name: "outbound|9080|v1|reviews.shop.svc.cluster.local",
      type: "EDS",
      eds_cluster_config: { eds_config: { ads: {}, initial_fetch_timeout: "0s", resource_api_version: "V3" }, service_name: "outbound|9080|v1|reviews.shop.svc.cluster.local" },
      connect_timeout: "10s",
      lb_policy: "LEAST_REQUEST",
      circuit_breakers: { thresholds: [{ max_connections: 4294967295, max_pending_requests: 4294967295, max_requests: 4294967295, max_retries: 4294967295, track_remaining: true }] },
      common_lb_config: { locality_weighted_lb_config: {} },
      metadata: { filter_metadata: { istio: { services: [{ host: "reviews.shop.svc.cluster.local", name: "reviews", namespace: "shop" }], subset: "v1", default_original_port: 9080 } } },
      filters: [{ name: "istio.metadata_exchange", typed_config: { "@type": "type.googleapis.com/udpa.type.v1.TypedStruct", type_url: "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange", value: { protocol: "istio-peer-exchange" } } }],
      transport_socket_matches: [{ name: "tlsMode-istio", match: { tlsMode: "istio" }, transport_socket: tls }, { name: "tlsMode-disabled", match: {}, transport_socket: { name: "envoy.transport_sockets.raw_buffer", typed_config: { "@type": "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer" } } }],
    }));
    expect(d.value).toMatchObject({ type: "EDS", lbPolicy: "LEAST_REQUEST", connectTimeoutMs: 10_000, serviceHost: "reviews.shop.svc.cluster.local", subset: "v1", localityWeightedLb: true });
    expect(d.value.transportSocketMatches?.map((m) => [m.name, m.match, m.transportSocket.name])).toEqual([["tlsMode-istio", { tlsMode: "istio" }, "envoy.transport_sockets.tls"], ["tlsMode-disabled", {}, "envoy.transport_sockets.raw_buffer"]]);
    expect(d.value.filters).toEqual([{ filterName: "istio.metadata_exchange", reason: expect.stringContaining("metadata exchange"), typedConfig: expect.objectContaining({ type_url: "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange" }) }]);
    expect(d.notes.some((n) => n.startsWith("filters[0]: istio.metadata_exchange: carried, not run"))).toBe(true);
  });

  it("type and lb_policy must agree as Envoy requires; custom types, subset LB and a foreign EDS service name are refused", () => {
    expect(bad(cluster({ type: "ORIGINAL_DST" }))).toEqual(["lb_policy: an ORIGINAL_DST cluster needs lb_policy CLUSTER_PROVIDED, got ROUND_ROBIN"]);
    expect(bad(cluster({ lb_policy: "CLUSTER_PROVIDED" }))).toEqual(["lb_policy: lb_policy CLUSTER_PROVIDED is only valid for ORIGINAL_DST clusters (type STATIC)"]);
    expect(ok(cluster({ type: "ORIGINAL_DST", lb_policy: "ORIGINAL_DST_LB" })).value.lbPolicy).toBe("CLUSTER_PROVIDED");
    expect(bad(cluster({ cluster_type: { name: "envoy.clusters.aggregate" } }))).toEqual(["cluster_type: custom cluster types (aggregate, dynamic forward proxy, …) are not supported by Outrigger"]);
    expect(bad(cluster({ lb_subset_config: {} }))).toEqual(["lb_subset_config: subset load balancing is not supported by Outrigger"]);
    expect(bad(cluster({ type: "EDS", eds_cluster_config: { service_name: "other" } }))[0]).toContain("eds_cluster_config.service_name");
    expect(ok(cluster({ type: "EDS", eds_cluster_config: { eds_config: { api_config_source: { api_type: "GRPC" } } } })).notes).toEqual(["eds_cluster_config.eds_config: only ADS is supported: the endpoints are requested on the ADS stream"]);
    expect(bad(cluster({ type: "LOGICAL_DNS", load_assignment: { endpoints: [{ lb_endpoints: [ep("a.example", 80), ep("b.example", 80)] }] } }))).toEqual(["load_assignment: a LOGICAL_DNS cluster needs exactly one locality with exactly one endpoint"]);
    expect(bad(cluster({ type: "MAGIC" }))[0]).toContain("type: expected one of STATIC, STRICT_DNS, LOGICAL_DNS, EDS, ORIGINAL_DST");
    expect(bad(decodeCluster({}, ctx))).toEqual(["name: a cluster name is required"]);
  });

  it("typed load_balancing_policy: the first supported policy wins (slow start read); none supported → error", () => {
    const pol = (type: string, extra: Json = {}) => ({ typed_extension_config: { name: type, typed_config: { "@type": `type.googleapis.com/${type}`, ...extra } } });
    const d = ok(cluster({ load_balancing_policy: { policies: [pol("envoy.extensions.load_balancing_policies.client_side_weighted_round_robin.v3.ClientSideWeightedRoundRobin"), pol("envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest", { slow_start_config: { slow_start_window: "30s", aggression: { default_value: 2, runtime_key: "" } } })] } }));
    expect(d.value).toMatchObject({ lbPolicy: "LEAST_REQUEST", slowStart: { windowMs: 30_000, aggression: 2, minWeightPercent: 10 } });
    expect(d.notes[0]).toContain("ClientSideWeightedRoundRobin is not supported; trying the next one");
    expect(ok(cluster({ load_balancing_policy: { policies: [pol("envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash", { minimum_ring_size: "2048" })] } })).value).toMatchObject({ lbPolicy: "RING_HASH", ringHashLbConfig: { minimumRingSize: 2048, maximumRingSize: 8_388_608 } });
    expect(bad(cluster({ load_balancing_policy: { policies: [pol("x.y.Z")] } }))[0]).toContain("load_balancing_policy: none of the load balancing policies is supported");
    expect(ok(cluster({ lb_policy: "MAGLEV", maglev_lb_config: { table_size: "1021" } })).value.maglevLbConfig).toEqual({ tableSize: 1021 });
  });

  it("outlier detection with Envoy's defaults; success-rate ejection (Envoy's default) is a note", () => {
    const d = ok(cluster({ outlier_detection: { consecutive_5xx: 3, base_ejection_time: "60s" } }));
    expect(d.value.outlierDetection).toEqual({ consecutive5xx: 3, enforcingConsecutive5xx: 100, consecutiveGatewayFailure: 5, enforcingConsecutiveGatewayFailure: 0, consecutiveLocalOriginFailure: 5, enforcingConsecutiveLocalOriginFailure: 100, splitExternalLocalOriginErrors: false, intervalMs: 10_000, baseEjectionTimeMs: 60_000, maxEjectionTimeMs: 300_000, maxEjectionPercent: 10 });
    expect(d.notes).toContain("outlier_detection.enforcing_success_rate: success-rate ejection is not supported (istiod sets enforcing_success_rate 0)");
    expect(ok(cluster({ outlier_detection: { enforcing_success_rate: 0 } })).notes).toEqual([]);
  });

  it("protocol options, keepalive (seconds), bind config with extra source addresses; a non-IP source address is refused", () => {
    const d = ok(cluster({
      typed_extension_protocol_options: { "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": { "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions", common_http_protocol_options: { idle_timeout: "30s", max_requests_per_connection: 7 }, use_downstream_protocol_config: {} } },
      upstream_connection_options: { tcp_keepalive: { keepalive_time: 10, keepalive_probes: 3 } },
      upstream_bind_config: { source_address: { address: "127.0.0.6", port_value: 0 }, extra_source_addresses: [{ address: { address: "::6", port_value: 0 } }] },
    }));
    expect(d.value).toMatchObject({ httpProtocolOptions: { commonHttpProtocolOptions: { idleTimeoutMs: 30_000, maxRequestsPerConnection: 7 }, useDownstreamProtocolConfig: {} }, upstreamConnectionOptions: { tcpKeepalive: { keepaliveTimeMs: 10_000, keepaliveProbes: 3 } }, upstreamBindConfig: { sourceAddress: "127.0.0.6", extraSourceAddresses: ["::6"] } });
    expect(bad(cluster({ upstream_bind_config: { source_address: { address: "localhost" } } }))).toEqual(['upstream_bind_config.source_address.address: expected an IP address, got "localhost"']);
    expect(bad(cluster({ typed_extension_protocol_options: { "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": { "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions", explicit_http_config: { http3_protocol_options: {} } } } }))[0]).toContain("http3_protocol_options: upstream HTTP/3 is not supported by Outrigger");
  });

  it("a pipe endpoint (the bootstrap's xds-grpc) resolves a relative path against the working directory; abstract sockets kept", () => {
    const c = (path: string) => ok(decodeCluster({ name: "xds-grpc", type: "STATIC", load_assignment: { cluster_name: "xds-grpc", endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path } } } }] }] } }, { origin: "bootstrap", cwd: "/etc/istio/proxy" })).value.loadAssignment.endpoints[0]!.lbEndpoints[0];
    expect(c("./XDS")).toEqual({ address: "", port: 0, pipe: "/etc/istio/proxy/XDS", weight: 1, labels: {}, healthStatus: "HEALTHY" });
    expect(c("@abstract")?.pipe).toBe("@abstract");
  });
});

describe("ClusterLoadAssignment decoder", () => {
  it("localities, priorities, weights, health as Envoy treats it, labels from envoy.transport_socket_match", () => {
    const d = ok(decodeClusterLoadAssignment({
      cluster_name: "outbound|9080||reviews.shop.svc.cluster.local",
      endpoints: [
        { locality: { region: "us-east", zone: "a" }, load_balancing_weight: 4, lb_endpoints: [ep("10.0.0.1", 9080, { health_status: "HEALTHY", load_balancing_weight: 2, metadata: { filter_metadata: { istio: { workload: "reviews-v1;shop;reviews;v1;Kubernetes" }, "envoy.transport_socket_match": { tlsMode: "istio" } } } }), ep("10.0.0.2", 9080, { health_status: "DRAINING" })] },
        { priority: 1, lb_endpoints: [ep("10.0.0.3", 9080, { health_status: "TIMEOUT" }), ep("10.0.0.4", 9080, { health_status: "DEGRADED" })] },
      ],
      policy: { overprovisioning_factor: 140 },
    }, ctx));
    expect(d.value).toEqual({
      clusterName: "outbound|9080||reviews.shop.svc.cluster.local",
      endpoints: [
        { locality: { region: "us-east", zone: "a" }, priority: 0, loadBalancingWeight: 4, lbEndpoints: [{ address: "10.0.0.1", port: 9080, weight: 2, labels: { tlsMode: "istio" }, healthStatus: "HEALTHY" }, { address: "10.0.0.2", port: 9080, weight: 1, labels: {}, healthStatus: "DRAINING" }] },
        { locality: {}, priority: 1, lbEndpoints: [{ address: "10.0.0.3", port: 9080, weight: 1, labels: {}, healthStatus: "UNHEALTHY" }, { address: "10.0.0.4", port: 9080, weight: 1, labels: {}, healthStatus: "HEALTHY" }] },
      ],
    });
    expect(d.notes).toEqual(["endpoints[1].lb_endpoints[1].health_status: DEGRADED is treated as HEALTHY (no degraded tier)"]);
  });

  it("errors name the field", () => {
    expect(bad(decodeClusterLoadAssignment({ endpoints: [] }, ctx))).toEqual(["cluster_name: a cluster name is required"]);
    expect(bad(decodeClusterLoadAssignment({ cluster_name: "c", endpoints: [{ lb_endpoints: [ep("10.0.0.1", 80, { load_balancing_weight: 0 })] }] }, ctx))).toEqual(["endpoints[0].lb_endpoints[0].load_balancing_weight: must be at least 1"]);
    expect(bad(decodeClusterLoadAssignment({ cluster_name: "c", endpoints: [{ lb_endpoints: [ep("10.0.0.1", 70000)] }] }, ctx))[0]).toContain("endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value");
    expect(bad(decodeClusterLoadAssignment({ cluster_name: "c", endpoints: [{ lb_endpoints: [ep("10.0.0.1", 80, { health_status: "SICK" })] }] }, ctx))[0]).toContain("endpoints[0].lb_endpoints[0].health_status: expected one of UNKNOWN, HEALTHY");
  });
});

describe("Secret decoder", () => {
  const pem = "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n";
  it("inline_bytes, inline_string, and files read at decode (relative to the working directory)", () => {
    const dir = mkdtempSync(join(tmpdir(), "decroute-secret-"));
    writeFileSync(join(dir, "cert.pem"), pem);
    writeFileSync(join(dir, "key.pem"), "KEY");
    expect(ok(decodeSecret({ name: "default", tls_certificate: { certificate_chain: { filename: "cert.pem" }, private_key: { inline_string: "KEY" } } }, { origin: "bootstrap", cwd: dir })).value).toEqual({ name: "default", tlsCertificate: { certificateChain: pem, privateKey: "KEY" } });
    expect(ok(decodeSecret({ name: "ROOTCA", validation_context: { trusted_ca: { inline_bytes: Buffer.from(pem).toString("base64") } } }, ctx)).value).toEqual({ name: "ROOTCA", validationContext: { trustedCa: pem } });
    expect(bad(decodeSecret({ name: "default", tls_certificate: { certificate_chain: { filename: join(dir, "absent.pem") }, private_key: { inline_string: "K" } } }, ctx))[0]).toMatch(/^tls_certificate\.certificate_chain\.filename: cannot read .*absent\.pem/);
  });

  it("anything else is an error", () => {
    expect(bad(decodeSecret({ name: "x", generic_secret: { secret: { inline_string: "s" } } }, ctx))).toContain("generic_secret: generic secrets are not supported by Outrigger");
    expect(bad(decodeSecret({ name: "x", tls_certificate: { certificate_chain: { inline_string: pem } } }, ctx))).toEqual(["tls_certificate.private_key: required"]);
    expect(bad(decodeSecret({ name: "x", validation_context: { trusted_ca: { inline_string: pem }, match_typed_subject_alt_names: [] } }, ctx))).toEqual(["validation_context.match_typed_subject_alt_names: only trusted_ca is supported in an SDS validation context by Outrigger"]);
    expect(bad(decodeSecret({ tls_certificate: {} }, ctx))).toEqual(["name: a secret name is required"]);
    expect(bad(decodeSecret({ name: "x" }, ctx))).toEqual(["secret: one of tls_certificate, validation_context is required"]);
  });
});
