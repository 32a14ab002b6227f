// ConnectionInfo: what filter-chain matching and network filters know about one downstream
// connection. Listener filters fill in what they learn (original destination, SNI, ALPN).

export interface ConnectionInfo {
  /** The peer as seen through proxies (today: the socket's peer). */
  remoteIp: string;
  remotePort: number;
  /** The socket's peer, never rewritten (Envoy's direct remote address). */
  directRemoteIp: string;
  /** The address the client connected to: the socket's local address, or the original destination. */
  localIp: string;
  localPort: number;
  /**
   * A listener filter (original_dst) set localIp/localPort to the original destination (Envoy's
   * localAddressRestored): a useOriginalDst listener hands the connection over only then.
   */
  localAddressRestored?: boolean;
  /** TLS SNI (set by tls_inspector); "" when none. */
  serverName: string;
  /** `raw_buffer` unless a listener filter says `tls`. */
  transportProtocol: string;
  /** ALPN offered by the client, or what http_inspector detected (`http/1.1`, `h2c`). */
  applicationProtocols: string[];
  /** Set by a TLS transport socket once the handshake is done and the peer verified; absent = plaintext. */
  tls?: DownstreamTlsInfo;
}

/** What a terminated TLS connection tells the filters (authorization, XFCC, telemetry, access logs). */
export interface DownstreamTlsInfo {
  /** `TLSv1.3`, `TLSv1.2`. */
  version: string;
  /** OpenSSL cipher name. */
  cipher: string;
  /** The negotiated ALPN protocol; "" when none. */
  alpn: string;
  /** SNI the client sent; "" when none. */
  sni: string;
  sessionReused: boolean;
  /** Our certificate's URI SANs (XFCC `By=`). */
  localUriSans: string[];
  /** Our certificate's DNS SANs and RFC 2253 subject (%DOWNSTREAM_LOCAL_DNS_SAN% / _SUBJECT%). */
  localDnsSans?: string[];
  localSubject?: string;
  /** Lower-case hex TLS session id (%DOWNSTREAM_TLS_SESSION_ID%); computed on first read. */
  readonly sessionId?: string;
  /**
   * The certificates the client sent, leaf first, in PEM (XFCC `Chain=`); computed on first read
   * (only XFCC with `chain` asks for it).
   */
  readonly peerChainPem?: string;
  /** The client's verified certificate; absent when it sent none. */
  peerCertificate?: PeerCertificateInfo;
  /**
   * Istio's source.principal: the peer's first `spiffe://` URI SAN without the scheme
   * (`cluster.local/ns/foo/sa/bar`); absent without a client certificate or SPIFFE SAN.
   */
  peerPrincipal?: string;
}

export interface PeerCertificateInfo {
  uriSans: string[];
  dnsSans: string[];
  /** RFC 2253 subject, "" when empty (XFCC `Subject=""`). */
  subject: string;
  /** Hex SHA-256 of the DER certificate (XFCC `Hash=`). */
  sha256: string;
  /** Hex serial number. */
  serial: string;
  /** The certificate in PEM (XFCC `Cert=`, URL-encoded there). */
  pem: string;
  /** RFC 2253 issuer (%DOWNSTREAM_PEER_ISSUER%). */
  issuer?: string;
  /** Validity bounds, ms since the epoch (%DOWNSTREAM_PEER_CERT_V_START% / _V_END%). */
  validFrom?: number;
  validTo?: number;
}

export function connectionInfoOf(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined; localAddress?: string | undefined; localPort?: number | undefined }): ConnectionInfo {
  const remoteIp = socket.remoteAddress ?? "";
  return {
    remoteIp,
    remotePort: socket.remotePort ?? 0,
    directRemoteIp: remoteIp,
    localIp: socket.localAddress ?? "",
    localPort: socket.localPort ?? 0,
    localAddressRestored: false,
    serverName: "",
    transportProtocol: "raw_buffer",
    applicationProtocols: [],
  };
}
