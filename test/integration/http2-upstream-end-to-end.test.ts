// HTTP/2 on both sides (the downstream codec from http2-server-connection.ts with this pool):
// use-downstream-protocol sends an HTTP/2 request upstream as HTTP/2 and an HTTP/1.1 request as
// HTTP/1.1 to one endpoint; @grpc/grpc-js client → proxy → @grpc/grpc-js server over an
// explicit-HTTP/2 cluster (unary, client streaming with its END_STREAM, server streaming,
// an error status as a trailers-only answer), all multiplexed on one upstream connection.

import { connect as h2connect, createServer as createH2Server, type ClientHttp2Session, type ServerHttp2Session } from "node:http2";
import { createServer as createH1Server, request as httpRequest } from "node:http";
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import type { Cluster } from "../../src/config/model/types.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function proxyFor(c: Cluster): Promise<TestProxy> {
  const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: c.name } })] }], [c]);
  const p = await startProxy(snap);
  closers.push(() => p.close());
  return p;
}

/** One port serving HTTP/2 (prior knowledge) and HTTP/1.1, told apart by the first bytes. */
async function dualUpstream(): Promise<{ port: number; seen: string[]; h2Sessions: ServerHttp2Session[] }> {
  const seen: string[] = [];
  const h2Sessions: ServerHttp2Session[] = [];
  const h2 = createH2Server();
  h2.on("session", (s: ServerHttp2Session) => h2Sessions.push(s));
  h2.on("stream", (stream, headers) => {
    seen.push(`h2 ${String(headers[":path"])}`);
    stream.respond({ ":status": 200, "x-proto": "h2" });
    stream.end("h2");
  });
  const h1 = createH1Server((req, res) => {
    seen.push(`h1 ${req.url}`);
    res.writeHead(200, { "x-proto": "h1", "content-length": "2" });
    res.end("h1");
  });
  await new Promise<void>((r) => h2.listen(0, "127.0.0.1", r));
  await new Promise<void>((r) => h1.listen(0, "127.0.0.1", r));
  const sockets: Socket[] = [];
  // The first bytes pick the server; the connection is then relayed to it byte for byte.
  const net = createNetServer((sock) => {
    sockets.push(sock);
    sock.on("error", () => {});
    sock.once("data", (first: Buffer) => {
      const target = first.subarray(0, 3).toString() === "PRI" ? h2 : h1;
      const inner = connect((target.address() as AddressInfo).port, "127.0.0.1");
      sockets.push(inner);
      inner.on("error", () => sock.destroy());
      inner.write(first);
      sock.pipe(inner);
      inner.pipe(sock);
    });
  });
  await new Promise<void>((r) => net.listen(0, "127.0.0.1", r));
  closers.push(
    () =>
      new Promise<void>((r) => {
        for (const s of h2Sessions) s.destroy();
        for (const s of sockets) s.destroy();
        h1.closeAllConnections();
        h1.close();
        h2.close();
        net.close(() => r());
      }),
  );
  return { port: (net.address() as AddressInfo).port, seen, h2Sessions };
}

function h2get(port: number, path: string): Promise<{ status: number; proto: string; body: string; session: ClientHttp2Session }> {
  const session = h2connect(`http://127.0.0.1:${port}`);
  closers.push(() => void session.destroy());
  return new Promise((resolve, reject) => {
    const req = session.request({ ":path": path, ":authority": "svc" });
    let body = "";
    let status = 0;
    let proto = "";
    req.on("response", (h) => {
      status = Number(h[":status"]);
      proto = String(h["x-proto"]);
    });
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => resolve({ status, proto, body, session }));
    req.on("error", reject);
    req.end();
  });
}

function h1get(port: number, path: string): Promise<{ status: number; proto: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, agent: false, headers: { host: "svc" } }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode!, proto: String(res.headers["x-proto"]) }));
    });
    req.on("error", reject);
    req.end();
  });
}

const identity = (b: Buffer): Buffer => b;
const methods = {
  Unary: { path: "/t.S/Unary", requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
  Sum: { path: "/t.S/Sum", requestStream: true, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
  Count: { path: "/t.S/Count", requestStream: false, responseStream: true, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
  Fail: { path: "/t.S/Fail", requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
} as const;

async function grpcUpstream(): Promise<{ port: number; connections: () => number }> {
  const server = new grpc.Server();
  let peers = new Set<string>();
  server.addService(methods, {
    Unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      peers.add(call.getPeer());
      cb(null, Buffer.concat([Buffer.from("hello "), call.request]));
    },
    Sum: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      peers.add(call.getPeer());
      let n = 0;
      call.on("data", (b: Buffer) => (n += b.length));
      call.on("end", () => cb(null, Buffer.from(String(n))));
    },
    Count: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      peers.add(call.getPeer());
      for (let i = 0; i < 5; i++) call.write(Buffer.from(String(i)));
      call.end();
    },
    Fail: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb({ code: grpc.status.NOT_FOUND, details: "no such thing" }),
  });
  const port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  closers.push(() => void server.forceShutdown());
  return { port, connections: () => peers.size };
}

describe("HTTP/2 downstream and upstream", () => {
  it("use-downstream-protocol: HTTP/2 request → HTTP/2 upstream, HTTP/1.1 request → HTTP/1.1 upstream, one endpoint", async () => {
    const up = await dualUpstream();
    const p = await proxyFor(cluster("c", [up.port], { httpProtocolOptions: { useDownstreamProtocolConfig: { httpProtocolOptions: {}, http2ProtocolOptions: {} } } }));
    const a = await h2get(p.port, "/via-h2");
    expect(a).toMatchObject({ status: 200, proto: "h2", body: "h2" });
    const b = await h1get(p.port, "/via-h1");
    expect(b).toMatchObject({ status: 200, proto: "h1" });
    expect(up.seen).toEqual(["h2 /via-h2", "h1 /via-h1"]);
  });

  it("gRPC through the proxy to @grpc/grpc-js: unary, client streaming, server streaming and an error status, multiplexed on one upstream connection", async () => {
    const up = await grpcUpstream();
    const p = await proxyFor(cluster("grpc", [up.port], { httpProtocolOptions: { explicitHttpConfig: { http2ProtocolOptions: {} } } }));
    const Client = grpc.makeGenericClientConstructor(methods, "S");
    const client = new Client(`127.0.0.1:${p.port}`, grpc.credentials.createInsecure());
    closers.push(() => client.close());
    const unary = await new Promise<Buffer>((res, rej) => client.Unary(Buffer.from("mesh"), (e: grpc.ServiceError | null, r: Buffer) => (e ? rej(e) : res(r))));
    expect(unary.toString()).toBe("hello mesh");
    const sum = await new Promise<Buffer>((res, rej) => {
      const call = client.Sum((e: grpc.ServiceError | null, r: Buffer) => (e ? rej(e) : res(r)));
      for (let i = 0; i < 10; i++) call.write(Buffer.alloc(1000));
      call.end();
    });
    expect(sum.toString()).toBe("10000");
    const items = await new Promise<string[]>((res, rej) => {
      const out: string[] = [];
      const call = client.Count(Buffer.from("x"));
      call.on("data", (b: Buffer) => out.push(b.toString()));
      call.on("end", () => res(out));
      call.on("error", rej);
    });
    expect(items).toEqual(["0", "1", "2", "3", "4"]);
    const err = await new Promise<grpc.ServiceError>((res) => client.Fail(Buffer.from("x"), (e: grpc.ServiceError | null) => res(e!)));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toBe("no such thing");
    expect(up.connections()).toBe(1);
  });
});
