// Micro-benchmark: HPACK decode and encode ops per second for the header blocks an h2load client
// sends (steady state: every field indexed after the first request) and an Envoy-like response
// (date, content-length and x-envoy-upstream-service-time changing), plus a cold first request
// (Huffman literals into a new decoder). Not a test: numbers depend on the host.
// Usage: npx tsc -p tsconfig.build.json && node bench/hpack.bench.mjs [iterations]
import { ByteWriter, HpackDecoder, HpackEncoder } from '../dist/http/codec/h2/hpack.js';

const n = Number(process.argv[2] ?? 1_000_000);
const NO_LIMIT = 1 << 30;

const request = [':method', 'GET', ':path', '/', ':scheme', 'http', ':authority', 'backend.default.svc.cluster.local:8080', 'user-agent', 'h2load nghttp2/1.59.0'];
function response(i) {
  return [':status', '200', 'date', `Mon, 01 Dec 2026 04:5${(i >> 14) % 10}:00 GMT`, 'content-type', 'text/plain', 'content-length', String(100 + (i & 1023)),
    'server', 'envoy', 'x-envoy-upstream-service-time', String(i & 15)];
}

function bench(name, iterations, fn) {
  for (let i = 0; i < Math.min(iterations, 20_000); i++) fn(i); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(i);
  const ns = Number(process.hrtime.bigint() - t0);
  console.log(`${name.padEnd(44)} ${(iterations / (ns / 1e9) / 1e6).toFixed(2).padStart(7)} M ops/s  ${(ns / iterations).toFixed(0).padStart(6)} ns/op`);
}

// Blocks as a peer's encoder writes them: the first request (literals), then the steady state.
const enc = new HpackEncoder();
const w = new ByteWriter();
enc.encode(request, w);
const firstRequest = w.take();
enc.encode(request, w);
const steadyRequest = w.take();
console.log(`request block: first ${firstRequest.length} B, steady ${steadyRequest.length} B`);

const out = [];
const dec = new HpackDecoder();
dec.decode(firstRequest, out, NO_LIMIT, NO_LIMIT);
bench('decode request (steady, all indexed)', n, () => {
  out.length = 0;
  dec.decode(steadyRequest, out, NO_LIMIT, NO_LIMIT);
});
bench('decode request (first, new decoder)', n / 4, () => {
  out.length = 0;
  new HpackDecoder().decode(firstRequest, out, NO_LIMIT, NO_LIMIT);
});

// Responses encoded in sequence, decoded in the same sequence (the tables evolve as on a connection).
const respEnc = new HpackEncoder();
const respBlocks = [];
for (let i = 0; i < 4096; i++) {
  respEnc.encode(response(i), w);
  respBlocks.push(w.take());
}
console.log(`response block: first ${respBlocks[0].length} B, later ${respBlocks[100].length} B`);
const respDec = new HpackDecoder();
let k = 0;
bench('decode response', n, () => {
  out.length = 0;
  if (k === respBlocks.length) {
    k = 0;
    respDec.decode(Buffer.from([0x20]), out, NO_LIMIT, NO_LIMIT); // size update 0 then 4096: back to the blocks' starting table
    respDec.decode(Buffer.from([0x3f, 0xe1, 0x1f]), out, NO_LIMIT, NO_LIMIT);
  }
  respDec.decode(respBlocks[k++], out, NO_LIMIT, NO_LIMIT);
});

const reqEnc = new HpackEncoder();
bench('encode request (steady)', n, () => {
  reqEnc.encode(request, w);
  w.length = 0;
});
const responses = [];
for (let i = 0; i < 1024; i++) responses.push(response(i << 4));
const respEnc2 = new HpackEncoder();
bench('encode response', n, (i) => {
  respEnc2.encode(responses[i & 1023], w);
  w.length = 0;
});
