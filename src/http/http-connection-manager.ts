// The HTTP connection manager network filter (envoy.filters.network.http_connection_manager):
// owns each connection's HTTP codec (HTTP/1 today) and, per request, the HTTP filter chain that
// ends in the router. Per snapshot it holds the route table and the HTTP filter factories; a
// reload updates them in place, so keep-alive connections route with the new config from their
// next request.

import type { Duplex } from "node:stream";
import { HTTP_CONNECTION_MANAGER, ISTIO_STATS_FILTER, type HttpConnectionManager, type IstioStatsConfig, type Listener, type NetworkFilter } from "../config/model/types.js";
import { defaultIstioStats } from "../config/model/listener-defaults.js";
import type { CompiledTelemetry } from "../observability/telemetry.js";
import { HttpConnManagerStats } from "../observability/stats/http-conn-manager-stats.js";
import type { ConnectionInfo } from "../listener/connection-info.js";
import type { NetworkFilterEnv, NetworkFilterFactory } from "../listener/network-filter.js";
import type { HttpFilterRegistry } from "./filters/http-filter-registry.js";
import { Http1ServerConnection } from "./http1-server-connection.js";
import type { ListenerContext } from "./listener-context.js";
import { compileUpgradePolicy } from "./upgrade-policy.js";
import { compileXfcc } from "./xfcc.js";

export class HttpConnectionManagerFactory implements NetworkFilterFactory {
  readonly name = HTTP_CONNECTION_MANAGER;
  readonly ctx: ListenerContext;
  private env: NetworkFilterEnv;

  constructor(
    config: NetworkFilter,
    env: NetworkFilterEnv,
    private readonly httpFilters: HttpFilterRegistry,
  ) {
    this.env = env;
    const hcm = hcmConfig(config);
    this.ctx = {
      name: env.listener.name,
      filterChainName: env.chainName,
      direction: env.listener.trafficDirection,
      serverName: serverNameFor(env.listener),
      statPrefix: hcm.statPrefix,
      httpStats: new HttpConnManagerStats(env.services.stats, hcm.statPrefix),
      routeTable: env.routeTables.get(hcm.routeConfigName),
      httpFilters: this.httpFilters.build(hcm.httpFilters, { statPrefix: hcm.statPrefix, stats: env.services.stats }),
      telemetry: compileTelemetry(hcm, env),
      draining: env.draining,
      xfcc: compileXfcc(hcm),
      upgrades: compileUpgradePolicy(hcm.upgradeConfigs),
      services: env.services,
    };
  }

  onNewConnection(socket: Duplex, info: ConnectionInfo): void {
    new Http1ServerConnection(socket, info, this.ctx, this.env.tracker);
  }

  update(config: NetworkFilter, env: NetworkFilterEnv): void {
    const hcm = hcmConfig(config);
    const ctx = this.ctx;
    this.env = env;
    ctx.name = env.listener.name;
    ctx.filterChainName = env.chainName;
    ctx.direction = env.listener.trafficDirection;
    ctx.serverName = serverNameFor(env.listener);
    if (ctx.statPrefix !== hcm.statPrefix) ctx.httpStats = new HttpConnManagerStats(env.services.stats, hcm.statPrefix);
    ctx.statPrefix = hcm.statPrefix;
    ctx.routeTable = env.routeTables.get(hcm.routeConfigName);
    ctx.httpFilters = this.httpFilters.build(hcm.httpFilters, { statPrefix: hcm.statPrefix, stats: env.services.stats });
    ctx.telemetry = compileTelemetry(hcm, env);
    ctx.draining = env.draining;
    ctx.xfcc = compileXfcc(hcm);
    ctx.upgrades = compileUpgradePolicy(hcm.upgradeConfigs);
  }

  setDraining(draining: boolean): void {
    this.ctx.draining = draining;
  }
}

function compileTelemetry(hcm: HttpConnectionManager, env: NetworkFilterEnv): CompiledTelemetry {
  const stats = hcm.httpFilters.find((f) => f.name === ISTIO_STATS_FILTER);
  return env.services.telemetry.compile({
    kind: "http",
    direction: env.listener.trafficDirection,
    listenerName: env.listener.name,
    statPrefix: hcm.statPrefix,
    accessLog: hcm.accessLog,
    tracing: hcm.tracing,
    istioStats: stats === undefined ? undefined : ((stats.typedConfig as IstioStatsConfig | undefined) ?? defaultIstioStats(env.listener.trafficDirection)),
  });
}

function hcmConfig(config: NetworkFilter): HttpConnectionManager {
  if (config.name !== HTTP_CONNECTION_MANAGER) throw new Error(`expected ${HTTP_CONNECTION_MANAGER}, got ${config.name}`);
  return config.typedConfig;
}

/** Envoy's server header: `envoy` outbound, `istio-envoy` inbound (Istio's server_name). */
function serverNameFor(l: Listener): string {
  return l.trafficDirection === "INBOUND" ? "istio-envoy" : "envoy";
}
