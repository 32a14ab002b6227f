// Captured-path scenario (bench/README.md, "Captured path"): the proxy's CPU per request when the
// app's traffic is captured by iptables (app → VIP:8000 → REDIRECT → virtualOutbound 15001 →
// hand-off to 0.0.0.0_8000 → route) against the explicit listener (app → 127.0.0.1:8000, a
// Sidecar egress listener, same route), in one proxy, interleaved rounds, keep-alive and a new
// connection per request. Needs root, iproute2, iptables, util-linux (setpriv) and wrk.
// Usage: node bench/captured-path.mjs   (BENCH_ROUNDS=3 BENCH_DURATION=5 BENCH_CONNECTIONS=32 BENCH_NO_BUILD=1)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const durationS = Number(process.env.BENCH_DURATION ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const log = (m) => process.stderr.write(`[captured-path] ${m}\n`);

const missing = [];
if (process.getuid?.() !== 0) missing.push('root');
for (const tool of ['ip', 'iptables', 'setpriv', 'wrk']) if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) missing.push(tool);
if (missing.length) {
  console.error(`captured-path bench cannot run, missing: ${missing.join(', ')}`);
  process.exit(1);
}

const id = process.pid.toString(36);
const pod = `bench-cap-pod-${id}`;
const peer = `bench-cap-peer-${id}`;
const PORT = 8000;
const VIP = '10.96.0.10';
const HOST = `upstream.bench.svc.cluster.local:${PORT}`;
const sh = (cmd, args) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const children = [];
const work = mkdtempSync(path.join(tmpdir(), 'outrigger-bench-cap-'));
chmodSync(work, 0o755);

function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const ns of [pod, peer]) spawnSync('ip', ['netns', 'del', ns]);
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

