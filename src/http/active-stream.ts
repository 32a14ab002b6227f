// ActiveStream: one request/response exchange inside the HTTP connection manager, independent of
// the codec. Resolves the route, builds the request's HTTP filter chain (fault, …, router) and runs
// it: decoding in order (continue / stop and resume / local reply), encoding in reverse. Sends
// every local reply (the one place, via local-reply.ts), keeps the StreamInfo and hands the
// finished record to the worker's sink once.

import { ErrorCode, type ErrorCodeValue } from "../common/errors.js";
import type { ConnectionInfo } from "../listener/connection-info.js";
import { mutateXfcc } from "./xfcc.js";
import type { HttpConnManagerStats } from "../observability/stats/http-conn-manager-stats.js";
import { ResponseFlag, StreamInfoBuilder, type StreamInfo } from "../observability/stream-info.js";
import { httpDate } from "./date-header.js";
import { FilterStatus, type FilterCallbacks, type HttpFilter, type HttpFilterFactory } from "./filters/http-filter.js";
import { HeaderList } from "./header-list.js";
import type { RequestHeaders, ResponseHeaders } from "./http-message.js";
import { formatGrpcTimeout, grpcTimeoutOf } from "./grpc/grpc-timeout.js";
import { httpToGrpcStatus, isGrpcRequest } from "./grpc/grpc-status.js";
import { percentEncodeGrpcMessage } from "./grpc/grpc-message.js";
import type { ListenerContext, WorkerServices } from "./listener-context.js";
import { localReply } from "./local-reply.js";
import { resolveRoute, type ForwardDecision, type ResolvedRoute } from "./route-resolution.js";
import { upgradeAllowed } from "./upgrade-policy.js";
import type { TimerHandle } from "../common/timers.js";

/** What the connection manager needs from the server codec for one stream. */
export interface ServerStreamEncoder {
  /** `close`: the connection must end after this response (codec errors, draining). */
  encodeHeaders(headers: ResponseHeaders, endStream: boolean, close: boolean): void;
  /** false: the downstream is over its write buffer limit; the codec reports when it drains. */
  encodeData(data: Buffer, endStream: boolean): boolean;
  encodeTrailers(trailers: HeaderList): void;
  encode100Continue(): void;
  readDisable(disable: boolean): void;
  /** Resets the stream (closes an HTTP/1 connection). */
  resetStream(): void;
  /** The response head was encoded but not a byte of it written yet: it may still be replaced. */
  responseReplaceable(): boolean;
  /** Forgets an encoded, unwritten response head (a local reply takes its place). */
  discardResponse(): void;
  /** The exchange is over (response complete or reset). */
  streamDone(): void;
}

const EMPTY = Buffer.alloc(0);
/** Before the headers arrive (never mutated: decodeHeaders replaces it). */
const NO_FILTERS: HttpFilter[] = [];

/**
 * The request's filter instances, in an array of exactly their number (a `[]` grown by push
 * reserves 17 slots on every request).
 */
function createFilters(factories: readonly HttpFilterFactory[], cb: FilterCallbacks): HttpFilter[] {
  const n = factories.length;
  if (n === 1) {
    const only = factories[0]!.create(cb);
    return only === undefined ? NO_FILTERS : [only];
  }
  const out = new Array<HttpFilter>(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const f = factories[i]!.create(cb);
    if (f !== undefined) out[k++] = f;
  }
  out.length = k;
  return out;
}

export class ActiveStream implements FilterCallbacks {
  readonly services: WorkerServices;
  readonly streamInfo: StreamInfoBuilder;
  route: ResolvedRoute | undefined;
  requestHeaders!: RequestHeaders;
  private readonly codec: ServerStreamEncoder;
  private readonly ctx: ListenerContext;
  private readonly conn: ConnectionInfo;
  private readonly downstreamRemote: string;
  private readonly downstreamLocal: string;
  private filters: HttpFilter[] = NO_FILTERS;
  /** Path as received, for x-envoy-original-path and StreamInfo. */
  private originalPath = "";

  // decoding
  /** Index of the filter whose decodeHeaders stopped the iteration; -1 = headers passed every filter. */
  private decodeStoppedAt = -1;
  private decodeBuffered: Buffer[] | null = null;
  private decodeEndBuffered = false;
  /** Request trailers held while a filter holds the headers. */
  private decodeTrailersBuffered: HeaderList | null = null;
  requestComplete = false;

