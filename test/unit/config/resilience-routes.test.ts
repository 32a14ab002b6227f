// VirtualService timeout / retries / fault / mirrors and DestinationRule consistent hash → route
// actions, with istiod's defaults and choices.
import { describe, expect, it } from "vitest";
import type { TranslateOptions } from "../../../src/config/istio/translate.js";
import type { RetryPolicy, Route } from "../../../src/config/model/types.js";
import { doc, reviewsSE, run, se } from "./helpers.js";

function vs(body: string, name = "reviews", ns = "shop"): string {
  return doc("VirtualService", name, ns, body);
}

function routesOf(yaml: string, opts: Partial<TranslateOptions> = {}): Route[] {
  const r = run(reviewsSE + ratingsSE + yaml, opts);
  expect(r.messages).toEqual([]);
  const v = r.snapshot.routeConfigs["9080"]?.virtualHosts.find((x) => x.name === "reviews.shop.svc.cluster.local:9080");
  if (!v) throw new Error("no reviews vhost");
  return v.routes;
}

const ratingsSE = se(
  "ratings",
  "shop",
  `  hosts: [ratings.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 9080, name: http, protocol: HTTP}
  - {number: 9090, name: http-admin, protocol: HTTP}
  endpoints:
  - {address: 10.0.1.1}`,
);

const ISTIO_DEFAULT_RETRY: RetryPolicy = {
  retryOn: ["connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes"],
  numRetries: 2,
  retriableStatusCodes: [],
  retriableHeaders: [],
  retryHostPredicatePreviousHosts: true,
  hostSelectionRetryMaxAttempts: 5,
  backoffBaseMs: 25,
  backoffMaxMs: 250,
};

const simpleRoute = "  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews}\n";

describe("timeout", () => {
  it("unset → 0 (disabled, Istio >= 1.0); set → ms; 0s stays 0", () => {
    expect(routesOf(vs(simpleRoute))[0]!.route!.timeoutMs).toBe(0);
    expect(routesOf(vs(simpleRoute + "    timeout: 1.5s\n"))[0]!.route!.timeoutMs).toBe(1500);
    expect(routesOf(vs(simpleRoute + "    timeout: 0s\n"))[0]!.route!.timeoutMs).toBe(0);
  });
});

describe("retries", () => {
  it("unset → Istio's default policy (no 503 retry on current Istio)", () => {
    expect(routesOf(vs(simpleRoute))[0]!.route!.retryPolicy).toEqual(ISTIO_DEFAULT_RETRY);
  });

  it("services without a VirtualService get the default route with the same policy and no timeout", () => {
    const r = run(reviewsSE);
    const route = r.snapshot.routeConfigs["9080"]!.virtualHosts[0]!.routes[0]!;
    // max_grpc_timeout 0s: a gRPC request's grpc-timeout applies, uncapped (istiod's setTimeout).
    expect(route.route).toEqual({ cluster: "outbound|9080||reviews.shop.svc.cluster.local", timeoutMs: 0, retryPolicy: ISTIO_DEFAULT_RETRY, maxGrpcTimeoutMs: 0 });
  });

  it("attempts: 0 → no retry policy at all (istiod returns nil)", () => {
    expect(routesOf(vs(simpleRoute + "    retries: {attempts: 0}\n"))[0]!.route!.retryPolicy).toBeUndefined();
  });

  it("attempts, perTryTimeout, backoff (max = 10 × base), retryRemoteLocalities, retryIgnorePreviousHosts", () => {
    const p = routesOf(vs(simpleRoute + "    retries: {attempts: 4, perTryTimeout: 300ms, backoff: 100ms, retryRemoteLocalities: true, retryIgnorePreviousHosts: false}\n"))[0]!.route!.retryPolicy;
    expect(p).toEqual({
      ...ISTIO_DEFAULT_RETRY,
      numRetries: 4,
      perTryTimeoutMs: 300,
      backoffBaseMs: 100,
      backoffMaxMs: 1000,
      retryRemoteLocalities: true,
      retryHostPredicatePreviousHosts: false,
    });
  });

  it("retryOn: conditions replace the default; integers become retriable status codes and add retriable-status-codes once", () => {
    const on = (s: string) => routesOf(vs(simpleRoute + `    retries: {attempts: 3, retryOn: '${s}'}\n`))[0]!.route!.retryPolicy!;
    expect(on("5xx,gateway-error")).toMatchObject({ retryOn: ["5xx", "gateway-error"], retriableStatusCodes: [] });
    expect(on("gateway-error,503,429")).toMatchObject({ retryOn: ["gateway-error", "retriable-status-codes"], retriableStatusCodes: [503, 429] });
    expect(on("retriable-status-codes,503")).toMatchObject({ retryOn: ["retriable-status-codes"], retriableStatusCodes: [503] });
    expect(on("503")).toMatchObject({ retryOn: ["retriable-status-codes"], retriableStatusCodes: [503] });
    expect(on("reset,connect-failure")).toMatchObject({ retryOn: ["reset", "connect-failure"], numRetries: 3 });
  });
});

