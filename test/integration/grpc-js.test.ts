// gRPC through the proxy with real peers on both sides: @grpc/grpc-js clients (h2c, prior
// knowledge) → Outrigger → @grpc/grpc-js servers over its HTTP/2 pool. Calls of every shape with
// metadata and trailers both ways; every local reply seen by the client as its gRPC status and
// Envoy's text; deadlines and cancellation reset the upstream stream (the server sees it cancelled);
// retries on a trailers-only UNAVAILABLE; fault aborts.

import { connect as h2connect, constants as h2c, type IncomingHttpHeaders } from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { buildRbacConfigs } from "../../src/config/istio/authorization-policy.js";
import { hcmOfListener } from "../helpers/model.js";
import { HTTP_FAULT_FILTER, HTTP_RBAC_FILTER, type Cluster, type Route, type RouteAction, type RetryPolicy } from "../../src/config/model/types.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { grpc, grpcClient, method, startGrpcServer, unary, type GrpcTestServer } from "../helpers/grpc-peers.js";
import { freePort } from "../helpers/upstreams.js";
import { waitFor } from "../helpers/wait.js";

let proxy: TestProxy | undefined;
const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await proxy?.close();
  proxy = undefined;
});

const SERVICE: grpc.ServiceDefinition = {
  Call: method("Call", "unary"),
  Stall: method("Stall", "unary"),
  Flaky: method("Flaky", "unary"),
  List: method("List", "serverStream"),
  Sum: method("Sum", "clientStream"),
  Chat: method("Chat", "bidi"),
};

interface Backend {
  srv: GrpcTestServer;
  /** Calls that ended cancelled on the server (the proxy reset their stream). */
  cancelled: string[];
  stalled: number;
  flakyCalls: number;
}

async function backend(): Promise<Backend> {
  const b: Backend = { srv: undefined as never, cancelled: [], stalled: 0, flakyCalls: 0 };
  b.srv = await startGrpcServer(SERVICE, {
    Call: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const hdr = new grpc.Metadata();
      hdr.set("x-server-header", String(call.metadata.get("x-client")[0] ?? ""));
      call.sendMetadata(hdr);
      const trailer = new grpc.Metadata();
      trailer.set("x-server-trailer", "t1");
      trailer.set("x-bin-bin", Buffer.from([0, 1, 2, 255]));
      cb(null, Buffer.concat([Buffer.from("echo:"), call.request]), trailer);
    },
    Stall: (call: grpc.ServerUnaryCall<Buffer, Buffer>) => {
      b.stalled++;
      call.on("cancelled", () => b.cancelled.push("Stall"));
    },
    Flaky: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      b.flakyCalls++;
      if (b.flakyCalls === 1) cb({ code: grpc.status.UNAVAILABLE, details: "warming up" });
      else cb(null, Buffer.from("ok"));
    },
    List: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const n = call.request.readUInt8(0);
      for (let i = 0; i < n; i++) call.write(Buffer.from([i]));
      if (call.metadata.get("x-fail-after")[0] === "1") {
        call.emit("error", { code: grpc.status.UNAVAILABLE, details: "stream broke" });
        return;
      }
      call.end();
    },
    Sum: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      let sum = 0;
      call.on("data", (d: Buffer) => (sum += d.readUInt32BE(0)));
      call.on("end", () => {
        const out = Buffer.alloc(4);
        out.writeUInt32BE(sum);
        cb(null, out);
      });
    },
    Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on("data", (d: Buffer) => call.write(Buffer.concat([Buffer.from("re:"), d])));
      call.on("end", () => call.end());
    },
  });
  closers.push(() => b.srv.close());
  return b;
}

const H2: Partial<Cluster> = { httpProtocolOptions: { explicitHttpConfig: { http2ProtocolOptions: {} } } };

async function proxyTo(port: number, o: { action?: Partial<RouteAction>; extra?: Partial<Route>; clusterExtra?: Partial<Cluster> } = {}): Promise<TestProxy> {
  const snap = await snapshotWith(
    [{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "grpc", ...o.action }, ...o.extra }, { prefix: "/pkg.Svc/" })] }],
    [cluster("grpc", [port], { ...H2, ...o.clusterExtra })],
  );
  proxy = await startProxy(snap);
  return proxy;
}