  // encoding
  private encodeStoppedAt = -1;
  private encodeBuffered: Buffer[] | null = null;
  private encodeEndBuffered = false;
  private pendingResponse: ResponseHeaders | null = null;
  private pendingEndStream = false;
  private pendingClose = false;
  private responseStarted = false;
  private tunnel = false;
  private finished = false;
  /** The connection manager's stats this request counts in, from its start (undefined before headers). */
  private httpStats: HttpConnManagerStats | undefined;
  /** The route's max stream duration (or gRPC deadline), armed at the request's headers. */
  private durationTimer: TimerHandle | undefined;
  /** This stream counts in downstream_cx_upgrades_active (an upgrade the config allowed). */
  private upgradeCounted = false;

  constructor(codec: ServerStreamEncoder, ctx: ListenerContext, conn: ConnectionInfo, remote: string, local: string) {
    this.codec = codec;
    this.ctx = ctx;
    this.conn = conn;
    this.services = ctx.services;
    this.downstreamRemote = remote;
    this.downstreamLocal = local;
    this.streamInfo = new StreamInfoBuilder(ctx.services.clock);
  }

  get downstreamRemoteIp(): string {
    return this.conn.remoteIp;
  }

  get downstreamRemotePort(): number {
    return this.conn.remotePort;
  }

  get downstreamLocalIp(): string {
    return this.conn.localIp;
  }

  get downstreamLocalPort(): number {
    return this.conn.localPort;
  }

  get connection(): ConnectionInfo {
    return this.conn;
  }

  get inbound(): boolean {
    return this.ctx.direction === "INBOUND";
  }

  get done(): boolean {
    return this.finished;
  }

  // ---------------------------------------------------------------- decoding (from the codec)

  decodeHeaders(req: RequestHeaders, endStream: boolean, originalPath: string): void {
    this.requestHeaders = req;
    this.originalPath = originalPath;
    this.requestComplete = endStream;
    if (endStream) this.streamInfo.mark("lastDownstreamRxByteReceived");
    this.httpStats = this.ctx.httpStats;
    this.httpStats.requestStarted(req.protocol === "HTTP/2");
    const tls = this.conn.tls;
    this.streamInfo.downstreamTls = tls;
    // Envoy mutates x-forwarded-client-cert before routing and before any HTTP filter runs.
    mutateXfcc(req.headers, this.ctx.xfcc, tls);
    const route = resolveRoute(this.ctx.routeTable, req, originalPath, this.services.random);
    this.route = route;
    const si = this.streamInfo;
    si.routeName = route.routeName;
    si.virtualHostName = route.virtualHostName;
    const telemetry = this.ctx.telemetry;
    si.telemetry = telemetry;
    si.direction = this.ctx.direction;
    if (telemetry.tracer !== undefined) si.span = telemetry.tracer.startSpan(req, this.ctx.direction, si);
    this.filters = createFilters(this.ctx.httpFilters, this);
    if (req.upgrade && !this.admitUpgrade(req, route)) return;
    if (route.kind === "forward" && route.action.maxStreamDuration !== undefined) this.armDurationTimer(route, req);
    this.iterateDecodeHeaders(0);
  }

  /**
   * Envoy's upgrade check (createUpgradeFilterChain): an upgrade neither the route nor the
   * connection manager allows is refused with 403 `upgrade_failed` once a route matched (without
   * one the router answers 404); an allowed one counts in downstream_cx_upgrades_*.
   */
  private admitUpgrade(req: RequestHeaders, route: ResolvedRoute): boolean {
    const type = req.headers.get("upgrade") ?? "";
    const routeConfigs = route.kind === "forward" ? route.action.upgradeConfigs : undefined;
    if (upgradeAllowed(this.ctx.upgrades, routeConfigs, type)) {
      this.upgradeCounted = true;
      this.httpStats!.upgradeStarted();
      return true;
    }
    if (route.kind === "local" && route.routeName === undefined) return true;
    this.httpStats!.rqWsOnNonWsRoute.inc();
    this.sendLocalReply(ErrorCode.UpgradeFailed);
    return false;
  }

