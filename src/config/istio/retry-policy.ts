// VirtualService `retries` → Envoy retry policy, as istiod's retry.ConvertPolicy writes it:
// Istio's default policy when `retries` is unset, none when `attempts` is 0.

import type { RetryPolicy } from "../model/types.js";
import type { ParsedRetries } from "./parsed-config.js";

/** istiod's default retry_on (current Istio: no status code is retried by default, not even 503). */
export const DEFAULT_RETRY_ON = ["connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes"];
/** 2: Istio's default num_retries. */
export const DEFAULT_NUM_RETRIES = 2;
/** 5: istiod's host_selection_retry_max_attempts. */
export const HOST_SELECTION_RETRY_MAX_ATTEMPTS = 5;
/** 25 ms: Envoy's default retry back-off base interval. */
export const DEFAULT_BACKOFF_BASE_MS = 25;

// Go's http.StatusText table: only these integers count as status codes in retryOn (istiod parseRetryOn).
const KNOWN_STATUS = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308,
  400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424, 425,
  426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
]);

function basePolicy(consistentHash: boolean): RetryPolicy {
  return {
    retryOn: [...DEFAULT_RETRY_ON],
    numRetries: DEFAULT_NUM_RETRIES,
    retriableStatusCodes: [],
    retriableHeaders: [],
    // With consistent hashing a retry must stay on the hashed host: no previous-hosts predicate.
    retryHostPredicatePreviousHosts: !consistentHash,
    hostSelectionRetryMaxAttempts: HOST_SELECTION_RETRY_MAX_ATTEMPTS,
    backoffBaseMs: DEFAULT_BACKOFF_BASE_MS,
    backoffMaxMs: 10 * DEFAULT_BACKOFF_BASE_MS,
  };
}

/**
 * `retries` absent → Istio's default; `attempts: 0` → undefined (no retries). Otherwise the
 * default with the user's fields on top; integer retryOn parts become retriable status codes.
 */
export function convertRetryPolicy(retries: ParsedRetries | undefined, consistentHash: boolean): RetryPolicy | undefined {
  const out = basePolicy(consistentHash);
  if (!retries) return out;
  if (retries.attempts <= 0) return undefined;
  out.numRetries = retries.attempts;
  if (retries.retryOn !== undefined && retries.retryOn !== "") {
    const { on, codes } = parseRetryOn(retries.retryOn);
    let joined = on.join(",");
    if (codes.length > 0 && !joined.includes("retriable-status-codes")) joined += ",retriable-status-codes";
    out.retryOn = joined.split(",").filter((x) => x !== "");
    out.retriableStatusCodes = codes;
  }
  if (retries.perTryTimeoutMs !== undefined) out.perTryTimeoutMs = retries.perTryTimeoutMs;
  if (retries.retryIgnorePreviousHosts !== undefined) out.retryHostPredicatePreviousHosts = retries.retryIgnorePreviousHosts;
  if (retries.retryRemoteLocalities === true) out.retryRemoteLocalities = true;
  if (retries.backoffMs !== undefined) {
    out.backoffBaseMs = retries.backoffMs;
    // Envoy: max_interval defaults to 10 × base_interval.
    out.backoffMaxMs = 10 * retries.backoffMs;
  }
  return out;
}

function parseRetryOn(retryOn: string): { on: string[]; codes: number[] } {
  const on: string[] = [];
  const codes: number[] = [];
  for (const raw of retryOn.split(",")) {
    const part = raw.trim();
    if (part === "") continue;
    const n = /^[+-]?\d+$/.test(part) ? Number(part) : NaN;
    if (KNOWN_STATUS.has(n)) codes.push(n);
    else on.push(part);
  }
  return { on, codes };
}

/** istiod's default inbound route policy (1.24+): retry only resets before the request was sent. */
export function inboundRetryPolicy(): RetryPolicy {
  return {
    retryOn: ["reset-before-request"],
    numRetries: DEFAULT_NUM_RETRIES,
    retriableStatusCodes: [],
    retriableHeaders: [],
    retryHostPredicatePreviousHosts: false,
    // 1: Envoy's default host_selection_retry_max_attempts (istiod sets none inbound).
    hostSelectionRetryMaxAttempts: 1,
    backoffBaseMs: DEFAULT_BACKOFF_BASE_MS,
    backoffMaxMs: 10 * DEFAULT_BACKOFF_BASE_MS,
  };
}
