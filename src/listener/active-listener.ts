// ActiveListener: one bound listener socket of a worker. Each accepted connection runs the
// listener filters, gets its filter chain (FilterChainMatcher), its transport socket, and is
// handed to the chain's terminal network filter. A reload swaps the compiled chains in place:
// the socket stays bound and live connections keep going.

import type { Server, Socket } from "node:net";
import type { FilterChain, Listener } from "../config/model/types.js";
import type { Logger } from "../common/logger.js";
import { connectionInfoOf } from "./connection-info.js";
import { FilterChainMatcher } from "./filter-chain-matcher.js";
import { runListenerFilters, type ListenerFilter } from "./listener-filter.js";
import type { NetworkFilterFactory } from "./network-filter.js";
import type { TransportSocketFactory } from "./transport-socket.js";
import type { ListenerStats } from "../observability/stats/listener-stats.js";

export interface CompiledChain {
  readonly chain: FilterChain;
  readonly transport: TransportSocketFactory;
  readonly filter: NetworkFilterFactory;
}

/** A listener's per-snapshot runtime parts. */
export interface CompiledListener {
  readonly model: Listener;
  readonly listenerFilters: readonly ListenerFilter[];
  readonly matcher: FilterChainMatcher;
  readonly chains: ReadonlyMap<FilterChain, CompiledChain>;
}

export class ActiveListener {
  server: Server | undefined;
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
    /** True while the worker is shutting down: new connections are refused. */
    private readonly refusing: () => boolean,
  ) {
    this.compiled = compiled;
    this.boundKey = `${compiled.model.address}:${compiled.model.port}`;
  }

  get model(): Listener {
    return this.compiled.model;
  }

  /** Graceful drain of every chain's connections (HTTP/1 responses carry `connection: close`). */
  setDraining(draining: boolean): void {
    for (const c of this.compiled.chains.values()) c.filter.setDraining(draining);
  }

  readonly onSocket = (socket: Socket): void => {
    if (this.refusing()) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.stats?.accepted(socket);
    const compiled = this.compiled;
    const info = connectionInfoOf(socket);
    if (compiled.listenerFilters.length === 0) {
      this.dispatch(compiled, socket, info);
      return;
    }
    socket.on("error", ignore);
    runListenerFilters(compiled.listenerFilters, socket, info, (proceed) => {
      socket.removeListener("error", ignore);
      if (!proceed || socket.destroyed) {
        socket.destroy();
        return;
      }
      this.dispatch(compiled, socket, info);
    });
  };

  private dispatch(compiled: CompiledListener, socket: Socket, info: ReturnType<typeof connectionInfoOf>): void {
    const chain = compiled.matcher.select(info);
    const c = chain === undefined ? undefined : compiled.chains.get(chain);
    if (c === undefined) {
      this.noFilterChainMatch++;
      this.stats?.noFilterChainMatch.inc();
      this.log.debug(`listener ${compiled.model.name}: no filter chain matches ${info.remoteIp}:${info.remotePort} -> ${info.localIp}:${info.localPort}; closing`);
      socket.destroy();
      return;
    }
    c.filter.onNewConnection(c.transport.wrapDownstream(socket), info);
  }
}

function ignore(): void {}
