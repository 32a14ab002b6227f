// BodyReader: finds where an HTTP/1.x message body ends (content-length, chunked, or connection
// close). Content-length and close-delimited bodies stream through without a copy. Chunked framing
// is parsed strictly and never forwarded as received: the payload is either handed to a sink
// (de-chunking for HTTP/1.0 peers) or re-encoded canonically (`<hex-len>\r\n<data>\r\n … 0\r\n\r\n`)
// with extensions dropped and trailers validated then dropped — Envoy's default, since its
// HTTP/1 codec discards trailers unless enable_trailers is set.

import { HeadError, HeadErrorKind, parseFields } from "./head-parser.js";
import { FIELD_VCHAR, TCHAR } from "./char-tables.js";
import type { Framing } from "./framing.js";

export { requestFraming, responseFraming, type Framing } from "./framing.js";

const enum S {
  Size,
  SizeBws,
  SizeExt,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerLine,
  TrailerLf,
  Done,
}

/** 16 KiB: max bytes of chunk extensions plus trailers before we call the body malformed. */
const MAX_CHUNK_META = 16 * 1024;
/** 100: trailer fields accepted (Envoy's max_headers_count default applies to trailers too). */
const MAX_TRAILERS = 100;
/** 2^48 bytes: chunk sizes beyond this are refused before the arithmetic loses precision. */
const MAX_CHUNK_SIZE = 2 ** 48;

const CRLF = Buffer.from("\r\n");
const LAST_CHUNK = Buffer.from("0\r\n\r\n");

export type DataSink = (buf: Buffer, start: number, end: number) => void;

function bad(why: string): HeadError {
  return new HeadError(HeadErrorKind.Malformed, why);
}

export class BodyReader {
  private state: S = S.Size;
  private remaining: number;
  private sawDigit = false;
  private meta = 0;
  /** The trailer section being read (latin1), validated once complete. */
  private trailer = "";
  /** Payload slices since the last takeChunked() (views into the caller's buffers, no copy). */
  private parts: Buffer[] = [];
  private partsLength = 0;
  private lastChunkSent = false;
  /** Body bytes seen so far (wire bytes including chunk framing). */
  wireBytes = 0;
  readonly framing: Framing;
  private readonly sink: DataSink | undefined;

  constructor(framing: Framing, sink?: DataSink) {
    this.framing = framing;
    this.sink = sink;
    this.remaining = framing.kind === "length" ? framing.length : 0;
    if (framing.kind === "none") this.state = S.Done;
  }

  get done(): boolean {
    return this.state === S.Done;
  }

  /**
   * Consumes body bytes from buf[start, end). Returns the index just past the body's last byte
   * when the body ends inside this window, else -1 (everything was body).
   * Throws HeadError(Malformed) on bad chunk framing.
   */
  consume(buf: Buffer, start: number, end: number): number {
    const f = this.framing.kind;
    if (this.state === S.Done) return start;
    if (f === "length") {
      const n = Math.min(this.remaining, end - start);
      this.remaining -= n;
      this.wireBytes += n;
      if (this.sink && n > 0) this.sink(buf, start, start + n);
      if (this.remaining === 0) {
        this.state = S.Done;
        return start + n;
      }
      return -1;
    }
    if (f === "close") {
      this.wireBytes += end - start;
      if (this.sink && end > start) this.sink(buf, start, end);
      return -1;
    }
    const r = this.consumeChunked(buf, start, end);
    this.wireBytes += (r === -1 ? end : r) - start;
    return r;
  }