function client(p: TestProxy): grpc.Client {
  const c = grpcClient(p.port);
  closers.push(() => c.close());
  return c;
}

function retries(retryOn: string[]): RetryPolicy {
  return { retryOn, numRetries: 2, retriableStatusCodes: [], retriableHeaders: [], retryHostPredicatePreviousHosts: false, hostSelectionRetryMaxAttempts: 0, backoffBaseMs: 1, backoffMaxMs: 2 };
}

describe("gRPC calls through the proxy (grpc-js both sides)", () => {
  it("unary: message, metadata both ways, trailers (text and binary) back, grpc-status in StreamInfo", async () => {
    const b = await backend();
    const p = await proxyTo(b.srv.port);
    const md = new grpc.Metadata();
    md.set("x-client", "c1");
    const r = await unary(client(p), "Call", Buffer.from("hi"), { metadata: md });
    expect(r.error).toBeNull();
    expect(r.value!.toString()).toBe("echo:hi");
    expect(r.headers!.get("x-server-header")).toEqual(["c1"]);
    expect(r.status!.code).toBe(grpc.status.OK);
    expect(r.status!.metadata.get("x-server-trailer")).toEqual(["t1"]);
    expect(r.status!.metadata.get("x-bin-bin")).toEqual([Buffer.from([0, 1, 2, 255])]);
    await waitFor(() => p.streams.length === 1);
    const s = p.streams[0]!;
    expect(s.protocol).toBe("HTTP/2");
    expect(s.responseCode).toBe(200);
    expect(s.responseTrailers?.get("grpc-status")).toBe("0");
    expect(s.grpcStatus).toBe(0);
  });

  it("server streaming, client streaming and bidi", async () => {
    const b = await backend();
    const p = await proxyTo(b.srv.port);
    const c = client(p);
    const list = method("List", "serverStream");
    const got: number[] = [];
    await new Promise<void>((resolve, reject) => {
      const s = c.makeServerStreamRequest(list.path, list.requestSerialize, list.responseDeserialize, Buffer.from([50]));
      s.on("data", (d: Buffer) => got.push(d[0]!));
      s.on("error", reject);
      s.on("end", () => resolve());
    });
    expect(got).toEqual([...Array(50).keys()]);

    const sum = method("Sum", "clientStream");
    const total = await new Promise<number>((resolve, reject) => {
      const s = c.makeClientStreamRequest(sum.path, sum.requestSerialize, sum.responseDeserialize, (err, v) => (err ? reject(err) : resolve(v!.readUInt32BE(0))));
      for (let i = 1; i <= 100; i++) {
        const x = Buffer.alloc(4);
        x.writeUInt32BE(i);
        s.write(x);
      }
      s.end();
    });
    expect(total).toBe(5050);

    const chat = method("Chat", "bidi");
    const replies: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const s = c.makeBidiStreamRequest(chat.path, chat.requestSerialize, chat.responseDeserialize);
      s.on("data", (d: Buffer) => {
        replies.push(d.toString());
        if (replies.length < 3) s.write(Buffer.from(`m${replies.length}`));
        else s.end();
      });
      s.on("error", reject);
      s.on("end", () => resolve());
      s.write(Buffer.from("m0"));
    });
    expect(replies).toEqual(["re:m0", "re:m1", "re:m2"]);
  });

  it("a status in trailers after messages passes as is (and is not retried)", async () => {
    const b = await backend();
    const p = await proxyTo(b.srv.port, { action: { retryPolicy: retries(["unavailable"]) } });
    const list = method("List", "serverStream");
    const md = new grpc.Metadata();
    md.set("x-fail-after", "1");
    const got: number[] = [];
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      const s = client(p).makeServerStreamRequest(list.path, list.requestSerialize, list.responseDeserialize, Buffer.from([2]), md);
      s.on("data", (d: Buffer) => got.push(d[0]!));
      s.on("error", (e: grpc.ServiceError) => resolve(e));
    });
    expect(got).toEqual([0, 1]);
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toBe("stream broke");
    await waitFor(() => p.streams.length === 1);
    expect(p.streams[0]!.attemptCount).toBe(1);
    expect(p.streams[0]!.grpcStatus).toBe(14);
    // As on the wire: grpc-js percent-encodes the message.
    expect(p.streams[0]!.grpcMessage).toBe("stream%20broke");
  });

  it("retries a trailers-only UNAVAILABLE under retryOn unavailable", async () => {
    const b = await backend();
    const p = await proxyTo(b.srv.port, { action: { retryPolicy: retries(["unavailable"]) } });
    const r = await unary(client(p), "Flaky", Buffer.from("x"));
    expect(r.error).toBeNull();
    expect(r.value!.toString()).toBe("ok");
    expect(b.flakyCalls).toBe(2);
  });
});

