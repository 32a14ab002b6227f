// Conformance with Istio's own telemetry samples (samples/open-telemetry, copied under
// test/fixtures/istio-telemetry), and the examples/telemetry folder users copy from.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadMeshConfigFile, parseMeshConfigText } from "../../../src/config/load/load-mesh-config.js";
import { ISTIO_STATS_FILTER } from "../../../src/config/model/types.js";
import { repoRoot } from "../../helpers/cli-process.js";
import { run } from "./helpers.js";
import { hcm, OUTBOUND, PROXY_YAML } from "./telemetry-helpers.js";

const fixtures = join(repoRoot, "test/fixtures/istio-telemetry");
const read = (f: string): Promise<string> => readFile(join(fixtures, f), "utf8");

describe("Istio's OpenTelemetry tracing sample", () => {
  it("loads; its gRPC-only provider is reported and exports nothing; sampling 0 comes from the Telemetry", async () => {
    const mesh = parseMeshConfigText(await read("tracing-mesh.yaml"), "tracing-mesh.yaml");
    expect(mesh.errors).toEqual([]);
    const r = run(PROXY_YAML + (await read("tracing-telemetry.yaml")), { ...OUTBOUND, meshConfig: mesh.doc! });
    expect(r.messages).toEqual([]);
    expect(r.warningMessages).toEqual([
      "tracing-mesh.yaml:4: warning: extensionProviders[0].opentelemetry: opentelemetry provider otel-tracing exports over OTLP/gRPC (no http section), which outrigger does not support: add http: {path: /v1/traces} and the collector's OTLP/HTTP port (usually 4318); spans are not exported to it",
      "tracing-mesh.yaml:2: warning: defaultProviders.metrics: no default metrics provider: Istio's standard metrics are off unless a Telemetry resource names one (Istio's Helm install sets defaultProviders.metrics: [prometheus])",
    ]);
    expect(r.summary).toContain("Telemetry shop/otel-demo: 1 tracing, 0 accessLogging, 0 metrics (applies to this proxy)");
    expect(hcm(r, "INBOUND").tracing).toBeUndefined();

    // The same provider over OTLP/HTTP, as the MeshConfig reference shows it.
    const http = parseMeshConfigText((await read("tracing-mesh.yaml")).replace("port: 4317", "port: 4318\n      http: {path: /v1/traces}"), "m.yaml");
    const t = run(PROXY_YAML + (await read("tracing-telemetry.yaml")), { ...OUTBOUND, meshConfig: http.doc! });
    expect(hcm(t, "OUTBOUND").tracing).toMatchObject({ provider: { endpoint: "http://opentelemetry-collector.observability.svc.cluster.local:4318/v1/traces" }, randomSamplingPercentage: 0 });
  });
});

describe("Istio's Loki access log sample", () => {
  it("loads; the envoyOtelAls provider it names is reported as not supported and no log is written", async () => {
    const iop = parse(await read("loki-iop.yaml")) as { spec: { meshConfig: unknown } };
    const mesh = parseMeshConfigText(JSON.stringify(iop.spec.meshConfig), "loki-mesh.json");
    const r = run(PROXY_YAML + (await read("loki-telemetry.yaml")), { ...OUTBOUND, meshConfig: mesh.doc! });
    expect(r.messages).toEqual([]);
    expect(r.warningMessages).toEqual([
      "loki-mesh.json:1: warning: extensionProviders[0].envoyOtelAls: extension provider otel: envoyOtelAls is not supported by outrigger; ignored",
      "loki-mesh.json:1: warning: defaultProviders.metrics: no default metrics provider: Istio's standard metrics are off unless a Telemetry resource names one (Istio's Helm install sets defaultProviders.metrics: [prometheus])",
      'loki-mesh.json: warning: access logging provider "otel" (envoyOtelAls) is not supported by outrigger: ignored',
    ]);
    expect(hcm(r, "INBOUND").accessLog).toBeUndefined();
  });
});

describe("examples/telemetry", () => {
  it("loads without a problem and configures what its comments say", async () => {
    const mesh = await loadMeshConfigFile(join(repoRoot, "examples/telemetry/mesh-config.yaml"));
    expect(mesh.errors).toEqual([]);
    const telemetry = await readFile(join(repoRoot, "examples/telemetry/telemetry.yaml"), "utf8");
    const r = run(PROXY_YAML + telemetry, { ...OUTBOUND, meshConfig: mesh.doc!, proxyLabels: { app: "web" }, telemetryFilters: true });
    expect(r.messages).toEqual([]);
    expect(r.warningMessages).toEqual([]);
    const inbound = hcm(r, "INBOUND");
    const outbound = hcm(r, "OUTBOUND");
    expect(inbound.tracing).toMatchObject({ randomSamplingPercentage: 100, provider: { endpoint: "http://opentelemetry-collector.observability.svc.cluster.local:4318/v1/traces", headers: { "x-scope-orgid": "shop" }, timeoutMs: 5000 } });
    expect(outbound.tracing!.randomSamplingPercentage).toBe(10);
    expect(outbound.tracing!.customTags).toContainEqual({ tag: "environment", literal: "production" });
    expect(inbound.accessLog).toEqual([
      expect.objectContaining({ path: "/var/log/outrigger/access.json", filter: { expression: "response.code >= 400" }, format: expect.objectContaining({ kind: "json" }) }),
    ]);
    expect(inbound.httpFilters.find((f) => f.name === ISTIO_STATS_FILTER)?.typedConfig).toEqual({ reporter: "destination", metrics: [{ name: "requests_total", tagsToRemove: ["request_protocol"] }] });
    expect(outbound.httpFilters.some((f) => f.name === ISTIO_STATS_FILTER)).toBe(false);
  });
});