  /**
   * For chunked framing without a sink: the canonical chunked bytes for the payload consumed since
   * the last call (one chunk), followed by the last chunk once the body is complete; null when
   * there is nothing to send.
   */
  takeChunked(): Buffer | null {
    const n = this.partsLength;
    const last = this.state === S.Done && !this.lastChunkSent;
    if (n === 0 && !last) return null;
    const out: Buffer[] = [];
    if (n > 0) {
      out.push(Buffer.from(n.toString(16) + "\r\n", "latin1"));
      for (const p of this.parts) out.push(p);
      out.push(CRLF);
      this.parts = [];
      this.partsLength = 0;
    }
    if (last) {
      this.lastChunkSent = true;
      out.push(LAST_CHUNK);
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  /** For close-delimited bodies: the peer closed, so the body is complete. */
  finishOnClose(): void {
    if (this.framing.kind === "close") this.state = S.Done;
  }

  private countMeta(): void {
    if (++this.meta > MAX_CHUNK_META) throw bad("chunk extensions or trailers too large");
  }

  private consumeChunked(buf: Buffer, start: number, end: number): number {
    let i = start;
    while (i < end) {
      switch (this.state) {
        case S.Size: {
          const c = buf[i]!;
          const d = hexValue(c);
          if (d >= 0) {
            this.sawDigit = true;
            // Leading zeros are fine ("000a"); only the value is bounded.
            if (this.remaining >= MAX_CHUNK_SIZE / 16) throw bad("chunk size too large");
            this.remaining = this.remaining * 16 + d;
            i++;
          } else if (!this.sawDigit) {
            throw bad("invalid chunk size");
          } else if (c === 13) {
            this.state = S.SizeLf;
            i++;
          } else if (c === 59 /* ; */) {
            this.state = S.SizeExt;
            i++;
          } else if (c === 32 || c === 9) {
            this.state = S.SizeBws;
            i++;
          } else {
            throw bad("invalid chunk size");
          }
          break;
        }
        case S.SizeBws: {
          // RFC 9112 §7.1.1: whitespace after the size only as BWS before an extension.
          const c = buf[i]!;
          if (c === 59) this.state = S.SizeExt;
          else if (c !== 32 && c !== 9) throw bad("invalid chunk size");
          this.countMeta();
          i++;
          break;
        }
        case S.SizeExt: {
          // Extensions are dropped, but must not hide a line end: CR only before LF, no CTLs.
          const c = buf[i]!;
          if (c === 13) this.state = S.SizeLf;
          else if (FIELD_VCHAR[c] === 0) throw bad("invalid chunk extension");
          else this.countMeta();
          i++;
          break;
        }
        case S.SizeLf: {
          if (buf[i] !== 10) throw bad("invalid chunk size line");
          i++;
          this.sawDigit = false;
          this.state = this.remaining === 0 ? S.TrailerLine : S.Data;
          break;
        }
        case S.Data: {
          const n = Math.min(this.remaining, end - i);
          if (this.sink) this.sink(buf, i, i + n);
          else {
            this.parts.push(buf.subarray(i, i + n));
            this.partsLength += n;
          }
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) this.state = S.DataCr;
          break;
        }
        case S.DataCr:
          if (buf[i] !== 13) throw bad("missing CRLF after chunk data");
          i++;
          this.state = S.DataLf;
          break;
        case S.DataLf:
          if (buf[i] !== 10) throw bad("missing CRLF after chunk data");
          i++;
          this.state = S.Size;
          break;
        case S.TrailerLine: {
          const c = buf[i]!;
          i++;
          if (c === 13) this.state = S.TrailerLf;
          else if (c === 10) throw bad("bare LF in trailers");
          else {
            this.countMeta();
            this.trailer += String.fromCharCode(c);
          }
          break;
        }
        case S.TrailerLf: {
          if (buf[i] !== 10) throw bad("bare CR in trailers");
          i++;
          if (this.trailer.length === 0 || this.trailer.endsWith("\r\n")) {
            // Blank line: the trailer section (if any) is complete.
            this.checkTrailers();
            this.state = S.Done;
            return i;
          }
          this.trailer += "\r\n";
          this.state = S.TrailerLine;
          break;
        }
        case S.Done:
          return i;
      }
    }
    return this.state === S.Done ? i : -1;
  }

  /**
   * Trailers must be well-formed fields (no obs-fold, a colon on every line, token names, clean
   * values) even though they are dropped: otherwise "trailers" could carry a request line that
   * a peer reading the bytes differently would take for the next request.
   */
  private checkTrailers(): void {
    const t = this.trailer;
    this.trailer = "";
    if (t.length === 0) return;
    if (TCHAR[t.charCodeAt(0)] === 0) throw bad("invalid trailer");
    try {
      parseFields(t, 0, t.length - 2, MAX_TRAILERS);
    } catch {
      throw bad("invalid trailer");
    }
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
