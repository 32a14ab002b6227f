// JwksResolver: the supervisor-side fetcher behind RequestAuthentication `jwksUri` (istiod's
// JwtKeyResolver): translation asks it for a URI's keys (JwksLookup) and gets the cached document
// at once; a URI seen for the first time is fetched in the background and, once its keys are in,
// `onChange` asks for a re-translation so the provider takes effect. Each URI is refreshed every
// 20 min (istiod's PILOT_JWT_PUB_KEY_REFRESH_INTERVAL); a failing fetch is retried with doubling
// back-off and keeps the last good keys. Fetches are bounded in time (the rule's timeout) and size
// (1 MiB) and run on the supervisor, never on a worker's data path.

import type { Logger } from "../../common/logger.js";
import type { JwksAnswer, JwksLookup } from "../../config/istio/jwks-lookup.js";
import { parseJwks } from "../../http/filters/jwt-authn/jwks.js";

export interface JwksResolverOptions {
  /** Called when a URI's keys changed (first fetch, rotation): re-translate and push. */
  onChange: () => void;
  log: Logger;
  /** Refresh interval; default 20 min. */
  refreshMs?: number;
  /** First retry after a failure; doubles up to maxRetryMs. Default 1 s / 5 min. */
  retryBaseMs?: number;
  maxRetryMs?: number;
  /** Largest JWKS accepted; default 1 MiB. */
  maxBytes?: number;
  /** URIs kept at most (oldest-used dropped); default 256. */
  maxEntries?: number;
}

interface Entry {
  uri: string;
  timeoutMs: number;
  jwks: string | undefined;
  /** Why there are no (fresh) keys: the last failure. */
  error: string | undefined;
  failures: number;
  timer: NodeJS.Timeout | undefined;
  abort: AbortController | undefined;
  lastUsed: number;
}

export class JwksResolver implements JwksLookup {
  private readonly entries = new Map<string, Entry>();
  private readonly refreshMs: number;
  private readonly retryBaseMs: number;
  private readonly maxRetryMs: number;
  private readonly maxBytes: number;
  private readonly maxEntries: number;
  private closed = false;
  private uses = 0;

  constructor(private readonly opts: JwksResolverOptions) {
    this.refreshMs = opts.refreshMs ?? 20 * 60_000;
    this.retryBaseMs = opts.retryBaseMs ?? 1000;
    this.maxRetryMs = opts.maxRetryMs ?? 5 * 60_000;
    this.maxBytes = opts.maxBytes ?? 1 << 20;
    this.maxEntries = opts.maxEntries ?? 256;
  }

  lookup(uri: string, timeoutMs: number): JwksAnswer {
    let e = this.entries.get(uri);
    if (e === undefined) {
      if (this.closed) return { pending: "resolver closed" };
      e = { uri, timeoutMs, jwks: undefined, error: undefined, failures: 0, timer: undefined, abort: undefined, lastUsed: 0 };
      this.entries.set(uri, e);
      this.evict();
      void this.fetch(e);
    }
    e.timeoutMs = timeoutMs;
    e.lastUsed = ++this.uses;
    if (e.jwks !== undefined) return { jwks: e.jwks };
    return { pending: e.error !== undefined ? `fetch failed: ${e.error}` : "first fetch in progress" };
  }

  /**
   * Forgets the URIs no lookup asked for since `since` (a `mark()`): called after a translation so a
   * removed RequestAuthentication's JWKS stops being refreshed.
   */
  retainSince(since: number): void {
    for (const e of [...this.entries.values()]) {
      if (e.lastUsed > since) continue;
      this.drop(e);
      this.entries.delete(e.uri);
    }
  }

  /** A point in lookup order for retainSince. */
  mark(): number {
    return this.uses;
  }

  /** Stops every timer and in-flight fetch. */
  close(): void {
    this.closed = true;
    for (const e of this.entries.values()) this.drop(e);
    this.entries.clear();
  }

  private evict(): void {
    while (this.entries.size > this.maxEntries) {
      let oldest: Entry | undefined;
      for (const e of this.entries.values()) if (oldest === undefined || e.lastUsed < oldest.lastUsed) oldest = e;
      this.drop(oldest!);
      this.entries.delete(oldest!.uri);
    }
  }

  private drop(e: Entry): void {
    if (e.timer !== undefined) clearTimeout(e.timer);
    e.timer = undefined;
    e.abort?.abort();
    e.abort = undefined;
  }

  private schedule(e: Entry, ms: number): void {
    if (this.closed || this.entries.get(e.uri) !== e) return;
    e.timer = setTimeout(() => {
      e.timer = undefined;
      void this.fetch(e);
    }, ms);
    e.timer.unref();
  }

  private async fetch(e: Entry): Promise<void> {
    const abort = new AbortController();
    e.abort = abort;
    const timer = setTimeout(() => abort.abort(new Error(`timed out after ${e.timeoutMs} ms`)), e.timeoutMs);
    let text: string;
    try {
      text = await this.download(e.uri, abort.signal);
      parseJwks(text);
    } catch (err) {
      clearTimeout(timer);
      if (e.abort === abort) e.abort = undefined;
      if (this.closed || this.entries.get(e.uri) !== e) return;
      const reason = abort.signal.aborted && abort.signal.reason instanceof Error ? abort.signal.reason.message : (err as Error).message;
      e.error = reason;
      e.failures++;
      this.opts.log.warn(`JWKS ${e.uri}: ${reason}${e.jwks !== undefined ? " (keeping the last keys fetched)" : ""}`);
      this.schedule(e, Math.min(this.maxRetryMs, this.retryBaseMs * 2 ** (e.failures - 1)));
      return;
    }
    clearTimeout(timer);
    if (e.abort === abort) e.abort = undefined;
    if (this.closed || this.entries.get(e.uri) !== e) return;
    const changed = e.jwks !== text;
    e.jwks = text;
    e.error = undefined;
    e.failures = 0;
    this.schedule(e, this.refreshMs);
    if (changed) {
      this.opts.log.info(`JWKS ${e.uri}: keys fetched`);
      this.opts.onChange();
    }
  }

  /** GET with the system CAs (Node's fetch), status 200 only, body bounded by maxBytes. */
  private async download(uri: string, signal: AbortSignal): Promise<string> {
    const res = await fetch(uri, { signal, redirect: "follow", headers: { accept: "application/json" } });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`HTTP status ${res.status}`);
    }
    const declared = Number(res.headers.get("content-length") ?? "0");
    if (declared > this.maxBytes) {
      await res.body?.cancel();
      throw new Error(`body of ${declared} bytes is over the ${this.maxBytes}-byte limit`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    if (res.body !== null) {
      for await (const chunk of res.body) {
        size += (chunk as Uint8Array).byteLength;
        if (size > this.maxBytes) throw new Error(`body is over the ${this.maxBytes}-byte limit`);
        chunks.push(Buffer.from(chunk as Uint8Array));
      }
    }
    return Buffer.concat(chunks).toString("utf8");
  }
}
