import { describe, expect, it } from "vitest";
import type { Route, VirtualHost } from "../../../src/config/model/types.js";
import { doc, reviewsSE, run, se } from "./helpers.js";

function vs(body: string, name = "reviews", ns = "shop"): string {
  return doc("VirtualService", name, ns, body);
}

function vhost(r: ReturnType<typeof run>, rc: string, name: string): VirtualHost {
  const v = r.snapshot.routeConfigs[rc]?.virtualHosts.find((x) => x.name === name);
  if (!v) throw new Error(`no vhost ${name} in ${rc}: ${JSON.stringify(r.snapshot.routeConfigs[rc]?.virtualHosts.map((x) => x.name))} ${r.messages.join("\n")}`);
  return v;
}

function routesOf(yaml: string, opts = {}): Route[] {
  const r = run(reviewsSE + yaml, opts);
  expect(r.messages).toEqual([]);
  return vhost(r, "9080", "reviews.shop.svc.cluster.local:9080").routes;
}

describe("match translation", () => {
  it("each match block becomes its own route; a rule without match is prefix /", () => {
    const routes = routesOf(
      vs(`  hosts: [reviews]
  http:
  - name: r1
    match:
    - name: a
      uri: {exact: /exact}
    - uri: {prefix: /pre}
      ignoreUriCase: true
    - uri: {regex: '/re/[0-9]+'}
    route:
    - destination: {host: reviews}
  - route:
    - destination: {host: reviews, subset: v1}`),
    );
    expect(routes.map((r) => [r.name, r.match])).toEqual([
      ["r1.a", { path: "/exact", caseSensitive: true, headers: [], queryParameters: [] }],
      ["r1", { prefix: "/pre", caseSensitive: false, headers: [], queryParameters: [] }],
      ["r1", { safeRegex: "/re/[0-9]+", caseSensitive: true, headers: [], queryParameters: [] }],
      ["reviews.http1", { prefix: "/", caseSensitive: true, headers: [], queryParameters: [] }],
    ]);
    expect(routes[3]!.route).toMatchObject({ cluster: "outbound|9080|v1|reviews.shop.svc.cluster.local" });
    expect(routes[0]!.source).toBe("shop/reviews http[0] match[0]");
  });

  it("headers (exact/prefix/regex/presence), withoutHeaders, method/authority/scheme, query params", () => {
    const [r] = routesOf(
      vs(`  hosts: [reviews]
  http:
  - match:
    - headers:
        x-b: {prefix: pre}
        x-a: {exact: one}
        x-c: {regex: 'v[0-9]'}
        x-any: {}
      withoutHeaders:
        x-debug: {}
        x-env: {exact: prod}
      method: {exact: GET}
      authority: {prefix: reviews}
      scheme: {exact: https}
      queryParams:
        q: {exact: '1'}
        p: {regex: '*'}
    route:
    - destination: {host: reviews}`),
    );
    expect(r!.match.headers).toEqual([
      { name: "x-a", stringMatch: { exact: "one" } },
      { name: "x-any", presentMatch: true },
      { name: "x-b", stringMatch: { prefix: "pre" } },
      { name: "x-c", stringMatch: { safeRegex: "v[0-9]" } },
      { name: "x-debug", presentMatch: true, invertMatch: true },
      { name: "x-env", stringMatch: { exact: "prod" }, invertMatch: true },
      { name: ":method", stringMatch: { exact: "GET" } },
      { name: ":authority", stringMatch: { prefix: "reviews" } },
      { name: ":scheme", stringMatch: { exact: "https" } },
    ]);
    expect(r!.match.queryParameters).toEqual([
      { name: "q", stringMatch: { exact: "1" } },
      { name: "p", presentMatch: true },
    ]);
  });

  it("port, sourceLabels, sourceNamespace and gateways guard match blocks; catch-all stops the list", () => {
    const yaml = vs(`  hosts: [reviews]
  http:
  - name: other-port
    match: [{port: 8080}]
    route: [{destination: {host: reviews}}]
  - name: from-web
    match: [{sourceLabels: {app: web}, uri: {prefix: /w}}]
    route: [{destination: {host: reviews}}]
  - name: from-api
    match: [{sourceLabels: {app: api}, uri: {prefix: /api}}]
    route: [{destination: {host: reviews}}]
  - name: from-ns
    match: [{sourceNamespace: prod, uri: {prefix: /ns}}]
    route: [{destination: {host: reviews}}]
  - name: gw
    match: [{gateways: [istio-system/ingress]}]
    route: [{destination: {host: reviews}}]
  - name: mesh
    match: [{gateways: [mesh], uri: {prefix: /m}}]
    route: [{destination: {host: reviews}}]
  - name: all
    match: [{uri: {prefix: /}}]
    route: [{destination: {host: reviews}}]
  - name: never
    route: [{destination: {host: reviews}}]`);
    expect(routesOf(yaml).map((r) => r.name)).toEqual(["from-web", "mesh", "all"]);
    expect(routesOf(yaml, { proxyLabels: { app: "api" }, namespace: "prod" }).map((r) => r.name)).toEqual(["from-api", "from-ns", "mesh", "all"]);
  });
});

