// TcpProxySession: one downstream connection of the TCP proxy. It connects upstream at once (so a
// server-first protocol's greeting reaches the client before it sends anything), relays bytes
// both ways with back-pressure, carries half-closes across (a FIN on one side ends the other side's
// writes while the reverse direction keeps flowing), and resets the other side when one side
// resets. Connect failures close the downstream without a byte, as Envoy does. One StreamInfo
// record (kind "tcp") when both sides are gone.

import { upstreamTlsInfoOf } from "../tls/upstream-tls-info.js";
import type { Duplex } from "node:stream";
import { ErrorCode, type ProxyError } from "../common/errors.js";
import type { WorkerServices } from "../http/listener-context.js";
import type { ConnectionInfo } from "../listener/connection-info.js";
import type { ConnectionTracker, DownstreamConnection } from "../listener/network-filter.js";
import { ResponseFlag, StreamInfoBuilder, type StreamInfo } from "../observability/stream-info.js";
import type { CompiledTelemetry } from "../observability/telemetry.js";
import type { TcpProxyStats } from "../observability/stats/tcp-proxy-stats.js";
import type { TrafficDirection } from "../config/model/types.js";
import type { AttemptOutcome, LbContext } from "../upstream/cluster-api.js";
import type { ClusterRuntime } from "../upstream/cluster-manager.js";
import type { CancelConnect, TcpUpstreamConnection } from "../upstream/tcp-conn-pool.js";
import type { UpstreamHost } from "../upstream/upstream-host.js";
import type { TcpClusterChoice } from "./tcp-cluster-choice.js";

/** What a session needs from its filter chain; replaced (not mutated) on reload. */
export interface TcpProxyRoute {
  readonly listenerName: string;
  readonly filterChainName: string;
  readonly clusters: TcpClusterChoice;
  /** 0 = no idle timeout. */
  readonly idleTimeoutMs: number;
  readonly maxConnectAttempts: number;
  readonly services: WorkerServices;
  readonly direction: TrafficDirection;
  /** Access logs and Istio TCP metrics of this chain. */
  readonly telemetry: CompiledTelemetry;
  /** `tcp.<stat_prefix>.*` Envoy stats. */
  readonly stats: TcpProxyStats;
}

const CONNECT_SUCCESS_FINAL: AttemptOutcome = { kind: "connect-success-final" };
const NO_LB_CONTEXT: LbContext = Object.freeze({});
const CONNECT_FAILURE: AttemptOutcome = { kind: "connect-failure" };
const CONNECT_TIMEOUT: AttemptOutcome = { kind: "timeout" };

export class TcpProxySession implements DownstreamConnection {
  private readonly si: StreamInfoBuilder;
  private readonly downstreamRemote: string;
  private readonly downstreamLocal: string;
  /** Where the downstream connection was going (an ORIGINAL_DST cluster's host). */
  private readonly originalDst: { ip: string; port: number };
  private cluster: ClusterRuntime | undefined;
  private host: UpstreamHost | undefined;
  private upstream: TcpUpstreamConnection | null = null;
  private us: Duplex | null = null;
  private cancelConnect: CancelConnect | null = null;
  private attempts = 0;
  /** Coarse time of the last byte either way (the idle timeout counts from it). */
  private lastActivity: number;
  private downstreamEnded = false;
  private upstreamEnded = false;
  private downstreamClosed = false;
  private upstreamClosed = true;
  /** Reading paused because the other side's write buffer is full. */
  private dsPausedForUs = false;
  private usPausedForDs = false;
  private finished = false;

  constructor(
    private readonly ds: Duplex,
    info: ConnectionInfo,
    private readonly route: TcpProxyRoute,
    private readonly tracker: ConnectionTracker,
  ) {
    const services = route.services;
    this.si = new StreamInfoBuilder(services.clock);
    this.si.telemetry = route.telemetry;
    this.si.direction = route.direction;
    this.si.downstreamTls = info.tls;
    this.downstreamRemote = `${info.remoteIp}:${info.remotePort}`;
    this.downstreamLocal = `${info.localIp}:${info.localPort}`;
    this.originalDst = { ip: info.localIp, port: info.localPort };
    this.lastActivity = services.coarseNow;
    route.stats.cxTotal.inc();
    tracker.add(this);
    // The client's FIN must not end our side: the upstream may still answer (half-close).
    ds.allowHalfOpen = true;
    // Nothing is read until the upstream is connected (Envoy read-disables the downstream).
    ds.pause();
    ds.on("error", ignore);
    ds.on("close", this.onDownstreamClose);
    this.start();
  }

