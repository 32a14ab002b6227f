// Client-side TLS on a cluster (Envoy's UpstreamTlsContext): made once per snapshot from the
// context and the snapshot's secrets. Each connection offers the context's ALPN (Istio mTLS:
// istio.alpn's per-protocol values), sends SNI only when the context sets one, resumes a session
// kept per (context, host), and verifies the server as Envoy does — trust chain unless
// ACCEPT_UNTRUSTED, then the SAN matchers; no validation context = no check — before the pool
// may write a byte of the request. Failures carry Envoy's transport failure reason.

import { createHash, type X509Certificate } from "node:crypto";
import type { Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { TLS_TRANSPORT_SOCKET, type Secret, type UpstreamTlsContext } from "../config/model/types.js";
import type { PeerCertificateInfo } from "../listener/connection-info.js";
import type { TlsSessionStore, TransportFailure, TransportSocketFactory, UpstreamSslCounters, UpstreamTransportOptions } from "../listener/transport-socket.js";
import { parseSubjectAltNames, resolveTlsContext, sansMatch, TLS_CERTIFICATE_VERIFY_FAILED, type ResolvedTlsContext } from "./tls-context.js";
import { handshakeFailureReason } from "./upstream-tls-failure.js";
import { PeerCertificateCache, UPSTREAM_TLS_INFO, UpstreamTlsFacts } from "./upstream-tls-info.js";

/** The ALPN lists offered per codec; Istio mTLS contexts get istio.alpn's overrides. */
export interface UpstreamAlpn {
  "http/1.1": string[];
  h2: string[];
  tcp: string[];
}

/**
 * ALPN per codec. A context whose list has an `istio…` value is Istio mTLS: HTTP connections
 * offer what istio.alpn sets (`istio-http/1.1, istio, http/1.1`; `istio-h2, istio, h2`), TCP
 * offers the list without `istio-peer-exchange` — a peer that agrees to it expects the TCP
 * metadata-exchange preamble, which Outrigger does not write. A context without ALPN offers
 * none, except `h2` on HTTP/2 connections.
 */
export function upstreamAlpn(alpn: readonly string[]): UpstreamAlpn {
  // Envoy's HTTP/2 pool gives the transport an ALPN fallback of `h2`, used when the context sets
  // none (AlpnDecoratingTransportSocketOptions): an HTTP/2 server behind plain TLS agrees to h2.
  if (alpn.length === 0) return { "http/1.1": [], h2: ["h2"], tcp: [] };
  if (!alpn.some((p) => p.startsWith("istio"))) return { "http/1.1": [...alpn], h2: [...alpn], tcp: [...alpn] };
  return {
    "http/1.1": ["istio-http/1.1", "istio", "http/1.1"],
    h2: ["istio-h2", "istio", "h2"],
    tcp: alpn.filter((p) => p !== "istio-peer-exchange"),
  };
}

export function upstreamTlsFactory(config: UpstreamTlsContext, secrets: Readonly<Record<string, Secret>>, sessions?: TlsSessionStore): TransportSocketFactory {
  const ctx = resolveTlsContext(config.commonTlsContext, secrets, "cluster TLS context");
  const sni = config.sni !== undefined && config.sni !== "" ? config.sni : undefined;
  const hashKey = createHash("sha256")
    .update(`${ctx.hashKey}\0${sni ?? ""}`)
    .digest("hex")
    .slice(0, 16);
  return new UpstreamTlsTransport(ctx, sni, upstreamAlpn(ctx.alpn), hashKey, sessions);
}

function noop(): void {}

/** OpenSSL's group names → BoringSSL's (SSL_get_curve_name), as Envoy's `ssl.curves.<name>` shows them. */
const CURVE_NAMES: Record<string, string> = { prime256v1: "P-256", secp384r1: "P-384", secp521r1: "P-521", secp224r1: "P-224", X25519: "X25519", X25519MLKEM768: "X25519MLKEM768" };

/** The key exchange group of a client connection; undefined when Node does not say (RSA key exchange, resumption without one). */
function curveName(tls: TLSSocket): string | undefined {
  const k = tls.getEphemeralKeyInfo() as { type?: string; name?: string } | null;
  const name = k?.name;
  if (name === undefined || name === "") return undefined;
  return CURVE_NAMES[name] ?? name;
}
/** Envoy checks SANs only through its matchers, never the host name (unlike Node's default). */
function noServerIdentityCheck(): undefined {
  return undefined;
}

class UpstreamTlsTransport implements TransportSocketFactory {
  readonly name = TLS_TRANSPORT_SOCKET;
  /** The servers' certificates' facts, made once per certificate (for the access log). */
  private readonly peers = new PeerCertificateCache();

  constructor(
    private readonly ctx: ResolvedTlsContext,
    private readonly sni: string | undefined,
    private readonly alpn: UpstreamAlpn,
    readonly hashKey: string,
    private readonly sessions: TlsSessionStore | undefined,
  ) {}

  wrapDownstream(socket: Socket): void {
    // A cluster's context never secures accepted connections; the registry resolves filter chains to downstream-tls.
    socket.destroy();
    throw new Error("an UpstreamTlsContext cannot secure a downstream connection");
  }

  connectUpstream(socket: Socket, opts: UpstreamTransportOptions, done: (failure: TransportFailure | undefined, stream: TLSSocket | undefined) => void): void {
    const sessions = this.sessions;
    const sessionKey = `${this.hashKey}|${opts.host}`;
    const session = sessions?.get(sessionKey);
    const alpn = this.alpn[opts.protocol];
    // Errors of the raw socket surface on the TLS socket; this keeps a late one from being unhandled.
    socket.on("error", noop);
    const tls = tlsConnect({
      socket,
      secureContext: this.ctx.secureContext,
      ...(alpn.length > 0 ? { ALPNProtocols: alpn } : {}),
      ...(this.sni !== undefined ? { servername: this.sni } : {}),
      ...(session !== undefined ? { session } : {}),
      // Verification is ours (below), so failures get Envoy's reasons and counters.
      rejectUnauthorized: false,
      checkServerIdentity: noServerIdentityCheck,
    });
    if (sessions !== undefined) tls.on("session", (s: Buffer) => sessions.set(sessionKey, s));
    const ssl = opts.ssl;
    let settled = false;
    const fail = (reason: string, message: string): void => {
      if (settled) return;
      settled = true;
      tls.removeListener("secureConnect", onSecure);
      tls.removeListener("close", onClose);
      tls.on("error", noop);
      tls.destroy();
      socket.destroy();
      done({ reason, message }, undefined);
    };
    const onError = (err: NodeJS.ErrnoException & { reason?: string }): void => {
      const reason = handshakeFailureReason(err);
      // BoringSSL's queue is empty on a bare close: Envoy counts no connection_error then.
      if (reason !== "") ssl?.connectionError.inc();
      fail(reason, `TLS handshake with ${opts.host} failed: ${err.message}`);
    };
    const onClose = (): void => fail("", `${opts.host} closed the connection during the TLS handshake`);
    const onSecure = (): void => {
      if (settled) return;
      // A resumed session was verified when it was established, under this same context (the
      // session key holds its hashKey); BoringSSL does not verify again either.
      const reused = tls.isSessionReused();
      // Read once: Node 24 returns the peer certificate to the first call only.
      const peer = { cert: tls.getPeerX509Certificate() };
      const failure = reused ? undefined : this.verify(tls, peer.cert, ssl);
      if (failure !== undefined) {
        fail(TLS_CERTIFICATE_VERIFY_FAILED, `${opts.host}: ${failure}`);
        return;
      }
      settled = true;
      tls.removeListener("error", onError);
      tls.removeListener("close", onClose);
      ssl?.handshake.inc();
      if (reused) ssl?.sessionReused.inc();
      const ctx = this.ctx;
      const version = tls.getProtocol() ?? "";
      const cipher = tls.getCipher().name;
      ssl?.negotiated?.(version, cipher, curveName(tls));
      (tls as { [UPSTREAM_TLS_INFO]?: UpstreamTlsFacts })[UPSTREAM_TLS_INFO] = new UpstreamTlsFacts(
        tls,
        version,
        cipher,
        ctx.localUriSans,
        ctx.localDnsSans,
        ctx.localSubject,
        this.peers.of(peer.cert),
      );
      done(undefined, tls);
    };
    tls.once("secureConnect", onSecure);
    tls.once("error", onError);
    tls.once("close", onClose);
  }

  /** Envoy's server checks; a message when the server is refused (its counter moved). */
  private verify(tls: TLSSocket, cert: X509Certificate | undefined, ssl: UpstreamSslCounters | undefined): string | undefined {
    const v = this.ctx.validation;
    if (v === undefined) return undefined;
    // Envoy: without a trusted CA a presented certificate's chain is not verified (SANs still are).
    if (v.verifyTrustChain && v.trustedCa !== "" && !tls.authorized) {
      ssl?.failVerifyError.inc();
      return `certificate verification failed: ${String(tls.authorizationError)}`;
    }
    if (v.sanMatchers.length === 0) return undefined;
    if (cert === undefined) {
      ssl?.failVerifyNoCert.inc();
      return "the server sent no certificate";
    }
    const sans = parseSubjectAltNames(cert.subjectAltName);
    const peer = { uriSans: sans.uri, dnsSans: sans.dns } as PeerCertificateInfo;
    if (!sansMatch(v, peer, sans.ip)) {
      ssl?.failVerifySan.inc();
      return `no subject alternative name of the server certificate matches (${cert.subjectAltName ?? "none"})`;
    }
    return undefined;
  }
}
