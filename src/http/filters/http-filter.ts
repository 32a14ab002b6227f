// The HTTP filter contract (Envoy's StreamDecoderFilter / StreamEncoderFilter). A filter chain is
// built per snapshot from the connection manager's `httpFilters` (one factory each); each request
// gets its own filter instances. Decoding runs the filters in order, encoding in reverse; a filter
// may continue, stop (and later resume the stream), or answer with a local reply. The router is
// the terminal decoder filter. Filters never see the wire format.

import type { ErrorCodeValue } from "../../common/errors.js";
import type { HttpFilterConfig } from "../../config/model/types.js";
import type { StreamInfoBuilder } from "../../observability/stream-info.js";
import type { StatsStore } from "../../observability/stats/stats-store.js";
import type { ConnectionInfo } from "../../listener/connection-info.js";
import type { HeaderList } from "../header-list.js";
import type { RequestHeaders, ResponseHeaders } from "../http-message.js";
import type { WorkerServices } from "../listener-context.js";
import type { ResolvedRoute } from "../route-resolution.js";

export const enum FilterStatus {
  /** Pass to the next filter. */
  Continue = 0,
  /**
   * Stop here. On headers: later filters see nothing until `continueDecoding()` /
   * `continueEncoding()`; data arriving meanwhile is buffered by the connection manager. On
   * data: this chunk goes no further (the filter keeps or drops it).
   */
  StopIteration = 1,
}

export interface StreamDecoderFilter {
  decodeHeaders?(headers: RequestHeaders, endStream: boolean): FilterStatus;
  decodeData?(data: Buffer, endStream: boolean): FilterStatus;
  decodeTrailers?(trailers: HeaderList): FilterStatus;
}

export interface StreamEncoderFilter {
  encodeHeaders?(headers: ResponseHeaders, endStream: boolean): FilterStatus;
  encodeData?(data: Buffer, endStream: boolean): FilterStatus;
  encodeTrailers?(trailers: HeaderList): FilterStatus;
}

export interface HttpFilter extends StreamDecoderFilter, StreamEncoderFilter {
  /** The downstream went away or the stream was reset: release timers and upstream work. */
  onStreamReset?(): void;
  /** The stream is over (after the last byte or a reset); StreamInfo is final. */
  onComplete?(): void;
  /** Downstream write buffer over / under its high-water mark (response flow control). */
  onAboveWriteBufferHighWatermark?(): void;
  onBelowWriteBufferLowWatermark?(): void;
}

/** What a filter may ask of its stream (Envoy's decoder/encoder filter callbacks). */
export interface FilterCallbacks {
  readonly services: WorkerServices;
  /** The route resolved for this request (undefined: no route matched). */
  readonly route: ResolvedRoute | undefined;
  readonly requestHeaders: RequestHeaders;
  readonly streamInfo: StreamInfoBuilder;
  /** The downstream connection's peer and local address. */
  readonly downstreamRemoteIp: string;
  readonly downstreamRemotePort: number;
  /** The connection's local address: its original destination once a listener filter restored it. */
  readonly downstreamLocalIp: string;
  readonly downstreamLocalPort: number;
  /** Listener direction: x-forwarded-for handling and server header differ. */
  readonly inbound: boolean;
  /** The downstream connection: addresses, SNI, and its TLS facts (`tls`: peer principal) once terminated. */
  readonly connection: ConnectionInfo;
  /** Resumes decoding after a filter returned StopIteration from decodeHeaders. */
  continueDecoding(): void;
  /** Resumes encoding after a filter returned StopIteration from encodeHeaders. */
  continueEncoding(): void;
  /**
   * Answers locally: Envoy's status, body and response flag for `code` (the one catalog in
   * local-reply.ts). After the response started, resets the stream instead.
   */
  sendLocalReply(code: ErrorCodeValue, detail?: string, retried?: boolean): void;
  /** Whether a local reply can still replace the response (nothing of it reached the client yet). */
  canReplaceResponse(): boolean;
  /**
   * Answers with a response the filter built (redirects, direct responses, denials). A gRPC
   * request gets it as a trailers-only gRPC response (local-reply rules), with `grpcStatus` as
   * its grpc-status when given (fault grpc aborts) instead of the one mapped from `status`.
   */
  sendResponse(status: number, body: string, details: string, headers?: Array<[string, string]>, grpcStatus?: number): void;
  /** Response path, from the router (or a filter that answers itself), through encoder filters. */
  encodeHeaders(headers: ResponseHeaders, endStream: boolean): void;
  /** Returns false when the downstream is over its write buffer limit (watermark callbacks follow). */
  encodeData(data: Buffer, endStream: boolean): void;
  encodeTrailers(trailers: HeaderList): void;
  /** Sends `100 Continue` downstream (HTTP/1.1 `Expect: 100-continue`). */
  encode100Continue(): void;
  /** Stop / resume reading the request (request flow control toward a slow upstream). */
  readDisable(disable: boolean): void;
  /** Resets the stream both ways (a failure after the response started). */
  resetStream(): void;
  /** The request body arrives in full before the response may start (keeps the connection in sync). */
  readonly requestComplete: boolean;
}

export interface HttpFilterFactory {
  readonly name: HttpFilterConfig["name"];
  /** A filter for one request, or undefined when it has nothing to do for this route. */
  create(callbacks: FilterCallbacks): HttpFilter | undefined;
  /**
   * A factory bound to one connection manager's entry (its typedConfig compiled once per
   * snapshot); absent = the filter takes no per-entry config.
   */
  configure?(config: HttpFilterConfig, scope: HttpFilterScope): HttpFilterFactory;
}

/** What a filter's per-snapshot config may use: the connection manager's stat prefix and the store. */
export interface HttpFilterScope {
  statPrefix: string;
  stats: StatsStore;
}