describe("fault", () => {
  it("delay: fixedDelay + percentage (value × 10000 per million); deprecated int percent per hundred; none → 0%", () => {
    const f = (spec: string) => routesOf(vs(simpleRoute + `    fault: ${spec}\n`))[0]!.typedPerFilterConfig?.["envoy.filters.http.fault"];
    expect(f("{delay: {fixedDelay: 5s, percentage: {value: 10}}}")).toEqual({ delay: { fixedDelayMs: 5000, percentage: { numerator: 100000, denominator: "MILLION" } } });
    expect(f("{delay: {fixedDelay: 2s, percentage: {value: 0.1}}}")!.delay!.percentage).toEqual({ numerator: 1000, denominator: "MILLION" });
    expect(f("{delay: {fixedDelay: 2s, percent: 30}}")!.delay!.percentage).toEqual({ numerator: 30, denominator: "HUNDRED" });
    // istiod writes 0/HUNDRED when neither is set: no request is delayed (the API agrees).
    expect(f("{delay: {fixedDelay: 2s}}")!.delay!.percentage).toEqual({ numerator: 0, denominator: "HUNDRED" });
  });

  it("abort: httpStatus or grpcStatus (name → code) with percentage; none → 0%", () => {
    const f = (spec: string) => routesOf(vs(simpleRoute + `    fault: ${spec}\n`))[0]!.typedPerFilterConfig?.["envoy.filters.http.fault"];
    expect(f("{abort: {httpStatus: 503, percentage: {value: 50}}}")).toEqual({ abort: { httpStatus: 503, percentage: { numerator: 500000, denominator: "MILLION" } } });
    expect(f("{abort: {grpcStatus: UNAVAILABLE, percentage: {value: 100}}}")).toEqual({ abort: { grpcStatus: 14, percentage: { numerator: 1000000, denominator: "MILLION" } } });
    expect(f("{abort: {grpcStatus: NOT_FOUND}}")).toEqual({ abort: { grpcStatus: 5, percentage: { numerator: 0, denominator: "HUNDRED" } } });
    expect(f("{delay: {fixedDelay: 1s, percentage: {value: 1}}, abort: {httpStatus: 418, percentage: {value: 2}}}")).toEqual({
      delay: { fixedDelayMs: 1000, percentage: { numerator: 10000, denominator: "MILLION" } },
      abort: { httpStatus: 418, percentage: { numerator: 20000, denominator: "MILLION" } },
    });
  });

  it("a faulted route keeps its timeout and retry policy, as istiod emits them", () => {
    const [r] = routesOf(vs(simpleRoute + "    timeout: 2s\n    fault: {abort: {httpStatus: 500, percentage: {value: 10}}}\n"));
    expect(r!.route!.timeoutMs).toBe(2000);
    expect(r!.route!.retryPolicy).toEqual(ISTIO_DEFAULT_RETRY);
  });

  it("an abort without error type yields no fault (warning only)", () => {
    const r = run(reviewsSE + vs(simpleRoute + "    fault: {abort: {percentage: {value: 10}}}\n"));
    expect(r.messages).toEqual([]);
    expect(r.snapshot.routeConfigs["9080"]!.virtualHosts[0]!.routes[0]!.typedPerFilterConfig).toBeUndefined();
  });
});

