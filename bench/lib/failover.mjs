// The failover scenario (bench/README.md, "Resilience scenarios"): three endpoints behind one
// ServiceEntry, one of which answers 503 to everything; a fixed-rate load through Outrigger with
// and without the resilience config; per-second success rate and latency from the client, and
// per-second requests from each endpoint's own counter.
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { sleep } from './children.mjs';
import { freePort, get, waitFor200 } from './net-util.mjs';
import { runPaced } from './paced.mjs';
import { selfCpuSeconds, systemCpuSeconds, treeCpuSeconds } from './proc.mjs';

const COUNTING_UPSTREAM = fileURLToPath(new URL('./counting-upstream.mjs', import.meta.url));
// From the DestinationRule the scenario uses (lib/outrigger.mjs, RESILIENCE_YAML).
export const CONSECUTIVE_5XX = 5;
export const BASE_EJECTION_S = 30;
const FOREIGN_LIMIT_CORES = 0.15;

/** Variant name -> how Outrigger is run: resilient-1w, resilient-Nw, plain-1w, plain-Nw. */
export function parseVariant(name, workersN) {
  const m = /^(resilient|plain)-(1w|Nw)$/.exec(name);
  if (!m) throw new Error(`BENCH_FAILOVER_VARIANTS: unknown variant ${name} (expected resilient-1w, resilient-Nw, plain-1w or plain-Nw)`);
  return { name, resilience: m[1] === 'resilient', workers: m[2] === '1w' ? 1 : workersN };
}

/**
 * Starts the three counting upstreams (failing first in the ServiceEntry), then per variant a
 * fresh Outrigger (fresh ejection state), one timeline run, the endpoints' counters, a stop.
 * startOutrigger(name, workers, configOpts) -> target as in run.mjs; beforeVariant: e.g. wait for quiet.
 */
export async function runFailover(cfg, { registry, startOutrigger, log, beforeVariant }) {
  const endpoints = [];
  for (const [role, status] of [['failing', 503], ['healthy-a', 200], ['healthy-b', 200]]) {
    const port = await freePort();
    const entry = registry.spawn(`upstream-${role}`, process.execPath, [COUNTING_UPSTREAM, String(port), String(status)]);
    const ready = await waitFor200(port, '/__bench/stats', { entry, timeoutMs: 10_000 });
    if (!ready.ok) throw new Error(`failover upstream ${role} did not start: ${ready.reason}`);
    endpoints.push({ role, status, port, entry });
  }
  log(`failover: endpoints 127.0.0.1:${endpoints.map((e) => `${e.port} (${e.status})`).join(', ')}`);

  const variants = [];
  for (const v of cfg.failoverVariants.map((n) => parseVariant(n, cfg.workersN))) {
    await beforeVariant?.();
    for (const e of endpoints) await get(e.port, '/__bench/reset');
    const t = await startOutrigger(`failover-${v.name}`, v.workers, { upstreamPorts: endpoints.map((e) => e.port), resilience: v.resilience });
    if (!t.available) {
      variants.push({ ...v, failed: t.reason });
      log(`failover ${v.name}: not available (${t.reason})`);
      continue;
    }
    // No request through the proxy before the measured run: every request that reaches the
    // failing endpoint must be one the client's timeline accounts for.
    await sleep(300);
    log(`failover ${v.name}: ${cfg.failoverRate} rps × ${cfg.failoverDurationS} s, no warm-up`);
    const own = () => selfCpuSeconds() + treeCpuSeconds(t.entry.child.pid) + endpoints.reduce((a, e) => a + treeCpuSeconds(e.entry.child.pid), 0);
    const own0 = own();
    const sys0 = systemCpuSeconds();
    const wall0 = Date.now();
    const run = await runPaced(registry, {
      port: t.port,
      host: t.host,
      rate: cfg.failoverRate,
      durationS: cfg.failoverDurationS,
      connections: cfg.pacedConnections,
      timeline: true,
    });
    const sys1 = systemCpuSeconds();
    const wallS = (Date.now() - wall0) / 1000;
    const foreign = {
      other: Math.max(0, sys1.busy - sys0.busy - (own() - own0 + (run.clientCpuS ?? 0))) / wallS,
      steal: (sys1.steal - sys0.steal) / wallS,
    };
    const stats = [];
    for (const e of endpoints) {
      const s = await getJson(e.port, '/__bench/stats');
      stats.push({ role: e.role, status: e.status, count: s?.count ?? null, times: s?.times ?? [] });
    }
    const exited = t.entry.exited ? `outrigger exited during the run (code ${t.entry.exitCode}, signal ${t.entry.signal})` : undefined;
    await registry.stop(t.entry);
    if (run.failed || !run.timeline) {
      variants.push({ ...v, failed: run.failed ?? 'client returned no timeline' });
      continue;
    }
    variants.push({ ...v, ...analyse(run, stats), foreign, exited });
  }
  for (const e of endpoints) await registry.stop(e.entry);
  return { rate: cfg.failoverRate, durationS: cfg.failoverDurationS, connections: cfg.pacedConnections, workersN: cfg.workersN, variants };
}

