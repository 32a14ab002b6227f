// StreamInfo: the one record every finished HTTP stream (and every TCP-proxied connection)
// produces. Metrics, access logs and traces all hang from it (Envoy's StreamInfo); nothing else
// on the data path reports per-request facts. Built by the stream, finished once, delivered to
// the worker's sink.

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
  /** Envoy's timing points, in ms since the stream started (undefined: never reached). */
  timings: StreamTimings;
  /** Upstream attempts made (Envoy's %UPSTREAM_REQUEST_ATTEMPT_COUNT%); 0 when none started. */
  attemptCount: number;
  /** `-` for a TCP-proxied connection (Envoy renders %PROTOCOL% as `-` there). */
  protocol: "HTTP/1.0" | "HTTP/1.1" | "HTTP/2" | "-";
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
  /** Request body bytes received from downstream (payload, after de-chunking). */
  bytesReceived: number;
  /** Response body bytes sent to downstream (payload). */
  bytesSent: number;
  /** Request body bytes sent upstream by the last attempt, and response body bytes it returned. */
  upstreamBytesSent: number;
  upstreamBytesReceived: number;
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
  /** The filter chain that took the connection. */
  filterChainName: string;
  /** `http` for HTTP streams, `tcp` for a TCP-proxied connection. */
  kind: "http" | "tcp";
}

/** Envoy's downstream/upstream timing points (ms since the stream's first byte). */
export interface StreamTimings {
  lastDownstreamRxByteReceived?: number;
  upstreamConnectStart?: number;
  upstreamConnectComplete?: number;
  firstUpstreamTxByteSent?: number;
  lastUpstreamTxByteSent?: number;
  firstUpstreamRxByteReceived?: number;
  lastUpstreamRxByteReceived?: number;
  firstDownstreamTxByteSent?: number;
  lastDownstreamTxByteSent?: number;
}

export type StreamInfoSink = (info: StreamInfo) => void;

/**
 * The mutable side of a StreamInfo while its stream runs: filters and the router record what
 * they learn; the stream turns it into the record once, when it ends.
 */
export class StreamInfoBuilder {
  readonly startTime: number;
  readonly startMono: number;
  private readonly mono: () => number;
  readonly timings: StreamTimings = {};
  responseFlags: ResponseFlagValue[] = [];
  responseCode = 0;
  responseCodeDetails = "";
  upstreamServiceTimeMs: number | undefined;
  attemptCount = 0;
  bytesReceived = 0;
  bytesSent = 0;
  upstreamBytesSent = 0;
  upstreamBytesReceived = 0;
  routeName: string | undefined;
  virtualHostName: string | undefined;
  clusterName: string | undefined;
  upstreamHost: string | undefined;
  upstreamLocalAddress: string | undefined;
  upstreamTransportFailureReason: string | undefined;
  requestId: string | undefined;

  constructor(clock: { now(): number; monotonic(): number }) {
    this.mono = () => clock.monotonic();
    this.startTime = clock.now();
    this.startMono = clock.monotonic();
  }

  addFlag(f: ResponseFlagValue): void {
    if (!this.responseFlags.includes(f)) this.responseFlags.push(f);
  }

  /** Ms since the stream started, on the injected monotonic clock. */
  elapsed(): number {
    return this.mono() - this.startMono;
  }

  /** Records a timing point once (the first time it is reached). */
  mark(point: keyof StreamTimings): void {
    if (this.timings[point] === undefined) this.timings[point] = this.elapsed();
  }

  /** Records a timing point every time (last-byte points). */
  markLast(point: keyof StreamTimings): void {
    this.timings[point] = this.elapsed();
  }
}

/** Envoy renders flags comma-separated, `-` when none. */
export function formatResponseFlags(flags: readonly string[]): string {
  return flags.length === 0 ? "-" : flags.join(",");
}
