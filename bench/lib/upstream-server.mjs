// The Node upstream: answers every request 200 with the same 1 KiB body. Run as its own process.
// Usage: node upstream-server.mjs <port>
import http from 'node:http';
import { BODY } from './body.mjs';

const port = Number(process.argv[2]);
const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
  res.end(BODY);
});
// 300 s: longer than any bench run, so no proxy pays for reconnects mid-measurement.
server.keepAliveTimeout = 300_000;
server.headersTimeout = 301_000;
server.maxRequestsPerSocket = 0;
server.listen(port, '127.0.0.1', () => console.log(`upstream listening on 127.0.0.1:${port}`));
process.on('SIGTERM', () => process.exit(0));
