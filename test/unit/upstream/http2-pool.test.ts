// Http2Pool and its stream codec driven directly, against real servers on loopback: a
// @grpc/grpc-js server (unary call: headers, data, trailers; unknown method: a trailers-only
// answer), request trailers reaching a node:http2 server, response flow control (readDisable holds
// the upstream at its window), a large upload with back-pressure, and the local reset (RST_STREAM
// NO_ERROR, as Envoy) that leaves the connection usable.

import { createHash, randomBytes } from "node:crypto";
import { constants, type ServerHttp2Stream } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { HeaderList as Headers } from "../../../src/http/header-list.js";
import { startH2Upstream, type H2Upstream } from "../../helpers/h2-upstreams.js";
import { waitFor } from "../../helpers/wait.js";
import { closeAll, closers, open, pool, Recorder, request, stat } from "../../helpers/h2-pool-harness.js";

afterEach(closeAll);

function grpcFrame(payload: Buffer): Buffer {
  const f = Buffer.alloc(5 + payload.length);
  f.writeUInt32BE(payload.length, 1);
  payload.copy(f, 5);
  return f;
}

async function grpcServer(): Promise<number> {
  const server = new grpc.Server();
  const identity = (b: Buffer): Buffer => b;
  server.addService(
    { Echo: { path: "/test.Echo/Echo", requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
    { Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.concat([Buffer.from("echo:"), call.request])) },
  );
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  closers.push(() => new Promise<void>((r) => server.tryShutdown(() => r())));
  return port;
}

const GRPC_HEADERS: Array<[string, string]> = [
  ["content-type", "application/grpc"],
  ["te", "trailers"],
];

describe("Http2Pool streams", () => {
  it("a gRPC unary call to @grpc/grpc-js: headers, the echoed message, then trailers with grpc-status 0", async () => {
    const p = pool(await grpcServer());
    const rec = new Recorder();
    const enc = await open(p, rec);
    enc.encodeHeaders(request("/test.Echo/Echo", GRPC_HEADERS), false);
    enc.encodeData(grpcFrame(Buffer.from("hi")), true);
    await rec.done;
    expect(rec.reset).toBeUndefined();
    expect(rec.headers!.status).toBe(200);
    expect(rec.headers!.headers.get("content-type")).toBe("application/grpc+proto");
    expect(rec.body).toEqual(grpcFrame(Buffer.from("echo:hi")));
    expect(rec.trailers!.get("grpc-status")).toBe("0");
    expect(stat("http2.trailers")).toBe(1);
    expect(stat("upstream_cx_http2_total")).toBe(1);
    await waitFor(() => stat("http2.streams_active") === 0, 5_000, "stream slot released");
  });

  it("an unknown gRPC method is a trailers-only answer: headers with endStream carrying grpc-status 12", async () => {
    const p = pool(await grpcServer());
    const rec = new Recorder();
    const enc = await open(p, rec);
    enc.encodeHeaders(request("/test.Echo/Nope", GRPC_HEADERS), false);
    enc.encodeData(grpcFrame(Buffer.from("x")), true);
    await rec.done;
    expect(rec.headersEnd).toBe(true);
    expect(rec.headers!.headers.get("grpc-status")).toBe("12");
    expect(rec.trailers).toBeUndefined();
  });

  it("request trailers reach the upstream after the body", async () => {
    let seen: Record<string, unknown> | undefined;
    const up = await startH2Upstream(undefined, {
      onHeaders: (stream) => {
        stream.on("trailers", (t: Record<string, unknown>) => (seen = t));
        stream.resume();
        stream.on("end", () => {
          stream.respond({ ":status": 200 }, { endStream: true });
        });
      },
    });
    closers.push(() => up.close());
    const p = pool(up.port);
    const rec = new Recorder();
    const enc = await open(p, rec);
    enc.encodeHeaders(request("/up", GRPC_HEADERS), false);
    enc.encodeData(Buffer.from("body"), false);
    enc.encodeTrailers(Headers.from([["x-checksum", "abc"]]));
    await rec.done;
    expect(rec.headers!.status).toBe(200);
    expect(seen?.["x-checksum"]).toBe("abc");
  });

  it("readDisable holds the upstream at the stream window; resuming delivers the whole body intact", async () => {
    const body = randomBytes(4 * 1024 * 1024);
    let accepted = 0;
    let blocked = false;
    let server: ServerHttp2Stream | undefined;
    const up = await startH2Upstream(undefined, {
      onHeaders: (stream) => {
        server = stream;
        stream.respond({ ":status": 200 });
        const chunk = 16 * 1024;
        const pump = (): void => {
          while (accepted < body.length) {
            const n = Math.min(chunk, body.length - accepted);
            const ok = stream.write(body.subarray(accepted, accepted + n));
            accepted += n;
            if (!ok) {
              blocked = true;
              stream.once("drain", () => {
                blocked = false;
                pump();
              });
              return;
            }
          }
          stream.end();
        };
        pump();
      },
    });
    closers.push(() => up.close());
    // Envoy's windows are 256 MiB; a small one makes the hold visible.
    const p = pool(up.port, { http2: { initialStreamWindowSize: 65_535, initialConnectionWindowSize: 65_535 } });
    const rec = new Recorder();
    let paused = false;
    const enc = await open(p, {
      ...rec,
      onUpstreamHeaders: (h, e) => rec.onUpstreamHeaders(h, e),
      onUpstreamData: (d, e) => {
        rec.onUpstreamData(d, e);
        if (!paused) {
          paused = true;
          enc.readDisable(true);
        }
      },
      onUpstreamTrailers: (t) => rec.onUpstreamTrailers(t),
      onUpstreamReset: (r) => rec.onUpstreamReset(r),
      onUpstreamWritable: () => {},
    });
    enc.encodeHeaders(request("/big", [], "GET"), true);
    await waitFor(() => paused && blocked, 5_000, "the upstream blocked by flow control");
    // Two PING round trips: the proxy side has read everything sent to it, and still no window.
    const ping = (): Promise<void> => new Promise((r) => server!.session!.ping(() => r()));
    await ping();
    await ping();
    expect(blocked).toBe(true);
    expect(accepted).toBeLessThan(1024 * 1024);
    enc.readDisable(false);
    await rec.done;
    expect(rec.reset).toBeUndefined();
    expect(createHash("sha256").update(rec.body).digest("hex")).toBe(createHash("sha256").update(body).digest("hex"));
  });

  it("a large upload honours back-pressure (encodeData false, then onUpstreamWritable) and arrives intact", async () => {
    const up: H2Upstream = await startH2Upstream();
    closers.push(() => up.close());
    const p = pool(up.port, { http2: { initialStreamWindowSize: 65_535 } });
    const body = randomBytes(8 * 1024 * 1024);
    const rec = new Recorder();
    const enc = await open(p, rec);
    enc.encodeHeaders(request("/upload"), false);
    let off = 0;
    let refusals = 0;
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        while (off < body.length) {
          const n = Math.min(64 * 1024, body.length - off);
          const end = off + n === body.length;
          const ok = enc.encodeData(body.subarray(off, off + n), end);
          off += n;
          if (end) return resolve();
          if (!ok) {
            refusals++;
            const before = rec.writable;
            void waitFor(() => rec.writable > before, 5_000, "writable").then(pump);
            return;
          }
        }
      };
      pump();
    });
    await rec.done;
    expect(refusals).toBeGreaterThan(0);
    const seen = JSON.parse(rec.body.toString()) as { bodyLength: number; sha256: string };
    expect(seen.bodyLength).toBe(body.length);
    expect(seen.sha256).toBe(createHash("sha256").update(body).digest("hex"));
  });

  it("resetStream sends RST_STREAM NO_ERROR (Envoy's local reset) and the connection serves the next stream", async () => {
    let cancelled: number | undefined;
    let aborted = false;
    const up = await startH2Upstream(undefined, {
      onHeaders: (stream, headers) => {
        if (headers[":path"] === "/hang") {
          stream.on("aborted", () => (aborted = true));
          stream.on("close", () => (cancelled = stream.rstCode));
          return;
        }
        stream.respond({ ":status": 204 }, { endStream: true });
      },
    });
    closers.push(() => up.close());
    const p = pool(up.port);
    const first = new Recorder();
    const enc = await open(p, first);
    enc.encodeHeaders(request("/hang", [], "GET"), true);
    await waitFor(() => up.requests.length === 1, 5_000, "stream at the upstream");
    enc.resetStream();
    await waitFor(() => cancelled !== undefined, 5_000, "RST_STREAM at the upstream");
    expect(cancelled).toBe(constants.NGHTTP2_NO_ERROR);
    // A reset all the same: the server's stream was aborted, not ended.
    expect(aborted).toBe(true);
    expect(stat("http2.tx_reset")).toBe(1);
    const second = new Recorder();
    (await open(p, second)).encodeHeaders(request("/ok", [], "GET"), true);
    await second.done;
    expect(second.headers!.status).toBe(204);
    expect(up.sessions).toHaveLength(1);
    // Closing the pool closes its idle connection with GOAWAY.
    p.close();
    await waitFor(() => stat("upstream_cx_destroy_local") === 1, 5_000, "connection closed by the pool");
    expect(stat("http2.goaway_sent")).toBe(1);
  });
});
