// RouteConfiguration decoding: Envoy's defaults, legacy forms, folding of virtual-host and
// route-configuration header mutations, per-filter configs, and an error naming the field for
// everything Outrigger cannot honour.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeRouteConfiguration } from "../../../src/config/envoy/decode-route-config.js";
import type { Json } from "../../../src/config/envoy/decoded.js";
import type { Route, RouteConfiguration } from "../../../src/config/model/types.js";

const ctx = { origin: "xds" as const };

function rcWith(route: Json, vh: Json = {}, top: Json = {}): Json {
  return { name: "rc", virtual_hosts: [{ name: "vh", domains: ["*"], routes: [route], ...vh }], ...top };
}

function decode(json: Json): { value: RouteConfiguration; notes: string[] } {
  const d = decodeRouteConfiguration(json, ctx);
  if (!d.ok) throw new Error(d.errors.join("; "));
  return { value: d.value, notes: d.notes.map((n) => `${n.path}: ${n.message}`) };
}

const first = (json: Json): Route => decode(json).value.virtualHosts[0]!.routes[0]!;

function errors(json: Json): string[] {
  const d = decodeRouteConfiguration(json, ctx);
  if (d.ok) throw new Error("expected errors");
  return d.errors;
}

const toC = { match: { prefix: "/" }, route: { cluster: "c" } };

