// HTTP/2 through the real CLI (2 workers) with peers nobody here wrote: curl
// --http2-prior-knowledge, nghttp and h2load. Outbound services with each port protocol — HTTP
// (h2c in, HTTP/1.1 out), HTTP2 (HTTP/2 out), none (detected: the upstream speaks the
// downstream's protocol) — and inbound ports (the app is reached in its port's protocol), all to
// upstreams that speak both protocols and say which one they got.

import { connect as h2connect, constants as h2c, type ClientHttp2Session } from "node:http2";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDualUpstream, type DualUpstream } from "../helpers/dual-upstream.js";
import { startH2Mesh, type H2Mesh } from "../helpers/h2-mesh.js";
import { curl, h2loadSummary, nghttpFrames, receivedSettings, runTool } from "../helpers/h2-peers.js";
import { BodyDigest, patternChunks, patternSha256 } from "../helpers/pattern-bytes.js";
import { waitFor, within } from "../helpers/wait.js";

let mesh: H2Mesh;
const up: Record<"web" | "h2svc" | "auto" | "inH2" | "inH1", DualUpstream> = {} as never;
let uploadFile = "";
const UPLOAD_BYTES = 24 * 1024 * 1024;
const DOWNLOAD_BYTES = 32 * 1024 * 1024;

beforeAll(async () => {
  for (const k of ["web", "h2svc", "auto", "inH2", "inH1"] as const) up[k] = await startDualUpstream();
  mesh = await startH2Mesh({
    ns: "h2peers",
    outbound: [
      { name: "web", protocol: "HTTP", endpointPort: up.web.port },
      { name: "h2svc", protocol: "HTTP2", endpointPort: up.h2svc.port },
      { name: "auto", protocol: undefined, endpointPort: up.auto.port },
    ],
    inbound: [
      { protocol: "HTTP2", appPort: up.inH2.port },
      { protocol: "HTTP", appPort: up.inH1.port },
    ],
  });
  const dir = await mkdtemp(join(tmpdir(), "outrigger-h2-upload-"));
  uploadFile = join(dir, "upload.bin");
  await writeFile(uploadFile, Buffer.concat([...patternChunks(UPLOAD_BYTES)]));
}, 40_000);

afterAll(async () => {
  await mesh?.stop();
  await Promise.all(Object.values(up).map((u) => u.close()));
});

const url = (svc: string, path: string): string => `http://127.0.0.1:${mesh.outbound[svc]}${path}`;
/** curl turns Host into :authority on HTTP/2. */
const hostArgs = (svc: string): string[] => ["-H", `host: ${mesh.authority(svc)}`];
/** nghttp and h2load take the pseudo-header itself. */
const authArgs = (svc: string): string[] => ["-H", `:authority: ${mesh.authority(svc)}`];
const json = (b: Buffer): { protocol: string; authority: string; headers: Record<string, string>; path: string } => JSON.parse(b.toString()) as never;

