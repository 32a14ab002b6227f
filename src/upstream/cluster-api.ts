// The contract between the router (one request's attempts) and a cluster at run time: host
// selection, circuit breakers and outlier reporting. The router codes against these interfaces;
// load balancing, shared (cross-worker) resource counting and outlier detection implement them.

import type { HashPolicy } from "../config/model/types.js";
import type { HeaderList } from "../http/header-list.js";
import type { ClusterStats } from "../observability/stats/cluster-stats.js";
import type { UpstreamHost } from "./upstream-host.js";

/** What a load balancer may look at for one pick. */
export interface LbContext {
  /** Consistent-hash key computed from the route's hash policies (undefined = none applies). */
  hash?: bigint | undefined;
  /**
   * Hosts already tried by earlier attempts of this request (Envoy's previous_hosts predicate):
   * the LB re-picks up to `hostSelectionRetryMaxAttempts` times to avoid them.
   */
  previousHosts?: readonly UpstreamHost[] | undefined;
  hostSelectionRetryMaxAttempts?: number;
  /** Retries may go to other priorities/localities (Istio retryRemoteLocalities). */
  retryRemoteLocalities?: boolean;
  /**
   * The downstream connection's local address (its original destination once a listener filter
   * restored it): an ORIGINAL_DST cluster's host. Only set for such clusters.
   */
  originalDst?: { ip: string; port: number } | undefined;
}

/** Facts a hash policy may read from the request. */
export interface HashInput {
  headers: HeaderList;
  /** Path with query string. */
  path: string;
  sourceIp: string;
}

export interface HashResult {
  hash: bigint | undefined;
  /** A `set-cookie` value to add to the response when a cookie policy generated one. */
  setCookie?: string;
}

/** Computes a request's hash from route hash policies (Envoy semantics: combined in order, terminal stops). */
export type HashPolicyEvaluator = (policies: readonly HashPolicy[], input: HashInput) => HashResult;

/**
 * Circuit breaker accounting for one cluster, shared by every worker (Envoy's per-cluster
 * resource manager). `try*` returns false when the limit is reached: the caller replies 503 UO
 * (and never retries an overflow).
 */
export interface ClusterResources {
  /** maxRequests: requests in flight to the cluster. */
  tryAcquireRequest(): boolean;
  releaseRequest(): void;
  /** maxRetries: retries in flight to the cluster. */
  tryAcquireRetry(): boolean;
  releaseRetry(): void;
}

/** How an attempt ended, for outlier detection (Envoy's Result / HTTP status reporting). */
export type AttemptOutcome =
  | { kind: "response"; status: number }
  /** Local-origin failures: the connection could not be made, timed out, or was reset. */
  | { kind: "connect-failure" }
  | { kind: "timeout" }
  | { kind: "reset" }
  /** Local-origin success: the connection worked (reported before the response is judged). */
  | { kind: "connect-success" }
  /**
   * Envoy's LocalOriginConnectSuccessFinal: the connection is all there is to judge (TCP proxy), so
   * without split local/external errors it counts as a 200.
   */
  | { kind: "connect-success-final" };

export interface OutlierReporter {
  report(host: UpstreamHost, outcome: AttemptOutcome): void;
}

/** What the router needs from a runtime cluster. */
export interface RouterCluster {
  readonly name: string;
  /** A host for one attempt, or undefined (no healthy upstream). */
  chooseHost(ctx: LbContext): UpstreamHost | undefined;
  /** ORIGINAL_DST: the host is the downstream connection's original destination (`LbContext.originalDst`). */
  readonly originalDst: boolean;
  readonly resources: ClusterResources;
  readonly outlier: OutlierReporter;
  /** `cluster.<name>.*` Envoy stats. */
  readonly stats: ClusterStats;
}
