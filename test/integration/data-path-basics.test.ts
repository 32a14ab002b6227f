import { afterEach, describe, expect, it } from "vitest";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { parseResponses, rawExchange } from "../helpers/raw-client.js";
import { startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";

let proxy: TestProxy | undefined;
const ups: EchoUpstream[] = [];
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await Promise.all(ups.splice(0).map((u) => u.close()));
});

describe("data path basics", () => {
  it("forwards a GET and returns the upstream's response", async () => {
    const u = await startEchoUpstream("a");
    ups.push(u);
    const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("default", { route: { cluster: "c" } })] }], [cluster("c", [u.port])]);
    proxy = await startProxy(snap);
    const res = await fetch(proxy.url("/hello?x=1"), { headers: { host: "svc:80" } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { url: string; headers: Record<string, string> };
    expect(body.url).toBe("/hello?x=1");
    expect(body.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.headers["x-forwarded-proto"]).toBe("http");
    expect(res.headers.get("x-envoy-upstream-service-time")).toMatch(/^\d+$/);
    expect(res.headers.get("server")).toBe("envoy");
    expect(proxy.streams).toHaveLength(1);
    expect(proxy.streams[0]).toMatchObject({ responseCode: 200, routeName: "default", clusterName: "c", responseFlags: [] });
  });

  it("serves pipelined requests in order on one connection", async () => {
    const u = await startEchoUpstream("a");
    ups.push(u);
    const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("default", { route: { cluster: "c" } })] }], [cluster("c", [u.port])]);
    proxy = await startProxy(snap);
    const req = (p: string): string => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`;
    // The connection stays open after them: done once all three responses are complete.
    const out = await rawExchange(proxy.port, req("/1") + req("/2") + req("/3"), { responses: 3 });
    const rs = parseResponses(out);
    expect(rs.map((r) => JSON.parse(r.body.toString()).url)).toEqual(["/1", "/2", "/3"]);
  });

  it("appends the client address to x-forwarded-for on inbound listeners only", async () => {
    const u = await startEchoUpstream("a");
    ups.push(u);
    const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("default", { route: { cluster: "c" } })] }], [cluster("c", [u.port])]);
    proxy = await startProxy(snap);
    const out1 = parseResponses(await rawExchange(proxy.port, "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.0.0.1\r\nConnection: close\r\n\r\n"));
    expect(JSON.parse(out1[0]!.body.toString()).headers["x-forwarded-for"]).toBe("10.0.0.1");
    await proxy.close();
    snap.listeners[0]!.trafficDirection = "INBOUND";
    proxy = await startProxy(snap);
    const out2 = parseResponses(await rawExchange(proxy.port, "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.0.0.1\r\nConnection: close\r\n\r\n"));
    const body = JSON.parse(out2[0]!.body.toString());
    expect(body.headers["x-forwarded-for"]).toBe("10.0.0.1, 127.0.0.1");
    expect(out2[0]!.headers["server"]).toBe("istio-envoy");
  });

  it("replies 404 with flag NR when no route matches", async () => {
    const snap = await snapshotWith([{ name: "vh", domains: ["only.example"], routes: [] }], []);
    proxy = await startProxy(snap);
    const res = await fetch(proxy.url("/"), { headers: { host: "other" } });
    expect(res.status).toBe(404);
    expect(await res.text()).toBe("");
    expect(proxy.streams[0]!.responseFlags).toEqual(["NR"]);
  });
});