describe("actions", () => {
  it("redirect: uri → pathRedirect, authority, scheme, port, derivePort, default code 301", () => {
    const routes = routesOf(
      vs(`  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /a}}]
    redirect: {uri: /new, authority: x.example.com}
  - match: [{uri: {prefix: /b}}]
    redirect: {scheme: https, port: 8443, redirectCode: 308}
  - match: [{uri: {prefix: /c}}]
    redirect: {derivePort: FROM_REQUEST_PORT}
  - match: [{uri: {prefix: /d}}]
    redirect: {scheme: http, port: 80, redirectCode: 302}`),
    );
    expect(routes.map((r) => r.redirect)).toEqual([
      { responseCode: 301, pathRedirect: "/new", hostRedirect: "x.example.com" },
      { responseCode: 308, schemeRedirect: "https", portRedirect: 8443 },
      { responseCode: 301, derivePort: "FROM_REQUEST_PORT", portRedirect: 9080 },
      { responseCode: 302, schemeRedirect: "http" },
    ]);
    expect(routes[0]!.route).toBeUndefined();
  });

  it("rewrite: uri → prefixRewrite, uriRegexRewrite → regexRewrite, authority → hostRewriteLiteral", () => {
    const routes = routesOf(
      vs(`  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /v1/}}]
    rewrite: {uri: /, authority: new.example.com}
    route: [{destination: {host: reviews}}]
  - match: [{uri: {prefix: /v2/}}]
    rewrite: {uriRegexRewrite: {match: '^/v2/(.*)$', rewrite: '/\\1'}}
    route: [{destination: {host: reviews}}]
  - headers: {request: {set: {':authority': via-headers.example.com}}}
    route: [{destination: {host: reviews}}]`),
    );
    expect(routes.map(({ route }) => ({ ...route, retryPolicy: undefined }))).toEqual([
      { prefixRewrite: "/", hostRewriteLiteral: "new.example.com", cluster: "outbound|9080||reviews.shop.svc.cluster.local", timeoutMs: 0, maxGrpcTimeoutMs: 0 },
      { regexRewrite: { pattern: "^/v2/(.*)$", substitution: "/\\1" }, cluster: "outbound|9080||reviews.shop.svc.cluster.local", timeoutMs: 0, maxGrpcTimeoutMs: 0 },
      { hostRewriteLiteral: "via-headers.example.com", cluster: "outbound|9080||reviews.shop.svc.cluster.local", timeoutMs: 0, maxGrpcTimeoutMs: 0 },
    ]);
  });

  it("headers: rule level on the Route; destination level on WeightedCluster, or on the Route for one destination", () => {
    const routes = routesOf(
      vs(`  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /one}}]
    headers:
      request: {set: {x-b: '2', x-a: '1'}, add: {x-c: '3'}, remove: [x-drop]}
      response: {set: {x-r: r}, remove: [server]}
    route:
    - destination: {host: reviews}
      headers: {request: {add: {x-d: d}}, response: {remove: [x-internal]}}
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 75
      headers: {request: {set: {x-v: v1}}}
    - destination: {host: reviews, subset: v2}
      weight: 25
    - destination: {host: reviews, subset: v3}
      weight: 0`),
    );
    expect(routes[0]).toMatchObject({
      requestHeadersToAdd: [
        { key: "x-a", value: "1", appendAction: "OVERWRITE_IF_EXISTS_OR_ADD" },
        { key: "x-b", value: "2", appendAction: "OVERWRITE_IF_EXISTS_OR_ADD" },
        { key: "x-c", value: "3", appendAction: "APPEND_IF_EXISTS_OR_ADD" },
        { key: "x-d", value: "d", appendAction: "APPEND_IF_EXISTS_OR_ADD" },
      ],
      requestHeadersToRemove: ["x-drop"],
      responseHeadersToAdd: [{ key: "x-r", value: "r", appendAction: "OVERWRITE_IF_EXISTS_OR_ADD" }],
      responseHeadersToRemove: ["server", "x-internal"],
    });
    expect(routes[1]!.route?.weightedClusters).toEqual([
      { name: "outbound|9080|v1|reviews.shop.svc.cluster.local", weight: 75, requestHeadersToAdd: [{ key: "x-v", value: "v1", appendAction: "OVERWRITE_IF_EXISTS_OR_ADD" }], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] },
      { name: "outbound|9080|v2|reviews.shop.svc.cluster.local", weight: 25, requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] },
    ]);
  });

  it("skips delegate rules (unsupported, warned) instead of emitting an empty route", () => {
    const r = run(reviewsSE + vs("  hosts: [reviews]\n  http:\n  - delegate: {name: other}\n  - route: [{destination: {host: reviews}}]"));
    expect(r.messages).toEqual([]);
    expect(r.warningMessages).toContain("mesh/config.yaml:25: warning: spec.http[0].delegate: delegate virtual services are not supported yet; rule ignored");
    expect(vhost(r, "9080", "reviews.shop.svc.cluster.local:9080").routes.map((x) => x.name)).toEqual(["reviews.http1"]);
  });

  it("directResponse → DirectResponseAction", () => {
    const [r] = routesOf(vs("  hosts: [reviews]\n  http:\n  - directResponse: {status: 503, body: {string: down for maintenance}}"));
    expect(r!.directResponse).toEqual({ status: 503, body: "down for maintenance" });
    expect(r!.route).toBeUndefined();
  });

  it("destination port: explicit, the service's only port, else the listener port", () => {
    const multi = se("multi", "shop", "  hosts: [multi.shop.svc.cluster.local]\n  resolution: STATIC\n  ports: [{number: 80, name: http}, {number: 9080, name: http-alt}]\n  endpoints: [{address: 10.0.0.9}]");
    const r = run(
      reviewsSE +
        multi +
        vs(`  hosts: [reviews]
  http:
  - match: [{uri: {prefix: /m}}]
    route: [{destination: {host: multi}}]
  - match: [{uri: {prefix: /p}}]
    route: [{destination: {host: multi, port: {number: 80}}}]
  - route: [{destination: {host: reviews.shop.svc.cluster.local}}]`),
    );
    expect(r.messages).toEqual([]);
    expect(r.warningMessages).toEqual([expect.stringContaining("destination multi.shop.svc.cluster.local has 2 ports: set destination.port")]);
    const routes = vhost(r, "9080", "reviews.shop.svc.cluster.local:9080").routes;
    expect(routes.map((x) => x.route?.cluster)).toEqual([
      "outbound|9080||multi.shop.svc.cluster.local",
      "outbound|80||multi.shop.svc.cluster.local",
      "outbound|9080||reviews.shop.svc.cluster.local",
    ]);
  });
});

