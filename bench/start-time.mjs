// Start time on the host: how soon `outrigger run --intercept` answers 200 on its health port
// (Kubernetes' readiness probe, 15021 in a pod) after the process is spawned. No podman needed: the
// same start as the container's, minus the container runtime. Prints a Markdown table for
// bench/RESULTS.md.
//   node bench/start-time.mjs                 this checkout, BENCH_START_RUNS runs (default 15)
//   node bench/start-time.mjs DIR [DIR ...]   several checkouts (built: bin/ and dist/), runs
//                                             interleaved so each sees the same machine load
// Each run: spawn, poll GET /healthz/ready every 5 ms until 200, then SIGTERM (drain 0 s). Also
// read from the proxy's own output: the first snapshot's version (its timestamp is when the config
// was translated) and the "outrigger ready" line. One unmeasured warm-up run per checkout first
// (the page cache). Polls only 127.0.0.1; every port is chosen free at run time.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './lib/net-util.mjs';
import { treeCpuSeconds } from './lib/proc.mjs';

const here = fileURLToPath(new URL('..', import.meta.url));
const roots = process.argv.slice(2).length > 0 ? process.argv.slice(2).map((d) => resolve(d)) : [here];
const RUNS = Number(process.env.BENCH_START_RUNS ?? 15);
const WORKERS = Number(process.env.BENCH_START_WORKERS ?? 2);
/** 20 s: far beyond any start seen (≤ 2 s under load); a run past it is a failure, not a number. */
const READY_DEADLINE_MS = 20_000;
/** 5 ms: the health-port poll period (a refused connect costs ~0.1 ms of CPU). */
const POLL_MS = 5;

// One service, as bench/image.mjs's container runs (a ServiceEntry with an HTTP port).
const work = mkdtempSync(join(tmpdir(), 'outrigger-start-'));
mkdirSync(join(work, 'config'));
writeFileSync(
  join(work, 'config/mesh.yaml'),
  'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: web, namespace: shop}\nspec:\n  hosts: [web.shop.svc.cluster.local]\n  addresses: [10.96.0.10]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  endpoints: [{address: 10.77.3.1, ports: {http: 8081}}]\n',
);

function healthStatus(port) {
  return new Promise((done) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz/ready', agent: false, timeout: 1_000 }, (res) => {
      res.resume();
      done(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(0));
  });
}

/** One start: ms from spawn to the first health 200, to the snapshot's timestamp, to the ready line. */
async function startOnce(root) {
  const health = await freePort();
  const outbound = await freePort();
  const inbound = await freePort();
  const args = [join(root, 'bin/outrigger.js'), 'run', '--intercept', '--config', join(work, 'config'), '--outbound', 'off',
    '--outbound-port', String(outbound), '--inbound-port', String(inbound), '--admin-port', '0', '--health-port', String(health),
    '--stats-port', '0', '--workers', String(WORKERS), '--no-watch', '--drain-timeout', '0s'];
  const spawnedAt = Date.now();
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let readyLineMs;
  child.stdout.on('data', (d) => {
    out += d;
    if (readyLineMs === undefined && out.includes('outrigger ready:')) readyLineMs = performance.now() - t0;
  });
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((r) => child.once('exit', r));
  let readyMs;
  let cpuMs;
  try {
    while (performance.now() - t0 < READY_DEADLINE_MS && child.exitCode === null) {
      if ((await healthStatus(health)) === 200) {
        readyMs = performance.now() - t0;
        cpuMs = treeCpuSeconds(child.pid) * 1000;
        break;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  if (readyMs === undefined) throw new Error(`${root}: not ready within ${READY_DEADLINE_MS} ms:\n${out}`);
  // The first snapshot's version is `ISO-time/1`: when the YAML had been translated.
  const m = /snapshot (\d{4}-\d\d-\d\dT[\d:.]+Z)\//.exec(out);
  const translatedMs = m ? Date.parse(m[1]) - spawnedAt : undefined;
  return { readyMs, translatedMs, readyLineMs, cpuMs };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (xs) => (xs.length === 0 ? 'n/a' : `${Math.round(median(xs))} [${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}]`);

const results = new Map(roots.map((r) => [r, []]));
const loads = [loadavg()[0]];
try {
  for (const root of roots) await startOnce(root); // warm-up, unmeasured
  for (let i = 0; i < RUNS; i++) {
    // Rotate the order so no checkout always runs right after another's exit.
    for (let k = 0; k < roots.length; k++) {
      const root = roots[(i + k) % roots.length];
      results.get(root).push(await startOnce(root));
    }
    loads.push(loadavg()[0]);
    process.stderr.write(`[start-time] round ${i + 1}/${RUNS}\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const label = (root) => `\`${root}\``;
console.log(`## Start time (\`node bench/start-time.mjs\`)

Machine: ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z; load average (1 min) during the run ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}. ${RUNS} runs per checkout${roots.length > 1 ? ', interleaved' : ''}, after one warm-up; \`outrigger run --intercept\` on a one-service config, ${WORKERS} workers. Times in ms from spawn, median [min–max]; CPU is user + system time of the proxy process when its health port first answered 200 (10 ms ticks), which load on the machine changes much less than wall time.

| checkout | spawn → health 200 | spawn → config translated | spawn → "outrigger ready" line | CPU used by then (all threads) |
|---|---|---|---|---|
${roots
  .map((r) => {
    const rs = results.get(r);
    return `| ${label(r)} | ${fmt(rs.map((x) => x.readyMs))} | ${fmt(rs.map((x) => x.translatedMs).filter((x) => x !== undefined))} | ${fmt(rs.map((x) => x.readyLineMs).filter((x) => x !== undefined))} | ${fmt(rs.map((x) => x.cpuMs))} |`;
  })
  .join('\n')}
`);