  /**
   * Envoy's refreshDurationTimeout: with grpc_timeout_header_max set, the request's grpc-timeout
   * (capped by it unless 0, minus the offset) bounds the stream; otherwise max_stream_duration
   * does (0 = none). The timer runs from the request's headers, on the data-path clock; a gRPC
   * request's grpc-timeout is rewritten to that bound for the upstream.
   */
  private armDurationTimer(route: ForwardDecision, req: RequestHeaders): void {
    const msd = route.action.maxStreamDuration!;
    const headerMax = msd.grpcTimeoutHeaderMaxMs;
    const grpc = headerMax === undefined ? undefined : grpcTimeoutOf(req.headers);
    let timeout: number;
    if (grpc === undefined || headerMax === undefined) {
      const max = msd.maxStreamDurationMs;
      if (max === undefined || max <= 0) return;
      timeout = max;
    } else {
      timeout = headerMax !== 0 && grpc > headerMax ? headerMax : grpc;
      const offset = msd.grpcTimeoutHeaderOffsetMs;
      if (timeout !== 0 && offset !== undefined && offset > 0) timeout = offset < timeout ? timeout - offset : 0;
    }
    // Envoy tells a gRPC upstream the deadline it has (before any time used is taken off).
    if (isGrpcRequest(req.headers)) req.headers.set("grpc-timeout", formatGrpcTimeout(timeout));
    // The closure exists only for streams with a bound (a class-field arrow would cost every request one).
    this.durationTimer = this.services.clock.set(() => this.onMaxDuration(), timeout);
  }

  private onMaxDuration(): void {
    this.durationTimer = undefined;
    if (this.finished) return;
    this.httpStats?.rqMaxDurationReached.inc();
    // Envoy records the details first; a response already under way can only be reset.
    if (this.responseStarted && !this.canReplaceResponse()) {
      this.streamInfo.responseCodeDetails = "max_duration_timeout";
      this.resetStream();
      return;
    }
    this.sendLocalReply(ErrorCode.MaxStreamDuration, this.requestComplete ? "complete" : "incomplete");
  }

  private iterateDecodeHeaders(from: number): void {
    const filters = this.filters;
    const last = filters.length - 1;
    for (let i = from; i <= last; i++) {
      const f = filters[i]!;
      const status = f.decodeHeaders === undefined ? FilterStatus.Continue : f.decodeHeaders(this.requestHeaders, this.requestComplete && this.decodeBuffered === null && this.decodeTrailersBuffered === null);
      if (this.finished) return;
      if (status === FilterStatus.StopIteration && i < last) {
        this.decodeStoppedAt = i;
        return;
      }
    }
    this.decodeStoppedAt = -1;
  }

  decodeData(data: Buffer, endStream: boolean): void {
    if (this.finished) return;
    this.streamInfo.bytesReceived += data.length;
    if (endStream) {
      this.requestComplete = true;
      this.streamInfo.mark("lastDownstreamRxByteReceived");
    }
    const stopped = this.decodeStoppedAt;
    if (stopped !== -1) {
      // A filter holds the headers: the filters up to it see the body (as in Envoy); what they
      // let through waits for the others until the stream is continued.
      if (!this.iterateDecodeData(data, endStream, 0, stopped) || this.finished) return;
      (this.decodeBuffered ??= []).push(data);
      if (endStream) this.decodeEndBuffered = true;
      return;
    }
    this.iterateDecodeData(data, endStream, 0, this.filters.length - 1);
  }

  /** Runs filters from..to over one chunk; false when one of them stopped it. */
  private iterateDecodeData(data: Buffer, endStream: boolean, from: number, to: number): boolean {
    const filters = this.filters;
    for (let i = from; i <= to; i++) {
      const f = filters[i]!;
      if (f.decodeData === undefined) continue;
      const status = f.decodeData(data, endStream);
      if (this.finished || status === FilterStatus.StopIteration) return false;
    }
    return true;
  }

  /**
   * The request's trailers (HTTP/2): they end the request. Filters without decodeTrailers see the
   * end as an empty last chunk of data, so body-buffering filters still learn the body is complete.
   */
  decodeTrailers(trailers: HeaderList): void {
    if (this.finished) return;
    this.requestComplete = true;
    this.streamInfo.mark("lastDownstreamRxByteReceived");
    const stopped = this.decodeStoppedAt;
    if (stopped !== -1) {
      if (!this.iterateDecodeTrailers(trailers, 0, stopped) || this.finished) return;
      this.decodeTrailersBuffered = trailers;
      return;
    }
    this.iterateDecodeTrailers(trailers, 0, this.filters.length - 1);
  }

  private iterateDecodeTrailers(trailers: HeaderList, from: number, to: number): boolean {
    const filters = this.filters;
    for (let i = from; i <= to; i++) {
      const f = filters[i]!;
      const status = f.decodeTrailers !== undefined ? f.decodeTrailers(trailers) : f.decodeData !== undefined ? f.decodeData(EMPTY, true) : FilterStatus.Continue;
      if (this.finished || status === FilterStatus.StopIteration) return false;
    }
    return true;
  }

