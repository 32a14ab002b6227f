// Loopback helpers: free ports, a single GET, waiting for readiness.
import net from 'node:net';
import http from 'node:http';
import { sleep } from './children.mjs';

const handedOut = new Set();

/** A port that was free on 127.0.0.1 a moment ago and has not been handed out by this run. */
export async function freePort() {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address();
        server.close(() => resolve(port));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('could not find a free loopback port');
}

/** One GET to 127.0.0.1 (never elsewhere): { status, bytes } or { error }. */
export function get(port, path = '/', host = undefined, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const headers = host ? { host } : {};
    const req = http.request({ host: '127.0.0.1', port, path, headers, agent: false, timeout: timeoutMs }, (res) => {
      let bytes = 0;
      res.on('data', (chunk) => {
        bytes += chunk.length;
      });
      res.on('end', () => resolve({ status: res.statusCode, bytes }));
      res.on('error', (err) => resolve({ error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ error: err.message }));
    req.end();
  });
}

/** Polls until GET returns 200, the process exits, or timeoutMs passes. */
export async function waitFor200(port, path, { host, timeoutMs = 20_000, entry } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no attempt';
  while (Date.now() < deadline) {
    if (entry?.exited) return { ok: false, reason: `exited (code ${entry.exitCode}, signal ${entry.signal})` };
    const res = await get(port, path, host, 1000);
    if (res.status === 200) return { ok: true };
    last = res.error ?? `HTTP ${res.status}`;
    await sleep(100);
  }
  return { ok: false, reason: `not ready after ${timeoutMs} ms (last: ${last})` };
}