describe("virtual hosts and domains", () => {
  it("cluster hosts seen from their own namespace and from another", () => {
    const same = run(reviewsSE);
    expect(vhost(same, "9080", "reviews.shop.svc.cluster.local:9080").domains).toEqual([
      "reviews.shop.svc.cluster.local",
      "reviews.shop.svc.cluster.local:9080",
      "reviews",
      "reviews:9080",
      "reviews.shop",
      "reviews.shop:9080",
      "reviews.shop.svc",
      "reviews.shop.svc:9080",
    ]);
    const other = run(reviewsSE, { namespace: "web" });
    expect(vhost(other, "9080", "reviews.shop.svc.cluster.local:9080").domains).toEqual([
      "reviews.shop.svc.cluster.local",
      "reviews.shop.svc.cluster.local:9080",
      "reviews.shop",
      "reviews.shop:9080",
      "reviews.shop.svc",
      "reviews.shop.svc:9080",
    ]);
    expect(vhost(other, "9080", "reviews.shop.svc.cluster.local:9080").routes).toEqual([
      { name: "default", match: { prefix: "/", caseSensitive: true, headers: [], queryParameters: [] }, route: { cluster: "outbound|9080||reviews.shop.svc.cluster.local", timeoutMs: 0, retryPolicy: expect.objectContaining({ numRetries: 2 }), maxGrpcTimeoutMs: 0 }, requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] },
    ]);
  });

  it("non-cluster hosts get host and host:port; VIPs too; lower-cased", () => {
    const r = run(se("ext", "shop", "  hosts: [API.Example.com]\n  addresses: [240.0.0.1]\n  resolution: DNS\n  ports: [{number: 80, name: http}]"));
    expect(vhost(r, "80", "api.example.com:80").domains).toEqual(["api.example.com", "api.example.com:80", "240.0.0.1", "240.0.0.1:80"]);
  });

  it("a VirtualService for a host without a ServiceEntry still gets a virtual host; wildcard VS hosts cover services", () => {
    const r = run(
      se("a", "shop", "  hosts: [a.example.com]\n  resolution: DNS\n  ports: [{number: 80, name: http}]") +
        se("b", "shop", "  hosts: [b.example.com]\n  resolution: DNS\n  ports: [{number: 80, name: http}]") +
        vs("  hosts: ['*.example.com']\n  http:\n  - directResponse: {status: 204}", "wild") +
        vs("  hosts: [b.example.com]\n  http:\n  - directResponse: {status: 200}", "exact-b") +
        vs("  hosts: [nowhere.example.org]\n  http:\n  - directResponse: {status: 404}", "nowhere"),
    );
    expect(r.messages).toEqual([]);
    const vhs = r.snapshot.routeConfigs["80"]!.virtualHosts;
    expect(vhs.map((v) => [v.name, v.routes[0]?.directResponse?.status])).toEqual([
      ["a.example.com:80", 204],
      ["b.example.com:80", 200],
      ["nowhere.example.org:80", 404],
    ]);
    expect(vhs[2]!.domains).toEqual(["nowhere.example.org", "nowhere.example.org:80"]);
  });
});
