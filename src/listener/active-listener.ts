// ActiveListener: one listener of a worker (bound, or bindToPort: false and fed by hand-off).
// Each accepted connection runs the listener filters (with the listener filter timeout), may be
// handed to the listener of its original destination (useOriginalDst), gets its filter chain
// (FilterChainMatcher), its transport socket, and goes to the chain's terminal network filter.
// A reload swaps the compiled chains in place: the socket stays bound and live connections keep going.

import type { Server, Socket } from "node:net";
import type { FilterChain, Listener } from "../config/model/types.js";
import type { Logger } from "../common/logger.js";
import type { Timers } from "../common/timers.js";
import { connectionInfoOf, type ConnectionInfo } from "./connection-info.js";
import { FilterChainMatcher } from "./filter-chain-matcher.js";
import { runListenerFilters, type ListenerFilter, type ListenerFiltersTimeout } from "./listener-filter.js";
import type { NetworkFilterFactory } from "./network-filter.js";
import type { TransportSocketFactory } from "./transport-socket.js";
import type { ListenerStats } from "../observability/stats/listener-stats.js";

export interface CompiledChain {
  readonly chain: FilterChain;
  readonly transport: TransportSocketFactory;
  /**
   * The chain's non-terminal network filters that decide on the connection once its transport is
   * up (Envoy's network RBAC before tcp_proxy): any refusal closes it before the terminal filter.
   */
  readonly admission?: readonly ConnectionAdmission[];
  readonly filter: NetworkFilterFactory;
}

/** A non-terminal network filter that admits or refuses a connection (TLS facts are known by then). */
export interface ConnectionAdmission {
  /**
   * undefined admits; a string refuses (the filter counted it): Envoy's connection termination
   * details (`rbac_access_denied_matched_policy[…]`), handed to the terminal filter for its access log.
   */
  admit(info: ConnectionInfo): string | undefined;
}

/** A listener's per-snapshot runtime parts. */
export interface CompiledListener {
  readonly model: Listener;
  readonly listenerFilters: readonly ListenerFilter[];
  readonly matcher: FilterChainMatcher;
  readonly chains: ReadonlyMap<FilterChain, CompiledChain>;
}

/** What a listener needs from its worker. */
export interface ListenerHost {
  /** True while the worker is shutting down: new connections are refused. */
  refusing(): boolean;
  /**
   * The listener of this snapshot for an original destination (Envoy's getBalancedHandlerByAddress):
   * `ip:port`, else the wildcard of its family on that port; bound or not, never a stopped one.
   */
  listenerFor(ip: string, port: number): ActiveListener | undefined;
  /** The data path's timers (listener filter timeouts). */
  readonly timers: Timers;
}

/** 15 000 ms: Envoy's default listener_filters_timeout. */
export const DEFAULT_LISTENER_FILTERS_TIMEOUT_MS = 15_000;

export class ActiveListener {
  /** Undefined for a listener that does not bind (bindToPort: false) or is not bound yet. */
  server: Server | undefined;
  /** One per additional address (Envoy additional_addresses), bound on the same port. */
  additionalServers: Server[] = [];
  /** The address actually bound (differs from the model's when it asked for port 0). */
  boundKey: string;
  compiled: CompiledListener;
  /** Connections that matched no filter chain (Envoy's `no_filter_chain_match` stat). */
  noFilterChainMatch = 0;
  /** `listener.<address>_<port>.*`, set once the socket is bound (the port is known then). */
  stats: ListenerStats | null = null;

  constructor(
    compiled: CompiledListener,
    private readonly log: Logger,
    private readonly host: ListenerHost,
  ) {
    this.compiled = compiled;
    this.boundKey = `${compiled.model.address}:${compiled.model.port}`;
  }

  get model(): Listener {
    return this.compiled.model;
  }

  /** Stops accepting on every address; `done` once all of them have closed (their connections gone). */
  close(done?: () => void): void {
    const all = this.server === undefined ? this.additionalServers : [this.server, ...this.additionalServers];
    let left = all.length;
    if (left === 0) done?.();
    for (const s of all) s.close(() => --left === 0 && done?.());
  }

  /** Graceful drain of every chain's connections (HTTP/1 responses carry `connection: close`). */
  setDraining(draining: boolean): void {
    for (const c of this.compiled.chains.values()) c.filter.setDraining(draining);
  }

