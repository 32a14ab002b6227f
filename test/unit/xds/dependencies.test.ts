import { describe, expect, it } from "vitest";
import type { Cluster, FilterChain, Listener, TransportSocketConfig } from "../../../src/config/model/types.js";
import { clusterDependencies, listenerDependencies } from "../../../src/xds/dependencies.js";

const sdsTls = (cert: string, ca?: string): TransportSocketConfig => ({
  name: "envoy.transport_sockets.tls",
  typedConfig: {
    commonTlsContext: {
      tlsCertificateSdsSecretConfigs: [{ name: cert }],
      ...(ca !== undefined ? { combinedValidationContext: { defaultValidationContext: {}, validationContextSdsSecretConfig: { name: ca } } } : {}),
    },
  },
});

const cluster = (over: Partial<Cluster>): Cluster => ({ name: "c", type: "STATIC", lbPolicy: "ROUND_ROBIN", connectTimeoutMs: 1000, loadAssignment: { endpoints: [] }, ...over });

const hcmChain = (name: string, routeConfigName: string, inline: boolean, ts?: TransportSocketConfig): FilterChain => ({
  name,
  filterChainMatch: {},
  ...(ts !== undefined ? { transportSocket: ts } : {}),
  filters: [
    {
      name: "envoy.filters.network.http_connection_manager",
      typedConfig: { statPrefix: name, routeConfigName, httpFilters: [], ...(inline ? { routeConfig: { name: routeConfigName, virtualHosts: [] } } : {}) },
    },
  ],
});

describe("what a resource waits for", () => {
  it("an EDS cluster: its service_name (else its name); secrets of its transport socket and of every transport_socket_match", () => {
    const c = cluster({ type: "EDS", transportSocket: sdsTls("default", "ROOTCA"), transportSocketMatches: [{ name: "tlsMode-istio", match: { tlsMode: "istio" }, transportSocket: sdsTls("default", "ROOTCA-2") }] });
    expect(clusterDependencies(c, { eds_cluster_config: { service_name: "svc" } })).toEqual({ endpoints: ["svc"], routes: [], secrets: ["default", "ROOTCA", "ROOTCA-2"] });
    expect(clusterDependencies(c, { eds_cluster_config: {} }).endpoints).toEqual(["c"]);
    expect(clusterDependencies(cluster({}), {})).toEqual({ endpoints: [], routes: [], secrets: [] });
  });

  it("a listener: RDS names of HCMs without an inline route_config, secrets of its filter chains and default chain", () => {
    const l: Listener = {
      name: "l",
      address: "0.0.0.0",
      port: 15006,
      trafficDirection: "INBOUND",
      listenerFilters: [],
      filterChains: [hcmChain("a", "80", false), hcmChain("b", "inbound|9080||", true, sdsTls("default", "ROOTCA")), hcmChain("c", "80", false)],
      defaultFilterChain: hcmChain("d", "passthrough", false, sdsTls("kubernetes://gw-cert")),
    };
    expect(listenerDependencies(l)).toEqual({ endpoints: [], routes: ["80", "passthrough"], secrets: ["default", "ROOTCA", "kubernetes://gw-cert"] });
  });
});
