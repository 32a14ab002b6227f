// Turns raw rounds into same-round ratios, summaries over rounds, target checks and Markdown.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import { ratio, summary } from './stats.mjs';

const MiB = 1024 * 1024;
// The project's targets for outrigger-1w (bench/README.md, "Targets").
export const GOALS = { cpuVsNginx: 3, addedP50Ms: 0.4, rssAfterMiB: 100 };
// The resilience config's happy path costs at most this much over plain routing (issue 3, "Proof").
export const RESILIENT_MAX_COST = 1.1;
const RESILIENT = 'outrigger-resilient-1w';
const TELEMETRY = 'outrigger-telemetry-1w';
/** Issue 7's target: full telemetry costs at most 15% more CPU per request than telemetry off. */
const TELEMETRY_MAX_COST = 1.15;
const PLAIN = 'outrigger-1w';
const BASELINE = 'baseline-1w';
// The current tree within 5% of the baseline commit (issue "Proof": CPU per request, added p50, RSS).
export const BASELINE_MAX_RATIO = 1.05;

export function machineInfo({ nginxVersion, wrk }) {
  let cpuModel = 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpuModel;
  } catch {
    // not Linux
  }
  let autocannon = 'unknown';
  try {
    autocannon = createRequire(import.meta.url)('autocannon/package.json').version;
  } catch {
    // leave unknown
  }
  return { nproc: os.availableParallelism(), cpuModel, node: process.version, nginx: nginxVersion, autocannon, wrk, kernel: os.release() };
}

/** Adds, per round, the ratios to direct and to nginx measured in that same round. */
export function deriveRounds(rounds) {
  return rounds.map((round) => {
    const res = round.results;
    const d = res.direct;
    const n = res.nginx;
    for (const [name, r] of Object.entries(res)) {
      if (r.failed) continue;
      r.problems = problems(r);
      const addedP50 = num(r.paced?.latencyMs?.p50) - num(d?.paced?.latencyMs?.p50);
      r.derived = {
        addedP50Ms: name === 'direct' ? 0 : Number.isFinite(addedP50) ? addedP50 : null,
        rpsVsDirect: ratio(r.sat?.rps, d?.sat?.rps),
        p50VsDirect: ratio(r.sat?.p50, d?.sat?.p50),
        wrkRpsVsDirect: ratio(r.wrk?.rps, d?.wrk?.rps),
      };
    }
    for (const [name, r] of Object.entries(res)) {
      if (r.failed || name === 'direct') continue;
      const nd = n && !n.failed ? n.derived : undefined;
      r.derived.cpuVsNginx = n?.failed ? null : ratio(r.cpuPer1k, n?.cpuPer1k);
      r.derived.rssVsNginx = n?.failed ? null : ratio(r.rssAfterBytes, n?.rssAfterBytes);
      r.derived.addedP50VsNginx = ratio(r.derived.addedP50Ms, nd?.addedP50Ms);
    }
    // The resilience config and full telemetry against plain routing, all measured in this round.
    const pl = res[PLAIN];
    for (const rs of [res[RESILIENT], res[TELEMETRY]]) {
      if (!rs || rs.failed || !pl || pl.failed) continue;
      rs.derived.vsPlain = {
        cpu: ratio(rs.cpuPer1k, pl.cpuPer1k),
        rps: ratio(rs.sat?.rps, pl.sat?.rps),
        addedP50: ratio(rs.derived.addedP50Ms, pl.derived.addedP50Ms),
        addedP50DeltaMs: Number.isFinite(rs.derived.addedP50Ms - pl.derived.addedP50Ms) ? rs.derived.addedP50Ms - pl.derived.addedP50Ms : null,
      };
    }
    // The current tree against the baseline commit, both measured in this round.
    const bl = res[BASELINE];
    if (bl && !bl.failed && pl && !pl.failed) {
      pl.derived.vsBaseline = {
        cpu: ratio(pl.cpuPer1k, bl.cpuPer1k),
        rps: ratio(pl.sat?.rps, bl.sat?.rps),
        addedP50: ratio(pl.derived.addedP50Ms, bl.derived.addedP50Ms),
        addedP50DeltaMs: Number.isFinite(pl.derived.addedP50Ms - bl.derived.addedP50Ms) ? pl.derived.addedP50Ms - bl.derived.addedP50Ms : null,
        rss: ratio(pl.rssAfterBytes, bl.rssAfterBytes),
      };
    }
    return round;
  });
}

