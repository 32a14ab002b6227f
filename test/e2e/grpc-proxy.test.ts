// gRPC through the real CLI (2 workers) with @grpc/grpc-js on both sides: client → Outrigger →
// server, outbound (a ServiceEntry with a GRPC port, the client on the Sidecar egress listener,
// presenting the service's authority) and inbound (a Sidecar ingress GRPC port in front of the
// app). Unary, server/client/bidi streaming, metadata and trailers both ways, error statuses passed
// through, deadlines, multiplexing, large messages with flow control, and the proxy's own gRPC
// local replies (trailers-only answers with Envoy's code mapping and text).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { echoClient, grpc, rawUnary, startEchoServer, unary, type EchoClientT, type EchoServer } from "../helpers/grpc-fixtures.js";
import { startDualUpstream, type DualUpstream } from "../helpers/dual-upstream.js";
import { adminStats, allocatedBytes, rssBytes, startH2Mesh, type H2Mesh } from "../helpers/h2-mesh.js";
import { BodyDigest, patternChunks, patternSha256 } from "../helpers/pattern-bytes.js";
import { freePort } from "../helpers/upstreams.js";
import { waitFor, within } from "../helpers/wait.js";

const NS = "grpc";
let server: EchoServer;
/** An HTTP/2 upstream that holds /hold without any deadline of its own (grpc-js servers enforce grpc-timeout themselves). */
let holder: DualUpstream;
let mesh: H2Mesh;
const clients: EchoClientT[] = [];

beforeAll(async () => {
  server = await startEchoServer();
  holder = await startDualUpstream();
  const closedPort = await freePort();
  mesh = await startH2Mesh({
    ns: NS,
    outbound: [
      { name: "echo", protocol: "GRPC", endpointPort: server.port },
      { name: "limited", protocol: "GRPC", endpointPort: server.port },
      { name: "dead", protocol: "GRPC", endpointPort: closedPort },
      { name: "holder", protocol: "GRPC", endpointPort: holder.port },
    ],
    inbound: [{ protocol: "GRPC", appPort: server.port }],
    extraYaml: `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: ${NS}}
spec:
  hosts: [echo]
  http:
  - match: [{headers: {x-fault: {exact: abort}}}]
    fault: {abort: {grpcStatus: RESOURCE_EXHAUSTED, percentage: {value: 100}}}
    route: [{destination: {host: echo}}]
  - match: [{headers: {x-subset: {exact: none}}}]
    route: [{destination: {host: echo, subset: none}}]
  - match: [{headers: {x-retry: {exact: "yes"}}}]
    retries: {attempts: 3, retryOn: unavailable}
    route: [{destination: {host: echo}}]
  - route: [{destination: {host: echo}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: holder, namespace: ${NS}}
spec:
  hosts: [holder]
  http:
  - match: [{headers: {x-timeout: {exact: short}}}]
    timeout: 300ms
    route: [{destination: {host: holder}}]
  - route: [{destination: {host: holder}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: echo, namespace: ${NS}}
spec:
  host: echo
  subsets: [{name: none, labels: {version: none}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: limited, namespace: ${NS}}
spec:
  host: limited
  trafficPolicy: {connectionPool: {http: {http2MaxRequests: 1, http1MaxPendingRequests: 1}}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-marked, namespace: ${NS}}
spec:
  action: DENY
  rules: [{when: [{key: "request.headers[x-deny]", values: ["yes"]}]}]
`,
  });
}, 40_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await mesh?.stop();
  await server?.close();
  await holder?.close();
});

function client(side: "outbound" | "inbound", name = "echo", options: grpc.ChannelOptions = {}): EchoClientT {
  const c = side === "outbound" ? echoClient(mesh.outbound[name]!, mesh.authority(name), options) : echoClient(mesh.inbound[0]!, undefined, options);
  clients.push(c);
  return c;
}

