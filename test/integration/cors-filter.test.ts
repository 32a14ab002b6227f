// Envoy's CORS filter over real sockets: preflights answered or forwarded, the CORS response
// headers on actual requests, route vs virtual host policies, filter_enabled / shadow_enabled
// fractions, and the `http.<stat_prefix>.cors.*` counters.

import { afterEach, describe, expect, it } from "vitest";
import type { Random } from "../../src/common/random.js";
import { HTTP_CORS_FILTER, type CorsPolicy, type Route, type VirtualHost } from "../../src/config/model/types.js";
import { StatsStore } from "../../src/observability/stats/stats-store.js";
import { hcmOfListener } from "../helpers/model.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { parseResponses, rawExchange } from "../helpers/raw-client.js";
import { startEchoUpstream, type EchoUpstream, type Handler } from "../helpers/upstreams.js";

let proxy: TestProxy | undefined;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function upstream(handler?: Handler): Promise<EchoUpstream> {
  const u = await startEchoUpstream("app", handler);
  cleanups.push(() => u.close());
  return u;
}

interface Setup {
  p: TestProxy;
  u: EchoUpstream;
  stats: StatsStore;
  /** `http.<stat_prefix>.cors.` */
  statPrefix: string;
}

const FOO = "http://foo.example";

/** The sample policy of Istio's tests/testdata/config/rule-default-route-cors-policy.yaml, as istiod translates it. */
const samplePolicy: CorsPolicy = {
  allowOriginStringMatch: [{ exact: FOO }],
  allowMethods: "POST,GET,OPTIONS",
  allowHeaders: "content-type",
  exposeHeaders: "x-custom-header",
  maxAge: "300",
  allowCredentials: true,
  forwardNotMatchingPreflights: true,
  filterEnabled: { numerator: 100, denominator: "HUNDRED" },
};

function cors(p: CorsPolicy): Pick<Route, "typedPerFilterConfig"> {
  return { typedPerFilterConfig: { [HTTP_CORS_FILTER]: p } };
}

async function setup(vhosts: (port: number) => VirtualHost[], o: { random?: Random; handler?: Handler } = {}): Promise<Setup> {
  const u = await upstream(o.handler);
  const snap = await snapshotWith(vhosts(u.port), [cluster("c", [u.port])]);
  const stats = new StatsStore();
  proxy = await startProxy(snap, { runtime: { stats }, ...(o.random !== undefined ? { random: o.random } : {}) });
  return { p: proxy, u, stats, statPrefix: `http.${hcmOfListener(snap.listeners[0]!).statPrefix}.cors.` };
}

/** One virtual host "*" with one forwarding route carrying `policy`. */
function oneRoute(policy: CorsPolicy | undefined): () => VirtualHost[] {
  return () => [{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "c" }, ...(policy ? cors(policy) : {}) })] }];
}

async function send(s: Setup, method: string, headers: Record<string, string>, path = "/"): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  const out = await rawExchange(s.p.port, `${method} ${path} HTTP/1.1\r\nHost: svc\r\n${extra}Connection: close\r\n\r\n`);
  const r = parseResponses(out)[0]!;
  return { status: r.status, headers: r.headers, body: r.body.toString() };
}

const preflight = (origin: string, method = "POST", more: Record<string, string> = {}): Record<string, string> => ({ Origin: origin, "Access-Control-Request-Method": method, ...more });

function counters(s: Setup): { valid: number; invalid: number } {
  const c = s.stats.snapshot().counters;
  return { valid: c[`${s.statPrefix}origin_valid`] ?? 0, invalid: c[`${s.statPrefix}origin_invalid`] ?? 0 };
}

/** A Random whose draws are `values` in turn (int(n) returns them as is). */
function scripted(values: number[]): Random {
  let i = 0;
  return { next: () => values[i++ % values.length]! / 100, int: () => values[i++ % values.length]! };
}

