// StreamInfo: the one record every finished HTTP stream (and every TCP-proxied connection)
// produces. Metrics, access logs and traces all hang from it (Envoy's StreamInfo); nothing else
// on the data path reports per-request facts. Built by the stream, finished once, delivered to
// the worker's sink.

import { responseGrpcMessage, responseGrpcStatus } from "../http/grpc/grpc-status.js";
import type { UpstreamTlsInfo } from "../tls/upstream-tls-info.js";
import type { TrafficDirection } from "../config/model/types.js";
import type { HeaderList } from "../http/header-list.js";
import type { ActiveSpan, CompiledTelemetry } from "./telemetry.js";
import type { WorkloadMetadata } from "./workload-metadata.js";
import type { DownstreamTlsInfo } from "../listener/connection-info.js";

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
  UnauthorizedExternalService: "UAEX",
  /** The client reset the stream (HTTP/2 RST_STREAM; details `http2.remote_reset`). */
  DownstreamRemoteReset: "DR",
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
  /** `:scheme` of the request (`http`/`https`); "" without a request (%REQ(:SCHEME)%). */
  scheme: string;
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
  /** The listener's direction: OUTBOUND (reporter=source) or INBOUND (reporter=destination). */
  direction: TrafficDirection;
  /** The request headers as the router sent them upstream (%REQ(X)%); undefined without a request. */
  requestHeaders: HeaderList | undefined;
  /** The response headers as sent downstream (%RESP(X)%); undefined when none were sent. */
  responseHeaders: HeaderList | undefined;
  /** The response trailers as sent downstream (%TRAILER(X)%). */
  responseTrailers: HeaderList | undefined;
  /**
   * The response's grpc-status: the trailers', else a trailers-only answer's headers' (-1: not a
   * number, Envoy's InvalidCode); undefined when the response carried none. Read lazily.
   */
  readonly grpcStatus: number | undefined;
  /** The response's grpc-message as sent (percent-encoded), from the same place as grpcStatus. */
  readonly grpcMessage: string | undefined;
  /** SNI the client asked for (%REQUESTED_SERVER_NAME%); undefined on plaintext. */
  requestedServerName: string | undefined;
  /** Envoy's %CONNECTION_TERMINATION_DETAILS%. */
  connectionTerminationDetails: string | undefined;
  /** The peer workload learnt by Istio's metadata exchange (undefined: none). */
  peer: WorkloadMetadata | undefined;
  /** The request's span or trace context (undefined: no tracer). */
  span: ActiveSpan | undefined;
  /** The telemetry of the chain that carried the stream (access logs, stats, tracer). */
  telemetry: CompiledTelemetry | undefined;
  /** The downstream connection's TLS (mTLS peer, principal); undefined = plaintext. */
  downstreamTls: DownstreamTlsInfo | undefined;
  /** TLS facts of the upstream connection that carried the (last) attempt; undefined for plaintext. */
  upstreamTls: UpstreamTlsInfo | undefined;
  /** The request's verified JWT (Istio request.auth.*), set by jwt_authn; undefined = none. */
  requestAuth: RequestAuthInfo | undefined;
  /** Envoy's dynamic metadata written by filters, by filter name (RBAC shadow results); undefined = none. */
  dynamicMetadata: Record<string, Record<string, string>> | undefined;
}

/** Istio's request.auth.* attributes from the JWT that jwt_authn verified. */
export interface RequestAuthInfo {
  /** `iss/sub` (Istio request.auth.principal). */
  principal: string;
  issuer: string;
  subject: string;
  /** The `aud` claim as a list. */
  audiences: string[];
  /** The `azp` claim; "" when absent. */
  presenter: string;
  /** The whole payload (request.auth.claims[...], nested claims by path). */
  claims: Record<string, unknown>;
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
 * Timing points as one fixed-shape object (all points present, undefined until reached): one
 * allocation per stream, and every stream's timings share one hidden class.
 */
class Timings implements StreamTimings {
  lastDownstreamRxByteReceived: number | undefined = undefined;
  upstreamConnectStart: number | undefined = undefined;
  upstreamConnectComplete: number | undefined = undefined;
  firstUpstreamTxByteSent: number | undefined = undefined;
  lastUpstreamTxByteSent: number | undefined = undefined;
  firstUpstreamRxByteReceived: number | undefined = undefined;
  lastUpstreamRxByteReceived: number | undefined = undefined;
  firstDownstreamTxByteSent: number | undefined = undefined;
  lastDownstreamTxByteSent: number | undefined = undefined;
}

/**
 * The mutable side of a StreamInfo while its stream runs: filters and the router record what
 * they learn; when the stream ends, `finish` completes it and the builder itself is the record
 * (one object per stream instead of two: this is on every request's path). The clock and the
 * monotonic start are private fields, so the record shows only StreamInfo's fields.
 */
export class StreamInfoBuilder implements StreamInfo {
  readonly #clock: { monotonic(): number };
  readonly #startMono: number;
  readonly startTime: number;
  durationMs = 0;
  readonly timings: StreamTimings = new Timings();
  responseFlags: ResponseFlagValue[] = [];
  responseCode = 0;
  responseCodeDetails = "";
  upstreamServiceTimeMs: number | undefined = undefined;
  attemptCount = 0;
  bytesReceived = 0;
  bytesSent = 0;
  upstreamBytesSent = 0;
  upstreamBytesReceived = 0;
  routeName: string | undefined = undefined;
  virtualHostName: string | undefined = undefined;
  clusterName: string | undefined = undefined;
  upstreamHost: string | undefined = undefined;
  upstreamLocalAddress: string | undefined = undefined;
  upstreamTransportFailureReason: string | undefined = undefined;
  requestId: string | undefined = undefined;
  // The request's facts, set by the stream when it ends.
  protocol: StreamInfo["protocol"] = "HTTP/1.1";
  method = "";
  path = "";
  authority = "";
  scheme = "";
  userAgent: string | undefined = undefined;
  xForwardedFor: string | undefined = undefined;
  downstreamRemoteAddress = "";
  downstreamLocalAddress = "";
  listenerName = "";
  filterChainName = "";
  kind: StreamInfo["kind"] = "http";
  direction: TrafficDirection = "OUTBOUND";
  requestHeaders: HeaderList | undefined = undefined;
  responseHeaders: HeaderList | undefined = undefined;
  responseTrailers: HeaderList | undefined = undefined;
  requestedServerName: string | undefined = undefined;

