// h2c scenario (bench/README.md, "h2c"): h2load → Outrigger (h2c in, HTTP/1.1 out; and h2c in,
// HTTP/2 out) against nginx doing the same (`listen … http2` cleartext; `proxy_pass` HTTP/1.1 with
// upstream keepalive 256; `grpc_pass` for HTTP/2 out) and h2load straight to the h2c upstream
// ("direct"), interleaved in rounds; only same-round ratios are reported (this machine's speed
// drifts). CPU per request from /proc of each server's process tree; latency percentiles from
// h2load's per-request log.
// Usage: node bench/h2c-path.mjs   (BENCH_ROUNDS=3 BENCH_DURATION=5 BENCH_H2_CLIENTS=4
// BENCH_H2_STREAMS=16 BENCH_NO_BUILD=1 BENCH_NO_INSTALL=1); BENCH_PROFILE=1 runs outrigger with
// --cpu-prof (profiles in bench/.work/h2c-prof-<date>/, top functions printed at the end);
// BENCH_ONLY=h1|h2 measures only direct and that kind's pair.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChildRegistry, sleep } from './lib/children.mjs';
import { freePort, waitFor200 } from './lib/net-util.mjs';
import { commonHead, ensureNginx } from './lib/nginx.mjs';
import { treeCpuSeconds } from './lib/proc.mjs';
import { BODY } from './lib/body.mjs';
import { listProfiles, summarise } from './lib/cpuprofile-summary.mjs';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const durationS = Number(process.env.BENCH_DURATION ?? 5);
const clients = Number(process.env.BENCH_H2_CLIENTS ?? 4);
const streams = Number(process.env.BENCH_H2_STREAMS ?? 16);
const only = process.env.BENCH_ONLY;
const profileDir = process.env.BENCH_PROFILE === '1' ? path.join(repoRoot, 'bench', '.work', `h2c-prof-${new Date().toISOString().replace(/[:.]/g, '-')}`) : undefined;
const log = (m) => process.stderr.write(`[h2c] ${m}\n`);
const NS = 'bench';
const H1_HOST = `upstream-h1.${NS}.svc.cluster.local`;
const H2_HOST = `upstream-h2.${NS}.svc.cluster.local`;

const registry = new ChildRegistry();
const work = mkdtempSync(path.join(tmpdir(), 'outrigger-bench-h2c-'));
chmodSync(work, 0o755);
process.on('exit', () => {
  registry.killAllSync();
  rmSync(work, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

let nginxBin;
function startNginx(name, body) {
  const prefix = path.join(work, name);
  mkdirSync(path.join(prefix, 'tmp'), { recursive: true });
  const conf = path.join(prefix, 'nginx.conf');
  writeFileSync(conf, `${commonHead(prefix)}${body}}\n`);
  return registry.spawn(name, nginxBin, ['-p', prefix, '-c', conf, '-e', path.join(prefix, 'error.log'), '-g', 'daemon off;']);
}

/** h2load for `durationS` on `clients` connections × `streams` streams; req/s, failures, latency percentiles (µs). */
function h2load(port, authority) {
  const logFile = path.join(work, `h2load-${port}-${Date.now()}.tsv`);
  return new Promise((resolve) => {
    const args = ['-c', String(clients), '-m', String(streams), '-D', String(durationS), '-t', '1', '--log-file', logFile, '-H', `:authority: ${authority}`, `http://127.0.0.1:${port}/`];
    const child = spawn('h2load', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', () => {
      const rq = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
      const rps = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out);
      if (!rq || !rps) return resolve({ failed: `h2load: no summary:\n${out.slice(-800)}` });
      const lat = [];
      let non2xx = 0;
      for (const line of readFileSync(logFile, 'utf8').split('\n')) {
        const [, status, us] = line.split('\t');
        if (us === undefined) continue;
        if (!status.startsWith('2')) non2xx++;
        lat.push(Number(us));
      }
      rmSync(logFile, { force: true });
      lat.sort((a, b) => a - b);
      const pct = (p) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? NaN;
      resolve({ rps: Number(rps[1]), completed: Number(rq[4]), failed: Number(rq[5]) + Number(rq[6]) + Number(rq[7]), non2xx, p50us: pct(50), p99us: pct(99) });
    });
  });
}

function outriggerConfig(dir, { orH1, orH2, h1Up, h2Up }) {
  mkdirSync(dir, { recursive: true });
  const se = (name, host, port, protocol, ep) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: ${NS}}
spec:
  hosts: [${host}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: ${port}, name: ${protocol.toLowerCase()}, protocol: ${protocol}}]
  endpoints: [{address: 127.0.0.1, ports: {${protocol.toLowerCase()}: ${ep}}}]
