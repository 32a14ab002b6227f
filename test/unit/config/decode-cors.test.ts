// CorsPolicy ↔ Envoy proto JSON: the config_dump encoder writes what istiod sends
// (envoy.extensions.filters.http.cors.v3.CorsPolicy), the decoder reads it back (and the route's
// deprecated `cors` field, v2 and v3), and decode(encode(p)) is p for translated policies.
import { describe, expect, it } from "vitest";
import { corsPolicyJson } from "../../../src/admin/config-dump/cors-json.js";
import { routeConfigJson } from "../../../src/admin/config-dump/route-config-json.js";
import { decodeCorsPolicy } from "../../../src/config/envoy/decode-cors.js";
import { HTTP_CORS_FILTER, type CorsPolicy } from "../../../src/config/model/types.js";
import { doc, reviewsSE, run } from "./helpers.js";

const TYPE = "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy";

function translated(corsYaml: string): CorsPolicy {
  const r = run(reviewsSE + doc("VirtualService", "reviews", "shop", `  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews}\n    corsPolicy:\n${corsYaml}`));
  expect(r.messages).toEqual([]);
  const vh = r.snapshot.routeConfigs["9080"]!.virtualHosts.find((x) => x.name === "reviews.shop.svc.cluster.local:9080")!;
  return vh.routes[0]!.typedPerFilterConfig![HTTP_CORS_FILTER]!;
}

function ok(r: ReturnType<typeof decodeCorsPolicy>): CorsPolicy {
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.value;
}

describe("corsPolicyJson", () => {
  it("writes istiod's form: @type, origins as StringMatchers, joined lists, max_age seconds, filter_enabled 100%", () => {
    const p = translated("      allowOrigins: [{exact: http://foo.example}, {regex: 'https://.*\\.b\\.test'}]\n      allowMethods: [GET, POST]\n      maxAge: 300s\n      allowCredentials: true\n");
    expect(corsPolicyJson(p)).toEqual({
      "@type": TYPE,
      allow_origin_string_match: [{ exact: "http://foo.example" }, { safe_regex: { regex: "https://.*\\.b\\.test" } }],
      allow_methods: "GET,POST",
      max_age: "300",
      allow_credentials: true,
      forward_not_matching_preflights: true,
      filter_enabled: { default_value: { numerator: 100 } },
    });
  });

  it("route configuration JSON carries it under typed_per_filter_config on routes and virtual hosts", () => {
    const p: CorsPolicy = { allowOriginStringMatch: [{ prefix: "http://" }], shadowEnabled: { numerator: 5, denominator: "TEN_THOUSAND" } };
    const j = routeConfigJson({
      name: "rc",
      virtualHosts: [{ name: "vh", domains: ["*"], typedPerFilterConfig: { [HTTP_CORS_FILTER]: p }, routes: [{ name: "r", match: { prefix: "/", caseSensitive: true, headers: [], queryParameters: [] }, route: { cluster: "c" }, requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [], typedPerFilterConfig: { [HTTP_CORS_FILTER]: p } }] }],
    }) as { virtual_hosts: Array<{ typed_per_filter_config: Record<string, unknown>; routes: Array<{ typed_per_filter_config: Record<string, unknown> }> }> };
    const expected = { "@type": TYPE, allow_origin_string_match: [{ prefix: "http://" }], shadow_enabled: { default_value: { numerator: 5, denominator: "TEN_THOUSAND" } } };
    expect(j.virtual_hosts[0]!.typed_per_filter_config).toEqual({ [HTTP_CORS_FILTER]: expected });
    expect(j.virtual_hosts[0]!.routes[0]!.typed_per_filter_config).toEqual({ [HTTP_CORS_FILTER]: expected });
  });
});

