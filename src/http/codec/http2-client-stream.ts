// Http2ClientStream: the HTTP/2 client codec for one request, one stream of a pooled
// ClientHttp2Session (node:http2 / nghttp2 does the framing, HPACK and flow control). Encodes the
// codec-neutral request (headers, data with back-pressure, trailers), decodes the response
// (final headers — 1xx are nghttp2's —, data, trailers, trailers-only responses) and maps stream
// closes to Envoy's reset reasons. Node's stream events are bound once to module-level handlers
// that find their Http2ClientStream through a symbol: no closure per stream or per chunk.

import { constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";
import type { RequestEncoder, ResponseDecoder } from "../../upstream/conn-pool.js";
import type { UpstreamTlsInfo } from "../../tls/upstream-tls-info.js";
import { HeaderList } from "../header-list.js";
import type { RequestHeaders, StreamResetReason } from "../http-message.js";
import { http2RequestHeaders } from "./http2-client-headers.js";
import { headerListFromRaw } from "./http2-header-block.js";

/** What the stream needs from its connection (http2-pool.ts's Http2Connection). */
export interface Http2StreamHost {
  readonly session: ClientHttp2Session;
  readonly localAddress: string;
  readonly upstreamTls: UpstreamTlsInfo | undefined;
  /** The last stream id of a GOAWAY received (2^31-1 when none). */
  readonly goawayLastStreamId: number;
  /** The stream's slot is free again (called exactly once per stream). */
  streamClosed(): void;
  /** `http2.rx_reset` / `http2.tx_reset` / `http2.stream_refused_errors` / `http2.trailers`. */
  countRxReset(): void;
  countTxReset(): void;
  countRefused(): void;
  countTrailers(): void;
}

const OWNER = Symbol("outrigger.h2ClientStream");
const EMPTY = Buffer.alloc(0);
const END_STREAM = constants.NGHTTP2_FLAG_END_STREAM;
const NO_TRAILERS: OutgoingHttpHeaders = Object.freeze(Object.create(null) as OutgoingHttpHeaders);
const OPEN_WITH_BODY = Object.freeze({ endStream: false, waitForTrailers: true });
const OPEN_WITHOUT_BODY = Object.freeze({ endStream: true });

const enum St {
  /** Reserved by the pool; encodeHeaders not called yet. */
  Idle,
  AwaitingHeaders,
  Body,
  /** Complete or reset: every later event is ignored. */
  Done,
}

type Tagged = ClientHttp2Stream & { [OWNER]?: Http2ClientStream };

export class Http2ClientStream implements RequestEncoder {
  private readonly host: Http2StreamHost;
  private readonly decoder: ResponseDecoder;
  private stream: Tagged | null = null;
  private state = St.Idle;
  private requestEnded = false;
  private released = false;
  private paused = false;
  /** Trailers to send once nghttp2 asks for them (`wantTrailers`). */
  private requestTrailers: OutgoingHttpHeaders = NO_TRAILERS;
  /** Response trailers, delivered at the readable's end so they follow every data chunk. */
  private responseTrailers: HeaderList | null = null;

  constructor(host: Http2StreamHost, decoder: ResponseDecoder) {
    this.host = host;
    this.decoder = decoder;
  }

  get localAddress(): string {
    return this.host.localAddress;
  }

  get upstreamTls(): UpstreamTlsInfo | undefined {
    return this.host.upstreamTls;
  }

  // ---------------------------------------------------------------- request (encoder)

  encodeHeaders(req: RequestHeaders, endStream: boolean): void {
    if (this.state !== St.Idle) return;
    let s: Tagged;
    try {
      // With a body, nghttp2 asks for trailers after the last DATA (`wantTrailers`): sent when the
      // downstream had some (gRPC), else an empty DATA frame carries END_STREAM.
      s = this.host.session.request(http2RequestHeaders(req) as unknown as OutgoingHttpHeaders, endStream ? OPEN_WITHOUT_BODY : OPEN_WITH_BODY) as Tagged;
    } catch {
      // The session went away (GOAWAY, closed) after the pool handed this slot out: nothing was
      // sent, so the request is refused (retriable), reported after the caller's current call.
      this.state = St.Done;
      process.nextTick(refuseLater, this);
      return;
    }
    this.stream = s;
    this.state = St.AwaitingHeaders;
    this.requestEnded = endStream;
    s[OWNER] = this;
    s.on("response", onResponse);
    s.on("data", onData);
    s.on("trailers", onTrailers);
    s.on("end", onEnd);
    s.on("close", onClose);
    s.on("error", noop);
    if (!endStream) {
      s.on("wantTrailers", onWantTrailers);
      s.on("drain", onDrain);
    }
  }

  encodeData(data: Buffer, endStream: boolean): boolean {
    const s = this.stream;
    if (s === null || this.requestEnded || this.state === St.Done) return true;
    let ok = true;
    if (data.length > 0) ok = s.write(data);
    if (endStream) {
      this.requestEnded = true;
      s.end();
    }
    return ok;
  }

  encodeTrailers(trailers: HeaderList): void {
    const s = this.stream;
    if (s === null || this.requestEnded || this.state === St.Done) return;
    const t: OutgoingHttpHeaders = Object.create(null) as OutgoingHttpHeaders;
    const lower = trailers.lower;
    for (let i = 0; i < lower.length; i++) {
      const name = lower[i]!;
      const prev = t[name];
      const value = trailers.values[i]!;
      if (prev === undefined) t[name] = value;
      else if (Array.isArray(prev)) prev.push(value);
      else t[name] = [prev as string, value];
    }
    this.requestTrailers = t;
    this.requestEnded = true;
    s.end();
  }

  readDisable(disable: boolean): void {
    if (disable === this.paused) return;
    this.paused = disable;
    const s = this.stream;
    if (s === null) return;
    // A paused stream is not read, so nghttp2 sends no WINDOW_UPDATE for it: the upstream stops.
    if (disable) s.pause();
    else s.resume();
  }

  resetStream(): void {
    if (this.state === St.Done) return;
    this.state = St.Done;
    const s = this.stream;
    if (s === null) {
      this.release();
      return;
    }
    // RST_STREAM CANCEL: the connection stays usable for the other streams.
    if (!s.closed && !s.destroyed) {
      this.host.countTxReset();
      s.close(constants.NGHTTP2_CANCEL);
    }
    // The slot is freed by the stream's close event.
  }

  // ---------------------------------------------------------------- response (decoder)

  /** @internal */
  onResponse(headers: IncomingHttpHeaders, flags: number, raw: string[] | undefined): void {
    if (this.state !== St.AwaitingHeaders) return;
    const status = Number(headers[":status"]);
    const end = (flags & END_STREAM) !== 0;
    this.state = end ? St.Done : St.Body;
    const list = raw !== undefined ? headerListFromRaw(raw) : headerListFromObject(headers);
    // Trailers-only (gRPC errors): headers with END_STREAM.
    this.decoder.onUpstreamHeaders({ status, headers: list, mayHaveTrailers: !end }, end);
    if (end) this.responseComplete();
  }

  /** @internal */
  onData(chunk: Buffer): void {
    if (this.state === St.Body) this.decoder.onUpstreamData(chunk, false);
  }

  /** @internal */
  onTrailers(headers: IncomingHttpHeaders, raw: string[] | undefined): void {
    if (this.state !== St.Body) return;
    this.host.countTrailers();
    this.responseTrailers = raw !== undefined ? headerListFromRaw(raw) : headerListFromObject(headers);
  }

  /** @internal */
  onEnd(): void {
    if (this.state !== St.Body) return;
    this.state = St.Done;
    const t = this.responseTrailers;
    if (t !== null) {
      this.responseTrailers = null;
      this.decoder.onUpstreamTrailers(t);
    } else {
      this.decoder.onUpstreamData(EMPTY, true);
    }
    this.responseComplete();
  }

  /** The response is whole: a request still being sent is cut short (Envoy resets it too). */
  private responseComplete(): void {
    const s = this.stream;
    if (s !== null && !this.requestEnded && !s.closed) s.close(constants.NGHTTP2_NO_ERROR);
  }

  /** @internal */
  onClose(): void {
    const s = this.stream!;
    if (this.state !== St.Done) {
      this.state = St.Done;
      const code = s.rstCode;
      // A stream that closes early on a live session was reset by the peer (any code, NO_ERROR too).
      if (!this.host.session.destroyed) this.host.countRxReset();
      if (code === constants.NGHTTP2_REFUSED_STREAM) this.host.countRefused();
      const id = s.id;
      const refused = id === undefined || id > this.host.goawayLastStreamId;
      this.decoder.onUpstreamReset(refused ? "remote_refused_stream_reset" : resetReason(code, this.host.session.destroyed), undefined);
    }
    this.release();
  }

  /** @internal */
  onWantTrailers(): void {
    this.stream?.sendTrailers(this.requestTrailers);
  }

  /** @internal */
  onDrain(): void {
    if (this.state !== St.Done) this.decoder.onUpstreamWritable();
  }

  /** @internal */
  refuse(): void {
    this.decoder.onUpstreamReset("remote_refused_stream_reset", undefined);
    this.release();
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    if (this.stream !== null) this.stream[OWNER] = undefined;
    this.host.streamClosed();
  }
}

/**
 * Envoy's reset reason for a stream that closed before its response was whole: REFUSED_STREAM
 * (also nghttp2's word for streams above a GOAWAY's last stream id) is retriable as
 * `refused-stream`; a dead session is a connection termination; PROTOCOL_ERROR a protocol error.
 */
function resetReason(code: number | undefined, sessionGone: boolean): StreamResetReason {
  if (code === constants.NGHTTP2_REFUSED_STREAM) return "remote_refused_stream_reset";
  if (sessionGone) return "connection_termination";
  if (code === constants.NGHTTP2_PROTOCOL_ERROR) return "protocol_error";
  return "remote_reset";
}

function headerListFromObject(headers: IncomingHttpHeaders): HeaderList {
  const h = new HeaderList();
  for (const name of Object.keys(headers)) {
    if (name.charCodeAt(0) === 58) continue;
    const v = headers[name];
    if (Array.isArray(v)) for (const x of v) h.add(name, x);
    else if (v !== undefined) h.add(name, String(v));
  }
  return h;
}

function noop(): void {}

function refuseLater(s: Http2ClientStream): void {
  s.refuse();
}

function onResponse(this: Tagged, headers: IncomingHttpHeaders, flags: number, raw?: string[]): void {
  this[OWNER]?.onResponse(headers, flags, raw);
}
function onData(this: Tagged, chunk: Buffer): void {
  this[OWNER]?.onData(chunk);
}
function onTrailers(this: Tagged, headers: IncomingHttpHeaders, _flags: number, raw?: string[]): void {
  this[OWNER]?.onTrailers(headers, raw);
}
function onEnd(this: Tagged): void {
  this[OWNER]?.onEnd();
}
function onClose(this: Tagged): void {
  this[OWNER]?.onClose();
}
function onWantTrailers(this: Tagged): void {
  this[OWNER]?.onWantTrailers();
}
function onDrain(this: Tagged): void {
  this[OWNER]?.onDrain();
}
