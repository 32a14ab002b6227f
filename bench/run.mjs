// `npm run bench`: direct vs Outrigger (1 and N workers, 1 worker with the resilience config, and
// 1 worker of a baseline commit) vs nginx, interleaved over rounds, reported as same-round ratios
// (this machine's speed drifts, so only same-round ratios mean much); then RSS after saturation
// and the TCP scenario. BENCH_SCENARIO=resilience|telemetry|captured|mtls|h2c|grpc|failover|baseline|rss|tcp picks other parts.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChildRegistry, sleep } from './lib/children.mjs';
import { estimateSeconds, readConfig } from './lib/config.mjs';
import { freePort, get, waitFor200 } from './lib/net-util.mjs';
import { ensureNginx, ensureStreamModule, ensureWrk, nginxArgs, writeProxyConfig, writeStaticConfig, writeStreamConfig } from './lib/nginx.mjs';
import { build, cliPath, outriggerArgs, unavailableReason, UPSTREAM_HOST, writeConfig, writeMeshConfig, writeTcpConfig } from './lib/outrigger.mjs';
import { describeTree, prepareBaseline, resolveBaselineRev } from './lib/baseline.mjs';
import { renderRssSaturation, runRssSaturation } from './lib/rss-saturation.mjs';
import { renderTcp, runTcpScenario } from './lib/tcp-scenario.mjs';
import { runPaced } from './lib/paced.mjs';
import { selfCpuSeconds, systemCpuSeconds, treeCpuSeconds, treeRssBytes } from './lib/proc.mjs';
import { runAutocannon, runWrk } from './lib/saturate.mjs';
import { deriveRounds, machineInfo, renderReport, writeResultsMd } from './lib/report.mjs';
import { renderFailover, runFailover } from './lib/failover.mjs';
import { listProfiles, summarise } from './lib/cpuprofile-summary.mjs';
import { BODY } from './lib/body.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.dirname(BENCH_DIR);
const WORK = path.join(BENCH_DIR, '.work');
const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);

const registry = new ChildRegistry();
// Synchronous clean-ups (the baseline's temporary worktree), run on every way out.
const cleanups = [];
function runCleanups() {
  while (cleanups.length) {
    try {
      cleanups.pop()();
    } catch {
      // best effort: the next run's `git worktree prune` forgets a folder that is already gone
    }
  }
}
let stopping = false;
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  await registry.stopAll();
  runCleanups();
  process.exit(code);
}
process.on('SIGINT', () => {
  log('interrupted: stopping everything this bench started');
  shutdown(130);
});
process.on('SIGTERM', () => shutdown(143));
process.on('SIGHUP', () => shutdown(129));
process.on('exit', () => {
  registry.killAllSync();
  runCleanups();
});

