// GOAWAY on drain with grpc-js calls in flight, through the real CLI (2 workers): SIGTERM drains
// the inbound listeners (istio-agent's drain_listeners?inboundonly&graceful) and the admin's
// drain_listeners?graceful drains every listener; HTTP/2 connections get a GOAWAY, calls in
// flight finish, grpc-js reconnects for new ones — zero failed calls.

import { connect as h2connect, type ClientHttp2Session } from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { echoClient, grpc, startEchoServer, unary, type EchoClientT, type EchoServer, type UnaryOutcome } from "../helpers/grpc-fixtures.js";
import { startH2Mesh, type H2Mesh } from "../helpers/h2-mesh.js";
import { waitFor, within } from "../helpers/wait.js";

let server: EchoServer | undefined;
let mesh: H2Mesh | undefined;
const clients: EchoClientT[] = [];
const sessions: ClientHttp2Session[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of sessions.splice(0)) s.destroy();
  await mesh?.stop();
  await server?.close();
  mesh = undefined;
  server = undefined;
});

async function start(drainMs: number): Promise<{ mesh: H2Mesh; server: EchoServer }> {
  server = await startEchoServer();
  mesh = await startH2Mesh({
    ns: "drain",
    outbound: [{ name: "echo", protocol: "GRPC", endpointPort: server.port }],
    inbound: [{ protocol: "GRPC", appPort: server.port }],
    args: ["--drain-timeout", `${drainMs}ms`],
  });
  return { mesh, server };
}

/** A raw HTTP/2 session that records the GOAWAY it gets. */
function watcher(port: number, authority: string): { session: ClientHttp2Session; goaway: Promise<number>; ping: () => Promise<number> } {
  const session = h2connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  sessions.push(session);
  const goaway = new Promise<number>((r) => session.once("goaway", (code: number) => r(code)));
  // One request on the session: a gRPC unary call by hand (status of the response headers).
  const ping = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const body = Buffer.from(JSON.stringify({ text: "w" }));
      const frame = Buffer.alloc(5 + body.length);
      frame.writeUInt32BE(body.length, 1);
      body.copy(frame, 5);
      const req = session.request({ ":method": "POST", ":path": "/outrigger.test.Echo/Unary", ":authority": authority, "content-type": "application/grpc", te: "trailers" });
      req.on("response", (h) => resolve(Number(h[":status"])));
      req.on("error", reject);
      req.resume();
      req.end(frame);
    });
  return { session, goaway, ping };
}

/** A request on the watched session, unless a GOAWAY already came (node:http2 then opens no stream). */
async function pingUnlessGoaway(w: ReturnType<typeof watcher>): Promise<string> {
  let gone = false;
  void w.goaway.then(() => (gone = true));
  await new Promise((r) => setImmediate(r));
  if (gone) return "goaway first";
  try {
    return String(await w.ping());
  } catch (e) {
    await new Promise((r) => setImmediate(r));
    // The GOAWAY was read between request() and nghttp2 sending the stream's HEADERS: nghttp2 opens
    // no stream after a GOAWAY and refuses it locally (REFUSED_STREAM: never sent, safe to retry).
    const err = e as NodeJS.ErrnoException;
    if (gone && (err.code === "ERR_HTTP2_GOAWAY_SESSION" || (err.code === "ERR_HTTP2_STREAM_ERROR" && err.message.includes("NGHTTP2_REFUSED_STREAM")))) return "goaway first";
    throw e;
  }
}

interface LoadResult {
  outcomes: Array<{ at: number; error?: grpc.ServiceError }>;
  stop: () => Promise<void>;
}

/** `loops` concurrent loops of unary calls on `channels` channels until stopped. */
function load(channels: EchoClientT[], loops: number): LoadResult {
  const outcomes: LoadResult["outcomes"] = [];
  let running = true;
  const run = async (i: number): Promise<void> => {
    while (running) {
      const r: UnaryOutcome = await unary(channels[i % channels.length]!, { text: `l${i}` }, { deadlineMs: 10_000 });
      outcomes.push({ at: Date.now(), error: r.error });
    }
  };
  const all = Promise.all(Array.from({ length: loops }, (_, i) => run(i)));
  return { outcomes, stop: async () => void ((running = false), await within(all, 15_000, "the load loops to finish")) };
}

