// H2Session: Outrigger's own HTTP/2 connection (RFC 9113), both roles, on any Duplex (TCP or
// TLS). It replaces node:http2 on the data path: no stream objects or events per stream, one
// handler object per stream instead; frames parsed straight from the socket's chunks (a frame
// split across reads is the only one copied); every frame produced in one event-loop turn goes
// out in one corked write (flushed from setImmediate) (control frames and headers packed in a shared slab, large DATA
// payloads as their own chunks, never concatenated). HPACK is hpack.ts (dynamic tables both ways).
//
// API (stable; the upstream pool uses the client role):
//
//   const s = new H2Session(socket, options, sessionHandler);
//     options: role "server" | "client", the SETTINGS we advertise (maxConcurrentStreams,
//       initialStreamWindowSize, maxHeaderListSize), initialConnectionWindowSize (a WINDOW_UPDATE
//       on stream 0 raises ours to it), maxHeaderPairs, streamBufferLimit (write() false above),
//       now() (monotonic ms, the premature-reset check), streamErrorOnInvalidMessage (a
//       malformed message resets its stream only; default: GOAWAY PROTOCOL_ERROR, as Envoy).
//     sessionHandler: onStream(stream, raw, endStream, overflow) — server: a new peer stream
//       (set stream.handler there); onRemoteSettings() — each peer SETTINGS applied (the first
//       one: peerMaxConcurrentStreams is known); onGoaway(lastStreamId, code); onClose() — once,
//       when the socket closed (every stream was reset with ResetWhy.ConnectionClosed before).
//   Client: s.request(raw, endStream, handler) → H2Stream (check s.canRequest first; raw is
//     [":method", "GET", ":scheme", "http", ":authority", "a", ":path", "/", name, value, …]).
//   H2Stream: id, handler; sendHeaders(raw, endStream); write(data, endStream) → false when over
//     streamBufferLimit (handler.onWritable when below again); sendTrailers(raw) (END_STREAM);
//     sendInformational(raw) (":status" 1xx); reset(code) (RST_STREAM; no onReset, onClose
//     follows); readDisable(bool) (data held, stream WINDOW_UPDATE withheld until resumed).
//   H2StreamHandler: onHeaders(raw, endStream) (client: 1xx blocks too, endStream false),
//     onData(chunk, endStream), onTrailers(raw) (the end of the stream), onReset(code, why),
//     onWritable(), onClose() (once, when the stream leaves the session for any reason).
//     Handlers are called synchronously, also from inside our own calls: a write(…, true) or
//     sendHeaders(…, true) that ends a stream the peer already ended calls onClose before it
//     returns; reset() calls onClose (never onReset).
//   Session: shutdownNotice() (GOAWAY NO_ERROR 2^31-1), goaway(code) (final GOAWAY, last peer
//     stream processed), close() (ends the socket once no stream is open), destroy(),
//     activeStreams, peerMaxConcurrentStreams, closed.
//
// Received header blocks are checked as nghttp2 does (RFC 9113 §8): a malformed message is never
// delivered; like every stream error the peer causes it ends the connection (GOAWAY), Envoy's
// default, or only resets the stream with streamErrorOnInvalidMessage. Flood limits are Envoy's
// http2_protocol_options defaults (outbound frames, control frames, empty DATA, PRIORITY,
// WINDOW_UPDATE) and its premature-reset check (CVE-2023-44487).

import type { Duplex } from "node:stream";
import { realTimers, type TimerHandle, type Timers } from "../../../common/timers.js";
import { HpackDecoder, HpackEncoder } from "./hpack.js";
import { ByteWriter } from "./byte-writer.js";
import {
  CLIENT_PREFACE,
  DEFAULT_HEADER_TABLE_SIZE,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW_SIZE,
  ErrorCode,
  Flag,
  FRAME_HEADER_LENGTH,
  FrameType,
  frameLength,
  frameStreamId,
  MAX_ALLOWED_FRAME_SIZE,
  MAX_STREAM_ID,
  MAX_WINDOW_SIZE,
  read31,
  read32,
  SettingId,
  write32,
  writeFrameHeader,
} from "./frames.js";
import { checkRequestBlock, checkResponseBlock, checkTrailerBlock, contentLengthOf } from "./messaging.js";

export interface H2SessionOptions {
  role: "server" | "client";
  /** SETTINGS_MAX_CONCURRENT_STREAMS we advertise (server: peer streams beyond are refused). */
  maxConcurrentStreams: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE we advertise (each stream's receive window). */
  initialStreamWindowSize: number;
  /** Our connection receive window (a WINDOW_UPDATE on stream 0 raises it from 65535). */
  initialConnectionWindowSize: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE we advertise and enforce (RFC size: name + value + 32 each). */
  maxHeaderListSize: number;
  /** Header fields per block (pseudo-headers included) beyond which a block overflows. */
  maxHeaderPairs: number;
  /** Bytes queued on a stream above which write() returns false (Envoy: 1 MiB). */
  streamBufferLimit: number;
  /** Monotonic milliseconds (the injected clock); the premature-reset check uses it. */
  now?: () => number;
  /** The injected clock's timers (the delayed close); Node's timers when absent. */
  timers?: Timers;
  /**
   * Envoy's override_stream_error_on_invalid_http_message: true resets only the stream a
   * malformed message (or a stream-level protocol error) came on; false (Envoy's default) ends
   * the connection with GOAWAY.
   */
  streamErrorOnInvalidMessage?: boolean;
}

/** Why a stream was reset (H2StreamHandler.onReset). */
export const ResetWhy = {
  /** The peer's RST_STREAM. */
  Remote: 0,
  /** The connection closed (or failed) under the stream. */
  ConnectionClosed: 1,
  /** Client role: the peer's GOAWAY named a lower last-stream-id: never processed, safe to retry. */
  RefusedByGoaway: 2,
  /** The peer broke the protocol on this stream (malformed message, flow control): we sent RST_STREAM. */
  ProtocolError: 3,
} as const;
export type ResetWhy = (typeof ResetWhy)[keyof typeof ResetWhy];

export interface H2SessionHandler {
  /** Server role: a new peer stream with its request header block. Set `stream.handler` here. `overflow`: the block was over maxHeaderListSize/maxHeaderPairs (raw is cut short, unchecked). */
  onStream(stream: H2Stream, raw: string[], endStream: boolean, overflow: boolean): void;
  /** The peer's SETTINGS were applied (after the first: peerMaxConcurrentStreams is the peer's). */
  onRemoteSettings(): void;
  onGoaway(lastStreamId: number, code: number): void;
  /** The connection is gone (each open stream got onReset and onClose first). */
  onClose(): void;
}

export interface H2StreamHandler {
  /** A header block: client role, the response's (1xx ones with endStream false). */
  onHeaders(raw: string[], endStream: boolean): void;
  onData(chunk: Buffer, endStream: boolean): void;
  /** Trailers: they end the stream. */
  onTrailers(raw: string[]): void;
  onReset(code: number, why: ResetWhy): void;
  /** The queued DATA fell below streamBufferLimit after write() returned false. */
  onWritable(): void;
  /** Once, when the stream leaves the session (ended both ways, or reset). */
  onClose(): void;
}

/** A handler that ignores everything (a stream before its owner set one, or one being discarded). */
export const NULL_STREAM_HANDLER: H2StreamHandler = {
  onHeaders() {},
  onData() {},
  onTrailers() {},
  onReset() {},
  onWritable() {},
  onClose() {},
};

// Envoy's http2_protocol_options flood defaults.
const MAX_OUTBOUND_FRAMES = 10_000;
const MAX_OUTBOUND_CONTROL_FRAMES = 1_000;
const MAX_CONSECUTIVE_EMPTY_FRAMES = 1;
const MAX_PRIORITY_FRAMES_PER_STREAM = 100;
const MAX_WINDOW_UPDATES_PER_DATA_FRAME = 10;
/** Envoy's overload.premature_reset_total_stream_count and premature_reset_min_stream_lifetime. */
const PREMATURE_RESET_STREAM_COUNT = 500;
/** Envoy compares whole seconds (lifetime > 1 s is not premature): under 2 000 ms is. */
const PREMATURE_RESET_LIFETIME_MS = 2_000;

/** Bytes of output (ours unflushed + the socket's) above which DATA waits for the socket's `drain`. */
const OUTPUT_HIGH_WATER = 256 * 1024;
/** DATA payloads at least this long go out as their own chunk (not copied into the slab); shorter ones are copied, so a turn's small responses leave as one buffer (write, not writev). */
const COPY_LIMIT = 4096;
const SLAB_SIZE = 64 * 1024;
/**
 * 1 000 ms: Envoy's delayed_close_timeout default. After our final frames (a GOAWAY, the last
 * stream) the socket is ended; a peer that neither reads them nor closes is cut off this long
 * after the last write progress (each write that completes starts it again, as in Envoy).
 */
export const DELAYED_CLOSE_MS = 1_000;

const EMPTY = Buffer.alloc(0);

/** Stream receive side: what the peer has sent. */
const enum Rx {
  /** Server: never (a stream exists from its request headers). Client: awaiting the response. */
  AwaitHeaders = 0,
  /** Headers received, DATA / trailers may follow. */
  Body = 1,
  /** END_STREAM received. */
  Ended = 2,
}

export class H2Stream {
  readonly id: number;
  handler: H2StreamHandler = NULL_STREAM_HANDLER;
  /** @internal */ readonly session: H2Session;
  /** @internal */ rx: Rx;
  /** @internal We sent END_STREAM (or it is queued after the DATA in `queue`). */
  localEnded = false;
  /** @internal Left the session. */
  closed = false;
  /** @internal */ sendWindow: number;
  /** @internal Bytes the peer may still send. */
  recvWindow: number;
  /** @internal Bytes received and consumed, not yet returned by a WINDOW_UPDATE. */
  recvConsumed = 0;
  /** @internal DATA to send, in order; the first from `queueOff` (made on the first queued chunk). */
  queue: Buffer[] | null = null;
  queueOff = 0;
  queuedBytes = 0;
  /** @internal END_STREAM goes with the last queued DATA (or trailers). */
  endQueued = false;
  trailers: readonly string[] | null = null;
  /** @internal In the session's DATA list. */
  inDataList = false;
  /** @internal write() returned false: onWritable when below the limit. */
  wantWritable = false;
  readDisabled = false;
  /** @internal Received while read-disabled: DATA chunks, a trailer block (string[]). */
  held: Array<Buffer | string[]> | null = null;
  heldEnd = false;
  /** @internal content-length of the received message (-1: none), DATA bytes received. */
  contentLength = -1;
  received = 0;
  /** @internal Client: the request was HEAD (the response carries no body whatever its content-length). */
  noBody = false;
  /** @internal Monotonic ms the stream opened (premature resets). */
  openedAt = 0;
  /** @internal A response HEADERS went out (server: the peer's reset is then not premature). */
  headersSent = false;
  /** @internal resetAfterEnd: the RST_STREAM code to send once our END_STREAM is out (-1: none). */
  deferredReset = -1;

