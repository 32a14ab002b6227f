// Downstream HTTP/2 over real sockets: node:http2, curl --http2-prior-knowledge, nghttp and h2load
// clients through the proxy to HTTP/1 upstreams — codec choice (AUTO preface detection, HTTP1,
// HTTP2), Envoy's SETTINGS, many streams per connection, trailers, StreamInfo and stats.

import { execFile } from "node:child_process";
import * as http2 from "node:http2";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { DownstreamLimits } from "../../src/bootstrap/bootstrap.js";
import type { HttpConnectionManager, Snapshot } from "../../src/config/model/types.js";
import { httpConnectionManagerOf } from "../../src/config/model/listener-defaults.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { startEchoUpstream, type EchoUpstream, type Handler } from "../helpers/upstreams.js";
import { within } from "../helpers/wait.js";
import { request } from "../helpers/h2-client.js";

let proxy: TestProxy | undefined;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await proxy?.close();
  proxy = undefined;
});

async function echo(handler?: Handler): Promise<EchoUpstream> {
  const u = await startEchoUpstream("u", handler);
  cleanups.push(() => u.close());
  return u;
}

async function proxyTo(port: number, o: { limits?: Partial<DownstreamLimits>; hcm?: Partial<HttpConnectionManager>; edit?: (s: Snapshot) => void } = {}): Promise<TestProxy> {
  const snap: Snapshot = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c" } })] }], [cluster("c", [port])]);
  if (o.hcm !== undefined) Object.assign(httpConnectionManagerOf(snap.listeners[0]!.filterChains[0]!)!, o.hcm);
  o.edit?.(snap);
  proxy = await startProxy(snap, { limits: o.limits ?? {} });
  return proxy;
}

function h2(port: number): http2.ClientHttp2Session {
  const s = http2.connect(`http://127.0.0.1:${port}`);
  s.on("error", () => {});
  cleanups.push(() => void s.destroy());
  return s;
}


function run(cmd: string, args: string[], timeoutMs = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: "utf8", timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === "number" ? err.code : -1, stdout, stderr });
    });
  });
}

