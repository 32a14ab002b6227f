// The connection-pool contract between the router's upstream requests and a host's connections
// (Envoy's ConnectionPool::Instance). A pool is per host × protocol × transport socket; it hands
// out a codec-neutral request encoder once a connection can carry the request, and decodes the
// response into the request's callbacks. HTTP/1 (http1-pool.ts: one request per connection at a
// time) and HTTP/2 (http2-pool.ts: many streams multiplexed per connection) implement it.

import type { UpstreamTlsInfo } from "../tls/upstream-tls-info.js";
import type { ProxyError } from "../common/errors.js";
import type { HeaderList } from "../http/header-list.js";
import type { RequestHeaders, ResponseHeaders, StreamResetReason } from "../http/http-message.js";

/** The response side of one upstream stream (Envoy's ResponseDecoder + stream callbacks). */
export interface ResponseDecoder {
  /** Final response headers (1xx are handled by the codec); `endStream` when there is no body. */
  onUpstreamHeaders(headers: ResponseHeaders, endStream: boolean): void;
  onUpstreamData(data: Buffer, endStream: boolean): void;
  onUpstreamTrailers(trailers: HeaderList): void;
  /**
   * The stream died. `responseStarted`: whether headers were already delivered. `detail` is a
   * transport failure reason when there is one (`delayed connect error: 111`).
   */
  onUpstreamReset(reason: StreamResetReason, detail: string | undefined): void;
  /** The request body may flow again after encodeData returned false. */
  onUpstreamWritable(): void;
}

/** The request side of one upstream stream (Envoy's RequestEncoder). */
export interface RequestEncoder {
  encodeHeaders(headers: RequestHeaders, endStream: boolean): void;
  /** false: over the connection's write buffer limit; `onUpstreamWritable` follows. */
  encodeData(data: Buffer, endStream: boolean): boolean;
  encodeTrailers(trailers: HeaderList): void;
  /** Stop / resume reading the response (downstream flow control). */
  readDisable(disable: boolean): void;
  /** Abandons the stream; its connection is never reused. */
  resetStream(): void;
  /** Local `ip:port` of the upstream connection. */
  readonly localAddress: string;
  /** TLS facts of the upstream connection; undefined for plaintext. */
  readonly upstreamTls?: UpstreamTlsInfo | undefined;
}

export interface PoolReadyInfo {
  /** The connection carried earlier requests. */
  reused: boolean;
}

export interface PoolCallbacks {
  onPoolReady(encoder: RequestEncoder, info: PoolReadyInfo): void;
  /** Connect failure or timeout (UF), or overflow of the cluster's pending queue (UO). */
  onPoolFailure(err: ProxyError): void;
}

/** Withdraws a request still waiting for a connection (no-op once it has one). */
export type Cancellable = () => void;

export type PoolProtocol = "http1" | "http2";

export interface HttpConnPool {
  readonly protocol: PoolProtocol;
  newStream(decoder: ResponseDecoder, callbacks: PoolCallbacks): Cancellable;
  /** Closes idle connections past their idle timeout or maximum duration. */
  sweep(now: number): void;
  close(): void;
}