  /** @internal */
  constructor(session: H2Session, id: number, rx: Rx, sendWindow: number, recvWindow: number) {
    this.session = session;
    this.id = id;
    this.rx = rx;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** Sends a header block (a response, or the client's request before request() returned). */
  sendHeaders(raw: readonly string[], endStream: boolean): void {
    if (this.closed || this.localEnded) return;
    this.headersSent = true;
    if (endStream) this.localEnded = true;
    this.session.sendHeaderBlock(this.id, raw, endStream);
    if (endStream) this.session.maybeCloseStream(this);
  }

  /** A 1xx response block (`:status` 100): HEADERS without END_STREAM. */
  sendInformational(raw: readonly string[]): void {
    if (this.closed || this.localEnded) return;
    this.session.sendHeaderBlock(this.id, raw, false);
  }

  /**
   * Queues DATA (flow control decides when it goes); `endStream` ends the stream after it.
   * Returns false when the stream's queued bytes are over streamBufferLimit: stop until onWritable.
   */
  write(data: Buffer, endStream: boolean): boolean {
    if (this.closed || this.localEnded) return true;
    // Nothing queued ahead and the windows take it all in one frame: no queueing (most responses).
    if (this.queuedBytes === 0 && this.session.sendDirect(this, data, endStream)) return true;
    if (data.length > 0) {
      (this.queue ??= []).push(data);
      this.queuedBytes += data.length;
    }
    if (endStream) {
      this.localEnded = true;
      this.endQueued = true;
    }
    if (data.length === 0 && !endStream) return true;
    this.session.streamHasData(this);
    if (this.queuedBytes > this.session.streamBufferLimit) {
      this.wantWritable = true;
      return false;
    }
    return true;
  }

  /** Trailers end the stream, after the queued DATA. */
  sendTrailers(raw: readonly string[]): void {
    if (this.closed || this.localEnded) return;
    this.localEnded = true;
    this.endQueued = true;
    this.trailers = raw;
    this.session.streamHasData(this);
  }

  /** RST_STREAM with `code`; the stream leaves the session (its handler gets onClose, not onReset). */
  reset(code: number): void {
    if (this.closed) return;
    this.session.resetStream(this, code, -1);
  }

  /**
   * RST_STREAM with `code` once the END_STREAM we queued has gone out (at once if it has): the
   * rest of our side is still sent, the peer's is cut short — Envoy's deferred reset, which its
   * connection manager uses when a response completes before the request (RFC 9113 §8.1: a
   * server may ask the client to stop sending with NO_ERROR). Before our END_STREAM is queued it
   * is a plain reset.
   */
  resetAfterEnd(code: number): void {
    if (this.closed) return;
    if (this.localEnded && this.endQueued) this.deferredReset = code;
    else this.session.resetStream(this, code, -1);
  }

  /** Holds received DATA and the stream's WINDOW_UPDATE (the peer stops once the window is used). */
  readDisable(disable: boolean): void {
    if (this.closed || this.readDisabled === disable) return;
    this.readDisabled = disable;
    if (!disable) this.session.resumeStream(this);
  }

  /** Bytes queued to send. */
  get bufferedBytes(): number {
    return this.queuedBytes;
  }
}

/** Session lifecycle. */
const enum Phase {
  /** Server: reading the client preface. */
  Preface = 0,
  /** The peer's first frame must be SETTINGS. */
  FirstSettings = 1,
  Open = 2,
  /** A connection error was sent or the socket is gone: input ignored. */
  Dead = 3,
}

export class H2Session {
  readonly role: "server" | "client";
  readonly streamBufferLimit: number;
  /** Stream errors reset the stream only (else they end the connection, Envoy's default). */
  private readonly streamErrors: boolean;
  private readonly socket: Duplex;
  private readonly handler: H2SessionHandler;
  private readonly opts: H2SessionOptions;
  private readonly now: () => number;
  private readonly timers: Timers;
  /** The delayed close after endSocket (cleared when the socket is gone). */
  private closeTimer: TimerHandle | undefined;
  private readonly decoder: HpackDecoder;
  private readonly encoder: HpackEncoder;
  private readonly hw = new ByteWriter();
  private readonly streams = new Map<number, H2Stream>();

  private phase: Phase;
  private prefaceRead = 0;
  /** A frame split across reads: its bytes so far (header first, then the whole frame). */
  private partial: Buffer | null = null;
  private partialHave = 0;
  private readonly headerBuf = Buffer.allocUnsafe(FRAME_HEADER_LENGTH);

  /** A header block continued by CONTINUATION frames: its stream (0: none), flags, fragments. */
  private contStream = 0;
  private contFlags = 0;
  private contParts: Buffer[] = [];
  private contBytes = 0;

  // peer settings
  private peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  private peerInitialWindow = DEFAULT_WINDOW_SIZE;
  /** SETTINGS_MAX_CONCURRENT_STREAMS of the peer (unlimited until it says). */
  peerMaxConcurrentStreams = MAX_STREAM_ID;
  /** Our SETTINGS were acknowledged (before: streams beyond our limit are refused, not a connection error). */
  private settingsAcked = false;
  private gotRemoteSettings = false;

  // flow control
  private connSendWindow = DEFAULT_WINDOW_SIZE;
  private connRecvWindow: number;
  private connRecvConsumed = 0;
  private readonly connRecvTarget: number;
  private readonly streamRecvTarget: number;
  /** Streams with DATA (or trailers) waiting, in order. */
  private dataList: H2Stream[] = [];
  /** Streams resumed (readDisable(false)) with held input to deliver at the next flush. */
  private resumeList: H2Stream[] = [];

  // stream ids
  /** Highest peer-initiated stream id seen. */
  private lastPeerStreamId = 0;
  /** Client: the next id we open. */
  private nextStreamId = 1;
  /** A final GOAWAY sent: peer streams above this id are ignored (-1: none sent). */
  private goawayLastId = -1;
  /** The peer's GOAWAY arrived. */
  private peerGoaway = false;
  /** close(): end the socket once no stream is open. */
  private closing = false;
  closed = false;

  // output
  private slab: Buffer = Buffer.allocUnsafe(SLAB_SIZE);
  private slabStart = 0;
  private slabPos = 0;
  private chunks: Buffer[] = [];
  private outBytes = 0;
  private flushScheduled = false;
  private inRead = false;
  /** socket.write returned false: DATA waits for `drain`. */
  private socketBlocked = false;
  /** Frames (and control frames) produced since the last flush. */
  private outFrames = 0;
  private outControlFrames = 0;
  /** Frames handed to the socket and not yet written by it (Envoy's outbound frame counters). */
  private queuedFrames = 0;
  private queuedControlFrames = 0;
  /** Per flushed batch, in write order: [frames, control frames] (the write callback retires one). */
  private readonly batches: number[] = [];
  private readonly onBatchWritten = batchWritten.bind(this);

  // inbound flood counters
  private consecutiveEmpty = 0;
  private priorityFrames = 0;
  private windowUpdateFrames = 0;
  private dataFramesSent = 0;
  private peerStreamsOpened = 0;
  private closedPeerStreams = 0;
  private prematureResets = 0;

  constructor(socket: Duplex, opts: H2SessionOptions, handler: H2SessionHandler) {
    this.socket = socket;
    this.opts = opts;
    this.handler = handler;
    this.role = opts.role;
    this.now = opts.now ?? performance.now.bind(performance);
    this.timers = opts.timers ?? realTimers;
    this.streamBufferLimit = opts.streamBufferLimit;
    this.streamErrors = opts.streamErrorOnInvalidMessage === true;
    this.decoder = new HpackDecoder(DEFAULT_HEADER_TABLE_SIZE);
    this.encoder = new HpackEncoder();
    this.connRecvWindow = Math.max(DEFAULT_WINDOW_SIZE, Math.min(opts.initialConnectionWindowSize, MAX_WINDOW_SIZE));
    this.connRecvTarget = this.connRecvWindow;
    this.streamRecvTarget = Math.min(opts.initialStreamWindowSize, MAX_WINDOW_SIZE);
    this.phase = opts.role === "server" ? Phase.Preface : Phase.FirstSettings;

    socket.on("data", onSocketData.bind(this));
    socket.on("drain", onSocketDrain.bind(this));
    socket.on("end", onSocketEnd.bind(this));
    socket.on("close", onSocketClose.bind(this));
    socket.on("error", noop);
    // A socket handed over paused (the HTTP/1 codec sniffed the preface and unshifted it) flows again.
    socket.resume();

    if (opts.role === "client") this.putBytes(CLIENT_PREFACE);
    this.writeSettings();
    if (this.connRecvWindow > DEFAULT_WINDOW_SIZE) this.writeWindowUpdate(0, this.connRecvWindow - DEFAULT_WINDOW_SIZE);
    this.scheduleFlush();
  }

  /** Open streams (both ways). */
  get activeStreams(): number {
    return this.streams.size;
  }

  /** Client role: a new stream may be opened (no GOAWAY either way, not closing). */
  get canRequest(): boolean {
    return this.phase !== Phase.Dead && !this.closed && !this.peerGoaway && !this.closing && this.goawayLastId < 0 && this.nextStreamId <= MAX_STREAM_ID;
  }

  /** Client role: opens a stream with its request header block. Throws when !canRequest. */
  request(raw: readonly string[], endStream: boolean, handler: H2StreamHandler): H2Stream {
    if (this.role !== "client") throw new Error("request() is the client role's");
    if (!this.canRequest) throw new Error("the HTTP/2 session accepts no new streams");
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const s = new H2Stream(this, id, Rx.AwaitHeaders, this.peerInitialWindow, this.streamRecvTarget);
    s.handler = handler;
    s.openedAt = this.now();
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i] === ":method") {
        s.noBody = raw[i + 1] === "HEAD";
        break;
      }
    }
    this.streams.set(id, s);
    s.sendHeaders(raw, endStream);
    return s;
  }