  readonly onSocket = (socket: Socket): void => {
    if (this.host.refusing()) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.accept(socket, connectionInfoOf(socket), true);
  };

  /**
   * Runs this listener's filters, then (`handOff`: only for a connection this listener accepted
   * itself) hands it to the listener of its original destination, or takes it on its own chains.
   */
  private accept(socket: Socket, info: ConnectionInfo, handOff: boolean): void {
    const compiled = this.compiled;
    if (compiled.listenerFilters.length === 0) {
      this.afterFilters(compiled, socket, info, handOff);
      return;
    }
    socket.on("error", ignore);
    const timeout = this.filtersTimeout(compiled);
    runListenerFilters(
      compiled.listenerFilters,
      socket,
      info,
      (proceed) => {
        socket.removeListener("error", ignore);
        if (!proceed || socket.destroyed) {
          socket.destroy();
          return;
        }
        this.afterFilters(compiled, socket, info, handOff);
      },
      timeout,
    );
  }

  /** The listener filter timeout of this snapshot's model, made once per snapshot. */
  private filtersTimeout(compiled: CompiledListener): ListenerFiltersTimeout {
    if (this.timeoutOf === compiled && this.timeout !== undefined) return this.timeout;
    const model = compiled.model;
    this.timeoutOf = compiled;
    const matcher = compiled.matcher;
    this.timeout = {
      ms: model.listenerFiltersTimeoutMs ?? DEFAULT_LISTENER_FILTERS_TIMEOUT_MS,
      continueOnTimeout: model.continueOnListenerFiltersTimeout === true,
      timers: this.host.timers,
      onTimeout: this.countPreCxTimeout,
      // A connection no chain would take as it stands (plaintext on a TLS-only port) waits longer.
      keepWaiting: { unless: (info) => matcher.select(info) !== undefined || model.defaultFilterChain !== undefined, closeAfterMs: DEFAULT_LISTENER_FILTERS_TIMEOUT_MS },
    };
    return this.timeout;
  }

  private timeoutOf: CompiledListener | undefined;
  private timeout: ListenerFiltersTimeout | undefined;
  private readonly countPreCxTimeout = (): void => this.stats?.preCxTimeout.inc();

  private afterFilters(compiled: CompiledListener, socket: Socket, info: ConnectionInfo, handOff: boolean): void {
    if (handOff && compiled.model.useOriginalDst === true && info.localAddressRestored === true) {
      // Envoy's use_original_dst: the listener of the original destination takes the connection
      // and runs its own listener filters; it does not hand off again. A destination that is this
      // listener (a connection straight to 15001) stays here: its chains (istiod's blackhole
      // chain on the listener's own port) decide.
      const target = this.host.listenerFor(info.localIp, info.localPort);
      if (target !== undefined && target !== this) {
        target.accept(socket, info, false);
        return;
      }
    }
    this.dispatch(compiled, socket, info);
  }

  private dispatch(compiled: CompiledListener, socket: Socket, info: ConnectionInfo): void {
    const chain = compiled.matcher.select(info);
    const c = chain === undefined ? undefined : compiled.chains.get(chain);
    if (c === undefined) {
      this.noFilterChainMatch++;
      this.stats?.noFilterChainMatch.inc();
      this.log.debug(`listener ${compiled.model.name}: no filter chain matches ${info.remoteIp}:${info.remotePort} -> ${info.localIp}:${info.localPort}; closing`);
      socket.destroy();
      return;
    }
    // Counted by the listener whose chain takes the connection (Envoy counts downstream_cx_* when
    // the connection is made on its final listener, after listener filters and hand-off).
    this.stats?.accepted(socket);
    c.transport.wrapDownstream(socket, info, (stream) => {
      if (stream === undefined) return;
      const admission = c.admission;
      if (admission !== undefined) {
        for (const a of admission) {
          const refused = a.admit(info);
          if (refused !== undefined) {
            stream.destroy();
            if (stream !== socket) socket.destroy();
            c.filter.onRefused?.(info, refused);
            return;
          }
        }
      }
      c.filter.onNewConnection(stream, info);
    }, this.stats);
  }
}

function ignore(): void {}