describe("curl --http2-prior-knowledge", () => {
  it("h2c in, HTTP/1.1 out (port protocol HTTP): status, headers and body; the upstream sees Host = :authority", async () => {
    const r = await curl(url("web", "/hello?x=1"), [...hostArgs("web"), "-H", "x-custom: a"]);
    expect(r.httpVersion).toBe("2");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(r.headers["x-upstream-protocol"]).toBe("1.1");
    const seen = json(r.body);
    expect(seen).toMatchObject({ protocol: "1.1", path: "/hello?x=1", authority: mesh.authority("web") });
    expect(seen.headers["x-forwarded-proto"]).toBe("http");
    expect(seen.headers["x-custom"]).toBe("a");
    // HTTP/2-only fields never reach an HTTP/1.1 upstream as headers.
    expect(Object.keys(seen.headers).filter((k) => k.startsWith(":"))).toEqual([]);
  });

  it("HTTP2 port, h2c in: HTTP/2 upstream", async () => {
    const a = await curl(url("h2svc", "/a"), hostArgs("h2svc"));
    expect(a.status).toBe(200);
    expect(json(a.body)).toMatchObject({ protocol: "2", path: "/a", authority: mesh.authority("h2svc") });
  });

  it("HTTP2 port, HTTP/1.1 in: HTTP/2 upstream, without the connection-specific headers", async () => {
    const b = await curl(url("h2svc", "/b"), [...hostArgs("h2svc"), "-H", "connection: keep-alive", "-H", "keep-alive: timeout=5"], { h1: true });
    expect(b.httpVersion).toBe("1.1");
    expect(b.status).toBe(200);
    const seen = json(b.body);
    expect(seen).toMatchObject({ protocol: "2", path: "/b", authority: mesh.authority("h2svc") });
    expect(seen.headers).not.toHaveProperty("connection");
    expect(seen.headers).not.toHaveProperty("keep-alive");
  });

  it("a service port without protocol: its cluster speaks the downstream's protocol (served by the router, not passed through)", async () => {
    const a = await curl(url("auto", "/x"), hostArgs("auto"));
    expect(a.httpVersion).toBe("2");
    // x-forwarded-proto: the router handled it (a TCP passthrough would carry the bytes unchanged).
    expect(json(a.body)).toMatchObject({ protocol: "2", headers: { "x-forwarded-proto": "http" } });
    const b = await curl(url("auto", "/y"), hostArgs("auto"), { h1: true });
    expect(b.httpVersion).toBe("1.1");
    expect(json(b.body)).toMatchObject({ protocol: "1.1", headers: { "x-forwarded-proto": "http" } });
  });

  it("inbound HTTP2 port: the app is reached over HTTP/2 (HTTP/1.1 in)", async () => {
    const a = await curl(`http://127.0.0.1:${mesh.inbound[0]}/in`, [], { h1: true });
    expect(a.status).toBe(200);
    expect(json(a.body).protocol).toBe("2");
  });

  it("inbound HTTP port: the app is reached over HTTP/1.1 (h2c in)", async () => {
    const b = await curl(`http://127.0.0.1:${mesh.inbound[1]}/in`);
    expect(b.httpVersion).toBe("2");
    expect(b.status).toBe(200);
    expect(json(b.body).protocol).toBe("1.1");
  });

  it("an upstream status passes through; an unknown host is 404 NR (the egress listener has no catch-all without --intercept), as over HTTP/1", async () => {
    const r = await curl(url("h2svc", "/status/418"), hostArgs("h2svc"));
    expect(r.status).toBe(418);
    expect(r.body.toString()).toBe("status 418");
    const nr = await curl(url("web", "/"), ["-H", "host: nowhere.example"]);
    expect(nr.status).toBe(404);
    expect((await curl(url("web", "/"), ["-H", "host: nowhere.example"], { h1: true })).status).toBe(404);
  });
});

describe("nghttp", () => {
  it("SETTINGS are Envoy's defaults: max concurrent streams 2147483647, stream and connection windows 256 MiB", async () => {
    const r = await runTool("nghttp", ["-nv", ...authArgs("h2svc"), url("h2svc", "/")]);
    const text = r.stdout.toString();
    expect(r.code, text).toBe(0);
    const frames = nghttpFrames(text);
    const settings = receivedSettings(frames);
    expect(settings.SETTINGS_MAX_CONCURRENT_STREAMS).toBe(2147483647);
    expect(settings.SETTINGS_INITIAL_WINDOW_SIZE).toBe(268435456);
    // The connection window is opened to 256 MiB with a WINDOW_UPDATE on stream 0.
    const wu = frames.find((f) => f.dir === "recv" && f.type === "WINDOW_UPDATE" && f.streamId === 0);
    expect(wu?.detail.join(" ")).toContain(`window_size_increment=${268435456 - 65535}`);
    expect(text).toMatch(/recv \(stream_id=\d+\) :status: 200/);
  });

  it("many streams on one connection (-m 50): every one answered, over at most one upstream connection per worker", async () => {
    const before = up.h2svc.connections["2"];
    const r = await runTool("nghttp", ["-nv", "-m", "50", ...authArgs("h2svc"), url("h2svc", "/many")]);
    const text = r.stdout.toString();
    expect(r.code, text).toBe(0);
    expect(text.match(/recv \(stream_id=\d+\) :status: 200/g)).toHaveLength(50);
    expect(up.h2svc.requests.filter((q) => q.path === "/many")).toHaveLength(50);
    expect(up.h2svc.connections["2"] - before).toBeLessThanOrEqual(2);
  });

  for (const svc of ["h2svc", "web"] as const) {
    it(`a ${UPLOAD_BYTES / 1048576} MiB upload (-d) reaches the ${svc === "web" ? "HTTP/1.1" : "HTTP/2"} upstream intact`, async () => {
      const r = await runTool("nghttp", ["-d", uploadFile, ...authArgs(svc), url(svc, "/sha256")], 60_000);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout.toString())).toMatchObject({ sha256: patternSha256(UPLOAD_BYTES), length: UPLOAD_BYTES });
    }, 90_000);

    it(`a ${DOWNLOAD_BYTES / 1048576} MiB download from the ${svc === "web" ? "HTTP/1.1" : "HTTP/2"} upstream arrives intact`, async () => {
      const r = await runTool("nghttp", [...authArgs(svc), url(svc, `/bytes/${DOWNLOAD_BYTES}`)], 60_000);
      expect(r.code, r.stderr).toBe(0);
      const d = new BodyDigest();
      d.update(r.stdout);
      expect(d.length).toBe(DOWNLOAD_BYTES);
      expect(d.hex()).toBe(patternSha256(DOWNLOAD_BYTES));
    }, 90_000);
  }
});