describe("mirrors", () => {
  it("mirror → cluster name with the destination's port resolution; percentage absent = 100%; no -shadow suffix by default", () => {
    const [r] = routesOf(vs(simpleRoute + "    mirror: {host: ratings, port: {number: 9090}}\n"));
    expect(r!.route!.requestMirrorPolicies).toEqual([
      { cluster: "outbound|9090||ratings.shop.svc.cluster.local", percentage: { numerator: 100, denominator: "HUNDRED" }, disableShadowHostSuffixAppend: true },
    ]);
  });

  it("mirrorPercentage and deprecated mirrorPercent; an explicit 0 means no mirror", () => {
    const m = (extra: string) => routesOf(vs(simpleRoute + "    mirror: {host: reviews, subset: v2}\n" + extra))[0]!.route!.requestMirrorPolicies;
    expect(m("    mirrorPercentage: {value: 12.5}\n")).toEqual([
      { cluster: "outbound|9080|v2|reviews.shop.svc.cluster.local", percentage: { numerator: 125000, denominator: "MILLION" }, disableShadowHostSuffixAppend: true },
    ]);
    expect(m("    mirrorPercent: 40\n")![0]!.percentage).toEqual({ numerator: 40, denominator: "HUNDRED" });
    expect(m("    mirrorPercentage: {value: 0}\n")).toBeUndefined();
  });

  it("mirrors[]: one policy each, in order, own percentage; --mirror-shadow-suffix keeps the suffix (Istio <= 1.27)", () => {
    const body = simpleRoute + "    mirrors:\n    - destination: {host: ratings}\n      percentage: {value: 5}\n    - destination: {host: reviews, subset: v3}\n    - destination: {host: reviews}\n      percentage: {value: 0}\n";
    // ratings has two ports: with no port set, the listener port (9080) is used, as for route destinations.
    expect(routesOf(vs(body), { mirrorShadowSuffix: true })[0]!.route!.requestMirrorPolicies).toEqual([
      { cluster: "outbound|9080||ratings.shop.svc.cluster.local", percentage: { numerator: 50000, denominator: "MILLION" }, disableShadowHostSuffixAppend: false },
      { cluster: "outbound|9080|v3|reviews.shop.svc.cluster.local", percentage: { numerator: 100, denominator: "HUNDRED" }, disableShadowHostSuffixAppend: false },
    ]);
  });

  it("mirror and mirrors together are refused, as istiod validation does", () => {
    const r = run(reviewsSE + vs(simpleRoute + "    mirror: {host: reviews}\n    mirrors:\n    - destination: {host: reviews}\n"));
    expect(r.messages).toEqual(["mesh/config.yaml:25: spec.http[0]: HTTP route cannot contain both mirror and mirrors"]);
  });
});

