// Http1ServerConnection: the HTTP/1.x server codec of one downstream connection. Parses request
// heads into codec-neutral request headers, frames request bodies (de-chunked into data), serves
// pipelined requests strictly in order (one stream at a time, later bytes held with reading
// paused), encodes responses (Content-Length bodies as they are, others chunked — or
// close-delimited for HTTP/1.0), guards against slow or oversized heads, and drains on shutdown.

import type { Duplex } from "node:stream";
import { ErrorCode } from "../common/errors.js";
import type { ConnectionInfo } from "../listener/connection-info.js";
import type { ConnectionTracker, DownstreamConnection } from "../listener/network-filter.js";
import { StreamInfoBuilder } from "../observability/stream-info.js";
import { ActiveStream, type ServerStreamEncoder } from "./active-stream.js";
import { BodyReader } from "./codec/body-reader.js";
import { canonicalizeContentLength, requestFraming, type Framing } from "./codec/framing.js";
import { HeadError, HeadErrorKind, findHeadEnd, parseRequestHead, type RequestHead } from "./codec/head-parser.js";
import { writeLatin1 } from "./codec/latin1.js";
import { matchHttp2Preface, PrefaceMatch } from "./codec/http2-preface.js";
import { isValidHost, parseRequestTarget } from "./codec/request-target.js";
import { httpDate } from "./date-header.js";
import type { HeaderList } from "./header-list.js";
import type { RequestHeaders, ResponseHeaders } from "./http-message.js";
import { connectionTokens, stripHopByHop } from "./hop-by-hop.js";
import type { HttpConnManagerStats } from "../observability/stats/http-conn-manager-stats.js";
import type { ListenerContext } from "./listener-context.js";
import { localReply } from "./local-reply.js";
import { normalizeTarget } from "./path-normalize.js";
import { STATUS_TEXT } from "./status-text.js";

const EMPTY = Buffer.alloc(0);
const LAST_CHUNK = "0\r\n\r\n";

export class Http1ServerConnection implements DownstreamConnection, ServerStreamEncoder {
  readonly socket: Duplex;
  private readonly ctx: ListenerContext;
  private readonly tracker: ConnectionTracker;
  readonly info: ConnectionInfo;
  readonly remoteAddress: string;
  readonly localAddress: string;
  /** Unconsumed downstream bytes (a partial head, or pipelined requests waiting their turn). */
  private buf: Buffer | null = null;
  private stream: ActiveStream | null = null;
  /** The current request's body framing (null between requests). */
  private reqReader: BodyReader | null = null;
  /** Coarse time the current head started arriving (0 = not reading a head). */
  headStartedAt = 0;
  /** Coarse time of the last completed exchange (for the idle timeout). */
  idleSince: number;
  private paused = false;
  private closing = false;
  private clientEnded = false;
  closed = false;

  // the current response
  private versionMinor = 1;
  private keepAlive = true;
  private closeAfter = false;
  private chunkedResponse = false;
  /** The current request is HEAD: its response never carries a body. */
  private headRequest = false;
  /** The current response may carry no body (HEAD, 1xx, 204, 304): its head went out; data is dropped. */
  private bodylessResponse = false;
  private tunnel = false;
  /** A response head waiting for its first body bytes (status and headers, not yet encoded). */
  private pendingStatus = 0;
  /** The last Host value this connection's requests carried that passed validation. */
  private validHost: string | undefined = undefined;
  private pendingHeaders: HeaderList | null = null;

  /** The connection manager's stats this connection counts in (kept: a reload may swap ctx.httpStats). */
  private readonly httpStats: HttpConnManagerStats;
  /**
   * codec_type AUTO on plaintext: until the first bytes show they are not the HTTP/2 preface, the
   * connection may still go to the HTTP/2 codec through this (then it is not counted as HTTP/1).
   */
  private toHttp2: ((socket: Duplex, info: ConnectionInfo) => void) | null;
  private readonly onSocketData = (chunk: Buffer): void => this.onData(chunk);
  private readonly onSocketDrain = (): void => this.stream?.onBelowWriteBufferLowWatermark();
  private readonly onSocketEnd = (): void => this.onEnd();
  private readonly onSocketClose = (): void => this.onClose();