describe("local replies as the grpc-js client sees them", () => {
  it.each<[string, () => Promise<TestProxy>, number, string]>([
    [
      "no route → UNIMPLEMENTED",
      async () => {
        const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "grpc" } }, { prefix: "/other/" })] }], [cluster("grpc", [1], H2)]);
        return (proxy = await startProxy(snap));
      },
      grpc.status.UNIMPLEMENTED,
      "",
    ],
    [
      "no healthy upstream → UNAVAILABLE",
      async () => {
        const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "grpc" } })] }], [cluster("grpc", [], H2)]);
        return (proxy = await startProxy(snap));
      },
      grpc.status.UNAVAILABLE,
      "no healthy upstream",
    ],
    [
      "connection refused → UNAVAILABLE with the reset reason",
      async () => proxyTo(await freePort()),
      grpc.status.UNAVAILABLE,
      "upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: delayed connect error: 111",
    ],
    [
      "fault grpcStatus abort → that code",
      async () => proxyTo(1, { extra: { typedPerFilterConfig: { [HTTP_FAULT_FILTER]: { abort: { grpcStatus: grpc.status.RESOURCE_EXHAUSTED, percentage: { numerator: 100, denominator: "HUNDRED" } } } } } }),
      grpc.status.RESOURCE_EXHAUSTED,
      "fault filter abort",
    ],
    [
      "fault httpStatus 403 abort → PERMISSION_DENIED",
      async () => proxyTo(1, { extra: { typedPerFilterConfig: { [HTTP_FAULT_FILTER]: { abort: { httpStatus: 403, percentage: { numerator: 100, denominator: "HUNDRED" } } } } } }),
      grpc.status.PERMISSION_DENIED,
      "fault filter abort",
    ],
    [
      "RBAC denial → PERMISSION_DENIED 'RBAC: access denied'",
      async () => {
        const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "grpc" } })] }], [cluster("grpc", [1], H2)]);
        const rbac = buildRbacConfigs([{ ref: { kind: "AuthorizationPolicy", name: "deny-svc", namespace: "foo", file: "t.yaml" }, action: "DENY", rules: [{ from: [], to: [{ paths: ["/pkg.Svc/*"] }], when: [] }] }], false);
        const hcm = hcmOfListener(snap.listeners[0]!);
        hcm.httpFilters = [...rbac.map((c) => ({ name: HTTP_RBAC_FILTER, typedConfig: c })), ...hcm.httpFilters];
        return (proxy = await startProxy(snap));
      },
      grpc.status.PERMISSION_DENIED,
      "RBAC: access denied",
    ],
  ])("%s", async (_name, make, code, details) => {
    const p = await make();
    const r = await unary(client(p), "Call", Buffer.from("x"));
    expect(r.error?.code).toBe(code);
    expect(r.error?.details).toBe(details);
    await waitFor(() => p.streams.length === 1);
    expect(p.streams[0]!.responseCode).toBe(200);
    expect(p.streams[0]!.grpcStatus).toBe(code);
  });
});

