// nginx for the bench: find or install it, write its configs, start it in the foreground.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BODY } from './body.mjs';

function which(cmd) {
  const res = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return res.status === 0 ? res.stdout.trim() : undefined;
}

export function findWrk() {
  return which('wrk');
}

/** Returns { bin, version } or { missing: reason }. Installs from Debian when root and allowed. */
export function ensureNginx({ allowInstall, log }) {
  let bin = which('nginx') ?? ['/usr/sbin/nginx', '/usr/local/sbin/nginx'].find(exists);
  if (!bin) {
    const isRoot = process.getuid?.() === 0;
    if (!allowInstall) return { missing: 'not installed (BENCH_NO_INSTALL set)' };
    if (!isRoot) return { missing: 'not installed and not running as root' };
    if (!which('apt-get')) return { missing: 'not installed and apt-get not available' };
    log('nginx not found: apt-get update && apt-get install -y nginx (about a minute)');
    const opts = { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 300_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
    const update = spawnSync('apt-get', ['update'], opts);
    const install = update.status === 0 ? spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'nginx'], opts) : update;
    if (install.status !== 0) {
      const tail = `${install.stderr ?? ''}${install.error?.message ?? ''}`.trim().split('\n').slice(-2).join(' ');
      return { missing: `apt-get install failed: ${tail}` };
    }
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

function commonHead(prefix) {
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
