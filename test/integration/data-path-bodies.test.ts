// Bodies over real sockets: large uploads and downloads in both framings keep their bytes (sha256
// on both ends) without the proxy buffering them whole, back-pressure reaches the upstream when
// the client stops reading, and bodiless responses stay bodiless.

import { createHash } from "node:crypto";
import type { EventEmitter } from "node:events";
import { request, type ClientRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import { Readable } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { pipeline } from "node:stream/promises";
import { afterEach, describe, expect, it } from "vitest";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { openSocket, parseResponses, rawExchange } from "../helpers/raw-client.js";
import { startEchoUpstream, startRawUpstream, type EchoUpstream, type Handler, type RawUpstream } from "../helpers/upstreams.js";
import { sleep, waitFor, within } from "../helpers/wait.js";
import type { Http1ServerConnection } from "../../src/http/http1-server-connection.js";

let proxy: TestProxy | undefined;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;

/** `total` bytes of deterministic, non-repeating-per-chunk data, produced lazily. */
function* bodyChunks(total: number, seed: number): Generator<Buffer> {
  const base = Buffer.alloc(CHUNK);
  for (let i = 0; i < CHUNK; i++) base[i] = (i * 31 + seed) & 0xff;
  let sent = 0;
  let n = 0;
  while (sent < total) {
    const size = Math.min(CHUNK, total - sent);
    const b = Buffer.from(base.subarray(0, size));
    b.writeUInt32BE(n++ >>> 0, 0);
    sent += size;
    yield b;
  }
}

function expectedSha(total: number, seed: number): string {
  const h = createHash("sha256");
  for (const c of bodyChunks(total, seed)) h.update(c);
  return h.digest("hex");
}

async function upstream(handler: Handler): Promise<EchoUpstream> {
  const u = await startEchoUpstream("u", handler);
  cleanups.push(() => u.close());
  return u;
}

async function raw(onConnection: (s: Socket) => void): Promise<RawUpstream> {
  const u = await startRawUpstream(onConnection);
  cleanups.push(() => u.close());
  return u;
}

async function proxyTo(port: number): Promise<TestProxy> {
  const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c" } })] }], [cluster("c", [port])]);
  proxy = await startProxy(snap);
  return proxy;
}

// A real collector call, so the samples below see live memory rather than uncollected garbage.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Live bytes: JS heap plus Buffer/ArrayBuffer backing stores (what a buffered body would occupy). */
function live(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * Runs `work` while sampling live memory (after a full collection, and a pause for V8's
 * background ArrayBuffer sweeper to free dead backing stores) and RSS; returns the peak growth of
 * each over the value at the start.
 */
async function peakGrowth<T>(work: () => Promise<T>): Promise<{ result: T; liveGrowth: number; rssGrowth: number }> {
  const settledLive = async (): Promise<number> => {
    gc();
    await sleep(5); // V8 frees dead backing stores on a background thread; nothing signals it
    gc();
    return live();
  };
  const start = await settledLive();
  const startRss = process.memoryUsage().rss;
  let peak = start;
  let peakRss = startRss;
  let running = true;
  const sampler = (async () => {
    while (running) {
      peak = Math.max(peak, await settledLive());
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      await sleep(40); // sampling cadence, not synchronisation
    }
  })();
  try {
    const result = await work();
    return { result, liveGrowth: peak - start, rssGrowth: peakRss - startRss };
  } finally {
    running = false;
    await sampler;
  }
}

/** Quiet window of a stall: no 'drain' for this long while both ends are blocked. */
const QUIET_MS = 300;

/**
 * Resolves once a writer that back-pressure has stopped stays stopped: `blocked()` holds (the
 * writer waits on 'drain' and the proxy shows why) and `writer` emits no 'drain' for QUIET_MS.
 * There is no event for "no more will come", so that quiet window is the proof; a drain (buffers
 * still filling) starts it again. Fails at once if the transfer finishes instead of stalling.
 */
async function stallOf(writer: EventEmitter, blocked: () => boolean, finished: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    await waitFor(() => blocked() || finished(), Math.max(0, deadline - Date.now()), what);
    if (finished()) throw new Error(`${what}: the transfer finished instead`);
    const drained = await new Promise<boolean>((resolve) => {
      const onDrain = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        writer.off("drain", onDrain);
        resolve(false);
      }, QUIET_MS);
      writer.once("drain", onDrain);
    });
    if (!drained && blocked()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

interface Sent {
  res: IncomingMessage;
  sha: string;
  length: number;
  /** The body as text when it was small (JSON answers), else "". */
  text: string;
}

/** Sends a request (streamed body when given) and hashes the response body as it arrives. */
function send(port: number, method: string, path: string, body?: { total: number; seed: number; chunked: boolean }, headers: Record<string, string> = {}): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const h: Record<string, string> = { ...headers };
    if (body && !body.chunked) h["content-length"] = String(body.total);
    const req = request({ host: "127.0.0.1", port, method, path, headers: h, agent: false }, (res) => {
      const hash = createHash("sha256");
      let length = 0;
      const small: Buffer[] = [];
      res.on("data", (c: Buffer) => {
        hash.update(c);
        length += c.length;
        if (length <= 64 * 1024) small.push(c);
      });
      res.on("end", () => resolve({ res, sha: hash.digest("hex"), length, text: length <= 64 * 1024 ? Buffer.concat(small).toString() : "" }));
      res.on("error", reject);
    });
    req.on("error", reject);
    if (body) pipeline(Readable.from(bodyChunks(body.total, body.seed)), req).catch(reject);
    else req.end();
  });
}

