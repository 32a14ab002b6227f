// ActiveStream: one HTTP/1.x request/response exchange on a downstream connection — routing, the
// fault filter, the router's attempts (timeouts, retries with back-off, circuit breakers, outlier
// reporting), mirrors, response forwarding with back-pressure both ways, and the StreamInfo record
// at the end. Bodies are never buffered whole: bytes flow as they arrive, and only a bounded
// prefix is kept for replaying a retry.

import { newRequestId } from "../common/request-id.js";
import type { TimerHandle } from "../common/timers.js";
import { ErrorCode, type ErrorCodeValue, type ProxyError } from "../common/errors.js";
import { type StreamInfo, type ResponseFlagValue, ResponseFlag } from "../observability/stream-info.js";
import { RetryState, type FailureKind } from "../router/retry-state.js";
import type { AttemptOutcome, RouterCluster } from "../upstream/cluster-api.js";
import { evaluateHashPolicies } from "../upstream/hash-policy.js";
import type { UpstreamConnection, UpstreamHandler } from "../upstream/upstream-connection.js";
import type { UpstreamHost } from "../upstream/upstream-host.js";
import { BodyReader } from "./codec/body-reader.js";
import { validateResponseHead } from "./codec/framing.js";
import { findHeadEnd, parseResponseHead, type RequestHead, type ResponseHead } from "./codec/head-parser.js";
import { decideFault, rollPercent } from "./fault-filter.js";
import type { HeaderList } from "./header-list.js";
import { connectionTokens, stripHopByHop } from "./hop-by-hop.js";
import type { Http1ServerConnection } from "./http1-server-connection.js";
import { isInternalAddress } from "./internal-address.js";
import type { ListenerContext } from "./listener-context.js";
import { localReply } from "./local-reply.js";
import { routeRequest, type ForwardDecision } from "./router-filter.js";
import { ShadowRequest, shadowAuthority } from "./shadow-request.js";

/** 60 KiB: max upstream response head, as Envoy's max_response_headers_kb default. */
const MAX_RESPONSE_HEAD = 60 * 1024;
/** 100: max upstream response headers (Envoy's max_headers_count default). */
const MAX_RESPONSE_HEADERS = 100;
/** Request body bytes queued while the upstream connection is being set up before we pause reading. */
const MAX_PENDING_BODY = 64 * 1024;
/**
 * 1 MiB: request body kept for replaying a retry (Envoy's default per-connection buffer limit).
 * A longer body streams on without a copy, and the request is no longer retried.
 */
const RETRY_BUFFER_LIMIT = 1024 * 1024;

const enum St {
  Routing,
  FaultDelay,
  Backoff,
  Connecting,
  AwaitingHead,
  Responding,
  Tunnel,
  Done,
}

export class ActiveStream implements UpstreamHandler {
  private readonly conn: Http1ServerConnection;
  private readonly ctx: ListenerContext;
  readonly head: RequestHead;
  readonly reqReader: BodyReader;
  private state = St.Routing;
  /** The request path as received (for x-envoy-original-path and logs). */
  private readonly path: string;
  private readonly authority: string;
  private readonly startMono: number;
  private readonly startWall: number;
  private readonly isHead: boolean;
  /** The response must end by closing the downstream connection. */
  closeAfter: boolean;

  // routing
  private forward: ForwardDecision | null = null;
  private cluster: RouterCluster | null = null;
  private retry: RetryState | null = null;
  private requestHeld = false;
  /** This attempt holds a retry from the cluster's max_retries budget. */
  private retryHeld = false;
  /** A retry slot taken for the attempt about to start. */
  private nextRetryHeld = false;
  private hash: bigint | undefined;
  private setCookie: string | undefined;
  private shadows: ShadowRequest[] | null = null;
  /** Upstream request line and headers, without the per-attempt x-envoy-attempt-count. */
  private upHeadBase = "";
  private globalTimeoutMs = 0;
  private perTryTimeoutMs = 0;

  // request body: chunks not yet written to the current attempt, plus (while `replayable`) the
  // ones already written, so a retry can send them again.
  private body: Buffer[] = [];
  private sent = 0;
  private bodyBytes = 0;
  private unsentBytes = 0;
  private replayable = false;

