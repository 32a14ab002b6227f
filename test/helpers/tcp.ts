// TCP proxy test helpers: hand-written snapshots with one tcp_proxy listener, and a client that
// records what it reads and when its connection ends or closes.

import { connect, type Socket } from "node:net";
import { DEFAULT_TCP_IDLE_TIMEOUT_MS, tcpProxyFilterChain } from "../../src/config/model/listener-defaults.js";
import type { Cluster, Snapshot, TcpProxy } from "../../src/config/model/types.js";
import { freePort } from "./upstreams.js";

export function tcpProxyConfig(over: Partial<TcpProxy> = {}): TcpProxy {
  return { statPrefix: "tcp_test", cluster: "backend", idleTimeoutMs: DEFAULT_TCP_IDLE_TIMEOUT_MS, maxConnectAttempts: 1, ...over };
}

/** One OUTBOUND listener on a fresh loopback port whose only chain is a tcp_proxy. */
export async function tcpSnapshot(config: TcpProxy, clusters: Cluster[], version = "tcp/1", port?: number): Promise<Snapshot> {
  const p = port ?? (await freePort());
  return {
    version,
    listeners: [{ name: `127.0.0.1_${p}`, address: "127.0.0.1", port: p, trafficDirection: "OUTBOUND", listenerFilters: [], filterChains: [tcpProxyFilterChain("tcp_chain", config)] }],
    routeConfigs: {},
    clusters: Object.fromEntries(clusters.map((c) => [c.name, c])),
  };
}

/** A client socket that keeps everything it reads; `ended`/`closed` settle on its events. */
export class TcpTestClient {
  readonly socket: Socket;
  data = "";
  readonly connected: Promise<void>;
  readonly ended: Promise<void>;
  readonly closed: Promise<boolean>;
  private waiters: Array<{ text: string; resolve: () => void }> = [];

  /** `allowHalfOpen`: keep our side writable after the proxy's FIN (default: close like most clients). */
  constructor(port: number, opts: { allowHalfOpen?: boolean } = {}) {
    this.socket = connect({ host: "127.0.0.1", port, allowHalfOpen: opts.allowHalfOpen ?? false });
    this.socket.on("error", () => {});
    this.connected = new Promise((r) => this.socket.once("connect", () => r()));
    this.ended = new Promise((r) => this.socket.once("end", () => r()));
    this.closed = new Promise((r) => this.socket.once("close", (hadError) => r(hadError)));
    this.socket.on("data", (c: Buffer) => {
      this.data += c.toString("latin1");
      this.waiters = this.waiters.filter((w) => {
        if (!this.data.includes(w.text)) return true;
        w.resolve();
        return false;
      });
    });
  }

  /** Resolves once `text` has been read (at any point so far). */
  received(text: string): Promise<void> {
    if (this.data.includes(text)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ text, resolve }));
  }
}

/** Resolves with everything a socket reads until its peer's FIN. */
export function readUntilEnd(s: Socket): Promise<string> {
  return new Promise((resolve) => {
    let out = "";
    s.on("data", (c: Buffer) => (out += c.toString("latin1")));
    s.once("end", () => resolve(out));
  });
}