/** Upstream that hashes the request body as it streams and answers {sha, length, te, cl}. */
const hashingHandler: Handler = (req, res) => {
  const hash = createHash("sha256");
  let length = 0;
  req.on("data", (c: Buffer) => {
    hash.update(c);
    length += c.length;
  });
  req.on("end", () => {
    const out = JSON.stringify({ sha: hash.digest("hex"), length, te: req.headers["transfer-encoding"] ?? null, cl: req.headers["content-length"] ?? null });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out) });
    res.end(out);
  });
};

/** Upstream streaming `size` bytes (query ?size=&seed=&chunked=1) with back-pressure. */
const streamingHandler: Handler = (req, res) => {
  const q = new URL(req.url!, "http://x").searchParams;
  const size = Number(q.get("size"));
  const seed = Number(q.get("seed"));
  const headers: Record<string, string> = { "content-type": "application/octet-stream" };
  if (q.get("chunked") !== "1") headers["content-length"] = String(size);
  res.writeHead(200, headers);
  void pipeline(Readable.from(bodyChunks(size, seed)), res).catch(() => {});
};

const BIG = 96 * MiB;
// Whole-body buffering anywhere would keep at least BIG (96 MiB) alive; streaming keeps a few
// socket-sized chunks (measured: under 15 MiB). Live memory is the precise signal.
const LIVE_BOUND = 32 * MiB;
// RSS also counts allocator slack and the test's own client and upstream in this process
// (measured: under 40 MiB): a looser bound, still well below the body size.
const RSS_BOUND = 64 * MiB;

describe("large bodies stream through", () => {
  for (const chunked of [false, true]) {
    const framing = chunked ? "chunked" : "content-length";

    it(`uploads ${BIG / MiB} MiB with ${framing}: same sha256 upstream, flat memory`, async () => {
      const u = await upstream(hashingHandler);
      const p = await proxyTo(u.port);
      // Warm up the path so lazily-initialised code and buffers are not counted as growth.
      await send(p.port, "POST", "/warm", { total: 4 * MiB, seed: 9, chunked });
      const { result, liveGrowth, rssGrowth } = await peakGrowth(() => send(p.port, "POST", "/up", { total: BIG, seed: 1, chunked }));
      expect(result.res.statusCode).toBe(200);
      const got = JSON.parse(result.text) as { sha: string; length: number; te: string | null; cl: string | null };
      expect(got.length).toBe(BIG);
      expect(got.sha).toBe(expectedSha(BIG, 1));
      if (chunked) expect([got.te, got.cl]).toEqual(["chunked", null]);
      else expect([got.te, got.cl]).toEqual([null, String(BIG)]);
      console.log(`upload ${framing}: peak growth live ${(liveGrowth / MiB).toFixed(1)} MiB, rss ${(rssGrowth / MiB).toFixed(1)} MiB`);
      expect(liveGrowth).toBeLessThan(LIVE_BOUND);
      expect(rssGrowth).toBeLessThan(RSS_BOUND);
      await waitFor(() => p.streams.length === 2);
      expect(p.streams[1]!.bytesReceived).toBeGreaterThanOrEqual(BIG);
    });

    it(`downloads ${BIG / MiB} MiB with ${framing}: same sha256 at the client, flat memory`, async () => {
      const u = await upstream(streamingHandler);
      const p = await proxyTo(u.port);
      await send(p.port, "GET", `/down?size=${4 * MiB}&seed=9&chunked=${chunked ? 1 : 0}`);
      const { result, liveGrowth, rssGrowth } = await peakGrowth(() => send(p.port, "GET", `/down?size=${BIG}&seed=2&chunked=${chunked ? 1 : 0}`));
      expect(result.res.statusCode).toBe(200);
      expect(result.res.headers["transfer-encoding"]).toBe(chunked ? "chunked" : undefined);
      expect(result.res.headers["content-length"]).toBe(chunked ? undefined : String(BIG));
      expect(result.length).toBe(BIG);
      expect(result.sha).toBe(expectedSha(BIG, 2));
      console.log(`download ${framing}: peak growth live ${(liveGrowth / MiB).toFixed(1)} MiB, rss ${(rssGrowth / MiB).toFixed(1)} MiB`);
      expect(liveGrowth).toBeLessThan(LIVE_BOUND);
      expect(rssGrowth).toBeLessThan(RSS_BOUND);
    });
  }
});

