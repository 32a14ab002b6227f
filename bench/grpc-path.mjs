// gRPC scenario (bench/README.md, "gRPC"): @grpc/grpc-js unary clients → Outrigger (a ServiceEntry
// GRPC port, 1 worker) → a grpc-js server, against the same clients straight to the server, in
// interleaved rounds; only same-round ratios are reported (this machine's speed drifts). Client and
// server are separate processes (bench/lib/grpc-load.mjs, bench/lib/grpc-echo-server.mjs).
// Usage: node bench/grpc-path.mjs   (BENCH_ROUNDS=3 BENCH_DURATION=5 BENCH_GRPC_CONCURRENCY=32
// BENCH_GRPC_CHANNELS=4 BENCH_NO_BUILD=1)
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChildRegistry, sleep } from './lib/children.mjs';
import { freePort, waitFor200 } from './lib/net-util.mjs';
import { treeCpuSeconds } from './lib/proc.mjs';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const benchDir = path.join(repoRoot, 'bench');
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const durationS = Number(process.env.BENCH_DURATION ?? 5);
const concurrency = Number(process.env.BENCH_GRPC_CONCURRENCY ?? 32);
const channels = Number(process.env.BENCH_GRPC_CHANNELS ?? 4);
const log = (m) => process.stderr.write(`[grpc] ${m}\n`);
const NS = 'bench';
const HOST = `grpc-echo.${NS}.svc.cluster.local`;

const registry = new ChildRegistry();
const work = mkdtempSync(path.join(tmpdir(), 'outrigger-bench-grpc-'));
chmodSync(work, 0o755);
process.on('exit', () => {
  registry.killAllSync();
  rmSync(work, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

/** One load run in its own process: {completed, errors, firstError, rps, p50us, p99us}. */
function load(port, authority, seconds = durationS, warmupS = 1) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(benchDir, 'lib', 'grpc-load.mjs'), String(port), authority ?? '-', String(seconds), String(concurrency), String(channels), String(warmupS)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)));
      } catch {
        resolve({ failed: `load client: ${err.slice(-500) || out.slice(-500)}` });
      }
    });
  });
}