/** Collects a call's messages and its final status. */
function drain<T>(call: grpc.ClientReadableStream<T> | grpc.ClientDuplexStream<unknown, T>): Promise<{ messages: T[]; status: grpc.StatusObject; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    const messages: T[] = [];
    let error: grpc.ServiceError | undefined;
    call.on("data", (m: T) => messages.push(m));
    call.on("error", (e: grpc.ServiceError) => (error = e));
    call.on("status", (status: grpc.StatusObject) => resolve({ messages, status, error }));
  });
}

for (const side of ["outbound", "inbound"] as const) {
  describe(`grpc-js through the ${side} listener`, () => {
    it("unary: the answer, metadata both ways (request metadata reaches the server, initial metadata and trailers come back)", async () => {
      const r = await unary(client(side), { text: "hi" }, { metadata: { "x-client-a": "1", "x-echo-b": "2" } });
      expect(r.error).toBeUndefined();
      // The proxy adds its own x-* headers (x-request-id, x-forwarded-proto, …) besides the client's.
      expect(r.response).toMatchObject({ text: "hi", metadata: { "x-client-a": "1", "x-echo-b": "2" } });
      expect(r.initial).toMatchObject({ "x-initial": "yes" });
      expect(r.trailers).toMatchObject({ "x-trailer": "yes", "x-echo-b": "2" });
    });

    it("server streaming: 200 messages in order", async () => {
      const c = client(side);
      const r = await drain(c.makeServerStreamRequest("/outrigger.test.Echo/ServerStream", (v: unknown) => Buffer.from(JSON.stringify(v)), (b: Buffer) => JSON.parse(b.toString()) as { i: number }, { count: 200, text: "s" }, new grpc.Metadata(), {}));
      expect(r.status.code).toBe(grpc.status.OK);
      expect(r.messages.map((m) => m.i)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    });

    it("client streaming: 100 messages in, one answer", async () => {
      const c = client(side);
      const done = new Promise<{ count: number; joined: string }>((resolve, reject) => {
        const call = c.makeClientStreamRequest("/outrigger.test.Echo/ClientStream", (v: unknown) => Buffer.from(JSON.stringify(v)), (b: Buffer) => JSON.parse(b.toString()) as never, new grpc.Metadata(), {}, (e: grpc.ServiceError | null, res?: { count: number; joined: string }) => (e ? reject(e) : resolve(res!)));
        for (let i = 0; i < 100; i++) call.write({ text: String(i) });
        call.end();
      });
      const res = await within(done, 10_000, "the client-streaming answer");
      expect(res.count).toBe(100);
      expect(res.joined).toBe(Array.from({ length: 100 }, (_, i) => String(i)).join(","));
    });

    it("bidi streaming: each message answered before the next is sent (ping-pong), then a clean end", async () => {
      const c = client(side);
      const call = c.makeBidiStreamRequest("/outrigger.test.Echo/Bidi", (v: unknown) => Buffer.from(JSON.stringify(v)), (b: Buffer) => JSON.parse(b.toString()) as { text: string }, new grpc.Metadata(), {});
      const status = new Promise<grpc.StatusObject>((r) => call.on("status", r));
      call.on("error", () => {});
      for (let i = 0; i < 20; i++) {
        const answer = new Promise<{ text: string }>((r) => call.once("data", r));
        call.write({ text: `m${i}` });
        expect((await within(answer, 5_000, `answer ${i}`)).text).toBe(`m${i}`);
      }
      call.end();
      expect((await within(status, 5_000, "the final status")).code).toBe(grpc.status.OK);
    });

    it("an error status from the server passes through with its message and trailers", async () => {
      const r = await unary(client(side), { text: "x", fail: { code: grpc.status.NOT_FOUND, message: "no such thing: é/%" } }, { metadata: { "x-echo-c": "3" } });
      expect(r.error?.code).toBe(grpc.status.NOT_FOUND);
      expect(r.error?.details).toBe("no such thing: é/%");
      expect(r.trailers).toMatchObject({ "x-trailer": "failed", "x-echo-c": "3" });
    });

    it("a client deadline ends the call (DEADLINE_EXCEEDED, or the proxy's own grpc-timeout answer) and the server's call is cancelled", async () => {
      const heldBefore = server.held.length;
      const r = await unary(client(side), { hold: true }, { deadlineMs: 400 });
      // The client's timer and the proxy's grpc-timeout (armed from the same deadline, a moment
      // later) race, as with Envoy: outbound routes carry max_grpc_timeout (expiry: 504 →
      // UNAVAILABLE 'upstream request timeout'), inbound ones max_stream_duration (DEADLINE_EXCEEDED).
      if (r.error?.code !== grpc.status.DEADLINE_EXCEEDED) {
        expect(side).toBe("outbound");
        expect([r.error?.code, r.error?.details]).toEqual([grpc.status.UNAVAILABLE, "upstream request timeout"]);
      }
      const held = await waitFor(() => server.held[heldBefore], 5_000, "the held call at the server");
      await within(held.cancelled, 10_000, "the server to see the call cancelled");
    });

    it("100 concurrent calls on one channel are multiplexed: all succeed", async () => {
      const c = client(side);
      const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => unary(c, { text: `c${i}` })));
      expect(rs.filter((r) => r.error)).toEqual([]);
      expect(rs.map((r) => r.response?.text)).toEqual(Array.from({ length: 100 }, (_, i) => `c${i}`));
    });
  });
}