  /** GOAWAY NO_ERROR with last-stream-id 2^31-1 (RFC 9113 §6.8's shutdown notice): streams still come. */
  shutdownNotice(): void {
    if (this.phase === Phase.Dead || this.goawayLastId >= 0) return;
    this.writeGoaway(MAX_STREAM_ID, ErrorCode.NO_ERROR);
    this.scheduleFlush();
  }

  /** The final GOAWAY: the last peer stream processed; later peer streams are ignored. */
  goaway(code: number = ErrorCode.NO_ERROR): void {
    if (this.phase === Phase.Dead || this.goawayLastId >= 0) return;
    this.goawayLastId = this.lastPeerStreamId;
    this.writeGoaway(this.lastPeerStreamId, code);
    this.scheduleFlush();
  }

  /** Sends the final GOAWAY (if not yet) and ends the socket once no stream is open. */
  close(): void {
    if (this.closed) return;
    this.goaway(ErrorCode.NO_ERROR);
    this.closing = true;
    if (this.streams.size === 0) this.endSocket();
  }

  /** Closes the socket now; open streams are reset (ConnectionClosed, with `code`: CANCEL unless we detected an error). */
  destroy(code: number = ErrorCode.CANCEL): void {
    if (this.closed) return;
    this.phase = Phase.Dead;
    this.socket.destroy();
    this.onSocketGone(code);
  }

  // ---------------------------------------------------------------- input

  /** @internal */
  onData(chunk: Buffer): void {
    if (this.phase === Phase.Dead) return;
    this.inRead = true;
    try {
      this.parse(chunk);
    } finally {
      this.inRead = false;
    }
    this.scheduleFlush();
  }

