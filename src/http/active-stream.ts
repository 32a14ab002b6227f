// ActiveStream: one HTTP/1.x request/response exchange on a downstream connection — routing,
// the upstream request, response forwarding with back-pressure both ways, and the StreamInfo
// record at the end. Bodies are never buffered whole: bytes flow as they arrive.

import { newRequestId } from "../common/request-id.js";
import { ErrorCode, type ErrorCodeValue, type ProxyError } from "../common/errors.js";
import { type StreamInfo, type ResponseFlagValue, ResponseFlag } from "../observability/stream-info.js";
import type { UpstreamConnection, UpstreamHandler } from "../upstream/upstream-connection.js";
import type { UpstreamHost } from "../upstream/upstream-host.js";
import { BodyReader, responseFraming } from "./codec/body-reader.js";
import { findHeadEnd, parseResponseHead, type RequestHead, type ResponseHead } from "./codec/head-parser.js";
import type { HeaderList } from "./header-list.js";
import { connectionTokens, stripHopByHop } from "./hop-by-hop.js";
import type { Http1ServerConnection } from "./http1-server-connection.js";
import type { ListenerContext } from "./listener-context.js";
import { localReply } from "./local-reply.js";
import { routeRequest, type ForwardDecision } from "./router-filter.js";

/** 60 KiB: max upstream response head, as Envoy's max_response_headers_kb default. */
const MAX_RESPONSE_HEAD = 60 * 1024;
/** 100: max upstream response headers (Envoy's max_headers_count default). */
const MAX_RESPONSE_HEADERS = 100;
/** Request body bytes queued while the upstream connection is being set up before we pause reading. */
const MAX_PENDING_BODY = 64 * 1024;

