// Builders for the listener shapes istiod generates, shared by every config source and by tests:
// one filter chain with the HTTP connection manager (fault and CORS filters, then router) — Envoy's names.

import { HTTP_CONNECTION_MANAGER, HTTP_CORS_FILTER, HTTP_FAULT_FILTER, HTTP_ROUTER_FILTER, TCP_PROXY, type FilterChain, type HttpConnectionManager, type IstioStatsConfig, type Listener, type TcpProxy, type TrafficDirection } from "./types.js";

/** `istio.stats` as istiod configures it by default: the reporter from the direction, no overrides. */
export function defaultIstioStats(direction: TrafficDirection): IstioStatsConfig {
  return { reporter: direction === "INBOUND" ? "destination" : "source", metrics: [] };
}

/** 3 600 000 ms: Envoy's tcp_proxy idle_timeout default (1 h), which Istio keeps. */
export const DEFAULT_TCP_IDLE_TIMEOUT_MS = 3_600_000;

export function listenerName(address: string, port: number): string {
  return `${address}_${port}`;
}

function statPrefixFor(direction: TrafficDirection, name: string): string {
  return `${direction === "INBOUND" ? "inbound" : "outbound"}_${name}`;
}

/** istiod's HTTP filter chain for sidecars, reduced to the filters Outrigger runs. */
export function defaultHttpFilters(): HttpConnectionManager["httpFilters"] {
  // istiod puts the CORS filter in every HTTP chain, right after fault; policies live on routes.
  return [{ name: HTTP_FAULT_FILTER }, { name: HTTP_CORS_FILTER }, { name: HTTP_ROUTER_FILTER }];
}

/** istiod enables WebSocket on every HTTP connection manager it builds (inbound and outbound). */
export function istioUpgradeConfigs(): NonNullable<HttpConnectionManager["upgradeConfigs"]> {
  return [{ upgradeType: "websocket" }];
}

export function httpFilterChain(name: string, statPrefix: string, routeConfigName: string): FilterChain {
  return {
    name,
    filterChainMatch: {},
    filters: [{ name: HTTP_CONNECTION_MANAGER, typedConfig: { statPrefix, routeConfigName, httpFilters: defaultHttpFilters(), upgradeConfigs: istioUpgradeConfigs() } }],
  };
}

export function tcpProxyFilterChain(name: string, config: TcpProxy, destinationPort?: number): FilterChain {
  return {
    name,
    filterChainMatch: destinationPort === undefined ? {} : { destinationPort },
    filters: [{ name: TCP_PROXY, typedConfig: config }],
  };
}

/** A listener with one HTTP connection manager chain on `routeConfigName`. */
export function httpListener(o: { address: string; port: number; direction: TrafficDirection; routeConfigName: string; name?: string }): Listener {
  const name = o.name ?? listenerName(o.address, o.port);
  const statPrefix = statPrefixFor(o.direction, name);
  return {
    name,
    address: o.address,
    port: o.port,
    trafficDirection: o.direction,
    listenerFilters: [],
    filterChains: [httpFilterChain(o.direction === "INBOUND" ? `inbound_${name}` : `outbound_${name}`, statPrefix, o.routeConfigName)],
  };
}

/** The HTTP connection manager of a listener's first chain that has one (undefined: none). */
export function httpConnectionManagerOf(chain: FilterChain): HttpConnectionManager | undefined {
  const last = chain.filters[chain.filters.length - 1];
  return last?.name === HTTP_CONNECTION_MANAGER ? last.typedConfig : undefined;
}