describe("small bodies", () => {
  it("forwards body bytes that arrive in the same packet as the head", async () => {
    const u = await upstream(hashingHandler);
    const p = await proxyTo(u.port);
    const rs = parseResponses(await rawExchange(p.port, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"));
    expect(rs[0]!.status).toBe(200);
    const got = JSON.parse(rs[0]!.body.toString()) as { sha: string; length: number };
    expect(got.length).toBe(5);
    expect(got.sha).toBe(createHash("sha256").update("hello").digest("hex"));
  });

  it("forwards a chunked body that arrives with the head", async () => {
    const u = await upstream(hashingHandler);
    const p = await proxyTo(u.port);
    const rs = parseResponses(
      await rawExchange(p.port, "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
    );
    const got = JSON.parse(rs[0]!.body.toString()) as { sha: string; length: number; te: string };
    expect(got.length).toBe(11);
    expect(got.te).toBe("chunked");
    expect(got.sha).toBe(createHash("sha256").update("hello world").digest("hex"));
  });
});

describe("local reply before the body", () => {
  it("a large upload to a local reply is discarded, not buffered", async () => {
    const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { directResponse: { status: 403, body: "denied" } })] }], []);
    proxy = await startProxy(snap);
    const p = proxy;
    const TOTAL = 64 * MiB;
    // Half-open: the client keeps sending after the proxy's FIN, as a stubborn uploader would.
    const c = connect({ host: "127.0.0.1", port: p.port, allowHalfOpen: true });
    await new Promise<void>((r) => c.once("connect", () => r()));
    let out = "";
    c.on("data", (d: Buffer) => (out += d.toString("latin1")));
    c.on("error", () => {});
    const { liveGrowth } = await peakGrowth(
      () =>
        new Promise<void>((resolve) => {
          c.write(`PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: ${TOTAL}\r\n\r\n`);
          const gen = bodyChunks(TOTAL, 5);
          const pump = (): void => {
            for (;;) {
              if (c.destroyed) return resolve();
              const n = gen.next();
              if (n.done) return resolve();
              if (!c.write(n.value)) {
                c.once("drain", pump);
                return;
              }
            }
          };
          c.once("close", () => resolve());
          pump();
        }),
    );
    expect(c.bytesWritten).toBeGreaterThan(TOTAL);
    c.destroy();
    expect(out).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(out.toLowerCase()).toContain("connection: close");
    expect(liveGrowth).toBeLessThan(LIVE_BOUND);
  });
});