  /** Reading from the upstream is paused until the downstream drains (for tests and admin). */
  get upstreamReadPaused(): boolean {
    return this.usPausedForDs;
  }

  private start(): void {
    const name = this.route.clusters.pick(this.route.services.random);
    this.si.clusterName = name;
    this.cluster = this.route.services.clusters.get(name);
    if (this.cluster === undefined) {
      this.route.stats.cxNoRoute.inc();
      this.fail(ResponseFlag.NoClusterFound);
      return;
    }
    this.connect();
  }

  private connect(): void {
    const cluster = this.cluster!;
    const host = cluster.chooseHost(cluster.originalDst ? { originalDst: this.originalDst } : NO_LB_CONTEXT);
    if (host === undefined) {
      this.fail(ResponseFlag.NoHealthyUpstream);
      return;
    }
    this.host = host;
    this.si.upstreamHost = host.key;
    this.attempts++;
    this.si.attemptCount = this.attempts;
    this.si.mark("upstreamConnectStart");
    host.active++;
    // An overflow answers synchronously, before newConnection returns its canceller.
    let settled = false;
    const cancel = cluster.tcpPoolOf(host).newConnection(this.route.services.clock, (err, conn) => {
      settled = true;
      this.cancelConnect = null;
      if (err !== null || conn === null) this.onConnectFailure(cluster, host, err!);
      else this.onConnected(cluster, host, conn);
    });
    if (!settled) this.cancelConnect = cancel;
  }

  private onConnectFailure(cluster: ClusterRuntime, host: UpstreamHost, err: ProxyError): void {
    host.active--;
    if (this.downstreamClosed) return this.finish();
    if (err.code === ErrorCode.UpstreamOverflow) {
      this.fail(ResponseFlag.UpstreamOverflow);
      return;
    }
    cluster.outlier.report(host, err.code === ErrorCode.UpstreamConnectTimeout ? CONNECT_TIMEOUT : CONNECT_FAILURE);
    this.si.addFlag(ResponseFlag.UpstreamConnectionFailure);
    if (err.detail !== undefined) this.si.upstreamTransportFailureReason = err.detail;
    if (this.attempts < this.route.maxConnectAttempts) {
      this.connect();
      return;
    }
    this.closeDownstream();
  }

  private onConnected(cluster: ClusterRuntime, host: UpstreamHost, conn: TcpUpstreamConnection): void {
    if (this.downstreamClosed) {
      host.active--;
      conn.release();
      this.finish();
      return;
    }
    cluster.outlier.report(host, CONNECT_SUCCESS_FINAL);
    this.si.mark("upstreamConnectComplete");
    this.si.upstreamLocalAddress = conn.localAddress;
    this.si.upstreamTls = upstreamTlsInfoOf(conn.stream);
    this.route.telemetry.stats?.connectionOpened?.(this.si);
    this.upstream = conn;
    this.upstreamClosed = false;
    const us = conn.stream;
    this.us = us;
    us.on("data", this.onUpstreamData);
    us.on("end", this.onUpstreamEnd);
    us.on("drain", this.onUpstreamDrain);
    us.on("error", ignore);
    us.on("close", this.onUpstreamClose);
    this.ds.on("data", this.onDownstreamData);
    this.ds.on("end", this.onDownstreamEnd);
    this.ds.on("drain", this.onDownstreamDrain);
    this.ds.resume();
  }

  private readonly onDownstreamData = (chunk: Buffer): void => {
    const si = this.si;
    const n = chunk.length;
    si.bytesReceived += n;
    si.upstreamBytesSent += n;
    this.lastActivity = this.route.services.coarseNow;
    const t = si.elapsed();
    si.timings.lastDownstreamRxByteReceived = t;
    si.timings.firstUpstreamTxByteSent ??= t;
    si.timings.lastUpstreamTxByteSent = t;
    if (!this.us!.write(chunk)) {
      this.dsPausedForUs = true;
      this.ds.pause();
    }
  };