  continueDecoding(): void {
    if (this.finished || this.decodeStoppedAt === -1) return;
    const from = this.decodeStoppedAt + 1;
    this.decodeStoppedAt = -1;
    this.iterateDecodeHeaders(from);
    const buffered = this.decodeBuffered;
    const trailers = this.decodeTrailersBuffered;
    if (this.finished || this.decodeStoppedAt !== -1 || (buffered === null && trailers === null)) return;
    const end = this.decodeEndBuffered && trailers === null;
    this.decodeBuffered = null;
    this.decodeTrailersBuffered = null;
    this.decodeEndBuffered = false;
    const last = this.filters.length - 1;
    if (buffered !== null) for (let i = 0; i < buffered.length && !this.finished; i++) this.iterateDecodeData(buffered[i]!, end && i === buffered.length - 1, from, last);
    if (trailers !== null && !this.finished) this.iterateDecodeTrailers(trailers, from, last);
  }

  // ---------------------------------------------------------------- encoding (from filters)

  encodeHeaders(res: ResponseHeaders, endStream: boolean): void {
    this.encodeHeadersWithClose(res, endStream, false);
  }

  private encodeHeadersWithClose(res: ResponseHeaders, endStream: boolean, close: boolean): void {
    if (this.finished) return;
    this.pendingResponse = res;
    this.pendingEndStream = endStream;
    this.pendingClose = close;
    this.responseStarted = true;
    this.iterateEncodeHeaders(this.filters.length - 1);
  }

  private iterateEncodeHeaders(from: number): void {
    const filters = this.filters;
    const res = this.pendingResponse!;
    for (let i = from; i >= 0; i--) {
      const f = filters[i]!;
      if (f.encodeHeaders === undefined) continue;
      const status = f.encodeHeaders(res, this.pendingEndStream && this.encodeBuffered === null && !this.encodeEndBuffered);
      if (this.finished) return;
      if (status === FilterStatus.StopIteration) {
        this.encodeStoppedAt = i;
        return;
      }
    }
    this.encodeStoppedAt = -1;
    this.writeHeaders(res, this.pendingEndStream && this.encodeBuffered === null && !this.encodeEndBuffered);
  }

  private writeHeaders(res: ResponseHeaders, endStream: boolean): void {
    this.pendingResponse = null;
    const info = this.streamInfo;
    info.responseCode = res.status;
    if (res.status === 101) this.tunnel = true;
    res.headers.set("server", this.ctx.serverName);
    info.responseHeaders = res.headers;
    info.mark("firstDownstreamTxByteSent");
    this.codec.encodeHeaders(res, endStream, this.pendingClose);
    if (endStream) this.endResponse();
  }

  encodeData(data: Buffer, endStream: boolean): void {
    if (this.finished) return;
    const stopped = this.encodeStoppedAt;
    if (stopped !== -1) {
      // A filter holds the response headers: the filters up to it (in encode order) see the
      // body; what they let through waits until encoding continues.
      if (!this.iterateEncodeData(data, endStream, this.filters.length - 1, stopped) || this.finished) {
        if (endStream) this.encodeEndBuffered = true;
        return;
      }
      (this.encodeBuffered ??= []).push(data);
      if (endStream) this.encodeEndBuffered = true;
      return;
    }
    if (this.iterateEncodeData(data, endStream, this.filters.length - 1, 0)) this.writeData(data, endStream);
    else if (endStream) this.writeData(EMPTY, true);
  }

  /** Runs filters from..to (descending) over one chunk; false when one of them stopped it. */
  private iterateEncodeData(data: Buffer, endStream: boolean, from: number, to: number): boolean {
    const filters = this.filters;
    for (let i = from; i >= to; i--) {
      const f = filters[i]!;
      if (f.encodeData === undefined) continue;
      if (f.encodeData(data, endStream) === FilterStatus.StopIteration || this.finished) return false;
    }
    return true;
  }

  private writeData(data: Buffer, endStream: boolean): void {
    if (this.finished) return;
    this.streamInfo.bytesSent += data.length;
    if (!this.codec.encodeData(data, endStream)) this.onAboveWriteBufferHighWatermark();
    if (endStream) this.endResponse();
  }