describe("back-pressure", () => {
  it("a client that stops reading stalls the upstream instead of filling the proxy's memory", async () => {
    const TOTAL = 256 * MiB;
    let written = 0;
    let stalledAt = -1;
    let res: ServerResponse | undefined;
    const u = await upstream((_req, r) => {
      res = r;
      r.writeHead(200, { "content-length": String(TOTAL) });
      const gen = bodyChunks(TOTAL, 3);
      const pump = (): void => {
        for (;;) {
          const n = gen.next();
          if (n.done) {
            r.end();
            return;
          }
          written += n.value.length;
          if (!r.write(n.value)) {
            stalledAt = written;
            r.once("drain", pump);
            return;
          }
        }
      };
      pump();
    });
    const p = await proxyTo(u.port);
    const c = await openSocket(p.port);
    c.pause();
    c.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    // Stalled: the upstream waits on 'drain' (only a drain moves `written` on), and the proxy's
    // socket to the client is over its high-water mark, so the proxy has stopped reading upstream.
    const downstream = (): Http1ServerConnection | undefined => [...p.runtime.connections][0] as Http1ServerConnection | undefined;
    const upstreamRes = await waitFor(() => res, 5_000, "the upstream response");
    await stallOf(upstreamRes, () => stalledAt === written && downstream()?.socket.writableNeedDrain === true, () => written >= TOTAL, "the upstream write to stall");
    const stalled = written;
    expect(stalled).toBeLessThan(TOTAL / 2);
    // The proxy itself holds little: its downstream socket's user-space queue stays small.
    const conn = downstream()!;
    expect(conn.socket.writableLength).toBeLessThan(4 * MiB);
    console.log(`back-pressure: upstream stalled after ${(stalled / MiB).toFixed(1)} MiB; proxy queue ${(conn.socket.writableLength / 1024).toFixed(0)} KiB`);

    // Resume: the whole body arrives intact.
    const hash = createHash("sha256");
    let got = 0;
    let head: string | null = null;
    let pendingHead = Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      c.on("data", (d: Buffer) => {
        if (head === null) {
          pendingHead = Buffer.concat([pendingHead, d]);
          const i = pendingHead.indexOf("\r\n\r\n");
          if (i === -1) return;
          head = pendingHead.subarray(0, i).toString("latin1");
          d = pendingHead.subarray(i + 4);
        }
        hash.update(d);
        got += d.length;
        if (got >= TOTAL) resolve();
      });
      c.on("error", reject);
      c.on("close", () => (got >= TOTAL ? resolve() : reject(new Error(`closed after ${got} bytes`))));
      c.resume();
    });
    c.destroy();
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(got).toBe(TOTAL);
    expect(hash.digest("hex")).toBe(expectedSha(TOTAL, 3));
  });

  it("an upstream that stops reading stalls the client's upload", async () => {
    const TOTAL = 256 * MiB;
    let reqRef: IncomingMessage | undefined;
    let received = 0;
    const u = await upstream((req, res) => {
      reqRef = req;
      req.pause();
      req.on("data", (c: Buffer) => (received += c.length));
      req.on("end", () => res.end(String(received)));
    });
    const p = await proxyTo(u.port);
    let produced = 0;
    const gen = bodyChunks(TOTAL, 4);
    const source = new Readable({
      read() {
        const n = gen.next();
        if (n.done) this.push(null);
        else {
          produced += n.value.length;
          this.push(n.value);
        }
      },
    });
    let upload: ClientRequest | undefined;
    const done = new Promise<string>((resolve, reject) => {
      const req = (upload = request({ host: "127.0.0.1", port: p.port, method: "PUT", path: "/up", headers: { "content-length": String(TOTAL) }, agent: false }, (res) => {
        let s = "";
        res.on("data", (d: Buffer) => (s += d.toString()));
        res.on("end", () => resolve(s));
      }));
      req.on("error", reject);
      pipeline(source, req).catch(reject);
    });
    await waitFor(() => reqRef, 5_000, "the upstream request");
    // Stalled: the client's request waits on 'drain' (the source is read only after one) while
    // the upstream reads nothing.
    await stallOf(upload!, () => upload!.writableNeedDrain && produced > 0, () => produced >= TOTAL && !upload!.writableNeedDrain, "the client upload to stall");
    const stalled = produced;
    expect(received).toBe(0);
    expect(stalled).toBeLessThan(TOTAL / 2);
    console.log(`upload back-pressure: client stalled after ${(stalled / MiB).toFixed(1)} MiB`);
    reqRef!.resume();
    expect(await done).toBe(String(TOTAL));
  });
});