function getJson(port, p) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent: false, timeout: 5000 }, (res) => {
      let s = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        s += c;
      });
      res.on('end', () => {
        try {
          resolve(JSON.parse(s));
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(undefined));
  });
}

function pct(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : null;
}

/** Client timeline + endpoint receive times -> per-second rows, phases and the ejection moment. */
export function analyse(run, stats) {
  const { latencyMs, status } = run.timeline;
  const periodMs = run.periodMs;
  const n = status.length;
  const seconds = Math.ceil((n * periodMs) / 1000);
  const rel = (times) => times.map((x) => x - run.t0EpochMs).sort((a, b) => a - b);
  const failingTimes = rel(stats.find((s) => s.role === 'failing')?.times ?? []);
  const healthyTimes = stats.filter((s) => s.role !== 'failing').map((s) => rel(s.times));

  // Ejection as the failing endpoint saw it: the last request before its first silence of at
  // least 1 s that lasts to the end of the run or beyond 1 s (a steady trickle = never ejected).
  const endMs = n * periodMs;
  let quietFromMs = null;
  for (let i = 0; i < failingTimes.length; i++) {
    const next = i + 1 < failingTimes.length ? failingTimes[i + 1] : endMs;
    if (next - failingTimes[i] >= 1000) {
      quietFromMs = failingTimes[i];
      break;
    }
  }
  if (failingTimes.length === 0) quietFromMs = 0;
  const readmitAtMs = quietFromMs === null ? null : (failingTimes.find((x) => x > quietFromMs) ?? null);

  const phase = (fromMs, toMs) => {
    let sent = 0;
    let ok = 0;
    let non2xx = 0;
    let errors = 0;
    const lat = [];
    for (let i = 0; i < n; i++) {
      const due = i * periodMs;
      if (due < fromMs || due >= toMs) continue;
      sent++;
      const st = status[i];
      if (latencyMs[i] === null) errors++;
      else {
        lat.push(latencyMs[i]);
        if (st >= 200 && st < 300) ok++;
        else if (st === 0) errors++;
        else non2xx++;
      }
    }
    lat.sort((a, b) => a - b);
    const hits = (times) => times.filter((x) => x >= fromMs && x < toMs).length;
    return {
      fromMs,
      toMs,
      sent,
      ok,
      non2xx,
      errors,
      successPct: sent ? (ok / sent) * 100 : null,
      p50: pct(lat, 0.5),
      p99: pct(lat, 0.99),
      failingHits: hits(failingTimes),
      healthyHits: healthyTimes.map(hits),
    };
  };

  const perSecond = Array.from({ length: seconds }, (_, s) => ({ second: s, ...phase(s * 1000, (s + 1) * 1000) }));
  const endpointTotal = stats.reduce((a, s) => a + (s.count ?? 0), 0);
  // The window in which an ejected endpoint must get nothing: from 1 s until the ejection ends.
  const ejectionWindow = { fromMs: 1000, toMs: Math.min(endMs, BASE_EJECTION_S * 1000) };
  return {
    t0EpochMs: run.t0EpochMs,
    whole: phase(-Infinity, Infinity),
    first: phase(-Infinity, 1000),
    after1s: phase(1000, Infinity),
    afterEjection: quietFromMs === null ? null : phase(quietFromMs, readmitAtMs ?? Infinity),
    quietFromMs,
    readmitAtMs,
    failingHitsInWindow: failingTimes.filter((x) => x >= ejectionWindow.fromMs && x < ejectionWindow.toMs).length,
    ejectionWindow,
    failingTimesMs: failingTimes.slice(0, 200).map((x) => Math.round(x * 10) / 10),
    endpointCounts: stats.map((s) => ({ role: s.role, status: s.status, count: s.count })),
    attemptsPerRequest: n ? endpointTotal / n : null,
    perSecond,
    unfinished: run.unfinished,
  };
}

const f = (v, d = 2) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '—');
const pctText = (p) => (p.successPct === null ? '—' : `${p.successPct.toFixed(2)}%`);

