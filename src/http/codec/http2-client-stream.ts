// Http2ClientStream: the HTTP/2 client codec for one request, one stream of a pooled H2Session
// (h2/session.ts, client role: Outrigger's own framing, HPACK and flow control). Encodes the
// codec-neutral request (headers, data with back-pressure, trailers), decodes the response
// (final headers — 1xx dropped —, data, trailers, trailers-only responses) and maps stream resets
// to Envoy's reset reasons. The object is its H2Stream's handler: the session calls its methods
// directly, no events, no closure per stream or per chunk.

import type { RequestEncoder, ResponseDecoder } from "../../upstream/conn-pool.js";
import type { UpstreamTlsInfo } from "../../tls/upstream-tls-info.js";
import type { HeaderList } from "../header-list.js";
import type { RequestHeaders, StreamResetReason } from "../http-message.js";
import { ErrorCode } from "./h2/frames.js";
import { ResetWhy, type H2Session, type H2Stream, type H2StreamHandler } from "./h2/session.js";
import { http2RequestHeaders, http2TrailerBlock } from "./http2-client-headers.js";
import { headerListFromRaw } from "./http2-header-block.js";

/** What the stream needs from its connection (http2-pool.ts's Http2Connection). */
export interface Http2StreamHost {
  readonly session: H2Session;
  readonly localAddress: string;
  readonly upstreamTls: UpstreamTlsInfo | undefined;
  /** The stream's slot is free again (called exactly once per stream). */
  streamClosed(): void;
  /** `http2.rx_reset` / `http2.tx_reset` / `http2.stream_refused_errors` / `http2.trailers`. */
  countRxReset(): void;
  countTxReset(): void;
  countRefused(): void;
  countTrailers(): void;
}

const EMPTY = Buffer.alloc(0);

const enum St {
  /** Reserved by the pool; encodeHeaders not called yet. */
  Idle,
  AwaitingHeaders,
  Body,
  /** Complete or reset: every later event is ignored. */
  Done,
}

