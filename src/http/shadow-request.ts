// ShadowRequest: a fire-and-forget copy of a request sent to a mirror cluster (Envoy's
// request_mirror_policies). Its slowness or failure never touches the primary exchange: body bytes
// are teed while the shadow keeps up, and the shadow is dropped — never buffered without bound,
// never allowed to push back on the client — when it cannot.

import type { ProxyError } from "../common/errors.js";
import type { RouterCluster } from "../upstream/cluster-api.js";
import type { UpstreamConnection, UpstreamHandler } from "../upstream/upstream-connection.js";
import type { UpstreamHost } from "../upstream/upstream-host.js";
import { BodyReader } from "./codec/body-reader.js";
import { validateResponseHead } from "./codec/framing.js";
import { findHeadEnd, parseResponseHead } from "./codec/head-parser.js";

/** 64 KiB: body bytes a shadow may queue while connecting or while its socket is congested. */
const MAX_SHADOW_BUFFER = 64 * 1024;

const discard = (): void => {};

/** `host:port` → `host-shadow:port` (Envoy appends the suffix to the host name, before any port). */
export function shadowAuthority(authority: string): string {
  const bracket = authority.lastIndexOf("]");
  const colon = authority.lastIndexOf(":");
  if (colon > bracket && colon !== -1) return `${authority.slice(0, colon)}-shadow${authority.slice(colon)}`;
  return `${authority}-shadow`;
}

export class ShadowRequest implements UpstreamHandler {
  private host: UpstreamHost | undefined;
  private up: UpstreamConnection | null = null;
  private queued: Buffer[] | null = [];
  private queuedBytes = 0;
  private dropped = false;
  private done = false;
  private upBuf: Buffer | null = null;
  private reader: BodyReader | null = null;
  private requestComplete: boolean;
  private readonly now: () => number;

  constructor(
    private readonly cluster: RouterCluster,
    private readonly head: string,
    /** The request method: a HEAD response has no body. */
    private readonly method: string,
    requestComplete: boolean,
    now: () => number,
  ) {
    this.requestComplete = requestComplete;
    this.now = now;
  }

  start(): void {
    const host = this.cluster.chooseHost({});
    if (host === undefined) {
      this.dropped = true;
      return;
    }
    this.host = host;
    host.active++;
    host.pool.acquire(this.onAcquired);
  }

  private readonly onAcquired = (err: ProxyError | null, up: UpstreamConnection | null): void => {
    if (err !== null || up === null) {
      this.end();
      return;
    }
    if (this.dropped) {
      this.host!.pool.release(up, true, this.now());
      this.end();
      return;
    }
    this.up = up;
    up.handler = this;
    const s = up.socket;
    s.cork();
    s.write(this.head, "latin1");
    for (const b of this.queued ?? []) s.write(b);
    s.uncork();
    this.queued = null;
    this.queuedBytes = 0;
  };

  /** A request body chunk of the primary. */
  write(chunk: Buffer, last: boolean): void {
    if (this.dropped || this.done) return;
    if (last) this.requestComplete = true;
    const up = this.up;
    if (up === null) {
      (this.queued ??= []).push(chunk);
      this.queuedBytes += chunk.length;
      if (this.queuedBytes > MAX_SHADOW_BUFFER) this.drop();
      return;
    }
    // A congested shadow is dropped rather than slowing the client or growing a buffer.
    if (!up.socket.write(chunk) && up.socket.writableLength > MAX_SHADOW_BUFFER) this.drop();
  }

  /** The primary's request ended early (client went away): a half-sent shadow is abandoned. */
  abandon(): void {
    if (!this.requestComplete) this.drop();
  }

  private drop(): void {
    this.dropped = true;
    if (this.up !== null) {
      this.host!.pool.discard(this.up);
      this.up = null;
    }
    this.end();
  }

  onUpstreamData(chunk: Buffer): void {
    if (this.reader !== null) {
      this.consume(chunk, 0);
      return;
    }
    const buf = this.upBuf === null ? chunk : Buffer.concat([this.upBuf, chunk]);
    let start = 0;
    try {
      for (;;) {
        const end = findHeadEnd(buf, start, 64 * 1024);
        if (end === -1) {
          this.upBuf = start === 0 ? buf : buf.subarray(start);
          return;
        }
        const head = parseResponseHead(buf, start, end, 100);
        start = end;
        // Interim 1xx responses are skipped; the final head sets the body framing. A shadow never
        // upgrades: a 101 (or any doubtful framing) drops it and its connection.
        if (head.status >= 100 && head.status < 200 && head.status !== 101) continue;
        // The body is only framed, never kept: a no-op sink stops chunked payload being collected.
        this.reader = new BodyReader(validateResponseHead(head, { method: this.method, upgradeRequested: false }), discard);
        break;
      }
    } catch {
      this.drop();
      return;
    }
    this.upBuf = null;
    this.consume(buf, start);
  }

  private consume(buf: Buffer, start: number): void {
    const r = this.reader!;
    if (r.done) {
      this.finishResponse(start < buf.length);
      return;
    }
    let end: number;
    try {
      end = r.consume(buf, start, buf.length);
    } catch {
      this.drop();
      return;
    }
    if (end !== -1) this.finishResponse(end < buf.length);
  }

  private finishResponse(trailing: boolean): void {
    const up = this.up;
    this.up = null;
    if (up !== null) this.host!.pool.release(up, !trailing && this.requestComplete && this.reader?.framing.kind !== "close", this.now());
    this.end();
  }

  onUpstreamClose(): void {
    const up = this.up;
    this.up = null;
    if (up !== null) this.host!.pool.discard(up);
    this.end();
  }

  onUpstreamDrain(): void {}

  private end(): void {
    if (this.done) return;
    this.done = true;
    if (this.host !== undefined) this.host.active--;
  }
}