function num(v) {
  return typeof v === 'number' ? v : NaN;
}

// 0.15 cores: more CPU than that used by other processes during a run visibly moves results
// on a 2-CPU machine.
const FOREIGN_LIMIT_CORES = 0.15;

function problems(r) {
  const out = [];
  const s = r.sat ?? {};
  if (s.failed) out.push(`autocannon failed: ${s.failed}`);
  if (s.non2xx) out.push(`${s.non2xx} non-2xx (saturation)`);
  if (s.errors) out.push(`${s.errors} errors (saturation)`);
  if (s.timeouts) out.push(`${s.timeouts} timeouts (saturation)`);
  const p = r.paced ?? {};
  if (p.failed) out.push(p.failed);
  if (p.non2xx) out.push(`${p.non2xx} non-2xx (paced)`);
  if (p.errors) out.push(`${p.errors} errors (paced)`);
  if (p.unfinished) out.push(`${p.unfinished} unanswered (paced)`);
  const w = r.wrk;
  if (w?.failed) out.push(`wrk failed: ${w.failed}`);
  if (w?.non2xx) out.push(`${w.non2xx} non-2xx (wrk)`);
  if (w?.errors) out.push(`${w.errors} socket errors (wrk)`);
  return out;
}

/** Measurements of one round's target that other processes (or the hypervisor) disturbed. */
function disturbances(r) {
  const out = [];
  for (const [what, f] of [['sat', r.sat?.foreignCores], ['paced', r.paced?.foreignCores]]) {
    if (f?.other > FOREIGN_LIMIT_CORES) out.push(`${what} ${f.other.toFixed(2)}`);
    if (f?.steal > FOREIGN_LIMIT_CORES) out.push(`${what} ${f.steal.toFixed(2)} stolen`);
  }
  return out;
}

/** Per target, each metric summarised over rounds. */
function summarise(data) {
  const names = data.targets.filter((t) => t.available).map((t) => t.name);
  const out = {};
  for (const name of names) {
    const rs = data.rounds.map((round) => round.results[name]).filter((r) => r && !r.failed);
    const pick = (f) => summary(rs.map((r) => f(r)));
    out[name] = {
      rounds: rs.length,
      failedRounds: data.rounds.length - rs.length,
      problems: rs.flatMap((r) => problems(r)),
      disturbed: data.rounds.flatMap((round) => {
        const r = round.results[name];
        const d = r && !r.failed ? disturbances(r) : [];
        return d.length ? [`round ${round.round}: ${d.join(', ')}`] : [];
      }),
      rps: pick((r) => r.sat?.rps),
      rpsVsDirect: pick((r) => r.derived?.rpsVsDirect),
      satP50: pick((r) => r.sat?.p50),
      satP99: pick((r) => r.sat?.p99),
      p50VsDirect: pick((r) => r.derived?.p50VsDirect),
      pacedP50: pick((r) => r.paced?.latencyMs?.p50),
      pacedP90: pick((r) => r.paced?.latencyMs?.p90),
      pacedP99: pick((r) => r.paced?.latencyMs?.p99),
      sendLagP99: pick((r) => r.paced?.sendLagMs?.p99),
      addedP50: pick((r) => r.derived?.addedP50Ms),
      addedP50VsNginx: pick((r) => r.derived?.addedP50VsNginx),
      cpuPer1k: pick((r) => r.cpuPer1k),
      upstreamCpuPer1k: pick((r) => r.upstreamCpuPer1k),
      cpuVsNginx: pick((r) => r.derived?.cpuVsNginx),
      rssAfterMiB: pick((r) => r.rssAfterBytes / MiB),
      rssVsNginx: pick((r) => r.derived?.rssVsNginx),
      wrkRps: pick((r) => r.wrk?.rps),
      wrkRpsVsDirect: pick((r) => r.derived?.wrkRpsVsDirect),
      wrkP50: pick((r) => r.wrk?.p50),
      wrkP99: pick((r) => r.wrk?.p99),
      vsPlainCpu: pick((r) => r.derived?.vsPlain?.cpu),
      vsPlainRps: pick((r) => r.derived?.vsPlain?.rps),
      vsPlainAddedP50: pick((r) => r.derived?.vsPlain?.addedP50),
      vsPlainAddedP50Delta: pick((r) => r.derived?.vsPlain?.addedP50DeltaMs),
      vsBaselineCpu: pick((r) => r.derived?.vsBaseline?.cpu),
      vsBaselineRps: pick((r) => r.derived?.vsBaseline?.rps),
      vsBaselineAddedP50: pick((r) => r.derived?.vsBaseline?.addedP50),
      vsBaselineAddedP50Delta: pick((r) => r.derived?.vsBaseline?.addedP50DeltaMs),
      vsBaselineRss: pick((r) => r.derived?.vsBaseline?.rss),
    };
  }
  return out;
}

