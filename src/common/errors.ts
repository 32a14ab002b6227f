// The one catalog of error codes. Deep code throws ProxyError with a stable `code`; callers compare
// `err.code`, never `instanceof` (classes differ across worker threads). `localReply` in
// src/http/local-reply.ts is the one place that turns a code into a response and a response flag.

export const ErrorCode = {
  // Downstream (client) side
  BadRequest: "BAD_REQUEST",
  HeaderTooLarge: "HEADER_TOO_LARGE",
  TooManyHeaders: "TOO_MANY_HEADERS",
  /** A Transfer-Encoding other than "chunked" (Envoy: 501). */
  UnsupportedTransferEncoding: "UNSUPPORTED_TRANSFER_ENCODING",
  RequestHeaderTimeout: "REQUEST_HEADER_TIMEOUT",
  DownstreamReset: "DOWNSTREAM_RESET",
  // Routing
  NoRoute: "NO_ROUTE",
  NoCluster: "NO_CLUSTER",
  NoHealthyUpstream: "NO_HEALTHY_UPSTREAM",
  // Upstream
  UpstreamConnectFailure: "UPSTREAM_CONNECT_FAILURE",
  UpstreamConnectTimeout: "UPSTREAM_CONNECT_TIMEOUT",
  UpstreamReset: "UPSTREAM_RESET",
  /** The upstream reset the stream (HTTP/2 RST_STREAM); the detail is Envoy's reason words (`remote reset`, `remote refused stream reset`). */
  UpstreamRemoteReset: "UPSTREAM_REMOTE_RESET",
  UpstreamProtocolError: "UPSTREAM_PROTOCOL_ERROR",
  UpstreamTimeout: "UPSTREAM_TIMEOUT",
  UpstreamOverflow: "UPSTREAM_OVERFLOW",
  /** A retry waits and the request body outgrew the replay buffer (Envoy's 507). */
  RetryBufferOverflow: "RETRY_BUFFER_OVERFLOW",
  /** Fault injection abort; the detail carries the HTTP status. */
  FaultAbort: "FAULT_ABORT",
  /** The stream outlived the route's max stream duration or its gRPC deadline (Envoy: 408/504). */
  MaxStreamDuration: "MAX_STREAM_DURATION",
  /** An upgrade (WebSocket, …) neither the connection manager nor the route allows (Envoy: 403). */
  UpgradeFailed: "UPGRADE_FAILED",
  // Config
  ConfigInvalid: "CONFIG_INVALID",
  ConfigUnreadable: "CONFIG_UNREADABLE",
  // CLI
  Usage: "USAGE",
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export class ProxyError extends Error {
  readonly code: ErrorCodeValue;
  /** Envoy's transport failure reason / detail, e.g. `delayed connect error: 111`. */
  readonly detail: string | undefined;

  constructor(code: ErrorCodeValue, message: string, detail?: string) {
    super(message);
    this.name = "ProxyError";
    this.code = code;
    this.detail = detail;
  }
}

export function isProxyError(e: unknown): e is ProxyError {
  return typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string" && (e as Error).name === "ProxyError";
}

export function hasCode(e: unknown, code: ErrorCodeValue): boolean {
  return isProxyError(e) && e.code === code;
}