/** A server-streaming call whose second half waits for `server.releaseStreams()`: in flight across the drain. */
function longCall(c: EchoClientT): { status: Promise<grpc.StatusObject>; received: () => number } {
  let n = 0;
  const call = c.makeServerStreamRequest("/outrigger.test.Echo/ServerStream", (v: unknown) => Buffer.from(JSON.stringify(v)), (b: Buffer) => JSON.parse(b.toString()) as never, { count: 2_000, text: "x".repeat(200), pause: true }, new grpc.Metadata(), {});
  call.on("data", () => n++);
  call.on("error", () => {});
  return { status: new Promise((r) => call.on("status", r)), received: () => n };
}

describe("GOAWAY on drain, grpc-js calls in flight", () => {
  it("SIGTERM: the inbound listener's HTTP/2 connections get GOAWAY; zero failed calls; the proxy exits after the drain", async () => {
    const drainMs = 4_000;
    const { mesh: m } = await start(drainMs);
    const port = m.inbound[0]!;
    const channels = Array.from({ length: 3 }, () => echoClient(port, undefined, { "grpc.use_local_subchannel_pool": 1 }));
    clients.push(...channels);
    const w = watcher(port, `echo:${port}`);
    expect(await w.ping()).toBe(200);
    const l = load(channels, 6);
    await waitFor(() => l.outcomes.filter((o) => !o.error).length >= 100, 15_000, "load under way");

    const sigtermAt = Date.now();
    m.cli.kill("SIGTERM");
    await m.cli.waitForLog(/draining inbound listeners for 4000 ms/);
    // The watched connection gets GOAWAY: at once, or at its next request (which is answered).
    expect(await pingUnlessGoaway(w)).toMatch(/^(200|goaway first)$/);
    await within(w.goaway, 5_000, "GOAWAY on the inbound connection");
    // Calls keep succeeding on new connections through the drain (stopped well before its end).
    const during = l.outcomes.length;
    await waitFor(() => l.outcomes.length >= during + 100 || Date.now() > sigtermAt + drainMs - 1_200, drainMs, "calls during the drain");
    await l.stop();
    expect(l.outcomes.filter((o) => o.error).map((o) => `${o.error!.code} ${o.error!.details}`)).toEqual([]);
    expect(l.outcomes.filter((o) => o.at > sigtermAt).length).toBeGreaterThan(20);
    expect(await within(m.cli.exited, drainMs + 10_000, "the proxy's exit")).toBe(0);
  }, 60_000);

  it("admin drain_listeners?graceful: outbound HTTP/2 connections get GOAWAY; a stream in flight finishes; zero failed calls", async () => {
    const { mesh: m, server: s } = await start(8_000);
    const port = m.outbound.echo!;
    const authority = m.authority("echo");
    const channels = Array.from({ length: 3 }, () => echoClient(port, authority, { "grpc.use_local_subchannel_pool": 1 }));
    clients.push(...channels);
    const w = watcher(port, authority);
    expect(await w.ping()).toBe(200);
    const streaming = longCall(channels[0]!);
    await waitFor(() => streaming.received() === 1_000, 10_000, "the streaming call's first half");
    const l = load(channels, 6);
    await waitFor(() => l.outcomes.filter((o) => !o.error).length >= 100, 15_000, "load under way");

    const r = await fetch(`http://127.0.0.1:${m.admin}/drain_listeners?graceful`, { method: "POST" });
    expect(r.status).toBe(200);
    const drainAt = Date.now();
    expect(await pingUnlessGoaway(w)).toMatch(/^(200|goaway first)$/);
    await within(w.goaway, 5_000, "GOAWAY on the outbound connection");
    const during = l.outcomes.length;
    await waitFor(() => l.outcomes.length >= during + 100 || Date.now() > drainAt + 3_000, 5_000, "calls during the drain");
    await l.stop();
    // The stream that was in flight before the drain finishes after the GOAWAY.
    expect(streaming.received()).toBe(1_000);
    s.releaseStreams();
    expect((await within(streaming.status, 30_000, "the streaming call's end")).code).toBe(grpc.status.OK);
    expect(streaming.received()).toBe(2_000);
    expect(l.outcomes.filter((o) => o.error).map((o) => `${o.error!.code} ${o.error!.details}`)).toEqual([]);
    expect(l.outcomes.filter((o) => o.at > drainAt).length).toBeGreaterThan(20);
  }, 60_000);
});
