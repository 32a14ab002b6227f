// Listener filters: run in order on each accepted connection before its filter chain is chosen;
// each may read ahead (peek), learn facts into ConnectionInfo (original destination, SNI, ALPN,
// HTTP version) or reject the connection. original_dst, tls_inspector and http_inspector come
// with traffic interception; the registry lets tests and later work plug them in.

import type { Socket } from "node:net";
import type { ListenerFilterConfig } from "../config/model/types.js";
import type { ConnectionInfo } from "./connection-info.js";

export interface ListenerFilter {
  /**
   * Inspects the connection and calls `done(true)` to continue (with `info` updated), or
   * `done(false)` to close it. Bytes it reads must be given back with `socket.unshift`.
   */
  onAccept(socket: Socket, info: ConnectionInfo, done: (proceed: boolean) => void): void;
}

export interface ListenerFilterFactory {
  readonly name: string;
  create(config: ListenerFilterConfig): ListenerFilter;
}

export class ListenerFilterRegistry {
  private readonly byName = new Map<string, ListenerFilterFactory>();

  register(f: ListenerFilterFactory): void {
    this.byName.set(f.name, f);
  }

  /** Builds a listener's filters; throws with a clear message for one this build cannot run. */
  build(configs: readonly ListenerFilterConfig[]): ListenerFilter[] {
    return configs.map((c) => {
      const f = this.byName.get(c.name);
      if (f === undefined) throw new Error(`listener filter ${c.name} is not supported yet`);
      return f.create(c);
    });
  }
}

/** Runs the filters in order; `done(false)` as soon as one rejects. */
export function runListenerFilters(filters: readonly ListenerFilter[], socket: Socket, info: ConnectionInfo, done: (proceed: boolean) => void): void {
  let i = 0;
  const next = (proceed: boolean): void => {
    if (!proceed) return done(false);
    const f = filters[i++];
    if (f === undefined) return done(true);
    f.onAccept(socket, info, next);
  };
  next(true);
}
