// Server-side TLS on a filter chain (Envoy's DownstreamTlsContext): the accepted socket is wrapped
// in a server TLSSocket, the handshake is bounded on the worker's timers, and the peer is verified
// here like Envoy's DefaultCertValidator (Node never rejects by itself): no certificate when one is
// required, trust chain to the trusted CA, SAN matchers. Everything that can be made per snapshot
// (SecureContext, ALPN wire list, checks) is made once in the factory.

import { hkdfSync } from "node:crypto";
import { TLSSocket, type TLSSocketOptions } from "node:tls";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { DownstreamTlsContext } from "../config/model/types.js";
import type { ConnectionInfo } from "../listener/connection-info.js";
import type { TransportSocketEnv, TransportSocketFactory, UpstreamTransportOptions, TransportFailure } from "../listener/transport-socket.js";
import { realTimers, type Timers } from "../common/timers.js";
import type { Logger } from "../common/logger.js";
import type { ListenerStats } from "../observability/stats/listener-stats.js";
import { TLS_TRANSPORT_SOCKET } from "../config/model/types.js";
import { resolveTlsContext, type ResolvedTlsContext } from "./tls-context.js";
import { verifyDownstreamPeer } from "./downstream-verify.js";
import { PeerVerificationCache } from "./peer-verification-cache.js";
import { DownstreamTlsFacts } from "./downstream-tls-info.js";

/**
 * Bound on a downstream TLS handshake. Envoy has none of its own (a listener's
 * transport_socket_connect_timeout is unset by default); a client that opens a connection and
 * never finishes the handshake would otherwise hold it forever.
 */
export const DOWNSTREAM_TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * ALPN values a server must never select. `h2` is selectable on every chain: an HTTP connection
 * manager speaks HTTP/2 when it was negotiated (codec_type AUTO), and OpenSSL picks in the
 * server's order (istiod: `[h2, http/1.1]`), as BoringSSL does for Envoy.
 */
function selectable(alpn: readonly string[], _terminalFilter: string | undefined): string[] {
  // We do not implement the TCP metadata exchange: a real Envoy client that sees it selected
  // writes its preamble into the stream, which the app would then receive.
  return alpn.filter((p) => p !== "istio-peer-exchange");
}

/** ALPN protocols in the TLS wire format (length-prefixed), as TLSSocket takes them. */
function alpnWire(list: readonly string[]): Buffer {
  return Buffer.concat(list.map((p) => Buffer.concat([Buffer.from([Buffer.byteLength(p)]), Buffer.from(p)])));
}

export function downstreamTlsFactory(config: DownstreamTlsContext, env: TransportSocketEnv): TransportSocketFactory {
  const ctx = resolveTlsContext(config.commonTlsContext, env.secrets, "DownstreamTlsContext");
  // Resumption of sessions whose client was verified needs a session id context (OpenSSL refuses
  // to resume otherwise); the ticket keys are the SecureContext's own, so a new snapshot (new
  // certificates) starts new sessions.
  const native = (ctx.secureContext as unknown as { context: { setSessionIdContext(id: string): void; setTicketKeys(keys: Buffer): void } }).context;
  native.setSessionIdContext(`outrigger-${ctx.hashKey}`);
  const keys = ticketKeys(config, env);
  if (keys !== undefined) native.setTicketKeys(keys);
  const alpn = selectable(ctx.alpn, env.terminalFilter);
  return new DownstreamTls(ctx, config.requireClientCertificate === true, alpn, env.timers ?? realTimers, env.log);
}

/**
 * Session ticket keys every worker derives alike from the workload key (SDS secret), so a client
 * resumes whichever worker accepts it (Envoy shares one context across its workers); a new key
 * means new ticket keys. Certificates from files keep the SecureContext's random per-worker keys.
 */
function ticketKeys(config: DownstreamTlsContext, env: TransportSocketEnv): Buffer | undefined {
  const name = config.commonTlsContext.tlsCertificateSdsSecretConfigs?.[0]?.name;
  const key = name === undefined ? undefined : env.secrets[name]?.tlsCertificate?.privateKey;
  if (key === undefined) return undefined;
  return Buffer.from(hkdfSync("sha256", key, "outrigger-downstream-tls", "session ticket keys", 48));
}

class DownstreamTls implements TransportSocketFactory {
  readonly name = TLS_TRANSPORT_SOCKET;
  readonly hashKey: string;

