// Transport sockets: what sits between a TCP socket and the codec on a filter chain or an upstream
// connection (Envoy's transport_socket). Plaintext (`raw_buffer`) passes the socket through at
// once; TLS (`src/tls/`) finishes its handshake and verifies the peer first. A factory is made per
// filter chain / per cluster (or per transport socket match) from its config and the snapshot's
// secrets, once per snapshot.

import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Secret, TransportSocketConfig } from "../config/model/types.js";
import type { ConnectionInfo } from "./connection-info.js";
import type { Logger } from "../common/logger.js";
import type { Timers } from "../common/timers.js";
import type { ListenerStats } from "../observability/stats/listener-stats.js";

export const RAW_BUFFER = "envoy.transport_sockets.raw_buffer";

/** Why an upstream transport could not be set up: Envoy's transport failure reason. */
export interface TransportFailure {
  /**
   * Envoy's %UPSTREAM_TRANSPORT_FAILURE_REASON% and the text after `transport failure reason: `
   * in the 503 body, e.g. `TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end`.
   */
  reason: string;
  /** For logs: what Node said. */
  message: string;
}

/** What the upstream side needs to know about the connection it secures. */
export interface UpstreamTransportOptions {
  /** The codec that will run on it: ALPN is chosen from it (istio.alpn's overrides for mTLS). */
  protocol: "http/1.1" | "h2" | "tcp";
  /** The host's address (for logs, and SNI when the context sets none and the host is a name). */
  host: string;
  /** The cluster's `ssl.*` stats (TLS counts handshakes and failures there); absent = not counted. */
  ssl?: UpstreamSslCounters;
}

/** A counter the transport bumps (the stats store's Counter). */
export interface CounterLike {
  inc(n?: number): void;
}

/** Envoy's `cluster.<name>.ssl.*` stats that an upstream TLS connection moves. */
export interface UpstreamSslCounters {
  readonly handshake: CounterLike;
  readonly connectionError: CounterLike;
  readonly failVerifyError: CounterLike;
  readonly failVerifySan: CounterLike;
  readonly failVerifyNoCert: CounterLike;
  readonly sessionReused: CounterLike;
  /** `ssl.versions.<v>`, `ssl.ciphers.<c>`, `ssl.curves.<g>` (when the group is known) of a completed handshake. */
  negotiated?(version: string, cipher: string, curve: string | undefined): void;
}

/**
 * Where a worker keeps upstream TLS sessions for resumption (owned by its ClusterManager, so a
 * snapshot that keeps a context keeps resuming). Keys are the transport's hashKey and the host.
 */
export interface TlsSessionStore {
  get(key: string): Buffer | undefined;
  set(key: string, session: Buffer): void;
}

export interface TransportSocketFactory {
  readonly name: string;
  /**
   * Connections made by factories with different keys never share a connection pool (a pool is
   * per host × protocol × transport key). raw_buffer: "". TLS: a digest of the context and the
   * secrets it uses.
   */
  readonly hashKey: string;
  /**
   * Secures an accepted downstream socket. Calls `done(stream)` once the codec may use it (TLS:
   * handshake finished, peer verified, `info.tls` filled), or `done(undefined)` after it closed
   * the socket (failed handshake, refused peer: counted and logged by the factory). raw_buffer
   * calls back synchronously with the socket itself.
   */
  wrapDownstream(socket: Socket, info: ConnectionInfo, done: (stream: Duplex | undefined) => void, stats?: ListenerStats | null): void;
  /**
   * Secures a connected upstream socket. Calls `done(undefined, stream)` when ready, or
   * `done(failure)` after destroying the socket — no application byte was written then.
   * raw_buffer calls back synchronously with the socket itself.
   */
  connectUpstream(socket: Socket, opts: UpstreamTransportOptions, done: (failure: TransportFailure | undefined, stream: Duplex | undefined) => void): void;
  /** Releases what the factory holds (session caches, timers) when its snapshot is replaced. */
  close?(): void;
}

export const rawBufferTransport: TransportSocketFactory = {
  name: RAW_BUFFER,
  hashKey: "",
  wrapDownstream: (s, _info, done) => done(s),
  connectUpstream: (s, _opts, done) => done(undefined, s),
};

/** Which side a transport socket config is for: a filter chain (server) or a cluster (client). */
export type TransportSide = "downstream" | "upstream";

/** What a transport socket config is compiled against. */
export interface TransportSocketEnv {
  side: TransportSide;
  /** The snapshot's secrets by name (SDS: `default`, `ROOTCA`). */
  secrets: Readonly<Record<string, Secret>>;
  /** Upstream only: the worker's TLS session store (absent = no resumption). */
  sessions?: TlsSessionStore;
  /** The data path's timers (TLS handshake timeout); default: real timers. */
  timers?: Timers;
  /** Debug lines for refused handshakes. */
  log?: Logger;
  /** Downstream: the name of the chain's terminal network filter (ALPN the codec cannot speak is not selected). */
  terminalFilter?: string;
}

/** Makes a factory for one config; throws with a clear message when the config cannot work. */
export type TransportSocketCreator = (config: TransportSocketConfig, env: TransportSocketEnv) => TransportSocketFactory;

/** Transport socket creators by name; raw_buffer is built in, the worker registers TLS, tests their own. */
export class TransportSocketRegistry {
  private readonly byName = new Map<string, TransportSocketCreator>([[RAW_BUFFER, () => rawBufferTransport]]);

  register(name: string, create: TransportSocketCreator): this {
    this.byName.set(name, create);
    return this;
  }

  /** The factory for a chain's or cluster's config; throws with a clear message when unknown or unusable. */
  resolve(config: TransportSocketConfig | undefined, env: TransportSocketEnv): TransportSocketFactory {
    if (config === undefined) return rawBufferTransport;
    const create = this.byName.get(config.name);
    if (create === undefined) throw new Error(`transport socket ${config.name} is not supported (known: ${[...this.byName.keys()].join(", ")})`);
    return create(config, env);
  }
}