describe("HTTP/2 with prior knowledge on an AUTO listener", () => {
  it("node:http2 client → HTTP/1 upstream: :authority becomes Host, the response comes back as HTTP/2, StreamInfo says HTTP/2", async () => {
    const u = await echo();
    const p = await proxyTo(u.port);
    const s = h2(p.port);
    const r = await request(s, { ":method": "POST", ":path": "/a/../b?x=1", ":authority": "shop.example:8080", "x-custom": "v", cookie: ["a=1", "b=2"] }, "hello");
    expect(r.status).toBe(200);
    expect(r.headers["x-upstream"]).toBe("u");
    expect(r.headers.server).toBe("envoy");
    expect(r.headers.connection).toBeUndefined();
    const seen = JSON.parse(r.body.toString()) as { method: string; url: string; headers: Record<string, string>; bodyLength: number };
    expect(seen.method).toBe("POST");
    expect(seen.url).toBe("/b?x=1");
    expect(seen.headers.host).toBe("shop.example:8080");
    expect(seen.headers["x-custom"]).toBe("v");
    expect(seen.headers.cookie).toBe("a=1; b=2");
    expect(seen.bodyLength).toBe(5);
    expect(u.requests[0]!.httpVersion).toBe("1.1");
    const si = p.streams.at(-1)!;
    expect(si.protocol).toBe("HTTP/2");
    expect(si.responseCode).toBe(200);
    expect(si.bytesReceived).toBe(5);
    expect(si.bytesSent).toBe(r.body.length);
    expect(si.path).toBe("/a/../b?x=1");
    // The stream ended cleanly: no reset flag (DC/DR), even though its END_STREAM left at once.
    expect(si.responseFlags).toEqual([]);
    const stats = p.runtime.services.stats.snapshot();
    const name = Object.keys(stats.counters).find((k) => k.endsWith(".downstream_cx_http2_total"))!;
    expect(stats.counters[name]).toBe(1);
    expect(stats.counters[name.replace("downstream_cx_http2_total", "downstream_rq_http2_total")]).toBe(1);
    expect(stats.gauges[name.replace("downstream_cx_http2_total", "downstream_cx_http2_active")]).toBe(1);
    expect(stats.counters[name.replace("downstream_cx_http2_total", "downstream_cx_http1_total")] ?? 0).toBe(0);
  });

  it("HTTP/1.1 clients still get HTTP/1.1 on the same listener (the preface check does not delay them)", async () => {
    const u = await echo();
    const p = await proxyTo(u.port);
    const res = await fetch(p.url("/h1"));
    expect(res.status).toBe(200);
    expect(p.streams.at(-1)!.protocol).toBe("HTTP/1.1");
    // A first read that is only a part of "PRI …" but then differs is HTTP/1 too (PROPFIND here).
    const sock = connect(p.port, "127.0.0.1");
    cleanups.push(() => void sock.destroy());
    let out = "";
    sock.on("data", (d: Buffer) => (out += d.toString("latin1")));
    const closed = new Promise<void>((r) => sock.once("close", () => r()));
    sock.write("PR");
    await new Promise((r) => setImmediate(r));
    sock.write("OPFIND /dav HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n");
    await within(closed, 5_000, "the HTTP/1 answer");
    expect(out).toMatch(/^HTTP\/1.1 200 /);
    expect(u.requests.at(-1)!.method).toBe("PROPFIND");
    const stats = p.runtime.services.stats.snapshot();
    const name = Object.keys(stats.counters).find((k) => k.endsWith(".downstream_cx_http1_total"))!;
    expect(stats.counters[name]).toBe(2);
  });

  it("the preface split over several reads still selects HTTP/2", async () => {
    const u = await echo();
    const p = await proxyTo(u.port);
    const s = http2.connect(`http://127.0.0.1:${p.port}`, {
      createConnection: () => {
        const sock = connect(p.port, "127.0.0.1");
        // Write the first bytes byte by byte, each its own segment.
        const write = sock.write.bind(sock) as (b: Buffer | string, cb?: () => void) => boolean;
        let first = true;
        (sock as unknown as { write: (b: Buffer) => boolean }).write = (b: Buffer): boolean => {
          if (!first) return write(b);
          first = false;
          const bytes = Buffer.from(b);
          sock.setNoDelay(true);
          for (let i = 0; i < 5; i++) write(bytes.subarray(i, i + 1));
          return write(bytes.subarray(5));
        };
        return sock;
      },
    });
    s.on("error", () => {});
    cleanups.push(() => void s.destroy());
    const r = await request(s, { ":path": "/split" });
    expect(r.status).toBe(200);
    expect(p.streams.at(-1)!.protocol).toBe("HTTP/2");
  });

  it("behind http_inspector (which read the preface and put it back, saying h2c) the session replays those bytes", async () => {
    const u = await echo();
    const p = await proxyTo(u.port, { edit: (snap) => (snap.listeners[0]!.listenerFilters = [{ name: "envoy.filters.listener.http_inspector" }]) });
    const r = await request(h2(p.port), { ":path": "/inspected" });
    expect(r.status).toBe(200);
    expect(p.streams.at(-1)!.protocol).toBe("HTTP/2");
    const h1 = await fetch(p.url("/inspected-h1"));
    expect(h1.status).toBe(200);
    expect(p.streams.at(-1)!.protocol).toBe("HTTP/1.1");
  });

  it("many concurrent streams share one connection; every one is answered", async () => {
    const u = await echo();
    const p = await proxyTo(u.port);
    const s = h2(p.port);
    const all = await Promise.all(Array.from({ length: 200 }, (_, i) => request(s, { ":path": `/many/${i}` })));
    expect(all.every((r) => r.status === 200)).toBe(true);
    expect(all.map((r) => (JSON.parse(r.body.toString()) as { url: string }).url)).toEqual(Array.from({ length: 200 }, (_, i) => `/many/${i}`));
    const stats = p.runtime.services.stats.snapshot();
    const name = Object.keys(stats.counters).find((k) => k.endsWith(".downstream_cx_http2_total"))!;
    expect(stats.counters[name]).toBe(1);
    expect(stats.counters[name.replace("downstream_cx_http2_total", "downstream_rq_http2_total")]).toBe(200);
  });

  it("codec_type HTTP2 serves HTTP/2 without looking at the bytes; HTTP1 answers the preface as a bad HTTP/1 request and closes", async () => {
    const u = await echo();
    const p = await proxyTo(u.port, { hcm: { codecType: "HTTP2" } });
    const r = await request(h2(p.port), { ":path": "/forced" });
    expect(r.status).toBe(200);
    await p.close();
    proxy = undefined;
    const p1 = await proxyTo(u.port, { hcm: { codecType: "HTTP1" } });
    const sock = connect(p1.port, "127.0.0.1");
    cleanups.push(() => void sock.destroy());
    let out = "";
    sock.on("data", (d: Buffer) => (out += d.toString("latin1")));
    const closed = new Promise<void>((res) => sock.once("close", () => res()));
    sock.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    await within(closed, 5_000, "the HTTP/1 codec's answer");
    expect(out).toMatch(/^HTTP\/1.1 400 /);
  });
});

