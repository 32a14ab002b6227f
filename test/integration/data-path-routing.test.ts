// Routing on the wire: redirects, direct responses, rewrites, header mutations, weighted clusters
// and matching, observed at a real upstream and a real client.

import { afterEach, describe, expect, it } from "vitest";
import type { HeaderValueOption, Route, VirtualHost, WeightedCluster } from "../../src/config/model/types.js";
import { seededRandom } from "../../src/common/random.js";
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

async function echo(name: string, handler?: Parameters<typeof startEchoUpstream>[1]): Promise<EchoUpstream> {
  const u = await startEchoUpstream(name, handler);
  ups.push(u);
  return u;
}

async function serve(routes: Route[], upstreams: EchoUpstream[], opts: { seed?: number; domains?: string[] } = {}): Promise<TestProxy> {
  const vh: VirtualHost = { name: "vh", domains: opts.domains ?? ["*"], routes };
  const snap = await snapshotWith([vh], upstreams.map((u) => cluster(u.name, [u.port])));
  proxy = await startProxy(snap, { random: seededRandom(opts.seed ?? 42) });
  return proxy;
}

interface Echo {
  name: string;
  url: string;
  headers: Record<string, string | string[]>;
}

/** One request over a raw socket (so Host and target are exactly what we write). */
async function get(p: TestProxy, target: string, headers: Record<string, string> = {}, host = "svc:8080"): Promise<ReturnType<typeof parseResponses>[number]> {
  let head = `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  const rs = parseResponses(await rawExchange(p.port, head + "\r\n"));
  expect(rs).toHaveLength(1);
  return rs[0]!;
}

function echoOf(r: { body: Buffer }): Echo {
  return JSON.parse(r.body.toString()) as Echo;
}

/** Raw header pairs (case preserved) the upstream received on its last request. */
function lastRaw(u: EchoUpstream): Array<[string, string]> {
  const rh = u.requests.at(-1)!.rawHeaders;
  const out: Array<[string, string]> = [];
  for (let i = 0; i < rh.length; i += 2) out.push([rh[i]!, rh[i + 1]!]);
  return out;
}

function valuesOf(pairs: Array<[string, string]>, name: string): string[] {
  return pairs.filter(([k]) => k.toLowerCase() === name).map(([, v]) => v);
}

const set = (key: string, value: string): HeaderValueOption => ({ key, value, appendAction: "OVERWRITE_IF_EXISTS_OR_ADD" });
const add = (key: string, value: string): HeaderValueOption => ({ key, value, appendAction: "APPEND_IF_EXISTS_OR_ADD" });

function wc(name: string, weight: number, extra: Partial<WeightedCluster> = {}): WeightedCluster {
  return { name, weight, requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [], ...extra };
}

describe("redirects and direct responses", () => {
  it("redirects with Location and status, port from the protocol default", async () => {
    const p = await serve([route("redir", { redirect: { schemeRedirect: "https", hostRedirect: "new.example", pathRedirect: "/moved", responseCode: 301 } })], []);
    const r = await get(p, "/old?q=1");
    expect(r.status).toBe(301);
    expect(r.headers["location"]).toBe("https://new.example/moved?q=1");
    expect(r.headers["content-length"]).toBe("0");
    expect(r.body.length).toBe(0);
    expect(p.streams[0]).toMatchObject({ responseCode: 301, routeName: "redir", responseFlags: [] });
  });

  it("redirects keeping the request's port with FROM_REQUEST_PORT", async () => {
    const p = await serve(
      [route("redir", { redirect: { schemeRedirect: "https", hostRedirect: "new.example", prefixRewrite: "/v2/", derivePort: "FROM_REQUEST_PORT", responseCode: 308 } }, { prefix: "/v1/" })],
      [],
    );
    const r = await get(p, "/v1/items?x=y", {}, "svc:8080");
    expect(r.status).toBe(308);
    expect(r.headers["location"]).toBe("https://new.example:8080/v2/items?x=y");
  });

  it("keeps the request authority (and its port) when only the path is redirected", async () => {
    const p = await serve([route("redir", { redirect: { pathRedirect: "/elsewhere", responseCode: 302 } })], []);
    const r = await get(p, "/here", {}, "svc:8080");
    expect(r.status).toBe(302);
    expect(r.headers["location"]).toBe("http://svc:8080/elsewhere");
  });

  it("serves a direct response with its body and route response headers", async () => {
    const p = await serve([route("direct", { directResponse: { status: 418, body: "short and stout" }, responseHeadersToAdd: [set("x-teapot", "yes")] })], []);
    const r = await get(p, "/");
    expect(r.status).toBe(418);
    expect(r.body.toString()).toBe("short and stout");
    expect(r.headers["content-length"]).toBe("15");
    expect(r.headers["x-teapot"]).toBe("yes");
    expect(p.streams[0]).toMatchObject({ responseCode: 418, responseCodeDetails: "direct_response" });
  });
});

describe("rewrites", () => {
  it("prefix rewrite: the upstream sees the new path, x-envoy-original-path carries the old", async () => {
    const u = await echo("a");
    const p = await serve([route("rw", { route: { cluster: "a", prefixRewrite: "/internal/" } }, { prefix: "/public/" })], [u]);
    const r = await get(p, "/public/items/7?full=1");
    expect(r.status).toBe(200);
    const e = echoOf(r);
    expect(e.url).toBe("/internal/items/7?full=1");
    expect(e.headers["x-envoy-original-path"]).toBe("/public/items/7?full=1");
    expect(p.streams[0]!.path).toBe("/public/items/7?full=1");
  });

  it("regex rewrite with capture groups", async () => {
    const u = await echo("a");
    const p = await serve(
      [route("rw", { route: { cluster: "a", regexRewrite: { pattern: "^/users/([0-9]+)/profile$", substitution: "/profiles/\\1" } } }, { safeRegex: "^/users/[0-9]+/profile$" })],
      [u],
    );
    const e = echoOf(await get(p, "/users/42/profile?x=1"));
    expect(e.url).toBe("/profiles/42?x=1");
    expect(e.headers["x-envoy-original-path"]).toBe("/users/42/profile?x=1");
  });

  it("no rewrite: no x-envoy-original-path", async () => {
    const u = await echo("a");
    const p = await serve([route("r", { route: { cluster: "a" } })], [u]);
    const e = echoOf(await get(p, "/p"));
    expect(e.headers["x-envoy-original-path"]).toBeUndefined();
  });

  it("authority rewrite replaces Host upstream", async () => {
    const u = await echo("a");
    const p = await serve([route("rw", { route: { cluster: "a", hostRewriteLiteral: "backend.internal:9090" } })], [u]);
    await get(p, "/", {}, "front.example");
    const raw = lastRaw(u);
    expect(valuesOf(raw, "host")).toEqual(["backend.internal:9090"]);
  });
});

describe("header mutations", () => {
  it("request headers: set, add and remove at route level", async () => {
    const u = await echo("a");
    const p = await serve(
      [route("r", { route: { cluster: "a" }, requestHeadersToAdd: [set("x-set", "route"), add("x-add", "route")], requestHeadersToRemove: ["x-secret"] })],
      [u],
    );
    await get(p, "/", { "x-set": "client", "x-add": "client", "x-secret": "hunter2" });
    const raw = lastRaw(u);
    expect(valuesOf(raw, "x-set")).toEqual(["route"]);
    expect(valuesOf(raw, "x-add")).toEqual(["client", "route"]);
    expect(valuesOf(raw, "x-secret")).toEqual([]);
  });

  it("request headers at weighted-cluster level apply first, then the route's", async () => {
    const u = await echo("a");
    const p = await serve(
      [
        route("r", {
          route: { weightedClusters: [wc("a", 100, { requestHeadersToAdd: [set("x-level", "cluster"), add("x-wc", "1")], requestHeadersToRemove: ["x-drop-wc"] })] },
          requestHeadersToAdd: [add("x-level", "route")],
        }),
      ],
      [u],
    );
    await get(p, "/", { "x-drop-wc": "gone" });
    const raw = lastRaw(u);
    expect(valuesOf(raw, "x-level")).toEqual(["cluster", "route"]);
    expect(valuesOf(raw, "x-wc")).toEqual(["1"]);
    expect(valuesOf(raw, "x-drop-wc")).toEqual([]);
  });

  it("response headers: set, add and remove at route and weighted-cluster level", async () => {
    const u = await echo("a", (_req, res) => {
      res.setHeader("x-replace", "upstream");
      res.setHeader("x-append", "upstream");
      res.setHeader("x-internal", "leak");
      res.setHeader("x-internal-wc", "leak");
      res.end("ok");
    });
    const p = await serve(
      [
        route("r", {
          route: { weightedClusters: [wc("a", 1, { responseHeadersToAdd: [add("x-from-wc", "yes")], responseHeadersToRemove: ["x-internal-wc"] })] },
          responseHeadersToAdd: [set("x-replace", "route"), add("x-append", "route")],
          responseHeadersToRemove: ["x-internal"],
        }),
      ],
      [u],
    );
    const r = await get(p, "/");
    expect(r.status).toBe(200);
    const lines = r.rawHead.split("\r\n").slice(1).map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()] as [string, string]);
    expect(valuesOf(lines, "x-replace")).toEqual(["route"]);
    expect(valuesOf(lines, "x-append")).toEqual(["upstream", "route"]);
    expect(valuesOf(lines, "x-internal")).toEqual([]);
    expect(valuesOf(lines, "x-internal-wc")).toEqual([]);
    expect(valuesOf(lines, "x-from-wc")).toEqual(["yes"]);
  });
});

describe("cluster choice", () => {
  it("splits weighted clusters in proportion (seeded random, deterministic)", async () => {
    const a = await echo("a");
    const b = await echo("b");
    const p = await serve([route("split", { route: { weightedClusters: [wc("a", 80), wc("b", 20)] } })], [a, b], { seed: 7 });
    const N = 400;
    const counts: Record<string, number> = { a: 0, b: 0 };
    for (let i = 0; i < N; i++) {
      const res = await fetch(p.url(`/${i}`));
      counts[res.headers.get("x-upstream")!]!++;
      await res.arrayBuffer();
    }
    expect(counts.a! + counts.b!).toBe(N);
    // Expected 320/80; sd ≈ 8. ±40 is five standard deviations, and the seed makes it repeatable.
    expect(counts.a).toBeGreaterThan(280);
    expect(counts.a).toBeLessThan(360);
    expect(a.requests.length).toBe(counts.a);
    expect(b.requests.length).toBe(counts.b);
    const clusters = new Set(p.streams.map((s) => s.clusterName));
    expect(clusters).toEqual(new Set(["a", "b"]));
  });

  it("first match wins across routes", async () => {
    const a = await echo("a");
    const b = await echo("b");
    const p = await serve(
      [route("broad", { route: { cluster: "a" } }, { prefix: "/api" }), route("narrow", { route: { cluster: "b" } }, { prefix: "/api/v2" })],
      [a, b],
    );
    expect(echoOf(await get(p, "/api/v2/x")).name).toBe("a");
    expect(p.streams[0]!.routeName).toBe("broad");
  });

  it("routes by header and by query parameter end to end", async () => {
    const a = await echo("a");
    const b = await echo("b");
    const c = await echo("c");
    const p = await serve(
      [
        route("canary", { route: { cluster: "b" } }, { headers: [{ name: "x-canary", stringMatch: { exact: "true" } }] }),
        route("v3", { route: { cluster: "c" } }, { queryParameters: [{ name: "version", stringMatch: { exact: "3" } }] }),
        route("default", { route: { cluster: "a" } }),
      ],
      [a, b, c],
    );
    expect(echoOf(await get(p, "/x", { "X-Canary": "true" })).name).toBe("b");
    expect(echoOf(await get(p, "/x", { "X-Canary": "false" })).name).toBe("a");
    expect(echoOf(await get(p, "/x?version=3")).name).toBe("c");
    expect(echoOf(await get(p, "/x?version=30")).name).toBe("a");
    expect(p.streams.map((s) => s.routeName)).toEqual(["canary", "default", "v3", "default"]);
  });

  it("selects the virtual host by Host, port included", async () => {
    const a = await echo("a");
    const b = await echo("b");
    const snap = await snapshotWith(
      [
        { name: "vh-a", domains: ["a.example", "a.example:8080"], routes: [route("ra", { route: { cluster: "a" } })] },
        { name: "vh-b", domains: ["b.example:8080"], routes: [route("rb", { route: { cluster: "b" } })] },
      ],
      [cluster("a", [a.port]), cluster("b", [b.port])],
    );
    proxy = await startProxy(snap);
    expect(echoOf(await get(proxy, "/", {}, "a.example:8080")).name).toBe("a");
    expect(echoOf(await get(proxy, "/", {}, "b.example:8080")).name).toBe("b");
    expect((await get(proxy, "/", {}, "b.example")).status).toBe(404);
  });
});
