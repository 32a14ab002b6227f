// Downstream HTTP/2 streams over real sockets: trailers both ways and trailers-only answers,
// flow control with large bodies (checksums equal, a stalled reader stalls the upstream instead of
// filling the proxy), client RST_STREAM, graceful GOAWAY on drain, idle timeout, header limits,
// malformed header blocks (GOAWAY by default, RST_STREAM with the override) and REFUSED_STREAM
// (raw frames), and ALPN h2 over TLS.

import { createHash, randomBytes } from "node:crypto";
import * as http2 from "node:http2";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { DownstreamLimits } from "../../src/bootstrap/bootstrap.js";
import { HTTP_ROUTER_FILTER, ROOT_CA_SECRET, TLS_TRANSPORT_SOCKET, WORKLOAD_SECRET, type HttpConnectionManager, type Snapshot } from "../../src/config/model/types.js";
import { httpConnectionManagerOf } from "../../src/config/model/listener-defaults.js";
import { builtInHttpFilters } from "../../src/http/filters/http-filter-registry.js";
import { FilterStatus, type FilterCallbacks } from "../../src/http/filters/http-filter.js";
import { HeaderList } from "../../src/http/header-list.js";
import { FrameType, RawHttp2Client, frame, headersFrame } from "../helpers/http2-raw-client.js";
import { ManualTimers } from "../helpers/manual-timers.js";
import { issueLeaf, makeRootCa, pkiDir, type Ca, type Leaf } from "../helpers/pki.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { startEchoUpstream, type EchoUpstream, type Handler } from "../helpers/upstreams.js";
import { sleep, waitFor, within } from "../helpers/wait.js";
import { request, type H2Response } from "../helpers/h2-client.js";

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

interface ProxyOptions {
  limits?: Partial<DownstreamLimits>;
  hcm?: Partial<HttpConnectionManager>;
  timers?: ManualTimers;
  edit?: (s: Snapshot) => void;
  runtime?: NonNullable<Parameters<typeof startProxy>[1]>["runtime"];
}

async function snapshotTo(port: number): Promise<Snapshot> {
  return snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c" } })] }], [cluster("c", [port])]);
}

async function proxyTo(port: number, o: ProxyOptions = {}): Promise<TestProxy> {
  const snap = await snapshotTo(port);
  if (o.hcm !== undefined) Object.assign(httpConnectionManagerOf(snap.listeners[0]!.filterChains[0]!)!, o.hcm);
  o.edit?.(snap);
  proxy = await startProxy(snap, {
    limits: o.limits ?? {},
    ...(o.timers !== undefined ? { timers: o.timers, clock: o.timers } : {}),
    ...(o.runtime !== undefined ? { runtime: o.runtime } : {}),
  });
  return proxy;
}

function h2(port: number, authority = `http://127.0.0.1:${port}`, opts: http2.SecureClientSessionOptions = {}): http2.ClientHttp2Session {
  const s = http2.connect(authority, opts);
  s.on("error", () => {});
  cleanups.push(() => void s.destroy());
  return s;
}


function stat(p: TestProxy, suffix: string): number {
  const snap = p.runtime.services.stats.snapshot();
  for (const [k, v] of Object.entries(snap.counters)) if (k === suffix || k.endsWith("." + suffix)) return v;
  for (const [k, v] of Object.entries(snap.gauges)) if (k === suffix || k.endsWith("." + suffix)) return v;
  return 0;
}

function sha(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}

/**
 * A stand-in for the router that answers as a gRPC server would (the HTTP/1 upstream codec drops
 * trailers, so trailers from an upstream need the HTTP/2 pool): records the request trailers it
 * sees, answers `/trailers` with data then trailers and `/trailers-only` with headers alone.
 */
function grpcLikeRouter(seen: { trailers: HeaderList[]; bodies: number[] }): ReturnType<typeof builtInHttpFilters> {
  return builtInHttpFilters().register({
    name: HTTP_ROUTER_FILTER,
    create(cb: FilterCallbacks) {
      let bytes = 0;
      const answer = (): void => {
        seen.bodies.push(bytes);
        const path = cb.requestHeaders.path;
        if (path === "/trailers-only") {
          cb.encodeHeaders({ status: 200, headers: HeaderList.from([["content-type", "application/grpc"], ["grpc-status", "14"], ["grpc-message", "unavailable"]]) }, true);
          return;
        }
        cb.encodeHeaders({ status: 200, headers: HeaderList.from([["content-type", "application/grpc"]]) }, false);
        cb.encodeData(Buffer.from("payload"), false);
        cb.encodeTrailers(HeaderList.from([["grpc-status", "0"], ["grpc-message", "fine"]]));
      };
      return {
        decodeHeaders(_req, endStream) {
          if (endStream) answer();
          return FilterStatus.StopIteration;
        },
        decodeData(data, endStream) {
          bytes += data.length;
          if (endStream) answer();
          return FilterStatus.StopIteration;
        },
        decodeTrailers(t) {
          seen.trailers.push(t);
          answer();
          return FilterStatus.StopIteration;
        },
      };
    },
  });
}

