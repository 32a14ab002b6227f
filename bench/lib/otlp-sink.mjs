// A stand-in OpenTelemetry collector for the full-telemetry target: accepts OTLP/HTTP trace
// exports on 127.0.0.1:<port>/v1/traces, counts requests and bytes, answers 200 with an empty
// ExportTraceServiceResponse. Its own process, so its CPU is never counted as the proxy's.
// Usage: node otlp-sink.mjs <port>
import http from 'node:http';

const port = Number(process.argv[2]);
let requests = 0;
let bytes = 0;
const server = http.createServer((req, res) => {
  req.on('data', (c) => (bytes += c.length));
  req.on('end', () => {
    if (req.url === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ requests, bytes }));
      return;
    }
    requests++;
    const json = (req.headers['content-type'] ?? '').includes('json');
    res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }).end(json ? '{}' : '');
  });
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
