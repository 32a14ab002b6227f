// Local replies over real sockets: status, body and response flag exactly as Envoy produces them.

import { afterEach, describe, expect, it } from "vitest";
import type { Socket } from "node:net";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { openSocket, parseResponses, rawExchange } from "../helpers/raw-client.js";
import { freePort, startEchoUpstream, startRawUpstream, type RawUpstream } from "../helpers/upstreams.js";
import { waitFor, within } from "../helpers/wait.js";

let proxy: TestProxy | undefined;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function raw(onConnection: (s: Socket) => void): Promise<RawUpstream> {
  const u = await startRawUpstream(onConnection);
  cleanups.push(() => u.close());
  return u;
}

async function proxyTo(ports: number[], clusterName = "c"): Promise<TestProxy> {
  const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: clusterName } })] }], [cluster("c", ports)]);
  proxy = await startProxy(snap);
  return proxy;
}

const PREFIX = "upstream connect error or disconnect/reset before headers. ";

describe("local replies", () => {
  it("no route: 404, empty body, flag NR", async () => {
    const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c" } }, { prefix: "/only" })] }], []);
    proxy = await startProxy(snap);
    const res = await fetch(proxy.url("/elsewhere"));
    expect(res.status).toBe(404);
    expect(await res.text()).toBe("");
    expect(res.headers.get("content-length")).toBe("0");
    await waitFor(() => proxy!.streams.length === 1);
    expect(proxy.streams[0]).toMatchObject({ responseCode: 404, responseFlags: ["NR"], responseCodeDetails: "route_not_found" });
  });

  it("unknown cluster: 503, flag NC", async () => {
    const p = await proxyTo([], "missing");
    const res = await fetch(p.url("/"));
    expect(res.status).toBe(503);
    expect(await res.text()).toBe("");
    await waitFor(() => p.streams.length === 1);
    expect(p.streams[0]).toMatchObject({ responseCode: 503, responseFlags: ["NC"], clusterName: "missing" });
  });

  it("cluster without endpoints: 503 `no healthy upstream`, flag UH", async () => {
    const p = await proxyTo([]);
    const res = await fetch(p.url("/"));
    expect(res.status).toBe(503);
    expect(await res.text()).toBe("no healthy upstream");
    expect(res.headers.get("content-type")).toBe("text/plain");
    await waitFor(() => p.streams.length === 1);
    expect(p.streams[0]).toMatchObject({ responseCode: 503, responseFlags: ["UH"] });
  });

  it("connection refused: 503 with Envoy's connect-failure body, flag UF", async () => {
    const dead = await freePort();
    const p = await proxyTo([dead]);
    const res = await fetch(p.url("/"));
    expect(res.status).toBe(503);
    expect(await res.text()).toBe(`${PREFIX}reset reason: connection failure, transport failure reason: delayed connect error: 111`);
    await waitFor(() => p.streams.length === 1);
    expect(p.streams[0]).toMatchObject({
      responseCode: 503,
      responseFlags: ["UF"],
      upstreamHost: `127.0.0.1:${dead}`,
      upstreamTransportFailureReason: "delayed connect error: 111",
    });
  });

  it("upstream accepts then closes without answering: 503 connection termination, flag UC", async () => {
    const u = await raw((s) => s.once("data", () => s.end()));
    const p = await proxyTo([u.port]);
    const res = await fetch(p.url("/"));
    expect(res.status).toBe(503);
    expect(await res.text()).toBe(`${PREFIX}reset reason: connection termination`);
    await waitFor(() => p.streams.length === 1);
    expect(p.streams[0]!.responseFlags).toEqual(["UC"]);
  });

  it("upstream resets (RST) before answering: 503, flag UC", async () => {
    const u = await raw((s) => s.once("data", () => s.resetAndDestroy()));
    const p = await proxyTo([u.port]);
    const res = await fetch(p.url("/"));
    expect(res.status).toBe(503);
    expect(await res.text()).toBe(`${PREFIX}reset reason: connection termination`);
    await waitFor(() => p.streams.length === 1);
    expect(p.streams[0]!.responseFlags).toEqual(["UC"]);
  });

  it("upstream answering garbage: 502 protocol error, flag UPE (Envoy: 502 for a protocol-error reset)", async () => {
    const u = await raw((s) => s.once("data", () => s.write("SMTP ready, not HTTP at all\r\n\r\n")));
    const p = await proxyTo([u.port]);
    const res = await fetch(p.url("/"));
    expect(res.status).toBe(502);
    expect(await res.text()).toBe(`${PREFIX}reset reason: protocol error`);
    await waitFor(() => p.streams.length === 1);
    expect(p.streams[0]!.responseFlags).toEqual(["UPE"]);
  });

  it("upstream with a broken content-length: 502 UPE", async () => {
    const u = await raw((s) => s.once("data", () => s.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello")));
    const p = await proxyTo([u.port]);
    const res = await fetch(p.url("/"));
    expect(res.status).toBe(502);
    await waitFor(() => p.streams.length === 1);
    expect(p.streams[0]!.responseFlags).toEqual(["UPE"]);
  });

  it("upstream resetting mid-response: downstream closed, proxy keeps serving, flag UC", async () => {
    let n = 0;
    const u = await raw((s) =>
      s.on("data", () => {
        n++;
        // The reset comes once the partial response has reached the client (below).
        if (n === 1) s.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial...");
        else {
          s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        }
      }),
    );
    const p = await proxyTo([u.port]);
    const c = await openSocket(p.port);
    let got = "";
    c.on("data", (d: Buffer) => (got += d.toString("latin1")));
    c.on("error", () => {});
    const closed = new Promise<void>((r) => c.once("close", () => r()));
    c.write("GET /first HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => got.includes("partial..."), 5_000, "the partial response");
    u.sockets[0]!.resetAndDestroy();
    await within(closed, 5_000, "the downstream close");
    expect(got).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(got).toContain("partial...");
    expect(got.length).toBeLessThan(1000);
    await waitFor(() => p.streams.length === 1);
    expect(p.streams[0]!.responseFlags).toEqual(["UC"]);
    expect(p.streams[0]!.responseCodeDetails).toBe("upstream_reset_after_response_started{connection_termination}");

    const out = parseResponses(await rawExchange(p.port, "GET /second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    expect(out).toHaveLength(1);
    expect(out[0]!.status).toBe(200);
    expect(out[0]!.body.toString()).toBe("ok");
  });

  it("local replies keep the downstream connection alive when the request was complete", async () => {
    const p = await proxyTo([]);
    const out = parseResponses(await rawExchange(p.port, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    expect(out.map((r) => r.status)).toEqual([503, 503]);
    expect(out[0]!.headers["connection"]).toBeUndefined();
    expect(out[1]!.headers["connection"]).toBe("close");
  });

  it("a local reply to a request with an unread body closes the connection", async () => {
    const u = await startEchoUpstream("unused");
    cleanups.push(() => u.close());
    const snap = await snapshotWith([{ name: "vh", domains: ["only"], routes: [] }], []);
    proxy = await startProxy(snap);
    const out = await rawExchange(proxy.port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc");
    const rs = parseResponses(out);
    expect(rs[0]!.status).toBe(404);
    expect(rs[0]!.headers["connection"]).toBe("close");
  });
});