describe("preflight", () => {
  it("an allowed origin's preflight is answered 200 locally with the policy's headers (details cors_response)", async () => {
    const s = await setup(oneRoute(samplePolicy));
    const r = await send(s, "OPTIONS", preflight(FOO, "POST", { "Access-Control-Request-Headers": "content-type" }));
    expect(r.status).toBe(200);
    expect(r.body).toBe("");
    expect(r.headers["access-control-allow-origin"]).toBe(FOO);
    expect(r.headers["access-control-allow-methods"]).toBe("POST,GET,OPTIONS");
    expect(r.headers["access-control-allow-headers"]).toBe("content-type");
    expect(r.headers["access-control-max-age"]).toBe("300");
    expect(r.headers["access-control-allow-credentials"]).toBe("true");
    // expose-headers belong on actual responses, not on the preflight answer.
    expect(r.headers["access-control-expose-headers"]).toBeUndefined();
    expect(r.headers["access-control-allow-private-network"]).toBeUndefined();
    expect(s.u.requests).toHaveLength(0);
    expect(s.p.streams[0]!.responseCodeDetails).toBe("cors_response");
    expect(counters(s)).toEqual({ valid: 1, invalid: 0 });
  });

  it("a preflight from an origin not allowed goes upstream when forward_not_matching_preflights is unset (Envoy's default) or true", async () => {
    for (const forward of [undefined, true]) {
      const { forwardNotMatchingPreflights: _, ...rest } = samplePolicy;
      const s = await setup(oneRoute(forward === undefined ? rest : { ...rest, forwardNotMatchingPreflights: forward }));
      const r = await send(s, "OPTIONS", preflight("http://evil.example"));
      expect(r.status).toBe(200);
      expect(r.headers["x-upstream"]).toBe("app");
      expect(r.headers["access-control-allow-origin"]).toBeUndefined();
      expect(s.u.requests.map((q) => q.method)).toEqual(["OPTIONS"]);
      expect(counters(s)).toEqual({ valid: 0, invalid: 1 });
      await proxy!.close();
      proxy = undefined;
    }
  });

  it("forward_not_matching_preflights false (Istio unmatchedPreflights: IGNORE): answered locally without access-control-allow-origin", async () => {
    const s = await setup(oneRoute({ ...samplePolicy, forwardNotMatchingPreflights: false }));
    const r = await send(s, "OPTIONS", preflight("http://evil.example"));
    expect(r.status).toBe(200);
    expect(r.headers["x-upstream"]).toBeUndefined();
    expect(r.headers["access-control-allow-origin"]).toBeUndefined();
    // Envoy still lists what the policy allows.
    expect(r.headers["access-control-allow-methods"]).toBe("POST,GET,OPTIONS");
    expect(s.u.requests).toHaveLength(0);
    expect(counters(s)).toEqual({ valid: 0, invalid: 1 });
  });

  it("OPTIONS without Access-Control-Request-Method is not a preflight: it goes upstream and gets the CORS headers back", async () => {
    const s = await setup(oneRoute(samplePolicy));
    const r = await send(s, "OPTIONS", { Origin: FOO });
    expect(r.headers["x-upstream"]).toBe("app");
    expect(r.headers["access-control-allow-origin"]).toBe(FOO);
    expect(r.headers["access-control-expose-headers"]).toBe("x-custom-header");
  });

  it("allow_methods / allow_headers '*' echo the request's Access-Control-Request-Method / -Headers", async () => {
    const s = await setup(oneRoute({ allowOriginStringMatch: [{ exact: FOO }], allowMethods: "*", allowHeaders: "*" }));
    const r = await send(s, "OPTIONS", preflight(FOO, "PATCH", { "Access-Control-Request-Headers": "x-a,x-b" }));
    expect(r.headers["access-control-allow-methods"]).toBe("PATCH");
    expect(r.headers["access-control-allow-headers"]).toBe("x-a,x-b");
    expect(r.headers["access-control-max-age"]).toBeUndefined();
    expect(r.headers["access-control-allow-credentials"]).toBeUndefined();
  });

  it("private network access: answered only when the policy allows it and the preflight asks", async () => {
    const s = await setup(oneRoute({ allowOriginStringMatch: [{ exact: FOO }], allowPrivateNetworkAccess: true }));
    const asked = await send(s, "OPTIONS", preflight(FOO, "GET", { "Access-Control-Request-Private-Network": "true" }));
    expect(asked.headers["access-control-allow-private-network"]).toBe("true");
    const notAsked = await send(s, "OPTIONS", preflight(FOO));
    expect(notAsked.headers["access-control-allow-private-network"]).toBeUndefined();
  });
});

