// Http1ServerConnection: one downstream HTTP/1.x connection. Parses request heads, frames request
// bodies, serves pipelined requests strictly in order (one stream at a time, later bytes held with
// reading paused), guards against slow or oversized heads, and drains on shutdown.

import type { Socket } from "node:net";
import { ErrorCode } from "../common/errors.js";
import { ActiveStream } from "./active-stream.js";
import { BodyReader } from "./codec/body-reader.js";
import { canonicalizeContentLength, requestFraming } from "./codec/framing.js";
import { HeadError, HeadErrorKind, findHeadEnd, parseRequestHead, type RequestHead } from "./codec/head-parser.js";
import { isValidHost, parseRequestTarget } from "./codec/request-target.js";
import { httpDate } from "./date-header.js";
import { connectionTokens } from "./hop-by-hop.js";
import type { ListenerContext } from "./listener-context.js";
import { localReply } from "./local-reply.js";
import { normalizeTarget } from "./path-normalize.js";
import { STATUS_TEXT } from "./status-text.js";

export interface ConnectionTracker {
  add(c: Http1ServerConnection): void;
  delete(c: Http1ServerConnection): void;
}

export class Http1ServerConnection {
  readonly socket: Socket;
  private readonly ctx: ListenerContext;
  private readonly tracker: ConnectionTracker;
  readonly remoteAddress: string;
  /** The client's IP alone (x-forwarded-for on inbound listeners). */
  readonly remoteIp: string;
  readonly remotePort: number;
  readonly localAddress: string;
  /** Unconsumed downstream bytes (a partial head, or pipelined requests waiting their turn). */
  private buf: Buffer | null = null;
  private stream: ActiveStream | null = null;
  private tunnel: ActiveStream | null = null;
  /** Coarse time the current head started arriving (0 = not reading a head). */
  headStartedAt = 0;
  /** Coarse time of the last completed exchange (for the idle timeout). */
  idleSince: number;
  private paused = false;
  private closing = false;
  private clientEnded = false;
  closed = false;

  constructor(socket: Socket, ctx: ListenerContext, tracker: ConnectionTracker) {
    this.socket = socket;
    this.ctx = ctx;
    this.tracker = tracker;
    this.remoteIp = socket.remoteAddress ?? "";
    this.remotePort = socket.remotePort ?? 0;
    this.remoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
    this.localAddress = `${socket.localAddress}:${socket.localPort}`;
    this.idleSince = ctx.services.coarseNow;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("drain", () => this.stream?.onDownstreamDrain() ?? this.tunnel?.onDownstreamDrain());
    socket.on("end", () => this.onEnd());
    socket.on("error", () => this.onClose());
    socket.on("close", () => this.onClose());
    tracker.add(this);
  }

  get idle(): boolean {
    return this.stream === null && this.tunnel === null && this.headStartedAt === 0;
  }