  // the current attempt
  private attempts = 0;
  private host: UpstreamHost | null = null;
  private hostCounted = false;
  private tried: UpstreamHost[] | null = null;
  private up: UpstreamConnection | null = null;
  /** Withdraws a request still waiting for a connection (circuit-breaker pending queue). */
  private cancelAcquire: (() => void) | undefined;
  private upReused = false;
  private retriedFresh = false;
  private upStart = 0;
  private upBuf: Buffer | null = null;
  private upBytesSeen = 0;

  // timers
  private globalTimer: TimerHandle | undefined;
  private perTryTimer: TimerHandle | undefined;
  private waitTimer: TimerHandle | undefined;

  // response
  private resReader: BodyReader | null = null;
  private resHeadSent = false;
  private pendingHead: string | null = null;
  private upstreamPaused = false;
  private upstreamClose = false;

  // StreamInfo
  private responseCode = 0;
  private details = "";
  private flags: ResponseFlagValue[] = [];
  private bytesSent = 0;
  private serviceTime: number | undefined;
  private failureReason: string | undefined;
  private requestId: string | undefined;
  private routeName: string | undefined;
  private vhostName: string | undefined;
  private clusterName: string | undefined;
  private finished = false;

  constructor(conn: Http1ServerConnection, ctx: ListenerContext, head: RequestHead, reqReader: BodyReader, path: string, authority: string, keepAlive: boolean) {
    this.conn = conn;
    this.ctx = ctx;
    this.head = head;
    this.reqReader = reqReader;
    this.path = path;
    this.authority = authority;
    this.closeAfter = !keepAlive;
    this.startMono = performance.now();
    this.startWall = Date.now();
    this.isHead = head.method === "HEAD";
  }

  get requestDone(): boolean {
    return this.reqReader.done;
  }

  // ---------------------------------------------------------------- routing and filters

  /** Routes the request, runs the fault filter and starts the first attempt (or replies locally). */
  start(): void {
    const decision = routeRequest(this.ctx, this.head, this.path, this.authority, this.ctx.services.random);
    this.routeName = decision.routeName;
    this.vhostName = decision.virtualHostName;
    switch (decision.kind) {
      case "local":
        this.localReply(decision.code, decision.detail);
        return;
      case "direct":
        this.sendLocal(decision.status, decision.body, decision.details, undefined, decision.headers);
        return;
      case "forward":
        break;
    }
    this.forward = decision;
    this.clusterName = decision.clusterName;
    const fault = decideFault(decision.fault, this.ctx.services.random);
    if (fault === undefined) {
      this.startRouter();
      return;
    }
    if (fault.delayMs > 0) {
      this.flags.push(ResponseFlag.DelayInjected);
      this.state = St.FaultDelay;
      this.waitTimer = this.ctx.services.timers.set(() => {
        this.waitTimer = undefined;
        if (this.state === St.FaultDelay) this.afterFaultDelay(fault.abortStatus, fault.abortGrpcStatus);
      }, fault.delayMs);
      return;
    }
    this.afterFaultDelay(fault.abortStatus, fault.abortGrpcStatus);
  }

  private afterFaultDelay(abortStatus: number | undefined, abortGrpc: number | undefined): void {
    if (abortGrpc !== undefined) {
      this.flags.push(ResponseFlag.FaultInjected);
      this.sendLocal(200, "", "fault_filter_abort", [
        ["content-type", "application/grpc"],
        ["grpc-status", String(abortGrpc)],
        ["grpc-message", "fault filter abort"],
      ]);
      return;
    }
    if (abortStatus !== undefined) {
      this.localReply(ErrorCode.FaultAbort, String(abortStatus));
      return;
    }
    this.state = St.Routing;
    this.startRouter();
  }

  /** The router filter: cluster, circuit breaker, timeouts, retry state, mirrors, first attempt. */
  private startRouter(): void {
    const d = this.forward!;
    const cluster = this.ctx.services.clusters.get(d.clusterName);
    if (cluster === undefined) {
      this.localReply(ErrorCode.NoCluster);
      return;
    }
    this.cluster = cluster;
    if (!cluster.resources.tryAcquireRequest()) {
      this.localReply(ErrorCode.UpstreamOverflow);
      return;
    }
    this.requestHeld = true;
    const h = this.head.headers;

    // Envoy answers `Expect: 100-continue` itself and does not forward the expectation.
    const expect = h.get("expect");
    if (expect !== undefined) {
      h.remove("expect");
      if (expect.toLowerCase() === "100-continue" && this.head.versionMinor === 1) this.conn.writeRaw("HTTP/1.1 100 Continue\r\n\r\n");
    }
    this.setTimeouts(d, h);
    if (d.retryPolicy !== undefined) {
      this.retry = new RetryState(d.retryPolicy, this.ctx.services.random);
      this.replayable = true;
    }
    if (d.hashPolicy !== undefined && d.hashPolicy.length > 0) {
      const r = evaluateHashPolicies(d.hashPolicy, { headers: h, path: this.head.target, sourceIp: this.conn.remoteIp, sourcePort: this.conn.remotePort });
      this.hash = r.hash;
      this.setCookie = r.setCookie;
    }
    this.upHeadBase = this.buildUpstreamHead(d);
    if (d.mirrors.length > 0) this.startMirrors(d);
    if (this.reqReader.done) this.armGlobalTimer();
    this.startAttempt();
  }