  encodeTrailers(trailers: HeaderList): void {
    if (this.finished) return;
    const filters = this.filters;
    for (let i = filters.length - 1; i >= 0; i--) filters[i]!.encodeTrailers?.(trailers);
    this.streamInfo.responseTrailers = trailers;
    if (this.encodeStoppedAt !== -1) {
      this.encodeEndBuffered = true;
      (this.encodeBuffered ??= []).push(EMPTY);
      return;
    }
    this.codec.encodeTrailers(trailers);
    this.endResponse();
  }

  continueEncoding(): void {
    if (this.finished || this.encodeStoppedAt === -1) return;
    const from = this.encodeStoppedAt - 1;
    this.encodeStoppedAt = -1;
    if (this.pendingResponse !== null) {
      this.iterateEncodeHeaders(from);
      if (this.finished || this.encodeStoppedAt !== -1) return;
    }
    const buffered = this.encodeBuffered ?? [];
    const end = this.encodeEndBuffered;
    this.encodeBuffered = null;
    this.encodeEndBuffered = false;
    if (buffered.length === 0) {
      if (end) this.writeData(EMPTY, true);
      return;
    }
    for (let i = 0; i < buffered.length && !this.finished; i++) {
      const last = end && i === buffered.length - 1;
      if (this.iterateEncodeData(buffered[i]!, last, from, 0)) this.writeData(buffered[i]!, last);
      else if (last) this.writeData(EMPTY, true);
    }
  }

  encode100Continue(): void {
    this.codec.encode100Continue();
  }

  readDisable(disable: boolean): void {
    this.codec.readDisable(disable);
  }

  // ---------------------------------------------------------------- local replies

  sendLocalReply(code: ErrorCodeValue, detail?: string, retried = false): void {
    const r = localReply(code, detail, retried);
    if (r.flag !== undefined) this.streamInfo.addFlag(r.flag);
    this.respond(r.status, r.body, r.details, r.headers, undefined, r.closeConnection === true, r.grpcStatus);
  }

  sendResponse(status: number, body: string, details: string, headers?: Array<[string, string]>, grpcStatus?: number): void {
    this.respond(status, body, details, undefined, headers, false, grpcStatus);
  }

  canReplaceResponse(): boolean {
    return !this.responseStarted || (this.encodeStoppedAt === -1 && this.pendingResponse === null && this.codec.responseReplaceable());
  }

  private respond(status: number, body: string, details: string, extra: Array<[string, string]> | undefined, more: Array<[string, string]> | undefined, close: boolean, grpcStatus?: number): void {
    if (this.finished) return;
    if (this.responseStarted && this.canReplaceResponse()) {
      // Nothing of the upstream's response reached the client: a clean local reply replaces it.
      this.codec.discardResponse();
      this.responseStarted = false;
      this.streamInfo.bytesSent = 0;
      this.streamInfo.timings.firstDownstreamTxByteSent = undefined;
    }
    if (this.responseStarted) {
      // Headers already went out: all that is left is to reset the stream.
      this.resetStream();
      return;
    }
    this.streamInfo.responseCodeDetails = details;
    if (isGrpcRequest(this.requestHeaders.headers)) {
      this.respondGrpc(status, body, extra, more, close, grpcStatus);
      return;
    }
    const h = new HeaderList();
    const len = Buffer.byteLength(body);
    h.add("content-length", String(len));
    if (len > 0) h.add("content-type", "text/plain");
    if (more !== undefined) for (const [k, v] of more) h.add(k, v);
    if (extra !== undefined) for (const [k, v] of extra) h.add(k, v);
    h.add("date", httpDate(this.services.clock.now()));
    const bodyless = len === 0 || this.requestHeaders.method === "HEAD";
    // A reply before the request body was read leaves the connection out of sync: close it.
    this.encodeHeadersWithClose({ status, headers: h }, bodyless, close || !this.requestComplete);
    if (!bodyless) this.encodeData(Buffer.from(body), true);
  }

