// Bench settings from the environment (see bench/README.md for each knob).
import os from 'node:os';

function num(name, def, { min = 0, max = Infinity } = {}) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) throw new Error(`${name}=${raw}: expected a number in [${min}, ${max}]`);
  return v;
}

// Targets of each scenario when BENCH_TARGETS is unset (bench/README.md, "Scenarios").
const DEFAULT_TARGETS = {
  default: 'direct,outrigger-1w,outrigger-resilient-1w,outrigger-Nw,nginx',
  resilience: 'direct,outrigger-1w,outrigger-resilient-1w',
  failover: '',
};

export function readConfig() {
  const cpus = os.availableParallelism();
  const scenario = process.env.BENCH_SCENARIO || 'default';
  if (!(scenario in DEFAULT_TARGETS)) throw new Error(`BENCH_SCENARIO=${scenario}: expected default, resilience or failover`);
  const durationS = num('BENCH_DURATION', 10, { min: 1, max: 600 });
  const rate = num('BENCH_RATE', 1000, { min: 1, max: 100_000 });
  const cfg = {
    durationS,
    rounds: num('BENCH_ROUNDS', 3, { min: 1, max: 20 }),
    connections: num('BENCH_CONNECTIONS', 50, { min: 1, max: 1000 }),
    warmupS: num('BENCH_WARMUP', 3, { min: 0, max: 60 }),
    rate,
    pacedDurationS: num('BENCH_PACED_DURATION', durationS, { min: 1, max: 600 }),
    pacedConnections: num('BENCH_PACED_CONNECTIONS', 12, { min: 1, max: 256 }),
    wrkDurationS: num('BENCH_WRK_DURATION', Math.min(5, durationS), { min: 1, max: 600 }),
    quietBudgetS: num('BENCH_QUIET_BUDGET', 45, { min: 0, max: 3600 }),
    workersN: num('BENCH_WORKERS', Math.max(2, cpus), { min: 2, max: 256 }),
    upstream: process.env.BENCH_UPSTREAM || 'auto',
    scenario,
    targets: (process.env.BENCH_TARGETS || DEFAULT_TARGETS[scenario]).split(',').map((s) => s.trim()).filter(Boolean),
    // The failover part runs in the resilience and failover scenarios (or with BENCH_FAILOVER=1).
    failover: scenario !== 'default' || process.env.BENCH_FAILOVER === '1',
    failoverRate: num('BENCH_FAILOVER_RATE', rate, { min: 1, max: 100_000 }),
    failoverDurationS: num('BENCH_FAILOVER_DURATION', 15, { min: 2, max: 600 }),
    failoverVariants: (process.env.BENCH_FAILOVER_VARIANTS || 'resilient-1w,resilient-Nw,plain-1w').split(',').map((s) => s.trim()).filter(Boolean),
    profile: process.env.BENCH_PROFILE === '1',
    allowInstall: process.env.BENCH_NO_INSTALL !== '1',
    writeResults: process.env.BENCH_NO_WRITE !== '1',
    cpus,
  };
  if (!['auto', 'node', 'nginx'].includes(cfg.upstream)) throw new Error(`BENCH_UPSTREAM=${cfg.upstream}: expected auto, node or nginx`);
  // Every ratio needs direct; the failover scenario alone runs no rounds at all.
  if (cfg.targets.length && !cfg.targets.includes('direct')) cfg.targets.unshift('direct');
  return cfg;
}

/** Rough wall time of a run in seconds, for the watchdog and the start-up message. */
export function estimateSeconds(cfg, targetCount, withWrk) {
  const perTarget = cfg.pacedDurationS + cfg.durationS + (withWrk ? cfg.wrkDurationS : 0) + 2.5;
  const rounds = targetCount ? 20 + targetCount * cfg.warmupS + cfg.rounds * targetCount * perTarget + cfg.quietBudgetS : 0;
  const failover = cfg.failover ? 10 + cfg.failoverVariants.length * (cfg.failoverDurationS + 5) : 0;
  return rounds + failover + (cfg.profile ? cfg.durationS + 20 : 0);
}