  private parse(b: Buffer): void {
    let off = 0;
    const n = b.length;
    if (this.phase === Phase.Preface) {
      const want = CLIENT_PREFACE.length - this.prefaceRead;
      const k = Math.min(want, n);
      if (b.compare(CLIENT_PREFACE, this.prefaceRead, this.prefaceRead + k, 0, k) !== 0) {
        this.connectionError(ErrorCode.PROTOCOL_ERROR);
        return;
      }
      this.prefaceRead += k;
      off = k;
      if (this.prefaceRead < CLIENT_PREFACE.length) return;
      this.phase = Phase.FirstSettings;
    }
    // A frame begun in an earlier read.
    if (this.partial !== null || this.partialHave > 0) {
      off = this.continuePartial(b, off);
      if (off < 0) return;
    }
    while (off < n) {
      if (this.phase === Phase.Dead) return;
      if (n - off < FRAME_HEADER_LENGTH) {
        b.copy(this.headerBuf, 0, off, n);
        this.partialHave = n - off;
        return;
      }
      const len = frameLength(b, off);
      if (len > DEFAULT_MAX_FRAME_SIZE) {
        this.connectionError(ErrorCode.FRAME_SIZE_ERROR);
        return;
      }
      const end = off + FRAME_HEADER_LENGTH + len;
      if (end > n) {
        const f = Buffer.allocUnsafe(FRAME_HEADER_LENGTH + len);
        b.copy(f, 0, off, n);
        this.partial = f;
        this.partialHave = n - off;
        return;
      }
      this.frame(b, off, len);
      off = end;
    }
  }

  /** Completes a split frame from `b` at `off`; returns the offset after it (-1: still partial or failed). */
  private continuePartial(b: Buffer, off: number): number {
    const n = b.length;
    if (this.partial === null) {
      // The header itself was split.
      const need = FRAME_HEADER_LENGTH - this.partialHave;
      const k = Math.min(need, n - off);
      b.copy(this.headerBuf, this.partialHave, off, off + k);
      this.partialHave += k;
      off += k;
      if (this.partialHave < FRAME_HEADER_LENGTH) return -1;
      const len = frameLength(this.headerBuf, 0);
      if (len > DEFAULT_MAX_FRAME_SIZE) {
        this.connectionError(ErrorCode.FRAME_SIZE_ERROR);
        return -1;
      }
      const f = Buffer.allocUnsafe(FRAME_HEADER_LENGTH + len);
      this.headerBuf.copy(f, 0);
      this.partial = f;
    }
    const f = this.partial;
    const k = Math.min(f.length - this.partialHave, n - off);
    b.copy(f, this.partialHave, off, off + k);
    this.partialHave += k;
    off += k;
    if (this.partialHave < f.length) return -1;
    this.partial = null;
    this.partialHave = 0;
    this.frame(f, 0, f.length - FRAME_HEADER_LENGTH);
    return this.phase === Phase.Dead ? -1 : off;
  }

  /** One whole frame at `off` of `b` (payload `len` bytes after the header). */
  private frame(b: Buffer, off: number, len: number): void {
    const type = b[off + 3]!;
    const flags = b[off + 4]!;
    const id = frameStreamId(b, off);
    const p = off + FRAME_HEADER_LENGTH;
    if (this.phase === Phase.FirstSettings) {
      if (type !== FrameType.SETTINGS || (flags & Flag.ACK) !== 0) {
        this.connectionError(ErrorCode.PROTOCOL_ERROR);
        return;
      }
      this.phase = Phase.Open;
    }
    if (this.contStream !== 0 && type !== FrameType.CONTINUATION) {
      this.connectionError(ErrorCode.PROTOCOL_ERROR);
      return;
    }
    switch (type) {
      case FrameType.DATA:
        this.onDataFrame(b, p, len, flags, id);
        return;
      case FrameType.HEADERS:
        this.onHeadersFrame(b, p, len, flags, id);
        return;
      case FrameType.PRIORITY:
        this.onPriorityFrame(b, p, len, id);
        return;
      case FrameType.RST_STREAM:
        this.onRstStreamFrame(b, p, len, id);
        return;
      case FrameType.SETTINGS:
        this.onSettingsFrame(b, p, len, flags, id);
        return;
      case FrameType.PUSH_PROMISE:
        // Push is disabled (client: ENABLE_PUSH 0; a client never pushes).
        this.connectionError(ErrorCode.PROTOCOL_ERROR);
        return;
      case FrameType.PING:
        this.onPingFrame(b, p, len, flags, id);
        return;
      case FrameType.GOAWAY:
        this.onGoawayFrame(b, p, len, id);
        return;
      case FrameType.WINDOW_UPDATE:
        this.onWindowUpdateFrame(b, p, len, id);
        return;
      case FrameType.CONTINUATION:
        this.onContinuationFrame(b, p, len, flags, id);
        return;
      default:
      // Unknown frame types are ignored (RFC 9113 §4.1).
    }
  }

  /** An id that no stream has had yet: a frame other than HEADERS on it is a PROTOCOL_ERROR. */
  private isIdle(id: number): boolean {
    const peerInitiated = (id & 1) === (this.role === "server" ? 1 : 0);
    return peerInitiated ? id > this.lastPeerStreamId : id >= this.nextStreamId;
  }

