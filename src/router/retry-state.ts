// RetryState: one request's retry budget and Envoy's retry_on rules (retry_state_impl.cc): which
// responses and failures may be retried, and the fully-jittered exponential back-off.

import type { Random } from "../common/random.js";
import type { RetryPolicy } from "../config/model/types.js";
import type { HeaderList } from "../http/header-list.js";
import type { LbContext } from "../upstream/cluster-api.js";
import { compileHeaderMatcher, type ContextPredicate } from "./header-matcher.js";
import { MatchContext } from "./match-context.js";

const enum On {
  X5xx = 1 << 0,
  GatewayError = 1 << 1,
  Reset = 1 << 2,
  ResetBeforeRequest = 1 << 3,
  ConnectFailure = 1 << 4,
  EnvoyRateLimited = 1 << 5,
  Retriable4xx = 1 << 6,
  RefusedStream = 1 << 7,
  RetriableStatusCodes = 1 << 8,
  RetriableHeaders = 1 << 9,
  Http3PostConnectFailure = 1 << 10,
}

const NAMES: Record<string, number> = {
  "5xx": On.X5xx,
  "gateway-error": On.GatewayError,
  reset: On.Reset,
  "reset-before-request": On.ResetBeforeRequest,
  "connect-failure": On.ConnectFailure,
  "envoy-ratelimited": On.EnvoyRateLimited,
  "retriable-4xx": On.Retriable4xx,
  "refused-stream": On.RefusedStream,
  "retriable-status-codes": On.RetriableStatusCodes,
  "retriable-headers": On.RetriableHeaders,
  "http3-post-connect-failure": On.Http3PostConnectFailure,
};

/** gRPC retry_on conditions → grpc-status codes (Envoy retry_grpc_on). */
const GRPC: Record<string, number> = { cancelled: 1, "deadline-exceeded": 4, "resource-exhausted": 8, internal: 13, unavailable: 14 };

/** How an attempt failed without a usable response. */
export type FailureKind =
  /** The connection could not be made (refused, connect timeout): nothing reached the app. */
  | "connect-failure"
  /** The connection broke after (part of) the request was sent. */
  | "reset"
  /** The per-try timeout fired before response headers. */
  | "per-try-timeout"
  /** An HTTP/2 upstream refused the stream (REFUSED_STREAM, GOAWAY): the app never saw it. */
  | "refused-stream";

/** A compiled RetryPolicy, shared by every request on the route. */
export class CompiledRetryPolicy {
  readonly policy: RetryPolicy;
  readonly on: number;
  readonly grpcCodes: ReadonlySet<number>;
  readonly retriableHeaders: readonly ContextPredicate[];
  /**
   * The load balancer's context for an attempt without a hash key and without previous hosts to
   * avoid (the common case): shared, so picking a host allocates nothing per request.
   */
  readonly lbContext: LbContext;

  constructor(policy: RetryPolicy) {
    this.policy = policy;
    this.lbContext = Object.freeze({ hostSelectionRetryMaxAttempts: policy.hostSelectionRetryMaxAttempts ?? 0, retryRemoteLocalities: policy.retryRemoteLocalities ?? false });
    let on = 0;
    const grpc = new Set<number>();
    for (const raw of policy.retryOn) {
      const name = raw.trim();
      if (NAMES[name] !== undefined) on |= NAMES[name]!;
      else if (GRPC[name] !== undefined) grpc.add(GRPC[name]!);
    }
    this.on = on;
    this.grpcCodes = grpc;
    this.retriableHeaders = policy.retriableHeaders.map((m, i) => compileHeaderMatcher(m, `retryPolicy.retriableHeaders[${i}]`));
  }
}

/**
 * What a request's own headers add to the route's policy (Envoy's RetryStateImpl):
 * `x-envoy-retry-on` and `x-envoy-retry-grpc-on` conditions, `x-envoy-max-retries` replacing the
 * retry count once any condition is on.
 */
export interface RetryOverrides {
  on: number;
  grpc: number[];
  maxRetries: number | undefined;
}

const RETRY_HEADERS: ReadonlySet<string> = new Set([
  "x-envoy-retry-on",
  "x-envoy-retry-grpc-on",
  "x-envoy-max-retries",
  "x-envoy-retriable-status-codes",
  "x-envoy-retriable-header-names",
  "x-envoy-hedge-on-per-try-timeout",
]);

/**
 * Reads Envoy's retry request headers and removes them all (Envoy consumes them so they never reach
 * the upstream). undefined, and nothing touched, when the request has none (one pass over names).
 */