function fmt(s, digits = 2) {
  if (!s) return '—';
  const f = (v) => v.toFixed(digits);
  return s.n > 1 && f(s.min) !== f(s.max) ? `${f(s.median)} [${f(s.min)}–${f(s.max)}]` : f(s.median);
}

function checks(sum, data) {
  const one = sum['outrigger-1w'];
  const nginxOk = Boolean(sum.nginx);
  const verdict = (measured, ok) => (measured === null ? 'NOT MEASURED' : ok ? 'PASS' : 'FALL SHORT');
  if (!one) {
    const why = data.targets.find((t) => t.name === 'outrigger-1w')?.reason ?? 'not run';
    return [`| all | — | outrigger-1w not available (${why}) | NOT MEASURED |`];
  }
  const cpu = one.cpuVsNginx?.median ?? null;
  const added = one.addedP50?.median ?? null;
  const rss = one.rssAfterMiB?.max ?? null;
  return [
    `| CPU per request (1 worker) | ≤ ${GOALS.cpuVsNginx}× nginx | ${cpu === null ? (nginxOk ? '—' : data.targets.some((t) => t.name === 'nginx') ? 'nginx missing' : 'nginx not run') : `${cpu.toFixed(2)}× (median)`} | ${verdict(cpu, cpu <= GOALS.cpuVsNginx)} |`,
    `| added p50 at ${data.settings.rate} rps | ≤ ${GOALS.addedP50Ms} ms | ${added === null ? '—' : `${added.toFixed(3)} ms (median)`} | ${verdict(added, added <= GOALS.addedP50Ms)} |`,
    `| RSS after load | ≤ ${GOALS.rssAfterMiB} MiB | ${rss === null ? '—' : `${rss.toFixed(1)} MiB (max)`} | ${verdict(rss, rss <= GOALS.rssAfterMiB)} |`,
  ];
}

/**
 * Rows of a variant-vs-plain comparison (the resilience config, full telemetry), or undefined
 * when the variant was not run. `maxCost`: the goal for CPU per request and added p50.
 */
