// The standard OTEL_* variables: how they are read (the OTLP exporter spec's endpoint, header and
// timeout rules), every bad value naming its variable, and how they combine with MeshConfig and
// the Telemetry API (Istio config wins where it says something; OTEL_* fill the rest).

import { describe, expect, it } from "vitest";
import { otelEnvFrom } from "../../../src/bootstrap/otel-env.js";
import { parseRunFlags } from "../../../src/bootstrap/parse-run-flags.js";
import { hcm, telemetry, translateWith } from "./telemetry-helpers.js";

describe("reading OTEL_*", () => {
  it("nothing set: nothing to add", () => {
    expect(otelEnvFrom({})).toEqual({ tracesDisabled: false, headers: {} });
  });

  it("the generic endpoint gets /v1/traces appended to its path; the traces endpoint is used as is", () => {
    expect(otelEnvFrom({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }).endpoint).toBe("http://collector:4318/v1/traces");
    expect(otelEnvFrom({ OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector/base/" }).endpoint).toBe("https://collector/base/v1/traces");
    expect(otelEnvFrom({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://b:9999/custom/path" }).endpoint).toBe("http://b:9999/custom/path");
  });

  it("headers are URL-decoded key=value pairs; the traces ones win per name; timeouts are milliseconds", () => {
    const e = otelEnvFrom({
      OTEL_EXPORTER_OTLP_HEADERS: "Api-Key=a%20b, x-team=core",
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "api-key=traces",
      OTEL_EXPORTER_OTLP_TIMEOUT: "3000",
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "1500",
      OTEL_SERVICE_NAME: "checkout",
    });
    expect(e).toMatchObject({ headers: { "api-key": "traces", "x-team": "core" }, timeoutMs: 1500, serviceName: "checkout" });
    expect(otelEnvFrom({ OTEL_EXPORTER_OTLP_TIMEOUT: "3000" }).timeoutMs).toBe(3000);
  });

  it("samplers become a percentage; parent-based ones too (the parent's decision is honoured anyway)", () => {
    const pct = (s: string, arg?: string): number | undefined => otelEnvFrom({ OTEL_TRACES_SAMPLER: s, ...(arg !== undefined ? { OTEL_TRACES_SAMPLER_ARG: arg } : {}) }).samplingPercentage;
    expect([pct("always_on"), pct("always_off"), pct("traceidratio", "0.25"), pct("parentbased_traceidratio", "0.5"), pct("parentbased_always_on"), pct("parentbased_always_off"), pct("traceidratio")]).toEqual([100, 0, 25, 50, 100, 0, 100]);
  });

  it("OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none switch traces off", () => {
    expect(otelEnvFrom({ OTEL_SDK_DISABLED: "TRUE" }).tracesDisabled).toBe(true);
    expect(otelEnvFrom({ OTEL_SDK_DISABLED: "false" }).tracesDisabled).toBe(false);
    expect(otelEnvFrom({ OTEL_TRACES_EXPORTER: "none" }).tracesDisabled).toBe(true);
    expect(otelEnvFrom({ OTEL_TRACES_EXPORTER: "otlp" }).tracesDisabled).toBe(false);
  });

  it.each([
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }, '$OTEL_EXPORTER_OTLP_ENDPOINT: expected an http:// or https:// URL, got "collector:4318"'],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "not a url" }, '$OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: expected an http:// or https:// URL, got "not a url"'],
    [{ OTEL_EXPORTER_OTLP_HEADERS: "novalue" }, '$OTEL_EXPORTER_OTLP_HEADERS: expected key=value pairs separated by commas, got "novalue"'],
    [{ OTEL_EXPORTER_OTLP_TRACES_HEADERS: "a=%zz" }, '$OTEL_EXPORTER_OTLP_TRACES_HEADERS: "a=%zz" is not valid URL encoding'],
    [{ OTEL_EXPORTER_OTLP_TIMEOUT: "5s" }, '$OTEL_EXPORTER_OTLP_TIMEOUT: expected whole milliseconds, got "5s"'],
    [{ OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "-1" }, '$OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: expected whole milliseconds, got "-1"'],
    [{ OTEL_TRACES_SAMPLER: "jaeger_remote" }, '$OTEL_TRACES_SAMPLER: unsupported sampler "jaeger_remote" (always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio)'],
    [{ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "10" }, '$OTEL_TRACES_SAMPLER_ARG: expected a ratio between 0 and 1, got "10"'],
    [{ OTEL_TRACES_EXPORTER: "zipkin" }, '$OTEL_TRACES_EXPORTER: unsupported exporter "zipkin" (outrigger exports otlp, or none)'],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, '$OTEL_EXPORTER_OTLP_PROTOCOL: unsupported protocol "grpc" (outrigger exports OTLP over HTTP: http/protobuf or http/json)'],
    [{ OTEL_SDK_DISABLED: "yes" }, '$OTEL_SDK_DISABLED: expected true or false, got "yes"'],
  ])("refuses %o", (env, message) => {
    expect(() => otelEnvFrom(env)).toThrow(message);
  });

  it("outrigger run reports a bad variable as a usage error and keeps good ones in the bootstrap", () => {
    const ctx = { cpuCount: () => 2, reusePortBalances: () => true };
    expect(() => parseRunFlags(["--config", "x"], { ...ctx, env: { OTEL_TRACES_SAMPLER: "sometimes" } })).toThrow(/^\$OTEL_TRACES_SAMPLER: unsupported sampler "sometimes"/);
    expect(parseRunFlags(["--config", "x"], { ...ctx, env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" } })!.otel).toEqual({ tracesDisabled: false, headers: {}, endpoint: "http://c:4318/v1/traces" });
  });
});

describe("OTEL_* with MeshConfig and Telemetry", () => {
  const MESH = `defaultProviders: {metrics: [prometheus]}
extensionProviders:
- name: otel
  opentelemetry: {service: otel.obs.svc, port: 4318, http: {path: /v1/traces, headers: [{name: x-tenant, value: mesh}]}}
`;
  const ROOT_TRACING = telemetry("root", "istio-system", "  tracing: [{providers: [{name: otel}]}]");

  it("an OTLP endpoint alone turns tracing on, both directions, at 1% with Istio's tags", () => {
    const r = translateWith({ otel: otelEnvFrom({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_EXPORTER_OTLP_HEADERS: "api-key=k" }) });
    for (const d of ["INBOUND", "OUTBOUND"] as const) {
      expect(hcm(r, d).tracing).toMatchObject({ provider: { endpoint: "http://collector:4318/v1/traces", headers: { "api-key": "k" }, timeoutMs: 10_000 }, randomSamplingPercentage: 1, maxPathTagLength: 256 });
      expect(hcm(r, d).tracing!.customTags).toHaveLength(5);
    }
  });

  it("but not when the mesh config says enableTracing: false", () => {
    const r = translateWith({ mesh: MESH + "enableTracing: false\n", otel: otelEnvFrom({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }) });
    expect(hcm(r, "INBOUND").tracing).toBeUndefined();
  });

  it("the sampler fills an unset sampling; MeshConfig's and Telemetry's win", () => {
    const otel = otelEnvFrom({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.2" });
    expect(hcm(translateWith({ otel }), "INBOUND").tracing!.randomSamplingPercentage).toBe(20);
    expect(hcm(translateWith({ otel, mesh: MESH + "defaultConfig: {tracing: {sampling: 7}}\n" }), "INBOUND").tracing!.randomSamplingPercentage).toBe(7);
    expect(hcm(translateWith({ otel, mesh: MESH, extra: telemetry("root", "istio-system", "  tracing: [{providers: [{name: otel}], randomSamplingPercentage: 3}]") }), "INBOUND").tracing!.randomSamplingPercentage).toBe(3);
  });

  it("a Telemetry provider wins over the env endpoint; env headers, timeout and service name fill in", () => {
    const otel = otelEnvFrom({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://env:4318", OTEL_EXPORTER_OTLP_HEADERS: "x-tenant=env,api-key=k", OTEL_EXPORTER_OTLP_TIMEOUT: "2500", OTEL_SERVICE_NAME: "web-svc" });
    const r = translateWith({ otel, mesh: MESH, extra: ROOT_TRACING });
    expect(hcm(r, "OUTBOUND").tracing!.provider).toEqual({
      name: "envoy.tracers.opentelemetry",
      serviceName: "web-svc",
      endpoint: "http://otel.obs.svc:4318/v1/traces",
      headers: { "x-tenant": "mesh", "api-key": "k" },
      timeoutMs: 2500,
    });
  });

  it("OTEL_SDK_DISABLED / OTEL_TRACES_EXPORTER=none switch off even Telemetry's tracing", () => {
    expect(hcm(translateWith({ otel: otelEnvFrom({ OTEL_SDK_DISABLED: "true" }), mesh: MESH, extra: ROOT_TRACING }), "INBOUND").tracing).toBeUndefined();
    expect(hcm(translateWith({ otel: otelEnvFrom({ OTEL_TRACES_EXPORTER: "none" }), mesh: MESH, extra: ROOT_TRACING }), "OUTBOUND").tracing).toBeUndefined();
  });
});