describe("deadlines and cancellation reset the upstream stream", () => {
  it("grpc-timeout under max_stream_duration → DEADLINE_EXCEEDED from the proxy; the server sees the call cancelled", async () => {
    const b = await backend();
    const p = await proxyTo(b.srv.port, { action: { maxStreamDuration: { grpcTimeoutHeaderMaxMs: 100 } } });
    // The client's own deadline is far away: the proxy's capped one is what fires.
    const r = await unary(client(p), "Stall", Buffer.from("x"), { deadlineMs: 60_000 });
    expect(r.error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(r.error?.details).toBe("downstream duration timeout");
    await waitFor(() => b.cancelled.length === 1, 5_000, "server-side cancellation");
    await waitFor(() => p.streams.length === 1);
    expect(p.streams[0]!.responseCodeDetails).toBe("max_duration_timeout");
  });

  it("max_grpc_timeout: the route times out (UNAVAILABLE, upstream request timeout) and resets the upstream stream", async () => {
    const b = await backend();
    const p = await proxyTo(b.srv.port, { action: { maxGrpcTimeoutMs: 100 } });
    const r = await unary(client(p), "Stall", Buffer.from("x"), { deadlineMs: 60_000 });
    expect(r.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.error?.details).toBe("upstream request timeout");
    await waitFor(() => b.cancelled.length === 1, 5_000, "server-side cancellation");
  });

  it("the client's cancel resets the upstream stream", async () => {
    const b = await backend();
    const p = await proxyTo(b.srv.port);
    const m = method("Stall", "unary");
    const call = client(p).makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, Buffer.from("x"), () => {});
    await waitFor(() => b.stalled === 1, 5_000, "the call reached the server");
    call.cancel();
    await waitFor(() => b.cancelled.length === 1, 5_000, "server-side cancellation");
  });
});

describe("over HTTP/2 on the wire", () => {
  it("a local reply is one HEADERS frame with END_STREAM: 200, application/grpc, grpc-status, grpc-message, no body", async () => {
    const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "grpc" } })] }], [cluster("grpc", [], H2)]);
    proxy = await startProxy(snap);
    const session = h2connect(`http://127.0.0.1:${proxy.port}`);
    closers.push(() => session.close());
    const req = session.request({ ":method": "POST", ":path": "/pkg.Svc/Call", "content-type": "application/grpc", te: "trailers" });
    req.end(Buffer.alloc(5));
    const [headers, flags] = await new Promise<[IncomingHttpHeaders, number]>((resolve) => req.on("response", (h, f) => resolve([h, f])));
    let dataBytes = 0;
    req.on("data", (d: Buffer) => (dataBytes += d.length));
    await new Promise<void>((r) => req.on("close", () => r()));
    expect(flags & h2c.NGHTTP2_FLAG_END_STREAM).toBe(h2c.NGHTTP2_FLAG_END_STREAM);
    expect(headers[":status"]).toBe(200);
    expect(headers["content-type"]).toBe("application/grpc");
    expect(headers["grpc-status"]).toBe("14");
    expect(headers["grpc-message"]).toBe("no healthy upstream");
    expect(headers["content-length"]).toBeUndefined();
    expect(dataBytes).toBe(0);
  });

  it("a local reply to a call still streaming ends that stream only: the connection serves the next call", async () => {
    const b = await backend();
    const snap = await snapshotWith(
      [{ name: "vh", domains: ["*"], routes: [route("sum", { route: { cluster: "empty" } }, { prefix: "/pkg.Svc/Sum" }), route("r", { route: { cluster: "grpc" } })] }],
      [cluster("empty", [], H2), cluster("grpc", [b.srv.port], H2)],
    );
    proxy = await startProxy(snap);
    const c = client(proxy);
    const sum = method("Sum", "clientStream");
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      const s = c.makeClientStreamRequest(sum.path, sum.requestSerialize, sum.responseDeserialize, (e) => resolve(e!));
      s.write(Buffer.alloc(4));
    });
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toBe("no healthy upstream");
    const r = await unary(c, "Call", Buffer.from("again"));
    expect(r.value!.toString()).toBe("echo:again");
  });
});

describe("inbound: the sidecar in front of a gRPC app", () => {
  it("calls reach the app and its trailers come back; a local reply is still a gRPC answer", async () => {
    const b = await backend();
    const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "grpc" } }, { prefix: "/pkg.Svc/" })] }], [cluster("grpc", [b.srv.port], H2)]);
    snap.listeners[0]!.trafficDirection = "INBOUND";
    proxy = await startProxy(snap);
    const c = client(proxy);
    const r = await unary(c, "Call", Buffer.from("in"));
    expect(r.value!.toString()).toBe("echo:in");
    expect(r.status!.metadata.get("x-server-trailer")).toEqual(["t1"]);
    const m = method("Call", "unary");
    const miss = await new Promise<grpc.ServiceError>((resolve) => c.makeUnaryRequest("/other.Svc/Call", m.requestSerialize, m.responseDeserialize, Buffer.from("x"), (e) => resolve(e!)));
    expect(miss.code).toBe(grpc.status.UNIMPLEMENTED);
  });
});
