// Network filters: what a listener's filter chain runs on a connection once the chain is chosen.
// The terminal one owns the connection — the HTTP connection manager or the TCP proxy. Factories
// are built per snapshot from the chain's config; a factory kept across a reload (same listener,
// same chain name and filter) is updated in place, so live connections pick up new routes.

import type { Duplex } from "node:stream";
import type { Listener, NetworkFilter } from "../config/model/types.js";
import type { WorkerServices } from "../http/listener-context.js";
import type { RouteTable } from "../router/route-table.js";
import type { ConnectionInfo } from "./connection-info.js";

/** A downstream connection the worker tracks for sweeps (timeouts) and draining. */
export interface DownstreamConnection {
  /** Periodic check with the coarse clock: idle and slow-head timeouts. */
  sweep(now: number): void;
  /** Graceful drain: close when idle, finish what is in flight. */
  drain(): void;
  destroySocket(): void;
}

export interface ConnectionTracker {
  add(c: DownstreamConnection): void;
  delete(c: DownstreamConnection): void;
}

export interface NetworkFilterFactory {
  readonly name: NetworkFilter["name"];
  /** Takes over an accepted connection (already through listener filters and its transport socket). */
  onNewConnection(socket: Duplex, info: ConnectionInfo): void;
  /** The chain's config changed on reload; live connections see it from their next request or connection. */
  update(config: NetworkFilter, env: NetworkFilterEnv): void;
  /** The listener starts (or stops) draining gracefully. */
  setDraining(draining: boolean): void;
  /**
   * A filter before this one (network RBAC) closed the connection: in Envoy this filter had the
   * connection too, so its access log records it with the refusal's termination details.
   */
  onRefused?(info: ConnectionInfo, terminationDetails: string): void;
}

/** What a network filter factory may use: the worker's services and this snapshot's parts. */
export interface NetworkFilterEnv {
  readonly listener: Listener;
  readonly services: WorkerServices;
  readonly tracker: ConnectionTracker;
  /** This snapshot's compiled route configurations, by name. */
  readonly routeTables: ReadonlyMap<string, RouteTable>;
  /** The filter chain this filter belongs to. */
  readonly chainName: string;
  /** The listener drains gracefully (HTTP/1 responses close their connection). */
  readonly draining: boolean;
}

export type NetworkFilterCreator = (config: NetworkFilter, env: NetworkFilterEnv) => NetworkFilterFactory;

/** Network filter factories by Envoy name; the worker registers the HTTP connection manager and the TCP proxy. */
export class NetworkFilterRegistry {
  private readonly byName = new Map<string, NetworkFilterCreator>();

  register(name: NetworkFilter["name"], create: NetworkFilterCreator): void {
    this.byName.set(name, create);
  }

  create(config: NetworkFilter, env: NetworkFilterEnv): NetworkFilterFactory {
    const c = this.byName.get(config.name);
    if (c === undefined) throw new Error(`network filter ${config.name} is not supported`);
    return c(config, env);
  }
}