async function main() {
  if (process.env.BENCH_NO_BUILD !== '1') {
    log('building dist/');
    execFileSync(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', path.join(repoRoot, 'tsconfig.build.json')]);
  }
  const ports = { server: await freePort(), proxy: await freePort(), admin: await freePort() };
  const server = registry.spawn('grpc-server', process.execPath, [path.join(benchDir, 'lib', 'grpc-echo-server.mjs'), String(ports.server)]);
  for (let i = 0; i < 100 && !/ready/.test(server.output); i++) await sleep(50);
  if (!/ready/.test(server.output)) throw new Error(`grpc server did not start: ${server.output.slice(-800)}`);

  const dir = path.join(work, 'config');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'bench.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: grpc-echo, namespace: ${NS}}
spec:
  hosts: [${HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: ${ports.proxy}, name: grpc, protocol: GRPC}]
  endpoints: [{address: 127.0.0.1, ports: {grpc: ${ports.server}}}]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: ${NS}}
spec:
  egress:
  - port: {number: ${ports.proxy}, name: grpc, protocol: GRPC}
    bind: 127.0.0.1
    hosts: ["./*"]
`);
  writeFileSync(path.join(work, 'mesh.yaml'), 'accessLogFile: ""\n');
  const outrigger = registry.spawn('outrigger', process.execPath, [path.join(repoRoot, 'bin/outrigger.js'), 'run', '--config', dir, '--mesh-config', path.join(work, 'mesh.yaml'),
    '--namespace', NS, '--workers', '1', '--outbound', 'off', '--admin-port', String(ports.admin), '--stats-port', '0', '--health-port', '0', '--no-watch', '--log-level', process.env.BENCH_LOG_LEVEL ?? 'warn']);
  const up = await waitFor200(ports.admin, '/ready', { entry: outrigger, timeoutMs: 30_000 });
  if (!up.ok) throw new Error(`outrigger did not get ready: ${up.reason}\n${outrigger.output.slice(-1500)}`);

  const targets = [
    { name: 'direct', port: ports.server, authority: undefined, pid: server.child.pid },
    { name: 'outrigger', port: ports.proxy, authority: `${HOST}:${ports.proxy}`, pid: outrigger.child.pid },
  ];
  log('warm-up (and proof each path answers)');
  for (const t of targets) {
    const r = await load(t.port, t.authority, 2, 0);
    if (r.failed || r.errors > 0 || r.completed === 0) {
      t.unavailable = r.failed ?? `${r.errors} errors (first: ${r.firstError})`;
      log(`${t.name}: not available (${t.unavailable})`);
    }
  }
  const live = targets.filter((t) => !t.unavailable);
  if (!live.some((t) => t.name === 'direct')) throw new Error(`the grpc server does not answer: ${targets[0].unavailable}`);
  const results = [];
  for (let r = 0; r < rounds; r++) {
    const round = {};
    for (let i = 0; i < live.length; i++) {
      const t = live[(i + r) % live.length];
      await sleep(300);
      const cpu0 = treeCpuSeconds(t.pid);
      const srv0 = treeCpuSeconds(server.child.pid);
      const res = await load(t.port, t.authority);
      if (res.failed) throw new Error(`${t.name}: ${res.failed}`);
      // The client's 1 s warm-up is inside the CPU window: charge it by the calls it made at the measured rate.
      const calls = res.completed + res.rps * 1;
      round[t.name] = { ...res, cpuUsPerCall: ((treeCpuSeconds(t.pid) - cpu0) * 1e6) / calls, serverCpuUsPerCall: ((treeCpuSeconds(server.child.pid) - srv0) * 1e6) / calls };
      log(`round ${r + 1} ${t.name}: ${res.rps.toFixed(0)} calls/s, p50 ${(res.p50us / 1000).toFixed(2)} ms, p99 ${(res.p99us / 1000).toFixed(2)} ms, CPU ${round[t.name].cpuUsPerCall.toFixed(1)} µs/call, errors ${res.errors}`);
    }
    results.push(round);
  }
  console.log(render(results, live, targets));
}

function render(results, live, all) {
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const fmt = (xs) => `${median(xs).toFixed(2)} [${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}]`;
  const lines = [`## gRPC unary: grpc-js through Outrigger vs direct (${new Date().toISOString()})`, '',
    `Machine: ${os.cpus()[0]?.model ?? 'unknown'} × ${os.availableParallelism()}, Node ${process.version}. ${rounds} rounds × ${durationS} s, order rotated; grpc-js client process with ${channels} channels × ${concurrency} concurrent unary calls (1 KiB echoed), grpc-js server process; outrigger 1 worker, ServiceEntry port protocol GRPC (HTTP/2 both sides).`,
    'CPU: utime+stime of the process tree (/proc) ÷ calls (direct: the server\'s own; outrigger: the proxy\'s alone).', '',
    '| target | calls/s (median) | p50 ms | p99 ms | CPU µs per call (median) | server CPU µs per call | errors (all rounds) |', '|---|---|---|---|---|---|---|'];
  for (const t of live) {
    const xs = results.map((x) => x[t.name]);
    lines.push(`| ${t.name} | ${median(xs.map((x) => x.rps)).toFixed(0)} | ${(median(xs.map((x) => x.p50us)) / 1000).toFixed(2)} | ${(median(xs.map((x) => x.p99us)) / 1000).toFixed(2)} | ${median(xs.map((x) => x.cpuUsPerCall)).toFixed(1)} | ${median(xs.map((x) => x.serverCpuUsPerCall)).toFixed(1)} | ${xs.reduce((a, x) => a + x.errors, 0)} |`);
  }
  for (const t of all.filter((x) => x.unavailable)) lines.push(`| ${t.name} | not available: ${String(t.unavailable).replace(/\|/g, '/')} | | | | | |`);
  if (live.length === 2) {
    lines.push('', '| ratio inside each round: outrigger ÷ direct | median [min–max] |', '|---|---|');
    lines.push(`| calls/s | ${fmt(results.map((x) => x.outrigger.rps / x.direct.rps))} |`);
    lines.push(`| p50 | ${fmt(results.map((x) => x.outrigger.p50us / x.direct.p50us))} |`);
    lines.push(`| p99 | ${fmt(results.map((x) => x.outrigger.p99us / x.direct.p99us))} |`);
    lines.push(`| proxy CPU per call ÷ the server's CPU per call (direct) | ${fmt(results.map((x) => x.outrigger.cpuUsPerCall / x.direct.cpuUsPerCall))} |`);
  }
  return lines.join('\n');
}

main().then(() => process.exit(0), (e) => {
  console.error(e.stack ?? e);
  process.exit(1);
});
