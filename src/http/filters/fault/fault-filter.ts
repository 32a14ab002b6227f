// FaultFilter (envoy.filters.http.fault): delays and/or aborts requests as the route's per-filter
// config says (Istio `fault`), with the DI / FI response flags. Rolled once per request with the
// worker's injected Random; the delay runs on the injected clock.

import { ErrorCode } from "../../../common/errors.js";
import type { TimerHandle } from "../../../common/timers.js";
import { HTTP_FAULT_FILTER } from "../../../config/model/types.js";
import { ResponseFlag } from "../../../observability/stream-info.js";
import { FilterStatus, type FilterCallbacks, type HttpFilter, type HttpFilterFactory } from "../http-filter.js";
import { decideFault, type FaultDecision } from "./fault-decision.js";

export class FaultFilter implements HttpFilter {
  private timer: TimerHandle | undefined;

  constructor(
    private readonly cb: FilterCallbacks,
    private readonly fault: FaultDecision,
  ) {}

  decodeHeaders(): FilterStatus {
    if (this.fault.delayMs <= 0) return this.abortOrContinue(false);
    this.cb.streamInfo.addFlag(ResponseFlag.DelayInjected);
    this.timer = this.cb.services.clock.set(() => {
      this.timer = undefined;
      this.abortOrContinue(true);
    }, this.fault.delayMs);
    return FilterStatus.StopIteration;
  }

  /** After the delay (or at once): abort with the configured status, or let the request go on. */
  private abortOrContinue(resume: boolean): FilterStatus {
    const f = this.fault;
    if (f.abortGrpcStatus !== undefined) {
      // Envoy: sendLocalReply(200, "fault filter abort", grpc_status). A gRPC request gets a
      // trailers-only answer with that grpc-status; any other gets a plain 200 with that body.
      this.cb.streamInfo.addFlag(ResponseFlag.FaultInjected);
      this.cb.sendResponse(200, "fault filter abort", "fault_filter_abort", undefined, f.abortGrpcStatus);
      return FilterStatus.StopIteration;
    }
    if (f.abortStatus !== undefined) {
      this.cb.sendLocalReply(ErrorCode.FaultAbort, String(f.abortStatus));
      return FilterStatus.StopIteration;
    }
    if (resume) this.cb.continueDecoding();
    return FilterStatus.Continue;
  }

  onStreamReset(): void {
    this.clear();
  }

  onComplete(): void {
    this.clear();
  }

  private clear(): void {
    if (this.timer !== undefined) {
      this.cb.services.clock.clear(this.timer);
      this.timer = undefined;
    }
  }
}

export const faultFilterFactory: HttpFilterFactory = {
  name: HTTP_FAULT_FILTER,
  create(cb) {
    const route = cb.route;
    // Envoy applies the fault filter to routed requests; no per-route config = nothing to do.
    if (route === undefined || route.kind !== "forward") return undefined;
    const decision = decideFault(route.fault, cb.services.random);
    return decision === undefined ? undefined : new FaultFilter(cb, decision);
  },
};