  /**
   * Route and per-try timeouts; `x-envoy-upstream-rq-timeout-ms` / `…-per-try-timeout-ms` override
   * them for internal callers (Envoy's rule: loopback and private addresses) and never go upstream.
   */
  private setTimeouts(d: ForwardDecision, h: HeaderList): void {
    let global = d.timeoutMs;
    let perTry = d.retryPolicy?.policy.perTryTimeoutMs ?? 0;
    const rq = h.get("x-envoy-upstream-rq-timeout-ms");
    const pt = h.get("x-envoy-upstream-rq-per-try-timeout-ms");
    if ((rq !== undefined || pt !== undefined) && isInternalAddress(this.conn.remoteIp)) {
      if (rq !== undefined && /^\d{1,10}$/.test(rq)) global = Number(rq);
      if (pt !== undefined && /^\d{1,10}$/.test(pt)) perTry = Number(pt);
    }
    h.remove("x-envoy-upstream-rq-timeout-ms");
    h.remove("x-envoy-upstream-rq-per-try-timeout-ms");
    // A per-try timeout longer than the route timeout never fires first (Envoy).
    if (global > 0 && perTry >= global) perTry = 0;
    this.globalTimeoutMs = global;
    this.perTryTimeoutMs = perTry;
    const expected = perTry > 0 ? perTry : global;
    if (expected > 0) h.set("x-envoy-expected-rq-timeout-ms", String(expected));
    else h.remove("x-envoy-expected-rq-timeout-ms");
  }

  private buildUpstreamHead(d: ForwardDecision): string {
    const h = this.head.headers;
    const upgrade = connectionTokens(h).upgrade && h.has("upgrade");
    const te = h.getJoined("transfer-encoding");
    stripHopByHop(h, upgrade);
    if (upgrade) h.add("Connection", "Upgrade");
    if (te !== undefined) h.add("Transfer-Encoding", "chunked");
    if (this.head.versionMinor === 0 && !h.has("host") && this.authority !== "") h.add("Host", this.authority);
    if (!h.has("x-forwarded-proto")) h.add("x-forwarded-proto", "http");
    // Inbound, the app only ever sees the proxy's loopback address: append the real client's
    // address to x-forwarded-for (Envoy's use_remote_address behaviour). Outbound, the app itself
    // is the client, so x-forwarded-for passes through unchanged as in Istio's sidecars.
    if (this.ctx.direction === "INBOUND") {
      const xff = h.getJoined("x-forwarded-for");
      const client = this.conn.remoteIp;
      h.set("x-forwarded-for", xff === undefined || xff === "" ? client : `${xff}, ${client}`);
    }
    let rid = h.get("x-request-id");
    if (rid === undefined || rid === "") {
      rid = newRequestId();
      h.set("x-request-id", rid);
    }
    this.requestId = rid;
    h.remove("x-envoy-attempt-count");
    return `${this.head.method} ${d.path} HTTP/1.1\r\n${h.serialize()}`;
  }

  private startMirrors(d: ForwardDecision): void {
    const h = this.head.headers;
    const random = this.ctx.services.random;
    for (const m of d.mirrors) {
      if (m.percentage !== undefined && !rollPercent(m.percentage, random)) continue;
      const cluster = this.ctx.services.clusters.get(m.cluster);
      if (cluster === undefined) continue;
      const mh = h.clone();
      const host = mh.get("host") ?? this.authority;
      if (!m.disableShadowHostSuffixAppend) mh.set("Host", shadowAuthority(host));
      const head = `${this.head.method} ${d.path} HTTP/1.1\r\n${mh.serialize()}\r\n`;
      const shadow = new ShadowRequest(cluster, head, this.head.method, this.reqReader.done, () => this.ctx.services.coarseNow);
      for (let i = 0; i < this.body.length; i++) shadow.write(this.body[i]!, false);
      shadow.start();
      (this.shadows ??= []).push(shadow);
    }
  }

