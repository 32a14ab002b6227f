// envoy.filters.listener.http_inspector: on a plaintext connection, peeks at the first bytes and
// records the HTTP version it sees (`http/1.1`, `http/1.0`, `h2c`) as the connection's application
// protocol, for filter chains matching applicationProtocols (istiod's `["http/1.1","h2c"]`).

import type { Socket } from "node:net";
import { HTTP_INSPECTOR, type ListenerFilter, type AbortInspection } from "../listener-filter.js";
import type { ConnectionInfo } from "../connection-info.js";
import { detectHttp, type HttpDetection } from "./http-inspection.js";
import { peekSocket } from "./socket-peek.js";

/** 8 KiB: Envoy's http_inspector MAX_INSPECT_SIZE; past it without a request line, no protocol. */
export const HTTP_INSPECT_MAX_BYTES = 8_192;

export class HttpInspector implements ListenerFilter {
  static readonly filterName = HTTP_INSPECTOR;

  onAccept(socket: Socket, info: ConnectionInfo, done: (proceed: boolean) => void): AbortInspection | void {
    // Envoy: only plaintext connections are inspected (TLS carries its protocol in ALPN).
    if (info.transportProtocol !== "raw_buffer") return done(true);
    let found: HttpDetection = "more";
    return peekSocket(
      socket,
      HTTP_INSPECT_MAX_BYTES,
      (bytes) => {
        found = detectHttp(bytes);
        return found === "more" ? "more" : "done";
      },
      (proceed) => {
        if (proceed && found !== "more" && found !== "none") info.applicationProtocols = [found];
        done(proceed);
      },
    );
  }
}
