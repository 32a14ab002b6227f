// RSS after saturation (bench/README.md, "RSS after saturation"): a fresh 1-worker Outrigger of
// each build, 100 keep-alive connections for 10 s (autocannon, and wrk when installed), then its
// resident memory from /proc: right after the load, 2 s later, and the peak (VmHWM).
import { sleep } from './children.mjs';
import { get } from './net-util.mjs';
import { peakRssBytes, treeRssBytes } from './proc.mjs';
import { runAutocannon, runWrk } from './saturate.mjs';
import { BODY } from './body.mjs';

const MiB = 1024 * 1024;
export const RSS_GOAL_MIB = 100; // the project's target: ≤ 100 MiB after saturation, 1 worker
export const BASELINE_MAX_RATIO = 1.05; // current within 5% of the baseline (issue "Proof")

/**
 * builds: [{ label, build }] (build as startOutrigger takes it). Order alternates per repeat so
 * neither build always runs first. Returns { runs: [...], settings }.
 */
export async function runRssSaturation(cfg, { builds, wrkBin, upstreamPort, startOutrigger, registry, log, beforeRun }) {
  const tools = ['autocannon', ...(wrkBin ? ['wrk'] : [])];
  const runs = [];
  for (let rep = 0; rep < cfg.rssRepeat; rep++) {
    for (const tool of tools) {
      const order = rep % 2 ? [...builds].reverse() : builds;
      for (const b of order) {
        await beforeRun?.();
        const run = { build: b.label, tool, repeat: rep + 1 };
        runs.push(run);
        const t = await startOutrigger(`rss-${b.label}-${tool}`, 1, { upstreamPort }, { build: b.build });
        if (!t.available) {
          run.failed = t.reason;
          continue;
        }
        const check = await get(t.port, '/', t.host);
        if (check.status !== 200 || check.bytes !== BODY.length) {
          run.failed = `GET / answered ${check.error ?? `HTTP ${check.status}, ${check.bytes} bytes`}`;
          await registry.stop(t.entry);
          continue;
        }
        const pid = t.entry.child.pid;
        await sleep(300);
        run.idleBytes = treeRssBytes(pid);
        log(`rss: ${b.label} ${tool} -c${cfg.rssConnections} ${cfg.rssDurationS} s (fresh process)`);
        const load =
          tool === 'wrk'
            ? await runWrk(wrkBin, { port: t.port, host: t.host, connections: cfg.rssConnections, durationS: cfg.rssDurationS })
            : await runAutocannon({ port: t.port, host: t.host, connections: cfg.rssConnections, durationS: cfg.rssDurationS });
        run.afterBytes = treeRssBytes(pid);
        run.peakBytes = peakRssBytes(pid);
        await sleep(2000);
        run.settledBytes = treeRssBytes(pid);
        run.rps = load.rps ?? null;
        run.bad = load.failed ? load.failed : (load.non2xx ?? 0) + (load.errors ?? 0) + (load.timeouts ?? 0);
        if (t.entry.exited) run.failed = `outrigger exited (code ${t.entry.exitCode}, signal ${t.entry.signal})`;
        await registry.stop(t.entry);
      }
    }
  }
  return { runs, connections: cfg.rssConnections, durationS: cfg.rssDurationS, tools };
}

const mib = (b) => (typeof b === 'number' ? (b / MiB).toFixed(1) : '—');

/** Markdown: one row per run, then the 100 MiB check per build and current ÷ baseline per tool. */
export function renderRssSaturation(res, { baselineLabel }) {
  const L = [];
  L.push(`### RSS after saturation (1 worker, ${res.connections} keep-alive connections × ${res.durationS} s, fresh process per run)`, '');
  L.push('Resident memory of the Outrigger process from /proc: idle before the load, peak during it (VmHWM), right after it, and 2 s later.', '');
  L.push('| build | load | RSS idle MiB | peak MiB | after load MiB | +2 s MiB | req/s | non-2xx + errors |', '|---|---|---:|---:|---:|---:|---:|---:|');
  for (const r of res.runs) {
    if (r.failed) {
      L.push(`| ${r.build} | ${r.tool} | not available (${r.failed}) | | | | | |`);
      continue;
    }
    const bad = typeof r.bad === 'number' ? `${r.bad}${r.bad ? ' ⚠' : ''}` : `${r.bad} ⚠`;
    L.push(`| ${r.build} | ${r.tool} -c${res.connections} | ${mib(r.idleBytes)} | ${mib(r.peakBytes)} | ${mib(r.afterBytes)} | ${mib(r.settledBytes)} | ${r.rps === null ? '—' : Math.round(r.rps)} | ${bad} |`);
  }
  L.push('', '| check | goal | measured | result |', '|---|---|---|---|');
  const builds = [...new Set(res.runs.map((r) => r.build))];
  for (const b of builds) {
    const ok = res.runs.filter((r) => r.build === b && !r.failed);
    if (!ok.length) {
      L.push(`| ${b}: RSS after saturation | ≤ ${RSS_GOAL_MIB} MiB | not measured (${res.runs.find((r) => r.build === b)?.failed}) | NOT MEASURED |`);
      continue;
    }
    const worst = Math.max(...ok.map((r) => r.afterBytes)) / MiB;
    L.push(`| ${b}: RSS after saturation | ≤ ${RSS_GOAL_MIB} MiB | ${worst.toFixed(1)} MiB (max over ${ok.map((r) => r.tool).join(', ')}) | ${worst <= RSS_GOAL_MIB ? 'PASS' : 'FALL SHORT'} |`);
  }
  if (baselineLabel && builds.includes(baselineLabel)) {
    for (const tool of res.tools) {
      const cur = res.runs.filter((r) => r.build === 'current' && r.tool === tool && !r.failed).map((r) => r.afterBytes);
      const base = res.runs.filter((r) => r.build === baselineLabel && r.tool === tool && !r.failed).map((r) => r.afterBytes);
      if (!cur.length || !base.length) continue;
      const ratio = Math.max(...cur) / Math.max(...base);
      L.push(`| current ÷ baseline, RSS after ${tool} | ≤ ${BASELINE_MAX_RATIO.toFixed(2)}× | ${ratio.toFixed(3)}× | ${ratio <= BASELINE_MAX_RATIO ? 'PASS' : 'FAIL'} |`);
    }
  }
  return L.join('\n');
}