describe("hash policy from the destination's DestinationRule", () => {
  const dr = (body: string) => doc("DestinationRule", "reviews", "shop", `  host: reviews\n${body}`);

  it("httpHeaderName, httpCookie (name, ttl, path), useSourceIp, httpQueryParameterName", () => {
    const h = (ch: string) => routesOf(vs(simpleRoute) + dr(`  trafficPolicy:\n    loadBalancer: {consistentHash: ${ch}}`))[0]!.route!.hashPolicy;
    expect(h("{httpHeaderName: x-user}")).toEqual([{ header: { headerName: "x-user" } }]);
    expect(h("{httpCookie: {name: sess, ttl: 60s, path: /app}}")).toEqual([{ cookie: { name: "sess", ttlMs: 60000, path: "/app" } }]);
    expect(h("{httpCookie: {name: sess}}")).toEqual([{ cookie: { name: "sess" } }]);
    expect(h("{useSourceIp: true}")).toEqual([{ connectionProperties: { sourceIp: true } }]);
    expect(h("{httpQueryParameterName: user}")).toEqual([{ queryParameter: { name: "user" } }]);
  });

  it("consistent hash drops the previous-hosts retry predicate on single-destination routes", () => {
    const [r] = routesOf(vs(simpleRoute) + dr("  trafficPolicy:\n    loadBalancer: {consistentHash: {httpHeaderName: x-user}}"));
    expect(r!.route!.retryPolicy).toEqual({ ...ISTIO_DEFAULT_RETRY, retryHostPredicatePreviousHosts: false });
  });

  it("precedence: subset port level > subset > top port level (only with an explicit destination port) > top", () => {
    const rule = dr(`  trafficPolicy:
    loadBalancer: {consistentHash: {httpHeaderName: top}}
    portLevelSettings:
    - port: {number: 9080}
      loadBalancer: {consistentHash: {httpHeaderName: top-port}}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      loadBalancer: {consistentHash: {httpHeaderName: subset}}
      portLevelSettings:
      - port: {number: 9080}
        loadBalancer: {consistentHash: {httpHeaderName: subset-port}}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      loadBalancer: {simple: RANDOM}`);
    const h = (dest: string) => routesOf(vs(`  hosts: [reviews]\n  http:\n  - route:\n    - destination: ${dest}\n`) + rule)[0]!.route!.hashPolicy;
    expect(h("{host: reviews}")).toEqual([{ header: { headerName: "top" } }]);
    expect(h("{host: reviews, port: {number: 9080}}")).toEqual([{ header: { headerName: "top-port" } }]);
    expect(h("{host: reviews, subset: v1}")).toEqual([{ header: { headerName: "subset" } }]);
    expect(h("{host: reviews, subset: v1, port: {number: 9080}}")).toEqual([{ header: { headerName: "subset-port" } }]);
    // A subset without a hash of its own falls back to the parent's (istiod's hash lookup, unlike the cluster merge).
    expect(h("{host: reviews, subset: v2}")).toEqual([{ header: { headerName: "top" } }]);
  });

  it("weighted routes: one hash policy per destination that has one, previous-hosts predicate kept", () => {
    const ratingsDR = doc("DestinationRule", "ratings", "shop", "  host: ratings\n  trafficPolicy:\n    loadBalancer: {consistentHash: {useSourceIp: true}}");
    const [r] = routesOf(
      vs("  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews}\n      weight: 50\n    - destination: {host: ratings}\n      weight: 30\n    - destination: {host: reviews, subset: v1}\n      weight: 20\n") +
        dr("  trafficPolicy:\n    loadBalancer: {simple: ROUND_ROBIN}\n  subsets:\n  - name: v1\n    labels: {version: v1}\n    trafficPolicy:\n      loadBalancer: {consistentHash: {httpHeaderName: x-v1}}") +
        ratingsDR,
    );
    expect(r!.route!.hashPolicy).toEqual([{ connectionProperties: { sourceIp: true } }, { header: { headerName: "x-v1" } }]);
    expect(r!.route!.retryPolicy!.retryHostPredicatePreviousHosts).toBe(true);
  });

  it("default routes (no VirtualService) hash by the service port's policy", () => {
    const r = run(reviewsSE + dr("  trafficPolicy:\n    loadBalancer: {consistentHash: {httpHeaderName: top}}\n    portLevelSettings:\n    - port: {number: 9080}\n      loadBalancer: {consistentHash: {httpQueryParameterName: q}}"));
    const route = r.snapshot.routeConfigs["9080"]!.virtualHosts[0]!.routes[0]!;
    expect(route.route!.hashPolicy).toEqual([{ queryParameter: { name: "q" } }]);
    // istiod builds the default route's retry policy without looking at the hash.
    expect(route.route!.retryPolicy!.retryHostPredicatePreviousHosts).toBe(true);
  });
});