describe("RouteConfiguration decoder", () => {
  it("Envoy's defaults: 15 s route timeout, case-sensitive match, retry policy 1 retry / 1 host attempt / 25-250 ms back-off, 301 redirects", () => {
    const r = first(rcWith({ ...toC, route: { cluster: "c", retry_policy: { retry_on: "5xx, reset" } } }));
    expect(r.match).toEqual({ prefix: "/", caseSensitive: true, headers: [], queryParameters: [] });
    expect(r.route).toEqual({ cluster: "c", timeoutMs: 15_000, retryPolicy: { retryOn: ["5xx", "reset"], numRetries: 1, retriableStatusCodes: [], retriableHeaders: [], retryHostPredicatePreviousHosts: false, hostSelectionRetryMaxAttempts: 1, backoffBaseMs: 25, backoffMaxMs: 250 } });
    expect(first(rcWith({ ...toC, route: { cluster: "c", timeout: "0s" } })).route?.timeoutMs).toBe(0);
    expect(first(rcWith({ match: { prefix: "/" }, redirect: { https_redirect: true, path_redirect: "/x" } })).redirect).toEqual({ responseCode: 301, schemeRedirect: "https", pathRedirect: "/x" });
    expect(first(rcWith({ ...toC, route: { cluster: "c", retry_policy: { retry_back_off: { base_interval: "0.1s" } } } })).route?.retryPolicy).toMatchObject({ backoffBaseMs: 100, backoffMaxMs: 1000 });
  });

  it("matches: path_separated_prefix as the equivalent regex, grpc as the content-type match, legacy header and query forms", () => {
    expect(first(rcWith({ match: { path_separated_prefix: "/api" }, route: { cluster: "c" } })).match.safeRegex).toBe("/api(/.*)?");
    const m = first(rcWith({ match: { prefix: "/", grpc: {}, headers: [{ name: "X-A", exact_match: "1" }, { name: "b", safe_regex_match: { regex: "x.*" }, invert_match: true }], query_parameters: [{ name: "q", value: "a.*", regex: true }, { name: "p" }] }, route: { cluster: "c" } })).match;
    expect(m.headers).toEqual([{ name: "x-a", stringMatch: { exact: "1" } }, { name: "b", stringMatch: { safeRegex: "x.*" }, invertMatch: true }, { name: "content-type", stringMatch: { prefix: "application/grpc" } }]);
    expect(m.queryParameters).toEqual([{ name: "q", stringMatch: { safeRegex: "a.*" } }, { name: "p", presentMatch: true }]);
    // 100% of requests is no restriction.
    expect(first(rcWith({ match: { prefix: "/", runtime_fraction: { default_value: { numerator: 100 } } }, route: { cluster: "c" } })).match.prefix).toBe("/");
  });

  it("match errors name the field; a CONNECT route is kept but never matches", () => {
    const connect = decode(rcWith({ match: { connect_matcher: {} }, route: { cluster: "c" } }));
    expect(connect.value.virtualHosts[0]!.routes[0]!.match).toEqual({ caseSensitive: true, headers: [{ name: ":method", stringMatch: { exact: "CONNECT" } }], queryParameters: [] });
    expect(connect.notes).toContain("virtual_hosts[0].routes[0].match.connect_matcher: CONNECT requests are not proxied by Outrigger: this route never matches");
    expect(errors(rcWith({ match: { path_match_policy: {} }, route: { cluster: "c" } }))).toEqual(["virtual_hosts[0].routes[0].match.path_match_policy: URI template path matching is not supported by Outrigger"]);
    expect(errors(rcWith({ match: { prefix: "/", path: "/x" }, route: { cluster: "c" } }))[0]).toContain("virtual_hosts[0].routes[0].match: exactly one of prefix, path");
    expect(errors(rcWith({ match: { prefix: "/", runtime_fraction: { default_value: { numerator: 50 } } }, route: { cluster: "c" } }))[0]).toContain("match.runtime_fraction: matching a fraction of requests is not supported");
    expect(errors(rcWith({ match: { prefix: "/", headers: [{ name: "a", range_match: { start: 1, end: 2 } }] }, route: { cluster: "c" } }))).toEqual(["virtual_hosts[0].routes[0].match.headers[0].range_match: header range_match is not supported by Outrigger"]);
    expect(errors(rcWith({ match: { path_separated_prefix: "/api/" }, route: { cluster: "c" } }))[0]).toContain("path_separated_prefix: must start with '/' and must not end with '/'");
  });

  it("route action errors: cluster_header, metadata_match, total_weight, no destination, both rewrites", () => {
    expect(errors(rcWith({ match: { prefix: "/" }, route: { cluster_header: "x-cluster" } }))).toContain("virtual_hosts[0].routes[0].route.cluster_header: a cluster named by a request header is not supported by Outrigger");
    expect(errors(rcWith({ match: { prefix: "/" }, route: { cluster: "c", metadata_match: {} } }))).toContain("virtual_hosts[0].routes[0].route.metadata_match: subset load balancing (metadata_match) is not supported by Outrigger");
    expect(errors(rcWith({ match: { prefix: "/" }, route: { weighted_clusters: { clusters: [{ name: "a", weight: 30 }, { name: "b", weight: 60 }], total_weight: 100 } } }))).toEqual(["virtual_hosts[0].routes[0].route.weighted_clusters.total_weight: the cluster weights add up to 90, not 100"]);
    expect(errors(rcWith({ match: { prefix: "/" }, route: {} }))[0]).toContain("route: exactly one of cluster, weighted_clusters");
    expect(errors(rcWith({ match: { prefix: "/" } }))[0]).toContain("virtual_hosts[0].routes[0]: exactly one of route, redirect, direct_response must be set (got none)");
    expect(errors(rcWith({ match: { prefix: "/" }, route: { cluster: "c", prefix_rewrite: "/a", regex_rewrite: { pattern: { regex: "x" }, substitution: "y" } } }))).toContain("virtual_hosts[0].routes[0].route: prefix_rewrite and regex_rewrite cannot both be set");
  });

  it("weighted clusters with per-cluster header ops; v2 request_mirror_policy; mirror runtime_fraction; cluster_not_found_response_code is a note", () => {
    const d = decode(rcWith({ match: { prefix: "/" }, route: { weighted_clusters: { clusters: [{ name: "a", weight: 1, request_headers_to_add: [{ header: { key: "x", value: "1" }, append: false }] }, { name: "b", weight: 3 }] }, request_mirror_policy: { cluster: "m", runtime_fraction: { default_value: { numerator: 5, denominator: "TEN_THOUSAND" } } }, cluster_not_found_response_code: "NOT_FOUND" } }));
    const a = d.value.virtualHosts[0]!.routes[0]!.route!;
    expect(a.weightedClusters).toEqual([
      { name: "a", weight: 1, requestHeadersToAdd: [{ key: "x", value: "1", appendAction: "OVERWRITE_IF_EXISTS_OR_ADD" }], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] },
      { name: "b", weight: 3, requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] },
    ]);
    expect(a.requestMirrorPolicies).toEqual([{ cluster: "m", percentage: { numerator: 5, denominator: "TEN_THOUSAND" }, disableShadowHostSuffixAppend: false }]);
    expect(d.notes).toContain("virtual_hosts[0].routes[0].route.cluster_not_found_response_code: NOT_FOUND is not supported: a missing cluster answers 503");
  });

  it("header mutations: append (v2) and append_action, folded route → virtual host → route configuration as Envoy applies them", () => {
    const h = (key: string) => [{ header: { key, value: "v" } }];
    const json = rcWith({ ...toC, request_headers_to_add: h("route") }, { request_headers_to_add: h("vhost"), response_headers_to_remove: ["x-vh"] }, { request_headers_to_add: h("global") });
    const r = first(json);
    expect(r.requestHeadersToAdd.map((x) => x.key)).toEqual(["route", "vhost", "global"]);
    expect(r.responseHeadersToRemove).toEqual(["x-vh"]);
    expect(first({ ...json, most_specific_header_mutations_wins: true }).requestHeadersToAdd.map((x) => x.key)).toEqual(["global", "vhost", "route"]);
    expect(errors(rcWith({ ...toC, request_headers_to_add: [{ header: { key: "a", value: "b" }, append: true, append_action: "APPEND_IF_EXISTS_OR_ADD" }] }))).toEqual(["virtual_hosts[0].routes[0].request_headers_to_add[0]: append and append_action cannot both be set"]);
    expect(errors(rcWith({ ...toC, response_headers_to_add: [{ header: { key: "a", value: "b" }, append_action: "ADD_IF_ABSENT" }] }))[0]).toContain("response_headers_to_add[0].append_action: ADD_IF_ABSENT is not supported");
    expect(decode(rcWith({ ...toC, request_headers_to_add: [{ header: { key: "x-ip", value: "%DOWNSTREAM_REMOTE_ADDRESS%" } }] })).notes).toEqual(['virtual_hosts[0].routes[0].request_headers_to_add[0].header.value: Envoy\'s command operators are not substituted: "%DOWNSTREAM_REMOTE_ADDRESS%" is sent as written']);
  });

  it("a virtual host's retry policy, and the most specific mirror policies, apply to routes without their own", () => {
    const d = decode({ name: "rc", virtual_hosts: [{ name: "vh", domains: ["*"], retry_policy: { retry_on: "5xx", num_retries: 3 }, routes: [toC, { match: { prefix: "/" }, route: { cluster: "c", retry_policy: { retry_on: "reset" } } }] }] });
    expect(d.value.virtualHosts[0]!.routes.map((r) => r.route?.retryPolicy?.retryOn)).toEqual([["5xx"], ["reset"]]);
    const m = decode({ name: "rc", request_mirror_policies: [{ cluster: "global" }], virtual_hosts: [{ name: "a", domains: ["a"], request_mirror_policies: [{ cluster: "vh" }], routes: [toC, { match: { prefix: "/" }, route: { cluster: "c", request_mirror_policies: [{ cluster: "own" }] } }] }, { name: "b", domains: ["b"], routes: [toC] }] });
    expect(m.value.virtualHosts.map((v) => v.routes.map((r) => r.route?.requestMirrorPolicies?.map((x) => x.cluster)))).toEqual([[["vh"], ["own"]], [["global"]]]);
  });

  it("direct responses: inline, base64 and file bodies; over max_direct_response_body_size_bytes or unreadable → error", () => {
    const dir = mkdtempSync(join(tmpdir(), "decroute-"));
    writeFileSync(join(dir, "body.txt"), "from file");
    const dr = (body: Json, top: Json = {}) => rcWith({ match: { prefix: "/" }, direct_response: { status: 200, body } }, {}, top);
    expect(first(dr({ inline_string: "hi" })).directResponse).toEqual({ status: 200, body: "hi" });
    expect(first(dr({ inline_bytes: Buffer.from("bytes").toString("base64") })).directResponse?.body).toBe("bytes");
    const d = decodeRouteConfiguration(dr({ filename: "body.txt" }), { origin: "bootstrap", cwd: dir });
    expect(d.ok && d.value.virtualHosts[0]!.routes[0]!.directResponse?.body).toBe("from file");
    expect(errors(dr({ inline_string: "x".repeat(4097) }))).toEqual(["virtual_hosts[0].routes[0].direct_response.body: the body is 4097 bytes, more than max_direct_response_body_size_bytes (4096)"]);
    expect(first(dr({ inline_string: "x".repeat(4097) }, { max_direct_response_body_size_bytes: 8192 })).directResponse?.body).toHaveLength(4097);
    expect(errors(dr({ filename: join(dir, "absent.txt") }))[0]).toMatch(/^virtual_hosts\[0\]\.routes\[0\]\.direct_response\.body\.filename: cannot read .*absent\.txt/);
    expect(errors(rcWith({ match: { prefix: "/" }, direct_response: { status: 42 } }))).toEqual(["virtual_hosts[0].routes[0].direct_response.status: a status between 100 and 599 is required"]);
  });

  it("per-filter configs: fault (percentage defaults to 0%), CORS on routes and (deprecated `cors`) on virtual hosts; others noted; RBAC per route refused", () => {
    const fault = { "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault", delay: { fixed_delay: "0.5s", percentage: { numerator: 10 } }, abort: { http_status: 418 } };
    const d = decode(rcWith({ ...toC, typed_per_filter_config: { "envoy.filters.http.fault": fault, "istio.stats": { "@type": "type.googleapis.com/udpa.type.v1.TypedStruct", type_url: "x", value: {} } } }, { cors: { allow_origin_string_match: [{ exact: "https://a" }] } }));
    const r = d.value.virtualHosts[0]!.routes[0]!;
    expect(r.typedPerFilterConfig?.["envoy.filters.http.fault"]).toEqual({ delay: { fixedDelayMs: 500, percentage: { numerator: 10, denominator: "HUNDRED" } }, abort: { httpStatus: 418, percentage: { numerator: 0, denominator: "HUNDRED" } } });
    expect(d.value.virtualHosts[0]!.typedPerFilterConfig?.["envoy.filters.http.cors"]).toMatchObject({ allowOriginStringMatch: [{ exact: "https://a" }] });
    expect(d.notes).toContain('virtual_hosts[0].routes[0].typed_per_filter_config["istio.stats"]: config of filter istio.stats: not run by Outrigger; ignored');
    expect(errors(rcWith({ ...toC, typed_per_filter_config: { "envoy.filters.http.rbac": { "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute" } } }))[0]).toContain("it would change access decisions");
    expect(errors(rcWith({ ...toC, typed_per_filter_config: { "envoy.filters.http.fault": { ...fault, headers: [{ name: "x" }] } } }))).toContain('virtual_hosts[0].routes[0].typed_per_filter_config["envoy.filters.http.fault"].headers: faults limited to matching headers are not supported by Outrigger');
  });

  it("metadata: Outrigger's source and derive_port, else istiod's istio.config", () => {
    expect(first(rcWith({ ...toC, metadata: { filter_metadata: { istio: { config: "/apis/networking.istio.io/v1/namespaces/shop/virtual-service/reviews" } } } })).source).toBe("/apis/networking.istio.io/v1/namespaces/shop/virtual-service/reviews");
    expect(first(rcWith({ match: { prefix: "/" }, redirect: { port_redirect: 8080 }, metadata: { filter_metadata: { outrigger: { source: "s", derive_port: "FROM_REQUEST_PORT" } } } }))).toMatchObject({ source: "s", redirect: { portRedirect: 8080, derivePort: "FROM_REQUEST_PORT" } });
  });

  it("virtual hosts: duplicate domains refused, domains lower-cased, ignore_port_in_host_matching kept, include_request_attempt_count noted, require_tls refused", () => {
    expect(errors({ name: "rc", virtual_hosts: [{ name: "a", domains: ["x"], routes: [] }, { name: "b", domains: ["X"], routes: [] }] })).toEqual(['virtual_hosts[1].domains: duplicate domain "x": only unique values for domains are permitted']);
    const d = decode({ name: "rc", ignore_port_in_host_matching: true, virtual_hosts: [{ name: "a", domains: ["Reviews"], include_request_attempt_count: true, routes: [] }] });
    expect(d.value).toEqual({ name: "rc", ignorePortInHostMatching: true, virtualHosts: [{ name: "a", domains: ["reviews"], routes: [] }] });
    expect(d.notes).toContain("virtual_hosts[0].include_request_attempt_count: x-envoy-attempt-count is not added to upstream requests");
    expect(errors({ name: "rc", virtual_hosts: [{ name: "a", domains: ["*"], require_tls: "ALL", routes: [] }] })).toEqual(["virtual_hosts[0].require_tls: require_tls is not supported by Outrigger"]);
    expect(errors({ name: "rc", vhds: {} })).toEqual(["vhds: on-demand virtual hosts (VHDS) are not supported by Outrigger"]);
  });
});