---
`;
  writeFileSync(path.join(dir, 'bench.yaml'), `${se('upstream-h1', H1_HOST, orH1, 'HTTP', h1Up)}${se('upstream-h2', H2_HOST, orH2, 'HTTP2', h2Up)}apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: ${NS}}
spec:
  egress:
  - port: {number: ${orH1}, name: http, protocol: HTTP}
    bind: 127.0.0.1
    hosts: ["./*"]
  - port: {number: ${orH2}, name: http2, protocol: HTTP2}
    bind: 127.0.0.1
    hosts: ["./*"]
`);
  writeFileSync(path.join(dir, '..', 'mesh.yaml'), 'accessLogFile: ""\n');
  return dir;
}

async function main() {
  const nginx = ensureNginx({ allowInstall: process.env.BENCH_NO_INSTALL !== '1', log });
  if (nginx.missing) throw new Error(`nginx: ${nginx.missing}`);
  nginxBin = nginx.bin;
  try {
    execFileSync('h2load', ['--version'], { stdio: 'ignore' });
  } catch {
    if (process.env.BENCH_NO_INSTALL === '1' || process.getuid?.() !== 0) throw new Error('h2load missing (Debian nghttp2-client)');
    log('installing nghttp2-client (h2load)');
    execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nghttp2-client'], { stdio: 'inherit' });
  }
  if (process.env.BENCH_NO_BUILD !== '1') {
    log('building dist/');
    execFileSync(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', path.join(repoRoot, 'tsconfig.build.json')]);
  }
  const ports = {};
  for (const k of ['h1Up', 'h2Up', 'orH1', 'orH2', 'ngH1', 'ngH2', 'admin']) ports[k] = await freePort();
  const body = BODY.toString('latin1').replace(/\n/g, '\\n');
  const staticLocation = `location / { default_type text/plain; return 200 "${body}"; }`;
  // The upstreams: the same static 1 KiB answer over HTTP/1.1 and over h2c.
  const upH1 = startNginx('upstream-h1', `  server { listen 127.0.0.1:${ports.h1Up}; ${staticLocation} }\n`);
  const upH2 = startNginx('upstream-h2c', `  server { listen 127.0.0.1:${ports.h2Up} http2; http2_max_concurrent_streams 1024; ${staticLocation} }\n`);
  // nginx doing Outrigger's two jobs, one worker: h2c in, HTTP/1.1 out (keepalive 256) and h2c in, HTTP/2 out (grpc_pass).
  const ngProxy = startNginx('nginx-proxy', `  upstream h1 { server 127.0.0.1:${ports.h1Up}; keepalive 256; keepalive_requests 1000000; keepalive_timeout 300s; }
  upstream h2 { server 127.0.0.1:${ports.h2Up}; keepalive 256; keepalive_requests 1000000; keepalive_timeout 300s; }
  server {
    listen 127.0.0.1:${ports.ngH1} http2; http2_max_concurrent_streams 1024;
    location / { proxy_pass http://h1; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $http_host; }
  }
  server {
    listen 127.0.0.1:${ports.ngH2} http2; http2_max_concurrent_streams 1024;
    location / { grpc_pass grpc://h2; }
  }
`);
  const configDir = outriggerConfig(path.join(work, 'config', 'or'), ports);
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const outrigger = registry.spawn('outrigger', process.execPath, [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), path.join(repoRoot, 'bin/outrigger.js'), 'run', '--drain-timeout', '1s', '--config', configDir, '--mesh-config', path.join(work, 'config', 'mesh.yaml'),
    '--namespace', NS, '--workers', '1', '--outbound', 'off', '--admin-port', String(ports.admin), '--stats-port', '0', '--health-port', '0', '--no-watch', '--log-level', process.env.BENCH_LOG_LEVEL ?? 'warn']);
  const up = await waitFor200(ports.admin, '/ready', { entry: outrigger, timeoutMs: 30_000 });
  if (!up.ok) throw new Error(`outrigger did not get ready: ${up.reason}\n${outrigger.output.slice(-1500)}`);
  const upReady = await waitFor200(ports.h1Up, '/', { entry: upH1, timeoutMs: 15_000 });
  if (!upReady.ok) throw new Error(`upstream-h1 did not answer on :${ports.h1Up}: ${upReady.reason}\n${upH1.output.slice(-800)}`);
  // The h2c servers answer only HTTP/2: h2loadOnce below is their readiness check (after a moment to bind).
  await sleep(300);

  // Each target: who is loaded, and whose CPU pays for it.
  const all = [
    { name: 'direct (h2c upstream)', kind: 'direct', port: ports.h2Up, authority: H2_HOST, pid: upH2.child.pid },
    { name: 'outrigger h2c→HTTP/1.1', kind: 'h1', port: ports.orH1, authority: `${H1_HOST}:${ports.orH1}`, pid: outrigger.child.pid },
    { name: 'nginx h2c→HTTP/1.1', kind: 'h1', port: ports.ngH1, authority: H1_HOST, pid: ngProxy.child.pid },
    { name: 'outrigger h2c→HTTP/2', kind: 'h2', port: ports.orH2, authority: `${H2_HOST}:${ports.orH2}`, pid: outrigger.child.pid },
    { name: 'nginx h2c→HTTP/2 (grpc_pass)', kind: 'h2', port: ports.ngH2, authority: H2_HOST, pid: ngProxy.child.pid },
  ];
  // A target that cannot serve (e.g. a build without HTTP/2) is reported, not fatal.
  const targets = [];
  for (const t of all.filter((x) => !only || x.kind === 'direct' || x.kind === only)) {
    const r = await h2loadOnce(t);
    if (r.ok) targets.push(t);
    else log(`${t.name}: not available (${r.reason})`), (t.unavailable = r.reason);
  }
  if (!targets.some((t) => t.kind === 'direct')) throw new Error('the h2c upstream does not answer');
  log('warm-up');
  for (const t of targets) await h2load(t.port, t.authority);
  const results = [];
  for (let r = 0; r < rounds; r++) {
    const round = {};
    for (let i = 0; i < targets.length; i++) {
      const t = targets[(i + r) % targets.length];
      await sleep(300);
      const before = treeCpuSeconds(t.pid);
      const res = await h2load(t.port, t.authority);
      const cpu = treeCpuSeconds(t.pid) - before;
      if (res.failed === undefined || typeof res.failed === 'string') throw new Error(`${t.name}: ${res.failed}`);
      round[t.name] = { ...res, cpuUsPerReq: (cpu * 1e6) / res.completed };
      log(`round ${r + 1} ${t.name}: ${res.rps.toFixed(0)} req/s, ${round[t.name].cpuUsPerReq.toFixed(1)} µs CPU each, p50 ${(res.p50us / 1000).toFixed(2)} ms, p99 ${(res.p99us / 1000).toFixed(2)} ms, failed ${res.failed}, non-2xx ${res.non2xx}`);
    }
    results.push(round);
  }
  console.log(render(results, targets, all.filter((x) => targets.includes(x) || x.unavailable), nginx.version));
  if (profileDir) {
    // Profiles are written only on a normal exit.
    await registry.stop(outrigger, 15_000);
    const files = listProfiles([profileDir]);
    console.log(files.length === 0 ? 'no .cpuprofile written' : `\nProfiles in ${path.relative(repoRoot, profileDir)}${summarise(files, 30, repoRoot)}`);
  }
}

/** One short h2load (100 requests): the target answers 200 over h2c. */
async function h2loadOnce(t) {
  try {
    const out = execFileSync('h2load', ['-n', '100', '-c', '1', '-m', '10', '-H', `:authority: ${t.authority}`, `http://127.0.0.1:${t.port}/`], { encoding: 'utf8', timeout: 10_000 });
    const ok = /100 succeeded, 0 failed/.test(out) && /status codes: 100 2xx/.test(out);
    return ok ? { ok } : { ok, reason: (out.match(/requests: .*|status codes: .*/g) ?? [out.slice(-200)]).join('; ') };
  } catch (e) {
    return { ok: false, reason: e.message.slice(0, 200) };
  }
}