  // ---------------------------------------------------------------- attempts

  private startAttempt(): void {
    const cluster = this.cluster!;
    const policy = this.retry !== null ? this.forward!.retryPolicy!.policy : undefined;
    const host = cluster.chooseHost({
      hash: this.hash,
      previousHosts: policy?.retryHostPredicatePreviousHosts ? this.tried ?? undefined : undefined,
      hostSelectionRetryMaxAttempts: policy?.hostSelectionRetryMaxAttempts ?? 0,
      retryRemoteLocalities: policy?.retryRemoteLocalities ?? false,
    });
    if (host === undefined) {
      this.releaseNextRetry();
      this.localReply(ErrorCode.NoHealthyUpstream);
      return;
    }
    this.attempts++;
    this.retryHeld = this.nextRetryHeld;
    this.nextRetryHeld = false;
    this.host = host;
    host.active++;
    this.hostCounted = true;
    if (this.retry !== null) (this.tried ??= []).push(host);
    this.upBuf = null;
    this.upBytesSeen = 0;
    this.sent = 0;
    this.unsentBytes = this.bodyBytes;
    this.state = St.Connecting;
    this.cancelAcquire = host.pool.acquire(this.onAcquired);
  }

  private readonly onAcquired = (err: ProxyError | null, up: UpstreamConnection | null, reused: boolean): void => {
    this.cancelAcquire = undefined;
    if (this.state !== St.Connecting) {
      // The downstream went away (or the route timed out) while we were connecting.
      if (up !== null) this.host!.pool.release(up, true, this.ctx.services.coarseNow);
      return;
    }
    if (err !== null || up === null) {
      const code = err?.code ?? ErrorCode.UpstreamConnectFailure;
      if (code === ErrorCode.UpstreamOverflow) {
        // Pending-request overflow: answered at once and never retried (Envoy).
        this.endAttemptHost();
        this.localReply(code);
        return;
      }
      this.failureReason = err?.detail;
      this.cluster!.outlier.report(this.host!, code === ErrorCode.UpstreamConnectTimeout ? { kind: "timeout" } : { kind: "connect-failure" });
      this.attemptFailed("connect-failure", false, code, err?.detail);
      return;
    }
    this.cluster!.outlier.report(this.host!, CONNECT_SUCCESS);
    this.up = up;
    this.upReused = reused;
    up.handler = this;
    this.state = St.AwaitingHead;
    this.upStart = performance.now();
    const s = up.socket;
    const head = `${this.upHeadBase}x-envoy-attempt-count: ${this.attempts}\r\n\r\n`;
    if (this.sent === this.body.length) {
      s.write(head, "latin1");
    } else {
      s.cork();
      s.write(head, "latin1");
      for (let i = this.sent; i < this.body.length; i++) s.write(this.body[i]!);
      s.uncork();
      this.sent = this.body.length;
      this.unsentBytes = 0;
      if (!this.replayable) {
        this.body = [];
        this.sent = 0;
      }
      this.conn.resumeReading();
    }
    if (this.reqReader.done) this.armPerTryTimer();
  };

  /** Request body bytes from downstream (already framing-checked by reqReader). */
  onRequestBody(chunk: Buffer): void {
    if (this.state === St.Done) return;
    const last = this.reqReader.done;
    if (this.shadows !== null) for (const s of this.shadows) s.write(chunk, last);
    const up = this.up;
    const connected = up !== null && (this.state === St.AwaitingHead || this.state === St.Responding);
    if (connected && !this.replayable) {
      if (!up.socket.write(chunk)) this.conn.pauseReading();
    } else {
      this.body.push(chunk);
      this.bodyBytes += chunk.length;
      if (connected) {
        this.sent++;
        if (!up.socket.write(chunk)) this.conn.pauseReading();
      } else {
        this.unsentBytes += chunk.length;
        if (this.unsentBytes > MAX_PENDING_BODY) this.conn.pauseReading();
      }
      if (this.replayable && this.bodyBytes > RETRY_BUFFER_LIMIT) {
        // Too long to replay: keep only what the current attempt still needs.
        this.replayable = false;
        this.body = this.body.slice(this.sent);
        this.sent = 0;
      }
    }
    if (last && this.state !== St.Routing && this.state !== St.FaultDelay) {
      this.armGlobalTimer();
      if (this.state === St.AwaitingHead) this.armPerTryTimer();
    }
  }

