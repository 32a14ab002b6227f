// BodyReader: finds where an HTTP/1.x message body ends (content-length, chunked, or connection
// close) without copying it, so bodies stream through with their original framing. Chunked
// framing is parsed strictly; an optional sink receives the de-chunked payload (for HTTP/1.0 peers).

import type { HeaderList } from "../header-list.js";
import { HeadError, HeadErrorKind } from "./head-parser.js";

export type Framing =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  /** Response body delimited by the upstream closing the connection. */
  | { kind: "close" };

const NONE: Framing = { kind: "none" };
const CHUNKED: Framing = { kind: "chunked" };
const CLOSE: Framing = { kind: "close" };

function parseContentLength(headers: HeaderList): number | undefined {
  const all = headers.getAll("content-length");
  if (all.length === 0) return undefined;
  let value: string | undefined;
  for (const v of all) {
    // "Content-Length: 5, 5" and repeated equal values are tolerated; differing ones are not.
    for (const part of v.split(",")) {
      const p = part.trim();
      if (value !== undefined && p !== value) throw new HeadError(HeadErrorKind.Malformed, "conflicting content-length");
      value = p;
    }
  }
  if (value === undefined || !/^\d{1,15}$/.test(value)) throw new HeadError(HeadErrorKind.Malformed, "invalid content-length");
  return Number(value);
}

function isChunkedFinal(te: string): boolean {
  const parts = te.split(",");
  return parts[parts.length - 1]!.trim().toLowerCase() === "chunked";
}

/** RFC 9112 §6.3 for requests. Throws HeadError(Malformed) for smuggling-prone combinations. */
export function requestFraming(headers: HeaderList): Framing {
  const te = headers.getJoined("transfer-encoding");
  if (te !== undefined) {
    // TE together with CL is a request-smuggling vector: refuse it, as Envoy does by default.
    if (headers.has("content-length")) throw new HeadError(HeadErrorKind.Malformed, "both transfer-encoding and content-length");
    if (!isChunkedFinal(te)) throw new HeadError(HeadErrorKind.Malformed, "unsupported transfer-encoding");
    return CHUNKED;
  }
  const cl = parseContentLength(headers);
  if (cl === undefined || cl === 0) return NONE;
  return { kind: "length", length: cl };
}

/** RFC 9112 §6.3 for responses to `method`. */
export function responseFraming(status: number, method: string, headers: HeaderList): Framing {
  if (method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200)) return NONE;
  const te = headers.getJoined("transfer-encoding");
  if (te !== undefined) return isChunkedFinal(te) ? CHUNKED : CLOSE;
  const cl = parseContentLength(headers);
  if (cl === undefined) return CLOSE;
  if (cl === 0) return NONE;
  return { kind: "length", length: cl };
}

const enum S {
  Size,
  SizeExt,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  Trailer,
  TrailerLf,
  FinalLf,
  Done,
}

/** Max bytes of chunk-size line extensions plus trailers we accept before calling it malformed. */
const MAX_CHUNK_META = 16 * 1024;

export type DataSink = (buf: Buffer, start: number, end: number) => void;

export class BodyReader {
  private state: S = S.Size;
  private remaining: number;
  private sizeDigits = 0;
  private meta = 0;
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

  /** For close-delimited bodies: the peer closed, so the body is complete. */
  finishOnClose(): void {
    if (this.framing.kind === "close") this.state = S.Done;
  }

  private consumeChunked(buf: Buffer, start: number, end: number): number {
    let i = start;
    while (i < end) {
      switch (this.state) {
        case S.Size: {
          const c = buf[i]!;
          const d = hexValue(c);
          if (d >= 0) {
            if (++this.sizeDigits > 13) throw new HeadError(HeadErrorKind.Malformed, "chunk size too large");
            this.remaining = this.remaining * 16 + d;
            i++;
          } else if (this.sizeDigits === 0) {
            throw new HeadError(HeadErrorKind.Malformed, "invalid chunk size");
          } else if (c === 13) {
            this.state = S.SizeLf;
            i++;
          } else if (c === 59 /* ; */ || c === 32 || c === 9) {
            this.state = S.SizeExt;
            i++;
          } else {
            throw new HeadError(HeadErrorKind.Malformed, "invalid chunk size");
          }
          break;
        }
        case S.SizeExt: {
          const c = buf[i]!;
          if (c === 13) this.state = S.SizeLf;
          else if (c === 10 || ++this.meta > MAX_CHUNK_META) throw new HeadError(HeadErrorKind.Malformed, "invalid chunk extension");
          i++;
          break;
        }
        case S.SizeLf: {
          if (buf[i] !== 10) throw new HeadError(HeadErrorKind.Malformed, "invalid chunk size line");
          i++;
          this.sizeDigits = 0;
          this.state = this.remaining === 0 ? S.TrailerStart : S.Data;
          break;
        }
        case S.Data: {
          const n = Math.min(this.remaining, end - i);
          if (this.sink) this.sink(buf, i, i + n);
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) this.state = S.DataCr;
          break;
        }
        case S.DataCr:
          if (buf[i] !== 13) throw new HeadError(HeadErrorKind.Malformed, "missing CRLF after chunk data");
          i++;
          this.state = S.DataLf;
          break;
        case S.DataLf:
          if (buf[i] !== 10) throw new HeadError(HeadErrorKind.Malformed, "missing CRLF after chunk data");
          i++;
          this.state = S.Size;
          break;
        case S.TrailerStart: {
          const c = buf[i]!;
          i++;
          if (c === 13) this.state = S.FinalLf;
          else if (c === 10) throw new HeadError(HeadErrorKind.Malformed, "invalid trailer");
          else this.state = S.Trailer;
          break;
        }
        case S.Trailer: {
          const c = buf[i]!;
          i++;
          if (c === 13) this.state = S.TrailerLf;
          else if (c === 10 || ++this.meta > MAX_CHUNK_META) throw new HeadError(HeadErrorKind.Malformed, "invalid trailer");
          break;
        }
        case S.TrailerLf:
          if (buf[i] !== 10) throw new HeadError(HeadErrorKind.Malformed, "invalid trailer");
          i++;
          this.state = S.TrailerStart;
          break;
        case S.FinalLf:
          if (buf[i] !== 10) throw new HeadError(HeadErrorKind.Malformed, "invalid last chunk");
          i++;
          this.state = S.Done;
          return i;
        case S.Done:
          return i;
      }
    }
    return this.state === S.Done ? i : -1;
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
