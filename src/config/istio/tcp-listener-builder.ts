// TCP listeners as istiod builds them for a sidecar without original-destination capture: a
// Sidecar egress port of the TCP family gets one tcp_proxy chain to one service (the first the
// egress imports; without the original destination nothing tells two services on one port
// apart), routed by the first matching VirtualService `tcp[]` rule (buildSidecarOutboundTCP
// FilterChainOpts); a Sidecar ingress TCP port forwards to the app through `inbound|PORT||`.

import { DEFAULT_TCP_IDLE_TIMEOUT_MS, listenerName, tcpProxyFilterChain } from "../model/listener-defaults.js";
import type { Listener, TcpProxy } from "../model/types.js";
import { outboundClusterName } from "./cluster-builder.js";
import type { DestinationRuleIndex } from "./destination-rule-index.js";
import { hostsMatch } from "./host-name.js";
import type { ParsedDestination, ParsedL4Match, ParsedRouteDestination, ParsedSidecarIngress, ParsedVirtualService } from "./parsed-config.js";
import type { MeshService } from "./service-registry.js";
import { labelsMatch } from "./workload-selector.js";

/** Envoy's tcp_proxy max_connect_attempts default, which istiod leaves unset. */
const MAX_CONNECT_ATTEMPTS = 1;

export interface TcpRouteContext {
  proxyNamespace: string;
  proxyLabels: Record<string, string>;
  servicesByHost: ReadonlyMap<string, MeshService>;
  drs: DestinationRuleIndex;
}

export interface TcpChoice {
  config: TcpProxy;
  /** The VirtualService rule that routed it (`shop/db-vs tcp[0]`), absent for the default route. */
  source?: string;
  /** Rules that match this port but need the original destination (destinationSubnets): not applied. */
  skipped: string[];
}

/** istiod matchTCP / matchTLS for a sidecar: mesh gateway, source labels and namespace, listener port. */
export function matchesTcp(m: ParsedL4Match, port: number, ctx: TcpRouteContext): boolean {
  if (m.gateways.length > 0 && !m.gateways.includes("mesh")) return false;
  if (m.sourceLabels !== undefined && !labelsMatch(m.sourceLabels, ctx.proxyLabels)) return false;
  if (m.port !== undefined && m.port !== port) return false;
  return m.sourceNamespace === undefined || m.sourceNamespace === ctx.proxyNamespace;
}

/** istiod GetDestinationCluster: the destination's port, else the service's only port, else the listener port. */
function destinationCluster(d: ParsedDestination, listenPort: number, ctx: TcpRouteContext): string {
  const svc = ctx.servicesByHost.get(d.host);
  const port = d.port ?? (svc !== undefined && svc.ports.length === 1 ? svc.ports[0]!.number : listenPort);
  return outboundClusterName(port, d.subset ?? "", d.host);
}

/** istiod: the DestinationRule's top-level connectionPool.tcp.idleTimeout, else Envoy's 1 h. */
function idleTimeoutFor(host: string, ctx: TcpRouteContext): number {
  const svc = ctx.servicesByHost.get(host);
  const dr = svc !== undefined ? ctx.drs.lookup(svc.hostname, svc.namespace) : undefined;
  return dr?.trafficPolicy?.policy.connectionPool?.tcp?.idleTimeoutMs ?? DEFAULT_TCP_IDLE_TIMEOUT_MS;
}

/** The tcp_proxy for a rule's routes: one cluster, or weighted clusters named after the VirtualService. */
export function fromRoutes(routes: ParsedRouteDestination[], listenPort: number, vs: ParsedVirtualService, ctx: TcpRouteContext): TcpProxy {
  const idleTimeoutMs = idleTimeoutFor(routes[0]!.destination.host, ctx);
  if (routes.length === 1) {
    const cluster = destinationCluster(routes[0]!.destination, listenPort, ctx);
    return { statPrefix: cluster, cluster, idleTimeoutMs, maxConnectAttempts: MAX_CONNECT_ATTEMPTS };
  }
  return {
    statPrefix: `${vs.ref.name}.${vs.ref.namespace}`,
    // istiod drops zero-weight destinations.
    weightedClusters: routes.filter((r) => r.weight > 0).map((r) => ({ name: destinationCluster(r.destination, listenPort, ctx), weight: r.weight })),
    idleTimeoutMs,
    maxConnectAttempts: MAX_CONNECT_ATTEMPTS,
  };
}

/** The tcp_proxy for `svc` on a TCP listener at `listenPort`: the first matching `tcp[]` rule, else the service itself. */
export function tcpProxyFor(svc: MeshService, listenPort: number, vss: readonly ParsedVirtualService[], ctx: TcpRouteContext): TcpChoice {
  const skipped: string[] = [];
  for (const vs of vss) {
    if (!vs.hosts.some((h) => hostsMatch(h, svc.hostname))) continue;
    for (const rule of vs.tcp) {
      if (rule.route.length === 0) continue;
      const where = `${vs.ref.namespace}/${vs.ref.name} tcp[${rule.index}]`;
      const applies = rule.match.length === 0 || rule.match.some((m) => matchesTcp(m, listenPort, ctx) && m.destinationSubnets.length === 0);
      if (applies) return { config: fromRoutes(rule.route, listenPort, vs, ctx), source: where, skipped };
      if (rule.match.some((m) => matchesTcp(m, listenPort, ctx))) skipped.push(where);
    }
  }
  return { config: defaultTcpProxy(svc, listenPort, ctx), skipped };
}

/** The service's own tcp_proxy: its only port when it has one, else the listener port (istiod: traffic likely blackholes). */
export function defaultTcpProxy(svc: MeshService, listenPort: number, ctx: TcpRouteContext): TcpProxy {
  const port = svc.ports.length === 1 ? svc.ports[0]!.number : listenPort;
  const cluster = outboundClusterName(port, "", svc.hostname);
  return { statPrefix: cluster, cluster, idleTimeoutMs: idleTimeoutFor(svc.hostname, ctx), maxConnectAttempts: MAX_CONNECT_ATTEMPTS };
}

export function tcpOutboundListener(address: string, port: number, config: TcpProxy): Listener {
  const name = listenerName(address, port);
  return { name, address, port, trafficDirection: "OUTBOUND", listenerFilters: [], filterChains: [tcpProxyFilterChain(`outbound_${name}`, config)] };
}

/** A Sidecar ingress TCP port: `<bind>_<port>` INBOUND, tcp_proxy to `inbound|<port>||`. */
export function tcpInboundListener(ing: ParsedSidecarIngress, clusterName: string): Listener {
  const name = listenerName(ing.bind, ing.port.number);
  const config: TcpProxy = { statPrefix: clusterName, cluster: clusterName, idleTimeoutMs: DEFAULT_TCP_IDLE_TIMEOUT_MS, maxConnectAttempts: MAX_CONNECT_ATTEMPTS };
  return { name, address: ing.bind, port: ing.port.number, trafficDirection: "INBOUND", listenerFilters: [], filterChains: [tcpProxyFilterChain(`inbound_${name}`, config)] };
}