/** Spawns and resolves once `ready` shows in its output. */
function start(cmd, args, ready) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const check = (d) => {
      out += d;
      if (ready.test(out)) resolve(child);
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${out}`)));
  });
}

/** utime + stime of a process and all its threads, in seconds. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // fields 14, 15 (USER_HZ = 100 on Linux)
}

function wrk(url, close) {
  const args = ['netns', 'exec', pod, 'setpriv', '--reuid=1000', '--regid=1000', '--clear-groups',
    'wrk', '-t1', `-c${connections}`, `-d${durationS}s`, '-H', `Host: ${HOST}`];
  if (close) args.push('-H', 'Connection: close');
  const out = sh('ip', [...args, url]);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  if (errors) throw new Error(`${url}: ${errors[1]} non-2xx responses:\n${out}`);
  return { requests, rps: requests / durationS };
}

async function main() {
  if (process.env.BENCH_NO_BUILD !== '1') {
    log('building dist/');
    sh(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', path.join(repoRoot, 'tsconfig.build.json')]);
  }
  log(`namespaces ${pod}, ${peer}`);
  sh('ip', ['netns', 'add', pod]);
  sh('ip', ['netns', 'add', peer]);
  sh('ip', ['link', 'add', 'bcp0', 'netns', pod, 'type', 'veth', 'peer', 'name', 'bcq0', 'netns', peer]);
  for (const [ns, a] of [[pod, ['link', 'set', 'lo', 'up']], [peer, ['link', 'set', 'lo', 'up']],
    [pod, ['addr', 'add', '10.77.1.2/24', 'dev', 'bcp0']], [peer, ['addr', 'add', '10.77.1.1/24', 'dev', 'bcq0']],
    [pod, ['link', 'set', 'bcp0', 'up']], [peer, ['link', 'set', 'bcq0', 'up']], [pod, ['route', 'add', 'default', 'via', '10.77.1.1']]]) {
    sh('ip', ['-n', ns, ...a]);
  }
  // Connection churn through REDIRECT: the proxy closes first, so its TIME_WAIT sockets
  // (127.0.0.1:15001 <-> pod:port) are invisible to the client's port picker, which sees the
  // pre-NAT tuple (pod:port -> VIP); once the ephemeral ports wrap (seconds at 10k conn/s) each
  // reused port's SYN meets a TIME_WAIT and waits for a retransmit. No bench app churns like that;
  // keeping no TIME_WAIT in the pod's namespace measures the proxy, not that kernel corner.
  sh('ip', ['netns', 'exec', pod, 'sysctl', '-qw', 'net.ipv4.tcp_max_tw_buckets=0']);
  const upstream = `const http=require("node:http");const body=Buffer.alloc(1024,"x");
const s=http.createServer((q,r)=>{q.resume();r.writeHead(200,{"content-type":"text/plain","content-length":body.length});r.end(body)});
s.keepAliveTimeout=300000;s.headersTimeout=301000;s.maxRequestsPerSocket=0;s.listen(8080,"0.0.0.0",()=>console.log("ready"));`;
  await start('ip', ['netns', 'exec', peer, process.execPath, '-e', upstream], /ready/);
  log('outrigger-iptables (REDIRECT, IPv4)');
  sh('ip', ['netns', 'exec', pod, 'bash', path.join(repoRoot, 'init-container/outrigger-iptables'), '--ipv6', 'false']);
  const configDir = path.join(work, 'config');
  sh('mkdir', ['-p', configDir]);
  chmodSync(configDir, 0o755);
  writeFileSync(path.join(configDir, 'bench.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: upstream, namespace: bench}
spec:
  hosts: [upstream.bench.svc.cluster.local]
  addresses: [${VIP}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: ${PORT}, name: http, protocol: HTTP}]
  endpoints: [{address: 10.77.1.1, ports: {http: 8080}}]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: bench}
spec:
  egress:
  - port: {number: ${PORT}, name: http, protocol: HTTP}
    bind: 127.0.0.1
    hosts: ["./*"]
  - hosts: ["./*"]
`);
  writeFileSync(path.join(work, 'mesh.yaml'), 'accessLogFile: ""\n');
  const proxy = await start('ip', ['netns', 'exec', pod, 'setpriv', '--reuid=1337', '--regid=1337', '--clear-groups',
    process.execPath, path.join(repoRoot, 'bin/outrigger.js'), 'run', '--intercept', '--config', configDir, '--mesh-config', path.join(work, 'mesh.yaml'),
    '--namespace', 'bench', '--workers', '1', '--outbound', 'off', '--admin-port', '15000', '--stats-port', '0', '--health-port', '0',
    '--no-watch', '--log-level', 'warn'], /^outrigger ready: /m);
  const targets = [
    { name: 'explicit', url: `http://127.0.0.1:${PORT}/`, close: false },
    { name: 'captured', url: `http://${VIP}:${PORT}/`, close: false },
    { name: 'explicit-close', url: `http://127.0.0.1:${PORT}/`, close: true },
    { name: 'captured-close', url: `http://${VIP}:${PORT}/`, close: true },
  ];
  // warm-up, and proof each path goes through the proxy
  for (const t of targets) wrk(t.url, t.close);
  const results = [];
  for (let r = 0; r < rounds; r++) {
    const order = targets.map((_, i) => targets[(i + r) % targets.length]);
    const round = {};
    for (const t of order) {
      const before = cpuSeconds(proxy.pid);
      const w = wrk(t.url, t.close);
      const cpu = cpuSeconds(proxy.pid) - before;
      round[t.name] = { ...w, cpuUsPerReq: (cpu * 1e6) / w.requests };
      log(`round ${r + 1} ${t.name}: ${w.rps.toFixed(0)} req/s, ${round[t.name].cpuUsPerReq.toFixed(1)} µs CPU/req`);
    }
    results.push(round);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const fmt = (xs) => `${median(xs).toFixed(3)} [${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}]`;
  const lines = [`## Captured path vs explicit listener (${new Date().toISOString()})`, '',
    `${rounds} rounds × ${durationS} s, wrk -t1 -c${connections} as uid 1000 in the pod; outrigger 1 worker as uid 1337; upstream in the peer namespace.`, '',
    '| target | req/s (median) | proxy CPU µs/req (median) |', '|---|---|---|'];
  for (const t of targets) lines.push(`| ${t.name} | ${median(results.map((x) => x[t.name].rps)).toFixed(0)} | ${median(results.map((x) => x[t.name].cpuUsPerReq)).toFixed(1)} |`);
  lines.push('', '| ratio (inside each round) | CPU/req captured ÷ explicit, median [min–max] |', '|---|---|');
  lines.push(`| keep-alive | ${fmt(results.map((x) => x.captured.cpuUsPerReq / x.explicit.cpuUsPerReq))} |`);
  lines.push(`| connection: close | ${fmt(results.map((x) => x['captured-close'].cpuUsPerReq / x['explicit-close'].cpuUsPerReq))} |`);
  console.log(lines.join('\n'));
}

main().then(() => process.exit(0), (e) => {
  console.error(e.stack ?? e);
  process.exit(1);
});
