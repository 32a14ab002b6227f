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
