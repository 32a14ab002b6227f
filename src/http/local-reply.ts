// The one place that turns a failure into a downstream response: status, body, response flag and
// response_code_details exactly as Envoy produces them, so operators' runbooks keep working.

import { ErrorCode, type ErrorCodeValue } from "../common/errors.js";
import { ResponseFlag, type ResponseFlagValue } from "../observability/stream-info.js";

export interface LocalReply {
  status: number;
  body: string;
  flag: ResponseFlagValue | undefined;
  /** Envoy's %RESPONSE_CODE_DETAILS%. */
  details: string;
  /** Extra response headers (e.g. x-envoy-overloaded). */
  headers?: Array<[string, string]>;
  /** Close the downstream connection after replying (codec errors). */
  closeConnection?: boolean;
  /**
   * The grpc-status a gRPC request gets instead of the one mapped from `status` (Envoy passes one
   * for a fault's grpc abort and for the max stream duration: DEADLINE_EXCEEDED).
   */
  grpcStatus?: number;
}

const UPSTREAM_RESET_PREFIX = "upstream connect error or disconnect/reset before headers. ";

/**
 * Maps an error code (and, for upstream failures, the transport failure reason such as
 * `delayed connect error: 111`) to Envoy's local reply.
 */
export function localReply(code: ErrorCodeValue, detail?: string, retried = false): LocalReply {
  // After retries Envoy says which reset was the last one.
  const reason = retried ? "retried and the latest reset reason: " : "reset reason: ";
  switch (code) {
    case ErrorCode.NoRoute:
      // Envoy: 404 with an empty body, details route_not_found.
      return { status: 404, body: "", flag: ResponseFlag.NoRouteFound, details: "route_not_found" };
    case ErrorCode.NoCluster:
      return { status: 503, body: "", flag: ResponseFlag.NoClusterFound, details: "cluster_not_found" };
    case ErrorCode.NoHealthyUpstream:
      return { status: 503, body: "no healthy upstream", flag: ResponseFlag.NoHealthyUpstream, details: "no_healthy_upstream" };
    case ErrorCode.UpstreamConnectFailure:
    case ErrorCode.UpstreamConnectTimeout: {
      const why = detail ?? (code === ErrorCode.UpstreamConnectTimeout ? "connection timeout" : "delayed connect error: 111");
      // "": the transport gave no reason (a TLS peer closed mid-handshake); Envoy then ends the body at the reset reason.
      return {
        status: 503,
        body: why === "" ? `${UPSTREAM_RESET_PREFIX}${reason}connection failure` : `${UPSTREAM_RESET_PREFIX}${reason}connection failure, transport failure reason: ${why}`,
        flag: ResponseFlag.UpstreamConnectionFailure,
        details: why === "" ? "upstream_reset_before_response_started{connection_failure}" : `upstream_reset_before_response_started{connection_failure,${why.replaceAll(" ", "_")}}`,
      };
    }
    case ErrorCode.UpstreamReset:
      return {
        status: 503,
        body: `${UPSTREAM_RESET_PREFIX}${reason}connection termination`,
        flag: ResponseFlag.UpstreamConnectionTermination,
        details: "upstream_reset_before_response_started{connection_termination}",
      };
    case ErrorCode.UpstreamRemoteReset: {
      // Envoy's UR: an HTTP/2 upstream's RST_STREAM (reset reason words: Http::Utility::resetReasonToString).
      const words = detail ?? "remote reset";
      return {
        status: 503,
        body: `${UPSTREAM_RESET_PREFIX}${reason}${words}`,
        flag: ResponseFlag.UpstreamRemoteReset,
        details: `upstream_reset_before_response_started{${words.replaceAll(" ", "_")}}`,
      };
    }
    case ErrorCode.UpstreamProtocolError:
      // Envoy's router answers a ProtocolError reset with 502, other resets with 503.
      return {
        status: 502,
        body: `${UPSTREAM_RESET_PREFIX}${reason}protocol error`,
        flag: ResponseFlag.UpstreamProtocolError,
        details: "upstream_reset_before_response_started{protocol_error}",
      };
    case ErrorCode.UpstreamOverflow:
      return {
        status: 503,
        body: `${UPSTREAM_RESET_PREFIX}reset reason: overflow`,
        flag: ResponseFlag.UpstreamOverflow,
        details: "upstream_reset_before_response_started{overflow}",
        headers: [["x-envoy-overloaded", "true"]],
      };
    case ErrorCode.RetryBufferOverflow:
      // Envoy's router: the body outgrew the retry buffer while a retry was pending.
      return { status: 507, body: "exceeded request buffer limit while retrying upstream", flag: undefined, details: "request_payload_exceeded_retry_buffer_limit" };
    case ErrorCode.FaultAbort:
      return { status: Number(detail ?? 503), body: "fault filter abort", flag: ResponseFlag.FaultInjected, details: "fault_filter_abort" };
    case ErrorCode.UpgradeFailed:
      // Envoy's HCM: 403 with an empty body, and the connection closes (the upgrade's payload
      // would not follow HTTP/1.1 framing).
      return { status: 403, body: "", flag: undefined, details: "upgrade_failed", closeConnection: true };
    case ErrorCode.MaxStreamDuration:
      // Envoy's onStreamMaxDurationReached: 504 once the request was received whole, else 408;
      // a gRPC caller gets DEADLINE_EXCEEDED whichever it is. `detail` "complete" / "incomplete".
      return { status: detail === "incomplete" ? 408 : 504, body: "downstream duration timeout", flag: undefined, details: "max_duration_timeout", grpcStatus: 4 };
    case ErrorCode.UpstreamTimeout:
      return { status: 504, body: "upstream request timeout", flag: ResponseFlag.UpstreamRequestTimeout, details: "upstream_response_timeout" };
    case ErrorCode.HeaderTooLarge:
      return { status: 431, body: "Request Header Fields Too Large", flag: ResponseFlag.DownstreamProtocolError, details: "http1.headers_too_large", closeConnection: true };
    case ErrorCode.TooManyHeaders:
      return { status: 431, body: "Request Header Fields Too Large", flag: ResponseFlag.DownstreamProtocolError, details: "http1.too_many_headers", closeConnection: true };
    case ErrorCode.RequestHeaderTimeout:
      return { status: 408, body: "request timeout", flag: ResponseFlag.StreamIdleTimeout, details: "request_header_timeout", closeConnection: true };
    case ErrorCode.UnsupportedTransferEncoding:
      return { status: 501, body: "Not Implemented", flag: ResponseFlag.DownstreamProtocolError, details: "http1.invalid_transfer_encoding", closeConnection: true };
    case ErrorCode.BadRequest:
      return { status: 400, body: "Bad Request", flag: ResponseFlag.DownstreamProtocolError, details: `http1.codec_error{${(detail ?? "bad_request").replaceAll(" ", "_")}}`, closeConnection: true };
    default:
      return { status: 500, body: "internal error", flag: undefined, details: "internal_error" };
  }
}