function render(results, targets, all, nginxVersion) {
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const fmt = (xs) => `${median(xs).toFixed(2)} [${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}]`;
  const lines = [`## h2c: Outrigger vs nginx vs direct, h2load (${new Date().toISOString()})`, '',
    `Machine: ${os.cpus()[0]?.model ?? 'unknown'} × ${os.availableParallelism()}, Node ${process.version}, nginx ${nginxVersion}. ${rounds} rounds × ${durationS} s, order rotated; h2load -c${clients} -m${streams} -t1 over h2c (prior knowledge); outrigger 1 worker, nginx 1 worker; upstreams: nginx static 1 KiB (HTTP/1.1, and h2c for "HTTP/2 out" and direct).`,
    'CPU: utime+stime of the server process tree (/proc) over the run ÷ requests; latency: h2load per-request log (start to end of response).', '',
    '| target | req/s (median) | CPU µs each (median) | p50 ms | p99 ms | failed + non-2xx (all rounds) |', '|---|---|---|---|---|---|'];
  for (const t of targets) {
    const xs = results.map((x) => x[t.name]);
    lines.push(`| ${t.name} | ${median(xs.map((x) => x.rps)).toFixed(0)} | ${median(xs.map((x) => x.cpuUsPerReq)).toFixed(1)} | ${(median(xs.map((x) => x.p50us)) / 1000).toFixed(2)} | ${(median(xs.map((x) => x.p99us)) / 1000).toFixed(2)} | ${xs.reduce((a, x) => a + x.failed + x.non2xx, 0)} |`);
  }
  for (const t of all.filter((x) => x.unavailable)) lines.push(`| ${t.name} | not available: ${t.unavailable.replace(/\|/g, '/')} | | | | |`);
  lines.push('', '| ratio inside each round | CPU each, median [min–max] | req/s | p50 | p99 |', '|---|---|---|---|---|');
  const has = (n) => targets.some((t) => t.name === n);
  const ratio = (a, b) => {
    if (!has(a) || !has(b)) return;
    const r = (f) => fmt(results.map((x) => f(x[a]) / f(x[b])));
    lines.push(`| ${a} ÷ ${b} | ${r((x) => x.cpuUsPerReq)} | ${r((x) => x.rps)} | ${r((x) => x.p50us)} | ${r((x) => x.p99us)} |`);
  };
  ratio('outrigger h2c→HTTP/1.1', 'nginx h2c→HTTP/1.1');
  ratio('outrigger h2c→HTTP/2', 'nginx h2c→HTTP/2 (grpc_pass)');
  ratio('outrigger h2c→HTTP/1.1', 'direct (h2c upstream)');
  ratio('outrigger h2c→HTTP/2', 'direct (h2c upstream)');
  ratio('nginx h2c→HTTP/1.1', 'direct (h2c upstream)');
  const target = (a, b) => {
    if (!has(a) || !has(b)) return `${a}: NOT MEASURED`;
    const m = median(results.map((x) => x[a].cpuUsPerReq / x[b].cpuUsPerReq));
    return `${a}: CPU per request ${m.toFixed(2)}× nginx's — ${m <= 2 ? 'PASS' : 'FALL SHORT'} (target ≤ 2×)`;
  };
  lines.push('', `Target: ${target('outrigger h2c→HTTP/1.1', 'nginx h2c→HTTP/1.1')}; ${target('outrigger h2c→HTTP/2', 'nginx h2c→HTTP/2 (grpc_pass)')}.`);
  return lines.join('\n');
}

main().then(() => process.exit(0), (e) => {
  console.error(e.stack ?? e);
  process.exit(1);
});