  get grpcStatus(): number | undefined {
    return responseGrpcStatus(this.responseTrailers, this.responseHeaders, 0);
  }

  get grpcMessage(): string | undefined {
    return responseGrpcMessage(this.responseTrailers, this.responseHeaders);
  }

  connectionTerminationDetails: string | undefined = undefined;
  peer: WorkloadMetadata | undefined = undefined;
  span: ActiveSpan | undefined = undefined;
  telemetry: CompiledTelemetry | undefined = undefined;
  downstreamTls: DownstreamTlsInfo | undefined = undefined;
  upstreamTls: UpstreamTlsInfo | undefined = undefined;
  requestAuth: RequestAuthInfo | undefined = undefined;
  dynamicMetadata: Record<string, Record<string, string>> | undefined = undefined;

  constructor(clock: { now(): number; monotonic(): number }) {
    this.#clock = clock;
    this.startTime = clock.now();
    this.#startMono = clock.monotonic();
  }

  addFlag(f: ResponseFlagValue): void {
    if (!this.responseFlags.includes(f)) this.responseFlags.push(f);
  }

  /** Ms since the stream started, on the injected monotonic clock. */
  elapsed(): number {
    return this.#clock.monotonic() - this.#startMono;
  }

  /** Records a timing point once (the first time it is reached). */
  mark(point: keyof StreamTimings): void {
    if (readTiming(this.timings, point) === undefined) writeTiming(this.timings, point, this.elapsed());
  }

  /**
   * `mark` with a time already read (`elapsed()`): points reached in the same instant share one
   * clock read (each read is a clock_gettime call; a request reaches about ten points).
   */
  markAt(point: keyof StreamTimings, ms: number): void {
    if (readTiming(this.timings, point) === undefined) writeTiming(this.timings, point, ms);
  }

  /** Records a timing point every time (last-byte points). */
  markLast(point: keyof StreamTimings, ms = this.elapsed()): void {
    writeTiming(this.timings, point, ms);
  }

  /**
   * Sets the facts of a record that has no parsed request (a TCP connection, a request the codec
   * refused): `-` for protocol, method, path and authority, as Envoy's access log prints them.
   */
  withoutRequest(kind: StreamInfo["kind"], protocol: StreamInfo["protocol"]): this {
    this.kind = kind;
    this.protocol = protocol;
    this.method = "-";
    this.path = "-";
    this.authority = "-";
    return this;
  }

  /** Completes the record (the stream set the request's facts): the builder is the record. */
  finish(durationMs = this.elapsed()): StreamInfo {
    this.durationMs = durationMs;
    return this;
  }
}

// Named property accesses, one per point: `timings[point]` with a variable name is a megamorphic
// keyed access (a stub-cache lookup) on every mark, about a dozen per request.
function readTiming(t: StreamTimings, point: keyof StreamTimings): number | undefined {
  switch (point) {
    case "lastDownstreamRxByteReceived":
      return t.lastDownstreamRxByteReceived;
    case "upstreamConnectStart":
      return t.upstreamConnectStart;
    case "upstreamConnectComplete":
      return t.upstreamConnectComplete;
    case "firstUpstreamTxByteSent":
      return t.firstUpstreamTxByteSent;
    case "lastUpstreamTxByteSent":
      return t.lastUpstreamTxByteSent;
    case "firstUpstreamRxByteReceived":
      return t.firstUpstreamRxByteReceived;
    case "lastUpstreamRxByteReceived":
      return t.lastUpstreamRxByteReceived;
    case "firstDownstreamTxByteSent":
      return t.firstDownstreamTxByteSent;
    case "lastDownstreamTxByteSent":
      return t.lastDownstreamTxByteSent;
  }
}

function writeTiming(t: StreamTimings, point: keyof StreamTimings, ms: number): void {
  switch (point) {
    case "lastDownstreamRxByteReceived":
      t.lastDownstreamRxByteReceived = ms;
      return;
    case "upstreamConnectStart":
      t.upstreamConnectStart = ms;
      return;
    case "upstreamConnectComplete":
      t.upstreamConnectComplete = ms;
      return;
    case "firstUpstreamTxByteSent":
      t.firstUpstreamTxByteSent = ms;
      return;
    case "lastUpstreamTxByteSent":
      t.lastUpstreamTxByteSent = ms;
      return;
    case "firstUpstreamRxByteReceived":
      t.firstUpstreamRxByteReceived = ms;
      return;
    case "lastUpstreamRxByteReceived":
      t.lastUpstreamRxByteReceived = ms;
      return;
    case "firstDownstreamTxByteSent":
      t.firstDownstreamTxByteSent = ms;
      return;
    case "lastDownstreamTxByteSent":
      t.lastDownstreamTxByteSent = ms;
      return;
  }
}

/** Envoy renders flags comma-separated, `-` when none. */
export function formatResponseFlags(flags: readonly string[]): string {
  return flags.length === 0 ? "-" : flags.join(",");
}