describe("actual requests", () => {
  it("an allowed origin gets access-control-allow-origin, -allow-credentials and -expose-headers on the upstream's response", async () => {
    const s = await setup(oneRoute(samplePolicy));
    const r = await send(s, "GET", { Origin: FOO });
    expect(r.status).toBe(200);
    expect(r.headers["x-upstream"]).toBe("app");
    expect(r.headers["access-control-allow-origin"]).toBe(FOO);
    expect(r.headers["access-control-allow-credentials"]).toBe("true");
    expect(r.headers["access-control-expose-headers"]).toBe("x-custom-header");
    expect(s.u.requests[0]!.headers["origin"]).toBe(FOO);
    expect(counters(s)).toEqual({ valid: 1, invalid: 0 });
  });

  it("the filter overwrites an access-control-allow-origin the upstream set", async () => {
    const s = await setup(oneRoute(samplePolicy), {
      handler: (_q, res) => {
        res.writeHead(200, { "access-control-allow-origin": "*", "content-length": "0" });
        res.end();
      },
    });
    const r = await send(s, "GET", { Origin: FOO });
    expect(r.headers["access-control-allow-origin"]).toBe(FOO);
  });

  it("an origin not allowed: the response is the upstream's, untouched, and origin_invalid counts it", async () => {
    const s = await setup(oneRoute(samplePolicy));
    const r = await send(s, "POST", { Origin: "http://evil.example", "Content-Length": "0" });
    expect(r.headers["x-upstream"]).toBe("app");
    expect(r.headers["access-control-allow-origin"]).toBeUndefined();
    expect(r.headers["access-control-expose-headers"]).toBeUndefined();
    expect(counters(s)).toEqual({ valid: 0, invalid: 1 });
  });

  it("no Origin header (or an empty one): untouched and not counted", async () => {
    const s = await setup(oneRoute(samplePolicy));
    const r = await send(s, "GET", {});
    expect(r.headers["access-control-allow-origin"]).toBeUndefined();
    const pre = await send(s, "OPTIONS", { "Access-Control-Request-Method": "GET" });
    expect(pre.headers["x-upstream"]).toBe("app");
    const empty = await send(s, "GET", { Origin: "" });
    expect(empty.headers["access-control-allow-origin"]).toBeUndefined();
    expect(counters(s)).toEqual({ valid: 0, invalid: 0 });
  });
});

describe("allowed origins", () => {
  it("exact '*' allows any origin (Envoy tries each matcher against '*' first)", async () => {
    const s = await setup(oneRoute({ allowOriginStringMatch: [{ exact: "*" }] }));
    const r = await send(s, "GET", { Origin: "https://anything.test" });
    expect(r.headers["access-control-allow-origin"]).toBe("https://anything.test");
  });

  it("regex (full match), prefix and ignore_case matchers", async () => {
    const s = await setup(oneRoute({ allowOriginStringMatch: [{ safeRegex: "https://[a-z]+\\.example\\.com" }, { prefix: "http://localhost:" }, { exact: "HTTP://UPPER.TEST", ignoreCase: true }] }));
    const allowed = async (o: string): Promise<boolean> => (await send(s, "GET", { Origin: o })).headers["access-control-allow-origin"] === o;
    expect(await allowed("https://shop.example.com")).toBe(true);
    expect(await allowed("https://shop.example.com.evil")).toBe(false);
    expect(await allowed("http://localhost:3000")).toBe(true);
    expect(await allowed("http://upper.test")).toBe(true);
    expect(await allowed("http://other.test")).toBe(false);
    expect(counters(s)).toEqual({ valid: 3, invalid: 2 });
  });

  it("a policy without allowed origins allows none", async () => {
    const s = await setup(oneRoute({ allowOriginStringMatch: [], allowMethods: "GET" }));
    const r = await send(s, "OPTIONS", preflight(FOO));
    expect(r.headers["x-upstream"]).toBe("app");
    expect(counters(s)).toEqual({ valid: 0, invalid: 1 });
  });
});

