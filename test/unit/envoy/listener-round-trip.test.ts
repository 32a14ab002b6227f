// "One decoder for both sources": every listener the Istio translator builds, written as Envoy's
// Listener JSON (what /config_dump shows and what istiod would send), decodes back to the very
// same model — over the whole Istio sample corpus, with and without --intercept, with mesh
// security (mTLS chains, authorization, request authentication) and with telemetry (tracing,
// access logs, metric overrides, TCP reporting).
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { listenerJson } from "../../../src/admin/config-dump/listener-json.js";
import { decodeListener } from "../../../src/config/envoy/decode-listener.js";
import { defaultInterception } from "../../../src/config/istio/interception.js";
import { translate, type TranslateOptions } from "../../../src/config/istio/translate.js";
import { loadConfigSources } from "../../../src/config/load/load-sources.js";
import type { Listener } from "../../../src/config/model/types.js";
import { sharedPath } from "../../helpers/shared-dir.js";
import { telemetry, translateWith } from "../config/telemetry-helpers.js";

const samplesDir = sharedPath("istio-samples");

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...yamlFiles(full));
    else if (/\.ya?ml$/.test(name)) out.push(full);
  }
  return out;
}

/** What the round trips covered, so the test proves the corpus exercised each kind. */
const seen = new Set<string>();

function recordKinds(l: Listener): void {
  if (l.useOriginalDst === true) seen.add("use_original_dst");
  if ((l.additionalAddresses?.length ?? 0) > 0) seen.add("additional_addresses");
  for (const f of l.listenerFilters) if (f.disabledForDestinationPorts !== undefined) seen.add("filter_disabled");
  for (const c of [...l.filterChains, ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])]) {
    if (c.transportSocket !== undefined) seen.add("tls");
    for (const f of c.filters) {
      seen.add(f.name);
      if (f.name === "envoy.filters.network.tcp_proxy" && f.typedConfig.istioStats !== undefined) seen.add("tcp istio.stats");
      if (f.name === "envoy.filters.network.http_connection_manager") {
        for (const h of f.typedConfig.httpFilters) seen.add(h.name);
        if (f.typedConfig.routeConfig !== undefined) seen.add("inline route_config");
      }
    }
  }
}

/** Decodes the listener's Envoy JSON and expects the same model back, with no note. */
function expectRoundTrip(l: Listener): void {
  recordKinds(l);
  const json = JSON.parse(JSON.stringify(listenerJson(l))) as Record<string, unknown>;
  const back = decodeListener(json, { origin: "files" });
  if (!back.ok) throw new Error(`${l.name}: ${back.errors.join("\n")}`);
  expect(back.notes, l.name).toEqual([]);
  expect(back.value, l.name).toEqual(l);
}

const OPTION_SETS: Record<string, Partial<TranslateOptions>> = {
  sidecar: { namespace: "default", proxyLabels: { app: "sleep" }, security: { trustDomain: "cluster.local", hasIdentity: true } },
  productpage: { namespace: "default", proxyLabels: { app: "productpage", version: "v1" }, security: { trustDomain: "cluster.local", hasIdentity: true } },
  intercept: { namespace: "default", proxyLabels: { app: "httpbin", version: "v1" }, intercept: { ...defaultInterception() }, security: { trustDomain: "cluster.local", hasIdentity: true } },
  "intercept dual-stack": { namespace: "foo", proxyLabels: { app: "httpbin" }, intercept: { ...defaultInterception(), dualStack: true }, security: { trustDomain: "cluster.local", hasIdentity: true } },
};

describe("listener round trip: model → Envoy JSON → decoder → the same model", () => {
  const files = yamlFiles(samplesDir);
  it("finds the Istio sample corpus", () => {
    expect(files.length).toBeGreaterThan(50);
  });
  for (const [label, opts] of Object.entries(OPTION_SETS)) {
    it(`every listener of every sample (${label})`, async () => {
      let listeners = 0;
      for (const file of files) {
        const { documents } = await loadConfigSources([file]);
        const r = translate(documents, { namespace: "default", proxyLabels: {}, domainSuffix: "cluster.local", defaultOutbound: { address: "127.0.0.1", port: 15001 }, ...opts });
        for (const l of r.snapshot.listeners) {
          listeners++;
          try {
            expectRoundTrip(l);
          } catch (e) {
            throw new Error(`${relative(samplesDir, file)}: ${(e as Error).message}`);
          }
        }
      }
      expect(listeners).toBeGreaterThanOrEqual(files.length);
    });
  }

  it("telemetry: tracing, access logs (text, JSON, CEL filter), metric overrides, TCP reporting interval", () => {
    const mesh = `defaultProviders: {metrics: [prometheus], tracing: [otel], accessLogging: [json-log]}
extensionProviders:
- name: otel
  opentelemetry:
    service: otel-collector.observability.svc.cluster.local
    port: 4318
    http: {path: /v1/traces, timeout: 3s, headers: [{name: x-tenant, value: shop}]}
- name: json-log
  envoyFileAccessLog:
    path: /var/log/json.log
    logFormat:
      labels: {status: "%RESPONSE_CODE%", authority: "%REQ(:AUTHORITY)%"}
- name: text-log
  envoyFileAccessLog: {path: /dev/stdout, logFormat: {text: "%RESPONSE_CODE% %DURATION%\\n"}}
`;
    const r = translateWith({
      mesh,
      telemetryFilters: true,
      extra:
        telemetry(
          "web",
          "shop",
          `  tracing: [{providers: [{name: otel}], randomSamplingPercentage: 12.5, customTags: {team: {literal: {value: shop}}, ua: {header: {name: user-agent, defaultValue: none}}}}]
  accessLogging: [{providers: [{name: text-log}], filter: {expression: "response.code >= 400"}}]
  metrics:
  - providers: [{name: prometheus}]
    reportingInterval: 15s
    overrides:
    - match: {metric: REQUEST_COUNT}
      tagOverrides: {request_protocol: {operation: REMOVE}, team: {value: "'shop'"}}
    - match: {metric: REQUEST_DURATION}
      disabled: true`,
        ),
    });
    expect(r.messages).toEqual([]);
    const hcms = r.snapshot.listeners.flatMap((l) => l.filterChains.flatMap((c) => c.filters)).filter((f) => f.name === "envoy.filters.network.http_connection_manager");
    expect(hcms.some((f) => f.typedConfig.tracing !== undefined && f.typedConfig.accessLog?.some((a) => a.filter !== undefined))).toBe(true);
    for (const l of r.snapshot.listeners) expectRoundTrip(l);
  });

  it("covered every kind of listener content the translator writes", () => {
    expect([...seen].sort()).toEqual([
      "additional_addresses",
      "envoy.filters.http.cors",
      "envoy.filters.http.fault",
      "envoy.filters.http.jwt_authn",
      "envoy.filters.http.rbac",
      "envoy.filters.http.router",
      "envoy.filters.network.http_connection_manager",
      "envoy.filters.network.rbac",
      "envoy.filters.network.tcp_proxy",
      "filter_disabled",
      "istio.metadata_exchange",
      "istio.stats",
      "tcp istio.stats",
      "tls",
      "use_original_dst",
    ]);
  });
});