/** Markdown for the failover section. */
export function renderFailover(fo) {
  const L = [];
  L.push('', '### Failover: one failing endpoint out of three', '');
  L.push(
    `ServiceEntry with 3 endpoints (Node counting servers; the first answers 503 to everything), load ${fo.rate} rps × ${fo.durationS} s on ${fo.connections} keep-alive connections, no warm-up, fresh Outrigger per variant. ` +
      '`resilient-*`: DestinationRule LEAST_REQUEST + outlierDetection (5 consecutive 5xx, interval 10s, baseEjectionTime 30s, maxEjectionPercent 100) + http1MaxPendingRequests 1024, VirtualService retries 2 on 5xx,connect-failure, timeout 10s. ' +
      '`plain-*`: the ServiceEntry alone (Istio\'s default retry policy does not retry a 503). ' +
      `Latency is from each request's scheduled time, over every answered request. "Failing endpoint quiet from": its last request before a silence of ≥ 1 s (≈ when it was ejected).`,
  );
  L.push('');
  L.push(
    '| variant | 2xx, whole run | 2xx, first 1 s | 2xx, after 1 s | p50 / p99 ms after 1 s | 2xx / p50 / p99 ms after ejection | requests at failing endpoint (total / first 1 s / after 1 s) | failing endpoint quiet from | upstream attempts per request | other load, cores |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const v of fo.variants) {
    if (v.failed) {
      L.push(`| ${v.name} | not available (${v.failed}) | | | | | | | | |`);
      continue;
    }
    const fail = v.endpointCounts.find((e) => e.role === 'failing')?.count;
    const ae = v.afterEjection;
    L.push(
      `| ${v.name} | ${pctText(v.whole)} (${v.whole.ok}/${v.whole.sent}) | ${pctText(v.first)} | ${pctText(v.after1s)} | ${f(v.after1s.p50, 3)} / ${f(v.after1s.p99, 3)} | ${ae ? `${pctText(ae)} / ${f(ae.p50, 3)} / ${f(ae.p99, 3)}` : 'never ejected'} | ${fail ?? '—'} / ${v.first.failingHits} / ${v.after1s.failingHits} | ${v.quietFromMs === null ? 'never' : `${f(v.quietFromMs, 1)} ms${v.readmitAtMs !== null ? ` (back at ${f(v.readmitAtMs / 1000, 1)} s)` : ''}`} | ${f(v.attemptsPerRequest, 3)} | ${f(v.foreign?.other)}${v.foreign?.other > FOREIGN_LIMIT_CORES ? ' ⚠' : ''} |`,
    );
  }

  const res = fo.variants.filter((v) => v.resilience);
  if (res.length) {
    L.push('', '| check (resilient variants) | goal | measured | result |', '|---|---|---|---|');
    for (const v of res) {
      if (v.failed) {
        L.push(`| ${v.name} | — | not available | NOT MEASURED |`);
        continue;
      }
      const okWhole = v.whole.successPct;
      L.push(`| ${v.name}: success rate, whole run | ≥ 99.9% 2xx | ${pctText(v.whole)} | ${okWhole >= 99.9 ? 'PASS' : 'FALL SHORT'} |`);
      const w = v.ejectionWindow;
      L.push(
        `| ${v.name}: failing endpoint ejected | no request to it from ${f(w.fromMs / 1000, 0)} s to ${f(w.toMs / 1000, 0)} s | ${v.failingHitsInWindow} requests (${v.first.failingHits} in the first second) | ${v.failingHitsInWindow === 0 ? 'PASS' : 'FALL SHORT'} |`,
      );
    }
  }
  const problems = fo.variants.flatMap((v) => [
    ...(v.exited ? [`${v.name}: ${v.exited}`] : []),
    ...(v.unfinished ? [`${v.name}: ${v.unfinished} requests unanswered at the end`] : []),
    ...(v.foreign?.other > FOREIGN_LIMIT_CORES ? [`${v.name}: disturbed, other processes used ${f(v.foreign.other)} cores`] : []),
    ...(v.foreign?.steal > FOREIGN_LIMIT_CORES ? [`${v.name}: disturbed, ${f(v.foreign.steal)} cores stolen`] : []),
  ]);
  if (problems.length) {
    L.push('', '⚠ Failover problems:', '');
    for (const p of problems) L.push(`- ${p}`);
  }
  for (const v of fo.variants.filter((x) => !x.failed)) {
    L.push('', `<details><summary>Failover ${v.name}: per second (requests by scheduled time; endpoint requests by arrival)</summary>`, '');
    L.push('| second | sent | 2xx % | non-2xx | errors | p50 ms | p99 ms | failing endpoint | healthy A | healthy B |', '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const s of v.perSecond) {
      L.push(`| ${s.second} | ${s.sent} | ${pctText(s)} | ${s.non2xx} | ${s.errors} | ${f(s.p50, 3)} | ${f(s.p99, 3)} | ${s.failingHits} | ${s.healthyHits[0]} | ${s.healthyHits[1]} |`);
    }
    if (v.failingTimesMs.length) L.push('', `Failing endpoint's requests at (ms after start): ${v.failingTimesMs.slice(0, 40).map((x) => f(x, 1)).join(', ')}${v.failingTimesMs.length > 40 ? ', …' : ''}`);
    L.push('', '</details>');
  }
  return L.join('\n');
}
