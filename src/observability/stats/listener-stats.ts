// A listener's Envoy stats (`listener.<address>_<port>.downstream_cx_total`, …): pilot-agent sums
// `listener.*.downstream_cx_active` to decide when a draining sidecar may exit.

import type { Counter, Gauge, StatsStore } from "./stats-store.js";
import { ListenerSslStats } from "./listener-ssl-stats.js";

/** Envoy's listener stat prefix: the bound address with `:` as `_` (`0.0.0.0_15001`, `[__1]_80`). */
export function listenerStatName(address: string, port: number): string {
  const host = address.includes(":") ? `[${address}]` : address;
  return `${host}_${port}`.replace(/:/g, "_");
}

export class ListenerStats {
  readonly cxTotal: Counter;
  readonly cxActive: Gauge;
  readonly cxDestroy: Counter;
  readonly noFilterChainMatch: Counter;
  /** Listener filters timed out (Envoy's downstream_pre_cx_timeout). */
  readonly preCxTimeout: Counter;

  private sslStats: ListenerSslStats | undefined;
  private readonly prefix: string;

  constructor(
    private readonly store: StatsStore,
    address: string,
    port: number,
  ) {
    const p = `listener.${listenerStatName(address, port)}.`;
    this.prefix = p;
    this.cxTotal = store.counter(p + "downstream_cx_total");
    this.cxActive = store.gauge(p + "downstream_cx_active");
    this.cxDestroy = store.counter(p + "downstream_cx_destroy");
    this.noFilterChainMatch = store.counter(p + "no_filter_chain_match");
    this.preCxTimeout = store.counter(p + "downstream_pre_cx_timeout");
  }

  /** `listener.<address>_<port>.ssl.*`, made on the first TLS connection. */
  get ssl(): ListenerSslStats {
    return (this.sslStats ??= new ListenerSslStats(this.store, this.prefix + "ssl."));
  }

  /** An accepted connection: counted until its socket closes (one listener per connection, no closure). */
  accepted(socket: { once(event: "close", fn: () => void): unknown }): void {
    this.cxTotal.inc();
    this.cxActive.add(1);
    socket.once("close", this.closed);
  }

  private readonly closed = (): void => {
    this.cxActive.add(-1);
    this.cxDestroy.inc();
  };
}