  private readonly onUpstreamData = (chunk: Buffer): void => {
    const si = this.si;
    const n = chunk.length;
    si.upstreamBytesReceived += n;
    si.bytesSent += n;
    this.lastActivity = this.route.services.coarseNow;
    const t = si.elapsed();
    si.timings.firstUpstreamRxByteReceived ??= t;
    si.timings.lastUpstreamRxByteReceived = t;
    si.timings.firstDownstreamTxByteSent ??= t;
    si.timings.lastDownstreamTxByteSent = t;
    if (!this.ds.write(chunk)) {
      this.usPausedForDs = true;
      this.us!.pause();
    }
  };

  private readonly onUpstreamDrain = (): void => {
    if (this.dsPausedForUs) {
      this.dsPausedForUs = false;
      this.ds.resume();
    }
  };

  private readonly onDownstreamDrain = (): void => {
    if (this.usPausedForDs) {
      this.usPausedForDs = false;
      this.us?.resume();
    }
  };

  /** Client FIN: end our writes upstream; the upstream's answer keeps flowing. */
  private readonly onDownstreamEnd = (): void => {
    this.downstreamEnded = true;
    this.us?.end();
  };

  /** Upstream FIN: end our writes downstream; the client may keep sending. */
  private readonly onUpstreamEnd = (): void => {
    this.upstreamEnded = true;
    this.ds.end();
  };

  /** Closed before both sides ended = a reset (or error): the upstream is reset too. */
  private readonly onDownstreamClose = (): void => {
    this.downstreamClosed = true;
    if (this.cancelConnect !== null) {
      this.cancelConnect();
      this.cancelConnect = null;
      this.host!.active--;
    }
    if (!this.upstreamClosed && !(this.downstreamEnded && this.upstreamEnded)) this.us!.destroy();
    this.maybeFinish();
  };

  private readonly onUpstreamClose = (): void => {
    this.upstreamClosed = true;
    this.host!.active--;
    this.upstream!.release();
    if (!this.downstreamClosed && !(this.downstreamEnded && this.upstreamEnded)) this.ds.destroy();
    this.maybeFinish();
  };

  private maybeFinish(): void {
    if (this.downstreamClosed && this.upstreamClosed && this.cancelConnect === null) this.finish();
  }

  /** No upstream for this connection: record why and close the downstream. */
  private fail(flag: (typeof ResponseFlag)[keyof typeof ResponseFlag]): void {
    this.si.addFlag(flag);
    this.closeDownstream();
  }

  private closeDownstream(): void {
    if (this.downstreamClosed) this.finish();
    else this.ds.destroy();
  }

  /** Idle timeout (Envoy's tcp_proxy idle_timeout): no byte either way for that long closes both sides. */
  sweep(now: number): void {
    const idle = this.route.idleTimeoutMs;
    if (idle > 0 && now - this.lastActivity >= idle) {
      this.route.stats.idleTimeout.inc();
      this.destroySocket();
    }
  }

  /**
   * Envoy's graceful drain leaves TCP proxy connections alone: they end with their peers, their
   * idle timeout, or the drain deadline (destroySocket).
   */
  drain(): void {}

  destroySocket(): void {
    this.us?.destroy();
    if (this.cancelConnect !== null) {
      this.cancelConnect();
      this.cancelConnect = null;
      this.host!.active--;
    }
    this.ds.destroy();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.tracker.delete(this);
    const info = this.record();
    const stats = this.route.stats;
    stats.cxRxBytesTotal.inc(info.bytesReceived);
    stats.cxTxBytesTotal.inc(info.bytesSent);
    this.route.services.onStream(info);
  }

  private record(): StreamInfo {
    const si = this.si.withoutRequest("tcp", "-");
    si.downstreamRemoteAddress = this.downstreamRemote;
    si.downstreamLocalAddress = this.downstreamLocal;
    si.listenerName = this.route.listenerName;
    si.filterChainName = this.route.filterChainName;
    return si.finish();
  }
}

function ignore(): void {}
