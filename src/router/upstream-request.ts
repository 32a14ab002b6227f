// UpstreamRequest: one attempt of the router — a stream asked of the chosen host's connection
// pool, then the codec-neutral request encoder and response callbacks. The router owns retries
// and timeouts; an attempt only relays, so a stale attempt (reset by the router) can never reach
// the downstream.

import type { ProxyError } from "../common/errors.js";
import type { HeaderList } from "../http/header-list.js";
import type { RequestHeaders, ResponseHeaders, StreamResetReason } from "../http/http-message.js";
import type { Cancellable, PoolCallbacks, RequestEncoder, ResponseDecoder } from "../upstream/conn-pool.js";
import type { UpstreamHost } from "../upstream/upstream-host.js";

export interface UpstreamRequestParent {
  onPoolReady(u: UpstreamRequest): void;
  onPoolFailure(u: UpstreamRequest, err: ProxyError): void;
  onUpstreamHeaders(u: UpstreamRequest, headers: ResponseHeaders, endStream: boolean): void;
  onUpstreamData(u: UpstreamRequest, data: Buffer, endStream: boolean): void;
  onUpstreamTrailers(u: UpstreamRequest, trailers: HeaderList): void;
  onUpstreamReset(u: UpstreamRequest, reason: StreamResetReason, detail: string | undefined): void;
  onUpstreamWritable(u: UpstreamRequest): void;
}

export class UpstreamRequest implements ResponseDecoder, PoolCallbacks {
  readonly host: UpstreamHost;
  encoder: RequestEncoder | null = null;
  private cancel: Cancellable | undefined;
  private active = true;

  constructor(
    private readonly parent: UpstreamRequestParent,
    host: UpstreamHost,
  ) {
    this.host = host;
  }

  /** Asks the host's pool for the request's protocol (`req`: the headers this attempt will send). */
  start(req: RequestHeaders): void {
    this.cancel = this.host.httpPool(req).newStream(this, this);
  }

  /** Ends this attempt: withdraws a waiting request, or resets the stream (never reused). */
  reset(): void {
    if (!this.active) return;
    this.active = false;
    if (this.cancel !== undefined) {
      this.cancel();
      this.cancel = undefined;
    }
    this.encoder?.resetStream();
  }

  /** The attempt completed normally; the codec already returned its connection. */
  done(): void {
    this.active = false;
  }

  onPoolReady(encoder: RequestEncoder): void {
    this.cancel = undefined;
    if (!this.active) {
      encoder.resetStream();
      return;
    }
    this.encoder = encoder;
    this.parent.onPoolReady(this);
  }

  onPoolFailure(err: ProxyError): void {
    this.cancel = undefined;
    if (this.active) this.parent.onPoolFailure(this, err);
  }

  onUpstreamHeaders(headers: ResponseHeaders, endStream: boolean): void {
    if (!this.active) return;
    this.parent.onUpstreamHeaders(this, headers, endStream);
  }

  onUpstreamData(data: Buffer, endStream: boolean): void {
    if (this.active) this.parent.onUpstreamData(this, data, endStream);
  }

  onUpstreamTrailers(trailers: HeaderList): void {
    if (this.active) this.parent.onUpstreamTrailers(this, trailers);
  }

  onUpstreamReset(reason: StreamResetReason, detail: string | undefined): void {
    if (!this.active) return;
    this.active = false;
    this.parent.onUpstreamReset(this, reason, detail);
  }

  onUpstreamWritable(): void {
    if (this.active) this.parent.onUpstreamWritable(this);
  }
}