const enum St {
  Routing,
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
  // upstream
  private forward: ForwardDecision | null = null;
  private upHead = "";
  private host: UpstreamHost | null = null;
  private up: UpstreamConnection | null = null;
  private upReused = false;
  private retriedFresh = false;
  private upStart = 0;
  private pending: Buffer[] | null = null;
  private pendingBytes = 0;
  private upBuf: Buffer | null = null;
  private upBytesSeen = 0;
  private resReader: BodyReader | null = null;
  private resHeadSent = false;
  /** The response must end by closing the downstream connection. */
  closeAfter: boolean;
  private upstreamPaused = false;
  private upstreamClose = false;
  private routeName: string | undefined;
  private vhostName: string | undefined;
  private clusterName: string | undefined;
  // StreamInfo
  private responseCode = 0;
  private details = "";
  private flags: ResponseFlagValue[] = [];
  private bytesSent = 0;
  private serviceTime: number | undefined;
  private failureReason: string | undefined;
  private requestId: string | undefined;
  private isHead: boolean;

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

  /** Routes the request and starts the upstream exchange (or replies locally). */
  start(): void {
    const h = this.head.headers;
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
    const cluster = this.ctx.services.clusters.get(decision.clusterName);
    if (cluster === undefined) {
      this.localReply(ErrorCode.NoCluster);
      return;
    }
    const host = cluster.lb.pick();
    if (host === undefined) {
      this.localReply(ErrorCode.NoHealthyUpstream);
      return;
    }
    this.host = host;
    host.active++;

    // Envoy answers `Expect: 100-continue` itself and does not forward the expectation.
    const expect = h.get("expect");
    if (expect !== undefined) {
      h.remove("expect");
      if (expect.toLowerCase() === "100-continue" && this.head.versionMinor === 1) this.conn.writeRaw("HTTP/1.1 100 Continue\r\n\r\n");
    }
    this.upHead = this.buildUpstreamHead(decision);
    this.state = St.Connecting;
    host.pool.acquire(this.onAcquired);
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

    return `${this.head.method} ${d.path} HTTP/1.1\r\n${h.serialize()}\r\n`;
  }

  private readonly onAcquired = (err: ProxyError | null, up: UpstreamConnection | null, reused: boolean): void => {
    if (this.state !== St.Connecting) {
      // The downstream went away while we were connecting.
      if (up !== null) this.host!.pool.release(up, true, this.ctx.services.coarseNow);
      return;
    }
    if (err !== null || up === null) {
      this.failureReason = err?.detail;
      this.localReply(err?.code ?? ErrorCode.UpstreamConnectFailure, err?.detail);
      return;
    }
    this.up = up;
    this.upReused = reused;
    up.handler = this;
    this.state = St.AwaitingHead;
    this.upStart = performance.now();
    const s = up.socket;
    const pending = this.pending;
    if (pending === null) {
      s.write(this.upHead, "latin1");
    } else {
      s.cork();
      s.write(this.upHead, "latin1");
      for (const b of pending) s.write(b);
      s.uncork();
      this.pending = null;
      this.pendingBytes = 0;
      this.conn.resumeReading();
    }
  };

  /** Request body bytes from downstream (already framed-checked by reqReader). */
  onRequestBody(chunk: Buffer): void {
    if (this.state === St.Done) return;
    const up = this.up;
    if (up !== null && this.state !== St.Connecting) {
      if (!up.socket.write(chunk)) this.conn.pauseReading();
      return;
    }
    // Routing: body bytes that arrived with the head, fed before start(); queue them too.
    (this.pending ??= []).push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes > MAX_PENDING_BODY) this.conn.pauseReading();
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
    let buf = this.upBuf === null ? chunk : Buffer.concat([this.upBuf, chunk]);
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
    this.serviceTime = Math.round(performance.now() - this.upStart);
    const h = head.headers;
    let framing;
    try {
      framing = head.status === 101 ? { kind: "none" as const } : responseFraming(head.status, this.head.method, h);
    } catch {
      this.upstreamProtocolError();
      return;
    }
    const upstreamClose = connectionTokens(h).close || head.versionMinor === 0;
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
      this.conn.writeRaw(line);
      this.conn.enterTunnel(this);
      if (bodyStart < buf.length) this.writeDown(buf.subarray(bodyStart));
      return;
    }
    this.resReader = new BodyReader(framing, dechunk ? (b, s, e) => this.writeDown(b.subarray(s, e)) : undefined);
    this.upstreamClose = upstreamClose;
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

  private pendingHead: string | null = null;

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
      // Bad chunk framing after headers went out: all we can do is reset the downstream.
      this.flags.push(ResponseFlag.UpstreamProtocolError);
      this.details = "upstream_reset_after_response_started{protocol_error}";
      this.abort();
      return;
    }
    const dechunked = r.framing.kind === "chunked" && this.head.versionMinor === 0;
    if (!dechunked) {
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
          this.state = St.Connecting;
          this.host!.pool.acquire(this.onAcquired, true);
          return;
        }
        this.localReply(ErrorCode.UpstreamReset, err?.message);
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
    if (this.up !== null) {
      this.host!.pool.discard(this.up);
      this.up = null;
    }
    this.localReply(ErrorCode.UpstreamProtocolError);
  }

  private finishResponse(trailingUpstreamBytes: boolean): void {
    this.flushHead();
    const up = this.up;
    this.up = null;
    if (up !== null) {
      if (this.upstreamPaused) up.socket.resume();
      const reusable =
        !trailingUpstreamBytes && this.reqReader.done && !this.upstreamClose && this.resReader!.framing.kind !== "close";
      this.host!.pool.release(up, reusable, this.ctx.services.coarseNow);
    }
    // A response that ends before its request body can't leave the connection in sync.
    if (!this.reqReader.done) this.closeAfter = true;
    this.finish();
  }

  /** Replies locally with Envoy's status/body/flag for `code`. */
  localReply(code: ErrorCodeValue, detail?: string): void {
    const r = localReply(code, detail);
    if (r.flag !== undefined) this.flags.push(r.flag);
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
    this.pending = null;
    const bodyBytes = body === "" ? 0 : Buffer.byteLength(body);
    this.bytesSent = bodyBytes;
    this.conn.writeLocalReply(status, body, this.ctx.serverName, this.closeAfter, this.head.versionMinor, extra, more, this.isHead);
    this.state = St.Done;
    this.finish();
  }

  /** Downstream closed before the exchange finished. */
  onDownstreamClose(): void {
    if (this.state === St.Done) return;
    if (this.state !== St.Tunnel) this.flags.push(ResponseFlag.DownstreamConnectionTermination);
    if (this.up !== null) {
      this.host!.pool.discard(this.up);
      this.up = null;
    }
    this.state = St.Done;
    this.finish();
  }

  /** Resets both sides (failure after the response head went out). */
  private abort(): void {
    if (this.up !== null) {
      this.host!.pool.discard(this.up);
      this.up = null;
    }
    this.closeAfter = true;
    this.state = St.Done;
    this.finish();
    this.conn.destroySocket();
  }

  private finished = false;

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.state = St.Done;
    if (this.host !== null) this.host.active--;
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