export function takeRetryHeaders(h: HeaderList): RetryOverrides | undefined {
  const names = h.lower;
  let any = false;
  for (let i = 0; i < names.length; i++) {
    const n = names[i]!;
    // 120 = "x": every retry header starts with x-envoy-; most names are rejected on one char.
    if (n.charCodeAt(0) === 120 && RETRY_HEADERS.has(n)) {
      any = true;
      break;
    }
  }
  if (!any) return undefined;
  let on = 0;
  const grpc: number[] = [];
  for (const t of (h.getJoined("x-envoy-retry-on") ?? "").split(",")) on |= NAMES[t.trim()] ?? 0;
  for (const t of (h.getJoined("x-envoy-retry-grpc-on") ?? "").split(",")) {
    const c = GRPC[t.trim()];
    if (c !== undefined) grpc.push(c);
  }
  const max = h.get("x-envoy-max-retries");
  for (const n of RETRY_HEADERS) h.remove(n);
  return { on, grpc, maxRetries: max !== undefined && /^[0-9]{1,9}$/.test(max) ? Number(max) : undefined };
}

/** The policy of a route without one when the request asks for retries: Envoy's defaults (1 retry, 25 ms back-off). */
export const HEADER_ONLY_RETRY_POLICY = new CompiledRetryPolicy({
  retryOn: [],
  numRetries: 1,
  retriableStatusCodes: [],
  retriableHeaders: [],
  retryHostPredicatePreviousHosts: false,
  hostSelectionRetryMaxAttempts: 1,
  backoffBaseMs: 25,
  backoffMaxMs: 250,
});

export class RetryState {
  private readonly p: CompiledRetryPolicy;
  private readonly random: Random;
  /** Retries performed so far (the first attempt is not a retry). */
  retries = 0;
  private readonly maxRetries: number;
  /** The route's conditions, plus the request's own (retry-on headers). */
  private readonly on: number;
  private readonly grpcCodes: ReadonlySet<number>;

  constructor(policy: CompiledRetryPolicy, random: Random, overrides?: RetryOverrides) {
    this.p = policy;
    this.random = random;
    let on = policy.on;
    let grpc = policy.grpcCodes;
    let max = policy.policy.numRetries;
    if (overrides !== undefined) {
      on |= overrides.on;
      if (overrides.grpc.length > 0) grpc = new Set([...grpc, ...overrides.grpc]);
      if ((on !== 0 || grpc.size > 0) && overrides.maxRetries !== undefined) max = overrides.maxRetries;
    }
    this.on = on;
    this.grpcCodes = grpc;
    this.maxRetries = max;
  }

  /** Whether any condition is on (Envoy creates no retry state otherwise). */
  get enabled(): boolean {
    return this.on !== 0 || this.grpcCodes.size > 0;
  }

  get exhausted(): boolean {
    return this.retries >= this.maxRetries;
  }

  /** Would Envoy retry this response (before the retry budget is checked)? */
  wouldRetryResponse(status: number, headers: HeaderList): boolean {
    const on = this.on;
    if (on & On.X5xx && status >= 500) return true;
    if (on & On.GatewayError && (status === 502 || status === 503 || status === 504)) return true;
    if (on & On.Retriable4xx && status === 409) return true;
    if (on & On.RetriableStatusCodes && this.p.policy.retriableStatusCodes.includes(status)) return true;
    if (on & On.EnvoyRateLimited && headers.has("x-envoy-ratelimited")) return true;
    if (on & On.RetriableHeaders && this.p.retriableHeaders.length > 0) {
      const ctx = new MatchContext();
      ctx.reset({ method: "", path: "/", authority: "", scheme: "http", headers });
      try {
        for (const m of this.p.retriableHeaders) if (m(ctx)) return true;
      } finally {
        ctx.clear();
      }
    }
    // Envoy reads the gRPC status from the response headers only: a trailers-only answer.
    if (this.grpcCodes.size > 0) {
      const g = headers.get("grpc-status");
      if (g !== undefined && this.grpcCodes.has(Number(g))) return true;
    }
    return false;
  }

  /**
   * Would Envoy retry this failure? `requestSent` is whether any request byte left for the
   * upstream: a request that may have reached the app is retried only when retry_on says so
   * (`reset`, `5xx`, `gateway-error`), never under `connect-failure` / `reset-before-request`.
   */
  wouldRetryFailure(kind: FailureKind, requestSent: boolean): boolean {
    const on = this.on;
    if (kind === "per-try-timeout") return (on & (On.X5xx | On.GatewayError | On.Reset)) !== 0;
    // Envoy: RemoteRefusedStreamReset is retried under refused-stream, else as any reset.
    if (kind === "refused-stream" && on & On.RefusedStream) return true;
    if (kind === "connect-failure") return (on & (On.ConnectFailure | On.X5xx | On.GatewayError | On.Reset | On.ResetBeforeRequest)) !== 0;
    if (on & (On.X5xx | On.GatewayError | On.Reset)) return true;
    return !requestSent && (on & On.ResetBeforeRequest) !== 0;
  }

  /**
   * Takes one retry from the budget and returns its back-off in ms: uniformly random in
   * [0, (2^n − 1) × base) for retry n, capped at the maximum (Envoy's fully jittered back-off).
   */
  nextBackoffMs(): number {
    this.retries++;
    const { backoffBaseMs, backoffMaxMs } = this.p.policy;
    const ceiling = Math.min(backoffMaxMs, (2 ** this.retries - 1) * backoffBaseMs);
    return Math.floor(this.random.next() * ceiling);
  }
}
