// OutlierDetector: Envoy's consecutive-error outlier detection for one cluster over the cluster's
// shared buffer. Workers report attempt outcomes and eject at once (one CAS decides, so exactly one
// reporter ejects); the interval work (unejection, back-off decay) is `runOutlierInterval`, run by
// exactly one coordinator (the supervisor on the main thread, or the runtime when in-process).

import type { Clock } from "../../common/clock.js";
import type { Random } from "../../common/random.js";
import type { OutlierDetectionConfig } from "../../config/model/types.js";
import type { AttemptOutcome, OutlierReporter } from "../cluster-api.js";
import type { UpstreamHost } from "../upstream-host.js";
import { H, HF, HOST_F64, HostState, HW, hostBase, type ClusterSharedView } from "./cluster-shared-layout.js";

export const EjectionType = { Consecutive5xx: 0, ConsecutiveGateway: 1, ConsecutiveLocalOrigin: 2 } as const;
export type EjectionTypeValue = (typeof EjectionType)[keyof typeof EjectionType];

/** Envoy's max_ejection_time: its configured value, or base_ejection_time if that is larger. */
export function effectiveMaxEjectionMs(c: OutlierDetectionConfig): number {
  return Math.max(c.maxEjectionTimeMs, c.baseEjectionTimeMs);
}

function isGatewayError(status: number): boolean {
  return status === 502 || status === 503 || status === 504;
}

export class OutlierDetector implements OutlierReporter {
  readonly config: OutlierDetectionConfig;
  private readonly a: Int32Array;
  private readonly f: Float64Array;
  private readonly hostSlots: number;
  /** Weak: hosts are re-created on every host-set change (DNS re-resolution, reloads). */
  private readonly slots = new WeakMap<UpstreamHost, number>();
  private readonly random: Random;
  private readonly clock: Clock;
  private readonly maxEjectionMs: number;

  constructor(view: ClusterSharedView, config: OutlierDetectionConfig, random: Random, clock: Clock) {
    this.a = view.i32;
    this.f = view.f64;
    this.hostSlots = view.hostSlots;
    this.config = config;
    this.random = random;
    this.clock = clock;
    this.maxEjectionMs = effectiveMaxEjectionMs(config);
  }

  /** Binds a runtime host to its slot and points its `isEjected` at the shared state. */
  attach(host: UpstreamHost, slot: number): void {
    if (slot < 0 || slot >= this.hostSlots) return;
    this.slots.set(host, slot);
    const a = this.a;
    const i = hostBase(slot) + HW.State;
    host.isEjected = () => a[i] !== HostState.Healthy;
  }

  /** Changes whenever any host of the cluster is ejected or unejected (one typed-array read). */
  readonly epoch = (): number => this.a[H.EjectionEpoch]!;

  isEjected(slot: number): boolean {
    return this.a[hostBase(slot) + HW.State] !== HostState.Healthy;
  }

  report(host: UpstreamHost, outcome: AttemptOutcome): void {
    const slot = this.slots.get(host);
    if (slot !== undefined) this.reportSlot(slot, outcome);
  }

  /** Envoy's putResult / putHttpResponseCode for one host slot. */
  reportSlot(slot: number, outcome: AttemptOutcome): void {
    const split = this.config.splitExternalLocalOriginErrors;
    switch (outcome.kind) {
      case "response":
        this.httpCode(slot, outcome.status);
        return;
      case "connect-success":
        // Not split: Envoy maps no HTTP code to it (the response that follows is judged).
        if (split) Atomics.store(this.a, hostBase(slot) + HW.ConsecutiveLocalOrigin, 0);
        return;
      case "connect-success-final":
        if (split) Atomics.store(this.a, hostBase(slot) + HW.ConsecutiveLocalOrigin, 0);
        else this.httpCode(slot, 200);
        return;
      case "timeout":
        if (split) this.localOriginFailure(slot);
        else this.httpCode(slot, 504); // Envoy: LocalOriginTimeout → 504
        return;
      case "connect-failure":
      case "reset":
        if (split) this.localOriginFailure(slot);
        else this.httpCode(slot, 503); // Envoy: LocalOriginConnectFailed → 503
        return;
    }
  }

  private httpCode(slot: number, status: number): void {
    const a = this.a;
    const b = hostBase(slot);
    if (status >= 500 && status <= 599) {
      if (isGatewayError(status)) {
        if (Atomics.add(a, b + HW.ConsecutiveGateway, 1) + 1 === this.config.consecutiveGatewayFailure) {
          this.onConsecutive(slot, EjectionType.ConsecutiveGateway);
        }
      } else {
        Atomics.store(a, b + HW.ConsecutiveGateway, 0);
      }
      if (Atomics.add(a, b + HW.Consecutive5xx, 1) + 1 === this.config.consecutive5xx) {
        this.onConsecutive(slot, EjectionType.Consecutive5xx);
      }
      return;
    }
    // Plain stores only when needed: the success path stays cheap.
    if (a[b + HW.Consecutive5xx] !== 0) Atomics.store(a, b + HW.Consecutive5xx, 0);
    if (a[b + HW.ConsecutiveGateway] !== 0) Atomics.store(a, b + HW.ConsecutiveGateway, 0);
  }