describe("decodeCorsPolicy", () => {
  it("round trip: decode(encode(p)) deep-equals p for translated policies", () => {
    for (const yaml of [
      "      allowOrigins: [{exact: http://foo.example}]\n      allowMethods: [POST, GET, OPTIONS]\n      allowHeaders: [content-type]\n      exposeHeaders: [x-custom-header]\n      maxAge: 300s\n      allowCredentials: true\n",
      "      allowOrigins: [{prefix: https://a.}, {regex: 'https://.*'}]\n      unmatchedPreflights: IGNORE\n      allowCredentials: false\n",
      "      allowOrigin: ['*']\n",
    ]) {
      const p = translated(yaml);
      const d = decodeCorsPolicy(corsPolicyJson(p));
      expect(ok(d)).toEqual(p);
      expect(d.ok && d.notes).toEqual([]);
    }
    const every: CorsPolicy = {
      allowOriginStringMatch: [{ suffix: ".test", ignoreCase: true }, { contains: "x" }],
      allowPrivateNetworkAccess: true,
      filterEnabled: { numerator: 0, denominator: "MILLION" },
      shadowEnabled: { numerator: 25, denominator: "HUNDRED" },
    };
    expect(ok(decodeCorsPolicy(corsPolicyJson(every)))).toEqual(every);
  });

  it("the deprecated route / virtual host `cors` field, v3 and Istio 1.4-era v2 (allow_origin, allow_origin_regex, enabled)", () => {
    expect(ok(decodeCorsPolicy({ allow_origin_string_match: [{ exact: "a" }], allow_methods: "GET", filter_enabled: { default_value: { numerator: "50", denominator: "HUNDRED" }, runtime_key: "cors.www.enabled" } }))).toEqual({
      allowOriginStringMatch: [{ exact: "a" }],
      allowMethods: "GET",
      filterEnabled: { numerator: 50, denominator: "HUNDRED" },
    });
    expect(ok(decodeCorsPolicy({ allow_origin: ["*", "http://b"], allow_origin_regex: ["https://.*\\.c"], enabled: false, allow_credentials: true }))).toEqual({
      allowOriginStringMatch: [{ exact: "*" }, { exact: "http://b" }, { safeRegex: "https://.*\\.c" }],
      allowCredentials: true,
      filterEnabled: { numerator: 0, denominator: "HUNDRED" },
    });
    expect(ok(decodeCorsPolicy({ allow_origin: ["a"], enabled: true }))).toEqual({ allowOriginStringMatch: [{ exact: "a" }] });
  });

  it("notes what is accepted but not honoured: runtime keys, unknown fields, a max_age that is not seconds", () => {
    const d = decodeCorsPolicy({ allow_origin_string_match: [], max_age: "5m", filter_enabled: { default_value: { numerator: 1 }, runtime_key: "k" }, future_field: 1 }, "virtual_hosts[0].cors");
    expect(d.ok && d.notes.map((n) => n.path).sort()).toEqual(["virtual_hosts[0].cors.filter_enabled.runtime_key", "virtual_hosts[0].cors.future_field", "virtual_hosts[0].cors.max_age"]);
  });

  it("errors name the field and the reason", () => {
    const d = decodeCorsPolicy(
      {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
        allow_origin_string_match: [{ exact: "a", prefix: "b" }, { safe_regex: { regex: "(" } }, { prefix: "" }, "x", { safe_regex: { regex: "a" }, ignore_case: true }],
        allow_methods: 3,
        allow_credentials: "yes",
        filter_enabled: { default_value: { numerator: -1 } },
        shadow_enabled: { default_value: { numerator: 1, denominator: "THOUSAND" } },
        enabled: true,
      },
      "routes[0].typed_per_filter_config.envoy.filters.http.cors",
    );
    expect(d.ok).toBe(false);
    const at = "routes[0].typed_per_filter_config.envoy.filters.http.cors";
    expect(d.ok ? [] : d.errors).toEqual([
      `${at}.@type: expected envoy.extensions.filters.http.cors.v3.CorsPolicy, got "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"`,
      `${at}.allow_origin_string_match[0]: exactly one of exact, prefix, suffix, contains or safe_regex must be set (got exact, prefix)`,
      expect.stringMatching(new RegExp(`^${at.replace(/[.[\]]/g, "\\$&")}\\.allow_origin_string_match\\[1\\]\\.safe_regex\\.regex: "\\(" is not a valid RE2 regex: `)),
      `${at}.allow_origin_string_match[2].prefix: expected a non-empty string`,
      `${at}.allow_origin_string_match[3]: expected a StringMatcher object`,
      `${at}.allow_origin_string_match[4].ignore_case: not allowed with safe_regex (Envoy rejects it)`,
      `${at}.allow_methods: expected a string`,
      `${at}.allow_credentials: expected a boolean`,
      `${at}: enabled and filter_enabled are one field (enabled_specifier): set only one`,
      `${at}.filter_enabled.default_value.numerator: expected an unsigned 32-bit integer, got -1`,
      `${at}.shadow_enabled.default_value.denominator: expected HUNDRED, TEN_THOUSAND or MILLION, got "THOUSAND"`,
    ]);
    expect(decodeCorsPolicy({ filter_enabled: {} })).toEqual({ ok: false, errors: ["cors.filter_enabled.default_value: required FractionalPercent"] });
    expect(decodeCorsPolicy({ allow_origin_string_match: { exact: "a" } })).toEqual({ ok: false, errors: ["cors.allow_origin_string_match: expected a list"] });
  });
});