  /** Raw downstream bytes after a successful upgrade (WebSocket). */
  onTunnelData(chunk: Buffer): void {
    if (this.up !== null && !this.up.socket.write(chunk)) this.conn.pauseReading();
  }

  onUpstreamDrain(): void {
    this.conn.resumeReading();
  }

  /** The downstream socket drained: resume the upstream if we paused it. */
  onDownstreamDrain(): void {
    if (this.upstreamPaused && this.up !== null) {
      this.upstreamPaused = false;
      this.up.socket.resume();
    }
  }

  // ---------------------------------------------------------------- timers

  /** The route timeout starts once the whole request has been received (Envoy). */
  private armGlobalTimer(): void {
    if (this.globalTimeoutMs <= 0 || this.globalTimer !== undefined || this.state === St.Done) return;
    this.globalTimer = this.ctx.services.timers.set(() => this.onGlobalTimeout(), this.globalTimeoutMs);
  }

  /** The per-try timeout starts when the attempt's request is complete and sent. */
  private armPerTryTimer(): void {
    if (this.perTryTimeoutMs <= 0 || this.perTryTimer !== undefined) return;
    this.perTryTimer = this.ctx.services.timers.set(() => this.onPerTryTimeout(), this.perTryTimeoutMs);
  }

  private clearPerTryTimer(): void {
    if (this.perTryTimer !== undefined) {
      this.ctx.services.timers.clear(this.perTryTimer);
      this.perTryTimer = undefined;
    }
  }

  private clearTimers(): void {
    this.clearPerTryTimer();
    const timers = this.ctx.services.timers;
    if (this.globalTimer !== undefined) timers.clear(this.globalTimer);
    if (this.waitTimer !== undefined) timers.clear(this.waitTimer);
    this.globalTimer = undefined;
    this.waitTimer = undefined;
  }

  private onGlobalTimeout(): void {
    this.globalTimer = undefined;
    if (this.state === St.Done || this.state === St.Tunnel) return;
    this.flags.push(ResponseFlag.UpstreamRequestTimeout);
    if (this.resHeadSent) {
      // Headers already went out: all Envoy can do is reset the stream.
      this.details = "upstream_response_timeout";
      this.abort();
      return;
    }
    if (this.host !== null && this.up !== null) this.cluster!.outlier.report(this.host, TIMEOUT);
    this.dropAttempt();
    this.localReplyKeepFlags(ErrorCode.UpstreamTimeout);
  }

  private onPerTryTimeout(): void {
    this.perTryTimer = undefined;
    // Once the response started downstream, only the route timeout applies (Envoy).
    if (this.state !== St.AwaitingHead) return;
    this.cluster!.outlier.report(this.host!, TIMEOUT);
    this.dropAttempt();
    this.attemptFailed("per-try-timeout", true, ErrorCode.UpstreamTimeout);
  }

  // ---------------------------------------------------------------- attempt outcomes

  /** Closes the current attempt's connection and forgets it (it will not be reused). */
  private dropAttempt(): void {
    this.clearPerTryTimer();
    if (this.cancelAcquire !== undefined) {
      this.cancelAcquire();
      this.cancelAcquire = undefined;
    }
    if (this.up !== null) {
      this.host!.pool.discard(this.up);
      this.up = null;
    }
    this.endAttemptHost();
  }

  private endAttemptHost(): void {
    if (this.hostCounted) {
      this.hostCounted = false;
      this.host!.active--;
    }
    if (this.retryHeld) {
      this.retryHeld = false;
      this.cluster!.resources.releaseRetry();
    }
  }

  /** Whether another attempt may start: budget, replayable body, retry circuit breaker. */
  private mayRetry(): boolean {
    const r = this.retry;
    if (r === null || r.exhausted || this.resHeadSent) return false;
    if (!this.replayable && this.reqReader.framing.kind !== "none") return false;
    if (!this.cluster!.resources.tryAcquireRetry()) return false;
    this.nextRetryHeld = true;
    return true;
  }

  private releaseNextRetry(): void {
    if (this.nextRetryHeld) {
      this.nextRetryHeld = false;
      this.cluster!.resources.releaseRetry();
    }
  }

  private scheduleRetry(): void {
    const delay = this.retry!.nextBackoffMs();
    this.state = St.Backoff;
    this.waitTimer = this.ctx.services.timers.set(() => {
      this.waitTimer = undefined;
      if (this.state === St.Backoff) this.startAttempt();
    }, delay);
  }