  constructor(socket: Duplex, info: ConnectionInfo, ctx: ListenerContext, tracker: ConnectionTracker, toHttp2?: (socket: Duplex, info: ConnectionInfo) => void) {
    this.socket = socket;
    this.httpStats = ctx.httpStats;
    this.toHttp2 = toHttp2 ?? null;
    if (this.toHttp2 === null) ctx.httpStats.connectionOpened();
    this.info = info;
    this.ctx = ctx;
    this.tracker = tracker;
    this.remoteAddress = `${info.remoteIp}:${info.remotePort}`;
    this.localAddress = `${info.localIp}:${info.localPort}`;
    this.idleSince = ctx.services.coarseNow;
    socket.on("data", this.onSocketData);
    socket.on("drain", this.onSocketDrain);
    socket.on("end", this.onSocketEnd);
    socket.on("error", this.onSocketClose);
    socket.on("close", this.onSocketClose);
    tracker.add(this);
  }

  /**
   * The first bytes of a codec_type AUTO connection: the HTTP/2 preface hands the socket (those
   * bytes put back) to the HTTP/2 codec; a part of it waits for more; anything else is HTTP/1.
   * Returns the bytes to parse as HTTP/1, or null when there is nothing more to do now.
   */
  private sniff(chunk: Buffer, toHttp2: (socket: Duplex, info: ConnectionInfo) => void): Buffer | null {
    const buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
    const m = matchHttp2Preface(buf);
    if (m === PrefaceMatch.Partial) {
      this.buf = buf;
      if (this.headStartedAt === 0) this.headStartedAt = this.ctx.services.coarseNow || 1;
      return null;
    }
    this.toHttp2 = null;
    this.buf = null;
    if (m === PrefaceMatch.No) {
      this.httpStats.connectionOpened();
      return buf;
    }
    // HTTP/2 with prior knowledge: this codec was never here.
    const socket = this.socket;
    this.closed = true;
    this.headStartedAt = 0;
    this.tracker.delete(this);
    socket.removeListener("data", this.onSocketData);
    socket.removeListener("drain", this.onSocketDrain);
    socket.removeListener("end", this.onSocketEnd);
    socket.removeListener("error", this.onSocketClose);
    socket.removeListener("close", this.onSocketClose);
    socket.pause();
    socket.unshift(buf);
    toHttp2(socket, this.info);
    return null;
  }

  get idle(): boolean {
    return this.stream === null && this.headStartedAt === 0;
  }

