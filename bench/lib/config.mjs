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
  default: 'direct,outrigger-1w,baseline-1w,outrigger-resilient-1w,outrigger-Nw,nginx',
  resilience: 'direct,outrigger-1w,outrigger-resilient-1w',
  // Full telemetry (metrics + access log file + 100% tracing) against telemetry off.
  telemetry: 'direct,outrigger-1w,outrigger-telemetry-1w',
  failover: '',
  // The refactor proof alone: current vs baseline, HTTP rounds, RSS after saturation and TCP.
  baseline: 'direct,outrigger-1w,baseline-1w,nginx',
  rss: '',
  tcp: '',
  // The transparent-sidecar path (bench/captured-path.mjs: network namespaces, iptables, root).
  captured: '',
  // mTLS inbound and outbound against nginx doing the same TLS work (bench/mtls-path.mjs).
  mtls: '',
  // h2load over h2c against nginx and the h2c upstream (bench/h2c-path.mjs).
  h2c: '',
  // grpc-js unary clients through Outrigger against the server direct (bench/grpc-path.mjs).
  grpc: '',
};

export function readConfig() {
  const cpus = os.availableParallelism();
  const scenario = process.env.BENCH_SCENARIO || 'default';
  if (!(scenario in DEFAULT_TARGETS)) throw new Error(`BENCH_SCENARIO=${scenario}: expected ${Object.keys(DEFAULT_TARGETS).join(', ')}`);
  const baselineRev = process.env.BENCH_BASELINE || undefined;
  const onOff = (name, def) => (process.env[name] ? process.env[name] === '1' : def);
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
    failover: scenario === 'resilience' || scenario === 'failover' || process.env.BENCH_FAILOVER === '1',
    // Baseline build (bench/README.md, "Baseline"): a rev, or undefined for the default rule; 'none' = off.
    baselineRev,
    baseline: baselineRev !== 'none',
    // RSS after saturation and the TCP scenario: on in the default and baseline scenarios.
    rss: onOff('BENCH_RSS', ['default', 'baseline', 'rss'].includes(scenario)),
    rssConnections: num('BENCH_RSS_CONNECTIONS', 100, { min: 1, max: 1000 }),
    rssDurationS: num('BENCH_RSS_DURATION', 10, { min: 1, max: 600 }),
    rssRepeat: num('BENCH_RSS_REPEAT', 1, { min: 1, max: 10 }),
    tcp: onOff('BENCH_TCP', ['default', 'baseline', 'tcp'].includes(scenario)),
    tcpRounds: num('BENCH_TCP_ROUNDS', 2, { min: 1, max: 20 }),
    tcpDurationS: num('BENCH_TCP_DURATION', 4, { min: 1, max: 600 }),
    tcpBulkMiB: num('BENCH_TCP_BULK_MB', 1024, { min: 1, max: 65536 }),
    tcpConnections: num('BENCH_TCP_CONNECTIONS', 16, { min: 1, max: 1000 }),
    tcpMessageBytes: num('BENCH_TCP_MESSAGE', 64, { min: 1, max: 1 << 20 }),
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
  if (!cfg.baseline) cfg.targets = cfg.targets.filter((t) => !t.startsWith('baseline'));
  return cfg;
}

/** Rough wall time of a run in seconds, for the watchdog and the start-up message. */
export function estimateSeconds(cfg, targetCount, withWrk) {
  const perTarget = cfg.pacedDurationS + cfg.durationS + (withWrk ? cfg.wrkDurationS : 0) + 2.5;
  const rounds = targetCount ? 20 + targetCount * cfg.warmupS + cfg.rounds * targetCount * perTarget + cfg.quietBudgetS : 0;
  const failover = cfg.failover ? 10 + cfg.failoverVariants.length * (cfg.failoverDurationS + 5) : 0;
  // Baseline checkout + build (npm ci only when its lock file differs): about a minute.
  const baseline = cfg.baseline && (targetCount || cfg.rss || cfg.tcp) ? 60 : 0;
  const rss = cfg.rss ? (withWrk ? 2 : 1) * (cfg.baseline ? 2 : 1) * cfg.rssRepeat * (cfg.rssDurationS + 6) : 0;
  const tcpTargets = 3 + (cfg.baseline ? 1 : 0);
  const tcp = cfg.tcp ? 15 + cfg.tcpRounds * tcpTargets * (2 * cfg.tcpDurationS + 4) : 0;
  return rounds + failover + baseline + rss + tcp + (cfg.profile ? cfg.durationS + 20 : 0);
}