  private localOriginFailure(slot: number): void {
    if (Atomics.add(this.a, hostBase(slot) + HW.ConsecutiveLocalOrigin, 1) + 1 === this.config.consecutiveLocalOriginFailure) {
      this.onConsecutive(slot, EjectionType.ConsecutiveLocalOrigin);
    }
  }

  /** A consecutive counter reached its threshold (exactly one reporter gets here per bout). */
  private onConsecutive(slot: number, type: EjectionTypeValue): void {
    const b = hostBase(slot);
    this.tryEject(slot, type);
    // Reset so the next bout of consecutive errors is detected again (Envoy resets after the attempt).
    const word = type === EjectionType.Consecutive5xx ? HW.Consecutive5xx : type === EjectionType.ConsecutiveGateway ? HW.ConsecutiveGateway : HW.ConsecutiveLocalOrigin;
    Atomics.store(this.a, b + word, 0);
  }

  private enforcing(type: EjectionTypeValue): number {
    const c = this.config;
    return type === EjectionType.Consecutive5xx ? c.enforcingConsecutive5xx : type === EjectionType.ConsecutiveGateway ? c.enforcingConsecutiveGatewayFailure : c.enforcingConsecutiveLocalOriginFailure;
  }

  /**
   * Envoy's max_ejection_percent: one more ejection must keep 100 × (active + 1) / hosts within
   * the limit — but at least one host can always be ejected, whatever the value.
   */
  private capAllows(active: number): boolean {
    return active === 0 || (100 * (active + 1)) / this.hostSlots <= this.config.maxEjectionPercent;
  }

  /** Returns true when the host was ejected. */
  private tryEject(slot: number, type: EjectionTypeValue): boolean {
    const a = this.a;
    const b = hostBase(slot);
    if (Atomics.load(a, b + HW.State) !== HostState.Healthy) return false;
    if (!this.capAllows(Atomics.load(a, H.ActiveEjections))) return false;
    // enforcing_*: a percentage roll.
    if (!(this.random.int(100) < this.enforcing(type))) return false;
    for (;;) {
      const active = Atomics.load(a, H.ActiveEjections);
      if (!this.capAllows(active)) return false;
      if (Atomics.compareExchange(a, H.ActiveEjections, active, active + 1) === active) break;
    }
    if (Atomics.compareExchange(a, b + HW.State, HostState.Healthy, HostState.Ejecting) !== HostState.Healthy) {
      Atomics.sub(a, H.ActiveEjections, 1);
      return false;
    }
    const base = this.config.baseEjectionTimeMs;
    const backoff = Atomics.load(a, b + HW.Backoff);
    // Envoy grows the multiplier only while base × backoff < max + base (the cap stays reachable).
    if (backoff * base < this.maxEjectionMs + base) Atomics.store(a, b + HW.Backoff, backoff + 1);
    this.f[slot * HOST_F64 + HF.LastEjectionMs] = this.clock.now();
    Atomics.add(a, b + HW.Ejections, 1);
    // The seq-cst store publishes the time written above to the coordinator.
    Atomics.store(a, b + HW.State, HostState.Ejected);
    Atomics.add(a, H.EjectionEpoch, 1);
    return true;
  }
}

/**
 * Envoy's interval timer work for one cluster: uneject hosts whose ejection time (base × backoff,
 * capped at max) has passed, and decay the back-off of hosts healthy for a whole interval. Must run
 * in exactly one place per cluster (it is not idempotent within one interval).
 */
export function runOutlierInterval(view: ClusterSharedView, config: OutlierDetectionConfig, now: number): number {
  const a = view.i32;
  const f = view.f64;
  const base = config.baseEjectionTimeMs;
  const max = effectiveMaxEjectionMs(config);
  let unejected = 0;
  for (let slot = 0; slot < view.hostSlots; slot++) {
    const b = hostBase(slot);
    const state = Atomics.load(a, b + HW.State);
    const backoff = Atomics.load(a, b + HW.Backoff);
    if (state === HostState.Ejected) {
      const duration = Math.min(base * backoff, max);
      if (now - f[slot * HOST_F64 + HF.LastEjectionMs]! >= duration) {
        f[slot * HOST_F64 + HF.LastUnejectionMs] = now;
        if (Atomics.compareExchange(a, b + HW.State, HostState.Ejected, HostState.Healthy) === HostState.Ejected) {
          Atomics.sub(a, H.ActiveEjections, 1);
          Atomics.add(a, H.EjectionEpoch, 1);
          unejected++;
        }
      }
    } else if (state === HostState.Healthy && backoff > 0) {
      const last = f[slot * HOST_F64 + HF.LastUnejectionMs]!;
      if (last > 0 && now - last >= config.intervalMs) {
        Atomics.compareExchange(a, b + HW.Backoff, backoff, backoff - 1);
      }
    }
  }
  return unejected;
}

/** Per-slot state for admin output and tests. */
export function outlierHostStates(view: ClusterSharedView): Array<{ ejected: boolean; backoff: number; ejections: number }> {
  const out = [];
  for (let slot = 0; slot < view.hostSlots; slot++) {
    const b = hostBase(slot);
    out.push({
      ejected: Atomics.load(view.i32, b + HW.State) !== HostState.Healthy,
      backoff: Atomics.load(view.i32, b + HW.Backoff),
      ejections: Atomics.load(view.i32, b + HW.Ejections),
    });
  }
  return out;
}
