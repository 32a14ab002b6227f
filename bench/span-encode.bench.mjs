// Micro-benchmark: CPU per sampled span on the request path (start, inject upstream, finish =
// encode into the batch), with Istio's default attributes. The exporter is given a collector that
// is never reached (batches are sealed and dropped unsent), so only the request-path work counts.
// Usage: node bench/span-encode.bench.mjs [spans]
import { createLogger } from '../dist/common/logger.js';
import { HeaderList } from '../dist/http/header-list.js';
import { nodeIdentity } from '../dist/observability/node-identity.js';
import { StatsStore } from '../dist/observability/stats/stats-store.js';
import { StreamInfoBuilder } from '../dist/observability/stream-info.js';
import { workerTracing } from '../dist/observability/tracing/tracing-factory.js';

const n = Number(process.argv[2] ?? 200_000);
const node = nodeIdentity({ env: { POD_NAME: 'web-7d4f8b-x2k9z' }, namespace: 'shop', labels: { app: 'web' }, domainSuffix: 'cluster.local' });
const stats = new StatsStore();
// Batches of 512 (the default) to a port nobody listens on: sealing and the export request are counted, the collector is not.
const tracing = workerTracing({ node, stats, log: createLogger('off'), env: {}, batch: { maxQueueSize: 10_000_000, maxExportBatchSize: 512, scheduledDelayMillis: 3_600_000 } });
const config = {
  provider: { name: 'envoy.tracers.opentelemetry', serviceName: 'web.shop', endpoint: 'http://127.0.0.1:9/v1/traces', headers: {}, timeoutMs: 1000 },
  randomSamplingPercentage: 100,
  customTags: [],
  maxPathTagLength: 256,
};
const tracer = tracing.tracer(config, { kind: 'http', direction: 'OUTBOUND', listenerName: 'l', statPrefix: 's' });
const clock = { now: () => 1_764_522_000_000, monotonic: () => 0 };

function one() {
  const h = new HeaderList();
  h.add('host', 'reviews:9080');
  h.add('user-agent', 'autocannon/8');
  h.add('x-request-id', '6d1e1f0e-3a2b-4c5d-9e8f-0a1b2c3d4e5f');
  const req = { method: 'GET', path: '/api/items?page=2', authority: 'reviews:9080', scheme: 'http', protocol: 'HTTP/1.1', headers: h, upgrade: false };
  const si = new StreamInfoBuilder(clock);
  const span = tracer.startSpan(req, 'OUTBOUND', si);
  span.injectContext(h);
  si.method = 'GET';
  si.path = '/api/items?page=2';
  si.protocol = 'HTTP/1.1';
  si.responseCode = 200;
  si.clusterName = 'outbound|9080||reviews.shop.svc.cluster.local';
  si.upstreamHost = '10.1.2.3:9080';
  si.downstreamRemoteAddress = '10.1.0.5:50312';
  si.bytesSent = 1024;
  span.finish(si.finish(3.5));
}

function run(label, f) {
  for (let i = 0; i < 20_000; i++) f();
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) f();
  const t = process.cpuUsage(t0);
  const us = (t.user + t.system) / n;
  console.log(`${label}: ${us.toFixed(2)} µs CPU per request (${n} requests)`);
  return us;
}

// The same request with tracing off: the difference is what a sampled span costs.
function baseline() {
  const h = new HeaderList();
  h.add('host', 'reviews:9080');
  h.add('user-agent', 'autocannon/8');
  h.add('x-request-id', '6d1e1f0e-3a2b-4c5d-9e8f-0a1b2c3d4e5f');
  const si = new StreamInfoBuilder(clock);
  si.responseCode = 200;
  si.finish(3.5);
}

const base = run('no tracing', baseline);
const traced = run('100% sampled span', one);
console.log(`span cost: ${(traced - base).toFixed(2)} µs`);
await tracing.close();
