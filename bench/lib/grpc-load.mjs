// The gRPC bench's client (its own process): `channels` grpc-js channels, `concurrency` loops of
// unary calls (1 KiB request) for `durationS` s, after `warmupS` s not recorded. Prints one JSON
// line: {completed, errors, firstError, rps, p50us, p99us}.
// Usage: node grpc-load.mjs <port> <authority|-> <durationS> <concurrency> <channels> [warmupS]
import * as grpc from '@grpc/grpc-js';

const [port, authority, durationS, concurrency, channelCount, warmupS = '1'] = process.argv.slice(2);
const raw = (b) => b;
const Client = grpc.makeGenericClientConstructor({ Unary: { path: '/bench.Echo/Unary', requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw } }, 'Echo');
const opts = { 'grpc.use_local_subchannel_pool': 1, ...(authority !== '-' ? { 'grpc.default_authority': authority } : {}) };
const channels = Array.from({ length: Number(channelCount) }, () => new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), opts));
const body = Buffer.alloc(1024, 0x61);
const call = (c) => new Promise((resolve) => c.Unary(body, (err) => resolve(err)));

const lat = [];
let completed = 0;
let errors = 0;
let firstError;
const warmEnd = Date.now() + Number(warmupS) * 1000;
const end = warmEnd + Number(durationS) * 1000;
let t0;
async function loop(i) {
  const c = channels[i % channels.length];
  for (;;) {
    const start = process.hrtime.bigint();
    const now = Date.now();
    if (now >= end) return;
    const err = await call(c);
    if (now < warmEnd) continue;
    t0 ??= start;
    if (err) {
      errors++;
      firstError ??= `${err.code} ${err.details}`;
    } else {
      completed++;
      lat.push(Number(process.hrtime.bigint() - start) / 1000);
    }
  }
}
await Promise.all(Array.from({ length: Number(concurrency) }, (_, i) => loop(i)));
const elapsedS = Number(process.hrtime.bigint() - (t0 ?? process.hrtime.bigint())) / 1e9;
lat.sort((a, b) => a - b);
const pct = (p) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] ?? null;
process.stdout.write(`${JSON.stringify({ completed, errors, firstError, rps: completed / elapsedS, p50us: pct(50), p99us: pct(99) })}\n`);
for (const c of channels) c.close();
process.exit(0);
