// The HTTP connection manager network filter (envoy.filters.network.http_connection_manager):
// owns each connection's HTTP codec (HTTP/1 or HTTP/2, by codec_type) and, per request, the HTTP
// filter chain that ends in the router. Per snapshot it holds the route table and the HTTP filter factories; a
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
import { Http2ServerCodec, Http2ServerConnection } from "./http2-server-connection.js";
import type { ListenerContext } from "./listener-context.js";
import { compileUpgradePolicy } from "./upgrade-policy.js";
import { compileXfcc } from "./xfcc.js";

export class HttpConnectionManagerFactory implements NetworkFilterFactory {
  readonly name = HTTP_CONNECTION_MANAGER;
  readonly ctx: ListenerContext;
  private env: NetworkFilterEnv;
  private codecType: "AUTO" | "HTTP1" | "HTTP2";
  private hcm: HttpConnectionManager;
  /** The HTTP/2 session settings, made on the first HTTP/2 connection of this snapshot. */
  private h2: Http2ServerCodec | undefined;
  /** Open HTTP/2 connections, told when their listener starts draining. */
  private readonly http2Connections = new Set<Http2ServerConnection>();
  /** codec_type AUTO: the HTTP/1 codec hands a connection that starts with the HTTP/2 preface here. */
  private readonly toHttp2 = (socket: Duplex, info: ConnectionInfo): void => {
    new Http2ServerConnection(socket, info, this.ctx, this.env.tracker, this.http2Codec(), this.http2Connections);
  };

  constructor(
    config: NetworkFilter,
    env: NetworkFilterEnv,
    private readonly httpFilters: HttpFilterRegistry,
  ) {
    this.env = env;
    const hcm = hcmConfig(config);
    this.hcm = hcm;
    this.codecType = hcm.codecType ?? "AUTO";
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

  /**
   * Envoy's codec_type: HTTP2 and HTTP1 force a codec; AUTO takes HTTP/2 when TLS negotiated
   * ALPN `h2` or http_inspector saw the preface (`h2c`), and otherwise lets the HTTP/1 codec look
   * at the first bytes (no extra read for HTTP/1 clients).
   */
  onNewConnection(socket: Duplex, info: ConnectionInfo): void {
    const ct = this.codecType;
    if (ct === "HTTP1") {
      new Http1ServerConnection(socket, info, this.ctx, this.env.tracker);
      return;
    }
    const tls = info.tls;
    if (ct === "HTTP2" || (tls !== undefined ? tls.alpn === "h2" : info.applicationProtocols.includes("h2c"))) {
      this.toHttp2(socket, info);
      return;
    }
    new Http1ServerConnection(socket, info, this.ctx, this.env.tracker, this.toHttp2);
  }

  private http2Codec(): Http2ServerCodec {
    const clock = this.env.services.clock;
    return (this.h2 ??= new Http2ServerCodec(this.hcm, this.env.services.limits, () => clock.monotonic(), clock));
  }

  update(config: NetworkFilter, env: NetworkFilterEnv): void {
    const hcm = hcmConfig(config);
    const ctx = this.ctx;
    this.env = env;
    this.hcm = hcm;
    this.codecType = hcm.codecType ?? "AUTO";
    // New HTTP/2 connections get the new settings; live sessions keep theirs.
    this.h2 = undefined;
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
    if (env.draining) this.drainHttp2();
  }

  setDraining(draining: boolean): void {
    this.ctx.draining = draining;
    if (draining) this.drainHttp2();
  }

  /**
   * HTTP/2 connections get the GOAWAY sequence as soon as their listener drains, idle ones too:
   * its first GOAWAY (2^31-1) cannot race a request the way closing an idle HTTP/1 keep-alive
   * connection would, and a client that honours it moves on at once (Envoy waits for the next
   * response on each connection; an idle one would then hold the drain until its idle timeout).
   */
  private drainHttp2(): void {
    for (const c of this.http2Connections) c.drain();
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
