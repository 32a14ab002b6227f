// SlowStart: Envoy's slow start ramp for new hosts (Istio `warmup`): inside the window a host's
// weight is weight × max(minWeightPercent, timeFactor^(1/aggression)), timeFactor = max(1 ms, age) / window.

export interface SlowStartConfig {
  windowMs: number;
  /** 1.0 = linear; Envoy treats ≤ 0 / NaN as 1.0. */
  aggression: number;
  /** 10: Envoy's default floor, percent of the host weight. */
  minWeightPercent: number;
}

export class SlowStart {
  readonly windowMs: number;
  private readonly inverseAggression: number;
  private readonly minFactor: number;

  constructor(cfg: SlowStartConfig) {
    this.windowMs = cfg.windowMs;
    const aggression = cfg.aggression > 0 && !Number.isNaN(cfg.aggression) ? cfg.aggression : 1;
    this.inverseAggression = 1 / aggression;
    this.minFactor = Math.max(0, Math.min(100, cfg.minWeightPercent)) / 100;
  }

  /** The factor (0..1] applied to the weight of a host created at `createdAt`, at `now`. */
  factor(createdAt: number, now: number): number {
    const age = now - createdAt;
    if (!(age < this.windowMs)) return 1;
    // At least 1 ms, as Envoy's code does (its docs say 1 s; the floor below dominates either way).
    const timeFactor = Math.max(1, age) / this.windowMs;
    const ramped = this.inverseAggression === 1 || timeFactor >= 1 ? timeFactor : Math.pow(timeFactor, this.inverseAggression);
    return Math.min(1, Math.max(this.minFactor, ramped));
  }
}
