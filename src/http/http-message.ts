// Codec-neutral HTTP messages: what codecs decode into and encode from, and the only form that
// HTTP filters, the router and upstream requests see. No wire format here: framing headers
// (Transfer-Encoding, Connection and the other hop-by-hop headers) are the codecs' business;
// a body's end is `endStream`, not a length.

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
}

/** Why a stream ended early, in Envoy's reset reason words. */
export type StreamResetReason = "connection_termination" | "connection_failure" | "local_reset" | "protocol_error" | "overflow" | "remote_reset";