describe("h2load", () => {
  for (const svc of ["web", "h2svc"] as const) {
    it(`-n 3000 -c 4 -m 16 to the ${svc === "web" ? "HTTP/1.1" : "HTTP/2"} upstream: 0 failed, 0 errored, 3000 2xx`, async () => {
      const before = up[svc].connections;
      const b = { h1: before["1.1"], h2: before["2"] };
      const r = await runTool("h2load", ["-n", "3000", "-c", "4", "-m", "16", ...authArgs(svc), url(svc, "/load")], 90_000);
      const text = r.stdout.toString();
      expect(r.code, text).toBe(0);
      const s = h2loadSummary(text);
      expect(s).toMatchObject({ total: 3000, done: 3000, succeeded: 3000, failed: 0, errored: 0, timeout: 0 });
      expect(s.status["2xx"]).toBe(3000);
      if (svc === "h2svc") {
        // 64 concurrent streams multiplexed: at most one upstream connection per worker.
        expect(up.h2svc.connections["2"] - b.h2).toBeLessThanOrEqual(2);
        expect(up.h2svc.connections["1.1"]).toBe(b.h1);
      }
    }, 120_000);
  }
});

describe("resets and flow control (node:http2 client)", () => {
  let session: ClientHttp2Session | undefined;
  afterAll(() => session?.destroy());
  const client = (svc: string): ClientHttp2Session => {
    session?.destroy();
    session = h2connect(`http://127.0.0.1:${mesh.outbound[svc]}`);
    session.on("error", () => {});
    return session;
  };

  it("the client's RST_STREAM (CANCEL) resets the upstream HTTP/2 stream (RST_STREAM NO_ERROR, as Envoy); an HTTP/1.1 upstream's connection is closed", async () => {
    for (const svc of ["h2svc", "web"] as const) {
      const s = client(svc);
      const heldBefore = up[svc].held.length;
      const req = s.request({ ":path": "/hold", ":authority": mesh.authority(svc) });
      req.on("error", () => {});
      req.end();
      const held = await waitFor(() => up[svc].held[heldBefore], 10_000, `${svc}: the held request at the upstream`);
      req.close(h2c.NGHTTP2_CANCEL);
      const ended = await within(held.ended, 10_000, `${svc}: the upstream to see the reset`);
      expect(ended.how).toBe(svc === "h2svc" ? "reset" : "closed");
    }
  });

  it("an upstream reset before the response headers is 503 with Envoy's body", async () => {
    const r = await curl(url("h2svc", "/reset"), hostArgs("h2svc"));
    expect(r.status).toBe(503);
    expect(r.body.toString()).toBe("upstream connect error or disconnect/reset before headers. reset reason: remote reset");
  });

  it("trailers from an HTTP/2 upstream reach an HTTP/2 client that accepts them (te: trailers)", async () => {
    const s = client("h2svc");
    const req = s.request({ ":path": "/trailers", ":authority": mesh.authority("h2svc"), te: "trailers" });
    req.end();
    const trailers = new Promise<Record<string, unknown>>((r) => req.once("trailers", (t) => r(t as never)));
    const ended = new Promise((r) => req.once("end", r));
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    expect(await within(trailers, 10_000, "trailers")).toMatchObject({ "x-checksum": "done" });
    await within(ended, 10_000, "the end of the response");
    expect(body).toBe("body-before-trailers");
  });

  it("a client that stops reading holds the HTTP/1.1 upstream back (back-pressure), then gets every byte", async () => {
    const TOTAL = 256 * 1024 * 1024;
    const s = client("web");
    const base = up.web.bytesWritten;
    const req = s.request({ ":path": `/bytes/${TOTAL}`, ":authority": mesh.authority("web") });
    req.end();
    const digest = new BodyDigest();
    const first = new Promise<void>((resolve, reject) => {
      req.once("data", (c: Buffer) => (digest.update(c), req.pause(), resolve()));
      req.once("error", reject);
    });
    await within(first, 15_000, "the first bytes of the body");
    // No event says "nothing more happens": watch the upstream's count until it stops moving.
    let last = -1;
    let still = 0;
    await waitFor(() => {
      const now = up.web.bytesWritten;
      still = now === last ? still + 1 : 0;
      last = now;
      return still >= 50;
    }, 20_000, "the upstream to be held back");
    // Socket buffers and the proxy's watermarks hold a few MiB, nothing like the whole body.
    expect(up.web.bytesWritten - base).toBeLessThan(64 * 1024 * 1024);
    req.on("data", (c: Buffer) => digest.update(c));
    req.resume();
    await within(new Promise((r) => req.once("end", r)), 60_000, "the rest of the body");
    expect(digest.length).toBe(TOTAL);
    expect(digest.hex()).toBe(patternSha256(TOTAL));
  }, 90_000);
});
