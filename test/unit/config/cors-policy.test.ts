// VirtualService corsPolicy → the route's typed_per_filter_config["envoy.filters.http.cors"], as
// istiod's TranslateCORSPolicy writes it, and istiod's validation of the field.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { HTTP_CORS_FILTER, type CorsPolicy, type Route } from "../../../src/config/model/types.js";
import { sharedPath } from "../../helpers/shared-dir.js";
import { doc, reviewsSE, run } from "./helpers.js";

function vs(corsYaml: string): string {
  return doc("VirtualService", "reviews", "shop", `  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews}\n    corsPolicy:\n${corsYaml}`);
}

function routeOf(yaml: string): Route {
  const r = run(reviewsSE + yaml);
  expect(r.messages).toEqual([]);
  expect(r.warningMessages).toEqual([]);
  const v = r.snapshot.routeConfigs["9080"]?.virtualHosts.find((x) => x.name === "reviews.shop.svc.cluster.local:9080");
  if (!v) throw new Error("no reviews vhost");
  return v.routes[0]!;
}

const corsOf = (yaml: string): CorsPolicy | undefined => routeOf(vs(yaml)).typedPerFilterConfig?.[HTTP_CORS_FILTER];

describe("corsPolicy translation", () => {
  it("Istio's tests/testdata rule-default-route-cors-policy.yaml: exact origin, joined lists, maxAge in seconds, credentials, 100% enabled, forward", () => {
    const yaml = readFileSync(sharedPath("istio-samples", "istio", "tests", "testdata", "config", "rule-default-route-cors-policy.yaml"), "utf8");
    const r = run(yaml, { namespace: "testns" });
    expect(r.messages).toEqual([]);
    expect(r.warningMessages).toEqual([]);
    const vh = r.snapshot.routeConfigs["80"]!.virtualHosts.find((v) => v.name === "cors.test.istio.io:80")!;
    expect(vh.routes[0]!.typedPerFilterConfig).toEqual({
      [HTTP_CORS_FILTER]: {
        allowOriginStringMatch: [{ exact: "http://foo.example" }],
        allowMethods: "POST,GET,OPTIONS",
        allowHeaders: "content-type",
        exposeHeaders: "x-custom-header",
        maxAge: "300",
        allowCredentials: true,
        forwardNotMatchingPreflights: true,
        filterEnabled: { numerator: 100, denominator: "HUNDRED" },
      },
    });
  });

  it("allowOrigins prefix / regex become prefix / safe_regex; a minimal policy has only origins, enabled and forward", () => {
    expect(corsOf("      allowOrigins:\n      - prefix: https://a.\n      - regex: 'https://.*\\.example\\.com'\n")).toEqual({
      allowOriginStringMatch: [{ prefix: "https://a." }, { safeRegex: "https://.*\\.example\\.com" }],
      forwardNotMatchingPreflights: true,
      filterEnabled: { numerator: 100, denominator: "HUNDRED" },
    });
  });

  it("deprecated allowOrigin: exact matches, used only when allowOrigins is absent", () => {
    expect(corsOf("      allowOrigin: ['*', http://b.test]\n")!.allowOriginStringMatch).toEqual([{ exact: "*" }, { exact: "http://b.test" }]);
    expect(corsOf("      allowOrigin: [http://old.test]\n      allowOrigins: [{exact: http://new.test}]\n")!.allowOriginStringMatch).toEqual([{ exact: "http://new.test" }]);
  });

  it("unmatchedPreflights: IGNORE → forward_not_matching_preflights false; FORWARD / UNSPECIFIED / unset → true", () => {
    expect(corsOf("      allowOrigins: [{exact: a}]\n      unmatchedPreflights: IGNORE\n")!.forwardNotMatchingPreflights).toBe(false);
    expect(corsOf("      allowOrigins: [{exact: a}]\n      unmatchedPreflights: FORWARD\n")!.forwardNotMatchingPreflights).toBe(true);
    expect(corsOf("      allowOrigins: [{exact: a}]\n      unmatchedPreflights: UNSPECIFIED\n")!.forwardNotMatchingPreflights).toBe(true);
  });

  it("allowCredentials false is kept (a BoolValue); maxAge 1m → \"60\"", () => {
    const c = corsOf("      allowOrigins: [{exact: a}]\n      allowCredentials: false\n      maxAge: 1m\n")!;
    expect(c.allowCredentials).toBe(false);
    expect(c.maxAge).toBe("60");
  });

  it("every route of a rule with several match blocks carries the policy, next to a fault", () => {
    const r = run(reviewsSE + doc("VirtualService", "reviews", "shop", "  hosts: [reviews]\n  http:\n  - match: [{uri: {prefix: /a}}, {uri: {prefix: /b}}]\n    fault: {abort: {httpStatus: 418, percentage: {value: 100}}}\n    route:\n    - destination: {host: reviews}\n    corsPolicy: {allowOrigins: [{exact: a}]}\n"));
    expect(r.messages).toEqual([]);
    const routes = r.snapshot.routeConfigs["9080"]!.virtualHosts.find((x) => x.name === "reviews.shop.svc.cluster.local:9080")!.routes.filter((x) => x.match.prefix === "/a" || x.match.prefix === "/b");
    expect(routes).toHaveLength(2);
    for (const x of routes) expect(Object.keys(x.typedPerFilterConfig ?? {}).sort()).toEqual(["envoy.filters.http.cors", "envoy.filters.http.fault"]);
  });
});

