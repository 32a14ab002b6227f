// RequestAuthentication → jwt_authn as istiod builds it: selection (root namespace, namespace,
// selector, targetRefs), merging every applicable policy, validation messages, jwksUri keys from
// the resolver (inlined) or pending, and the istio.io sample through translate().

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { JwtAuthentication } from "../../../src/config/model/jwt-authn.js";
import type { HttpConnectionManager, Listener } from "../../../src/config/model/types.js";
import { listenerJson } from "../../../src/admin/config-dump/listener-json.js";
import { doc, httpbinOpts, httpbinSidecar, run } from "./helpers.js";
import { sharedPath } from "../../helpers/shared-dir.js";

const SAMPLES = sharedPath("istio-samples", "istio.io", "docs-tasks");
const JWKS = readFileSync(sharedPath("istio-samples", "istio", "security", "tools", "jwt", "samples", "jwks.json"), "utf8");

const sidecar = httpbinSidecar;
const opts = httpbinOpts;
const ra = (name: string, body: string, ns = "foo"): string => doc("RequestAuthentication", name, ns, body, "security.istio.io/v1");

function hcm(ls: Listener[]): HttpConnectionManager {
  const l = ls.find((x) => x.name === "0.0.0.0_8080");
  if (l === undefined) throw new Error(`no inbound 8080 listener: ${ls.map((x) => x.name).join(", ")}`);
  return l.filterChains[0]!.filters.at(-1)!.typedConfig as HttpConnectionManager;
}
function jwt(ls: Listener[]): JwtAuthentication | undefined {
  return hcm(ls).httpFilters.find((f) => f.name === "envoy.filters.http.jwt_authn")?.typedConfig as JwtAuthentication | undefined;
}

