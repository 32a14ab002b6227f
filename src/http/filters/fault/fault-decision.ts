// The fault filter's decision (Envoy's envoy.filters.http.fault, per-route config from Istio
// `fault`): per request and with an injected Random, whether to delay and/or abort it.

import type { Random } from "../../../common/random.js";
import type { FaultPolicy, FractionalPercent } from "../../../config/model/types.js";

const DENOMINATOR = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 } as const;

/** Envoy's FractionalPercent roll: a uniform draw below numerator/denominator. Exact in distribution. */
export function rollPercent(p: FractionalPercent, random: Random): boolean {
  const d = DENOMINATOR[p.denominator];
  if (p.numerator <= 0) return false;
  if (p.numerator >= d) return true;
  return random.int(d) < p.numerator;
}

export interface FaultDecision {
  /** Delay before the request continues (flag DI). 0 = none. */
  delayMs: number;
  /** Abort with this HTTP status (flag FI). */
  abortStatus?: number;
  /** Abort as gRPC with this grpc-status (HTTP 200, trailers-only style). */
  abortGrpcStatus?: number;
}

/** undefined when the route has no fault or no roll hit. Delay and abort are rolled independently, as in Envoy. */
export function decideFault(fault: FaultPolicy | undefined, random: Random): FaultDecision | undefined {
  if (fault === undefined) return undefined;
  const delayMs = fault.delay !== undefined && rollPercent(fault.delay.percentage, random) ? fault.delay.fixedDelayMs : 0;
  let abortStatus: number | undefined;
  let abortGrpcStatus: number | undefined;
  if (fault.abort !== undefined && rollPercent(fault.abort.percentage, random)) {
    if (fault.abort.grpcStatus !== undefined) abortGrpcStatus = fault.abort.grpcStatus;
    else abortStatus = fault.abort.httpStatus;
  }
  if (delayMs === 0 && abortStatus === undefined && abortGrpcStatus === undefined) return undefined;
  const d: FaultDecision = { delayMs };
  if (abortStatus !== undefined) d.abortStatus = abortStatus;
  if (abortGrpcStatus !== undefined) d.abortGrpcStatus = abortGrpcStatus;
  return d;
}