  private onData(chunk: Buffer): void {
    // Closing after the last response: whatever the client still sends is never read, so it must
    // not pile up in `buf` (a large upload to a local reply would otherwise be buffered whole).
    if (this.closing) return;
    if (this.toHttp2 !== null) {
      const b = this.sniff(chunk, this.toHttp2);
      if (b === null) return;
      chunk = b;
    }
    const s = this.stream;
    if (s !== null && this.tunnel) {
      s.decodeData(chunk, false);
      return;
    }
    const r = this.reqReader;
    if (s !== null && r !== null && !r.done) {
      const consumed = this.feedBody(s, r, chunk, 0);
      if (consumed === -1 || consumed === chunk.length) return;
      chunk = chunk.subarray(consumed);
    }
    this.buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.stream === null) this.processBuffer();
    else this.pauseReading(); // pipelined bytes wait until the current response is done
  }

  /** De-chunked request data of the read being parsed (delivered once the read parsed cleanly). */
  private chunkData: Buffer[] = [];

  private readonly onChunkData = (b: Buffer, st: number, e: number): void => {
    if (e > st) this.chunkData.push(b.subarray(st, e));
  };

  /** Feeds request-body bytes from chunk[off..]; returns index after the body or -1 (all body). */
  private feedBody(s: ActiveStream, r: BodyReader, chunk: Buffer, off: number): number {
    let end: number;
    try {
      end = r.consume(chunk, off, chunk.length);
    } catch (e) {
      this.chunkData = [];
      // Broken chunked framing: nothing after this point can be trusted. Envoy answers 400 when
      // no response has started (then closes), and resets otherwise.
      this.buf = null;
      s.onCodecError((e as Error).message);
      if (!this.closing) this.destroySocket();
      return -1;
    }
    if (r.framing.kind === "chunked") {
      // The de-chunked payload of this read goes on as one piece (as Envoy's codec dispatches
      // per read); the upstream codec re-encodes it canonically. The last chunk ends the stream.
      const data = this.chunkData;
      if (data.length > 0) {
        this.chunkData = [];
        s.decodeData(data.length === 1 ? data[0]! : Buffer.concat(data), end !== -1);
        if (end !== -1 || this.stream !== s) return end;
      }
      if (end !== -1) s.decodeData(EMPTY, true);
      return end;
    }
    const stop = end === -1 ? chunk.length : end;
    if (stop > off) s.decodeData(off === 0 && stop === chunk.length ? chunk : chunk.subarray(off, stop), end !== -1);
    return end;
  }

  /** Parses as many complete heads as the buffer holds, one stream at a time. */
  private processBuffer(): void {
    while (this.buf !== null && this.stream === null && !this.closing) {
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
    this.writeLocalReply(r.status, r.body, this.ctx.serverName, r.headers);
    const si = new StreamInfoBuilder(this.ctx.services.clock).withoutRequest("http", "HTTP/1.1");
    si.responseCode = r.status;
    si.responseCodeDetails = r.details;
    if (r.flag !== undefined) si.addFlag(r.flag);
    si.bytesSent = Buffer.byteLength(r.body);
    si.downstreamRemoteAddress = this.remoteAddress;
    si.downstreamLocalAddress = this.localAddress;
    si.listenerName = this.ctx.name;
    si.filterChainName = this.ctx.filterChainName;
    si.direction = this.ctx.direction;
    si.telemetry = this.ctx.telemetry;
    this.ctx.services.onStream(si.finish(0));
  }

  /** A local reply outside any stream (codec errors): always closes the connection. */
  private writeLocalReply(status: number, body: string, server: string, extra: Array<[string, string]> | undefined): void {
    if (this.socket.destroyed) return;
    let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Unknown"}\r\n`;
    const len = Buffer.byteLength(body);
    head += `content-length: ${len}\r\n`;
    if (len > 0) head += "content-type: text/plain\r\n";
    if (extra) for (const [k, v] of extra) head += `${k}: ${v}\r\n`;
    head += `date: ${httpDate(this.ctx.services.clock.now())}\r\nserver: ${server}\r\nconnection: close\r\n\r\n`;
    this.socket.write(len === 0 ? head : head + body, "utf8");
    this.endSoon();
  }

  private startStream(head: RequestHead): void {
    const h = head.headers;
    if (head.method === "CONNECT") {
      this.replyAndClose(ErrorCode.BadRequest, "CONNECT is not supported");
      return;
    }
    let target: string;
    let authority: string | undefined;
    let framing: Framing;
    try {
      // absolute-form (proxy-style clients): the authority comes from the target; fragments go.
      const t = parseRequestTarget(head.method, head.target);
      target = t.path;
      authority = t.authority;
      // Without any authority (HTTP/1.0 included) Envoy replies 400 missing_host_header: forwarding
      // would send upstream an HTTP/1.1 request without Host. RFC 9112 §3.2: several Host lines or
      // an invalid one are a 400 too.
      const hostAt = h.lower.indexOf("host");
      if (hostAt !== -1 && h.lower.indexOf("host", hostAt + 1) !== -1) throw new HeadError(HeadErrorKind.Malformed, "multiple host headers");
      if (hostAt === -1 && authority === undefined) throw new HeadError(HeadErrorKind.Malformed, "missing host header");
      if (hostAt !== -1) {
        // A keep-alive client sends the same Host on every request: validated once per connection.
        const host = h.values[hostAt]!;
        if (host !== this.validHost) {
          if (!isValidHost(host)) throw new HeadError(HeadErrorKind.Malformed, "invalid host header");
          this.validHost = host;
        }
      }
      framing = requestFraming(h, head.versionMinor);
      canonicalizeContentLength(h, framing.kind === "length" ? framing.length : 0);
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
    let upgrade = tokens.upgrade && h.has("upgrade");
    if (upgrade && isH2cUpgrade(h)) {
      // Envoy drops an HTTP/1.1 → h2c upgrade offer and serves the request as HTTP/1.1.
      h.remove("upgrade");
      h.remove("http2-settings");
      upgrade = false;
    }
    this.versionMinor = head.versionMinor;
    this.keepAlive = (head.versionMinor === 1 ? !tokens.close : tokens.keepAlive && !tokens.close) && !this.ctx.draining;
    this.closeAfter = !this.keepAlive;
    this.chunkedResponse = false;
    this.headRequest = head.method === "HEAD";
    this.bodylessResponse = false;
    this.tunnel = false;
    this.pendingHeaders = null;
    // Framing is decided; connection-specific headers never cross the proxy (the upstream codec
    // frames the body again: the same Content-Length, or canonical chunks).
    stripHopByHop(h, upgrade);
    const s = new ActiveStream(this, this.ctx, this.info, this.remoteAddress, this.localAddress);
    const reader = new BodyReader(framing, framing.kind === "chunked" ? this.onChunkData : undefined);
    this.stream = s;
    this.reqReader = reader;
    const req: RequestHeaders = {
      method: head.method,
      path: normalized,
      authority,
      scheme: "http",
      protocol: head.versionMinor === 0 ? "HTTP/1.0" : "HTTP/1.1",
      headers: h,
      upgrade,
    };
    s.decodeHeaders(req, reader.done && !upgrade, target);
    // Body bytes already buffered behind the head.
    if (this.stream === s && !reader.done && this.buf !== null) {
      const b = this.buf;
      this.buf = null;
      const end = this.feedBody(s, reader, b, 0);
      if (this.stream !== s) return; // the body was refused (400) or the exchange is over
      if (end !== -1 && end < b.length) this.buf = b.subarray(end);
    }
    if (this.stream === s && this.buf !== null && !this.tunnel) this.pauseReading();
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

  // ---------------------------------------------------------------- ServerStreamEncoder

  encodeHeaders(res: ResponseHeaders, endStream: boolean, close: boolean): void {
    const h = res.headers;
    const v10 = this.versionMinor === 0;
    if (close || this.ctx.draining) this.closeAfter = true;
    // RFC 9112 §6.3: a response to HEAD, a 1xx, 204 or 304 ends at its head: no chunked framing
    // (an HTTP/2 upstream may still end such a response with a separate, empty DATA frame).
    const bodyless = this.headRequest || res.status === 204 || res.status === 304 || (res.status < 200 && res.status !== 101);
    if (res.status === 101) {
      this.tunnel = true;
      h.add("Connection", "Upgrade");
    } else if (!endStream && !bodyless && !h.has("content-length")) {
      // HTTP/1.0 clients cannot take chunks: the body ends when the connection does.
      if (v10) this.closeAfter = true;
      else {
        this.chunkedResponse = true;
        h.add("Transfer-Encoding", "chunked");
      }
    }
    if (this.closeAfter) h.set("Connection", "close");
    else if (v10 && res.status !== 101) h.set("Connection", "keep-alive");
    if (res.status === 101) {
      this.socket.write(encodeResponseHead(this.versionMinor, res.status, h, 0));
      // Bytes the client sent after the upgrade request belong to the tunnel.
      const b = this.buf;
      this.buf = null;
      if (b !== null) this.stream?.decodeData(b, false);
      this.resumeReading();
      return;
    }
    if (endStream || bodyless) {
      this.bodylessResponse = !endStream;
      this.socket.write(encodeResponseHead(this.versionMinor, res.status, h, 0));
      return;
    }
    // The head goes out with the first body bytes in one write (one syscall instead of two); it is
    // encoded then, straight into that write's buffer. The codec owns the headers from here on.
    this.pendingStatus = res.status;
    this.pendingHeaders = h;
  }

  encodeData(data: Buffer, endStream: boolean): boolean {
    const s = this.socket;
    if (this.bodylessResponse) {
      // The head is out and the response is whole on the wire: nothing more may follow it.
      if (endStream) this.bodylessResponse = false;
      return true;
    }
    if (this.tunnel) {
      if (endStream) {
        this.endSoon();
        return true;
      }
      return s.write(data);
    }
    let ok = true;
    if (this.chunkedResponse) {
      if (data.length > 0) {
        const head = this.takePendingHead(0);
        s.cork();
        if (head !== null) s.write(head);
        s.write(`${data.length.toString(16)}\r\n`, "latin1");
        s.write(data);
        ok = s.write(endStream ? "\r\n" + LAST_CHUNK : "\r\n", "latin1");
        s.uncork();
      } else {
        const tail = endStream ? LAST_CHUNK : "";
        const head = this.takePendingHead(tail.length);
        if (head !== null) {
          writeLatin1(head, head.length - tail.length, tail);
          ok = s.write(head);
        } else if (tail !== "") {
          ok = s.write(tail, "latin1");
        }
      }
    } else {
      const out = this.takePendingHead(data.length);
      if (out !== null) {
        data.copy(out, out.length - data.length);
        ok = s.write(out);
      } else if (data.length > 0) {
        ok = s.write(data);
      }
    }
    return ok;
  }

  responseReplaceable(): boolean {
    return this.pendingHeaders !== null;
  }

  discardResponse(): void {
    this.pendingHeaders = null;
    this.chunkedResponse = false;
    this.bodylessResponse = false;
    this.tunnel = false;
  }

  /** The pending response head encoded into a Buffer with `room` bytes left after it, or null. */
  private takePendingHead(room: number): Buffer | null {
    const h = this.pendingHeaders;
    if (h === null) return null;
    this.pendingHeaders = null;
    return encodeResponseHead(this.versionMinor, this.pendingStatus, h, room);
  }

  encodeTrailers(_trailers: HeaderList): void {
    // HTTP/1 trailers are dropped (Envoy's default); the body ends here.
    this.encodeData(EMPTY, true);
  }

  encode100Continue(): void {
    if (this.versionMinor === 1) this.socket.write("HTTP/1.1 100 Continue\r\n\r\n", "latin1");
  }

  readDisable(disable: boolean): void {
    if (disable) this.pauseReading();
    else this.resumeReading();
  }

  resetStream(): void {
    this.destroySocket();
  }

  /** Called by the stream when its exchange is over (response sent or aborted). */
  streamDone(): void {
    const s = this.stream;
    if (s === null) return;
    const tunnel = this.tunnel;
    this.stream = null;
    this.tunnel = false;
    const r = this.reqReader;
    this.reqReader = null;
    this.idleSince = this.ctx.services.coarseNow;
    if (tunnel) {
      this.endSoon();
      return;
    }
    // A response that ends before its request body can't leave the connection in sync.
    if (r !== null && !r.done) this.closeAfter = true;
    if (this.closeAfter || this.closing || this.clientEnded) {
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
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    this.socket.end();
  }

  /** Graceful drain: idle connections close now, busy ones after their current response. */
  drain(): void {
    if (this.idle) this.endSoon();
  }

  /** Closes an idle keep-alive connection or answers a too-slow head with 408; a 0 limit is off. */
  sweep(now: number): void {
    const limits = this.ctx.services.limits;
    const headMs = limits.requestHeadersTimeoutMs;
    if (headMs > 0 && this.headStartedAt !== 0 && this.stream === null && now - this.headStartedAt >= headMs) {
      this.headStartedAt = 0;
      this.replyAndClose(ErrorCode.RequestHeaderTimeout);
      return;
    }
    const idleMs = limits.idleTimeoutMs;
    if (idleMs > 0 && this.idle && now - this.idleSince >= idleMs) this.endSoon();
  }

  destroySocket(): void {
    this.socket.destroy();
    this.onClose();
  }

  private onEnd(): void {
    // Half-close from the client: finish the in-flight response, then close.
    if (this.stream === null) this.endSoon();
    else this.clientEnded = true;
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    // Closed before its first bytes told the codec: counted as the HTTP/1 connection it defaulted to.
    if (this.toHttp2 !== null) {
      this.toHttp2 = null;
      this.httpStats.connectionOpened();
    }
    this.httpStats.connectionClosed();
    this.tracker.delete(this);
    const s = this.stream;
    this.stream = null;
    s?.onResetStream();
  }
}

/** `HTTP/1.x NNN Reason\r\n` for every status Outrigger knows, built once per process. */
const STATUS_LINES: readonly [Map<number, string>, Map<number, string>] = [statusLines(0), statusLines(1)];

function statusLines(minor: number): Map<number, string> {
  const m = new Map<number, string>();
  for (const code of Object.keys(STATUS_TEXT)) m.set(Number(code), statusLine(minor, Number(code)));
  return m;
}

function statusLine(minor: number, status: number): string {
  return `HTTP/1.${minor} ${status} ${STATUS_TEXT[status] ?? "Unknown"}\r\n`;
}

/** Status line, headers and blank line in one Buffer, with `room` bytes left at its end for the body. */
function encodeResponseHead(versionMinor: number, status: number, h: HeaderList, room: number): Buffer {
  const line = STATUS_LINES[versionMinor === 0 ? 0 : 1].get(status) ?? statusLine(versionMinor === 0 ? 0 : 1, status);
  const out = Buffer.allocUnsafe(line.length + h.encodedLength() + 2 + room);
  let off = writeLatin1(out, 0, line);
  off = h.encodeTo(out, off);
  out[off++] = 13;
  out[off] = 10;
  return out;
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

/** `Upgrade: h2c` (RFC 7540 §3.2): the only upgrade the proxy itself declines. */
function isH2cUpgrade(h: HeaderList): boolean {
  const v = h.getJoined("upgrade");
  return v !== undefined && v.trim().toLowerCase() === "h2c";
}
