// RouterFilter (envoy.filters.http.router): the terminal HTTP filter. Acts on the resolved route —
// local reply, redirect / direct response, or forwarding: cluster circuit breaker, route and
// per-try timeouts, retries with back-off (bounded body replay), hash policies, mirrors, and one
// UpstreamRequest per attempt through the host's connection pool. Response headers, body and
// resets come back through the attempt and go downstream through the filter callbacks.

import { ErrorCode, type ErrorCodeValue, type ProxyError } from "../common/errors.js";
import { newRequestId } from "../common/request-id.js";
import type { TimerHandle } from "../common/timers.js";
import { HTTP_ROUTER_FILTER } from "../config/model/types.js";
import { FilterStatus, type FilterCallbacks, type HttpFilter, type HttpFilterFactory } from "../http/filters/http-filter.js";
import type { HeaderList } from "../http/header-list.js";
import { isGrpcRequest } from "../http/grpc/grpc-status.js";
import { formatGrpcTimeout, grpcTimeoutOf } from "../http/grpc/grpc-timeout.js";
import type { RequestHeaders, ResponseHeaders, StreamResetReason } from "../http/http-message.js";
import { isInternalAddress } from "../http/internal-address.js";
import type { ForwardDecision } from "../http/route-resolution.js";
import { ResponseFlag } from "../observability/stream-info.js";
import type { AttemptOutcome, LbContext, RouterCluster } from "../upstream/cluster-api.js";
import { evaluateHashPolicies } from "../upstream/hash-policy.js";
import type { UpstreamHost } from "../upstream/upstream-host.js";
import type { RequestEncoder } from "../upstream/conn-pool.js";
import { HEADER_ONLY_RETRY_POLICY, RetryState, takeRetryHeaders, type CompiledRetryPolicy, type FailureKind } from "./retry-state.js";
import { ShadowRequest } from "./shadow-request.js";
import { UpstreamRequest, type UpstreamRequestParent } from "./upstream-request.js";

/** Request body bytes queued while the upstream connection is being set up before we pause reading. */
const MAX_PENDING_BODY = 64 * 1024;
/**
 * 1 MiB: request body kept for replaying a retry (Envoy's default per-connection buffer limit).
 * A longer body streams on without a copy, and the request is no longer retried.
 */
export const RETRY_BUFFER_LIMIT = 1024 * 1024;

const enum St {
  Idle,
  Backoff,
  Connecting,
  AwaitingHeaders,
  Responding,
  Tunnel,
  Done,
}

const EMPTY = Buffer.alloc(0);

export class RouterFilter implements HttpFilter, UpstreamRequestParent {
  private readonly cb: FilterCallbacks;
  private state = St.Idle;
  private d: ForwardDecision | null = null;
  private cluster: RouterCluster | null = null;
  private retry: RetryState | null = null;
  /** The route's compiled retry policy (or Envoy's defaults when only the request's headers ask for retries). */
  private retryPolicy: CompiledRetryPolicy | undefined;
  private requestHeld = false;
  /** This attempt holds a retry from the cluster's max_retries budget. */
  private retryHeld = false;
  /** A retry slot taken for the attempt about to start. */
  private nextRetryHeld = false;
  private hash: bigint | undefined;
  private setCookie: string | undefined;
  private shadows: ShadowRequest[] | null = null;
  private upstreamHeaders: RequestHeaders | null = null;
  private globalTimeoutMs = 0;
  private perTryTimeoutMs = 0;
  private requestComplete = false;
  /** The request's trailers (HTTP/2), sent after the body on every attempt. */
  private requestTrailers: HeaderList | null = null;

  // request body: chunks not yet written to the current attempt, plus (while `replayable`) the
  // ones already written, so a retry can send them again.
  private body: Buffer[] = [];
  private sent = 0;
  private bodyBytes = 0;
  private unsentBytes = 0;
  private replayable = false;
  private readDisabled = false;

  // the current attempt
  private upstream: UpstreamRequest | null = null;
  /** The host whose active-request count this attempt holds (least-request balancing). */
  private countedHost: UpstreamHost | null = null;
  private tried: UpstreamHost[] | null = null;
  /** When the attempt's request started (ms since the stream started, StreamInfo's clock). */
  private upstreamStart = 0;