function vsPlainChecks(sum, data, variant, maxCost) {
  const requested = data.targets.some((t) => t.name === variant);
  if (!requested) return undefined;
  const rs = sum[variant];
  if (!rs || !sum[PLAIN]) {
    const why = !rs ? (data.targets.find((t) => t.name === variant)?.reason ?? 'no round') : `${PLAIN} ${data.targets.find((t) => t.name === PLAIN)?.reason ?? 'not run'}`;
    return [`| all | — | not available (${why}) | NOT MEASURED |`];
  }
  const verdict = (v, ok) => (v === null || v === undefined ? 'NOT MEASURED' : ok ? 'PASS' : 'FALL SHORT');
  const cpu = rs.vsPlainCpu?.median ?? null;
  const rps = rs.vsPlainRps?.median ?? null;
  const p50 = rs.vsPlainAddedP50?.median ?? null;
  const d = rs.vsPlainAddedP50Delta;
  const minRps = 1 / maxCost;
  return [
    `| CPU s per 1000 req | ≤ ${maxCost.toFixed(2)}× ${PLAIN} | ${cpu === null ? '—' : `${fmt(rs.vsPlainCpu, 3)}×`} | ${verdict(cpu, cpu <= maxCost)} |`,
    `| saturation req/s | ≥ ${minRps.toFixed(3)}× ${PLAIN} | ${rps === null ? '—' : `${fmt(rs.vsPlainRps, 3)}×`} | ${verdict(rps, rps >= minRps)} |`,
    `| added p50 at ${data.settings.rate} rps | ≤ ${maxCost.toFixed(2)}× ${PLAIN} | ${p50 === null ? '—' : `${fmt(rs.vsPlainAddedP50, 3)}× (difference ${fmt(d, 3)} ms)`} | ${verdict(p50, p50 <= maxCost)} |`,
  ];
}

/** Rows of current (outrigger-1w) ÷ baseline (baseline-1w), or undefined when the baseline was not requested. */
function baselineChecks(sum, data) {
  if (!data.targets.some((t) => t.name === BASELINE)) return undefined;
  const pl = sum[PLAIN];
  if (!sum[BASELINE] || !pl) {
    const why = !sum[BASELINE] ? (data.targets.find((t) => t.name === BASELINE)?.reason ?? 'no round') : `${PLAIN} ${data.targets.find((t) => t.name === PLAIN)?.reason ?? 'not run'}`;
    return [`| all | — | not available (${why}) | NOT MEASURED |`];
  }
  const verdict = (v) => (v === null || v === undefined ? 'NOT MEASURED' : v <= BASELINE_MAX_RATIO ? 'PASS' : 'FAIL');
  const goal = `≤ ${BASELINE_MAX_RATIO.toFixed(2)}×`;
  const m = (s) => s?.median ?? null;
  return [
    `| CPU s per 1000 req (saturation) | ${goal} | ${m(pl.vsBaselineCpu) === null ? '—' : `${fmt(pl.vsBaselineCpu, 3)}×`} | ${verdict(m(pl.vsBaselineCpu))} |`,
    `| added p50 at ${data.settings.rate} rps | ${goal} | ${m(pl.vsBaselineAddedP50) === null ? '—' : `${fmt(pl.vsBaselineAddedP50, 3)}× (difference ${fmt(pl.vsBaselineAddedP50Delta, 3)} ms)`} | ${verdict(m(pl.vsBaselineAddedP50))} |`,
    `| RSS after load (${data.settings.connections} connections) | ${goal} | ${m(pl.vsBaselineRss) === null ? '—' : `${fmt(pl.vsBaselineRss, 3)}×`} | ${verdict(m(pl.vsBaselineRss))} |`,
    `| saturation req/s (for information) | — | ${m(pl.vsBaselineRps) === null ? '—' : `${fmt(pl.vsBaselineRps, 3)}×`} | — |`,
  ];
}

/** One line naming the builds compared: the current tree and the baseline commit. */
function buildsLine(data) {
  const c = data.builds?.current;
  const b = data.builds?.baseline;
  if (!c && !b) return undefined;
  const cur = c?.short ? `current ${c.short}${c.dirty ? ' + uncommitted changes' : ''} (${c.subject})` : 'current tree';
  const base = !b ? 'no baseline' : b.missing ? `baseline ${b.rev}: not available (${b.missing})` : `baseline ${b.short} = ${b.rev} (${b.why}; ${b.subject})`;
  return `Builds: ${cur}; ${base}.`;
}