  /** An attempt failed without a usable response: retry, or reply with Envoy's local reply. */
  private attemptFailed(kind: FailureKind, requestSent: boolean, code: ErrorCodeValue, detail?: string): void {
    const r = this.retry;
    const wouldRetry = r !== null && r.wouldRetryFailure(kind, requestSent);
    const hadRetries = r !== null && r.retries > 0;
    this.endAttemptHost();
    if (wouldRetry && this.mayRetry()) {
      this.scheduleRetry();
      return;
    }
    if (wouldRetry && r.exhausted) this.flags.push(ResponseFlag.UpstreamRetryLimitExceeded);
    if (kind === "per-try-timeout") {
      this.flags.push(ResponseFlag.UpstreamRequestTimeout);
      this.localReplyKeepFlags(ErrorCode.UpstreamTimeout);
      return;
    }
    const reply = localReply(code, detail, hadRetries);
    if (reply.flag !== undefined) this.flags.push(reply.flag);
    this.sendLocal(reply.status, reply.body, reply.details, reply.headers, undefined, reply.closeConnection);
  }

  onUpstreamData(chunk: Buffer): void {
    this.upBytesSeen += chunk.length;
    if (this.state === St.Responding) {
      this.onResponseBody(chunk, 0);
      return;
    }
    if (this.state === St.Tunnel) {
      this.writeDown(chunk);
      return;
    }
    if (this.state !== St.AwaitingHead) return;
    const buf = this.upBuf === null ? chunk : Buffer.concat([this.upBuf, chunk]);
    let start = 0;
    for (;;) {
      let end: number;
      let head: ResponseHead;
      try {
        end = findHeadEnd(buf, start, MAX_RESPONSE_HEAD);
        if (end === -1) {
          this.upBuf = start === 0 ? buf : buf.subarray(start);
          return;
        }
        head = parseResponseHead(buf, start, end, MAX_RESPONSE_HEADERS);
      } catch {
        this.upstreamProtocolError();
        return;
      }
      if (head.status >= 100 && head.status < 200 && head.status !== 101) {
        // Interim responses: Envoy already answered 100-continue itself; others are dropped.
        start = end;
        if (start === buf.length) {
          this.upBuf = null;
          return;
        }
        continue;
      }
      this.upBuf = null;
      this.onResponseHead(head, buf, end);
      return;
    }
  }

  private onResponseHead(head: ResponseHead, buf: Buffer, bodyStart: number): void {
    const d = this.forward!;
    const h = head.headers;
    this.cluster!.outlier.report(this.host!, { kind: "response", status: head.status });
    const r = this.retry;
    if (r !== null && head.status !== 101 && r.wouldRetryResponse(head.status, h)) {
      if (this.mayRetry()) {
        this.dropAttempt();
        this.scheduleRetry();
        return;
      }
      if (r.exhausted) this.flags.push(ResponseFlag.UpstreamRetryLimitExceeded);
    }
    this.clearPerTryTimer();
    this.serviceTime = Math.round(performance.now() - this.upStart);
    let framing;
    try {
      framing = validateResponseHead(head, { method: this.head.method, upgradeRequested: this.head.headers.has("upgrade") });
    } catch {
      this.upstreamProtocolError();
      return;
    }
    this.upstreamClose = connectionTokens(h).close || head.versionMinor === 0;
    stripHopByHop(h, head.status === 101);
    const v10 = this.head.versionMinor === 0;
    let dechunk = false;
    if (head.status === 101) {
      h.add("Connection", "Upgrade");
    } else if (framing.kind === "chunked") {
      if (v10) dechunk = true;
      else h.add("Transfer-Encoding", "chunked");
    }
    if (framing.kind === "close" || dechunk || this.ctx.services.draining) this.closeAfter = true;
    d.applyResponseHeaders(h);
    if (this.setCookie !== undefined) h.add("set-cookie", this.setCookie);
    h.set("x-envoy-upstream-service-time", String(this.serviceTime));
    h.set("server", this.ctx.serverName);
    if (this.closeAfter) h.set("Connection", "close");
    else if (v10) h.set("Connection", "keep-alive");
    this.responseCode = head.status;
    this.details = "via_upstream";
    const line = `HTTP/1.${v10 ? 0 : 1} ${head.status} ${head.reason}\r\n${h.serialize()}\r\n`;
    this.resHeadSent = true;
    if (head.status === 101) {
      this.state = St.Tunnel;
      this.clearTimers();
      this.conn.writeRaw(line);
      this.conn.enterTunnel(this);
      if (bodyStart < buf.length) this.writeDown(buf.subarray(bodyStart));
      return;
    }
    this.resReader = new BodyReader(framing, dechunk ? (b, s, e) => this.writeDown(b.subarray(s, e)) : undefined);
    this.state = St.Responding;
    if (this.resReader.done) {
      this.conn.writeRaw(line);
      this.finishResponse(buf.length > bodyStart);
      return;
    }
    // The head goes out with the first body bytes in one write (one syscall instead of two).
    this.pendingHead = line;
    if (bodyStart < buf.length) this.onResponseBody(buf, bodyStart);
    this.flushHead();
  }

