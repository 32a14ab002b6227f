// /config_dump of a VirtualService corsPolicy: the CORS filter entry in every HTTP chain exactly as
// istiod's real dump has it, and the policy on the route as Envoy's CorsPolicy.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { dumpParts } from "../../helpers/config-dump.js";
import { sharedPath } from "../../helpers/shared-dir.js";
import { harness } from "../cli/cli-harness.js";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Every http_filters entry named `name` anywhere under `o`. */
function httpFilters(o: unknown, name: string, out: Json[] = []): Json[] {
  if (Array.isArray(o)) for (const v of o) httpFilters(v, name, out);
  else if (o !== null && typeof o === "object") {
    for (const [k, v] of Object.entries(o as Json)) {
      if (k === "http_filters" && Array.isArray(v)) out.push(...v.filter((f: Json) => f.name === name));
      else httpFilters(v, name, out);
    }
  }
  return out;
}

describe("config_dump: CORS", () => {
  it("the filter entry matches istiod's; the route carries the translated CorsPolicy", async () => {
    const sample = sharedPath("istio-samples", "istio", "tests", "testdata", "config", "rule-default-route-cors-policy.yaml");
    const r = await harness().run(["config-dump", "--namespace", "testns", "--config", sample]);
    expect(r.code, r.stderr).toBe(0);
    const parts = dumpParts(JSON.parse(r.stdout));

    const real = JSON.parse(readFileSync(sharedPath("envoy-config-dumps", "istio-istioctl-authz-testdata-listeners.configdump.json"), "utf8")) as unknown;
    const istiod = httpFilters(real, "envoy.filters.http.cors")[0];
    expect(istiod).toBeDefined();
    const ours = httpFilters(parts.listeners, "envoy.filters.http.cors");
    expect(ours.length).toBeGreaterThan(0);
    for (const f of ours) expect(f).toEqual(istiod);

    const vh = Object.values(parts.routeConfigs).flatMap((rc) => rc.virtual_hosts as Json[]).find((v) => v.name === "cors.test.istio.io:80");
    expect(vh?.routes[0].typed_per_filter_config).toEqual({
      "envoy.filters.http.cors": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
        allow_origin_string_match: [{ exact: "http://foo.example" }],
        allow_methods: "POST,GET,OPTIONS",
        allow_headers: "content-type",
        expose_headers: "x-custom-header",
        max_age: "300",
        allow_credentials: true,
        forward_not_matching_preflights: true,
        filter_enabled: { default_value: { numerator: 100 } },
      },
    });
  });
});
