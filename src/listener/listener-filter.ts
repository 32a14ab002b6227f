// Listener filters: run in order on each accepted connection before its filter chain is chosen;
// each may read ahead (peek), learn facts into ConnectionInfo (original destination, SNI, ALPN,
// HTTP version) or reject the connection. The built-in ones (original_dst, tls_inspector,
// http_inspector) live in ./filters/; the registry is an object so tests can plug in their own.

import type { Socket } from "node:net";
import type { Listener, ListenerFilterConfig, ListenerFilterName } from "../config/model/types.js";
import type { Timers } from "../common/timers.js";
import type { ConnectionInfo } from "./connection-info.js";

export const ORIGINAL_DST: ListenerFilterName = "envoy.filters.listener.original_dst";
export const TLS_INSPECTOR: ListenerFilterName = "envoy.filters.listener.tls_inspector";
export const HTTP_INSPECTOR: ListenerFilterName = "envoy.filters.listener.http_inspector";

/** Withdraws a filter that waits for bytes: stops reading and gives back what it peeked. */
export type AbortInspection = () => void;

export interface ListenerFilter {
  /**
   * Inspects the connection and calls `done(true)` to continue (with `info` updated), or
   * `done(false)` to close it. Bytes it reads must be given back with `socket.unshift`. A filter
   * that waits for bytes returns how to abort it (the listener filter timeout).
   */
  onAccept(socket: Socket, info: ConnectionInfo, done: (proceed: boolean) => void): AbortInspection | void;
}

export interface ListenerFilterFactory {
  readonly name: string;
  /** One filter instance per listener and snapshot (per-connection state lives in closures of onAccept). */
  create(config: ListenerFilterConfig, listener: Listener): ListenerFilter;
}

export class ListenerFilterRegistry {
  private readonly byName = new Map<string, ListenerFilterFactory>();

  register(f: ListenerFilterFactory): void {
    this.byName.set(f.name, f);
  }

  /** Builds a listener's filters; throws with a clear message for one this build cannot run. */
  build(configs: readonly ListenerFilterConfig[], listener: Listener): ListenerFilter[] {
    return configs.map((c) => {
      const f = this.byName.get(c.name);
      if (f === undefined) throw new Error(`listener filter ${c.name} is not supported yet`);
      const filter = f.create(c, listener);
      const ranges = c.disabledForDestinationPorts;
      return ranges === undefined || ranges.length === 0 ? filter : new PortDisabledFilter(filter, ranges);
    });
  }
}

/**
 * The listener filters a listener runs. Envoy's use_original_dst implies the original_dst filter
 * (ListenerImpl::buildOriginalDstListenerFilter puts one first when the listener lists none):
 * istiod's virtualOutbound has `use_original_dst: true` and no listener_filters, and without the
 * restored destination it could hand nothing off.
 */
export function effectiveListenerFilters(listener: Listener): readonly ListenerFilterConfig[] {
  const configs = listener.listenerFilters;
  if (listener.useOriginalDst !== true || configs.some((c) => c.name === ORIGINAL_DST)) return configs;
  return [{ name: ORIGINAL_DST }, ...configs];
}

/**
 * Envoy's filter_disabled as istiod writes it (destination_port_range, alone or in an or_match):
 * the filter is skipped when the connection's destination port — the original one, once
 * original_dst ran — is in a range (start inclusive, end exclusive).
 */
class PortDisabledFilter implements ListenerFilter {
  constructor(
    private readonly inner: ListenerFilter,
    private readonly ranges: ReadonlyArray<{ start: number; end: number }>,
  ) {}

  onAccept(socket: Socket, info: ConnectionInfo, done: (proceed: boolean) => void): AbortInspection | void {
    const port = info.localPort;
    for (const r of this.ranges) if (port >= r.start && port < r.end) return done(true);
    return this.inner.onAccept(socket, info, done);
  }
}

/** The listener's listener filter timeout (Envoy listener_filters_timeout and its continue flag). */
export interface ListenerFiltersTimeout {
  /** 0 = none (Envoy: a zero timeout disables it). */
  ms: number;
  /** On timeout: go on to filter chain matching with what was learnt (true) or close (false). */
  continueOnTimeout: boolean;
  timers: Timers;
  /** Counts Envoy's `downstream_pre_cx_timeout`. */
  onTimeout?: () => void;
  /**
   * With continueOnTimeout: whether chain matching could take the connection with what was learnt
   * so far. When it could not (a STRICT mTLS port whose ClientHello is late on a busy machine: as
   * plaintext it would find no chain and be closed), the filters keep waiting until
   * `closeAfterMs` after the accept, then the connection is closed. istiod writes no timeout at
   * all there (`listener_filters_timeout: 0s`); this keeps the short detection timeout for ports
   * that can go on as plaintext without losing slow TLS clients on ports that cannot.
   */
  keepWaiting?: { unless: (info: ConnectionInfo) => boolean; closeAfterMs: number };
}

/**
 * Runs the filters in order; `done(false)` as soon as one rejects. With a timeout, a filter still
 * waiting for bytes when it fires is aborted (its peeked bytes given back) and the connection
 * either closes or goes on to chain matching, as `continueOnTimeout` says.
 */
export function runListenerFilters(filters: readonly ListenerFilter[], socket: Socket, info: ConnectionInfo, done: (proceed: boolean) => void, timeout?: ListenerFiltersTimeout): void {
  let i = 0;
  let finished = false;
  let abort: AbortInspection | void = undefined;
  let timer: unknown = undefined;
  const finish = (proceed: boolean): void => {
    if (finished) return;
    finished = true;
    if (timer !== undefined) timeout!.timers.clear(timer);
    done(proceed);
  };
  const next = (proceed: boolean): void => {
    if (finished) return;
    abort = undefined;
    if (!proceed) return finish(false);
    const f = filters[i++];
    if (f === undefined) return finish(true);
    let sync = true;
    let calledSync = false;
    const r = f.onAccept(socket, info, (p) => {
      if (sync) calledSync = true;
      next(p);
    });
    sync = false;
    if (!calledSync && !finished) abort = r;
  };
  if (timeout !== undefined && timeout.ms > 0) {
    const expire = (proceed: boolean): void => {
      timer = undefined;
      if (finished) return;
      timeout.onTimeout?.();
      const a = abort;
      abort = undefined;
      // Aborted first, so the bytes peeked so far are back in the socket before the chain reads it.
      if (a) a();
      finish(proceed);
    };
    timer = timeout.timers.set(() => {
      timer = undefined;
      if (finished) return;
      const wait = timeout.keepWaiting;
      if (timeout.continueOnTimeout && wait !== undefined && wait.closeAfterMs > timeout.ms && !wait.unless(info)) {
        timer = timeout.timers.set(() => expire(false), wait.closeAfterMs - timeout.ms);
        return;
      }
      expire(timeout.continueOnTimeout);
    }, timeout.ms);
  }
  next(true);
}
