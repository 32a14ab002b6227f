// The two listeners istio-iptables redirects to, and the clusters behind them, as istiod builds
// them for a sidecar: `virtualOutbound` (0.0.0.0:15001: original destination → the per-port
// outbound listener, else PassthroughCluster / BlackHoleCluster) and `virtualInbound`
// (0.0.0.0:15006: per-port inbound chains, else InboundPassthroughCluster from 127.0.0.6).

import { ISTIO_CONNECT_TIMEOUT_MS, istioDefaultCircuitBreakers } from "../model/defaults.js";
import { DEFAULT_TCP_IDLE_TIMEOUT_MS, httpFilterChain, tcpProxyFilterChain } from "../model/listener-defaults.js";
import type { Cluster, FilterChain, Listener, ListenerFilterConfig, TcpProxy } from "../model/types.js";
import { DEFAULT_PROTOCOL_DETECTION_TIMEOUT_MS, wildcardAdditionalAddresses, type Interception } from "./interception.js";

export const VIRTUAL_OUTBOUND_LISTENER = "virtualOutbound";
export const VIRTUAL_INBOUND_LISTENER = "virtualInbound";
export const PASSTHROUGH_CLUSTER = "PassthroughCluster";
export const BLACK_HOLE_CLUSTER = "BlackHoleCluster";
/** Istio >= 1.23's name (<= 1.22: InboundPassthroughClusterIpv4 / …Ipv6). */
export const INBOUND_PASSTHROUGH_CLUSTER = "InboundPassthroughCluster";
export const PASSTHROUGH_FILTER_CHAIN = "PassthroughFilterChain";
/** 127.0.0.6: istiod's InboundPassthroughBindIpv4; istio-iptables lets traffic from it through (no loop). */
export const INBOUND_PASSTHROUGH_BIND_IPV4 = "127.0.0.6";
/** Plaintext HTTP as http_inspector reports it (istiod plaintextHTTPALPNs). */
export const PLAINTEXT_HTTP_ALPNS = ["http/1.1", "h2c"];
/** 300 000 ms: istiod's passthrough clusters' upstream HTTP idle timeout (5 min). */
const PASSTHROUGH_IDLE_TIMEOUT_MS = 300_000;
const ORIGINAL_DST = "envoy.filters.listener.original_dst" as const;
const TLS_INSPECTOR = "envoy.filters.listener.tls_inspector" as const;
const HTTP_INSPECTOR = "envoy.filters.listener.http_inspector" as const;

/** A tcp_proxy straight to one cluster, as istiod writes them for the virtual listeners' chains. */
export function tcpProxyTo(cluster: string): TcpProxy {
  return { statPrefix: cluster, cluster, idleTimeoutMs: DEFAULT_TCP_IDLE_TIMEOUT_MS, maxConnectAttempts: 1 };
}

/** istiod buildDefaultPassthroughCluster: ORIGINAL_DST, the downstream's HTTP protocol, 5 min idle. */
export function passthroughCluster(name: string = PASSTHROUGH_CLUSTER): Cluster {
  return {
    name,
    type: "ORIGINAL_DST",
    lbPolicy: "CLUSTER_PROVIDED",
    connectTimeoutMs: ISTIO_CONNECT_TIMEOUT_MS,
    loadAssignment: { endpoints: [] },
    circuitBreakers: istioDefaultCircuitBreakers(),
    httpProtocolOptions: { commonHttpProtocolOptions: { idleTimeoutMs: PASSTHROUGH_IDLE_TIMEOUT_MS }, useDownstreamProtocolConfig: { httpProtocolOptions: {}, http2ProtocolOptions: {} } },
  };
}

/** ::6: istiod's InboundPassthroughBindIpv6, the IPv6 counterpart (istio-iptables lets it through, and puts it on lo). */
export const INBOUND_PASSTHROUGH_BIND_IPV6 = "::6";

/** istiod's inbound bind: 127.0.0.6, plus extra_source_addresses ::6 for a dual-stack proxy (an IPv6 app address needs an IPv6 source). */
export function inboundPassthroughBind(dualStack: boolean): NonNullable<Cluster["upstreamBindConfig"]> {
  return dualStack ? { sourceAddress: INBOUND_PASSTHROUGH_BIND_IPV4, extraSourceAddresses: [INBOUND_PASSTHROUGH_BIND_IPV6] } : { sourceAddress: INBOUND_PASSTHROUGH_BIND_IPV4 };
}

/** istiod buildInboundPassthroughCluster: the passthrough cluster, bound to 127.0.0.6 (and ::6 when dual-stack) so iptables lets it reach the app. */
export function inboundPassthroughCluster(dualStack = false): Cluster {
  return { ...passthroughCluster(INBOUND_PASSTHROUGH_CLUSTER), upstreamBindConfig: inboundPassthroughBind(dualStack) };
}

/** istiod buildBlackHoleCluster: STATIC without endpoints (every connection fails at once). */
export function blackHoleCluster(): Cluster {
  return { name: BLACK_HOLE_CLUSTER, type: "STATIC", lbPolicy: "ROUND_ROBIN", connectTimeoutMs: ISTIO_CONNECT_TIMEOUT_MS, loadAssignment: { endpoints: [] } };
}

