// A bounded, seeded fuzz of the upstream HTTP/2 client side: 200 upstream connections (one request
// each: maxRequestsPerConnection 1), each answering with a valid response frame sequence mutated
// at random — flipped bytes, a truncation (then the socket ends), frames of random type, flags,
// stream id and length inserted, length fields that lie. The proxy runs in-process, so an
// exception escaping the worker fails the run; every downstream request must get an answer (a
// 2xx or a 5xx head, a cut-off body at worst) within the route timeout's bound; a clean upstream
// afterwards is served. The seed is fixed: a failure reproduces.

import { request as httpRequest, Agent } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { StatsStore } from "../../src/observability/stats/stats-store.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { F, h2Frame, startRawH2Upstream, T, type RawH2Conn, type RawH2Upstream } from "../helpers/h2-raw-upstream.js";
import { prng } from "../helpers/seeded-random.js";

let proxy: TestProxy | undefined;
let up: RawH2Upstream | undefined;
let agent: Agent | undefined;
afterEach(async () => {
  agent?.destroy();
  await proxy?.close();
  await up?.close();
  proxy = undefined;
  up = undefined;
});

const SEED = 0x5eed_2026;
const CONNECTIONS = 200;
const BATCH = 20;
const ROUTE_TIMEOUT_MS = 1_000;

interface Reply {
  status: number;
  aborted: boolean;
  ms: number;
}

function send(port: number, path: string): Promise<Reply> {
  agent ??= new Agent({ keepAlive: false });
  const t0 = Date.now();
  return new Promise((resolve) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, agent, headers: { host: "svc" } }, (res) => {
      res.resume();
      res.on("error", () => {});
      res.on("close", () => resolve({ status: res.statusCode!, aborted: !res.complete, ms: Date.now() - t0 }));
    });
    req.on("error", () => resolve({ status: 0, aborted: true, ms: Date.now() - t0 }));
    req.end();
  });
}

/** A valid response to stream `id` on `c` (headers, body in 1-3 DATA frames, sometimes trailers), as separate frames. */
function validResponse(c: RawH2Conn, id: number, rnd: () => number): Buffer[] {
  const body = Buffer.alloc(1 + Math.floor(rnd() * 3_000), 0x61);
  const trailers = rnd() < 0.3;
  const frames = [h2Frame(T.HEADERS, F.END_HEADERS, id, c.block([[":status", "200"], ["content-length", String(body.length)], ["x-fuzz", String(Math.floor(rnd() * 1e6))]]))];
  const parts = 1 + Math.floor(rnd() * 3);
  const step = Math.ceil(body.length / parts);
  for (let off = 0; off < body.length; off += step) {
    const last = off + step >= body.length && !trailers;
    frames.push(h2Frame(T.DATA, last ? F.END_STREAM : 0, id, body.subarray(off, off + step)));
  }
  if (trailers) frames.push(h2Frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, id, c.block([["x-trailer", "t"]])));
  return frames;
}

/** One mutation of the frame list; returns whether the socket should end after the bytes (truncation). */
function mutate(frames: Buffer[], rnd: () => number): { bytes: Buffer; end: boolean } {
  const pick = (n: number): number => Math.floor(rnd() * n);
  const kind = pick(5);
  if (kind === 0) {
    // Random frames inserted somewhere: any type (0-11), flags, stream id (0-9), payload 0-40 bytes.
    const n = 1 + pick(3);
    for (let i = 0; i < n; i++) {
      const payload = Buffer.alloc(pick(41));
      for (let j = 0; j < payload.length; j++) payload[j] = pick(256);
      frames.splice(pick(frames.length + 1), 0, h2Frame(pick(12), pick(256), pick(10), payload));
    }
  }
  let bytes = Buffer.concat(frames);
  if (kind === 1 || kind === 4) {
    // Flipped bytes anywhere (headers, payloads, HPACK).
    bytes = Buffer.from(bytes);
    const n = 1 + pick(4);
    for (let i = 0; i < n; i++) bytes[pick(bytes.length)] ^= 1 << pick(8);
  }
  if (kind === 2) {
    // A length field that lies (shorter or longer than the payload).
    bytes = Buffer.from(bytes);
    let off = 0;
    const target = pick(frames.length);
    for (let i = 0; i < target; i++) off += frames[i]!.length;
    bytes.writeUIntBE(pick(20_000), off, 3);
  }
  if (kind === 3) return { bytes: bytes.subarray(0, pick(bytes.length)), end: true };
  return { bytes, end: rnd() < 0.2 };
}

describe("HTTP/2 upstream fuzz", () => {
  it(`${CONNECTIONS} upstream connections answering mutated response frames: no escaped exception, every request answered within the bound, a clean upstream served afterwards`, { timeout: 120_000 }, async () => {
    const rnd = prng(SEED);
    let fuzzing = true;
    up = await startRawH2Upstream(() => ({
      onRequest: (c, id) => {
        if (!fuzzing) return c.ok(id);
        const { bytes, end } = mutate(validResponse(c, id, rnd), rnd);
        if (end) c.sock.end(bytes);
        else c.write(bytes);
      },
    }));
    const stats = new StatsStore();
    const snap = await snapshotWith(
      [{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c", timeoutMs: ROUTE_TIMEOUT_MS } })] }],
      [cluster("c", [up.port], { httpProtocolOptions: { explicitHttpConfig: { http2ProtocolOptions: {} }, commonHttpProtocolOptions: { maxRequestsPerConnection: 1 } } })],
    );
    proxy = await startProxy(snap, { runtime: { stats } });
    const replies: Reply[] = [];
    for (let i = 0; i < CONNECTIONS; i += BATCH) {
      replies.push(...(await Promise.all(Array.from({ length: BATCH }, (_, k) => send(proxy!.port, `/f${i + k}`)))));
    }
    expect(up.conns.length).toBeGreaterThanOrEqual(CONNECTIONS);
    // Every request was answered: a final status head (a 2xx, a 5xx, or whatever valid status a
    // flipped HPACK digit made), a body cut off at worst, or — when the connection broke while
    // the head waited downstream for its body — a closed connection.
    const bad = replies.filter((r) => !((r.status >= 200 && r.status < 600) || (r.status === 0 && r.aborted)));
    expect(bad).toEqual([]);
    // Within the route timeout (plus scheduling slack on a shared machine).
    expect(Math.max(...replies.map((r) => r.ms))).toBeLessThan(ROUTE_TIMEOUT_MS + 4_000);
    // Some went through whole and some failed: the mutations did reach the codec.
    expect(replies.some((r) => r.status === 200 && !r.aborted)).toBe(true);
    expect(replies.some((r) => r.status >= 500)).toBe(true);
    fuzzing = false;
    const after = await send(proxy.port, "/after");
    expect([after.status, after.aborted]).toEqual([200, false]);
    // Every connection of the fuzz is gone from the pool.
    expect(stats.snapshot().gauges["cluster.c.upstream_cx_active"] ?? 0).toBeLessThanOrEqual(1);
  });
});