describe("real HTTP/2 clients", () => {
  it("curl --http2-prior-knowledge gets an HTTP/2 answer", async () => {
    const u = await echo();
    const p = await proxyTo(u.port);
    const r = await run("curl", ["-sS", "-i", "--http2-prior-knowledge", "--max-time", "10", p.url("/curl")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^HTTP\/2 200/);
    expect(r.stdout).toContain('"url":"/curl"');
  });

  it("nghttp -v: the SETTINGS are Envoy's defaults (max concurrent streams 2^31-1, 256 MiB stream window) and the connection window grows to 256 MiB", async () => {
    const u = await echo();
    const p = await proxyTo(u.port);
    const r = await run("nghttp", ["-v", "-n", p.url("/nghttp")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/recv SETTINGS frame[\s\S]*?SETTINGS_MAX_CONCURRENT_STREAMS\(0x03\):2147483647/);
    expect(r.stdout).toMatch(/SETTINGS_INITIAL_WINDOW_SIZE\(0x04\):268435456/);
    expect(r.stdout).toMatch(/SETTINGS_MAX_HEADER_LIST_SIZE\(0x06\):61440/);
    // The connection-level window: 65535 + this increment = 256 MiB.
    expect(r.stdout).toMatch(/recv WINDOW_UPDATE frame <length=4, flags=0x00, stream_id=0>\s*\(window_size_increment=268369921\)/);
    expect(r.stdout).toMatch(/:status: 200/);
  });

  it("configured http2_protocol_options are what the SETTINGS say", async () => {
    const u = await echo();
    const p = await proxyTo(u.port, { hcm: { http2ProtocolOptions: { maxConcurrentStreams: 100, initialStreamWindowSize: 65536, initialConnectionWindowSize: 1048576 } } });
    const r = await run("nghttp", ["-v", "-n", p.url("/opts")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/SETTINGS_MAX_CONCURRENT_STREAMS\(0x03\):100\b/);
    expect(r.stdout).toMatch(/SETTINGS_INITIAL_WINDOW_SIZE\(0x04\):65536\b/);
    expect(r.stdout).toMatch(/stream_id=0>\s*\(window_size_increment=983041\)/);
  });

  it("a bounded h2load run: every request succeeds", async () => {
    const u = await echo();
    const p = await proxyTo(u.port);
    const r = await run("h2load", ["-n", "2000", "-c", "4", "-m", "20", p.url("/load")], 60_000);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored/);
    expect(r.stdout).toMatch(/status codes: 2000 2xx/);
  });
});