  private onDataFrame(b: Buffer, p: number, len: number, flags: number, id: number): void {
    if (id === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR);
    let start = p;
    let end = p + len;
    if ((flags & Flag.PADDED) !== 0) {
      if (len < 1) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR);
      const pad = b[p]!;
      start++;
      if (pad > end - start) return this.connectionError(ErrorCode.PROTOCOL_ERROR);
      end -= pad;
    }
    const endStream = (flags & Flag.END_STREAM) !== 0;
    // Envoy's max_consecutive_inbound_frames_with_empty_payload.
    if (len === 0 && !endStream) {
      if (++this.consecutiveEmpty > MAX_CONSECUTIVE_EMPTY_FRAMES) return this.connectionError(ErrorCode.ENHANCE_YOUR_CALM);
    } else this.consecutiveEmpty = 0;
    if (len > this.connRecvWindow) return this.connectionError(ErrorCode.FLOW_CONTROL_ERROR);
    this.connRecvWindow -= len;
    this.consumeConnection(len);
    const s = this.streams.get(id);
    if (s === undefined) {
      if (this.isIdle(id)) this.connectionError(ErrorCode.PROTOCOL_ERROR);
      // A closed stream (we may have reset it while this was in flight): dropped.
      return;
    }
    // Half-closed (remote): nghttp2 (Envoy's codec) makes this a connection error.
    if (s.rx === Rx.Ended) return this.connectionError(ErrorCode.STREAM_CLOSED);
    if (s.rx === Rx.AwaitHeaders) return this.streamError(s, ErrorCode.PROTOCOL_ERROR);
    // nghttp2 and Envoy: a connection error (RFC 9113 §6.9 allows a stream error).
    if (len > s.recvWindow) return this.connectionError(ErrorCode.FLOW_CONTROL_ERROR);
    s.recvWindow -= len;
    s.recvConsumed += len;
    const dataLen = end - start;
    s.received += dataLen;
    if (s.contentLength >= 0 && (s.received > s.contentLength || (endStream && s.received !== s.contentLength))) {
      return this.streamError(s, ErrorCode.PROTOCOL_ERROR);
    }
    if (!s.readDisabled) this.maybeStreamWindowUpdate(s);
    if (endStream) s.rx = Rx.Ended;
    if (dataLen === 0 && !endStream) return;
    const chunk = dataLen === 0 ? EMPTY : b.subarray(start, end);
    if (s.readDisabled || s.held !== null) {
      (s.held ??= []).push(chunk);
      if (endStream) s.heldEnd = true;
      return;
    }
    s.handler.onData(chunk, endStream);
    if (endStream) this.maybeCloseStream(s);
  }

  private consumeConnection(n: number): void {
    this.connRecvConsumed += n;
    if (this.connRecvConsumed >= this.connRecvTarget >>> 1) {
      this.writeWindowUpdate(0, this.connRecvConsumed);
      this.connRecvWindow += this.connRecvConsumed;
      this.connRecvConsumed = 0;
    }
  }

  private maybeStreamWindowUpdate(s: H2Stream): void {
    if (s.rx === Rx.Ended || s.recvConsumed < this.streamRecvTarget >>> 1) return;
    this.writeWindowUpdate(s.id, s.recvConsumed);
    s.recvWindow += s.recvConsumed;
    s.recvConsumed = 0;
  }

  private onHeadersFrame(b: Buffer, p: number, len: number, flags: number, id: number): void {
    if (id === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR);
    let start = p;
    let end = p + len;
    if ((flags & Flag.PADDED) !== 0) {
      if (len < 1) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR);
      const pad = b[p]!;
      start++;
      if (pad > end - start) return this.connectionError(ErrorCode.PROTOCOL_ERROR);
      end -= pad;
    }
    let selfDependent = false;
    if ((flags & Flag.PRIORITY) !== 0) {
      if (end - start < 5) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR);
      selfDependent = read31(b, start) === id;
      start += 5;
    }
    const fragment = b.subarray(start, end);
    if ((flags & Flag.END_HEADERS) === 0) {
      this.contStream = id;
      this.contFlags = flags | (selfDependent ? 0x100 : 0);
      this.contParts = [fragment];
      this.contBytes = fragment.length;
      return;
    }
    this.headerBlock(id, flags, fragment, selfDependent);
  }

  private onContinuationFrame(b: Buffer, p: number, len: number, flags: number, id: number): void {
    if (this.contStream === 0 || id !== this.contStream) return this.connectionError(ErrorCode.PROTOCOL_ERROR);
    const fragment = b.subarray(p, p + len);
    this.contBytes += len;
    // A block far over the header list limit cannot be decoded usefully: the connection ends
    // (CONTINUATION flood; the HPACK state would be lost by skipping it).
    if (this.contBytes > this.opts.maxHeaderListSize * 2 + 65_536) return this.connectionError(ErrorCode.ENHANCE_YOUR_CALM);
    // Envoy counts a CONTINUATION with an empty payload as an empty frame too.
    if (len === 0 && (flags & Flag.END_HEADERS) === 0) {
      if (++this.consecutiveEmpty > MAX_CONSECUTIVE_EMPTY_FRAMES) return this.connectionError(ErrorCode.ENHANCE_YOUR_CALM);
    } else this.consecutiveEmpty = 0;
    this.contParts.push(fragment);
    if ((flags & Flag.END_HEADERS) === 0) return;
    const parts = this.contParts;
    const block = Buffer.concat(parts, this.contBytes);
    const hflags = this.contFlags;
    this.contStream = 0;
    this.contParts = [];
    this.contBytes = 0;
    this.headerBlock(id, hflags & 0xff, block, (hflags & 0x100) !== 0);
  }

  /** A whole header block of stream `id` (HEADERS flags `flags`). */
  private headerBlock(id: number, flags: number, block: Buffer, selfDependent: boolean): void {
    const raw: string[] = [];
    const maxSize = this.opts.maxHeaderListSize;
    const maxPairs = this.opts.maxHeaderPairs;
    let size: number;
    try {
      size = this.decoder.decode(block, raw, maxSize, maxPairs + 1);
    } catch {
      return this.connectionError(ErrorCode.COMPRESSION_ERROR);
    }
    const overflow = size > maxSize || raw.length > maxPairs * 2;
    const endStream = (flags & Flag.END_STREAM) !== 0;
    const s = this.streams.get(id);
    if (s !== undefined) {
      // nghttp2 (Envoy's codec): a connection error whatever stream_error_on_invalid_http_message says.
      if (selfDependent) return this.connectionError(ErrorCode.PROTOCOL_ERROR);
      this.existingStreamHeaders(s, raw, endStream, overflow);
      return;
    }
    if (this.role === "client") {
      // Server-initiated (push: disabled) or a stream of ours not opened yet: connection error;
      // one of ours already closed (reset while this was in flight): ignored.
      if ((id & 1) === 0 || id >= this.nextStreamId) this.connectionError(ErrorCode.PROTOCOL_ERROR);
      return;
    }
    if ((id & 1) === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR);
    if (id <= this.lastPeerStreamId) {
      // A closed stream: trailers of a stream we reset, in flight. Ignored (decoded above: HPACK state kept).
      return;
    }
    this.lastPeerStreamId = id;
    // After our final GOAWAY, newer streams are not processed.
    if (this.goawayLastId >= 0 && id > this.goawayLastId) return;
    if (selfDependent) return this.connectionError(ErrorCode.PROTOCOL_ERROR);
    if (this.streams.size >= this.opts.maxConcurrentStreams) {
      // nghttp2: refused while the peer may not know our limit yet, a connection error after.
      if (this.settingsAcked) return this.connectionError(ErrorCode.PROTOCOL_ERROR);
      this.writeRst(id, ErrorCode.REFUSED_STREAM);
      return;
    }
    let contentLength = -1;
    if (!overflow) {
      if (!checkRequestBlock(raw, endStream)) return this.invalidNewStream(id, ErrorCode.PROTOCOL_ERROR);
      contentLength = contentLengthOf(raw);
      if (contentLength === -2 || (endStream && contentLength > 0)) return this.invalidNewStream(id, ErrorCode.PROTOCOL_ERROR);
    }
    const ns = new H2Stream(this, id, endStream ? Rx.Ended : Rx.Body, this.peerInitialWindow, this.streamRecvTarget);
    ns.contentLength = contentLength;
    ns.openedAt = this.now();
    this.streams.set(id, ns);
    this.peerStreamsOpened++;
    this.handler.onStream(ns, raw, endStream, overflow);
  }

  /** A header block on an open stream: client, the response (1xx, final); either role, trailers. */
  private existingStreamHeaders(s: H2Stream, raw: string[], endStream: boolean, overflow: boolean): void {
    if (s.rx === Rx.Ended) return this.connectionError(ErrorCode.STREAM_CLOSED);
    // Over the header limits: the stream alone is reset (Envoy's header callback failing).
    if (overflow) return this.resetStream(s, ErrorCode.PROTOCOL_ERROR, ResetWhy.ProtocolError);
    if (s.rx === Rx.AwaitHeaders) {
      // Client: the response.
      const status = checkResponseBlock(raw);
      if (status < 0) return this.streamError(s, ErrorCode.PROTOCOL_ERROR);
      if (status < 200) {
        if (endStream) return this.streamError(s, ErrorCode.PROTOCOL_ERROR);
        s.handler.onHeaders(raw, false);
        return;
      }
      const cl = contentLengthOf(raw);
      if (cl === -2) return this.streamError(s, ErrorCode.PROTOCOL_ERROR);
      if (!s.noBody && status !== 204 && status !== 304) {
        if (endStream && cl > 0) return this.streamError(s, ErrorCode.PROTOCOL_ERROR);
        s.contentLength = cl;
      } else {
        // No body may follow (a HEAD request's response, 204, 304): nghttp2 takes its length as 0,
        // so DATA carrying any byte is a malformed message (an empty DATA with END_STREAM is not).
        s.contentLength = 0;
      }
      s.rx = endStream ? Rx.Ended : Rx.Body;
      s.handler.onHeaders(raw, endStream);
      if (endStream) this.maybeCloseStream(s);
      return;
    }
    // Trailers: END_STREAM, no pseudo-headers, and the DATA must have matched content-length.
    if (!endStream || !checkTrailerBlock(raw)) return this.streamError(s, ErrorCode.PROTOCOL_ERROR);
    if (s.contentLength >= 0 && s.received !== s.contentLength) return this.streamError(s, ErrorCode.PROTOCOL_ERROR);
    s.rx = Rx.Ended;
    if (s.readDisabled || s.held !== null) {
      (s.held ??= []).push(raw);
      s.heldEnd = true;
      return;
    }
    s.handler.onTrailers(raw);
    this.maybeCloseStream(s);
  }

  private onPriorityFrame(_b: Buffer, _p: number, len: number, id: number): void {
    if (id === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR);
    // RFC 9113 §6.3 allows a stream error; nghttp2 (Envoy's codec) ends the connection.
    if (len !== 5) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR);
    // Envoy's max_inbound_priority_frames_per_stream.
    if (++this.priorityFrames > MAX_PRIORITY_FRAMES_PER_STREAM * (1 + this.peerStreamsOpened)) this.connectionError(ErrorCode.ENHANCE_YOUR_CALM);
  }

  private onRstStreamFrame(b: Buffer, p: number, len: number, id: number): void {
    if (id === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR);
    if (len !== 4) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR);
    const s = this.streams.get(id);
    if (s === undefined) {
      if (this.isIdle(id)) this.connectionError(ErrorCode.PROTOCOL_ERROR);
      return;
    }
    const code = read32(b, p);
    const premature = this.role === "server" && !s.headersSent && this.now() - s.openedAt < PREMATURE_RESET_LIFETIME_MS;
    this.closeStream(s, code, ResetWhy.Remote);
    if (premature) {
      this.prematureResets++;
      this.checkPrematureResets();
    }
  }

  /** Envoy's premature-reset check (CVE-2023-44487): too many streams the client reset early. */
  private checkPrematureResets(): void {
    const total = this.closedPeerStreams;
    if (total < PREMATURE_RESET_STREAM_COUNT) {
      if (this.prematureResets * 2 < PREMATURE_RESET_STREAM_COUNT) return;
    } else if (this.prematureResets * 2 < total) return;
    this.destroy();
  }

  private onSettingsFrame(b: Buffer, p: number, len: number, flags: number, id: number): void {
    if (id !== 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR);
    if ((flags & Flag.ACK) !== 0) {
      if (len !== 0) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR);
      this.settingsAcked = true;
      return;
    }
    if (len % 6 !== 0) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR);
    for (let i = p; i < p + len; i += 6) {
      const key = (b[i]! << 8) | b[i + 1]!;
      const v = read32(b, i + 2);
      switch (key) {
        case SettingId.HEADER_TABLE_SIZE:
          this.encoder.setMaxTableSize(Math.min(v, 65_536));
          break;
        case SettingId.ENABLE_PUSH:
          if (v > 1 || (v === 1 && this.role === "client")) return this.connectionError(ErrorCode.PROTOCOL_ERROR);
          break;
        case SettingId.MAX_CONCURRENT_STREAMS:
          this.peerMaxConcurrentStreams = v;
          break;
        case SettingId.INITIAL_WINDOW_SIZE: {
          if (v > MAX_WINDOW_SIZE) return this.connectionError(ErrorCode.FLOW_CONTROL_ERROR);
          const delta = v - this.peerInitialWindow;
          this.peerInitialWindow = v;
          if (delta !== 0) {
            for (const s of this.streams.values()) {
              s.sendWindow += delta;
              if (s.sendWindow > MAX_WINDOW_SIZE) return this.connectionError(ErrorCode.FLOW_CONTROL_ERROR);
            }
          }
          break;
        }
        case SettingId.MAX_FRAME_SIZE:
          if (v < DEFAULT_MAX_FRAME_SIZE || v > MAX_ALLOWED_FRAME_SIZE) return this.connectionError(ErrorCode.PROTOCOL_ERROR);
          this.peerMaxFrameSize = v;
          break;
        case SettingId.ENABLE_CONNECT_PROTOCOL:
          if (v > 1) return this.connectionError(ErrorCode.PROTOCOL_ERROR);
          break;
        default:
        // MAX_HEADER_LIST_SIZE is advisory; unknown settings are ignored.
      }
    }
    this.writeFrame(0, FrameType.SETTINGS, Flag.ACK, 0);
    this.outControlFrames++;
    this.gotRemoteSettings = true;
    this.handler.onRemoteSettings();
    this.pumpData();
  }

  private onPingFrame(b: Buffer, p: number, len: number, flags: number, id: number): void {
    if (id !== 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR);
    if (len !== 8) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR);
    if ((flags & Flag.ACK) !== 0) return;
    const at = this.writeFrame(8, FrameType.PING, Flag.ACK, 0);
    b.copy(this.slab, at, p, p + 8);
    this.outControlFrames++;
  }

  private onGoawayFrame(b: Buffer, p: number, len: number, id: number): void {
    if (id !== 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR);
    if (len < 8) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR);
    const last = read31(b, p);
    const code = read32(b, p + 4);
    this.peerGoaway = true;
    if (this.role === "client") {
      // Streams above last-stream-id were never processed: refused, safe to retry elsewhere.
      for (const s of [...this.streams.values()]) if (s.id > last) this.closeStream(s, ErrorCode.REFUSED_STREAM, ResetWhy.RefusedByGoaway);
    }
    this.handler.onGoaway(last, code);
  }

  private onWindowUpdateFrame(b: Buffer, p: number, len: number, id: number): void {
    if (len !== 4) return this.connectionError(ErrorCode.FRAME_SIZE_ERROR);
    const inc = read31(b, p);
    // Envoy's max_inbound_window_update_frames_per_data_frame_sent (protocol_constraints.cc:
    // 5 + 2 × (streams opened + 10 × DATA frames sent); 1 + was an older Envoy's, too tight for a
    // client's first connection WINDOW_UPDATEs).
    if (++this.windowUpdateFrames > 5 + 2 * (this.peerStreamsOpened + MAX_WINDOW_UPDATES_PER_DATA_FRAME * this.dataFramesSent)) {
      return this.connectionError(ErrorCode.ENHANCE_YOUR_CALM);
    }
    if (id === 0) {
      if (inc === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR);
      this.connSendWindow += inc;
      if (this.connSendWindow > MAX_WINDOW_SIZE) return this.connectionError(ErrorCode.FLOW_CONTROL_ERROR);
      this.pumpData();
      return;
    }
    const s = this.streams.get(id);
    if (s === undefined) {
      if (this.isIdle(id)) this.connectionError(ErrorCode.PROTOCOL_ERROR);
      return;
    }
    // Stream-level in RFC 9113 §6.9; connection errors in Envoy, which ends the connection on
    // every invalid frame but a malformed message, stream_error_on_invalid_http_message or not.
    if (inc === 0) return this.connectionError(ErrorCode.PROTOCOL_ERROR);
    s.sendWindow += inc;
    if (s.sendWindow > MAX_WINDOW_SIZE) return this.connectionError(ErrorCode.FLOW_CONTROL_ERROR);
    if (s.queuedBytes > 0) this.pumpData();
  }

  // ---------------------------------------------------------------- streams

  /** @internal */
  maybeCloseStream(s: H2Stream): void {
    if (s.closed || s.rx !== Rx.Ended || !s.localEnded || s.endQueued || s.held !== null) return;
    this.closeStream(s, -1, 0);
  }

  /** Removes a stream; `code` ≥ 0: it was reset (handler.onReset first, unless `why` is -1 for our own reset). */
  private closeStream(s: H2Stream, code: number, why: ResetWhy | -1): void {
    if (s.closed) return;
    s.closed = true;
    this.streams.delete(s.id);
    if ((s.id & 1) === (this.role === "server" ? 1 : 0)) this.closedPeerStreams++;
    s.queue = null;
    s.queuedBytes = 0;
    s.held = null;
    const h = s.handler;
    if (code >= 0 && why !== -1) h.onReset(code, why);
    h.onClose();
    if (this.closing && this.streams.size === 0) this.endSocket();
  }

  /**
   * A stream error (RFC 9113 §5.4.2) the peer caused: a malformed message, a stream flow-control
   * violation. Envoy's default (stream_error_on_invalid_http_message false) ends the whole
   * connection (GOAWAY with the code); with streamErrorOnInvalidMessage only the stream is reset.
   */
  private streamError(s: H2Stream, code: number): void {
    if (!this.streamErrors) return this.connectionError(code);
    this.resetStream(s, code, ResetWhy.ProtocolError);
  }

  /** streamError for a stream that was never delivered (its request block was malformed). */
  private invalidNewStream(id: number, code: number): void {
    if (!this.streamErrors) return this.connectionError(code);
    this.writeRst(id, code);
  }

  /** @internal RST_STREAM and the stream gone; `why` -1: our own reset (no onReset). */
  resetStream(s: H2Stream, code: number, why: ResetWhy | -1): void {
    this.writeRst(s.id, code);
    this.closeStream(s, code, why);
    this.scheduleFlush();
  }

  /** @internal Data or trailers were queued on `s`. */
  streamHasData(s: H2Stream): void {
    if (!s.inDataList) {
      s.inDataList = true;
      this.dataList.push(s);
    }
    this.pumpData();
    this.scheduleFlush();
  }

  /**
   * @internal write() with nothing queued: the whole chunk as one DATA frame now, when the
   * windows, the peer's frame size and the socket allow; false leaves it to the queue.
   */
  sendDirect(s: H2Stream, data: Buffer, endStream: boolean): boolean {
    const n = data.length;
    if (n === 0 ? !endStream : n > this.peerMaxFrameSize || n > this.connSendWindow || n > s.sendWindow || this.outputFull()) return false;
    if (this.phase === Phase.Dead) return true;
    const flags = endStream ? Flag.END_STREAM : 0;
    if (n >= COPY_LIMIT) {
      this.writeFrame(0, FrameType.DATA, flags, s.id, n);
      this.putChunk(data);
    } else {
      const at = this.writeFrame(n, FrameType.DATA, flags, s.id);
      if (n > 0) data.copy(this.slab, at);
    }
    this.dataFramesSent++;
    this.connSendWindow -= n;
    s.sendWindow -= n;
    this.scheduleFlush();
    if (endStream) {
      s.localEnded = true;
      this.maybeCloseStream(s);
    }
    return true;
  }

  /** @internal readDisable(false): the held input goes at the next flush, the window opens. */
  resumeStream(s: H2Stream): void {
    if (s.held !== null) this.resumeList.push(s);
    else if (!s.closed) this.maybeStreamWindowUpdate(s);
    this.scheduleFlush();
  }

  private deliverHeld(s: H2Stream): void {
    if (s.closed || s.readDisabled) return;
    const held = s.held;
    if (held === null) return;
    const h = s.handler;
    while (held.length > 0 && !s.readDisabled && !s.closed) {
      const item = held.shift()!;
      const last = held.length === 0 && s.heldEnd;
      if (Buffer.isBuffer(item)) h.onData(item, last);
      else h.onTrailers(item);
    }
    if (s.closed) return;
    if (held.length === 0) {
      s.held = null;
      this.maybeStreamWindowUpdate(s);
      this.maybeCloseStream(s);
    }
  }

  /** Sends queued DATA while the windows and the socket allow, one frame per stream per round. */
  private pumpData(): void {
    let list = this.dataList;
    if (list.length === 0 || this.phase === Phase.Dead) return;
    let writable: H2Stream[] | null = null;
    let progress = true;
    while (progress && !this.outputFull()) {
      progress = false;
      for (let i = 0; i < list.length; i++) {
        const s = list[i]!;
        if (s.closed) continue;
        if (this.sendOneDataFrame(s)) progress = true;
        if (s.wantWritable && s.queuedBytes <= this.streamBufferLimit) {
          s.wantWritable = false;
          (writable ??= []).push(s);
        }
        if (this.outputFull()) break;
      }
    }
    // Drop streams with nothing left.
    let k = 0;
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      if (!s.closed && (s.queuedBytes > 0 || s.endQueued)) list[k++] = s;
      else s.inDataList = false;
    }
    list.length = k;
    if (writable !== null) {
      for (const s of writable) if (!s.closed) s.handler.onWritable();
      list = this.dataList;
    }
  }

  private outputFull(): boolean {
    return this.socketBlocked || this.outBytes + this.socket.writableLength >= OUTPUT_HIGH_WATER;
  }

  /** One DATA frame (or the trailers / final empty DATA) of `s`; false when nothing could go. */
  private sendOneDataFrame(s: H2Stream): boolean {
    if (s.queuedBytes === 0) {
      if (!s.endQueued) return false;
      s.endQueued = false;
      const t = s.trailers;
      if (t !== null) {
        s.trailers = null;
        this.sendHeaderBlock(s.id, t, true);
      } else {
        this.writeFrame(0, FrameType.DATA, Flag.END_STREAM, s.id);
        this.dataFramesSent++;
      }
      this.endSent(s);
      return true;
    }
    const queue = s.queue!;
    const head = queue[0]!;
    const avail = head.length - s.queueOff;
    let n = avail;
    if (n > this.peerMaxFrameSize) n = this.peerMaxFrameSize;
    if (n > this.connSendWindow) n = this.connSendWindow;
    if (n > s.sendWindow) n = s.sendWindow;
    if (n <= 0) return false;
    const last = n === avail && queue.length === 1;
    const end = last && s.endQueued && s.trailers === null;
    const payload = s.queueOff === 0 && n === head.length ? head : head.subarray(s.queueOff, s.queueOff + n);
    if (n >= COPY_LIMIT) {
      this.writeFrame(0, FrameType.DATA, end ? Flag.END_STREAM : 0, s.id, n);
      this.putChunk(payload);
    } else {
      const at = this.writeFrame(n, FrameType.DATA, end ? Flag.END_STREAM : 0, s.id);
      payload.copy(this.slab, at);
    }
    this.dataFramesSent++;
    this.connSendWindow -= n;
    s.sendWindow -= n;
    s.queuedBytes -= n;
    if (n === avail) {
      queue.shift();
      s.queueOff = 0;
    } else s.queueOff += n;
    if (end) {
      s.endQueued = false;
      this.endSent(s);
    }
    return true;
  }

  /** A queued END_STREAM went out: a deferred reset follows it, else the stream may be done. */
  private endSent(s: H2Stream): void {
    if (s.deferredReset >= 0) this.resetStream(s, s.deferredReset, -1);
    else this.maybeCloseStream(s);
  }

  // ---------------------------------------------------------------- output

  /** @internal HEADERS (+ CONTINUATION) of a header block. */
  sendHeaderBlock(id: number, raw: readonly string[], endStream: boolean): void {
    if (this.phase === Phase.Dead) return;
    const w = this.hw;
    w.length = 0;
    this.encoder.encode(raw, w);
    const block = w.buffer();
    const total = w.length;
    const max = this.peerMaxFrameSize;
    let off = 0;
    let first = true;
    do {
      const n = Math.min(max, total - off);
      const lastPart = off + n === total;
      const flags = (lastPart ? Flag.END_HEADERS : 0) | (first && endStream ? Flag.END_STREAM : 0);
      const at = this.writeFrame(n, first ? FrameType.HEADERS : FrameType.CONTINUATION, flags, id);
      block.copy(this.slab, at, off, off + n);
      off += n;
      first = false;
    } while (off < total);
    w.length = 0;
    this.scheduleFlush();
  }

  private writeSettings(): void {
    const o = this.opts;
    const entries: Array<[number, number]> = [];
    if (this.role === "client") entries.push([SettingId.ENABLE_PUSH, 0]);
    entries.push([SettingId.MAX_CONCURRENT_STREAMS, Math.min(o.maxConcurrentStreams, MAX_STREAM_ID)]);
    entries.push([SettingId.INITIAL_WINDOW_SIZE, this.streamRecvTarget]);
    entries.push([SettingId.MAX_HEADER_LIST_SIZE, o.maxHeaderListSize]);
    const at = this.writeFrame(entries.length * 6, FrameType.SETTINGS, 0, 0);
    const slab = this.slab;
    for (let i = 0; i < entries.length; i++) {
      const [k, v] = entries[i]!;
      slab[at + i * 6] = k >>> 8;
      slab[at + i * 6 + 1] = k & 0xff;
      write32(slab, at + i * 6 + 2, v);
    }
  }

  private writeWindowUpdate(id: number, inc: number): void {
    const at = this.writeFrame(4, FrameType.WINDOW_UPDATE, 0, id);
    write32(this.slab, at, inc & 0x7fffffff);
  }

  private writeRst(id: number, code: number): void {
    const at = this.writeFrame(4, FrameType.RST_STREAM, 0, id);
    write32(this.slab, at, code);
    this.outControlFrames++;
  }

  private writeGoaway(last: number, code: number): void {
    const at = this.writeFrame(8, FrameType.GOAWAY, 0, 0);
    write32(this.slab, at, last & 0x7fffffff);
    write32(this.slab, at + 4, code);
  }

  /**
   * A frame header (and room for `payload` bytes in the slab after it); returns the payload's
   * offset in `this.slab`. `external`: the length of a payload that will follow as its own chunk.
   */
  private writeFrame(payload: number, type: number, flags: number, id: number, external = 0): number {
    const need = FRAME_HEADER_LENGTH + payload;
    if (this.slab.length - this.slabPos < need) this.newSlab(need);
    const at = this.slabPos;
    writeFrameHeader(this.slab, at, payload + external, type, flags, id);
    this.slabPos = at + need;
    this.outBytes += need;
    this.outFrames++;
    return at + FRAME_HEADER_LENGTH;
  }

  private putBytes(b: Buffer): void {
    if (this.slab.length - this.slabPos < b.length) this.newSlab(b.length);
    b.copy(this.slab, this.slabPos);
    this.slabPos += b.length;
    this.outBytes += b.length;
  }

  /** A payload as its own output chunk (after what the slab holds so far). */
  private putChunk(b: Buffer): void {
    this.cutSlab();
    this.chunks.push(b);
    this.outBytes += b.length;
  }

  private cutSlab(): void {
    if (this.slabPos > this.slabStart) {
      this.chunks.push(this.slab.subarray(this.slabStart, this.slabPos));
      this.slabStart = this.slabPos;
    }
  }

  private newSlab(need: number): void {
    this.cutSlab();
    this.slab = Buffer.allocUnsafe(Math.max(SLAB_SIZE, need));
    this.slabStart = this.slabPos = 0;
  }

  /** @internal */
  scheduleFlush(): void {
    if (this.flushScheduled || this.inRead) return;
    this.flushScheduled = true;
    // After this poll phase: the frames of every stream that produced output in this turn (the
    // socket reads and upstream responses handled now) leave in one write.
    setImmediate(flushTick, this);
  }

  /** @internal Writes everything produced since the last flush, in one corked write. */
  flush(): void {
    this.flushScheduled = false;
    if (this.resumeList.length > 0) {
      const list = this.resumeList;
      this.resumeList = [];
      this.inRead = true;
      try {
        for (const s of list) this.deliverHeld(s);
      } finally {
        this.inRead = false;
      }
    }
    this.cutSlab();
    const chunks = this.chunks;
    if (chunks.length === 0) return;
    this.chunks = [];
    this.outBytes = 0;
    const socket = this.socket;
    if (socket.destroyed || !socket.writable) return;
    const frames = this.outFrames;
    const control = this.outControlFrames;
    this.outFrames = 0;
    this.outControlFrames = 0;
    this.queuedFrames += frames;
    this.queuedControlFrames += control;
    this.batches.push(frames, control);
    let ok: boolean;
    if (chunks.length === 1) ok = socket.write(chunks[0]!, this.onBatchWritten);
    else {
      socket.cork();
      for (let i = 0; i < chunks.length - 1; i++) socket.write(chunks[i]!);
      ok = socket.write(chunks[chunks.length - 1]!, this.onBatchWritten);
      socket.uncork();
    }
    if (!ok) this.socketBlocked = true;
    // Envoy's max_outbound_frames / max_outbound_control_frames: a peer that makes us write
    // (PING and SETTINGS ACKs, RST_STREAM, DATA) while it does not read.
    // The streams fail as by a connection error we detected (Envoy: the codec's flood error is a
    // protocol error of the connection), not as a connection the network took away.
    if (this.queuedFrames > MAX_OUTBOUND_FRAMES || this.queuedControlFrames > MAX_OUTBOUND_CONTROL_FRAMES) this.destroy(ErrorCode.ENHANCE_YOUR_CALM);
  }

  /** @internal A flushed batch left the socket's buffer. */
  batchWritten(): void {
    // Writing progresses: the delayed close starts again (Envoy restarts it on write progress).
    if (this.closeTimer !== undefined) this.armDelayedClose();
    const b = this.batches;
    if (b.length < 2) return;
    this.queuedFrames -= b.shift()!;
    this.queuedControlFrames -= b.shift()!;
  }

  /** @internal The socket drained: queued DATA may go. */
  onDrain(): void {
    if (this.closeTimer !== undefined) this.armDelayedClose();
    this.socketBlocked = false;
    this.pumpData();
    this.flush();
  }

  /**
   * A connection error (RFC 9113 §5.4.1): GOAWAY with the code and the last peer stream, then the
   * socket ends; open streams are reset.
   */
  private connectionError(code: number): void {
    if (this.phase === Phase.Dead) return;
    this.phase = Phase.Dead;
    this.writeGoaway(this.lastPeerStreamId, code);
    this.flush();
    this.failStreams(code);
    this.endSocket();
  }

  private endSocket(): void {
    this.phase = Phase.Dead;
    this.flush();
    const socket = this.socket;
    if (!socket.writableEnded) socket.end();
    // A peer that never closes its side must not hold the connection; one that does not even
    // read what is left (so `finish` never comes) is cut off after Envoy's delayed close timeout.
    if (!socket.destroyed) {
      socket.once("finish", destroySocket);
      if (this.closeTimer === undefined) this.armDelayedClose();
    }
  }

  /** (Re)starts the delayed close: the socket is destroyed DELAYED_CLOSE_MS after the last write progress. */
  private armDelayedClose(): void {
    if (this.closeTimer !== undefined) this.timers.clear(this.closeTimer);
    const socket = this.socket;
    this.closeTimer = this.timers.set(() => socket.destroy(), DELAYED_CLOSE_MS);
  }

  private failStreams(code: number): void {
    if (this.streams.size === 0) return;
    for (const s of [...this.streams.values()]) this.closeStream(s, code, ResetWhy.ConnectionClosed);
  }

  /** @internal The socket is gone (closed, destroyed). */
  onSocketGone(code: number = ErrorCode.CANCEL): void {
    if (this.closeTimer !== undefined) {
      this.timers.clear(this.closeTimer);
      this.closeTimer = undefined;
    }
    if (this.closed) return;
    this.closed = true;
    this.phase = Phase.Dead;
    this.chunks = [];
    this.failStreams(code);
    this.handler.onClose();
  }

  /** @internal */
  get remoteSettingsReceived(): boolean {
    return this.gotRemoteSettings;
  }
}

function noop(): void {}

function flushTick(s: H2Session): void {
  s.flush();
}

function onSocketData(this: H2Session, chunk: Buffer): void {
  this.onData(chunk);
}

function batchWritten(this: H2Session): void {
  this.batchWritten();
}

function onSocketDrain(this: H2Session): void {
  this.onDrain();
}

/** The peer's FIN: an HTTP/2 connection is over (as in Envoy); the session closes. */
function onSocketEnd(this: H2Session): void {
  this.destroy();
}

function onSocketClose(this: H2Session): void {
  this.onSocketGone();
}

function destroySocket(this: Duplex): void {
  this.destroy();
}