  /** This attempt waits for a connection (upstream_rq_pending_active) / holds a stream (upstream_rq_active). */
  private pendingCounted = false;
  private activeCounted = false;

  private globalTimer: TimerHandle | undefined;
  private perTryTimer: TimerHandle | undefined;
  private backoffTimer: TimerHandle | undefined;
  private responseStarted = false;

  constructor(cb: FilterCallbacks) {
    this.cb = cb;
  }

  // ---------------------------------------------------------------- decoding

  decodeHeaders(req: RequestHeaders, endStream: boolean): FilterStatus {
    const cb = this.cb;
    const d = cb.route;
    if (d === undefined || d.kind === "local") {
      cb.sendLocalReply(d?.code ?? ErrorCode.NoRoute, d?.detail);
      return FilterStatus.StopIteration;
    }
    if (d.kind === "direct") {
      cb.sendResponse(d.status, d.body, d.details, d.headers);
      return FilterStatus.StopIteration;
    }
    this.d = d;
    cb.streamInfo.clusterName = d.clusterName;
    const cluster = cb.services.clusters.get(d.clusterName);
    if (cluster === undefined) {
      cb.sendLocalReply(ErrorCode.NoCluster);
      return FilterStatus.StopIteration;
    }
    this.cluster = cluster;
    if (!cluster.resources.tryAcquireRequest()) {
      // Envoy's pool counts a request refused by max_requests as a pending overflow.
      cluster.stats.rqPendingOverflow.inc();
      cluster.stats.chargeCode(503);
      cb.sendLocalReply(ErrorCode.UpstreamOverflow);
      return FilterStatus.StopIteration;
    }
    this.requestHeld = true;
    const h = req.headers;
    // Envoy answers `Expect: 100-continue` itself and does not forward the expectation.
    const expect = h.get("expect");
    if (expect !== undefined) {
      h.remove("expect");
      if (expect.toLowerCase() === "100-continue" && req.protocol !== "HTTP/1.0") cb.encode100Continue();
    }
    this.setTimeouts(d, h);
    const overrides = takeRetryHeaders(h);
    if (d.retryPolicy !== undefined) {
      this.retryPolicy = d.retryPolicy;
      this.retry = new RetryState(d.retryPolicy, cb.services.random, overrides);
      this.replayable = true;
    } else if (overrides !== undefined) {
      const r = new RetryState(HEADER_ONLY_RETRY_POLICY, cb.services.random, overrides);
      if (r.enabled) {
        this.retryPolicy = HEADER_ONLY_RETRY_POLICY;
        this.retry = r;
        this.replayable = true;
      }
    }
    if (d.hashPolicy !== undefined && d.hashPolicy.length > 0) {
      const r = evaluateHashPolicies(d.hashPolicy, { headers: h, path: req.path, sourceIp: cb.downstreamRemoteIp, sourcePort: cb.downstreamRemotePort });
      this.hash = r.hash;
      this.setCookie = r.setCookie;
    }
    this.upstreamHeaders = this.finalizeRequestHeaders(req, d);
    // An upgrade request's "body" is the tunnel: its timers run as for a complete request.
    this.requestComplete = endStream || req.upgrade;
    if (d.mirrors.length > 0) this.startMirrors(d, endStream);
    if (this.requestComplete) {
      this.cb.streamInfo.mark("lastDownstreamRxByteReceived");
      this.armGlobalTimer();
    }
    this.startAttempt();
    return FilterStatus.StopIteration;
  }

