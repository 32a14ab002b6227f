// The TLS facts of one upstream connection, for %UPSTREAM_TLS_*% / %UPSTREAM_PEER_*% /
// %UPSTREAM_LOCAL_*%: made when the handshake completes and carried on the TLS stream the pool
// keeps (a pooled connection's requests all read the same object). Only the cheap facts (version,
// cipher, our certificate's) are taken at the handshake; the server certificate's facts come on
// first read from the factory's per-certificate cache, and the session id on first read, so a
// connection no access log asks about pays nothing more.

import type { X509Certificate } from "node:crypto";
import type { TLSSocket } from "node:tls";
import type { PeerCertificateInfo } from "../listener/connection-info.js";
import { peerCertificateInfo } from "./tls-context.js";
import { tlsSessionId } from "./tls-session-id.js";

export interface UpstreamTlsInfo {
  readonly version: string;
  readonly cipher: string;
  readonly localUriSans: readonly string[];
  readonly localDnsSans: readonly string[];
  readonly localSubject: string;
  /** The server's certificate; undefined when it sent none. */
  readonly peerCertificate: PeerCertificateInfo | undefined;
  readonly sessionId: string;
}

/** Where the upstream TLS transport leaves a connection's facts on its stream. */
export const UPSTREAM_TLS_INFO: unique symbol = Symbol("outrigger.upstreamTlsInfo");

/** The facts an upstream stream carries; undefined for plaintext. */
export function upstreamTlsInfoOf(stream: object): UpstreamTlsInfo | undefined {
  return (stream as { [UPSTREAM_TLS_INFO]?: UpstreamTlsInfo })[UPSTREAM_TLS_INFO];
}

/** Certificate facts by SHA-256 fingerprint, owned by one factory; bounded (oldest entry goes first). */
export class PeerCertificateCache {
  private readonly entries = new Map<string, PeerCertificateInfo>();

  constructor(private readonly max = 256) {}

  of(x509: X509Certificate | undefined): PeerCertificateInfo | undefined {
    if (x509 === undefined) return undefined;
    const fp = x509.fingerprint256;
    let info = this.entries.get(fp);
    if (info === undefined) {
      const { x509: _x, ...facts } = peerCertificateInfo(x509.raw);
      void _x;
      info = facts;
      this.entries.set(fp, info);
      if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    }
    return info;
  }
}

export class UpstreamTlsFacts implements UpstreamTlsInfo {
  readonly peerCertificate: PeerCertificateInfo | undefined;
  readonly sessionId: string;

  constructor(
    socket: TLSSocket,
    readonly version: string,
    readonly cipher: string,
    readonly localUriSans: readonly string[],
    readonly localDnsSans: readonly string[],
    readonly localSubject: string,
    peerCertificate: PeerCertificateInfo | undefined,
  ) {
    this.peerCertificate = peerCertificate;
    this.sessionId = tlsSessionId(socket);
  }
}
