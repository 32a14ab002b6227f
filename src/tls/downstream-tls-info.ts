// The TLS facts of one accepted connection (ConnectionInfo.tls), set once at the handshake. The
// session id is taken then too (about 2 µs: the socket's session is gone once it closes, and a TCP
// proxy logs after the close); the peer's whole chain, costly and asked for only by XFCC `Chain`
// while the request is live, is computed on first read and kept.

import type { TLSSocket } from "node:tls";
import type { DownstreamTlsInfo, PeerCertificateInfo } from "../listener/connection-info.js";
import { peerChainPem } from "./peer-chain-pem.js";
import { tlsSessionId } from "./tls-session-id.js";

export class DownstreamTlsFacts implements DownstreamTlsInfo {
  peerCertificate?: PeerCertificateInfo;
  peerPrincipal?: string;
  readonly sessionId: string;
  private chain: string | undefined = undefined;

  constructor(
    private readonly socket: TLSSocket,
    readonly version: string,
    readonly cipher: string,
    readonly alpn: string,
    readonly sni: string,
    readonly sessionReused: boolean,
    readonly localUriSans: string[],
    readonly localDnsSans: string[],
    readonly localSubject: string,
  ) {
    this.sessionId = tlsSessionId(socket);
  }

  get peerChainPem(): string {
    if (this.peerCertificate === undefined) return "";
    return (this.chain ??= peerChainPem(this.socket));
  }
}