  private onData(chunk: Buffer): void {
    // Closing after the last response: whatever the client still sends is never read, so it must
    // not pile up in `buf` (a large upload to a local reply would otherwise be buffered whole).
    if (this.closing) return;
    if (this.tunnel !== null) {
      this.tunnel.onTunnelData(chunk);
      return;
    }
    const s = this.stream;
    if (s !== null && !s.requestDone) {
      const consumed = this.feedBody(s, chunk, 0);
      if (consumed === -1 || consumed === chunk.length) return;
      chunk = chunk.subarray(consumed);
    }
    this.buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.stream === null) this.processBuffer();
    else this.pauseReading(); // pipelined bytes wait until the current response is done
  }

  /** Feeds request-body bytes from chunk[off..]; returns index after the body or -1 (all body). */
  private feedBody(s: ActiveStream, chunk: Buffer, off: number): number {
    const r = s.reqReader;
    let end: number;
    try {
      end = r.consume(chunk, off, chunk.length);
    } catch (e) {
      // Broken chunked framing: nothing after this point can be trusted. Envoy answers 400 when
      // no response has started (then closes), and resets otherwise.
      this.buf = null;
      s.onRequestCodecError((e as Error).message);
      if (!this.closing) this.destroySocket();
      return -1;
    }
    if (r.framing.kind === "chunked") {
      // Never the client's chunk bytes: the payload re-encoded canonically, extensions and
      // trailers dropped.
      const out = r.takeChunked();
      if (out !== null) s.onRequestBody(out);
      return end;
    }
    const stop = end === -1 ? chunk.length : end;
    if (stop > off) s.onRequestBody(off === 0 && stop === chunk.length ? chunk : chunk.subarray(off, stop));
    return end;
  }

  /** Parses as many complete heads as the buffer holds, one stream at a time. */
  private processBuffer(): void {
    while (this.buf !== null && this.stream === null && !this.closing && this.tunnel === null) {
      let buf = this.buf;
      // RFC 9112 §2.2: empty lines before a request line are ignored (as llhttp and Envoy do).
      if (buf[0] === 13 && buf[1] === 10) {
        let k = 0;
        while (buf[k] === 13 && buf[k + 1] === 10) k += 2;
        if (k === buf.length) {
          this.buf = null;
          break;
        }
        buf = this.buf = buf.subarray(k);
      }
      const limits = this.ctx.services.limits;
      let end: number;
      let head: RequestHead;
      try {
        end = findHeadEnd(buf, 0, limits.maxRequestHeadersKb * 1024);
        if (end === -1) {
          if (this.headStartedAt === 0) this.headStartedAt = this.ctx.services.coarseNow || 1;
          return;
        }
        head = parseRequestHead(buf, 0, end, limits.maxHeadersCount);
      } catch (e) {
        this.rejectHead(e);
        return;
      }
      this.headStartedAt = 0;
      this.buf = end === buf.length ? null : buf.subarray(end);
      this.startStream(head);
    }
    if (this.stream === null && this.buf === null) this.resumeReading();
  }

  private rejectHead(e: unknown): void {
    const kind = e instanceof HeadError ? e.kind : HeadErrorKind.Malformed;
    this.replyAndClose(codecErrorCode(kind), e instanceof Error ? e.message : undefined);
  }

  /** Replies to a request we could not even parse, then closes (nothing after it can be trusted). */
  replyAndClose(code: (typeof ErrorCode)[keyof typeof ErrorCode], detail?: string): void {
    const r = localReply(code, detail);
    this.buf = null;
    this.writeLocalReply(r.status, r.body, this.ctx.serverName, true, 1, r.headers, undefined, false);
    this.ctx.services.onStream({
      startTime: Date.now(),
      durationMs: 0,
      upstreamServiceTimeMs: undefined,
      protocol: "HTTP/1.1",
      method: "-",
      path: "-",
      authority: "-",
      userAgent: undefined,
      requestId: undefined,
      xForwardedFor: undefined,
      responseCode: r.status,
      responseCodeDetails: r.details,
      responseFlags: r.flag ? [r.flag] : [],
      bytesReceived: 0,
      bytesSent: Buffer.byteLength(r.body),
      routeName: undefined,
      virtualHostName: undefined,
      clusterName: undefined,
      upstreamHost: undefined,
      upstreamLocalAddress: undefined,
      upstreamTransportFailureReason: undefined,
      downstreamRemoteAddress: this.remoteAddress,
      downstreamLocalAddress: this.localAddress,
      listenerName: this.ctx.name,
    });
  }

  private startStream(head: RequestHead): void {
    const h = head.headers;
    if (head.method === "CONNECT") {
      this.replyAndClose(ErrorCode.BadRequest, "CONNECT is not supported");
      return;
    }
    let target: string;
    let authority: string | undefined;
    let reader: BodyReader;
    try {
      // absolute-form (proxy-style clients): the authority comes from the target; fragments go.
      const t = parseRequestTarget(head.method, head.target);
      target = t.path;
      authority = t.authority;
      const hosts = h.getAll("host");
      // Without any authority (HTTP/1.0 included) Envoy replies 400 missing_host_header: forwarding
      // would send upstream an HTTP/1.1 request without Host. RFC 9112 §3.2: several Host lines or
      // an invalid one are a 400 too.
      if (hosts.length > 1) throw new HeadError(HeadErrorKind.Malformed, "multiple host headers");
      if (hosts.length === 0 && authority === undefined) throw new HeadError(HeadErrorKind.Malformed, "missing host header");
      if (hosts.length === 1 && !isValidHost(hosts[0]!)) throw new HeadError(HeadErrorKind.Malformed, "invalid host header");
      const framing = requestFraming(h, head.versionMinor);
      canonicalizeContentLength(h, framing.kind === "length" ? framing.length : 0);
      reader = new BodyReader(framing);
    } catch (e) {
      this.rejectHead(e);
      return;
    }
    // RFC 9112 §3.2.2: with an absolute-form target the proxy replaces Host with its authority.
    if (authority !== undefined) h.set("Host", authority);
    authority ??= h.get("host") ?? "";
    const normalized = target === "*" ? target : normalizeTarget(target);
    if (normalized === undefined) {
      this.replyAndClose(ErrorCode.BadRequest, "invalid path");
      return;
    }
    const tokens = connectionTokens(h);
    const keepAlive = head.versionMinor === 1 ? !tokens.close : tokens.keepAlive && !tokens.close;
    head.target = normalized;
    const s = new ActiveStream(this, this.ctx, head, reader, target, authority, keepAlive && !this.ctx.services.draining);
    this.stream = s;
    // Body bytes already buffered behind the head.
    if (!reader.done && this.buf !== null) {
      const b = this.buf;
      this.buf = null;
      const end = this.feedBody(s, b, 0);
      if (this.stream !== s) return; // the body was refused (400)
      if (end !== -1 && end < b.length) this.buf = b.subarray(end);
    }
    if (this.buf !== null) this.pauseReading();
    s.start();
  }

  pauseReading(): void {
    if (!this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  resumeReading(): void {
    if (this.paused && this.buf === null) {
      this.paused = false;
      this.socket.resume();
    }
  }

  writeRaw(s: string): void {
    this.socket.write(s, "latin1");
  }

  writeBody(b: Buffer): boolean {
    return this.socket.write(b);
  }

  writeLocalReply(
    status: number,
    body: string,
    server: string,
    close: boolean,
    versionMinor: number,
    extra: Array<[string, string]> | undefined,
    more: Array<[string, string]> | undefined,
    isHead: boolean,
  ): void {
    if (this.socket.destroyed) return;
    let head = `HTTP/1.${versionMinor === 0 ? 0 : 1} ${status} ${STATUS_TEXT[status] ?? "Unknown"}\r\n`;
    const len = Buffer.byteLength(body);
    head += `content-length: ${len}\r\n`;
    if (len > 0) head += "content-type: text/plain\r\n";
    if (more) for (const [k, v] of more) head += `${k}: ${v}\r\n`;
    if (extra) for (const [k, v] of extra) head += `${k}: ${v}\r\n`;
    head += `date: ${httpDate()}\r\nserver: ${server}\r\n`;
    if (close) head += "connection: close\r\n";
    else if (versionMinor === 0) head += "connection: keep-alive\r\n";
    head += "\r\n";
    this.socket.write(isHead || len === 0 ? head : head + body, "utf8");
    if (close) this.endSoon();
  }

  enterTunnel(s: ActiveStream): void {
    this.stream = null;
    this.tunnel = s;
    const b = this.buf;
    this.buf = null;
    if (b !== null) s.onTunnelData(b);
    this.resumeReading();
  }

  /** Called by the stream when its exchange is over (response sent or aborted). */
  onStreamDone(s: ActiveStream): void {
    if (this.tunnel === s) {
      this.tunnel = null;
      return;
    }
    if (this.stream !== s) return;
    this.stream = null;
    this.idleSince = this.ctx.services.coarseNow;
    if (s.closeAfter || this.closing || this.clientEnded) {
      this.endSoon();
      return;
    }
    if (this.buf !== null) {
      // Defer so a long pipeline cannot starve other connections of the event loop.
      setImmediate(() => {
        if (!this.closed && this.stream === null) this.processBuffer();
      });
    } else {
      this.resumeReading();
    }
  }

  private endSoon(): void {
    if (this.closing) return;
    this.closing = true;
    this.buf = null;
    this.socket.end();
  }

  /** Graceful drain: idle connections close now, busy ones after their current response. */
  drain(): void {
    if (this.idle) this.endSoon();
  }

  /** Closes an idle keep-alive connection or answers a too-slow head with 408. */
  sweep(now: number): void {
    const limits = this.ctx.services.limits;
    if (this.headStartedAt !== 0 && this.stream === null && now - this.headStartedAt >= limits.requestHeadersTimeoutMs) {
      this.headStartedAt = 0;
      this.replyAndClose(ErrorCode.RequestHeaderTimeout);
      return;
    }
    if (this.idle && now - this.idleSince >= limits.idleTimeoutMs) this.endSoon();
  }

  destroySocket(): void {
    this.socket.destroy();
    this.onClose();
  }

  private onEnd(): void {
    // Half-close from the client: finish the in-flight response, then close.
    if (this.stream === null && this.tunnel === null) this.endSoon();
    else this.clientEnded = true;
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.tracker.delete(this);
    const s = this.stream ?? this.tunnel;
    this.stream = null;
    this.tunnel = null;
    s?.onDownstreamClose();
  }
}

/** Maps a head/framing error to the local reply's code (Envoy: 431, 501 or 400). */
function codecErrorCode(kind: HeadErrorKind): (typeof ErrorCode)[keyof typeof ErrorCode] {
  switch (kind) {
    case HeadErrorKind.TooLarge:
      return ErrorCode.HeaderTooLarge;
    case HeadErrorKind.TooManyHeaders:
      return ErrorCode.TooManyHeaders;
    case HeadErrorKind.UnsupportedTransferEncoding:
      return ErrorCode.UnsupportedTransferEncoding;
    default:
      return ErrorCode.BadRequest;
  }
}
