// nginx for the bench: find or install it, write its configs, start it in the foreground.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BODY } from './body.mjs';

function which(cmd) {
  const res = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return res.status === 0 ? res.stdout.trim() : undefined;
}

/** wrk, installed from Debian when missing (root, apt-get, allowed): { bin } or { missing: reason }. */
export function ensureWrk({ allowInstall, log }) {
  const bin = which('wrk');
  if (bin) return { bin };
  const why = aptInstall(['wrk'], { allowInstall, log });
  if (why) return { missing: why };
  return which('wrk') ? { bin: which('wrk') } : { missing: 'installed but wrk binary not found' };
}

/** Installs Debian packages; returns undefined on success or the reason it could not. */
function aptInstall(packages, { allowInstall, log }) {
  if (!allowInstall) return 'not installed (BENCH_NO_INSTALL set)';
  if (process.getuid?.() !== 0) return 'not installed and not running as root';
  if (!which('apt-get')) return 'not installed and apt-get not available';
  log(`${packages.join(', ')} not found: apt-get update && apt-get install -y ${packages.join(' ')}`);
  const opts = { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 300_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
  const update = spawnSync('apt-get', ['update'], opts);
  const install = update.status === 0 ? spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], opts) : update;
  if (install.status === 0) return undefined;
  return `apt-get install failed: ${`${install.stderr ?? ''}${install.error?.message ?? ''}`.trim().split('\n').slice(-2).join(' ')}`;
}

// Where Debian (libnginx-mod-stream) and nginx.org packages put dynamic modules.
const MODULE_DIRS = ['/usr/lib/nginx/modules', '/usr/share/nginx/modules', '/usr/lib64/nginx/modules'];

/**
 * nginx's `stream` module for the TCP scenario: built in (nothing to load), dynamic (the
 * load_module line to put first in the config), installed from Debian's libnginx-mod-stream when
 * the module file is missing. Returns { loadModule } (may be '') or { missing: reason }.
 */
export function ensureStreamModule(nginxBin, { allowInstall, log }) {
  const v = spawnSync(nginxBin, ['-V'], { encoding: 'utf8' });
  const flags = `${v.stderr}${v.stdout}`;
  if (/--with-stream(\s|$)/.test(flags)) return { loadModule: '' };
  if (!/--with-stream=dynamic/.test(flags)) return { missing: 'this nginx was built without the stream module' };
  const find = () => MODULE_DIRS.map((d) => path.join(d, 'ngx_stream_module.so')).find((f) => existsSync(f));
  let file = find();
  if (!file) {
    const why = aptInstall(['libnginx-mod-stream'], { allowInstall, log });
    if (why) return { missing: `ngx_stream_module.so ${why}` };
    file = find();
    if (!file) return { missing: 'libnginx-mod-stream installed but ngx_stream_module.so not found' };
  }
  return { loadModule: `load_module ${file};\n` };
}

/** nginx `stream` proxy for the TCP scenario: one worker, plain TCP pass-through to the echo upstream. */
export function writeStreamConfig(prefix, { listenPort, upstreamPort, loadModule }) {
  mkdirSync(prefix, { recursive: true });
  const isRoot = process.getuid?.() === 0;
  const conf = `${loadModule}# Written by bench/lib/nginx.mjs (TCP scenario); prefix ${prefix}
${isRoot ? 'user root;\n' : ''}worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
stream {
  upstream bench_echo {
    server 127.0.0.1:${upstreamPort};
  }
  server {
    listen 127.0.0.1:${listenPort};
    proxy_pass bench_echo;
  }
}
`;
  const file = path.join(prefix, 'nginx.conf');
  writeFileSync(file, conf);
  return file;
}

/** Returns { bin, version } or { missing: reason }. Installs from Debian when root and allowed. */
export function ensureNginx({ allowInstall, log }) {
  let bin = which('nginx') ?? ['/usr/sbin/nginx', '/usr/local/sbin/nginx'].find(exists);
  if (!bin) {
    const why = aptInstall(['nginx'], { allowInstall, log });
    if (why) return { missing: why };
    // The Debian package starts a system nginx on port 80; this bench uses its own instances only.
    spawnSync('sh', ['-c', 'command -v systemctl >/dev/null && systemctl stop nginx; nginx -s quit 2>/dev/null; true'], { stdio: 'ignore', timeout: 10_000 });
    bin = which('nginx') ?? ['/usr/sbin/nginx'].find(exists);
    if (!bin) return { missing: 'installed but nginx binary not found' };
  }
  // nginx -v writes "nginx version: nginx/1.22.1" to stderr.
  const res = spawnSync(bin, ['-v'], { encoding: 'utf8' });
  const version = `${res.stderr}${res.stdout}`.trim().replace(/^nginx version:\s*/, '') || 'unknown';
  return { bin, version };
}

function exists(p) {
  try {
    execFileSync('test', ['-x', p]);
    return true;
  } catch {
    return false;
  }
}

/** The head of every bench nginx config: one worker, no access log, temp paths under `prefix`, long keep-alive; ends inside `http {`. */
export function commonHead(prefix) {
  const isRoot = process.getuid?.() === 0;
  return `# Written by bench/lib/nginx.mjs; prefix ${prefix}
${isRoot ? 'user root; # the prefix lives under the repo, which nobody may not be able to read\n' : ''}worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp/client_body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  keepalive_timeout 300s;
  keepalive_requests 1000000;
`;
}

/** nginx as the reverse proxy under test. */
export function writeProxyConfig(prefix, { listenPort, upstreamPort }) {
  mkdirSync(path.join(prefix, 'tmp'), { recursive: true });
  const conf = `${commonHead(prefix)}
  upstream bench_upstream {
    server 127.0.0.1:${upstreamPort};
    keepalive 256;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:${listenPort};
    location / {
      proxy_pass http://bench_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
    }
  }
}
`;
  const file = path.join(prefix, 'nginx.conf');
  writeFileSync(file, conf);
  return file;
}

/** nginx as the upstream: a static 1 KiB body from memory (no file I/O). */
export function writeStaticConfig(prefix, { port }) {
  mkdirSync(path.join(prefix, 'tmp'), { recursive: true });
  // BODY is plain ASCII without quotes or backslashes, so it can sit in a quoted nginx string.
  const body = BODY.toString('latin1').replace(/\n/g, '\\n');
  const conf = `${commonHead(prefix)}
  server {
    listen 127.0.0.1:${port};
    location / {
      default_type text/plain;
      return 200 "${body}";
    }
  }
}
`;
  const file = path.join(prefix, 'nginx.conf');
  writeFileSync(file, conf);
  return file;
}

/** Arguments to run nginx in the foreground with everything under prefix. */
export function nginxArgs(prefix, confFile) {
  return ['-p', prefix, '-c', confFile, '-e', path.join(prefix, 'error.log'), '-g', 'daemon off;'];
}
