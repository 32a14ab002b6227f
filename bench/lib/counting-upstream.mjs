// An upstream for the failover scenario that counts what reaches it. Run as its own process.
// Usage: node counting-upstream.mjs <port> <status>
//   status 200: the 1 KiB body (a healthy endpoint); any other status: a short body with it (the
//   failing endpoint answers 503 to everything).
// The bench itself (never the proxy) asks it, on its own port:
//   GET /__bench/stats  -> {"count": n, "times": [epoch ms of each request received, up to 1e6]}
//   GET /__bench/reset  -> zeroes the counter
// Those two paths are not counted.
import http from 'node:http';
import { BODY } from './body.mjs';

const port = Number(process.argv[2]);
const status = Number(process.argv[3] ?? 200);
const body = status === 200 ? BODY : Buffer.from(`bench endpoint answers ${status} to everything\n`);
const MAX_TIMES = 1_000_000;
let times = new Float64Array(1024);
let count = 0;
const nowMs = () => performance.timeOrigin + performance.now();

const server = http.createServer((req, res) => {
  req.resume();
  if (req.url === '/__bench/stats' || req.url === '/__bench/reset') {
    if (req.url === '/__bench/reset') count = 0;
    const out = JSON.stringify({ port, status, count, times: Array.from(times.subarray(0, Math.min(count, MAX_TIMES)), (t) => Math.round(t * 10) / 10) });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
    res.end(out);
    return;
  }
  if (count < MAX_TIMES) {
    if (count === times.length) {
      const bigger = new Float64Array(times.length * 2);
      bigger.set(times);
      times = bigger;
    }
    times[count] = nowMs();
  }
  count++;
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 300_000;
server.headersTimeout = 301_000;
server.maxRequestsPerSocket = 0;
server.listen(port, '127.0.0.1', () => console.log(`counting upstream (${status}) on 127.0.0.1:${port}`));
process.on('SIGTERM', () => process.exit(0));