  constructor(
    private readonly ctx: ResolvedTlsContext,
    private readonly requireClientCert: boolean,
    private readonly alpn: readonly string[],
    private readonly timers: Timers,
    private readonly log: Logger | undefined,
  ) {
    this.hashKey = ctx.hashKey;
    const base = { isServer: true, secureContext: ctx.secureContext, requestCert: ctx.validation !== undefined, rejectUnauthorized: false };
    this.withAlpn = alpn.length > 0 ? { ...base, ALPNProtocols: alpnWire(alpn) } : base;
    this.withoutAlpn = base;
  }

  /** Per-certificate verification outcomes of this factory's connections (its context, its matchers). */
  private readonly peers = new PeerVerificationCache();

  /** TLSSocket options, made once: with the ALPN list, and without (no ALPN to negotiate). */
  private readonly withAlpn: TLSSocketOptions;
  private readonly withoutAlpn: TLSSocketOptions;

  /**
   * Envoy's server answers a ClientHello whose ALPN shares nothing with its list by negotiating no
   * ALPN (the handshake goes on); Node's server sends a fatal no_application_protocol alert instead.
   * When tls_inspector has read the client's ALPN (istiod puts it on every listener with TLS
   * chains), a client with no overlap gets a socket without ALPN, so the handshake succeeds as with
   * Envoy. Without tls_inspector the client's list is unknown and Node's behaviour applies.
   */
  private optionsFor(info: ConnectionInfo): TLSSocketOptions {
    if (this.alpn.length === 0 || info.transportProtocol !== "tls") return this.withAlpn;
    const offered = info.applicationProtocols;
    for (const p of this.alpn) if (offered.includes(p)) return this.withAlpn;
    return this.withoutAlpn;
  }

  wrapDownstream(socket: Socket, info: ConnectionInfo, done: (stream: Duplex | undefined) => void, stats?: ListenerStats | null): void {
    const ctx = this.ctx;
    const tls = new TLSSocket(socket, this.optionsFor(info));
    let settled = false;
    const fail = (reason: string, counter: "connectionError" | "failVerifyNoCert" | "failVerifyError" | "failVerifySan"): void => {
      if (settled) return;
      settled = true;
      this.timers.clear(timer);
      const ssl = stats?.ssl;
      if (ssl !== undefined) {
        if (counter !== "connectionError") ssl[counter].inc();
        ssl.connectionError.inc();
      }
      this.log?.debug(`TLS handshake with ${info.remoteIp}:${info.remotePort} -> ${info.localIp}:${info.localPort} refused: ${reason}`);
      tls.destroy();
      socket.destroy();
      done(undefined);
    };
    const timer = this.timers.set(() => fail(`no handshake within ${DOWNSTREAM_TLS_HANDSHAKE_TIMEOUT_MS} ms`, "connectionError"), DOWNSTREAM_TLS_HANDSHAKE_TIMEOUT_MS);
    const onError = (e: Error): void => fail(e.message, "connectionError");
    tls.once("error", onError);
    tls.once("close", () => fail("connection closed during the handshake", "connectionError"));
    tls.once("secure", () => {
      if (settled) return;
      const v = verifyDownstreamPeer(tls, ctx, this.requireClientCert, this.peers);
      if (v.failure !== undefined) {
        fail(v.failure.reason, v.failure.counter);
        return;
      }
      settled = true;
      this.timers.clear(timer);
      tls.removeListener("error", onError);
      // Errors after the handshake belong to the codec, which listens on the stream.
      const cipher = tls.getCipher();
      const version = tls.getProtocol() ?? "";
      const reused = tls.isSessionReused();
      const alpn = tls.alpnProtocol;
      const facts = new DownstreamTlsFacts(
        tls,
        version,
        cipher.name,
        typeof alpn === "string" ? alpn : "",
        (tls as unknown as { servername?: string | false }).servername || "",
        reused,
        ctx.localUriSans,
        ctx.localDnsSans,
        ctx.localSubject,
      );
      if (v.peer !== undefined) facts.peerCertificate = v.peer;
      if (v.principal !== undefined) facts.peerPrincipal = v.principal;
      info.tls = facts;
      stats?.ssl.handshakeDone(version, cipher.name, reused, v.peer !== undefined);
      done(tls);
    });
  }

  connectUpstream(socket: Socket, _opts: UpstreamTransportOptions, done: (failure: TransportFailure | undefined, stream: Duplex | undefined) => void): void {
    socket.destroy();
    done({ reason: "downstream TLS context used upstream", message: "a DownstreamTlsContext cannot originate TLS" }, undefined);
  }
}
