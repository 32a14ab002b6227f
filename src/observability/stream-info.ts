// StreamInfo: the one record every finished HTTP stream produces. Metrics, access logs and traces
// all hang from it (Envoy's StreamInfo); nothing else on the data path reports per-request facts.

/** Envoy response flags, in the order Envoy renders them (source/common/stream_info/utility.h). */
export const ResponseFlag = {
  FailedLocalHealthCheck: "LH",
  NoHealthyUpstream: "UH",
  UpstreamRequestTimeout: "UT",
  LocalReset: "LR",
  UpstreamRemoteReset: "UR",
  UpstreamConnectionFailure: "UF",
  UpstreamConnectionTermination: "UC",
  UpstreamOverflow: "UO",
  NoRouteFound: "NR",
  DelayInjected: "DI",
  FaultInjected: "FI",
  RateLimited: "RL",
  DownstreamConnectionTermination: "DC",
  UpstreamRetryLimitExceeded: "URX",
  StreamIdleTimeout: "SI",
  InvalidEnvoyRequestHeaders: "IH",
  DownstreamProtocolError: "DPE",
  UpstreamProtocolError: "UPE",
  NoClusterFound: "NC",
} as const;

export type ResponseFlagValue = (typeof ResponseFlag)[keyof typeof ResponseFlag];

export interface StreamInfo {
  /** Wall-clock start (ms since epoch). */
  startTime: number;
  /** Total duration in ms (first request byte to last response byte), sub-ms precision. */
  durationMs: number;
  /** Ms from upstream request start to upstream response headers (x-envoy-upstream-service-time). */
  upstreamServiceTimeMs: number | undefined;
  protocol: "HTTP/1.0" | "HTTP/1.1";
  method: string;
  /** Path as received (before rewrites): Envoy's %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%. */
  path: string;
  authority: string;
  userAgent: string | undefined;
  requestId: string | undefined;
  xForwardedFor: string | undefined;
  /** 0 when no response was sent (downstream went away first). */
  responseCode: number;
  /** Envoy's response_code_details, e.g. `via_upstream`, `route_not_found`. */
  responseCodeDetails: string;
  responseFlags: ResponseFlagValue[];
  /** Request body bytes received from downstream (wire bytes). */
  bytesReceived: number;
  /** Response body bytes sent to downstream (wire bytes). */
  bytesSent: number;
  routeName: string | undefined;
  virtualHostName: string | undefined;
  clusterName: string | undefined;
  /** `ip:port` of the chosen upstream host. */
  upstreamHost: string | undefined;
  upstreamLocalAddress: string | undefined;
  upstreamTransportFailureReason: string | undefined;
  downstreamRemoteAddress: string;
  downstreamLocalAddress: string;
  listenerName: string;
}

export type StreamInfoSink = (info: StreamInfo) => void;

/** Envoy renders flags comma-separated, `-` when none. */
export function formatResponseFlags(flags: readonly string[]): string {
  return flags.length === 0 ? "-" : flags.join(",");
}