describe("trailers", () => {
  it("response trailers reach the client after the data; request trailers end the request at the router", async () => {
    const seen = { trailers: [] as HeaderList[], bodies: [] as number[] };
    const p = await proxyTo(1, { runtime: { httpFilters: grpcLikeRouter(seen) } });
    const s = h2(p.port);
    const r = await new Promise<H2Response>((resolve, reject) => {
      const st = s.request({ ":method": "POST", ":path": "/trailers", "content-type": "application/grpc", te: "trailers" }, { waitForTrailers: true });
      st.on("wantTrailers", () => st.sendTrailers({ "x-checksum": "abc" }));
      const chunks: Buffer[] = [];
      let head: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders | undefined;
      st.on("response", (h) => (head = h));
      st.on("trailers", (t) => (trailers = t));
      st.on("data", (c: Buffer) => chunks.push(c));
      st.on("end", () => resolve({ status: Number(head[":status"]), headers: head, body: Buffer.concat(chunks), trailers }));
      st.on("error", reject);
      st.end("0123456789");
    });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe("payload");
    expect(r.trailers?.["grpc-status"]).toBe("0");
    expect(r.trailers?.["grpc-message"]).toBe("fine");
    expect(seen.trailers).toHaveLength(1);
    expect(seen.trailers[0]!.get("x-checksum")).toBe("abc");
    expect(seen.bodies).toEqual([10]);
    expect(stat(p, "http2.trailers")).toBe(1);
    const si = p.streams.at(-1)!;
    expect(si.protocol).toBe("HTTP/2");
    expect(si.bytesReceived).toBe(10);
    // Trailers ended the stream cleanly: no reset flag.
    expect(si.responseFlags).toEqual([]);
  });

  it("a trailers-only answer is one HEADERS frame with END_STREAM", async () => {
    const seen = { trailers: [] as HeaderList[], bodies: [] as number[] };
    const p = await proxyTo(1, { runtime: { httpFilters: grpcLikeRouter(seen) } });
    const r = await request(h2(p.port), { ":method": "POST", ":path": "/trailers-only", "content-type": "application/grpc", te: "trailers" }, "");
    expect(r.status).toBe(200);
    expect(r.headers["grpc-status"]).toBe("14");
    expect(r.headers["grpc-message"]).toBe("unavailable");
    expect(r.body.length).toBe(0);
    expect(r.trailers).toBeUndefined();
  });
});