/**
 * `virtualOutbound` on 0.0.0.0:<outboundPort>: use_original_dst hands each connection to the
 * per-port listener of its original destination; what none takes goes to `catchAllCluster`.
 * Connections whose destination is 15001 itself are black-holed (a loop guard).
 */
export function virtualOutboundListener(ic: Interception, catchAllCluster: string): Listener {
  const l: Listener = {
    name: VIRTUAL_OUTBOUND_LISTENER,
    address: "0.0.0.0",
    port: ic.outboundPort,
    trafficDirection: "OUTBOUND",
    useOriginalDst: true,
    listenerFilters: [],
    filterChains: [
      tcpProxyFilterChain(`${VIRTUAL_OUTBOUND_LISTENER}-blackhole`, tcpProxyTo(BLACK_HOLE_CLUSTER), ic.outboundPort),
      tcpProxyFilterChain(`${VIRTUAL_OUTBOUND_LISTENER}-catchall-tcp`, tcpProxyTo(catchAllCluster)),
    ],
  };
  if (ic.mode === "TPROXY") l.transparent = true;
  const extra = wildcardAdditionalAddresses(ic);
  if (extra !== undefined) l.additionalAddresses = extra;
  return l;
}

/** The inbound ports sniffing is not needed on: explicitly HTTP or TCP (istiod's http_inspector filter_disabled). */
export interface InboundChains {
  /** Per-port chains (`0.0.0.0_<port>`), in port order. */
  chains: FilterChain[];
  /** Ports with a declared (non-sniffed) protocol. */
  declaredPorts: number[];
}

function portRanges(ports: number[]): Array<{ start: number; end: number }> {
  return [...new Set(ports)].sort((a, b) => a - b).map((p) => ({ start: p, end: p + 1 }));
}

/**
 * `virtualInbound` on 0.0.0.0:<inboundPort>: original_dst, tls_inspector and http_inspector (the
 * inspectors skipped for 15006 itself; http_inspector also for ports whose protocol is declared),
 * no listener-filter timeout; chains: blackhole (destination 15006), catch-all HTTP (sniffed as
 * HTTP → InboundPassthroughCluster through an HCM), catch-all TCP, then the per-port chains.
 */
export function virtualInboundListener(ic: Interception, inbound: InboundChains, passthroughRouteConfig: string): Listener {
  // Dual stack: the catch-alls take IPv6 destinations too (Istio <= 1.22 had a second chain per
  // family for this; newer istiod drops the prefix match altogether).
  const everyIpv4 = [{ addressPrefix: "0.0.0.0", prefixLen: 0 }, ...(ic.dualStack === true ? [{ addressPrefix: "::", prefixLen: 0 }] : [])];
  const self = ic.inboundPort;
  const tlsInspector: ListenerFilterConfig = { name: TLS_INSPECTOR, disabledForDestinationPorts: portRanges([self]) };
  const httpInspector: ListenerFilterConfig = { name: HTTP_INSPECTOR, disabledForDestinationPorts: portRanges([...inbound.declaredPorts, self]) };
  const catchAllHttp = httpFilterChain(`${VIRTUAL_INBOUND_LISTENER}-catchall-http`, `inbound_0.0.0.0_${self}`, passthroughRouteConfig);
  catchAllHttp.filterChainMatch = { prefixRanges: everyIpv4, transportProtocol: "raw_buffer", applicationProtocols: [...PLAINTEXT_HTTP_ALPNS] };
  const catchAllTcp = tcpProxyFilterChain(VIRTUAL_INBOUND_LISTENER, tcpProxyTo(INBOUND_PASSTHROUGH_CLUSTER));
  catchAllTcp.filterChainMatch = { prefixRanges: everyIpv4, transportProtocol: "raw_buffer" };
  const l: Listener = {
    name: VIRTUAL_INBOUND_LISTENER,
    address: "0.0.0.0",
    port: self,
    trafficDirection: "INBOUND",
    // No use_original_dst (istiod sets none here): the original_dst listener filter learns the
    // destination and the chains match on it; connections are never handed to another listener.
    listenerFilters: [{ name: ORIGINAL_DST }, tlsInspector, httpInspector],
    // MeshConfig protocolDetectionTimeout, then continue: a server-first client that sends nothing
    // goes on as TCP when it passes (see DEFAULT_PROTOCOL_DETECTION_TIMEOUT_MS).
    listenerFiltersTimeoutMs: ic.protocolDetectionTimeoutMs ?? DEFAULT_PROTOCOL_DETECTION_TIMEOUT_MS,
    continueOnListenerFiltersTimeout: true,
    filterChains: [tcpProxyFilterChain(`${VIRTUAL_INBOUND_LISTENER}-blackhole`, tcpProxyTo(BLACK_HOLE_CLUSTER), self), catchAllHttp, catchAllTcp, ...inbound.chains],
  };
  if (ic.mode === "TPROXY") l.transparent = true;
  const extra = wildcardAdditionalAddresses(ic);
  if (extra !== undefined) l.additionalAddresses = extra;
  return l;
}