describe("outbound gRPC: the upstream side", () => {
  it("many calls share few upstream connections (at most one per worker)", async () => {
    const before = await adminStats(mesh.admin);
    const cx0 = before.get(`cluster.${mesh.cluster("echo")}.upstream_cx_total`) ?? 0;
    const rq0 = before.get(`cluster.${mesh.cluster("echo")}.upstream_rq_total`) ?? 0;
    // Several channels (several downstream connections, so both workers take some).
    const cs = Array.from({ length: 4 }, () => client("outbound", "echo", { "grpc.use_local_subchannel_pool": 1 }));
    const rs = await Promise.all(Array.from({ length: 200 }, (_, i) => unary(cs[i % 4]!, { text: "m" })));
    expect(rs.filter((r) => r.error)).toEqual([]);
    const after = await adminStats(mesh.admin);
    expect((after.get(`cluster.${mesh.cluster("echo")}.upstream_rq_total`) ?? 0) - rq0).toBe(200);
    expect((after.get(`cluster.${mesh.cluster("echo")}.upstream_cx_total`) ?? 0) - cx0).toBeLessThanOrEqual(2);
  });

  it(`large messages both ways with flow control: 3 × 64 MiB up and down, checksums equal, proxy RSS bounded and flat across rounds`, async () => {
    const MIB = 1024 * 1024;
    const c = client("outbound", "echo", { "grpc.max_receive_message_length": 8 * MIB, "grpc.max_send_message_length": 8 * MIB });
    const upload = (total: number): Promise<{ sha256: string; length: number }> =>
      new Promise((resolve, reject) => {
        const call = c.makeClientStreamRequest("/outrigger.test.Echo/Upload", (b: Buffer) => b, (b: Buffer) => JSON.parse(b.toString()) as never, new grpc.Metadata(), {}, (e: grpc.ServiceError | null, res?: { sha256: string; length: number }) => (e ? reject(e) : resolve(res!)));
        const chunks = patternChunks(total);
        const pump = (): void => {
          for (let n = chunks.next(); !n.done; n = chunks.next()) if (!call.write(n.value)) return void call.once("drain", pump);
          call.end();
        };
        pump();
      });
    const download = (total: number): Promise<{ sha256: string; length: number }> =>
      new Promise((resolve, reject) => {
        const call = c.makeServerStreamRequest("/outrigger.test.Echo/Download", (v: unknown) => Buffer.from(JSON.stringify(v)), (b: Buffer) => b, { bytes: total }, new grpc.Metadata(), {});
        const d = new BodyDigest();
        call.on("data", (b: Buffer) => d.update(b));
        call.on("error", reject);
        call.on("status", (st: grpc.StatusObject) => (st.code === grpc.status.OK ? resolve({ sha256: d.hex(), length: d.length }) : reject(new Error(st.details))));
      });
    // Warm-up (pools, JIT, buffers), then the baseline RSS.
    await upload(8 * MIB);
    await download(8 * MIB);
    const pid = mesh.cli.child.pid!;
    const rss0 = await rssBytes(pid);
    const total = 64 * MIB;
    const sha = patternSha256(total);
    const rss: number[] = [];
    const live: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [u, d] = await within(Promise.all([upload(total), download(total)]), 60_000, `round ${i} of 64 MiB both ways`);
      expect(u).toEqual({ sha256: sha, length: total });
      expect(d).toEqual({ sha256: sha, length: total });
      rss.push(await rssBytes(pid));
      live.push(await allocatedBytes(mesh.admin));
    }
    // 384 MiB crossed the proxy. Envoy's 256 MiB windows let a fast sender put up to a round's
    // traffic (64 MiB each way) in flight inside the proxy, and freed memory is not all given back
    // to the OS, so RSS rises by up to about twice a round's traffic and stays there (measured with
    // 2 workers: +110–150 MiB after the first round, then ±30 MiB from round to round as the
    // allocator keeps or returns pages). Bounded: no round takes RSS past that. Flat: the memory
    // the proxy holds (JS heaps and every thread's buffers, from /memory; it includes garbage not
    // collected yet, ~±30 MiB) is the same after the third round as after the first — a round's
    // bodies left behind would add 128 MiB.
    for (const [i, r] of rss.entries()) expect(r - rss0, `RSS after round ${i + 1}`).toBeLessThan(256 * MIB);
    expect(live[2]! - live[0]!, "live memory, rounds 1 to 3").toBeLessThan(64 * MIB);
  }, 240_000);
});