export function renderReport(data) {
  if (data.targets.length === 0) return renderHeader(data, `no rounds (BENCH_SCENARIO=${data.settings.scenario})`);
  const sum = summarise(data);
  const s = data.settings;
  const m = data.machine;
  const names = Object.keys(sum);
  const flag = (name) => (sum[name].problems.length || sum[name].failedRounds ? ' ⚠' : '');
  const L = [];
  L.push(`## Run ${data.date}`);
  L.push('');
  L.push(
    `Machine: ${m.nproc} CPUs (\`nproc\`), ${m.cpuModel}, Linux ${m.kernel}; Node ${m.node}; nginx ${m.nginx}; autocannon ${m.autocannon}; wrk ${m.wrk}.`,
  );
  L.push(
    `Settings: ${s.rounds} rounds, order rotated per round; upstream: ${s.upstreamKind} (1 KiB body); saturation ${s.connections} connections × ${s.durationS} s; paced ${s.rate} rps × ${s.pacedDurationS} s on ${s.pacedConnections} connections; warm-up ${s.warmupS} s per target; outrigger-Nw = ${s.workersN} workers.`,
  );
  L.push('Cells: median over rounds [min–max]; every ratio is taken inside one round, then summarised.');
  const builds = buildsLine(data);
  if (builds) L.push(builds);
  const missing = data.targets.filter((t) => !t.available);
  if (missing.length) {
    L.push('');
    for (const t of missing) L.push(`- **${t.name}: not available** (${t.reason})`);
  }

  L.push('', '### Saturation (autocannon)', '');
  L.push('| target | req/s | × direct | p50 ms | p99 ms | p50 × direct | non-2xx + errors |', '|---|---:|---:|---:|---:|---:|---:|');
  for (const n of names) {
    const x = sum[n];
    const bad = data.rounds.reduce((a, r) => a + (r.results[n]?.sat?.non2xx ?? 0) + (r.results[n]?.sat?.errors ?? 0), 0);
    L.push(`| ${n}${flag(n)} | ${fmt(x.rps, 0)} | ${fmt(x.rpsVsDirect)} | ${fmt(x.satP50)} | ${fmt(x.satP99)} | ${fmt(x.p50VsDirect)} | ${bad}${bad ? ' ⚠' : ''} |`);
  }

  if (names.some((n) => sum[n].wrkRps)) {
    L.push('', `### Saturation (wrk -t1 -c${s.connections} -d${s.wrkDurationS}s)`, '');
    L.push('| target | req/s | × direct | p50 ms | p99 ms |', '|---|---:|---:|---:|---:|');
    for (const n of names) {
      const x = sum[n];
      L.push(`| ${n} | ${fmt(x.wrkRps, 0)} | ${fmt(x.wrkRpsVsDirect)} | ${fmt(x.wrkP50)} | ${fmt(x.wrkP99)} |`);
    }
  }

  L.push('', `### Latency at ${s.rate} rps (even-paced, from each request's scheduled time)`, '');
  L.push('| target | p50 ms | p90 ms | p99 ms | added p50 ms | added p50 × nginx | client send lag p99 ms |', '|---|---:|---:|---:|---:|---:|---:|');
  for (const n of names) {
    const x = sum[n];
    L.push(
      `| ${n}${flag(n)} | ${fmt(x.pacedP50, 3)} | ${fmt(x.pacedP90, 3)} | ${fmt(x.pacedP99, 3)} | ${n === 'direct' ? '—' : fmt(x.addedP50, 3)} | ${n === 'direct' || n === 'nginx' ? '—' : fmt(x.addedP50VsNginx)} | ${fmt(x.sendLagP99, 3)} |`,
    );
  }

  L.push('', '### Resources of the proxy process tree (direct: the upstream, for reference)', '');
  L.push('| target | CPU s per 1000 req | × nginx | upstream CPU s per 1000 req | RSS idle MiB | RSS after load MiB | RSS × nginx |', '|---|---:|---:|---:|---:|---:|---:|');
  for (const n of names) {
    const x = sum[n];
    const t = data.targets.find((y) => y.name === n);
    const idle = t?.idleRssBytes ? (t.idleRssBytes / MiB).toFixed(1) : '—';
    const self = n === 'direct' ? `(${fmt(x.cpuPer1k, 4)})` : fmt(x.cpuPer1k, 4);
    L.push(
      `| ${n} | ${self} | ${n === 'direct' || n === 'nginx' ? '—' : fmt(x.cpuVsNginx)} | ${fmt(x.upstreamCpuPer1k, 4)} | ${n === 'direct' ? `(${idle})` : idle} | ${n === 'direct' ? `(${fmt(x.rssAfterMiB, 1)})` : fmt(x.rssAfterMiB, 1)} | ${n === 'direct' || n === 'nginx' ? '—' : fmt(x.rssVsNginx)} |`,
    );
  }

  L.push('', '### Project targets (outrigger-1w)', '');
  L.push('| target | goal | measured | result |', '|---|---|---|---|');
  L.push(...checks(sum, data));

  const vsBaseline = baselineChecks(sum, data);
  if (vsBaseline) {
    L.push('', `### Current vs baseline (${PLAIN} ÷ ${BASELINE}, same round)`, '');
    L.push('Same config, flags, upstream and load; the baseline is another commit built in a temporary worktree. Cells: median of per-round ratios [min–max]; goal: the current tree within 5% of the baseline.', '');
    L.push('| metric | goal | measured | result |', '|---|---|---|---|');
    L.push(...vsBaseline);
  }

  const resilient = vsPlainChecks(sum, data, RESILIENT, RESILIENT_MAX_COST);
  if (resilient) {
    L.push('', `### Resilience config, happy path (${RESILIENT} ÷ ${PLAIN}, same round)`, '');
    L.push(
      'DestinationRule LEAST_REQUEST + outlierDetection + http1MaxPendingRequests 1024, VirtualService retries 2 on 5xx,connect-failure + timeout 10s, same single upstream; nothing fails, so nothing is retried or ejected. Cells: median of per-round ratios [min–max].',
      '',
    );
    L.push('| metric | goal | measured | result |', '|---|---|---|---|');
    L.push(...resilient);
  }

  const telemetry = vsPlainChecks(sum, data, TELEMETRY, TELEMETRY_MAX_COST);
  if (telemetry) {
    L.push('', `### Full telemetry (${TELEMETRY} ÷ ${PLAIN}, same round)`, '');
    L.push(
      "Same config, upstream and load; the telemetry target adds a MeshConfig: Istio's standard metrics (scraped by nobody), Istio's default TEXT access log to a file, and 100% tracing batched to an OTLP/HTTP sink in its own process. Cells: median of per-round ratios [min–max].",
      '',
    );
    L.push('| metric | goal | measured | result |', '|---|---|---|---|');
    L.push(...telemetry);
  }

  const probs = names.flatMap((n) => [
    ...sum[n].problems.map((p) => `${n}: ${p}`),
    ...data.rounds.filter((r) => r.results[n]?.failed).map((r) => `${n}, round ${r.round}: ${r.results[n].failed}`),
  ]);
  if (probs.length) {
    L.push('', '### ⚠ Problems (results of affected cells are suspect)', '');
    for (const p of [...new Set(probs)]) L.push(`- ${p}`);
  }
  const disturbed = names.filter((n) => sum[n].disturbed.length);
  if (disturbed.length) {
    L.push('', `### Disturbed measurements (other processes used more than ${FOREIGN_LIMIT_CORES} cores, in cores)`, '');
    for (const n of disturbed) L.push(`- ${n}: ${sum[n].disturbed.join('; ')}`);
  }

  L.push('', '<details><summary>Per round</summary>', '');
  L.push(
    '| round | target | req/s | sat p50 ms | paced p50 ms | added p50 ms | CPU s/1000 req | RSS after MiB | other load, cores (sat / paced) |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const round of data.rounds) {
    for (const n of round.order) {
      const r = round.results[n];
      if (!r || r.failed) {
        L.push(`| ${round.round} | ${n} | failed | | | | | | |`);
        continue;
      }
      const f = (v, d) => (typeof v === 'number' ? v.toFixed(d) : '—');
      L.push(
        `| ${round.round} | ${n} | ${f(r.sat?.rps, 0)} | ${f(r.sat?.p50, 2)} | ${f(r.paced?.latencyMs?.p50, 3)} | ${f(r.derived?.addedP50Ms, 3)} | ${f(r.cpuPer1k, 4)} | ${f(r.rssAfterBytes / MiB, 1)} | ${f(r.sat?.foreignCores?.other, 2)} / ${f(r.paced?.foreignCores?.other, 2)} |`,
      );
    }
  }
  L.push('', '</details>');
  return L.join('\n');
}

