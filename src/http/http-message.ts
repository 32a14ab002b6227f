// Codec-neutral HTTP messages: what codecs decode into and encode from, and the only form that
// HTTP filters, the router and upstream requests see. No wire format here: framing headers
// (Transfer-Encoding, Connection and the other hop-by-hop headers) are the codecs' business;
// a body's end is `endStream`, not a length.
//
// HTTP/2 in this model (http2-server-connection.ts downstream, http2-pool.ts upstream):
// - `:method`, `:path`, `:scheme`, `:authority` are the fields below, never entries of `headers`;
//   no pseudo-header is ever in a HeaderList.
// - Host: the server codec puts `:authority` into `headers` as a `host` entry (first), so route
//   matching, rewrites (`Host` set by hostRewrite) and HTTP/1 upstreams see one place. The client
//   codec sends `headers`' `host` (or `authority` when absent) as `:authority` and no `host` header.
// - Connection-specific headers (connection, keep-alive, proxy-connection, transfer-encoding,
//   upgrade, `te` other than `trailers`) never reach an HTTP/2 peer; `te: trailers` passes (gRPC).
// - Several `cookie` headers of an HTTP/2 request are joined with "; " (RFC 9113 §8.2.3).
// - Trailers are HeaderLists delivered by encodeTrailers / onUpstreamTrailers; a trailers-only
//   response (gRPC) is response headers with endStream.

import type { HeaderList } from "./header-list.js";

export type HttpProtocol = "HTTP/1.0" | "HTTP/1.1" | "HTTP/2";

export interface RequestHeaders {
  method: string;
  /** Origin-form path with query, normalised (`:path`); the router may rewrite it for upstream. */
  path: string;
  /** `:authority` as the client sent it (Host, or the authority of an absolute-form target). */
  readonly authority: string;
  scheme: "http" | "https";
  readonly protocol: HttpProtocol;
  /** Regular headers. On HTTP/1 the Host header stays here, where rewrites change it. */
  headers: HeaderList;
  /** The client asked for a protocol upgrade (WebSocket): data flows both ways after a 101. */
  readonly upgrade: boolean;
}

export interface ResponseHeaders {
  status: number;
  headers: HeaderList;
  /**
   * The response came over a codec that carries trailers (an HTTP/2 upstream): an HTTP/2
   * downstream then waits for them, as Envoy forwards trailers on HTTP/2 whatever the request's
   * `te`. Absent: no trailers can follow (HTTP/1 upstreams, local replies).
   */
  mayHaveTrailers?: boolean;
}

/**
 * Why a stream ended early, in Envoy's reset reason words. `remote_refused_stream_reset`: an
 * HTTP/2 upstream refused the stream (REFUSED_STREAM, or above a GOAWAY's last stream id): it
 * never reached the app, and retry_on `refused-stream` retries it.
 */
export type StreamResetReason = "connection_termination" | "connection_failure" | "local_reset" | "protocol_error" | "overflow" | "remote_reset" | "remote_refused_stream_reset";
