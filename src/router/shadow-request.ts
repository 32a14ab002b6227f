// ShadowRequest: a fire-and-forget copy of a request sent to a mirror cluster (Envoy's
// request_mirror_policies), as an upstream stream of the same kind as the primary's. Its slowness
// or failure never touches the primary exchange: body bytes are teed while the shadow keeps up,
// and the shadow is dropped — never buffered without bound, never allowed to push back on the
// client — when it cannot. It holds a request slot of the mirror cluster's circuit breaker and
// ends at the route timeout (or, when the route has none, after Envoy's 5 min stream idle
// timeout), so a mirror that never answers cannot pile up sockets.

import type { ProxyError } from "../common/errors.js";
import type { TimerHandle } from "../common/timers.js";
import type { RequestMirrorPolicy } from "../config/model/types.js";
import { rollPercent } from "../http/filters/fault/fault-decision.js";
import type { HeaderList } from "../http/header-list.js";
import type { RequestHeaders, ResponseHeaders } from "../http/http-message.js";
import type { WorkerServices } from "../http/listener-context.js";
import type { RouterCluster } from "../upstream/cluster-api.js";
import type { Cancellable, PoolCallbacks, RequestEncoder, ResponseDecoder } from "../upstream/conn-pool.js";
import type { UpstreamHost } from "../upstream/upstream-host.js";

/** 64 KiB: body bytes a shadow may queue while connecting or while its connection is congested. */
const MAX_SHADOW_BUFFER = 64 * 1024;
/** 300 000 ms: Envoy's default stream_idle_timeout, the bound for shadows of routes without a timeout. */
export const SHADOW_DEFAULT_TIMEOUT_MS = 300_000;

/** `host:port` → `host-shadow:port` (Envoy appends the suffix to the host name, before any port). */
export function shadowAuthority(authority: string): string {
  const bracket = authority.lastIndexOf("]");
  const colon = authority.lastIndexOf(":");
  if (colon > bracket && colon !== -1) return `${authority.slice(0, colon)}-shadow${authority.slice(colon)}`;
  return `${authority}-shadow`;
}

export class ShadowRequest implements ResponseDecoder, PoolCallbacks {
  private encoder: RequestEncoder | null = null;
  private cancel: Cancellable | undefined;
  private queued: Buffer[] | null = [];
  private queuedBytes = 0;
  private done = false;
  private requestComplete: boolean;
  private timer: TimerHandle | undefined;

  /**
   * Starts a shadow of `primary` for one mirror policy, or returns undefined when the mirror's
   * percentage roll misses, its circuit breaker is full or it has no healthy host.
   */
  static start(primary: RequestHeaders, m: RequestMirrorPolicy, cluster: RouterCluster, requestComplete: boolean, routeTimeoutMs: number, services: WorkerServices): ShadowRequest | undefined {
    if (m.percentage !== undefined && !rollPercent(m.percentage, services.random)) return undefined;
    if (!cluster.resources.tryAcquireRequest()) return undefined;
    const host = cluster.chooseHost({});
    if (host === undefined) {
      cluster.resources.releaseRequest();
      return undefined;
    }
    const headers = primary.headers.clone();
    if (!m.disableShadowHostSuffixAppend) headers.set("Host", shadowAuthority(headers.get("host") ?? primary.authority));
    const req: RequestHeaders = { ...primary, headers, upgrade: false };
    const s = new ShadowRequest(cluster, host, req, requestComplete, services);
    s.begin(routeTimeoutMs > 0 ? routeTimeoutMs : SHADOW_DEFAULT_TIMEOUT_MS);
    return s;
  }

  private constructor(
    private readonly cluster: RouterCluster,
    private readonly host: UpstreamHost,
    private readonly headers: RequestHeaders,
    requestComplete: boolean,
    private readonly services: WorkerServices,
  ) {
    this.requestComplete = requestComplete;
  }

  private begin(timeoutMs: number): void {
    this.host.active++;
    this.timer = this.services.clock.set(() => {
      this.timer = undefined;
      this.drop();
    }, timeoutMs);
    this.cancel = this.host.httpPool(this.headers).newStream(this, this);
  }

  onPoolReady(encoder: RequestEncoder): void {
    this.cancel = undefined;
    if (this.done) {
      encoder.resetStream();
      return;
    }
    this.encoder = encoder;
    const q = this.queued ?? [];
    this.queued = null;
    this.queuedBytes = 0;
    encoder.encodeHeaders(this.headers, this.requestComplete && q.length === 0);
    for (let i = 0; i < q.length; i++) encoder.encodeData(q[i]!, this.requestComplete && i === q.length - 1);
  }

  onPoolFailure(_err: ProxyError): void {
    this.cancel = undefined;
    this.end();
  }

  /** A request body chunk of the primary. */
  write(chunk: Buffer, last: boolean): void {
    if (this.done) return;
    if (last) this.requestComplete = true;
    const enc = this.encoder;
    if (enc === null) {
      (this.queued ??= []).push(chunk);
      this.queuedBytes += chunk.length;
      if (this.queuedBytes > MAX_SHADOW_BUFFER) this.drop();
      return;
    }
    // A congested shadow is dropped rather than slowing the client or growing a buffer.
    if (!enc.encodeData(chunk, last)) this.congested += chunk.length;
    if (this.congested > MAX_SHADOW_BUFFER) this.drop();
  }

  /** Bytes written since the shadow's connection last reported itself writable. */
  private congested = 0;

  onUpstreamWritable(): void {
    this.congested = 0;
  }

  /** The primary's request ended early (client went away): a half-sent shadow is abandoned. */
  abandon(): void {
    if (!this.requestComplete) this.drop();
  }

  private drop(): void {
    if (this.done) return;
    if (this.cancel !== undefined) {
      this.cancel();
      this.cancel = undefined;
    }
    this.encoder?.resetStream();
    this.end();
  }

  onUpstreamHeaders(_h: ResponseHeaders, endStream: boolean): void {
    if (endStream) this.end();
  }

  onUpstreamData(_d: Buffer, endStream: boolean): void {
    if (endStream) this.end();
  }

  onUpstreamTrailers(_t: HeaderList): void {
    this.end();
  }

  onUpstreamReset(): void {
    this.end();
  }

  private end(): void {
    if (this.done) return;
    this.done = true;
    this.encoder = null;
    this.queued = null;
    if (this.timer !== undefined) {
      this.services.clock.clear(this.timer);
      this.timer = undefined;
    }
    this.host.active--;
    this.cluster.resources.releaseRequest();
  }
}
