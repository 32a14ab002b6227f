// The TCP proxy network filter (envoy.filters.network.tcp_proxy): each connection of its filter
// chain becomes a TcpProxySession to the chain's cluster (or one of its weighted clusters). A
// reload swaps the route whole: live sessions keep the upstream they have, new connections use
// the new config. Graceful drain does not touch TCP proxy connections (Envoy's behaviour).

import { TcpProxyStats } from "../observability/stats/tcp-proxy-stats.js";
import type { Duplex } from "node:stream";
import { TCP_PROXY, type NetworkFilter, type TcpProxy } from "../config/model/types.js";
import type { ConnectionInfo } from "../listener/connection-info.js";
import type { NetworkFilterEnv, NetworkFilterFactory } from "../listener/network-filter.js";
import { StreamInfoBuilder } from "../observability/stream-info.js";
import { TcpClusterChoice } from "./tcp-cluster-choice.js";
import { TcpProxySession, type TcpProxyRoute } from "./tcp-proxy-session.js";

export class TcpProxyFactory implements NetworkFilterFactory {
  readonly name = TCP_PROXY;
  route: TcpProxyRoute;
  private env: NetworkFilterEnv;

  constructor(config: NetworkFilter, env: NetworkFilterEnv) {
    this.env = env;
    this.route = routeOf(config, env);
  }

  onNewConnection(socket: Duplex, info: ConnectionInfo): void {
    new TcpProxySession(socket, info, this.route, this.env.tracker);
  }

  update(config: NetworkFilter, env: NetworkFilterEnv): void {
    this.route = routeOf(config, env);
    this.env = env;
  }

  setDraining(): void {}

  /**
   * Network RBAC refused the connection before it reached us: one record (kind "tcp", its cluster,
   * no upstream host: nothing was connected or relayed) for the access log and metrics, with the refusal as Envoy's
   * %CONNECTION_TERMINATION_DETAILS%. Envoy's RBAC sets no response flag.
   */
  onRefused(info: ConnectionInfo, terminationDetails: string): void {
    const route = this.route;
    const si = new StreamInfoBuilder(route.services.clock);
    si.telemetry = route.telemetry;
    si.direction = route.direction;
    si.downstreamTls = info.tls;
    si.connectionTerminationDetails = terminationDetails;
    // Envoy's tcp_proxy picked its cluster when the connection arrived, before RBAC decided.
    si.clusterName = route.clusters.pick(route.services.random);
    si.withoutRequest("tcp", "-");
    si.downstreamRemoteAddress = `${info.remoteIp}:${info.remotePort}`;
    si.downstreamLocalAddress = `${info.localIp}:${info.localPort}`;
    si.listenerName = route.listenerName;
    si.filterChainName = route.filterChainName;
    route.services.onStream(si.finish(0));
  }
}

function routeOf(config: NetworkFilter, env: NetworkFilterEnv): TcpProxyRoute {
  const tcp = tcpProxyConfig(config);
  if (!Number.isFinite(tcp.idleTimeoutMs) || tcp.idleTimeoutMs < 0) throw new Error(`tcp_proxy idleTimeoutMs ${tcp.idleTimeoutMs} must be >= 0`);
  if (!Number.isInteger(tcp.maxConnectAttempts) || tcp.maxConnectAttempts < 1) throw new Error(`tcp_proxy maxConnectAttempts ${tcp.maxConnectAttempts} must be an integer >= 1`);
  return {
    listenerName: env.listener.name,
    filterChainName: env.chainName,
    clusters: new TcpClusterChoice(tcp),
    idleTimeoutMs: tcp.idleTimeoutMs,
    maxConnectAttempts: tcp.maxConnectAttempts,
    services: env.services,
    direction: env.listener.trafficDirection,
    stats: new TcpProxyStats(env.services.stats, tcp.statPrefix),
    telemetry: env.services.telemetry.compile({
      kind: "tcp",
      direction: env.listener.trafficDirection,
      listenerName: env.listener.name,
      statPrefix: tcp.statPrefix,
      accessLog: tcp.accessLog,
      istioStats: tcp.istioStats,
    }),
  };
}

function tcpProxyConfig(config: NetworkFilter): TcpProxy {
  if (config.name !== TCP_PROXY) throw new Error(`expected ${TCP_PROXY}, got ${config.name}`);
  return config.typedConfig;
}
