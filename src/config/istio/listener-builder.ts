// Listeners a Sidecar resource asks for (ingress → INBOUND with its `inbound|<port>||` route and
// cluster; egress with a port → OUTBOUND bound sockets) and the default outbound listener.

import type { Cluster, Listener, RouteConfiguration } from "../model/types.js";
import { httpListener, listenerName } from "../model/listener-defaults.js";
import { istioDefaultCircuitBreakers, ISTIO_CONNECT_TIMEOUT_MS } from "../model/defaults.js";
import { inboundRetryPolicy } from "./retry-policy.js";
import { hostCoveredBy, hostsMatch } from "./host-name.js";
import type { ParsedSidecarEgress, ParsedSidecarIngress, ParsedVirtualService } from "./parsed-config.js";
import type { MeshService } from "./service-registry.js";
import { portProtocol, type Protocol } from "./protocol.js";
import { upstreamProtocolFor } from "./upstream-protocol.js";

/**
 * Egress listeners without an explicit bind listen on loopback: outrigger binds real sockets for
 * them (no iptables capture in front), and 127.0.0.1 keeps them private to the pod/host.
 */
export const DEFAULT_EGRESS_BIND = "127.0.0.1";
/** Istio's default bind for Sidecar ingress listeners. */
export const DEFAULT_INGRESS_BIND = "0.0.0.0";
/** Route configuration of the default outbound (HTTP proxy) listener. */
export const HTTP_PROXY_ROUTE_CONFIG = "outbound_http_proxy";

export { listenerName };

export function inboundClusterName(port: number): string {
  return `inbound|${port}||`;
}

export interface InboundParts {
  listener: Listener;
  routeConfig: RouteConfiguration;
  cluster: Cluster;
}

/** One Sidecar ingress entry: listener `<bind>_<port>`, route `inbound|<port>||`, STATIC cluster to the app. */
export function buildInbound(ing: ParsedSidecarIngress): InboundParts {
  const port = ing.port.number;
  const clusterName = inboundClusterName(port);
  return {
    listener: httpListener({ address: ing.bind, port, direction: "INBOUND", routeConfigName: clusterName }),
    routeConfig: inboundRouteConfig(clusterName, `inbound|http|${port}`, clusterName, portProtocol(ing.port.protocol, ing.port.name)),
    cluster: inboundCluster(ing),
  };
}

/**
 * istiod's inbound route configuration: one virtual host for every domain, one default route to
 * `cluster` (BuildDefaultHTTPInboundRoute: no timeout, max_stream_duration 0s with
 * grpc_timeout_header_max 0s, and the inbound retry policy except on gRPC ports, where
 * reset-before-request retries break streaming).
 */
export function inboundRouteConfig(name: string, virtualHostName: string, cluster: string, protocol?: Protocol): RouteConfiguration {
  const grpc = protocol === "GRPC" || protocol === "GRPC-WEB";
  return {
    name,
    virtualHosts: [
      {
        name: virtualHostName,
        domains: ["*"],
        routes: [
          {
            name: "default",
            match: { prefix: "/", caseSensitive: true, headers: [], queryParameters: [] },
            // istiod's default inbound route: no timeout, retry only resets before the request was sent.
            route: { cluster, timeoutMs: 0, ...(grpc ? {} : { retryPolicy: inboundRetryPolicy() }), maxStreamDuration: { maxStreamDurationMs: 0, grpcTimeoutHeaderMaxMs: 0 } },
            requestHeadersToAdd: [],
            requestHeadersToRemove: [],
            responseHeadersToAdd: [],
            responseHeadersToRemove: [],
          },
        ],
      },
    ],
  };
}

/**
 * The STATIC cluster `inbound|<port>||` to the app behind a Sidecar ingress port (HTTP or TCP),
 * reached in the protocol its port declares (istiod's setUpstreamProtocol for inbound clusters:
 * HTTP2 / GRPC / GRPC-WEB → HTTP/2, no protocol → the downstream's; no h2 upgrade inbound).
 */
export function inboundCluster(ing: ParsedSidecarIngress): Cluster {
  const port = ing.port.number;
  // No defaultEndpoint: the app is assumed to listen on the same port on loopback.
  const ep = ing.defaultEndpoint ?? { address: "127.0.0.1", port };
  const upstream = upstreamProtocolFor(undefined, { protocol: portProtocol(ing.port.protocol, ing.port.name), direction: "inbound" });
  return {
    ...(Object.keys(upstream).length > 0 ? { httpProtocolOptions: upstream } : {}),
    name: inboundClusterName(port),
    type: "STATIC",
    lbPolicy: "LEAST_REQUEST",
    connectTimeoutMs: ISTIO_CONNECT_TIMEOUT_MS,
    // istiod applies the (default) connection pool to inbound clusters too.
    circuitBreakers: istioDefaultCircuitBreakers(),
    loadAssignment: {
      endpoints: [{ locality: {}, priority: 0, loadBalancingWeight: 1, lbEndpoints: [{ address: ep.address, port: ep.port, weight: 1, labels: {}, healthStatus: "HEALTHY" }] }],
    },
    subset: "",
  };
}

export function buildOutboundListener(address: string, port: number, routeConfigName: string): Listener {
  return httpListener({ address, port, direction: "OUTBOUND", routeConfigName });
}

/** Route configuration name for an egress listener: the port for the default bind, else `<bind>_<port>`. */
export function egressRouteConfigName(eg: ParsedSidecarEgress): string {
  const port = eg.port?.number ?? 0;
  return eg.bind === undefined || eg.bind === DEFAULT_EGRESS_BIND ? String(port) : `${eg.bind}_${port}`;
}

/** A Sidecar egress `hosts` filter (`ns/dnsName`, `*` and `~` namespaces, wildcard names); undefined = import all. */
export class EgressImport {
  constructor(private readonly hosts: ReadonlyArray<{ namespace: string; host: string }> | undefined) {}

  private nsMatches(entryNs: string, ns: string): boolean {
    return entryNs === "*" || entryNs === ns;
  }

  service(svc: MeshService): boolean {
    if (!this.hosts) return true;
    return this.hosts.some((h) => h.namespace !== "~" && this.nsMatches(h.namespace, svc.namespace) && hostCoveredBy(svc.hostname, h.host));
  }

  virtualService(vs: ParsedVirtualService): boolean {
    if (!this.hosts) return true;
    return this.hosts.some((h) => h.namespace !== "~" && this.nsMatches(h.namespace, vs.ref.namespace) && vs.hosts.some((vh) => h.host === "*" || hostsMatch(vh, h.host)));
  }
}
