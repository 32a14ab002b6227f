// envoy.filters.listener.tls_inspector: peeks at the ClientHello of a TLS connection and records
// transport protocol `tls`, the SNI and the ALPN list for filter chain matching (TLS passthrough
// by serverNames, Istio's mTLS chains by ALPN). Bytes that are not TLS end the inspection at once.

import type { Socket } from "node:net";
import { TLS_INSPECTOR, type AbortInspection, type ListenerFilter } from "../listener-filter.js";
import type { ConnectionInfo } from "../connection-info.js";
import { parseClientHello, type ClientHelloResult } from "./client-hello.js";
import { peekSocket } from "./socket-peek.js";

/** 64 KiB: Envoy's tls_inspector limit; a larger ClientHello closes the connection (client_hello_too_large). */
export const TLS_MAX_CLIENT_HELLO = 65_536;

export class TlsInspector implements ListenerFilter {
  static readonly filterName = TLS_INSPECTOR;

  onAccept(socket: Socket, info: ConnectionInfo, done: (proceed: boolean) => void): AbortInspection | void {
    let result: ClientHelloResult = { kind: "more" };
    return peekSocket(
      socket,
      TLS_MAX_CLIENT_HELLO,
      (bytes) => {
        result = parseClientHello(bytes);
        return result.kind === "more" ? "more" : "done";
      },
      (proceed) => {
        if (!proceed) return done(false);
        if (result.kind === "more") return done(false); // ClientHello too large
        if (result.kind === "hello") {
          info.transportProtocol = "tls";
          info.serverName = result.serverName;
          if (result.alpn.length > 0) info.applicationProtocols = result.alpn;
        }
        // not TLS, or a malformed hello (Envoy's tls_not_found): go on as plaintext.
        done(true);
      },
    );
  }
}
