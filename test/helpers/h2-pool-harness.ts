// The harness of the HTTP/2 pool's unit tests (test/unit/upstream/http2-pool*.test.ts): a pool
// with its own stats store, a recorder of what the pool decodes, and the calls that open streams.
// Each test file registers `closeAll` with afterEach (vitest gives each file its own module state).

import { HeaderList } from "../../src/http/header-list.js";
import type { RequestHeaders, ResponseHeaders, StreamResetReason } from "../../src/http/http-message.js";
import { ClusterStats } from "../../src/observability/stats/cluster-stats.js";
import { StatsStore } from "../../src/observability/stats/stats-store.js";
import type { RequestEncoder, ResponseDecoder } from "../../src/upstream/conn-pool.js";
import { Http2Pool } from "../../src/upstream/http2-pool.js";

/** Cleanups run (last first) by closeAll after each test. */
export const closers: Array<() => Promise<void> | void> = [];
export async function closeAll(): Promise<void> {
  for (const c of closers.splice(0).reverse()) await c();
}

/** Collects what the pool decodes; `done` settles at the end of the response or a reset. */
export class Recorder implements ResponseDecoder {
  headers: ResponseHeaders | undefined;
  headersEnd = false;
  data: Buffer[] = [];
  trailers: HeaderList | undefined;
  reset: StreamResetReason | undefined;
  writable = 0;
  ended = false;
  private settle!: () => void;
  readonly done = new Promise<void>((r) => (this.settle = r));
  onUpstreamHeaders(h: ResponseHeaders, end: boolean): void {
    this.headers = h;
    this.headersEnd = end;
    if (end) this.finish();
  }
  onUpstreamData(d: Buffer, end: boolean): void {
    if (d.length > 0) this.data.push(d);
    if (end) this.finish();
  }
  onUpstreamTrailers(t: HeaderList): void {
    this.trailers = t;
    this.finish();
  }
  onUpstreamReset(r: StreamResetReason): void {
    this.reset = r;
    this.settle();
  }
  onUpstreamWritable(): void {
    this.writable++;
  }
  private finish(): void {
    this.ended = true;
    this.settle();
  }
  get body(): Buffer {
    return Buffer.concat(this.data);
  }
}

let store = new StatsStore();
/** A pool to 127.0.0.1:`port` with fresh stats (read with `stat`), closed after the test. */
export function pool(port: number, extra: Partial<ConstructorParameters<typeof Http2Pool>[2]> = {}): Http2Pool {
  const p = new Http2Pool("127.0.0.1", port, { connectTimeoutMs: 2_000, idleTimeoutMs: 60_000, ...extra });
  store = new StatsStore();
  p.stats = new ClusterStats(store, "c");
  closers.push(() => p.close());
  return p;
}
/** A counter or gauge of the last pool's cluster `c`. */
export function stat(name: string): number {
  const snap = store.snapshot();
  return snap.counters[`cluster.c.${name}`] ?? snap.gauges[`cluster.c.${name}`] ?? 0;
}

/** Opens a stream and returns its encoder. */
export function open(p: Http2Pool, rec: ResponseDecoder): Promise<RequestEncoder> {
  return new Promise((resolve, reject) => {
    p.newStream(rec, { onPoolReady: (enc) => resolve(enc), onPoolFailure: (e) => reject(e) });
  });
}

/** A request head (POST unless `method` says otherwise). */
export function request(path: string, headers: Array<[string, string]> = [], method = "POST"): RequestHeaders {
  return { method, path, authority: "svc", scheme: "http", protocol: "HTTP/2", headers: HeaderList.from(headers), upgrade: false };
}