  private flushHead(): void {
    const line = this.pendingHead;
    if (line !== null) {
      this.pendingHead = null;
      this.conn.writeRaw(line);
    }
  }

  private onResponseBody(buf: Buffer, start: number): void {
    const r = this.resReader!;
    let end: number;
    try {
      end = r.consume(buf, start, buf.length);
    } catch {
      // Bad chunk framing before anything went downstream: still a clean 502.
      if (this.pendingHead !== null && this.bytesSent === 0) {
        this.pendingHead = null;
        this.resHeadSent = false;
        this.upstreamProtocolError();
        return;
      }
      // Bad chunk framing after headers went out: all we can do is reset the downstream.
      this.flags.push(ResponseFlag.UpstreamProtocolError);
      this.details = "upstream_reset_after_response_started{protocol_error}";
      this.abort();
      return;
    }
    if (r.framing.kind === "chunked") {
      // De-chunked through the sink for HTTP/1.0, else re-encoded canonically (never raw).
      const out = this.head.versionMinor === 0 ? null : r.takeChunked();
      if (out !== null) this.writeDown(out);
    } else {
      const stop = end === -1 ? buf.length : end;
      if (stop > start) this.writeDown(start === 0 && stop === buf.length ? buf : buf.subarray(start, stop));
    }
    if (end !== -1) this.finishResponse(end < buf.length);
  }

  private writeDown(b: Buffer): void {
    this.bytesSent += b.length;
    const line = this.pendingHead;
    if (line !== null) {
      this.pendingHead = null;
      const out = Buffer.allocUnsafe(line.length + b.length);
      out.write(line, 0, "latin1");
      b.copy(out, line.length);
      b = out;
    }
    if (!this.conn.writeBody(b) && this.up !== null && !this.upstreamPaused) {
      this.upstreamPaused = true;
      this.up.socket.pause();
    }
  }

  onUpstreamClose(err: Error | undefined): void {
    const up = this.up;
    this.up = null;
    if (up !== null) this.host!.pool.discard(up);
    switch (this.state) {
      case St.AwaitingHead: {
        // A reused keep-alive connection the server closed just as we sent: replaying a request
        // that had no body on a fresh connection is safe, and is what stops the classic 503 UC.
        if (this.upReused && !this.retriedFresh && this.upBytesSeen === 0 && this.reqReader.framing.kind === "none") {
          this.retriedFresh = true;
          this.clearPerTryTimer();
          this.state = St.Connecting;
          this.cancelAcquire = this.host!.pool.acquire(this.onAcquired, true);
          return;
        }
        this.clearPerTryTimer();
        this.cluster!.outlier.report(this.host!, RESET);
        this.attemptFailed("reset", true, ErrorCode.UpstreamReset, err?.message);
        return;
      }
      case St.Responding: {
        const r = this.resReader!;
        if (r.framing.kind === "close" && err === undefined) {
          r.finishOnClose();
          this.finishResponse(false);
          return;
        }
        this.flags.push(ResponseFlag.UpstreamConnectionTermination);
        this.details = "upstream_reset_after_response_started{connection_termination}";
        this.abort();
        return;
      }
      case St.Tunnel:
        this.finish();
        this.conn.destroySocket();
        return;
      default:
        return;
    }
  }

  private upstreamProtocolError(): void {
    this.dropAttempt();
    this.localReply(ErrorCode.UpstreamProtocolError);
  }