async function main() {
  const cfg = readConfig();
  if (cfg.scenario === 'captured') {
    // Its own runner: it builds network namespaces and iptables rules, so it needs root.
    const r = spawnSync(process.execPath, [path.join(BENCH_DIR, 'captured-path.mjs')], { stdio: 'inherit' });
    return shutdown(r.status ?? 1);
  }
  if (cfg.scenario === 'mtls') {
    const r = spawnSync(process.execPath, [path.join(BENCH_DIR, 'mtls-path.mjs')], { stdio: 'inherit' });
    return shutdown(r.status ?? 1);
  }
  if (cfg.scenario === 'h2c' || cfg.scenario === 'grpc') {
    const r = spawnSync(process.execPath, [path.join(BENCH_DIR, `${cfg.scenario}-path.mjs`)], { stdio: 'inherit' });
    return shutdown(r.status ?? 1);
  }
  mkdirSync(WORK, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');

  // --- tools -------------------------------------------------------------------------------
  const rounds = [];
  const quiet = { budgetS: cfg.quietBudgetS, waitedS: 0 };
  const hasRounds = cfg.targets.length > 0;
  // The HTTP upstream serves the rounds, the RSS-after-saturation runs and the profile.
  const needsHttpUpstream = hasRounds || cfg.rss;
  const wantsNginx = cfg.tcp || (needsHttpUpstream && (cfg.targets.includes('nginx') || cfg.upstream === 'nginx' || cfg.upstream === 'auto'));
  const nginx = wantsNginx ? ensureNginx({ allowInstall: cfg.allowInstall, log }) : { missing: 'not requested' };
  if (nginx.missing) log(`nginx: missing (${nginx.missing})`);
  // wrk: installed when the RSS-after-saturation part runs (it must include `wrk -c 100`); the
  // rounds use it whenever it is there.
  const wrk = needsHttpUpstream ? ensureWrk({ allowInstall: cfg.allowInstall && cfg.rss, log }) : { missing: 'not requested' };
  const wrkBin = wrk.bin;
  if (needsHttpUpstream && !wrkBin) log(`wrk: ${wrk.missing}, skipped`);
  const stream = cfg.tcp ? (nginx.bin ? ensureStreamModule(nginx.bin, { allowInstall: cfg.allowInstall, log }) : { missing: `nginx missing (${nginx.missing})` }) : undefined;
  if (stream?.missing) log(`nginx stream: ${stream.missing}`);
  const upstreamKind = cfg.upstream === 'auto' ? (nginx.bin ? 'nginx' : 'node') : cfg.upstream;
  if (needsHttpUpstream && upstreamKind === 'nginx' && !nginx.bin) throw new Error(`BENCH_UPSTREAM=nginx but nginx is missing (${nginx.missing})`);

  const estimate = estimateSeconds(cfg, cfg.targets.length, Boolean(wrkBin));
  const parts = [
    hasRounds && `${cfg.rounds} rounds × ${cfg.targets.length} targets`,
    cfg.rss && `RSS after saturation (${cfg.rssConnections} connections × ${cfg.rssDurationS} s)`,
    cfg.tcp && `TCP ${cfg.tcpRounds} rounds`,
    cfg.failover && `failover ${cfg.failoverVariants.length} variants × ${cfg.failoverDurationS} s`,
  ];
  log(`about ${Math.ceil(estimate / 60)} min: ${parts.filter(Boolean).join(', ')}`);
  // Watchdog: whatever hangs, the run ends and its processes are stopped.
  setTimeout(() => {
    log('watchdog: run took far longer than expected, giving up');
    shutdown(124);
  }, (estimate * 2 + 300) * 1000).unref();

  const wantsOutrigger = cfg.targets.some((t) => t.startsWith('outrigger') || t.startsWith('baseline')) || cfg.profile || cfg.failover || cfg.rss || cfg.tcp;
  if (wantsOutrigger && !unavailableReason(REPO_ROOT) && process.env.BENCH_NO_BUILD !== '1' && !process.env.BENCH_OUTRIGGER_CLI) {
    log('building outrigger (tsc -p tsconfig.build.json)');
    const warning = build(REPO_ROOT);
    if (warning) log(warning);
  }
  const current = { label: 'current', ...describeTree(REPO_ROOT), cli: cliPath(REPO_ROOT) };

  // --- baseline build: another commit in a temporary worktree, removed at exit ----------------
  let baseline;
  if (cfg.baseline && wantsOutrigger && (cfg.targets.includes('baseline-1w') || cfg.rss || cfg.tcp)) {
    const { rev, why } = resolveBaselineRev(REPO_ROOT, cfg.baselineRev);
    log(`baseline: ${rev} (${why})`);
    const b = prepareBaseline(REPO_ROOT, rev, { log });
    if (b.cleanup) cleanups.push(b.cleanup);
    baseline = b.missing ? { label: 'baseline', rev, why, missing: b.missing } : { label: 'baseline', why, ...b, cli: path.join(b.root, 'bin', 'outrigger.js') };
    if (baseline.missing) log(`baseline: not available (${baseline.missing})`);
    else log(`baseline: ${baseline.short} ${baseline.subject}${baseline.buildWarning ? ` (build reported errors: ${baseline.buildWarning})` : ''}`);
  }

  let upstreamPort;
  let upstreamEntry;
  let defaultHost;
  const targets = [];
  if (needsHttpUpstream) {
    // --- upstream ----------------------------------------------------------------------------
    upstreamPort = await freePort();
    if (upstreamKind === 'nginx') {
      const prefix = freshDir('nginx-upstream');
      const conf = writeStaticConfig(prefix, { port: upstreamPort });
      upstreamEntry = registry.spawn('upstream', nginx.bin, nginxArgs(prefix, conf));
    } else {
      upstreamEntry = registry.spawn('upstream', process.execPath, [path.join(BENCH_DIR, 'lib', 'upstream-server.mjs'), String(upstreamPort)]);
    }
    const upReady = await waitFor200(upstreamPort, '/', { entry: upstreamEntry, timeoutMs: 10_000 });
    if (!upReady.ok) throw new Error(`upstream (${upstreamKind}) did not start: ${upReady.reason}\n${upstreamEntry.output.slice(-500)}`);
    log(`upstream: ${upstreamKind} on 127.0.0.1:${upstreamPort}`);
  }
  if (hasRounds) {
    // --- targets -----------------------------------------------------------------------------
    for (const name of cfg.targets) {
      if (name === 'direct') {
        targets.push({ name, port: upstreamPort, host: null, entry: upstreamEntry, available: true, note: 'upstream' });
      } else if (name === 'nginx') {
        if (nginx.missing) {
          targets.push({ name, available: false, reason: `missing (${nginx.missing})` });
          continue;
        }
        const port = await freePort();
        const prefix = freshDir('nginx-proxy');
        const conf = writeProxyConfig(prefix, { listenPort: port, upstreamPort });
        const entry = registry.spawn('nginx', nginx.bin, nginxArgs(prefix, conf));
        targets.push({ name, port, entry, available: true });
      } else if (name === 'outrigger-1w' || name === 'outrigger-Nw') {
        const workers = name === 'outrigger-1w' ? 1 : cfg.workersN;
        targets.push(await startOutrigger(name, workers, { upstreamPort }));
      } else if (name === 'baseline-1w') {
        // outrigger-1w of the baseline commit: same config, flags, upstream and load.
        targets.push(baseline?.missing ? { name, available: false, reason: `baseline ${baseline.rev}: ${baseline.missing}` } : await startOutrigger(name, 1, { upstreamPort }, { build: baseline }));
      } else if (name === 'outrigger-telemetry-1w') {
        // Same upstream and load as outrigger-1w, with metrics, an access log file and 100% tracing.
        targets.push(await startOutrigger(name, 1, { upstreamPort }, { telemetry: true }));
      } else if (name === 'outrigger-resilient-1w') {
        // Same upstream and load as outrigger-1w; the config adds the DestinationRule and VirtualService.
        targets.push(await startOutrigger(name, 1, { upstreamPort, resilience: true }));
      } else {
        throw new Error(`BENCH_TARGETS: unknown target ${name}`);
      }
    }
    const direct = targets.find((t) => t.name === 'direct');
    // The Host every request carries: the Outrigger route's host:port (same length for everyone).
    const firstOutrigger = targets.find((t) => t.proxyPort);
    defaultHost = `${UPSTREAM_HOST}:${firstOutrigger?.proxyPort ?? upstreamPort}`;
    for (const t of targets) t.host ??= defaultHost;

    // Ready + one correct answer through each target, then idle RSS (after start, before load).
    for (const t of targets.filter((x) => x.available)) {
      const ready = await waitFor200(t.port, '/', { host: t.host, entry: t.entry, timeoutMs: 15_000 });
      const check = ready.ok ? await get(t.port, '/', t.host) : undefined;
      if (!ready.ok || check.status !== 200 || check.bytes !== BODY.length) {
        t.available = false;
        t.reason = ready.ok ? `GET / answered ${check.error ?? `HTTP ${check.status}, ${check.bytes} bytes`}` : ready.reason;
        t.reason += tail(t.entry);
        if (t.entry !== upstreamEntry) await registry.stop(t.entry);
        if (t === direct) throw new Error(`upstream does not answer: ${t.reason}`);
        continue;
      }
    }
    await sleep(500);
    for (const t of targets.filter((x) => x.available)) t.idleRssBytes = treeRssBytes(t.entry.child.pid);
    for (const t of targets.filter((x) => !x.available)) log(`${t.name}: not available (${t.reason})`);

    // --- warm-up (JIT, pools), not measured ----------------------------------------------------
    const live = () => targets.filter((t) => t.available && !t.entry.exited);
    if (cfg.warmupS > 0) {
      for (const t of live()) {
        log(`warm-up ${t.name} ${cfg.warmupS} s`);
        await runAutocannon({ port: t.port, host: t.host, connections: cfg.connections, durationS: cfg.warmupS });
      }
    }

    // --- rounds ------------------------------------------------------------------------------
    for (let r = 0; r < cfg.rounds; r++) {
      const names = live().map((t) => t.name);
      const order = names.map((_, i) => names[(i + r) % names.length]);
      const results = {};
      for (const name of order) {
        const t = targets.find((x) => x.name === name);
        if (t.entry.exited) {
          results[name] = { failed: `process exited (code ${t.entry.exitCode}, signal ${t.entry.signal})${tail(t.entry)}` };
          continue;
        }
        await waitForQuiet(quiet, targets, upstreamEntry);
        log(`round ${r + 1}/${cfg.rounds} ${name}: paced ${cfg.rate} rps ${cfg.pacedDurationS} s`);
        const pacedCpu0 = ownCpu(t, upstreamEntry);
        const pacedSys0 = systemCpuSeconds();
        const pacedT0 = Date.now();
        const paced = await runPaced(registry, {
          port: t.port,
          host: t.host,
          rate: cfg.rate,
          durationS: cfg.pacedDurationS,
          connections: cfg.pacedConnections,
        });
        paced.foreignCores = foreignCores(pacedSys0, pacedCpu0, ownCpu(t, upstreamEntry) + (paced.clientCpuS ?? 0), pacedT0);
        await sleep(500);
        await waitForQuiet(quiet, targets, upstreamEntry);
        log(`round ${r + 1}/${cfg.rounds} ${name}: saturation ${cfg.connections} connections ${cfg.durationS} s`);
        const cpu0 = treeCpuSeconds(t.entry.child.pid);
        const up0 = treeCpuSeconds(upstreamEntry.child.pid);
        const satCpu0 = ownCpu(t, upstreamEntry);
        const satSys0 = systemCpuSeconds();
        const satT0 = Date.now();
        const sat = await runAutocannon({ port: t.port, host: t.host, connections: cfg.connections, durationS: cfg.durationS });
        sat.foreignCores = foreignCores(satSys0, satCpu0, ownCpu(t, upstreamEntry), satT0);
        const cpuS = treeCpuSeconds(t.entry.child.pid) - cpu0;
        const upstreamCpuS = treeCpuSeconds(upstreamEntry.child.pid) - up0;
        const rssAfterBytes = treeRssBytes(t.entry.child.pid);
        let wrk;
        if (wrkBin) {
          await sleep(300);
          log(`round ${r + 1}/${cfg.rounds} ${name}: wrk ${cfg.wrkDurationS} s`);
          wrk = await runWrk(wrkBin, { port: t.port, host: t.host, connections: cfg.connections, durationS: cfg.wrkDurationS });
        }
        results[name] = {
          paced,
          sat,
          wrk,
          cpuS,
          upstreamCpuS,
          cpuPer1k: sat.completed ? (cpuS / sat.completed) * 1000 : null,
          upstreamCpuPer1k: sat.completed ? (upstreamCpuS / sat.completed) * 1000 : null,
          rssAfterBytes,
        };
        await sleep(500);
      }
      rounds.push({ round: r + 1, order, results });
    }
    // Stop the round targets before anything else runs: the later parts must not share the CPUs
    // with idle proxies' timers, and their own proxies are fresh ones.
    for (const t of targets) if (t.entry && t.entry !== upstreamEntry) await registry.stop(t.entry);
  }

  // --- RSS after saturation: fresh 1-worker Outrigger per build and load tool ------------------
  let rss;
  if (cfg.rss) {
    const builds = [{ label: 'current', build: current }, ...(baseline ? [{ label: 'baseline', build: baseline }] : [])];
    rss = await runRssSaturation(cfg, {
      builds,
      wrkBin,
      upstreamPort,
      registry,
      log,
      startOutrigger: (name, workers, opts, extra) => (extra.build.missing ? { available: false, reason: `baseline ${extra.build.rev}: ${extra.build.missing}` } : startOutrigger(name, workers, opts, extra)),
      beforeRun: () => waitForQuiet(quiet, [], upstreamEntry),
    });
  }
  if (upstreamEntry && !cfg.profile) await registry.stop(upstreamEntry);

  // --- optional profile of outrigger-1w ------------------------------------------------------
  let profile;
  if (cfg.profile && hasRounds) profile = await profileOutrigger(cfg, upstreamPort, stamp);
  if (upstreamEntry) await registry.stop(upstreamEntry);

  // --- TCP scenario: tcp_proxy (current, baseline) vs direct vs nginx stream -------------------
  let tcp;
  if (cfg.tcp) {
    const tcpOutrigger = (name, build) => ({
      name,
      start: (echoPort) => (build.missing ? { available: false, reason: `baseline ${build.rev}: ${build.missing}` } : startOutrigger(name, 1, { upstreamPort: echoPort }, { build, tcp: true })),
    });
    tcp = await runTcpScenario(cfg, {
      registry,
      log,
      outriggers: [tcpOutrigger('outrigger-tcp', current), ...(baseline ? [tcpOutrigger('baseline-tcp', baseline)] : [])],
      nginxStream: stream,
      startNginxStream: async (echoPort) => {
        const port = await freePort();
        const prefix = freshDir('nginx-stream');
        const conf = writeStreamConfig(prefix, { listenPort: port, upstreamPort: echoPort, loadModule: stream.loadModule });
        const entry = registry.spawn('nginx-stream', nginx.bin, nginxArgs(prefix, conf));
        await sleep(300);
        return entry.exited ? { available: false, reason: `nginx exited: ${tail(entry)}` } : { port, entry, available: true };
      },
      beforeMeasure: () => waitForQuiet(quiet, [], undefined),
    });
  }

  // --- failover scenario: one failing endpoint out of three -----------------------------------
  let failover;
  if (cfg.failover) {
    failover = await runFailover(cfg, {
      registry,
      log,
      startOutrigger: (name, workers, opts) => startOutrigger(name, workers, opts),
      beforeVariant: () => waitForQuiet(quiet, [], undefined),
    });
  }

  // --- report ------------------------------------------------------------------------------
  const machine = machineInfo({ nginxVersion: nginx.version ?? `missing (${nginx.missing})`, wrk: wrkBin ? 'yes' : 'not installed' });
  const strip = (b) => b && { label: b.label, rev: b.rev, why: b.why, short: b.short, subject: b.subject, dirty: b.dirty, missing: b.missing };
  const data = {
    date: new Date().toISOString(),
    machine,
    settings: { ...cfg, upstreamKind, host: defaultHost, quietWaitedS: quiet.waitedS },
    builds: { current: strip(current), baseline: strip(baseline) },
    targets: targets.map(({ entry, ...t }) => ({ ...t, pid: entry?.child.pid })),
    rounds: deriveRounds(rounds),
    profile,
    failover,
    rss,
    tcp,
  };
  const md = [renderReport(data), rss && renderRssSaturation(rss, { baselineLabel: baseline && 'baseline' }), tcp && renderTcp(tcp), failover && renderFailover(failover)].filter(Boolean).join('\n\n');
  process.stdout.write(`${md}\n`);
  if (profile?.text) process.stdout.write(`\n## CPU profile of outrigger-1w (top self time)\n${profile.text}\n`);
  const jsonFile = path.join(WORK, `results-${stamp}.json`);
  writeFileSync(jsonFile, JSON.stringify(data, null, 2));
  writeFileSync(path.join(WORK, 'results-latest.json'), JSON.stringify(data, null, 2));
  if (cfg.writeResults) writeResultsMd(path.join(BENCH_DIR, 'RESULTS.md'), md);
  log(`raw results: ${path.relative(REPO_ROOT, jsonFile)}${cfg.writeResults ? '; report: bench/RESULTS.md' : ''}`);
}

/**
 * configOpts: { upstreamPort } or { upstreamPorts: [...] }, and resilience: true for the DR + VS.
 * build: { cli, root } of another build (the baseline; default this tree); tcp: the TCP scenario's
 * config (configOpts.upstreamPort is then the echo upstream); profileDir adds --cpu-prof.
 */
async function startOutrigger(name, workers, configOpts, { profileDir, build: b, tcp = false, telemetry = false } = {}) {
  const missing = unavailableReason(REPO_ROOT, b?.cli);
  if (missing) return { name, available: false, reason: missing };
  const proxyPort = await freePort();
  const adminPort = await freePort();
  const configDir = (tcp ? writeTcpConfig : writeConfig)(freshDir(`config-${name}`), { proxyPort, ...configOpts });
  // Several instances run side by side: each current build gets its own stats and health ports
  // (a baseline commit may predate those flags; it alone keeps the defaults).
  const extraArgs = b ? [] : ['--stats-port', String(await freePort()), '--health-port', String(await freePort())];
  if (telemetry) {
    const otlpPort = await freePort();
    const sink = registry.spawn(`${name}-otlp-sink`, process.execPath, [path.join(BENCH_DIR, 'lib', 'otlp-sink.mjs'), String(otlpPort)]);
    const sinkUp = await waitFor200(otlpPort, '/stats', { entry: sink, timeoutMs: 10_000 });
    if (!sinkUp.ok) return { name, available: false, reason: `OTLP sink did not start: ${sinkUp.reason}` };
    const dir = freshDir(`mesh-${name}`);
    extraArgs.push('--mesh-config', writeMeshConfig(dir, { otlpPort, accessLogPath: path.join(dir, 'access.log') }));
  }
  const args = outriggerArgs(REPO_ROOT, { configDir, workers, adminPort, profileDir, cli: b?.cli, extraArgs });
  const entry = registry.spawn(name, process.execPath, args, { cwd: b?.root ?? REPO_ROOT });
  const ready = await waitFor200(adminPort, '/ready', { entry, timeoutMs: 30_000 });
  if (!ready.ok) {
    await registry.stop(entry);
    return { name, available: false, reason: `${ready.reason}${tail(entry)}` };
  }
  return { name, port: proxyPort, proxyPort, adminPort, workers, entry, available: true, host: `${UPSTREAM_HOST}:${proxyPort}` };
}

/**
 * A separate outrigger-1w with --cpu-prof (the main thread and every worker thread write their own
 * .cpuprofile at exit), one saturation run, a graceful stop, then the top self-time functions.
 */
async function profileOutrigger(cfg, upstreamPort, stamp) {
  const dir = path.join(WORK, `prof-${stamp}`);
  mkdirSync(dir, { recursive: true });
  log(`profile: outrigger-1w with --cpu-prof into ${path.relative(REPO_ROOT, dir)}`);
  const t = await startOutrigger('outrigger-1w-prof', 1, { upstreamPort }, { profileDir: dir });
  if (!t.available) return { dir, failed: t.reason, text: `not profiled: ${t.reason}` };
  await runAutocannon({ port: t.port, host: t.host, connections: cfg.connections, durationS: Math.min(3, cfg.durationS) });
  const sat = await runAutocannon({ port: t.port, host: t.host, connections: cfg.connections, durationS: cfg.durationS });
  // SIGTERM and a generous grace period: profiles are written only on a normal exit.
  await registry.stop(t.entry, 15_000);
  const files = listProfiles([dir]);
  if (files.length === 0) {
    return { dir, failed: 'no .cpuprofile written', text: `no .cpuprofile written: outrigger must exit normally on SIGTERM (exit code ${t.entry.exitCode}, signal ${t.entry.signal})` };
  }
  return { dir, files, rps: sat.rps, text: `Profiled under saturation (${Math.round(sat.rps)} req/s); files in ${path.relative(REPO_ROOT, dir)}.\n${summarise(files, 20, REPO_ROOT)}` };
}

/**
 * Other people's jobs share this machine: before a measurement, wait (at most 10 s, and at most
 * quiet.budgetS over the whole run) until processes outside the bench use < 0.15 cores.
 */
async function waitForQuiet(quiet, targets, upstreamEntry) {
  const ours = () =>
    selfCpuSeconds() +
    targets.filter((t) => t.available && t.entry !== upstreamEntry && !t.entry.exited).reduce((a, t) => a + treeCpuSeconds(t.entry.child.pid), 0) +
    (upstreamEntry ? treeCpuSeconds(upstreamEntry.child.pid) : 0);
  const start = Date.now();
  let logged = false;
  while (quiet.waitedS + (Date.now() - start) / 1000 < quiet.budgetS && Date.now() - start < 10_000) {
    const sys0 = systemCpuSeconds();
    const own0 = ours();
    const t0 = Date.now();
    await sleep(500);
    const other = Math.max(0, systemCpuSeconds().busy - sys0.busy - (ours() - own0)) / ((Date.now() - t0) / 1000);
    if (other < 0.15) break;
    if (!logged) log(`waiting for other processes to quiet down (${other.toFixed(2)} cores busy)`);
    logged = true;
  }
  quiet.waitedS += (Date.now() - start) / 1000;
}

/** CPU seconds of the processes a measurement is made of: bench process, target, upstream. */
function ownCpu(t, upstreamEntry) {
  const target = t.entry === upstreamEntry ? 0 : treeCpuSeconds(t.entry.child.pid);
  return selfCpuSeconds() + target + treeCpuSeconds(upstreamEntry.child.pid);
}

/** Cores' worth of CPU used by processes outside the measurement (others' jobs), and steal. */
function foreignCores(sys0, own0, own1, t0) {
  const sys1 = systemCpuSeconds();
  const wallS = (Date.now() - t0) / 1000;
  return {
    other: Math.max(0, sys1.busy - sys0.busy - (own1 - own0)) / wallS,
    steal: (sys1.steal - sys0.steal) / wallS,
  };
}

function freshDir(name) {
  const dir = path.join(WORK, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

function tail(entry) {
  const text = entry?.output?.trim();
  return text ? `; output: ${text.split('\n').slice(-3).join(' | ').slice(-400)}` : '';
}

main().then(
  () => shutdown(0),
  (err) => {
    log(`failed: ${err.stack ?? err}`);
    shutdown(1);
  },
);