describe("route and virtual host policies", () => {
  const vhPolicy: CorsPolicy = { allowOriginStringMatch: [{ exact: FOO }], allowMethods: "GET", exposeHeaders: "x-vh", allowCredentials: true };
  const vhosts = (): VirtualHost[] => [
    {
      name: "vh",
      domains: ["*"],
      typedPerFilterConfig: { [HTTP_CORS_FILTER]: vhPolicy },
      routes: [
        route("own", { route: { cluster: "c" }, ...cors({ allowOriginStringMatch: [], exposeHeaders: "x-route", allowCredentials: false }) }, { prefix: "/own" }),
        route("other-origins", { route: { cluster: "c" }, ...cors({ allowOriginStringMatch: [{ exact: "http://bar.example" }] }) }, { prefix: "/bar" }),
        route("direct", { directResponse: { status: 204 } }, { prefix: "/direct" }),
        route("inherits", { route: { cluster: "c" } }),
      ],
    },
  ];

  it("a route without a policy runs its virtual host's", async () => {
    const s = await setup(vhosts);
    const r = await send(s, "GET", { Origin: FOO }, "/x");
    expect(r.headers["access-control-allow-origin"]).toBe(FOO);
    expect(r.headers["access-control-expose-headers"]).toBe("x-vh");
    expect(r.headers["access-control-allow-credentials"]).toBe("true");
  });

  it("field by field, the route's setting wins and an unset one falls back to the virtual host's", async () => {
    const s = await setup(vhosts);
    const r = await send(s, "GET", { Origin: FOO }, "/own");
    // Origins come from the virtual host (the route lists none); expose headers and credentials from the route.
    expect(r.headers["access-control-allow-origin"]).toBe(FOO);
    expect(r.headers["access-control-expose-headers"]).toBe("x-route");
    expect(r.headers["access-control-allow-credentials"]).toBeUndefined();
    const pre = await send(s, "OPTIONS", preflight(FOO), "/own");
    expect(pre.headers["access-control-allow-methods"]).toBe("GET");
  });

  it("a route's allowed origins replace the virtual host's", async () => {
    const s = await setup(vhosts);
    expect((await send(s, "GET", { Origin: FOO }, "/bar")).headers["access-control-allow-origin"]).toBeUndefined();
    expect((await send(s, "GET", { Origin: "http://bar.example" }, "/bar")).headers["access-control-allow-origin"]).toBe("http://bar.example");
  });

  it("direct responses and unmatched requests are left alone, as Envoy's filter acts on route entries only", async () => {
    const s = await setup(() => [{ ...vhosts()[0]!, routes: vhosts()[0]!.routes.slice(0, 3) }]);
    const d = await send(s, "OPTIONS", preflight(FOO), "/direct");
    expect(d.status).toBe(204);
    expect(d.headers["access-control-allow-origin"]).toBeUndefined();
    const nr = await send(s, "GET", { Origin: FOO }, "/nothing");
    expect(nr.status).toBe(404);
    expect(nr.headers["access-control-allow-origin"]).toBeUndefined();
    expect(counters(s)).toEqual({ valid: 0, invalid: 0 });
  });
});

describe("filter_enabled and shadow_enabled", () => {
  it("filter_enabled 0%: the filter does nothing, not even count", async () => {
    const s = await setup(oneRoute({ ...samplePolicy, filterEnabled: { numerator: 0, denominator: "HUNDRED" } }));
    const r = await send(s, "OPTIONS", preflight(FOO));
    expect(r.headers["x-upstream"]).toBe("app");
    expect(r.headers["access-control-allow-origin"]).toBeUndefined();
    expect(counters(s)).toEqual({ valid: 0, invalid: 0 });
  });

  it("filter_enabled 50%: each request is rolled with the injected Random (draw < 50 = enabled)", async () => {
    // Draws alternate 10 (enabled), 90 (disabled).
    const s = await setup(oneRoute({ ...samplePolicy, filterEnabled: { numerator: 50, denominator: "HUNDRED" } }), { random: scripted([10, 90]) });
    const first = await send(s, "GET", { Origin: FOO });
    const second = await send(s, "GET", { Origin: FOO });
    expect(first.headers["access-control-allow-origin"]).toBe(FOO);
    expect(second.headers["access-control-allow-origin"]).toBeUndefined();
    expect(counters(s)).toEqual({ valid: 1, invalid: 0 });
  });

  it("shadow_enabled with the filter off: origins are counted, nothing else happens", async () => {
    const s = await setup(oneRoute({ ...samplePolicy, filterEnabled: { numerator: 0, denominator: "HUNDRED" }, shadowEnabled: { numerator: 100, denominator: "HUNDRED" } }));
    const pre = await send(s, "OPTIONS", preflight(FOO));
    expect(pre.headers["x-upstream"]).toBe("app");
    expect(pre.headers["access-control-allow-origin"]).toBeUndefined();
    await send(s, "GET", { Origin: "http://evil.example" });
    expect(counters(s)).toEqual({ valid: 1, invalid: 1 });
  });
});

describe("bad policies", () => {
  it("a safe_regex RE2 cannot compile refuses the snapshot, naming the route and the matcher", async () => {
    const u = await upstream();
    const snap = await snapshotWith(oneRoute({ allowOriginStringMatch: [{ exact: "a" }, { safeRegex: "(" }] })(), [cluster("c", [u.port])]);
    await expect(startProxy(snap)).rejects.toThrow(/virtual host "vh": route "r" \[0\]: cors allowOriginStringMatch\[1\]: safeRegex/);
  });
});