export class Http2ClientStream implements RequestEncoder, H2StreamHandler {
  private readonly host: Http2StreamHost;
  private readonly decoder: ResponseDecoder;
  private stream: H2Stream | null = null;
  private state = St.Idle;
  private requestEnded = false;
  private released = false;
  private paused = false;

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
    const session = this.host.session;
    if (!session.canRequest) {
      // The session stopped taking streams (GOAWAY, closed) after the pool handed this slot out:
      // nothing was sent, so the request is refused (retriable), reported after the caller's
      // current call.
      this.state = St.Done;
      process.nextTick(refuseLater, this);
      return;
    }
    this.state = St.AwaitingHeaders;
    this.requestEnded = endStream;
    const s = session.request(http2RequestHeaders(req), endStream, this);
    // A session that failed while sending the headers has closed the stream already.
    if (this.released) return;
    this.stream = s;
    if (this.paused) s.readDisable(true);
  }

  encodeData(data: Buffer, endStream: boolean): boolean {
    const s = this.stream;
    if (s === null || this.requestEnded || this.state === St.Done) return true;
    if (endStream) this.requestEnded = true;
    return s.write(data, endStream);
  }

  encodeTrailers(trailers: HeaderList): void {
    const s = this.stream;
    if (s === null || this.requestEnded || this.state === St.Done) return;
    this.requestEnded = true;
    // After the queued DATA (none of which carried END_STREAM): HEADERS with END_STREAM. No
    // trailers left to send: an empty DATA frame ends the stream instead (as Envoy's codec does).
    const block = http2TrailerBlock(trailers);
    if (block.length > 0) s.sendTrailers(block);
    else s.write(EMPTY, true);
  }

  readDisable(disable: boolean): void {
    if (disable === this.paused) return;
    this.paused = disable;
    // Held DATA and no stream WINDOW_UPDATE while disabled: the upstream stops at its window.
    this.stream?.readDisable(disable);
  }

  resetStream(): void {
    if (this.state === St.Done) return;
    this.state = St.Done;
    const s = this.stream;
    if (s === null) {
      this.release();
      return;
    }
    // RST_STREAM NO_ERROR, Envoy's code for a local reset (codec_impl.cc reasonToReset: only a
    // refused-stream or CONNECT error reset carries another); servers abort the stream on any
    // RST_STREAM. The connection stays usable for the other streams; the session closes the
    // stream at once (onClose frees the slot).
    this.host.countTxReset();
    s.reset(ErrorCode.NO_ERROR);
  }

  // ---------------------------------------------------------------- response (stream handler)

  /** @internal A response header block (1xx ones too, which are dropped). */
  onHeaders(raw: string[], endStream: boolean): void {
    if (this.state !== St.AwaitingHeaders) return;
    const status = statusOf(raw);
    if (status < 200) return;
    this.state = endStream ? St.Done : St.Body;
    // Trailers-only (gRPC errors): headers with END_STREAM.
    this.decoder.onUpstreamHeaders({ status, headers: headerListFromRaw(raw), mayHaveTrailers: !endStream }, endStream);
    if (endStream) this.responseComplete();
  }

  /** @internal */
  onData(chunk: Buffer, endStream: boolean): void {
    if (this.state !== St.Body) return;
    if (endStream) this.state = St.Done;
    this.decoder.onUpstreamData(chunk.length === 0 ? EMPTY : chunk, endStream);
    if (endStream) this.responseComplete();
  }

  /** @internal Trailers end the response. */
  onTrailers(raw: string[]): void {
    if (this.state !== St.Body) return;
    this.state = St.Done;
    this.host.countTrailers();
    this.decoder.onUpstreamTrailers(headerListFromRaw(raw));
    this.responseComplete();
  }

  /** The response is whole: a request still being sent is cut short (RST_STREAM NO_ERROR, Envoy's local reset). */
  private responseComplete(): void {
    const s = this.stream;
    if (s !== null && !this.requestEnded) {
      this.host.countTxReset();
      s.reset(ErrorCode.NO_ERROR);
    }
  }

  /** @internal The stream was reset by the peer, the connection, a GOAWAY or a protocol error. */
  onReset(code: number, why: ResetWhy): void {
    if (this.state === St.Done) return;
    this.state = St.Done;
    this.decoder.onUpstreamReset(this.resetReason(code, why), undefined);
  }

  /**
   * Envoy's StreamResetReason for a stream reset before its response was whole (codec_impl.cc
   * onStreamClose), with the counters: `http2.rx_reset` counts RST_STREAM frames received,
   * `http2.tx_reset` those sent, `http2.stream_refused_errors` streams the peer refused.
   */
  private resetReason(code: number, why: ResetWhy): StreamResetReason {
    const host = this.host;
    switch (why) {
      case ResetWhy.Remote:
        host.countRxReset();
        if (code === ErrorCode.REFUSED_STREAM) {
          host.countRefused();
          return "remote_refused_stream_reset";
        }
        // Any other code, PROTOCOL_ERROR included, is Envoy's RemoteReset (503 UR).
        return "remote_reset";
      case ResetWhy.RefusedByGoaway:
        // Above the GOAWAY's last stream id: never processed, retriable (Envoy's remote refused
        // stream reset). No RST_STREAM was received.
        host.countRefused();
        return "remote_refused_stream_reset";
      case ResetWhy.ProtocolError:
        // A malformed response (we sent RST_STREAM): Envoy's ProtocolError (502 UPE).
        host.countTxReset();
        return "protocol_error";
      default:
        // The connection went away; a connection error we detected (GOAWAY with its code) is a
        // protocol error, as Envoy's codec client reports it.
        return code === ErrorCode.CANCEL || code === ErrorCode.NO_ERROR ? "connection_termination" : "protocol_error";
    }
  }

  /** @internal */
  onWritable(): void {
    if (this.state !== St.Done) this.decoder.onUpstreamWritable();
  }

  /** @internal The stream left the session. */
  onClose(): void {
    if (this.state !== St.Done) {
      // Closed without a reset and before the response ended: cannot happen in HTTP/2 (both ends
      // saw END_STREAM), but a stream must never leave its decoder waiting.
      this.state = St.Done;
      this.decoder.onUpstreamReset("connection_termination", undefined);
    }
    this.release();
  }

  /** @internal */
  refuse(): void {
    this.decoder.onUpstreamReset("remote_refused_stream_reset", undefined);
    this.release();
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.stream = null;
    this.host.streamClosed();
  }
}

/** `:status` of a response block (the session checked it is there, once, and three digits). */
function statusOf(raw: readonly string[]): number {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i] === ":status") return Number(raw[i + 1]);
  }
  return 0;
}

function refuseLater(s: Http2ClientStream): void {
  s.refuse();
}