describe("bodiless responses", () => {
  it("HEAD, 204 and 304 carry no body and keep the connection in sync", async () => {
    const u = await upstream((req, res) => {
      if (req.method === "HEAD") {
        res.writeHead(200, { "content-length": "1234", "content-type": "text/plain" });
        res.end();
      } else if (req.url === "/204") {
        res.writeHead(204, {});
        res.end();
      } else if (req.url === "/304") {
        res.writeHead(304, { etag: '"v1"' });
        res.end();
      } else {
        res.writeHead(200, { "content-length": "4" });
        res.end("tail");
      }
    });
    const p = await proxyTo(u.port);
    const c = await openSocket(p.port);
    let out = "";
    c.on("data", (d: Buffer) => (out += d.toString("latin1")));
    const req = (m: string, path: string): string => `${m} ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
    // One at a time (a HEAD response's content-length would confuse a naive splitter).
    c.write(req("HEAD", "/head"));
    await waitFor(() => out.includes("\r\n\r\n"), 5_000, "HEAD response");
    c.write(req("GET", "/204") + req("GET", "/304") + req("GET", "/last"));
    await waitFor(() => out.endsWith("tail"), 5_000, "all responses");
    c.destroy();
    const heads = out.split("\r\n\r\n");
    // HEAD, 204, 304 have no body, so the wire is: head1 \r\n\r\n head2 \r\n\r\n head3 \r\n\r\n head4 \r\n\r\n tail
    expect(heads).toHaveLength(5);
    expect(heads[0]).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(heads[0]!.toLowerCase()).toContain("content-length: 1234");
    expect(heads[1]).toMatch(/^HTTP\/1\.1 204 No Content\r\n/);
    expect(heads[1]!.toLowerCase()).not.toContain("transfer-encoding");
    expect(heads[2]).toMatch(/^HTTP\/1\.1 304 Not Modified\r\n/);
    expect(heads[2]!.toLowerCase()).toContain('etag: "v1"');
    expect(heads[3]).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(heads[4]).toBe("tail");
  });

  it("a HEAD to a chunked upstream answer is bodiless too", async () => {
    const u = await upstream((_req, res) => {
      res.writeHead(200, { "transfer-encoding": "chunked" });
      res.end();
    });
    const p = await proxyTo(u.port);
    const out = await rawExchange(p.port, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const parts = out.split("\r\n\r\n");
    expect(parts[0]).toMatch(/^HTTP\/1\.1 200 /);
    expect(parts[1]).toMatch(/^HTTP\/1\.1 200 /);
  });
});

describe("close-delimited upstream responses", () => {
  // Envoy decides downstream framing itself: a body the upstream ends by closing goes to an
  // HTTP/1.1 client chunked, and the client's keep-alive connection stays usable.
  it("HTTP/1.0-style response without content-length reaches an HTTP/1.1 client chunked, on a connection kept alive", async () => {
    // The second part goes out once the first has reached the client: two reads, two chunks.
    const u = await raw((s) => s.once("data", () => s.write("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst part, ")));
    const p = await proxyTo(u.port);
    const c = await openSocket(p.port);
    let out = "";
    const ended = new Promise<void>((r) =>
      c.on("data", (d: Buffer) => {
        out += d.toString("latin1");
        if (out.endsWith("0\r\n\r\n")) r();
      }),
    );
    c.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => out.includes("first part, "), 5_000, "the first part");
    u.sockets[0]!.end("second part");
    await within(ended, 5_000, "the last chunk");
    c.destroy();
    const [r] = parseResponses(out);
    expect(r!.status).toBe(200);
    expect(r!.headers["transfer-encoding"]).toBe("chunked");
    expect(r!.headers["connection"]).toBeUndefined();
    expect(r!.headers["content-length"]).toBeUndefined();
    expect(r!.body.toString()).toBe("first part, second part");
    await waitFor(() => p.streams.length === 1);
    expect(p.streams[0]).toMatchObject({ responseCode: 200, responseFlags: [] });
  });

  it("HTTP/1.1 response with Connection: close and no length: chunked to an HTTP/1.1 client, close-delimited to HTTP/1.0", async () => {
    const u = await raw((s) => s.once("data", () => s.end("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")));
    const p = await proxyTo(u.port);
    const [r11] = parseResponses(await rawExchange(p.port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 2_000));
    expect(r11!.headers["transfer-encoding"]).toBe("chunked");
    expect(r11!.body.toString()).toBe("all of it");
    const out10 = await rawExchange(p.port, "GET / HTTP/1.0\r\nHost: x\r\n\r\n", 2_000);
    expect(out10).toMatch(/^HTTP\/1\.0 200 OK\r\n/);
    expect(out10.toLowerCase()).toContain("connection: close");
    expect(out10.endsWith("\r\n\r\nall of it")).toBe(true);
  });
});