/** The run heading and machine line alone (a run without rounds). */
function renderHeader(data, what) {
  const m = data.machine;
  return [
    `## Run ${data.date}`,
    '',
    `Machine: ${m.nproc} CPUs (\`nproc\`), ${m.cpuModel}, Linux ${m.kernel}; Node ${m.node}; nginx ${m.nginx}; autocannon ${m.autocannon}; wrk ${m.wrk}.`,
    `Settings: ${what}.`,
    buildsLine(data),
  ].filter((line) => line !== undefined).join('\n');
}

const HEADER = `# Benchmark results

Written by \`npm run bench\` (\`bench/run.mjs\`); see \`bench/README.md\` for what each number means.
The newest run is first; older runs are kept below it (at most ${5}). Raw JSON of every run is in
\`bench/.work/\` (git-ignored).

**Why these numbers are ratios.** The bench machine's speed drifts up to 2× within minutes, so an
absolute req/s from one run says little. Every target is measured back to back in each round (order
rotated), and each ratio compares two targets *of the same round*; the tables give the median and
range of those per-round ratios. Other people's jobs may share the machine too: the bench
measures how much CPU they used during each measurement and lists disturbed ones.

**The load generators share the CPUs.** autocannon runs in the bench process and the paced
latency client in its own process, on the same 2 CPUs as the proxy and the upstream. Saturation
req/s is what the whole box does with everything on it; the paced client's own scheduling delay
is in every target's latency alike ("client send lag"), which is why "added p50" subtracts
direct's p50 of the same round.

**Upstream choice.** By default the upstream is a separate nginx process returning a static 1 KiB
body from memory (\`return 200\`), with no file I/O and keep-alive without a request limit. On a
2-CPU machine the load generator, the proxy under test and the upstream share two cores, so the
upstream should cost as little CPU per request as possible: nginx static costs a fraction of a
Node \`http\` server's CPU, which leaves more of the machine to the proxy being measured. It is the
same process for every target. If nginx is missing, the bench falls back to a small Node \`http\`
server in its own process (\`bench/lib/upstream-server.mjs\`, same body); \`BENCH_UPSTREAM=node\`
forces it. The "Settings" line of each run says which was used.
`;

const MARK = '<!-- bench-run -->';
/** Sections written by other benches (bench/mtls-path.mjs results, by hand): kept as they are, above the runs. */
const PINNED = '<!-- pinned -->';

/** Puts this run first below the header (and the pinned sections), keeping the last few runs. */
export function writeResultsMd(file, md) {
  let previous = [];
  let pinned = '';
  if (existsSync(file)) {
    const parts = readFileSync(file, 'utf8').split(MARK);
    previous = parts.slice(1).map((s) => s.trim()).filter(Boolean);
    const at = parts[0].indexOf(PINNED);
    if (at >= 0) pinned = `${parts[0].slice(at).trim()}\n\n`;
  }
  const runs = [md.trim(), ...previous].slice(0, 5);
  writeFileSync(file, `${HEADER}\n${pinned}${runs.map((r) => `${MARK}\n${r}\n`).join('\n')}`);
}