describe("trailers through the router to an HTTP/2 upstream", () => {
  it("request trailers reach the upstream after the body; response trailers come back", async () => {
    const server = http2.createServer();
    const got: { body: string; trailers: Record<string, unknown> | undefined }[] = [];
    server.on("stream", (st) => {
      const chunks: Buffer[] = [];
      let trailers: Record<string, unknown> | undefined;
      st.on("trailers", (t) => (trailers = { ...t }));
      st.on("data", (c: Buffer) => chunks.push(c));
      st.on("end", () => {
        got.push({ body: Buffer.concat(chunks).toString(), trailers });
        st.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
        st.on("wantTrailers", () => st.sendTrailers({ "grpc-status": "0", "x-sum": "42" }));
        st.end("answer");
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as { port: number }).port;
    const p = await proxyTo(port, { edit: (snap) => Object.assign(snap.clusters.c!, { httpProtocolOptions: { explicitHttpConfig: { http2ProtocolOptions: {} } } }) });
    const s = h2(p.port);
    const r = await new Promise<H2Response>((resolve, reject) => {
      const st = s.request({ ":method": "POST", ":path": "/svc/Call", "content-type": "application/grpc", te: "trailers" }, { waitForTrailers: true });
      st.on("wantTrailers", () => st.sendTrailers({ "x-client-sum": "7" }));
      const chunks: Buffer[] = [];
      let head: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders | undefined;
      st.on("response", (h) => (head = h));
      st.on("trailers", (t) => (trailers = t));
      st.on("data", (c: Buffer) => chunks.push(c));
      st.on("end", () => resolve({ status: Number(head[":status"]), headers: head, body: Buffer.concat(chunks), trailers }));
      st.on("error", reject);
      st.end("question");
    });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe("answer");
    expect(r.trailers?.["grpc-status"]).toBe("0");
    expect(r.trailers?.["x-sum"]).toBe("42");
    expect(got).toHaveLength(1);
    expect(got[0]!.body).toBe("question");
    expect(got[0]!.trailers?.["x-client-sum"]).toBe("7");
  });
});

describe("trailers of a plain (not gRPC) HTTP/2 upstream response", () => {
  it("reach a client that did not send te: trailers, as Envoy forwards them on HTTP/2", async () => {
    const server = http2.createServer();
    server.on("stream", (st) => {
      st.respond({ ":status": 200, "content-type": "text/plain" }, { waitForTrailers: true });
      st.on("wantTrailers", () => st.sendTrailers({ "x-checksum": "abc" }));
      st.end("body");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as { port: number }).port;
    const p = await proxyTo(port, { edit: (snap) => Object.assign(snap.clusters.c!, { httpProtocolOptions: { explicitHttpConfig: { http2ProtocolOptions: {} } } }) });
    const r = await request(h2(p.port), { ":method": "GET", ":path": "/plain" }, "");
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe("body");
    expect(r.trailers?.["x-checksum"]).toBe("abc");
  });

  it("a response without trailers from an HTTP/2 upstream still ends cleanly (no trailers invented)", async () => {
    const server = http2.createServer();
    server.on("stream", (st) => {
      st.respond({ ":status": 200, "content-type": "text/plain" });
      st.end("plain");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as { port: number }).port;
    const p = await proxyTo(port, { edit: (snap) => Object.assign(snap.clusters.c!, { httpProtocolOptions: { explicitHttpConfig: { http2ProtocolOptions: {} } } }) });
    const r = await request(h2(p.port), { ":method": "GET", ":path": "/plain" }, "");
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe("plain");
    expect(r.trailers === undefined || Object.keys(r.trailers).length === 0).toBe(true);
  });
});

describe("a real gRPC client (@grpc/grpc-js)", () => {
  it("a unary call through the downstream codec: message, metadata and the OK status in trailers; a trailers-only error status", async () => {
    const seen = { trailers: [] as HeaderList[], bodies: [] as number[] };
    const registry = builtInHttpFilters().register({
      name: HTTP_ROUTER_FILTER,
      create(cb: FilterCallbacks) {
        const answer = (): void => {
          if (cb.requestHeaders.path === "/test.Echo/Fail") {
            cb.encodeHeaders({ status: 200, headers: HeaderList.from([["content-type", "application/grpc"], ["grpc-status", "14"], ["grpc-message", "no healthy upstream"]]) }, true);
            return;
          }
          const msg = Buffer.from("pong");
          const frame = Buffer.alloc(5 + msg.length);
          frame.writeUInt32BE(msg.length, 1);
          msg.copy(frame, 5);
          seen.bodies.push(Number(cb.requestHeaders.headers.get("x-md") === "v"));
          cb.encodeHeaders({ status: 200, headers: HeaderList.from([["content-type", "application/grpc"], ["x-answer-md", "yes"]]) }, false);
          cb.encodeData(frame, false);
          cb.encodeTrailers(HeaderList.from([["grpc-status", "0"], ["grpc-message", ""]]));
        };
        return {
          decodeHeaders: (_r, end) => (end && answer(), FilterStatus.StopIteration),
          decodeData: (_d, end) => (end && answer(), FilterStatus.StopIteration),
        };
      },
    });
    const p = await proxyTo(1, { runtime: { httpFilters: registry } });
    const grpc = await import("@grpc/grpc-js");
    const id = (b: Buffer): Buffer => b;
    const Client = grpc.makeGenericClientConstructor(
      {
        Ping: { path: "/test.Echo/Ping", requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
        Fail: { path: "/test.Echo/Fail", requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
      },
      "Echo",
    );
    const client = new Client(`127.0.0.1:${p.port}`, grpc.credentials.createInsecure()) as unknown as {
      Ping(req: Buffer, md: InstanceType<typeof grpc.Metadata>, cb: (err: { code: number; details: string } | null, res?: Buffer) => void): { on(ev: "metadata", f: (m: InstanceType<typeof grpc.Metadata>) => void): void };
      Fail(req: Buffer, cb: (err: { code: number; details: string } | null, res?: Buffer) => void): void;
      close(): void;
    };
    cleanups.push(() => client.close());
    const md = new grpc.Metadata();
    md.set("x-md", "v");
    let answerMd: string | undefined;
    const res = await new Promise<Buffer>((resolve, reject) => {
      const call = client.Ping(Buffer.from("ping"), md, (err, r) => (err ? reject(new Error(err.details)) : resolve(r!)));
      call.on("metadata", (m) => (answerMd = m.get("x-answer-md")[0] as string | undefined));
    });
    expect(res.toString()).toBe("pong");
    expect(answerMd).toBe("yes");
    expect(seen.bodies).toEqual([1]);
    const err = await new Promise<{ code: number; details: string }>((resolve) => client.Fail(Buffer.from("x"), (e) => resolve(e!)));
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toBe("no healthy upstream");
    expect(p.streams.map((si) => si.protocol)).toEqual(["HTTP/2", "HTTP/2"]);
  });
});

describe("flow control", () => {
  it("a 24 MiB upload and a 24 MiB download pass whole (checksums equal)", async () => {
    const down = randomBytes(24 * 1024 * 1024);
    const u = await echo((req, res) => {
      const h = createHash("sha256");
      let n = 0;
      req.on("data", (c: Buffer) => {
        h.update(c);
        n += c.length;
      });
      req.on("end", () => {
        res.writeHead(200, { "x-req-sha": h.digest("hex"), "x-req-len": String(n), "content-length": String(down.length) });
        res.end(down);
      });
    });
    const p = await proxyTo(u.port);
    const up = randomBytes(24 * 1024 * 1024);
    const r = await request(h2(p.port), { ":method": "PUT", ":path": "/big" }, up);
    expect(r.status).toBe(200);
    expect(r.headers["x-req-len"]).toBe(String(up.length));
    expect(r.headers["x-req-sha"]).toBe(sha(up));
    expect(r.body.length).toBe(down.length);
    expect(sha(r.body)).toBe(sha(down));
  });

  it("a client that stops reading stops the upstream (the proxy does not buffer the response); reading again gets it all", async () => {
    const total = 64 * 1024 * 1024;
    const chunk = randomBytes(64 * 1024);
    let written = 0;
    let blocked = false;
    const u = await echo((_req, res) => {
      res.writeHead(200, { "content-length": String(total) });
      const pump = (): void => {
        while (written < total) {
          written += chunk.length;
          if (!res.write(chunk)) {
            blocked = true;
            res.once("drain", () => {
              blocked = false;
              pump();
            });
            return;
          }
        }
        res.end();
      };
      pump();
    });
    const p = await proxyTo(u.port);
    const s = h2(p.port);
    const st = s.request({ ":path": "/stream" });
    st.on("error", () => {});
    let received = 0;
    const h = createHash("sha256");
    await new Promise<void>((r) => st.once("response", () => r()));
    st.pause();
    await waitFor(() => blocked, 10_000, "the upstream to be blocked by back-pressure");
    // Time passing (not a barrier): nothing more may pile up in the proxy while the client stalls.
    await sleep(300);
    const stalledAt = written;
    expect(stalledAt).toBeLessThan(24 * 1024 * 1024);
    const done = new Promise<void>((r) => st.on("end", () => r()));
    st.on("data", (c: Buffer) => {
      received += c.length;
      h.update(c);
    });
    st.resume();
    await within(done, 30_000, "the whole response");
    expect(received).toBe(total);
    const expected = createHash("sha256");
    for (let i = 0; i < total / chunk.length; i++) expected.update(chunk);
    expect(h.digest("hex")).toBe(expected.digest("hex"));
  });
});

describe("flow control with a slow upstream", () => {
  it("an upload the upstream does not read yet pauses its stream only: other streams on the connection are served meanwhile", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const u = await echo((req, res) => {
      if (req.url === "/quick") {
        res.end("quick");
        return;
      }
      // Reads nothing until released: the proxy must stop reading this stream, not buffer it all.
      req.pause();
      void gate.then(() => {
        const h = createHash("sha256");
        req.on("data", (c: Buffer) => h.update(c));
        req.on("end", () => res.end(h.digest("hex")));
        req.resume();
      });
    });
    const p = await proxyTo(u.port);
    const s = h2(p.port);
    const body = randomBytes(40 * 1024 * 1024);
    const upload = request(s, { ":method": "POST", ":path": "/upload" }, body);
    await waitFor(() => u.requests.length === 1, 5_000, "the upload to reach the upstream");
    const quick = await request(s, { ":path": "/quick" });
    expect(quick.status).toBe(200);
    expect(quick.body.toString()).toBe("quick");
    release();
    const r = await within(upload, 30_000, "the upload's answer");
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe(sha(body));
  });
});

describe("expect: 100-continue", () => {
  it("is answered with a 100 HEADERS frame before the body is sent, and not forwarded", async () => {
    const u = await echo();
    const p = await proxyTo(u.port);
    const s = h2(p.port);
    const st = s.request({ ":method": "POST", ":path": "/continue", expect: "100-continue" }, { endStream: false });
    st.on("error", () => {});
    await within(new Promise<void>((r) => st.once("continue", () => r())), 5_000, "the 100 Continue");
    const chunks: Buffer[] = [];
    st.on("data", (c: Buffer) => chunks.push(c));
    const ended = new Promise<void>((r) => st.on("end", () => r()));
    st.end("after-continue");
    await within(ended, 5_000, "the response");
    const seen = JSON.parse(Buffer.concat(chunks).toString()) as { headers: Record<string, string>; bodyLength: number };
    expect(seen.bodyLength).toBe(14);
    expect(seen.headers.expect).toBeUndefined();
  });
});

describe("resets", () => {
  it("a client RST_STREAM mid-response aborts the upstream request, is logged DR, and leaves the connection serving", async () => {
    let upstreamClosed: Promise<boolean> | undefined;
    const u = await echo((req, res) => {
      if (req.url === "/ok") {
        res.end("fine");
        return;
      }
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first");
      upstreamClosed = new Promise((r) => res.on("close", () => r(res.writableFinished)));
    });
    const p = await proxyTo(u.port);
    const s = h2(p.port);
    const st = s.request({ ":path": "/slow" });
    st.on("error", () => {});
    await new Promise<void>((r) => st.once("data", () => r()));
    st.close(http2.constants.NGHTTP2_CANCEL);
    await waitFor(() => upstreamClosed, 5_000, "the upstream request");
    expect(await within(upstreamClosed!, 5_000, "the upstream abort")).toBe(false);
    await waitFor(() => p.streams.length === 1, 5_000, "the stream record");
    const si = p.streams[0]!;
    expect(si.responseFlags).toContain("DR");
    expect(si.responseFlags).not.toContain("DC");
    expect(stat(p, "http2.rx_reset")).toBe(1);
    expect(stat(p, "downstream_rq_rx_reset")).toBe(1);
    const again = await request(s, { ":path": "/ok" });
    expect(again.status).toBe(200);
    expect(again.body.toString()).toBe("fine");
  });

  it("an upstream reset after the response started resets only that stream (RST_STREAM), as Envoy's codec: NO_ERROR", async () => {
    const u = await echo((req, res) => {
      if (req.url === "/ok") {
        res.end("fine");
        return;
      }
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("partial", () => setImmediate(() => res.socket?.destroy()));
    });
    const p = await proxyTo(u.port);
    const s = h2(p.port);
    const st = s.request({ ":path": "/dies" });
    st.on("error", () => {});
    st.resume();
    const code = await within(new Promise<number>((r) => st.on("close", () => r(st.rstCode ?? -1))), 5_000, "the stream reset");
    expect(code).toBe(http2.constants.NGHTTP2_NO_ERROR);
    expect(stat(p, "http2.tx_reset")).toBe(1);
    const again = await request(s, { ":path": "/ok" });
    expect(again.status).toBe(200);
  });

  it("a response HTTP/2 cannot carry (status 101 here) resets its stream, not the worker or the connection", async () => {
    const registry = builtInHttpFilters().register({
      name: HTTP_ROUTER_FILTER,
      create(cb: FilterCallbacks) {
        return {
          decodeHeaders: () => {
            if (cb.requestHeaders.path === "/bad") {
              cb.encodeHeaders({ status: 101, headers: HeaderList.from([["x-a", "1"]]) }, false);
              cb.encodeData(Buffer.from("x"), true);
            } else cb.sendResponse(200, "fine", "direct_response");
            return FilterStatus.StopIteration;
          },
        };
      },
    });
    const p = await proxyTo(1, { runtime: { httpFilters: registry } });
    const s = h2(p.port);
    const err = await request(s, { ":path": "/bad" }).then(
      () => undefined,
      (e: unknown) => e as { code?: string },
    );
    expect(err?.code).toBe("ERR_HTTP2_STREAM_ERROR");
    expect(stat(p, "http2.tx_reset")).toBe(1);
    const ok = await request(s, { ":path": "/good" });
    expect(ok.status).toBe(200);
    expect(ok.body.toString()).toBe("fine");
  });

  it("a response complete before the request ends is followed by RST_STREAM NO_ERROR (Envoy's doEndStream), after its last frame; the connection stays", async () => {
    const registry = builtInHttpFilters().register({
      name: HTTP_ROUTER_FILTER,
      create(cb: FilterCallbacks) {
        return {
          decodeHeaders: () => {
            cb.sendResponse(403, "denied early", "direct_response");
            return FilterStatus.StopIteration;
          },
        };
      },
    });
    const p = await proxyTo(1, { runtime: { httpFilters: registry } });
    const c = await RawHttp2Client.open(p.port);
    cleanups.push(() => c.close());
    // A POST whose body has begun and not ended.
    c.write(headersFrame(1, [[":method", "POST"], [":scheme", "http"], [":authority", "a"], [":path", "/upload"]], false));
    c.write(frame(FrameType.DATA, 0, 1, Buffer.alloc(1000, 1)));
    const rst = await c.waitFrame((f) => f.type === FrameType.RST_STREAM && f.streamId === 1);
    expect(rst.payload.readUInt32BE(0)).toBe(http2.constants.NGHTTP2_NO_ERROR);
    const mine = c.frames.filter((f) => f.streamId === 1);
    // HEADERS, then the body with END_STREAM, then the reset.
    expect(mine.map((f) => f.type)).toEqual([FrameType.HEADERS, FrameType.DATA, FrameType.RST_STREAM]);
    expect(mine[1]!.payload.toString()).toBe("denied early");
    expect(mine[1]!.flags & 1).toBe(1);
    expect(stat(p, "http2.tx_reset")).toBe(1);
    // A header block that cannot become a request (CONNECT) answered while its body is open: the same.
    c.write(headersFrame(3, [[":method", "CONNECT"], [":authority", "db:5432"]], false));
    const rst3 = await c.waitFrame((f) => f.type === FrameType.RST_STREAM && f.streamId === 3);
    expect(rst3.payload.readUInt32BE(0)).toBe(http2.constants.NGHTTP2_NO_ERROR);
    // More DATA on the reset stream is dropped; the connection keeps serving.
    c.write(frame(FrameType.DATA, 1, 1, Buffer.alloc(10)));
    c.write(headersFrame(5, [[":method", "GET"], [":scheme", "http"], [":authority", "a"], [":path", "/next"]], true));
    const d5 = await c.waitFrame((f) => f.type === FrameType.DATA && f.streamId === 5);
    expect(d5.payload.toString()).toBe("denied early");
    // A request that ended with its headers is not reset.
    expect(c.frames.some((f) => f.type === FrameType.RST_STREAM && f.streamId === 5)).toBe(false);
    expect(c.frames.some((f) => f.type === FrameType.GOAWAY)).toBe(false);
  });

  it("the connection closing under open streams ends them as downstream connection terminations (DC)", async () => {
    let seen = 0;
    const u = await echo((_req, res) => {
      seen++;
      res.writeHead(200);
      res.write("x");
    });
    const p = await proxyTo(u.port);
    const c = await RawHttp2Client.open(p.port);
    for (const id of [1, 3, 5]) c.write(headersFrame(id, [[":method", "GET"], [":scheme", "http"], [":authority", "a"], [":path", `/open/${id}`]], true));
    await waitFor(() => seen === 3, 5_000, "three upstream requests");
    c.close();
    await waitFor(() => p.streams.length === 3, 5_000, "three stream records");
    for (const si of p.streams) expect(si.responseFlags).toEqual(["DC"]);
    await waitFor(() => stat(p, "downstream_cx_http2_active") === 0, 5_000, "the connection gauge");
    expect(stat(p, "http2.rx_reset")).toBe(0);
  });
});

describe("GOAWAY", () => {
  it("a draining listener: GOAWAY(2^31-1) with the first response, in-flight streams complete, the client that honours it closes", async () => {
    const timers = new ManualTimers();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const u = await echo((req, res) => {
      req.resume();
      void held.then(() => res.end(`done ${req.url}`));
    });
    const p = await proxyTo(u.port, { timers });
    const s = h2(p.port);
    const goaways: number[] = [];
    s.on("goaway", (_code, last) => goaways.push(last));
    const closed = new Promise<void>((r) => s.on("close", () => r()));
    const inflight = [1, 2, 3].map((i) => request(s, { ":path": `/d${i}` }));
    await waitFor(() => u.requests.length === 3, 5_000, "three upstream requests");
    p.runtime.drainListeners(false);
    release();
    const all = await Promise.all(inflight);
    expect(all.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(all.map((r) => r.body.toString())).toEqual(["done /d1", "done /d2", "done /d3"]);
    await waitFor(() => goaways.length >= 1, 5_000, "the shutdown notice");
    expect(goaways[0]).toBe(2 ** 31 - 1);
    // A client that honours GOAWAY opens nothing more and closes once its streams are done.
    await within(closed, 5_000, "the client to close after the GOAWAY");
    expect(stat(p, "http2.goaway_sent")).toBeGreaterThanOrEqual(1);
    expect(p.streams.map((si) => si.responseCode)).toEqual([200, 200, 200]);
  });

  it("a removed listener drains its HTTP/2 connections at once: GOAWAY(2^31-1), a stream sent after it is still served, the final GOAWAY after the drain timeout names it, then close", async () => {
    const timers = new ManualTimers();
    const u = await echo();
    const p = await proxyTo(u.port, { timers });
    const c = await RawHttp2Client.open(p.port);
    cleanups.push(() => c.close());
    c.write(headersFrame(1, [[":method", "GET"], [":scheme", "http"], [":authority", "a"], [":path", "/before"]], true));
    await c.waitFrame((f) => f.type === FrameType.HEADERS && f.streamId === 1);
    const snap = await snapshotTo(u.port);
    snap.version = "test/2";
    snap.listeners = [];
    expect((await p.runtime.apply(snap)).ok).toBe(true);
    const notice = await c.waitFrame((f) => f.type === FrameType.GOAWAY);
    expect(notice.payload.readUInt32BE(0) & 0x7fffffff).toBe(2 ** 31 - 1);
    expect(notice.payload.readUInt32BE(4)).toBe(http2.constants.NGHTTP2_NO_ERROR);
    // A stream the client sent before it saw the notice is still served.
    c.write(headersFrame(3, [[":method", "GET"], [":scheme", "http"], [":authority", "a"], [":path", "/after-notice"]], true));
    const h3 = await c.waitFrame((f) => f.type === FrameType.HEADERS && f.streamId === 3);
    expect(h3.payload[0]).toBe(0x80 | 8);
    await waitFor(() => p.streams.length === 2, 5_000, "both stream records");
    timers.advance(5_000);
    const last = await c.waitFrame((f) => f.type === FrameType.GOAWAY && f !== notice);
    expect(last.payload.readUInt32BE(0) & 0x7fffffff).toBe(3);
    await waitFor(() => c.closed, 5_000, "the server to close the connection");
    expect(u.requests.map((r) => r.url)).toEqual(["/before", "/after-notice"]);
  });

  it("an idle connection on a listener that starts draining gets the GOAWAY(2^31-1) at once; a stream it still sends is served; the final GOAWAY follows", async () => {
    const timers = new ManualTimers();
    const u = await echo();
    const p = await proxyTo(u.port, { timers });
    const c = await RawHttp2Client.open(p.port);
    cleanups.push(() => c.close());
    await c.waitFrame((f) => f.type === FrameType.SETTINGS && (f.flags & 1) === 1);
    p.runtime.drainListeners(false);
    const notice = await c.waitFrame((f) => f.type === FrameType.GOAWAY);
    expect(notice.payload.readUInt32BE(0) & 0x7fffffff).toBe(2 ** 31 - 1);
    c.write(headersFrame(1, [[":method", "GET"], [":scheme", "http"], [":authority", "a"], [":path", "/raced"]], true));
    const h1 = await c.waitFrame((f) => f.type === FrameType.HEADERS && f.streamId === 1);
    expect(h1.payload[0]).toBe(0x80 | 8);
    await waitFor(() => p.streams.length === 1, 5_000, "the stream record");
    timers.advance(5_000);
    const last = await c.waitFrame((f) => f.type === FrameType.GOAWAY && f !== notice);
    expect(last.payload.readUInt32BE(0) & 0x7fffffff).toBe(1);
    await waitFor(() => c.closed, 5_000, "the server to close the connection");
  });

  it("the idle timeout closes a connection without streams with a GOAWAY", async () => {
    const u = await echo();
    const p = await proxyTo(u.port, { limits: { idleTimeoutMs: 1_000 } });
    const s = h2(p.port);
    const goaways: number[] = [];
    s.on("goaway", (_code, last) => goaways.push(last));
    const closed = new Promise<void>((r) => s.on("close", () => r()));
    expect((await request(s, { ":path": "/one" })).status).toBe(200);
    p.runtime.sweep(10_000_000);
    await within(closed, 5_000, "the idle connection to close");
    expect(goaways[0]).toBe(1);
  });

  it("a client GOAWAY: open streams finish, then the connection closes", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const u = await echo((req, res) => {
      req.resume();
      void held.then(() => res.end("late"));
    });
    const p = await proxyTo(u.port);
    const s = h2(p.port);
    const closed = new Promise<void>((r) => s.on("close", () => r()));
    const pending = request(s, { ":path": "/late" });
    await waitFor(() => u.requests.length === 1, 5_000, "the upstream request");
    s.close();
    release();
    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe("late");
    await within(closed, 5_000, "the connection to close");
    await waitFor(() => stat(p, "downstream_cx_http2_active") === 0, 5_000, "the connection gauge");
  });
});

describe("limits and malformed requests", () => {
  it("a header list over max_request_headers_kb resets the stream; the connection stays", async () => {
    const u = await echo();
    const p = await proxyTo(u.port, { limits: { maxRequestHeadersKb: 2 } });
    const s = h2(p.port);
    const err = await request(s, { ":path": "/big", "x-big": "a".repeat(4096) }).then(
      () => undefined,
      (e: unknown) => e as { code?: string },
    );
    expect(err?.code).toBe("ERR_HTTP2_STREAM_ERROR");
    expect(u.requests).toHaveLength(0);
    expect(stat(p, "http2.header_overflow")).toBe(1);
    expect((await request(s, { ":path": "/small" })).status).toBe(200);
  });

  it("raw frames: no :path, a connection-specific header or no authority end the connection (GOAWAY PROTOCOL_ERROR, Envoy's default); CONNECT is a 404 (no route matches it, as in Envoy)", async () => {
    const u = await echo();
    const p = await proxyTo(u.port);
    for (const bad of [
      [[":method", "GET"], [":scheme", "http"], [":authority", "a"]],
      [[":method", "GET"], [":scheme", "http"], [":authority", "a"], [":path", "/"], ["connection", "keep-alive"]],
      [[":method", "GET"], [":scheme", "http"], [":path", "/no-authority"]],
    ] as Array<Array<[string, string]>>) {
      const c = await RawHttp2Client.open(p.port);
      cleanups.push(() => c.close());
      c.write(headersFrame(1, bad, true));
      const g = await c.waitFrame((f) => f.type === FrameType.GOAWAY);
      expect(g.payload.readUInt32BE(4)).toBe(http2.constants.NGHTTP2_PROTOCOL_ERROR);
      await waitFor(() => c.closed, 5_000, "the connection to close");
    }
    const c = await RawHttp2Client.open(p.port);
    cleanups.push(() => c.close());
    c.write(headersFrame(7, [[":method", "CONNECT"], [":authority", "db:5432"]], true));
    const h7 = await c.waitFrame((f) => f.type === FrameType.HEADERS && f.streamId === 7);
    // HPACK static table index 13 is `:status: 404`.
    expect(h7.payload[0]).toBe(0x80 | 13);
    c.write(headersFrame(9, [[":method", "GET"], [":scheme", "http"], [":authority", "a"], [":path", "/fine"]], true));
    const h9 = await c.waitFrame((f) => f.type === FrameType.HEADERS && f.streamId === 9);
    // Index 8: `:status: 200`.
    expect(h9.payload[0]).toBe(0x80 | 8);
    expect(u.requests.map((r) => r.url)).toEqual(["/fine"]);
    const connect = p.streams.find((si) => si.responseCode === 404)!;
    expect(connect.method).toBe("CONNECT");
    expect(connect.responseFlags).toEqual(["NR"]);
    expect(connect.responseCodeDetails).toBe("route_not_found");
  });

  it("with override_stream_error_on_invalid_http_message a malformed block resets its stream only (PROTOCOL_ERROR); the connection keeps serving", async () => {
    const u = await echo();
    const p = await proxyTo(u.port, { hcm: { http2ProtocolOptions: { streamErrorOnInvalidHttpMessage: true } } });
    const c = await RawHttp2Client.open(p.port);
    cleanups.push(() => c.close());
    const rstCode = async (id: number): Promise<number> => (await c.waitFrame((f) => f.type === FrameType.RST_STREAM && f.streamId === id)).payload.readUInt32BE(0);
    c.write(headersFrame(1, [[":method", "GET"], [":scheme", "http"], [":authority", "a"]], true));
    expect(await rstCode(1)).toBe(http2.constants.NGHTTP2_PROTOCOL_ERROR);
    c.write(headersFrame(3, [[":method", "GET"], [":scheme", "http"], [":authority", "a"], [":path", "/"], ["connection", "keep-alive"]], true));
    expect(await rstCode(3)).toBe(http2.constants.NGHTTP2_PROTOCOL_ERROR);
    c.write(headersFrame(5, [[":method", "GET"], [":scheme", "http"], [":authority", "a"], [":path", "/fine"]], true));
    const h5 = await c.waitFrame((f) => f.type === FrameType.HEADERS && f.streamId === 5);
    expect(h5.payload[0]).toBe(0x80 | 8);
    expect(u.requests.map((r) => r.url)).toEqual(["/fine"]);
  });

  it("a stream over SETTINGS_MAX_CONCURRENT_STREAMS before the client ACKed them is refused (REFUSED_STREAM); after, it is a connection error (nghttp2, as in Envoy)", async () => {
    const u = await echo((req) => req.resume());
    const p = await proxyTo(u.port, { hcm: { http2ProtocolOptions: { maxConcurrentStreams: 1 } } });
    const c = await RawHttp2Client.open(p.port, false);
    cleanups.push(() => c.close());
    c.write(headersFrame(1, [[":method", "POST"], [":scheme", "http"], [":authority", "a"], [":path", "/one"]], false));
    c.write(headersFrame(3, [[":method", "POST"], [":scheme", "http"], [":authority", "a"], [":path", "/two"]], false));
    const rst = await c.waitFrame((f) => f.type === FrameType.RST_STREAM && f.streamId === 3);
    expect(rst.payload.readUInt32BE(0)).toBe(http2.constants.NGHTTP2_REFUSED_STREAM);
    await waitFor(() => u.requests.length === 1, 5_000, "the first stream upstream");
    expect(u.requests[0]!.url).toBe("/one");
    const acked = await RawHttp2Client.open(p.port);
    cleanups.push(() => acked.close());
    await acked.waitFrame((f) => f.type === FrameType.SETTINGS && (f.flags & 1) === 1);
    acked.write(headersFrame(1, [[":method", "POST"], [":scheme", "http"], [":authority", "a"], [":path", "/three"]], false));
    await waitFor(() => u.requests.length === 2, 5_000, "the acked connection's first stream upstream");
    acked.write(headersFrame(3, [[":method", "POST"], [":scheme", "http"], [":authority", "a"], [":path", "/four"]], false));
    const goaway = await acked.waitFrame((f) => f.type === FrameType.GOAWAY);
    expect(goaway.payload.readUInt32BE(4)).toBe(http2.constants.NGHTTP2_PROTOCOL_ERROR);
  });
});

describe("TLS", () => {
  let dir: string;
  let root: Ca;
  let server: Leaf;
  beforeAll(() => {
    dir = pkiDir();
    root = makeRootCa(dir, "Mesh Root");
    server = issueLeaf(root, { spiffe: "spiffe://cluster.local/ns/shop/sa/reviews", dns: ["localhost"] });
  });

  it("ALPN h2 (the context's [h2, http/1.1]) selects the HTTP/2 codec; http/1.1 alone stays HTTP/1", async () => {
    const u = await echo();
    const p = await proxyTo(u.port, {
      edit: (snap) => {
        snap.listeners[0]!.filterChains[0]!.transportSocket = {
          name: TLS_TRANSPORT_SOCKET,
          typedConfig: { commonTlsContext: { tlsCertificateSdsSecretConfigs: [{ name: WORKLOAD_SECRET }], alpnProtocols: ["h2", "http/1.1"] }, requireClientCertificate: false },
        };
        snap.listeners[0]!.listenerFilters = [{ name: "envoy.filters.listener.tls_inspector" }];
        snap.secrets = {
          [WORKLOAD_SECRET]: { name: WORKLOAD_SECRET, tlsCertificate: { certificateChain: server.chainPem, privateKey: server.keyPem } },
          [ROOT_CA_SECRET]: { name: ROOT_CA_SECRET, validationContext: { trustedCa: root.rootPem } },
        };
      },
    });
    const s = h2(p.port, `https://localhost:${p.port}`, { ca: root.rootPem });
    const r = await request(s, { ":path": "/tls" });
    expect(r.status).toBe(200);
    expect((s.socket as unknown as { alpnProtocol: string }).alpnProtocol).toBe("h2");
    const si = p.streams.at(-1)!;
    expect(si.protocol).toBe("HTTP/2");
    expect(si.scheme).toBe("https");
    expect(si.downstreamTls?.alpn).toBe("h2");
  });
});