  /**
   * Route and per-try timeouts; `x-envoy-upstream-rq-timeout-ms` / `…-per-try-timeout-ms` override
   * them for internal callers (Envoy's rule: loopback and private addresses) and never go upstream.
   */
  private setTimeouts(d: ForwardDecision, h: HeaderList): void {
    // Envoy's finalTimeout. A route with max_stream_duration uses the "new" timeouts: the
    // connection manager bounds the stream (active-stream.ts) and the route timeout is not armed.
    // Otherwise a gRPC request on a route with max_grpc_timeout takes its grpc-timeout (minus the
    // offset while that leaves something; absent = infinite) capped at that maximum (0 = none).
    const action = d.action;
    const legacyGrpc = action.maxStreamDuration === undefined && action.maxGrpcTimeoutMs !== undefined && isGrpcRequest(h);
    let global = 0;
    if (legacyGrpc) {
      let t = grpcTimeoutOf(h) ?? 0;
      const offset = action.grpcTimeoutOffsetMs;
      if (offset !== undefined && offset < t) t -= offset;
      const max = action.maxGrpcTimeoutMs!;
      if (max !== 0 && (t === 0 || t > max)) t = max;
      global = t;
    } else if (action.maxStreamDuration === undefined) {
      global = d.timeoutMs;
    }
    let perTry = d.retryPolicy?.policy.perTryTimeoutMs ?? 0;
    const rq = h.get("x-envoy-upstream-rq-timeout-ms");
    const pt = h.get("x-envoy-upstream-rq-per-try-timeout-ms");
    if ((rq !== undefined || pt !== undefined) && isInternalAddress(this.cb.downstreamRemoteIp)) {
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
    if (expected > 0) {
      h.set("x-envoy-expected-rq-timeout-ms", String(expected));
      // The upstream gRPC server learns the deadline it really has (Envoy's setTimeoutHeaders).
      if (legacyGrpc) h.set("grpc-timeout", formatGrpcTimeout(expected));
    } else h.remove("x-envoy-expected-rq-timeout-ms");
  }

  /** The headers every attempt sends (Envoy's finalizeRequestHeaders), without the attempt count. */
  private finalizeRequestHeaders(req: RequestHeaders, d: ForwardDecision): RequestHeaders {
    const h = req.headers;
    if (!h.has("host") && req.authority !== "") h.add("Host", req.authority);
    if (!h.has("x-forwarded-proto")) h.add("x-forwarded-proto", req.scheme);
    // Inbound, the app only ever sees the proxy's loopback address: append the real client's
    // address to x-forwarded-for (Envoy's use_remote_address behaviour). Outbound, the app itself
    // is the client, so x-forwarded-for passes through unchanged as in Istio's sidecars.
    if (this.cb.inbound) {
      const xff = h.getJoined("x-forwarded-for");
      const client = this.cb.downstreamRemoteIp;
      h.set("x-forwarded-for", xff === undefined || xff === "" ? client : `${xff}, ${client}`);
    }
    let rid = h.get("x-request-id");
    if (rid === undefined || rid === "") {
      rid = newRequestId();
      h.set("x-request-id", rid);
    }
    this.cb.streamInfo.requestId = rid;
    h.remove("x-envoy-attempt-count");
    // Envoy's router injects the request's trace context once; every attempt and mirror sends it.
    this.cb.streamInfo.span?.injectContext(h);
    // Without a path rewrite the downstream request's headers are the upstream's (no copy).
    if (d.path === req.path) return req;
    return { method: req.method, path: d.path, authority: req.authority, scheme: req.scheme, protocol: req.protocol, headers: h, upgrade: req.upgrade };
  }

  private startMirrors(d: ForwardDecision, endStream: boolean): void {
    const services = this.cb.services;
    for (const m of d.mirrors) {
      const cluster = services.clusters.get(m.cluster);
      if (cluster === undefined) continue;
      const shadow = ShadowRequest.start(this.upstreamHeaders!, m, cluster, endStream, this.globalTimeoutMs, services);
      if (shadow !== undefined) (this.shadows ??= []).push(shadow);
    }
  }

  decodeData(data: Buffer, endStream: boolean): FilterStatus {
    if (this.state === St.Done) return FilterStatus.StopIteration;
    if (this.shadows !== null) for (const s of this.shadows) s.write(data, endStream);
    const st = this.state;
    const enc = (st === St.AwaitingHeaders || st === St.Responding || st === St.Tunnel) && this.upstream !== null ? this.upstream.encoder : null;
    if (enc !== null && !this.replayable) {
      this.cb.streamInfo.upstreamBytesSent += data.length;
      if (!this.sendBody(enc, data, endStream)) this.disableDownstreamReads();
    } else {
      this.body.push(data);
      this.bodyBytes += data.length;
      if (enc !== null) {
        this.sent++;
        this.cb.streamInfo.upstreamBytesSent += data.length;
        if (!this.sendBody(enc, data, endStream)) this.disableDownstreamReads();
      } else {
        this.unsentBytes += data.length;
        if (this.unsentBytes > MAX_PENDING_BODY) this.disableDownstreamReads();
      }
      if (this.replayable && this.bodyBytes > RETRY_BUFFER_LIMIT) {
        if (st === St.Backoff) {
          // A retry is waiting and the body no longer fits the replay buffer: Envoy gives up.
          this.cb.sendLocalReply(ErrorCode.RetryBufferOverflow);
          return FilterStatus.StopIteration;
        }
        // Too long to replay: keep only what the current attempt still needs.
        this.replayable = false;
        this.body = this.body.slice(this.sent);
        this.sent = 0;
      }
    }
    if (endStream && !this.requestComplete) {
      this.requestComplete = true;
      this.cb.streamInfo.mark("lastDownstreamRxByteReceived");
      if (enc !== null) this.cb.streamInfo.mark("lastUpstreamTxByteSent");
      if (st !== St.Idle) {
        this.armGlobalTimer();
        if (st === St.AwaitingHeaders) this.armPerTryTimer();
      }
    }
    return FilterStatus.StopIteration;
  }

  decodeTrailers(trailers: HeaderList): FilterStatus {
    // Trailers end the body and go upstream after it (gRPC client streaming over HTTP/2); the
    // upstream codec decides whether they go on the wire (HTTP/1 drops them).
    this.requestTrailers = trailers;
    return this.decodeData(EMPTY, true);
  }

  /** The body's end carries the request's trailers when it has some. */
  private sendBody(enc: RequestEncoder, data: Buffer, endStream: boolean): boolean {
    const t = this.requestTrailers;
    if (!endStream || t === null) return enc.encodeData(data, endStream);
    const ok = data.length === 0 || enc.encodeData(data, false);
    enc.encodeTrailers(t);
    return ok;
  }

  private disableDownstreamReads(): void {
    if (!this.readDisabled) {
      this.readDisabled = true;
      this.cb.readDisable(true);
    }
  }

  private enableDownstreamReads(): void {
    if (this.readDisabled) {
      this.readDisabled = false;
      this.cb.readDisable(false);
    }
  }

  // ---------------------------------------------------------------- attempts

  private startAttempt(): void {
    const cluster = this.cluster!;
    const compiled = this.retry !== null ? this.retryPolicy : undefined;
    const policy = compiled?.policy;
    const previousHosts = policy?.retryHostPredicatePreviousHosts ? this.tried ?? undefined : undefined;
    const ctx: LbContext =
      this.hash === undefined && previousHosts === undefined
        ? compiled?.lbContext ?? DEFAULT_LB_CONTEXT
        : {
            hash: this.hash,
            previousHosts,
            hostSelectionRetryMaxAttempts: policy?.hostSelectionRetryMaxAttempts ?? 0,
            retryRemoteLocalities: policy?.retryRemoteLocalities ?? false,
          };
    // ORIGINAL_DST (PassthroughCluster): the host is where the downstream connection was going
    // (Envoy uses the connection's restored local address, not a header, unless use_http_header).
    const host = cluster.chooseHost(cluster.originalDst ? { ...ctx, originalDst: { ip: this.cb.downstreamLocalIp, port: this.cb.downstreamLocalPort } } : ctx);
    if (host === undefined) {
      cluster.stats.cxNoneHealthy.inc();
      this.releaseNextRetry();
      this.cb.sendLocalReply(ErrorCode.NoHealthyUpstream);
      return;
    }
    const info = this.cb.streamInfo;
    info.attemptCount++;
    info.upstreamHost = host.key;
    info.mark("upstreamConnectStart");
    this.retryHeld = this.nextRetryHeld;
    this.nextRetryHeld = false;
    host.active++;
    this.countedHost = host;
    // Only the previous-hosts predicate reads the hosts tried.
    if (policy?.retryHostPredicatePreviousHosts) {
      if (this.tried === null) this.tried = [host];
      else this.tried.push(host);
    }
    this.sent = 0;
    this.unsentBytes = this.bodyBytes;
    this.state = St.Connecting;
    const u = new UpstreamRequest(this, host);
    this.upstream = u;
    u.start(this.upstreamHeaders!);
    // Not handed a connection at once: the request waits for one (Envoy's pending request).
    if (this.upstream === u && this.state === St.Connecting) {
      this.pendingCounted = true;
      cluster.stats.rqPendingTotal.inc();
      cluster.stats.rqPendingActive.add(1);
    }
  }

  private clearPending(): void {
    if (this.pendingCounted) {
      this.pendingCounted = false;
      this.cluster!.stats.rqPendingActive.add(-1);
    }
  }

  onPoolReady(u: UpstreamRequest): void {
    if (u !== this.upstream || this.state !== St.Connecting) return;
    const host = u.host;
    const info = this.cb.streamInfo;
    const cluster = this.cluster!;
    cluster.outlier.report(host, CONNECT_SUCCESS);
    this.clearPending();
    cluster.stats.rqTotal.inc();
    cluster.stats.rqActive.add(1);
    host.stats.rqTotal++;
    host.stats.rqActive++;
    this.activeCounted = true;
    const enc = u.encoder!;
    // One clock read for the points of this instant (connected, first and last request byte).
    const now = info.elapsed();
    info.markAt("upstreamConnectComplete", now);
    info.upstreamLocalAddress = enc.localAddress;
    info.upstreamTls = enc.upstreamTls;
    this.state = St.AwaitingHeaders;
    this.upstreamStart = now;
    const headers = this.upstreamHeaders!;
    headers.headers.set("x-envoy-attempt-count", String(info.attemptCount));
    const body = this.body;
    const noBody = this.requestComplete && body.length - this.sent === 0 && !headers.upgrade && this.requestTrailers === null;
    info.markAt("firstUpstreamTxByteSent", now);
    enc.encodeHeaders(headers, noBody);
    info.upstreamBytesSent = 0;
    for (let i = this.sent; i < body.length; i++) {
      const chunk = body[i]!;
      info.upstreamBytesSent += chunk.length;
      this.sendBody(enc, chunk, this.requestComplete && i === body.length - 1);
    }
    if (this.requestComplete && this.requestTrailers !== null && this.sent === body.length) enc.encodeTrailers(this.requestTrailers);
    this.sent = body.length;
    this.unsentBytes = 0;
    if (!this.replayable) {
      this.body = [];
      this.sent = 0;
    }
    if (this.requestComplete) {
      info.markAt("lastUpstreamTxByteSent", now);
      this.armPerTryTimer();
    }
    this.enableDownstreamReads();
  }

  onPoolFailure(u: UpstreamRequest, err: ProxyError): void {
    if (u !== this.upstream || this.state !== St.Connecting) return;
    this.upstream = null;
    const code = err.code;
    if (code === ErrorCode.UpstreamOverflow) {
      // Pending-request overflow: answered at once and never retried (Envoy).
      this.cluster!.stats.rqPendingOverflow.inc();
      this.cluster!.stats.chargeCode(503);
      u.host.stats.rqError++;
      this.endAttemptHost();
      this.cb.sendLocalReply(code);
      return;
    }
    // "": a transport that failed without a reason (TLS peer closed mid-handshake): none to log.
    this.cb.streamInfo.upstreamTransportFailureReason = err.detail === "" ? undefined : err.detail;
    this.cluster!.outlier.report(u.host, code === ErrorCode.UpstreamConnectTimeout ? TIMEOUT : CONNECT_FAILURE);
    this.attemptFailed(u.host, "connect-failure", false, code, err.detail);
  }

  // ---------------------------------------------------------------- timers

  /** The route timeout starts once the whole request has been received (Envoy). */
  private armGlobalTimer(): void {
    if (this.globalTimeoutMs <= 0 || this.globalTimer !== undefined || this.state === St.Done) return;
    this.globalTimer = this.cb.services.clock.set(() => this.onGlobalTimeout(), this.globalTimeoutMs);
  }

  /** The per-try timeout starts when the attempt's request is complete and sent. */
  private armPerTryTimer(): void {
    if (this.perTryTimeoutMs <= 0 || this.perTryTimer !== undefined) return;
    this.perTryTimer = this.cb.services.clock.set(() => this.onPerTryTimeout(), this.perTryTimeoutMs);
  }

  private clearPerTryTimer(): void {
    if (this.perTryTimer !== undefined) {
      this.cb.services.clock.clear(this.perTryTimer);
      this.perTryTimer = undefined;
    }
  }

  private clearTimers(): void {
    this.clearPerTryTimer();
    const clock = this.cb.services.clock;
    if (this.globalTimer !== undefined) clock.clear(this.globalTimer);
    if (this.backoffTimer !== undefined) clock.clear(this.backoffTimer);
    this.globalTimer = undefined;
    this.backoffTimer = undefined;
  }

  private onGlobalTimeout(): void {
    this.globalTimer = undefined;
    if (this.state === St.Done || this.state === St.Tunnel) return;
    this.cb.streamInfo.addFlag(ResponseFlag.UpstreamRequestTimeout);
    if (this.responseStarted) {
      // Headers already went out: all Envoy can do is reset the stream. Its host still counts the
      // timeout (Envoy's onResponseTimeout), not an error: the answer was charged already.
      if (this.upstream !== null) this.upstream.host.stats.rqTimeout++;
      this.cb.streamInfo.responseCodeDetails = "upstream_response_timeout";
      this.cleanup();
      this.cb.resetStream();
      return;
    }
    const u = this.upstream;
    if (u !== null && u.encoder !== null) {
      this.cluster!.outlier.report(u.host, TIMEOUT);
      // Envoy knows the host once the pool handed a connection: its timeout, and the 504 as its error.
      u.host.stats.rqTimeout++;
      u.host.stats.rqError++;
    }
    this.dropAttempt();
    const stats = this.cluster!.stats;
    stats.rqTimeout.inc();
    // Envoy's chargeUpstreamAbort: the timeout's 504 counts as the upstream's answer.
    if (u !== null) stats.chargeCode(504);
    this.cb.sendLocalReply(ErrorCode.UpstreamTimeout);
  }

  private onPerTryTimeout(): void {
    this.perTryTimer = undefined;
    // Once the response started downstream, only the route timeout applies (Envoy).
    if (this.state !== St.AwaitingHeaders) return;
    const host = this.upstream!.host;
    this.cluster!.outlier.report(host, TIMEOUT);
    this.cluster!.stats.rqPerTryTimeout.inc();
    host.stats.rqTimeout++;
    this.dropAttempt();
    this.attemptFailed(host, "per-try-timeout", true, ErrorCode.UpstreamTimeout);
  }

  // ---------------------------------------------------------------- attempt outcomes

  /** Ends the current attempt: its connection is closed (never reused) and its host uncounted. */
  private dropAttempt(): void {
    this.clearPerTryTimer();
    const u = this.upstream;
    if (u !== null) {
      this.upstream = null;
      u.reset();
    }
    this.endAttemptHost();
  }

  private endAttemptHost(): void {
    this.clearPending();
    const counted = this.countedHost;
    if (this.activeCounted) {
      this.activeCounted = false;
      this.cluster!.stats.rqActive.add(-1);
      if (counted !== null) counted.stats.rqActive--;
    }
    if (counted !== null) {
      this.countedHost = null;
      counted.active--;
    }
    if (this.retryHeld) {
      this.retryHeld = false;
      this.cluster!.resources.releaseRetry();
    }
  }

  /** Whether another attempt may start: budget, replayable body, retry circuit breaker. */
  private mayRetry(): boolean {
    const r = this.retry;
    if (r === null || r.exhausted || this.responseStarted) return false;
    if (!this.replayable && this.bodyBytes > 0) return false;
    const stats = this.cluster!.stats;
    if (!this.cluster!.resources.tryAcquireRetry()) {
      stats.rqRetryOverflow.inc();
      return false;
    }
    this.nextRetryHeld = true;
    stats.rqRetry.inc();
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
    this.backoffTimer = this.cb.services.clock.set(() => {
      this.backoffTimer = undefined;
      if (this.state === St.Backoff) this.startAttempt();
    }, delay);
  }

  /** An attempt failed without a usable response: retry, or reply with Envoy's local reply. */
  private attemptFailed(host: UpstreamHost, kind: FailureKind, requestSent: boolean, code: ErrorCodeValue, detail?: string): void {
    // One error per failed attempt, retried or answered (Envoy: maybeRetryReset or chargeUpstreamAbort).
    host.stats.rqError++;
    const r = this.retry;
    const wouldRetry = r !== null && r.wouldRetryFailure(kind, requestSent);
    const hadRetries = r !== null && r.retries > 0;
    this.endAttemptHost();
    if (wouldRetry && this.mayRetry()) {
      this.scheduleRetry();
      return;
    }
    const stats = this.cluster!.stats;
    if (wouldRetry && r.exhausted) {
      stats.rqRetryLimitExceeded.inc();
      this.cb.streamInfo.addFlag(ResponseFlag.UpstreamRetryLimitExceeded);
    }
    if (kind === "per-try-timeout") {
      stats.chargeCode(504);
      this.cb.streamInfo.addFlag(ResponseFlag.UpstreamRequestTimeout);
      this.cb.sendLocalReply(ErrorCode.UpstreamTimeout);
      return;
    }
    // Envoy's chargeUpstreamAbort: the local reply standing in for the upstream's answer (503).
    stats.chargeCode(503);
    this.cb.sendLocalReply(code, detail, hadRetries);
  }

  onUpstreamHeaders(u: UpstreamRequest, res: ResponseHeaders, endStream: boolean): void {
    if (u !== this.upstream) return;
    const d = this.d!;
    const h = res.headers;
    const info = this.cb.streamInfo;
    const now = info.elapsed();
    info.markAt("firstUpstreamRxByteReceived", now);
    const cluster = this.cluster!;
    cluster.outlier.report(u.host, { kind: "response", status: res.status });
    const r = this.retry;
    if (r !== null && res.status !== 101 && r.wouldRetryResponse(res.status, h)) {
      if (this.mayRetry()) {
        // Envoy charges a retried response under `retry.upstream_rq_<code>`, not `upstream_rq_<code>`,
        // and the host with an error whatever the code.
        cluster.stats.chargeRetryCode(res.status);
        u.host.stats.rqError++;
        this.dropAttempt();
        this.scheduleRetry();
        return;
      }
      if (r.exhausted) {
        cluster.stats.rqRetryLimitExceeded.inc();
        info.addFlag(ResponseFlag.UpstreamRetryLimitExceeded);
      }
    } else if (r !== null && r.retries > 0) {
      cluster.stats.rqRetrySuccess.inc();
    }
    cluster.stats.chargeCode(res.status);
    // Envoy's rq_success / rq_error: the final answer, 5xx or not.
    if (res.status >= 500 && res.status < 600) u.host.stats.rqError++;
    else u.host.stats.rqSuccess++;
    this.clearPerTryTimer();
    const serviceTime = Math.round(now - this.upstreamStart);
    info.upstreamServiceTimeMs = serviceTime;
    if (res.status === 101) {
      // A tunnel is never retried: nothing of it is kept for replay.
      this.state = St.Tunnel;
      this.clearTimers();
      this.replayable = false;
      this.body = [];
      this.sent = 0;
    } else {
      this.state = St.Responding;
    }
    d.applyResponseHeaders(h);
    if (this.setCookie !== undefined) h.add("set-cookie", this.setCookie);
    h.set("x-envoy-upstream-service-time", String(serviceTime));
    info.responseCodeDetails = "via_upstream";
    this.responseStarted = true;
    if (endStream) this.upstreamComplete();
    this.cb.encodeHeaders(res, endStream);
  }

  onUpstreamData(u: UpstreamRequest, data: Buffer, endStream: boolean): void {
    if (u !== this.upstream) return;
    this.cb.streamInfo.upstreamBytesReceived += data.length;
    if (endStream) this.upstreamComplete();
    this.cb.encodeData(data, endStream);
  }

  onUpstreamTrailers(u: UpstreamRequest, trailers: HeaderList): void {
    if (u !== this.upstream) return;
    this.upstreamComplete();
    this.cb.encodeTrailers(trailers);
  }

  /** The attempt's response is complete: the codec returned its connection to the pool. */
  private upstreamComplete(): void {
    const info = this.cb.streamInfo;
    const now = info.elapsed();
    info.markAt("lastUpstreamRxByteReceived", now);
    this.cluster!.stats.rqTime.record(now - this.upstreamStart);
    this.upstream?.done();
    this.endAttemptHost();
    this.clearTimers();
  }

  onUpstreamReset(u: UpstreamRequest, reason: StreamResetReason, detail: string | undefined): void {
    if (u !== this.upstream) return;
    this.upstream = null;
    const info = this.cb.streamInfo;
    switch (this.state) {
      case St.AwaitingHeaders:
      case St.Connecting:
        this.clearPerTryTimer();
        if (reason === "protocol_error") {
          u.host.stats.rqError++;
          this.endAttemptHost();
          this.cb.sendLocalReply(ErrorCode.UpstreamProtocolError);
          return;
        }
        if (reason === "connection_failure") {
          info.upstreamTransportFailureReason = detail;
          this.cluster!.outlier.report(u.host, CONNECT_FAILURE);
          this.attemptFailed(u.host, "connect-failure", false, ErrorCode.UpstreamConnectFailure, detail);
          return;
        }
        this.cluster!.outlier.report(u.host, RESET);
        if (reason === "remote_refused_stream_reset") this.attemptFailed(u.host, "refused-stream", true, ErrorCode.UpstreamRemoteReset, "remote refused stream reset");
        else if (reason === "remote_reset") this.attemptFailed(u.host, "reset", true, ErrorCode.UpstreamRemoteReset, "remote reset");
        else this.attemptFailed(u.host, "reset", true, ErrorCode.UpstreamReset, detail);
        return;
      case St.Responding:
        if (reason === "protocol_error" && this.cb.canReplaceResponse()) {
          // The bad bytes came before any of the response reached the client: a clean 502.
          this.responseStarted = false;
          this.cleanup();
          this.cb.sendLocalReply(ErrorCode.UpstreamProtocolError);
          return;
        }
        if (reason === "protocol_error") {
          info.addFlag(ResponseFlag.UpstreamProtocolError);
          info.responseCodeDetails = "upstream_reset_after_response_started{protocol_error}";
        } else if (reason === "remote_reset" || reason === "remote_refused_stream_reset") {
          info.addFlag(ResponseFlag.UpstreamRemoteReset);
          info.responseCodeDetails = `upstream_reset_after_response_started{${reason}}`;
        } else {
          info.addFlag(ResponseFlag.UpstreamConnectionTermination);
          info.responseCodeDetails = "upstream_reset_after_response_started{connection_termination}";
        }
        this.cleanup();
        this.cb.resetStream();
        return;
      case St.Tunnel:
        this.cleanup();
        this.cb.resetStream();
        return;
      default:
        return;
    }
  }

  onUpstreamWritable(u: UpstreamRequest): void {
    if (u === this.upstream) this.enableDownstreamReads();
  }

  // ---------------------------------------------------------------- flow control and the end

  onAboveWriteBufferHighWatermark(): void {
    this.upstream?.encoder?.readDisable(true);
  }

  onBelowWriteBufferLowWatermark(): void {
    this.upstream?.encoder?.readDisable(false);
  }

  onStreamReset(): void {
    if (this.shadows !== null) for (const s of this.shadows) s.abandon();
    this.cleanup();
  }

  onComplete(): void {
    this.cleanup();
  }

  /** Releases everything the request holds: attempt, timers, circuit-breaker slots. */
  private cleanup(): void {
    if (this.state === St.Done) return;
    this.state = St.Done;
    this.clearTimers();
    this.dropAttempt();
    this.releaseNextRetry();
    if (this.requestHeld) {
      this.requestHeld = false;
      this.cluster!.resources.releaseRequest();
    }
    this.body = [];
  }
}

/** An attempt without retry policy, hash key or hosts to avoid (shared: nothing per request). */
const DEFAULT_LB_CONTEXT: LbContext = Object.freeze({ hostSelectionRetryMaxAttempts: 0, retryRemoteLocalities: false });

const CONNECT_SUCCESS: AttemptOutcome = { kind: "connect-success" };
const CONNECT_FAILURE: AttemptOutcome = { kind: "connect-failure" };
const TIMEOUT: AttemptOutcome = { kind: "timeout" };
const RESET: AttemptOutcome = { kind: "reset" };

export const routerFilterFactory: HttpFilterFactory = {
  name: HTTP_ROUTER_FILTER,
  create: (cb) => new RouterFilter(cb),
};