describe("RequestAuthentication translation", () => {
  it("the istio.io jwt-example: jwksUri inlined from the resolver, istiod's provider and requirement, filter before the router", () => {
    const yaml = readFileSync(`${SAMPLES}/authz-jwt/requestauthentication-jwt-example.yaml`, "utf8");
    const seen: Array<[string, number]> = [];
    const r = run(sidecar + yaml, { ...opts, jwks: { lookup: (u, t) => (seen.push([u, t]), { jwks: JWKS }) } });
    expect(r.messages).toEqual([]);
    expect(seen).toEqual([["https://raw.githubusercontent.com/istio/istio/release-1.8/security/tools/jwt/samples/jwks.json", 5000]]);
    expect(jwt(r.snapshot.listeners)).toEqual({
      providers: { "origins-0": { issuer: "testing@secure.istio.io", localJwks: { inlineString: JWKS }, payloadInMetadata: "payload", normalizePayloadInMetadata: { spaceDelimitedClaims: ["permission", "scope"] } } },
      rules: [{ match: { prefix: "/" }, requires: { requiresAny: { requirements: [{ providerName: "origins-0" }, { allowMissing: {} }] } } }],
      bypassCorsPreflight: true,
    });
    expect(hcm(r.snapshot.listeners).httpFilters.map((f) => f.name)).toEqual(["istio.metadata_exchange", "envoy.filters.http.jwt_authn", "envoy.filters.http.fault", "envoy.filters.http.cors", "istio.stats", "envoy.filters.http.router"]);
    // Not on the TCP chain, nor outbound.
    expect(r.snapshot.listeners.filter((l) => l.trafficDirection !== "INBOUND").some((l) => JSON.stringify(l).includes("jwt_authn"))).toBe(false);
  });

  it("without fetched keys the provider stays remote (pending) and the document gets a warning", () => {
    const r = run(sidecar + ra("p", `  jwtRules:\n  - issuer: iss-1\n    jwksUri: https://idp.example.com/jwks.json\n    timeout: 2s`), { ...opts, jwks: { lookup: () => ({ pending: "fetch failed: HTTP status 500" }) } });
    expect(r.messages).toEqual([]);
    expect(jwt(r.snapshot.listeners)!.providers["origins-0"]!.remoteJwks).toEqual({ httpUri: { uri: "https://idp.example.com/jwks.json", timeoutMs: 2000 }, cacheDurationMs: 1_200_000, asyncFetch: {} });
    expect(r.warningMessages.some((m) => m.includes("jwtRules[0]") && m.includes("HTTP status 500") && m.includes("pass unverified"))).toBe(true);
    expect(r.summary.some((l) => l.includes("JWKS pending for iss-1"))).toBe(true);
  });

  it("merges every applicable policy, rules sorted by issuer as istiod; skips other namespaces, other selectors and targetRefs", () => {
    const r = run(
      sidecar +
        ra("mesh", `  jwtRules:\n  - issuer: z-root-iss\n    jwks: '${JWKS}'`, "istio-system") +
        ra("ns", `  jwtRules:\n  - issuer: ns-iss\n    jwks: '${JWKS}'\n    audiences: [a1]\n    fromHeaders: [{name: x-token, prefix: "T "}]\n    fromParams: [tok]\n    fromCookies: [c]\n    outputPayloadToHeader: x-payload\n    outputClaimToHeaders: [{header: x-sub, claim: sub}]\n    forwardOriginalToken: true`) +
        ra("wl", `  selector: {matchLabels: {app: httpbin}}\n  jwtRules:\n  - issuer: wl-iss\n    jwks: '${JWKS}'`) +
        ra("other-wl", `  selector: {matchLabels: {app: other}}\n  jwtRules:\n  - issuer: x\n    jwks: '${JWKS}'`) +
        ra("other-ns", `  jwtRules:\n  - issuer: y\n    jwks: '${JWKS}'`, "bar") +
        ra("gw", `  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: g}]\n  jwtRules:\n  - issuer: z\n    jwks: '${JWKS}'`),
      opts,
    );
    expect(r.messages).toEqual([]);
    const j = jwt(r.snapshot.listeners)!;
    expect(Object.entries(j.providers).map(([n, p]) => `${n}=${p.issuer}`)).toEqual(["origins-0=ns-iss", "origins-1=wl-iss", "origins-2=z-root-iss"]);
    // Several providers: any(P0, P1, P2, all(any(Pi, allow_missing)…)).
    const inner = ["origins-0", "origins-1", "origins-2"].map((providerName) => ({ requiresAny: { requirements: [{ providerName }, { allowMissing: {} }] } }));
    expect(j.rules).toEqual([{ match: { prefix: "/" }, requires: { requiresAny: { requirements: [{ providerName: "origins-0" }, { providerName: "origins-1" }, { providerName: "origins-2" }, { requiresAll: { requirements: inner } }] } } }]);
    expect(j.providers["origins-0"]).toEqual({
      issuer: "ns-iss",
      audiences: ["a1"],
      localJwks: { inlineString: JWKS },
      fromHeaders: [{ name: "x-token", valuePrefix: "T " }],
      fromParams: ["tok"],
      fromCookies: ["c"],
      forward: true,
      forwardPayloadHeader: "x-payload",
      claimToHeaders: [{ headerName: "x-sub", claimName: "sub" }],
      payloadInMetadata: "payload",
      normalizePayloadInMetadata: { spaceDelimitedClaims: ["permission", "scope"] },
    });
    expect(r.warningMessages.some((m) => m.includes("targetRef(s)"))).toBe(true);
    expect(r.summary.filter((l) => l.includes("not applied")).length).toBe(3);
  });

  it("Istio's validation: issuer required, jwksUri a http(s) URL, non-empty locations, header names, timeout, inline jwks JSON", () => {
    const r = run(
      sidecar +
        ra(
          "bad",
          `  jwtRules:
  - jwksUri: ftp://x/jwks
  - issuer: a
    jwks: "not json"
    fromHeaders: [{name: ""}, {name: "bad header"}]
    fromParams: [""]
    outputClaimToHeaders: [{header: "", claim: ""}]
    timeout: -1s`,
        ),
      opts,
    );
    const m = r.messages.join("\n");
    expect(m).toContain("jwtRules[0].issuer: issuer must be set");
    expect(m).toContain("scheme must be http or https");
    expect(m).toContain("jwks is not a valid JSON Web Key Set: JWKS is not valid JSON");
    expect(m).toContain("location header name must be non-empty");
    expect(m).toContain('invalid header name "bad header"');
    expect(m).toContain("location query must be non-empty");
    expect(m).toContain("outputClaimToHeaders header must be non-empty");
    expect(m).toContain("outputClaimToHeaders claim must be non-empty");
    expect(m).toContain("must be a positive duration");
  });

  it("config_dump shows the filter in Envoy's JwtAuthentication JSON", () => {
    const r = run(sidecar + ra("p", `  jwtRules:\n  - issuer: iss-1\n    audiences: [a]\n    jwksUri: https://idp.example.com/jwks.json\n    fromHeaders: [{name: x-t, prefix: "B "}]\n    outputClaimToHeaders: [{header: x-sub, claim: sub}]`), opts);
    const l = r.snapshot.listeners.find((x) => x.name === "0.0.0.0_8080")!;
    const dump = JSON.parse(JSON.stringify(listenerJson(l))) as { filter_chains: Array<{ filters: Array<{ typed_config: { http_filters: Array<{ name: string; typed_config?: unknown }> } }> }> };
    const f = dump.filter_chains[0]!.filters.at(-1)!.typed_config.http_filters.find((x) => x.name === "envoy.filters.http.jwt_authn");
    expect(f?.typed_config).toEqual({
      "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
      providers: {
        "origins-0": {
          issuer: "iss-1",
          audiences: ["a"],
          remote_jwks: { http_uri: { uri: "https://idp.example.com/jwks.json", timeout: "5s" }, cache_duration: "1200s", async_fetch: {} },
          from_headers: [{ name: "x-t", value_prefix: "B " }],
          payload_in_metadata: "payload",
          normalize_payload_in_metadata: { space_delimited_claims: ["permission", "scope"] },
          claim_to_headers: [{ header_name: "x-sub", claim_name: "sub" }],
        },
      },
      rules: [{ match: { prefix: "/" }, requires: { requires_any: { requirements: [{ provider_name: "origins-0" }, { allow_missing: {} }] } } }],
      bypass_cors_preflight: true,
    });
  });

  it("an inline jwks without a usable public key is an error at its line", () => {
    const r = run(sidecar + ra("k", `  jwtRules:\n  - issuer: a\n    jwks: '{"keys":[{"kty":"oct","k":"AAAA"}]}'`), opts);
    expect(r.messages.some((m) => m.includes("jwtRules[0].jwks") && m.includes("JWKS doesn't have any valid public key"))).toBe(true);
  });

  it("no applicable policy: no jwt_authn filter", () => {
    const r = run(sidecar + ra("other-ns", `  jwtRules:\n  - issuer: y\n    jwks: '${JWKS}'`, "bar"), opts);
    expect(jwt(r.snapshot.listeners)).toBeUndefined();
  });
});