  private finishResponse(trailingUpstreamBytes: boolean): void {
    this.flushHead();
    const up = this.up;
    this.up = null;
    if (up !== null) {
      if (this.upstreamPaused) up.socket.resume();
      const reusable = !trailingUpstreamBytes && this.reqReader.done && !this.upstreamClose && this.resReader!.framing.kind !== "close";
      this.host!.pool.release(up, reusable, this.ctx.services.coarseNow);
    }
    // A response that ends before its request body can't leave the connection in sync.
    if (!this.reqReader.done) this.closeAfter = true;
    this.finish();
  }

  // ---------------------------------------------------------------- local replies and the end

  /** Replies locally with Envoy's status/body/flag for `code`. */
  localReply(code: ErrorCodeValue, detail?: string): void {
    const r = localReply(code, detail);
    if (r.flag !== undefined) this.flags.push(r.flag);
    this.sendLocal(r.status, r.body, r.details, r.headers, undefined, r.closeConnection);
  }

  /** A local reply whose flag the caller already recorded. */
  private localReplyKeepFlags(code: ErrorCodeValue): void {
    const r = localReply(code);
    this.sendLocal(r.status, r.body, r.details, r.headers, undefined, r.closeConnection);
  }

  private sendLocal(status: number, body: string, details: string, extra?: Array<[string, string]>, more?: Array<[string, string]>, close?: boolean): void {
    if (this.resHeadSent) {
      this.abort();
      return;
    }
    if (close || !this.reqReader.done || this.ctx.services.draining) this.closeAfter = true;
    this.responseCode = status;
    this.details = details;
    this.resHeadSent = true;
    this.body = [];
    const bodyBytes = body === "" ? 0 : Buffer.byteLength(body);
    this.bytesSent = bodyBytes;
    this.conn.writeLocalReply(status, body, this.ctx.serverName, this.closeAfter, this.head.versionMinor, extra, more, this.isHead);
    this.state = St.Done;
    this.finish();
  }

  /** The request body's framing broke: 400 if no response started (Envoy), else a reset. */
  onRequestCodecError(detail: string): void {
    if (this.state === St.Done) return;
    if (this.shadows !== null) for (const s of this.shadows) s.abandon();
    this.dropAttempt();
    this.localReply(ErrorCode.BadRequest, detail);
  }

  /** Downstream closed before the exchange finished. */
  onDownstreamClose(): void {
    if (this.state === St.Done) return;
    if (this.state !== St.Tunnel) this.flags.push(ResponseFlag.DownstreamConnectionTermination);
    if (this.shadows !== null) for (const s of this.shadows) s.abandon();
    this.dropAttempt();
    this.state = St.Done;
    this.finish();
  }

  /** Resets both sides (failure after the response head went out). */
  private abort(): void {
    this.dropAttempt();
    this.closeAfter = true;
    this.state = St.Done;
    this.finish();
    this.conn.destroySocket();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.state = St.Done;
    this.clearTimers();
    this.endAttemptHost();
    this.releaseNextRetry();
    if (this.requestHeld) {
      this.requestHeld = false;
      this.cluster!.resources.releaseRequest();
    }
    this.body = [];
    const h: HeaderList = this.head.headers;
    const info: StreamInfo = {
      startTime: this.startWall,
      durationMs: performance.now() - this.startMono,
      upstreamServiceTimeMs: this.serviceTime,
      protocol: this.head.versionMinor === 0 ? "HTTP/1.0" : "HTTP/1.1",
      method: this.head.method,
      path: this.path,
      authority: this.authority,
      userAgent: h.get("user-agent"),
      requestId: this.requestId ?? h.get("x-request-id"),
      xForwardedFor: h.get("x-forwarded-for"),
      responseCode: this.responseCode,
      responseCodeDetails: this.details,
      responseFlags: this.flags,
      bytesReceived: this.reqReader.wireBytes,
      bytesSent: this.bytesSent,
      routeName: this.routeName,
      virtualHostName: this.vhostName,
      clusterName: this.clusterName,
      upstreamHost: this.host?.key,
      upstreamLocalAddress: undefined,
      upstreamTransportFailureReason: this.failureReason,
      downstreamRemoteAddress: this.conn.remoteAddress,
      downstreamLocalAddress: this.conn.localAddress,
      listenerName: this.ctx.name,
    };
    this.ctx.services.onStream(info);
    this.conn.onStreamDone(this);
  }
}

const CONNECT_SUCCESS: AttemptOutcome = { kind: "connect-success" };
const TIMEOUT: AttemptOutcome = { kind: "timeout" };
const RESET: AttemptOutcome = { kind: "reset" };
