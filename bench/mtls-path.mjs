// mTLS scenario (bench/README.md, "mTLS"): Outrigger terminating mTLS inbound (STRICT
// PeerAuthentication, a Sidecar ingress port in front of a plaintext app) and originating it
// outbound (DestinationRule ISTIO_MUTUAL to an mTLS server), against nginx doing the same TLS work
// in the same run (`ssl_verify_client on` inbound; `proxy_ssl_certificate` + `proxy_ssl_verify` +
// `proxy_ssl_session_reuse` outbound, upstream keepalive 256), plus the handshake rate of new
// (resumed) connections inbound. Certificates are made with the openssl CLI. Interleaved rounds;
// only same-round ratios are reported.
// Usage: node bench/mtls-path.mjs   (BENCH_ROUNDS=3 BENCH_DURATION=5 BENCH_CONNECTIONS=32 BENCH_NO_BUILD=1)
// BENCH_PROFILE=1 runs outrigger with --cpu-prof (profiles in bench/.work/mtls-prof-<date>/, top
// functions printed at the end); BENCH_ONLY=inbound|outbound|handshakes measures only that pair;
// BENCH_BASELINE_DIR=<another built checkout> adds its outrigger to every round ("… baseline").
import autocannon from 'autocannon';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor200 } from './lib/net-util.mjs';
import { commonHead, ensureNginx, ensureWrk } from './lib/nginx.mjs';
import { treeCpuSeconds } from './lib/proc.mjs';
import { runWrk } from './lib/saturate.mjs';
import { ChildRegistry } from './lib/children.mjs';
import { listProfiles, summarise } from './lib/cpuprofile-summary.mjs';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const durationS = Number(process.env.BENCH_DURATION ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const handshakeConcurrency = Number(process.env.BENCH_HANDSHAKE_CONCURRENCY ?? 8);
const only = process.env.BENCH_ONLY;
const baselineDir = process.env.BENCH_BASELINE_DIR ? path.resolve(process.env.BENCH_BASELINE_DIR) : undefined;
const profileDir = process.env.BENCH_PROFILE === '1' ? path.join(fileURLToPath(new URL('.', import.meta.url)), '.work', `mtls-prof-${new Date().toISOString().replace(/[:.]/g, '-')}`) : undefined;
const log = (m) => process.stderr.write(`[mtls] ${m}\n`);
const TD = 'cluster.local';
const NS = 'bench';
const SERVER_HOST = `mtls-server.${NS}.svc.cluster.local`;
// What a mesh client (Envoy with istio.alpn) offers over mTLS for HTTP/1.1.
const ISTIO_HTTP11_ALPN = ['istio-http/1.1', 'istio', 'http/1.1'];

const registry = new ChildRegistry();
const work = mkdtempSync(path.join(tmpdir(), 'outrigger-bench-mtls-'));
chmodSync(work, 0o755);
process.on('exit', () => {
  registry.killAllSync();
  rmSync(work, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

function openssl(args) {
  execFileSync('openssl', args, { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A root CA and leaves with SPIFFE URI SANs (plus DNS names where nginx checks names). */
function makePki() {
  openssl(['req', '-x509', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-keyout', 'root-key.pem', '-out', 'root.pem', '-days', '30',
    '-subj', `/O=${TD}/CN=bench root`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const leaf = (name, sa, dns = []) => {
    const sans = [`URI:spiffe://${TD}/ns/${NS}/sa/${sa}`, ...dns.map((d) => `DNS:${d}`)].join(',');
    writeFileSync(path.join(work, `${name}.ext`), `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=critical,${sans}\n`);
    openssl(['req', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', '/']);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'root.pem', '-CAkey', 'root-key.pem', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
    return { cert: path.join(work, `${name}.pem`), key: path.join(work, `${name}-key.pem`) };
  };
  const root = path.join(work, 'root.pem');
  const client = leaf('client', 'client');
  const proxy = leaf('proxy', 'proxy', [SERVER_HOST]);
  const server = leaf('server', 'server', [SERVER_HOST]);
  // Outrigger's --certs: Istio's file-mounted layout.
  const certs = path.join(work, 'certs');
  mkdirSync(certs);
  writeFileSync(path.join(certs, 'cert-chain.pem'), readFileSync(proxy.cert, 'utf8') + readFileSync(root, 'utf8'));
  writeFileSync(path.join(certs, 'key.pem'), readFileSync(proxy.key));
  writeFileSync(path.join(certs, 'root-cert.pem'), readFileSync(root));
  return { root, client, proxy, server, certs };
}


const BODY = 'x'.repeat(1024);

async function startNginx(name, body) {
  const prefix = path.join(work, name);
  mkdirSync(prefix, { recursive: true });
  const conf = path.join(prefix, 'nginx.conf');
  mkdirSync(path.join(prefix, 'tmp'), { recursive: true });
  writeFileSync(conf, `${commonHead(prefix)}${body}}\n`);
  const entry = registry.spawn(name, nginxBin, ['-p', prefix, '-c', conf, '-g', 'daemon off;']);
  return entry;
}

let nginxBin;

async function main() {
  const nginx = ensureNginx({ allowInstall: process.env.BENCH_NO_INSTALL !== '1', log });
  if (nginx.missing) throw new Error(`nginx: ${nginx.missing}`);
  nginxBin = nginx.bin;
  const wrk = ensureWrk({ allowInstall: process.env.BENCH_NO_INSTALL !== '1', log });
  if (!wrk.bin) throw new Error(`wrk: ${wrk.missing}`);
  if (process.env.BENCH_NO_BUILD !== '1') {
    log('building dist/');
    execFileSync(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', path.join(repoRoot, 'tsconfig.build.json')]);
  }
  const pki = makePki();
  const ports = {};
  for (const k of ['app', 'mtlsServer', 'orIn', 'orOut', 'ngIn', 'ngOut', 'admin', 'blIn', 'blOut', 'blAdmin']) ports[k] = await freePort();

  // The plaintext app, and the mTLS server outbound traffic goes to (both nginx, static answers).
  const app = await startNginx('app', `  server { listen 127.0.0.1:${ports.app}; location / { return 200 '${BODY}'; } }\n`);
  const mtlsServer = await startNginx('mtls-server', `  server {
    listen 127.0.0.1:${ports.mtlsServer} ssl;
    ssl_certificate ${pki.server.cert}; ssl_certificate_key ${pki.server.key};
    ssl_client_certificate ${pki.root}; ssl_verify_client on;
    ssl_session_cache shared:S:10m; ssl_session_tickets on;
    location / { return 200 '${BODY}'; }
  }\n`);
  // nginx doing Outrigger's two jobs: inbound mTLS termination, outbound mTLS origination.
  const ngProxy = await startNginx('nginx-proxy', `  upstream app { server 127.0.0.1:${ports.app}; keepalive 256; }
  upstream mtls { server 127.0.0.1:${ports.mtlsServer}; keepalive 256; }
  server {
    listen 127.0.0.1:${ports.ngIn} ssl;
    ssl_certificate ${pki.proxy.cert}; ssl_certificate_key ${pki.proxy.key};
    ssl_client_certificate ${pki.root}; ssl_verify_client on;
    ssl_session_cache shared:P:10m; ssl_session_tickets on;
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  server {
    listen 127.0.0.1:${ports.ngOut};
    location / {
      proxy_pass https://mtls; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_ssl_certificate ${pki.proxy.cert}; proxy_ssl_certificate_key ${pki.proxy.key};
      proxy_ssl_trusted_certificate ${pki.root}; proxy_ssl_verify on; proxy_ssl_name ${SERVER_HOST};
      proxy_ssl_server_name on; proxy_ssl_session_reuse on;
    }
  }\n`);

  const writeConfig = (name, inPort, outPort) => {
    const dir = path.join(work, name);
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'bench.yaml'), `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: ${NS}}
spec: {mtls: {mode: STRICT}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: mtls-server, namespace: ${NS}}
spec:
  hosts: [${SERVER_HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: ${outPort}, name: http, protocol: HTTP}]
  subjectAltNames: [spiffe://${TD}/ns/${NS}/sa/server]
  endpoints: [{address: 127.0.0.1, ports: {http: ${ports.mtlsServer}}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: mtls-server, namespace: ${NS}}
spec:
  host: ${SERVER_HOST}
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: ${NS}}
spec:
  ingress:
  - port: {number: ${inPort}, name: http, protocol: HTTP}
    defaultEndpoint: 127.0.0.1:${ports.app}
  egress:
  - port: {number: ${outPort}, name: http, protocol: HTTP}
    bind: 127.0.0.1
    hosts: ["./*"]
`);
    return dir;
  };
  writeFileSync(path.join(work, 'mesh.yaml'), 'accessLogFile: ""\n');
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const startOutrigger = (name, root, configDir, adminPort, prof) => registry.spawn(name, process.execPath, [...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), path.join(root, 'bin/outrigger.js'), 'run', '--config', configDir, '--mesh-config', path.join(work, 'mesh.yaml'),
    '--certs', pki.certs, '--namespace', NS, '--workers', '1', '--outbound', 'off', '--admin-port', String(adminPort), '--stats-port', '0', '--health-port', '0',
    '--no-watch', '--log-level', process.env.BENCH_LOG_LEVEL ?? 'warn']);
  const outrigger = startOutrigger('outrigger', repoRoot, writeConfig('config', ports.orIn, ports.orOut), ports.admin, profileDir);
  // BENCH_BASELINE_DIR: another checkout (built) measured in the same rounds, as "… baseline".
  const baseline = baselineDir ? startOutrigger('baseline', baselineDir, writeConfig('config-baseline', ports.blIn, ports.blOut), ports.blAdmin) : undefined;

  for (const [name, port, entry] of [['app', ports.app, app], ['nginx proxy (outbound)', ports.ngOut, ngProxy], ['outrigger (outbound)', ports.orOut, outrigger], ...(baseline ? [['baseline (outbound)', ports.blOut, baseline]] : [])]) {
    const ready = await waitFor200(port, '/', { entry, timeoutMs: 15_000, host: SERVER_HOST });
    if (!ready.ok) throw new Error(`${name} did not answer 200 on :${port}: ${ready.reason}\n${entry.output.slice(-1500)}`);
  }
  void mtlsServer;

  const tlsClient = { cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key), ca: readFileSync(pki.root), ALPNProtocols: ISTIO_HTTP11_ALPN };
  const inbound = (port) => autocannonTls(port, tlsClient);
  const outbound = (port) => runWrk(wrk.bin, { port, host: `${SERVER_HOST}:${port}`, connections, durationS });
  const handshakes = (port) => handshakeRate(port, tlsClient);

  // One kind's targets next to each other, so its same-round ratios compare measurements made minutes apart at most.
  const run = { inbound, outbound, handshakes };
  const allTargets = [];
  for (const [kind, [orPort, ngPort, blPort]] of Object.entries({ inbound: [ports.orIn, ports.ngIn, ports.blIn], outbound: [ports.orOut, ports.ngOut, ports.blOut], handshakes: [ports.orIn, ports.ngIn, ports.blIn] })) {
    allTargets.push({ name: `${kind} outrigger`, run: () => run[kind](orPort), pid: outrigger.child.pid });
    allTargets.push({ name: `${kind} nginx`, run: () => run[kind](ngPort), pid: ngProxy.child.pid });
    if (baseline) allTargets.push({ name: `${kind} baseline`, run: () => run[kind](blPort), pid: baseline.child.pid });
  }
  const targets = only ? allTargets.filter((t) => t.name.startsWith(`${only} `)) : allTargets;
  log('warm-up (and proof each path answers 200 through mTLS)');
  for (const t of targets) check(t.name, await t.run());
  const results = [];
  for (let r = 0; r < rounds; r++) {
    const round = {};
    for (let i = 0; i < targets.length; i++) {
      const t = targets[(i + r * 2) % targets.length];
      const before = treeCpuSeconds(t.pid);
      const res = check(t.name, await t.run());
      const cpu = treeCpuSeconds(t.pid) - before;
      round[t.name] = { ...res, cpuUsPerReq: (cpu * 1e6) / res.completed };
      log(`round ${r + 1} ${t.name}: ${res.rps.toFixed(0)}/s, ${round[t.name].cpuUsPerReq.toFixed(1)} µs CPU each${res.resumed !== undefined ? `, ${res.resumed}/${res.completed} resumed` : ''}`);
    }
    results.push(round);
  }
  console.log(render(results, targets, nginx.version));
  if (profileDir) {
    // Profiles are written only on a normal exit.
    await registry.stop(outrigger, 15_000);
    const files = listProfiles([profileDir]);
    console.log(files.length === 0 ? 'no .cpuprofile written' : `\nProfiles in ${path.relative(repoRoot, profileDir)}${summarise(files, 30, repoRoot)}`);
  }
}

function check(name, r) {
  if (r.failed) throw new Error(`${name}: ${r.failed}`);
  // A failed new connection is reported (count and first reason, in the log and the table), not fatal.
  if (r.resumed !== undefined && (r.non2xx ?? 0) === 0) return r;
  if ((r.non2xx ?? 0) > 0 || (r.errors ?? 0) > 0) throw new Error(`${name}: ${r.non2xx ?? 0} non-2xx, ${r.errors ?? 0} errors`);
  if (!r.completed) r.completed = Math.round((r.rps ?? 0) * durationS);
  return r;
}

/** Keep-alive HTTPS load with a client certificate (autocannon over TLS). */
function autocannonTls(port, tlsOptions) {
  return new Promise((resolve) => {
    autocannon({ url: `https://127.0.0.1:${port}/`, connections, duration: durationS, timeout: 10, tlsOptions }, (err, result) => {
      if (err) return resolve({ failed: err.message });
      resolve({ rps: result.requests.average, completed: result.requests.total, non2xx: result.non2xx, errors: result.errors + result.timeouts });
    });
  });
}

/**
 * New connections per second with session resumption (each client loop reuses the last session
 * it got): connect, one request with `connection: close`, read to the end.
 */
async function handshakeRate(port, tlsOptions) {
  const deadline = Date.now() + durationS * 1000;
  let completed = 0;
  let resumed = 0;
  let errors = 0;
  let firstError;
  const loop = async () => {
    let session;
    while (Date.now() < deadline) {
      try {
        const r = await new Promise((resolve, reject) => {
          const s = tlsConnect({ host: '127.0.0.1', port, ...tlsOptions, rejectUnauthorized: false, session });
          s.on('session', (sess) => {
            session = sess;
          });
          let head = '';
          s.once('secureConnect', () => {
            s.write('GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n');
          });
          s.on('data', (d) => {
            if (head.length < 16) head += d.toString('latin1');
          });
          s.on('end', () => resolve({ ok: head.startsWith('HTTP/1.1 200'), head, reused: s.isSessionReused() }));
          s.on('error', reject);
        });
        if (!r.ok) {
          errors++;
          firstError ??= `answer ${JSON.stringify(r.head.slice(0, 40))}`;
        }
        completed++;
        if (r.reused) resumed++;
      } catch (e) {
        errors++;
        firstError ??= e.message;
      }
    }
  };
  const start = Date.now();
  await Promise.all(Array.from({ length: handshakeConcurrency }, loop));
  if (firstError !== undefined) log(`handshakes on :${port}: first error: ${firstError}`);
  return { rps: completed / ((Date.now() - start) / 1000), completed, resumed, errors };
}

function render(results, targets, nginxVersion) {
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const fmt = (xs) => `${median(xs).toFixed(2)} [${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}]`;
  const lines = [`## mTLS: Outrigger vs nginx doing the same TLS work (${new Date().toISOString()})`, '',
    `Machine: ${os.cpus()[0]?.model ?? 'unknown'} × ${os.availableParallelism()}, Node ${process.version}, nginx ${nginxVersion}. ${rounds} rounds × ${durationS} s; outrigger 1 worker, nginx 1 worker.`,
    `Inbound: autocannon -c${connections} over mTLS (client certificate, ALPN ${ISTIO_HTTP11_ALPN.join(',')}) → proxy (STRICT) → plaintext app. Outbound: wrk -c${connections} plaintext → proxy → mTLS (ISTIO_MUTUAL / proxy_ssl_certificate, session reuse) → nginx with ssl_verify_client. Handshakes: ${handshakeConcurrency} loops of new connections, one request each, sessions resumed.`, '',
    '| target | per second (median) | proxy CPU µs each (median) | failed (all rounds) |', '|---|---|---|---|'];
  for (const t of targets) lines.push(`| ${t.name} | ${median(results.map((x) => x[t.name].rps)).toFixed(0)} | ${median(results.map((x) => x[t.name].cpuUsPerReq)).toFixed(1)} | ${results.reduce((a, x) => a + (x[t.name].errors ?? 0), 0)} |`);
  lines.push('', '| ratio inside each round: Outrigger ÷ nginx | CPU each, median [min–max] | rate, median [min–max] |', '|---|---|---|');
  for (const kind of ['inbound', 'outbound', 'handshakes']) {
    if (!results[0][`${kind} outrigger`]) continue;
    lines.push(`| ${kind} | ${fmt(results.map((x) => x[`${kind} outrigger`].cpuUsPerReq / x[`${kind} nginx`].cpuUsPerReq))} | ${fmt(results.map((x) => x[`${kind} outrigger`].rps / x[`${kind} nginx`].rps))} |`);
  }
  if (results[0][`inbound baseline`] || results[0][`outbound baseline`] || results[0][`handshakes baseline`]) {
    lines.push('', '| ratio inside each round: Outrigger ÷ baseline | CPU each, median [min–max] | rate, median [min–max] |', '|---|---|---|');
    for (const kind of ['inbound', 'outbound', 'handshakes']) {
      if (!results[0][`${kind} baseline`]) continue;
      lines.push(`| ${kind} | ${fmt(results.map((x) => x[`${kind} outrigger`].cpuUsPerReq / x[`${kind} baseline`].cpuUsPerReq))} | ${fmt(results.map((x) => x[`${kind} outrigger`].rps / x[`${kind} baseline`].rps))} |`);
      lines.push(`| ${kind}: baseline ÷ nginx | ${fmt(results.map((x) => x[`${kind} baseline`].cpuUsPerReq / x[`${kind} nginx`].cpuUsPerReq))} | ${fmt(results.map((x) => x[`${kind} baseline`].rps / x[`${kind} nginx`].rps))} |`);
    }
  }
  return lines.join('\n');
}

main().then(() => process.exit(0), (e) => {
  console.error(e.stack ?? e);
  process.exit(1);
});