describe("corsPolicy validation (istiod's rules)", () => {
  it("each bad field is an error with file, line and field path", () => {
    const r = run(
      reviewsSE +
        vs(
          [
            "      allowOrigins:",
            "      - exact: ''",
            "      - regex: '('",
            "      allowMethods: [GET, FETCH, '*']",
            "      allowHeaders: ['', 'x ok', '*']",
            "      exposeHeaders: ['bad:name']",
            "      maxAge: 1.5s",
            "      allowCredentials: yes-please",
            "      unmatchedPreflights: DROP",
            "      allowOrign: [x]",
            "",
          ].join("\n"),
        ),
    );
    const m = r.messages.map((x) => x.replace(/^mesh\/config.yaml:\d+: /, ""));
    expect(m).toEqual(expect.arrayContaining([
      "spec.http[0].corsPolicy.allowOrigins[0]: '' is not a valid match type for CORS allow origins",
      expect.stringMatching(/^spec\.http\[0\]\.corsPolicy\.allowOrigins\[1\]\.regex: /),
      'spec.http[0].corsPolicy.allowMethods[1]: "FETCH" is not a supported HTTP method',
      "spec.http[0].corsPolicy.allowHeaders[0]: header name cannot be empty",
      "spec.http[0].corsPolicy.allowHeaders[1]: header name x ok is not a valid header name",
      "spec.http[0].corsPolicy.exposeHeaders[0]: header name bad:name is not a valid header name",
      "spec.http[0].corsPolicy.maxAge: max_age duration is accurate only to seconds precision",
      expect.stringMatching(/^spec\.http\[0\]\.corsPolicy\.allowCredentials: must be true or false/),
      'spec.http[0].corsPolicy.unmatchedPreflights: "DROP" is not one of UNSPECIFIED, FORWARD, IGNORE',
    ]));
    expect(m).toHaveLength(9);
    // An unknown field is a warning, as everywhere in the translator.
    expect(r.warningMessages).toEqual([expect.stringMatching(/spec\.http\[0\]\.corsPolicy\.allowOrign: unknown field "allowOrign" ignored$/)]);
    // Errors are reported with the line of the field.
    expect(r.messages[0]).toMatch(/^mesh\/config.yaml:\d+: /);
  });

  it("maxAge must be a valid duration of at least 1ms", () => {
    const r = run(reviewsSE + vs("      maxAge: 0s\n"));
    expect(r.messages).toEqual([expect.stringMatching(/spec\.http\[0\]\.corsPolicy\.maxAge: duration must be at least 1ms/)]);
    const r2 = run(reviewsSE + vs("      maxAge: soon\n"));
    expect(r2.messages).toEqual([expect.stringMatching(/spec\.http\[0\]\.corsPolicy\.maxAge: invalid duration "soon"/)]);
  });
});