  /**
   * Envoy's prepareLocalReply for a gRPC request: a trailers-only response (HTTP 200,
   * application/grpc, grpc-status, the body as a percent-encoded grpc-message, no body) in one
   * HEADERS frame with END_STREAM. A grpc-status the reply's own headers carry wins; else the one
   * passed (fault abort, deadline), else the HTTP status mapped. StreamInfo keeps the flag and
   * details; its response code is the 200 that went out, as in Envoy.
   */
  private respondGrpc(status: number, body: string, extra: Array<[string, string]> | undefined, more: Array<[string, string]> | undefined, close: boolean, grpcStatus: number | undefined): void {
    const h = new HeaderList();
    if (more !== undefined) for (const [k, v] of more) h.add(k, v);
    if (extra !== undefined) for (const [k, v] of extra) h.add(k, v);
    h.set("content-type", "application/grpc");
    h.remove("content-length");
    if (!h.has("grpc-status")) h.add("grpc-status", String(grpcStatus ?? httpToGrpcStatus(status)));
    const req = this.requestHeaders;
    if (body !== "" && req.method !== "HEAD") {
      // Envoy strips the newline a JSON-formatted body ends with before it becomes a header.
      h.set("grpc-message", percentEncodeGrpcMessage(body.endsWith("\n") ? body.slice(0, -1) : body));
    }
    // HTTP/1 frames a headers-only response with Content-Length: 0 (as Envoy's HTTP/1 codec does).
    if (req.protocol !== "HTTP/2") h.add("content-length", "0");
    h.add("date", httpDate(this.services.clock.now()));
    // An unread HTTP/1 request body leaves the connection out of sync; an HTTP/2 stream ends alone.
    this.encodeHeadersWithClose({ status: 200, headers: h }, true, close || (!this.requestComplete && req.protocol !== "HTTP/2"));
  }

  // ---------------------------------------------------------------- the end

  private endResponse(): void {
    const t = this.streamInfo.elapsed();
    this.streamInfo.markLast("lastDownstreamTxByteSent", t);
    this.finish(t);
  }

  /** Resets the stream (a failure after the response started): the connection closes. */
  resetStream(): void {
    if (this.finished) return;
    for (const f of this.filters) f.onStreamReset?.();
    this.finish();
    this.codec.resetStream();
  }

  /**
   * The downstream went away before the exchange finished: the connection closed (DC), or the
   * client reset this stream alone (`remote`: HTTP/2 RST_STREAM, Envoy's DR `http2.remote_reset`).
   */
  onResetStream(remote = false): void {
    if (this.finished) return;
    if (remote) {
      this.streamInfo.addFlag(ResponseFlag.DownstreamRemoteReset);
      if (this.streamInfo.responseCodeDetails === "") this.streamInfo.responseCodeDetails = "http2.remote_reset";
    } else if (!this.tunnel) this.streamInfo.addFlag(ResponseFlag.DownstreamConnectionTermination);
    for (const f of this.filters) f.onStreamReset?.();
    this.finish();
  }

  /**
   * The request's framing broke mid-body: Envoy answers 400 (and closes) when no response has
   * started, and resets the stream otherwise. Upstream work for the request is abandoned first.
   */
  onCodecError(detail: string): void {
    if (this.finished) return;
    for (const f of this.filters) f.onStreamReset?.();
    if (this.responseStarted) {
      this.resetStream();
      return;
    }
    this.sendLocalReply(ErrorCode.BadRequest, detail);
  }

  onAboveWriteBufferHighWatermark(): void {
    for (const f of this.filters) f.onAboveWriteBufferHighWatermark?.();
  }

  onBelowWriteBufferLowWatermark(): void {
    for (const f of this.filters) f.onBelowWriteBufferLowWatermark?.();
  }

  /** `durationMs`: the stream's end, when the caller already read the clock. */
  private finish(durationMs?: number): void {
    if (this.finished) return;
    this.finished = true;
    if (this.durationTimer !== undefined) {
      this.services.clock.clear(this.durationTimer);
      this.durationTimer = undefined;
    }
    if (this.upgradeCounted) {
      this.upgradeCounted = false;
      this.httpStats?.upgradeEnded();
    }
    for (const f of this.filters) f.onComplete?.();
    const info = this.record(durationMs);
    this.httpStats?.requestDone(info.responseCode, info.durationMs);
    this.services.onStream(info);
    this.codec.streamDone();
  }

  private record(durationMs: number | undefined): StreamInfo {
    const si = this.streamInfo;
    const req = this.requestHeaders;
    const h = req.headers;
    si.protocol = req.protocol;
    si.method = req.method;
    si.path = this.originalPath;
    si.authority = req.authority;
    si.scheme = req.scheme;
    si.requestHeaders = h;
    si.userAgent = h.get("user-agent");
    si.requestId ??= h.get("x-request-id");
    si.xForwardedFor = h.get("x-forwarded-for");
    si.downstreamRemoteAddress = this.downstreamRemote;
    si.downstreamLocalAddress = this.downstreamLocal;
    si.listenerName = this.ctx.name;
    si.filterChainName = this.ctx.filterChainName;
    return durationMs === undefined ? si.finish() : si.finish(durationMs);
  }
}