describe("gRPC retries (VirtualService retryOn: unavailable)", () => {
  it("a trailers-only UNAVAILABLE is retried: the third attempt answers", async () => {
    const r = await unary(client("outbound"), { text: "ok", failFirst: { key: "to", times: 2, code: grpc.status.UNAVAILABLE, trailersOnly: true } }, { metadata: { "x-retry": "yes" } });
    expect(r.error).toBeUndefined();
    expect(r.response?.text).toBe("ok");
    expect(server.attempts.to).toBe(3);
  });

  it("a status in trailers (after response headers) is never retried, as in Envoy", async () => {
    const r = await unary(client("outbound"), { text: "x", failFirst: { key: "tr", times: 2, code: grpc.status.UNAVAILABLE, trailersOnly: false } }, { metadata: { "x-retry": "yes" } });
    expect(r.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.error?.details).toBe("attempt 1 fails");
    expect(server.attempts.tr).toBe(1);
  });
});

describe("gRPC local replies (trailers-only, Envoy's code mapping and text)", () => {
  it("connection refused → UNAVAILABLE with Envoy's text", async () => {
    const r = await unary(client("outbound", "dead"), { text: "x" });
    expect(r.error?.code).toBe(grpc.status.UNAVAILABLE);
    // Istio's default retry policy (connect-failure, 2 retries) ran first: Envoy's text says so.
    expect(r.error?.details).toBe("upstream connect error or disconnect/reset before headers. retried and the latest reset reason: connection failure, transport failure reason: delayed connect error: 111");
  });

  it("no healthy upstream (a subset without endpoints: 503 UH) → trailers-only UNAVAILABLE 'no healthy upstream'", async () => {
    const { head, body } = await rawUnary(mesh.outbound.echo!, mesh.authority("echo"), { text: "x" }, { "x-subset": "none" });
    expect(head[":status"]).toBe(200);
    expect(head["content-type"]).toBe("application/grpc");
    expect(head["grpc-status"]).toBe(String(grpc.status.UNAVAILABLE));
    // gRPC percent-encoding leaves printable ASCII (spaces included) as it is.
    expect(head["grpc-message"]).toBe("no healthy upstream");
    expect(body.length).toBe(0);
  });

  it("fault abort grpcStatus RESOURCE_EXHAUSTED → that code, 'fault filter abort'", async () => {
    const r = await unary(client("outbound"), { text: "x" }, { metadata: { "x-fault": "abort" } });
    expect(r.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(r.error?.details).toBe("fault filter abort");
  });

  it("RBAC deny (inbound AuthorizationPolicy) → PERMISSION_DENIED 'RBAC: access denied'", async () => {
    const r = await unary(client("inbound"), { text: "x" }, { metadata: { "x-deny": "yes" } });
    expect(r.error?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(r.error?.details).toBe("RBAC: access denied");
  });

  it("no route (an authority no virtual host takes: 404 NR) → trailers-only UNIMPLEMENTED", async () => {
    const c = echoClient(mesh.outbound.echo!, "nowhere.example:1");
    clients.push(c);
    const r = await unary(c, { text: "x" });
    expect(r.error?.code).toBe(grpc.status.UNIMPLEMENTED);
    // Not grpc-js's own mapping of an HTTP 404 ("Received HTTP status code 404"): the proxy's answer.
    const { head, body } = await rawUnary(mesh.outbound.echo!, "nowhere.example:1", { text: "x" });
    expect(head[":status"]).toBe(200);
    expect(head["grpc-status"]).toBe(String(grpc.status.UNIMPLEMENTED));
    expect(body.length).toBe(0);
  });

  // Against an upstream that never answers and has no deadline of its own: only the proxy's timer runs.
  it("route timeout (VirtualService timeout 300ms = max_grpc_timeout, no grpc-timeout) → trailers-only UNAVAILABLE 'upstream request timeout' (504); the upstream stream is reset", async () => {
    const heldBefore = holder.held.length;
    const t0 = performance.now();
    const { head, body } = await rawUnary(mesh.outbound.holder!, mesh.authority("holder"), {}, { "x-timeout": "short" }, "/hold");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
    expect(head[":status"]).toBe(200);
    expect(head["content-type"]).toBe("application/grpc");
    expect(head["grpc-status"]).toBe(String(grpc.status.UNAVAILABLE));
    expect(head["grpc-message"]).toBe("upstream request timeout");
    expect(body.length).toBe(0);
    const held = await waitFor(() => holder.held[heldBefore], 5_000, "the held request");
    expect(await within(held.ended, 10_000, "the upstream stream to be reset")).toMatchObject({ how: "reset" });
  });

  it("grpc-timeout from the client bounds the request in the proxy (istiod's max_grpc_timeout 0s: uncapped): trailers-only UNAVAILABLE 'upstream request timeout'; the upstream is told the deadline", async () => {
    const heldBefore = holder.held.length;
    const t0 = performance.now();
    const { head } = await rawUnary(mesh.outbound.holder!, mesh.authority("holder"), {}, { "grpc-timeout": "300m" }, "/hold");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
    expect(head[":status"]).toBe(200);
    expect(head["content-type"]).toBe("application/grpc");
    expect(head["grpc-status"]).toBe(String(grpc.status.UNAVAILABLE));
    expect(head["grpc-message"]).toBe("upstream request timeout");
    const held = await waitFor(() => holder.held[heldBefore], 5_000, "the held request");
    expect(held.req.headers["grpc-timeout"]).toMatch(/^\d+m$/);
    expect(Number(String(held.req.headers["grpc-timeout"]).slice(0, -1))).toBeLessThanOrEqual(300);
    expect(await within(held.ended, 10_000, "the upstream stream to be reset")).toMatchObject({ how: "reset" });
  });

  it("http2MaxRequests 1: a second concurrent call overflows → UNAVAILABLE '… reset reason: overflow'", async () => {
    const heldBefore = server.held.length;
    const c = client("outbound", "limited");
    let firstCall: grpc.ClientUnaryCall | undefined;
    const first = unary(c, { hold: true }, { onCall: (call) => (firstCall = call) });
    await waitFor(() => server.held[heldBefore], 5_000, "the first call at the server");
    const r = await unary(c, { text: "second" });
    expect(r.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.error?.details).toBe("upstream connect error or disconnect/reset before headers. reset reason: overflow");
    firstCall!.cancel();
    expect((await first).error?.code).toBe(grpc.status.CANCELLED);
  }, 15_000);
});
