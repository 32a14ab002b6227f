import { istioHttpFilters, istioTcpStats } from "../../helpers/model.js";
// MeshConfig → each connection manager's and tcp_proxy's telemetry: access log file / encoding /
// format, where the MeshConfig comes from (file, ConfigMap, --config), root namespace, and every
// bad input with its file, line and field.

import { describe, expect, it } from "vitest";
import { parseRunFlags } from "../../../src/bootstrap/parse-run-flags.js";
import { parseMeshConfigText } from "../../../src/config/load/load-mesh-config.js";
import { formatConfigError } from "../../../src/config/model/config-error.js";
import { ISTIO_METADATA_EXCHANGE_FILTER, ISTIO_STATS_FILTER } from "../../../src/config/model/types.js";
import { run } from "./helpers.js";
import { filterNames, hcm, ISTIO_DEFAULT_JSON, ISTIO_DEFAULT_TEXT, OUTBOUND, PROXY_YAML, tcp, translateWith } from "./telemetry-helpers.js";

describe("without a mesh config", () => {
  it("istiod's filters (metadata exchange, fault, stats, router) and TCP stats; no access log, no tracing", () => {
    const r = translateWith();
    expect(r.messages).toEqual([]);
    for (const d of ["INBOUND", "OUTBOUND"] as const) {
      const h = hcm(r, d);
      expect(h.httpFilters).toEqual(istioHttpFilters(d));
      expect(h.accessLog).toBeUndefined();
      expect(h.tracing).toBeUndefined();
      expect(tcp(r, d).accessLog).toBeUndefined();
      expect(tcp(r, d).istioStats).toEqual(istioTcpStats(d));
    }
  });

  it("with telemetryFilters adds istiod's metadata exchange and stats filters (a standard install reports to prometheus)", () => {
    const r = translateWith({ telemetryFilters: true });
    expect(filterNames(hcm(r, "OUTBOUND"))).toEqual([ISTIO_METADATA_EXCHANGE_FILTER, "envoy.filters.http.fault", "envoy.filters.http.cors", ISTIO_STATS_FILTER, "envoy.filters.http.router"]);
    expect(hcm(r, "OUTBOUND").httpFilters[0]!.typedConfig).toEqual({ removeHeaders: true });
    expect(hcm(r, "OUTBOUND").httpFilters[3]!.typedConfig).toEqual({ reporter: "source", metrics: [] });
    expect(hcm(r, "INBOUND").httpFilters[3]!.typedConfig).toEqual({ reporter: "destination", metrics: [] });
    expect(tcp(r, "INBOUND").istioStats).toEqual({ reporter: "destination", metrics: [] });
    expect(tcp(r, "OUTBOUND").istioStats).toEqual({ reporter: "source", metrics: [] });
  });
});

describe("accessLogFile, accessLogEncoding, accessLogFormat", () => {
  it("accessLogFile turns on Istio's default TEXT log byte-for-byte, on HTTP and TCP, both directions", () => {
    const r = translateWith({ mesh: "accessLogFile: /dev/stdout\ndefaultProviders: {metrics: [prometheus]}\n" });
    expect(r.warningMessages).toEqual([]);
    const want = [{ name: "envoy.access_loggers.file", path: "/dev/stdout", format: { kind: "text", text: ISTIO_DEFAULT_TEXT } }];
    for (const d of ["INBOUND", "OUTBOUND"] as const) {
      expect(hcm(r, d).accessLog).toEqual(want);
      expect(tcp(r, d).accessLog).toEqual(want);
    }
  });

  it("an empty accessLogFile is off", () => {
    const r = translateWith({ mesh: 'accessLogFile: ""\naccessLogEncoding: JSON\n' });
    expect(hcm(r, "INBOUND").accessLog).toBeUndefined();
  });

  it("JSON encoding uses Istio's JSON keys, in the order they print", () => {
    const r = translateWith({ mesh: "accessLogFile: /var/log/access.log\naccessLogEncoding: JSON\n" });
    const log = hcm(r, "OUTBOUND").accessLog![0]!;
    expect(log.path).toBe("/var/log/access.log");
    expect(log.format).toEqual({ kind: "json", json: ISTIO_DEFAULT_JSON });
    expect(Object.keys(log.format.kind === "json" ? log.format.json : {})).toEqual(Object.keys(ISTIO_DEFAULT_JSON));
  });

  it("accessLogFormat replaces the format; TEXT gets Istio's trailing newline, JSON is parsed and sorted", () => {
    let r = translateWith({ mesh: 'accessLogFile: /dev/stdout\naccessLogFormat: "%RESPONSE_CODE% %REQ(:PATH)%"\n' });
    expect(hcm(r, "INBOUND").accessLog![0]!.format).toEqual({ kind: "text", text: "%RESPONSE_CODE% %REQ(:PATH)%\n" });
    r = translateWith({ mesh: `accessLogFile: /dev/stdout\naccessLogEncoding: JSON\naccessLogFormat: '{"path": "%REQ(:PATH)%", "code": "%RESPONSE_CODE%"}'\n` });
    expect(hcm(r, "INBOUND").accessLog![0]!.format).toEqual({ kind: "json", json: { code: "%RESPONSE_CODE%", path: "%REQ(:PATH)%" } });
  });

  it("accepts protobuf's snake_case spellings and the enum's numbers", () => {
    const r = translateWith({ mesh: "access_log_file: /dev/stderr\naccess_log_encoding: 1\ndefault_providers: {metrics: [prometheus]}\n" });
    expect(r.warningMessages).toEqual([]);
    expect(hcm(r, "INBOUND").accessLog![0]).toMatchObject({ path: "/dev/stderr", format: { kind: "json" } });
  });
});

describe("where the mesh config comes from", () => {
  const CM = (name: string, body: string, ns = "istio-system"): string => `apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}, namespace: ${ns}}
data:
  mesh: |-
${body
  .split("\n")
  .map((l) => `    ${l}`)
  .join("\n")}
---
`;

  it("reads the istio ConfigMap as a file, with lines counted into data.mesh", () => {
    const text = CM("istio", "accessLogFile: /dev/stdout\naccessLogEncoding: XML");
    const m = parseMeshConfigText(text, "istio-cm.yaml");
    expect(m.errors).toEqual([]);
    const r = run(PROXY_YAML, { ...OUTBOUND, meshConfig: m.doc! });
    expect(r.messages).toEqual(['istio-cm.yaml:7: accessLogEncoding: unsupported value string "XML", must be TEXT or JSON']);
  });

  it("reads a `mesh: |-` fragment as Istio's docs show it", () => {
    const m = parseMeshConfigText("mesh: |-\n  accessLogFile: /dev/stdout\n", "frag.yaml");
    const r = run(PROXY_YAML, { ...OUTBOUND, meshConfig: m.doc! });
    expect(hcm(r, "INBOUND").accessLog![0]!.path).toBe("/dev/stdout");
  });

  it("reads an istio ConfigMap among the --config documents", () => {
    const r = run(PROXY_YAML + CM("istio", "accessLogFile: /dev/stdout\ndefaultProviders: {metrics: [prometheus]}"), OUTBOUND);
    expect(r.messages).toEqual([]);
    expect(r.warningMessages).toEqual([]);
    expect(hcm(r, "INBOUND").accessLog![0]!.path).toBe("/dev/stdout");
    expect(r.summary.some((l) => l.startsWith("MeshConfig mesh/config.yaml (ConfigMap istio-system/istio data.mesh): root namespace istio-system, access log file /dev/stdout (TEXT)"))).toBe(true);
  });

  it("prefers --mesh-config over a ConfigMap among the documents, and says so", () => {
    const r = translateWith({ mesh: "accessLogFile: /from/flag\ndefaultProviders: {metrics: [prometheus]}\n", extra: CM("istio", "accessLogFile: /from/configmap") });
    expect(hcm(r, "INBOUND").accessLog![0]!.path).toBe("/from/flag");
    expect(r.warningMessages).toEqual(["mesh/config.yaml:25: warning: ConfigMap istio is not used as the mesh config: --mesh-config mesh.yaml is used instead"]);
  });

  it("uses `istio` over an `istio-<rev>` one, ignores ConfigMaps that hold no MeshConfig", () => {
    const other = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio-ca-root-cert, namespace: shop}\ndata: {root-cert.pem: x}\n---\n`;
    const r = run(PROXY_YAML + CM("istio-canary", "accessLogFile: /canary") + CM("istio", "accessLogFile: /stable\ndefaultProviders: {metrics: [prometheus]}") + other, OUTBOUND);
    expect(hcm(r, "INBOUND").accessLog![0]!.path).toBe("/stable");
    expect(r.warningMessages).toEqual([
      "mesh/config.yaml:40: warning: ignored: ConfigMap is not supported by outrigger yet",
      "mesh/config.yaml:25: warning: ConfigMap istio-canary is not used as the mesh config: ConfigMap istio (mesh/config.yaml:32) is used instead",
    ]);
  });

  it("refuses a ConfigMap without data.mesh, or with a non-string one", () => {
    let r = run(PROXY_YAML + `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio}\ndata: {meshNetworks: "x"}\n`, OUTBOUND);
    expect(r.messages).toEqual(["mesh/config.yaml:28: data.mesh: ConfigMap istio has no data.mesh: it must hold the MeshConfig as a YAML string"]);
    r = run(PROXY_YAML + `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio}\ndata:\n  mesh: {accessLogFile: x}\n`, OUTBOUND);
    expect(r.messages).toEqual(["mesh/config.yaml:29: data.mesh: must be a string holding the MeshConfig YAML, got object"]);
  });
});

describe("mesh config files that cannot be used", () => {
  const load = (text: string): string[] => parseMeshConfigText(text, "m.yaml").errors.map(formatConfigError);

  it("names the file and line for YAML errors, other kinds, several documents and non-mappings", () => {
    expect(load("accessLogFile: [\n")[0]).toMatch(/^m\.yaml:\d+: YAML syntax error: /);
    expect(load("apiVersion: apps/v1\nkind: Deployment\n")).toEqual(['m.yaml:2: kind: expected a MeshConfig document or the istio ConfigMap, got kind "Deployment"']);
    expect(load("accessLogFile: a\n---\naccessLogFile: b\n")).toEqual(["m.yaml:3: the mesh config file must hold one document (a MeshConfig or the istio ConfigMap), found 2"]);
    expect(load("- a\n- b\n")).toEqual(["m.yaml:1: the mesh config must be a mapping (MeshConfig fields, or a ConfigMap with data.mesh)"]);
    expect(load("kind: ConfigMap\ndata:\n  mesh: |-\n    accessLogFile: [\n")[0]).toMatch(/^m\.yaml:\d+: data\.mesh: YAML syntax error in the MeshConfig: /);
  });

  it("an empty file is Istio's defaults", () => {
    const m = parseMeshConfigText("", "m.yaml");
    expect(m.errors).toEqual([]);
    const r = run(PROXY_YAML, { ...OUTBOUND, meshConfig: m.doc! });
    expect(r.messages).toEqual([]);
  });
});

describe("MeshConfig validation", () => {
  const errorsOf = (mesh: string): string[] => translateWith({ mesh }).messages;
  const warningsOf = (mesh: string): string[] => translateWith({ mesh }).warningMessages;

  it("collects every error with its line and field", () => {
    expect(
      errorsOf(`accessLogFile: 3
accessLogEncoding: XML
accessLogFormat: {a: b}
enableTracing: "yes"
defaultConfig:
  tracing:
    sampling: -1
    maxPathTagLength: -3
    zipkin: {address: z:9411}
    datadog: {address: d:8126}
`),
    ).toEqual([
      "mesh.yaml:1: accessLogFile: must be a string, got number 3",
      'mesh.yaml:2: accessLogEncoding: unsupported value string "XML", must be TEXT or JSON',
      "mesh.yaml:3: accessLogFormat: must be a string, got an object",
      'mesh.yaml:4: enableTracing: must be true or false, got string "yes"',
      "mesh.yaml:7: defaultConfig.tracing.sampling: must be a percentage between 0 and 100, got -1",
      "mesh.yaml:8: defaultConfig.tracing.maxPathTagLength: must be >= 0, got -3",
      "mesh.yaml:6: defaultConfig.tracing: only one tracer may be set (tracer is one of a kind), got zipkin, datadog",
    ]);
  });

  it("refuses a JSON accessLogFormat that is not a JSON object", () => {
    expect(errorsOf("accessLogFile: /dev/stdout\naccessLogEncoding: JSON\naccessLogFormat: '{oops'\n")).toEqual([
      expect.stringMatching(/^mesh\.yaml:3: accessLogFormat: with accessLogEncoding JSON this must be a JSON object of key to format string: /),
    ]);
    expect(errorsOf("accessLogEncoding: JSON\naccessLogFormat: '[1]'\n")).toEqual(["mesh.yaml:2: accessLogFormat: with accessLogEncoding JSON this must be a JSON object of key to format string, got a list"]);
  });

  it("refuses bad extension providers: no name, duplicate, no kind, two kinds, bad service/port, both grpc and http, bad header or timeout", () => {
    expect(
      errorsOf(`extensionProviders:
- opentelemetry: {service: a.b, port: 4318, http: {}}
- name: dup
  prometheus: {}
- name: dup
  prometheus: {}
- name: none
- name: two
  prometheus: {}
  envoyFileAccessLog: {}
- name: nosvc
  opentelemetry: {port: 4318, http: {}}
- name: badport
  opentelemetry: {service: otel.obs.svc, port: 70000, http: {}}
- name: both
  opentelemetry: {service: otel.obs.svc, port: 4318, http: {}, grpc: {}}
- name: hdr
  opentelemetry:
    service: otel.obs.svc
    port: 4318
    http:
      timeout: 5 seconds
      headers: [{name: a, value: b, envName: C}, {value: x}]
`),
    ).toEqual([
      "mesh.yaml:2: extensionProviders[0].name: invalid extension provider: empty extension provider name",
      "mesh.yaml:5: extensionProviders[2].name: invalid extension provider dup: duplicate extension provider name dup",
      "mesh.yaml:7: extensionProviders[3]: invalid extension provider none: no provider kind set (one of opentelemetry, envoyFileAccessLog, prometheus, …)",
      "mesh.yaml:8: extensionProviders[4]: invalid extension provider two: sets envoyFileAccessLog and prometheus, only one is allowed",
      "mesh.yaml:12: extensionProviders[5].opentelemetry.service: invalid extension provider nosvc: service must not be empty",
      "mesh.yaml:14: extensionProviders[6].opentelemetry.port: invalid extension provider badport: port number 70000 must be in the range 1..65535",
      "mesh.yaml:16: extensionProviders[7].opentelemetry: invalid extension provider both: OpenTelemetryTracingProvider cannot specify both grpc and http",
      'mesh.yaml:22: extensionProviders[8].opentelemetry.http.timeout: invalid duration "5 seconds": use forms like "10s", "1.5s", "100ms", "1h"',
      "mesh.yaml:23: extensionProviders[8].opentelemetry.http.headers[0]: set value or envName, not both (header_value is one of a kind)",
      "mesh.yaml:23: extensionProviders[8].opentelemetry.http.headers[1].name: header name may not be empty",
    ]);
  });

  it("warns about unknown fields, but not about MeshConfig fields outrigger does not use", () => {
    expect(
      warningsOf(`trustDomain: cluster.local
rootNamespace: istio-system
enablePrometheusMerge: true
defaultConfig:
  discoveryAddress: istiod.istio-system.svc:15012
  proxyMetadata: {A: b}
  tracing: {zipkin: {address: zipkin.istio-system:9411}}
defaultProviders: {metrics: [prometheus]}
accessLogFle: /dev/stdout
`),
    ).toEqual([
      'mesh.yaml:9: warning: accessLogFle: unknown field "accessLogFle" ignored',
      // Helm's default ConfigMap names zipkin: said once, not a field error.
      "mesh.yaml: warning: defaultConfig.tracing.zipkin is not supported by outrigger (use an opentelemetry extension provider, or OTEL_EXPORTER_OTLP_ENDPOINT): no tracing",
    ]);
  });

  it("accepts istiod's other provider kinds with a warning naming them, and warns about gRPC-only OpenTelemetry", () => {
    expect(
      warningsOf(`defaultProviders: {metrics: [prometheus]}
extensionProviders:
- name: zipkin
  zipkin: {service: zipkin.istio-system.svc.cluster.local, port: 9411}
- name: als
  envoyOtelAls: {service: otel.obs.svc, port: 4317}
- name: authz
  envoyExtAuthzHttp: {service: authz.svc, port: 8000}
- name: otel-grpc
  opentelemetry: {service: otel.obs.svc, port: 4317}
`),
    ).toEqual([
      "mesh.yaml:4: warning: extensionProviders[0].zipkin: extension provider zipkin: zipkin is not supported by outrigger; ignored",
      "mesh.yaml:6: warning: extensionProviders[1].envoyOtelAls: extension provider als: envoyOtelAls is not supported by outrigger; ignored",
      "mesh.yaml:8: warning: extensionProviders[2].envoyExtAuthzHttp: extension provider authz: envoyExtAuthzHttp is not supported by outrigger; ignored",
      "mesh.yaml:10: warning: extensionProviders[3].opentelemetry: opentelemetry provider otel-grpc exports over OTLP/gRPC (no http section), which outrigger does not support: add http: {path: /v1/traces} and the collector's OTLP/HTTP port (usually 4318); spans are not exported to it",
    ]);
  });

  it("warns when no default metrics provider is set, and about default providers that are not defined", () => {
    expect(warningsOf("defaultProviders: {accessLogging: [nope]}\n")).toEqual([
      'mesh.yaml:1: warning: defaultProviders.accessLogging[0]: provider "nope" is not defined in extensionProviders: ignored',
      "mesh.yaml:1: warning: defaultProviders.metrics: no default metrics provider: Istio's standard metrics are off unless a Telemetry resource names one (Istio's Helm install sets defaultProviders.metrics: [prometheus])",
    ]);
    const r = translateWith({ mesh: "accessLogFile: /dev/stdout\n", telemetryFilters: true });
    expect(filterNames(hcm(r, "INBOUND"))).toEqual([ISTIO_METADATA_EXCHANGE_FILTER, "envoy.filters.http.fault", "envoy.filters.http.cors", "envoy.filters.http.router"]);
    expect(tcp(r, "INBOUND").istioStats).toBeUndefined();
  });
});

describe("root namespace", () => {
  const rootTelemetry = (ns: string): string => `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: ${ns}}
spec:
  accessLogging: [{providers: [{name: envoy}]}]
---
`;

  it("is istio-system by default; --root-namespace moves it; the MeshConfig's rootNamespace wins, with a warning", () => {
    expect(translateWith({ extra: rootTelemetry("istio-system") }).snapshot.listeners.length).toBeGreaterThan(0);
    expect(hcm(translateWith({ extra: rootTelemetry("istio-system") }), "INBOUND").accessLog).toHaveLength(1);
    expect(hcm(translateWith({ extra: rootTelemetry("mesh-root") }), "INBOUND").accessLog).toBeUndefined();
    expect(hcm(translateWith({ extra: rootTelemetry("mesh-root"), rootNamespace: "mesh-root" }), "INBOUND").accessLog).toHaveLength(1);
    const r = translateWith({ extra: rootTelemetry("cfg-root"), rootNamespace: "mesh-root", mesh: "rootNamespace: cfg-root\ndefaultProviders: {metrics: [prometheus]}\n" });
    expect(hcm(r, "INBOUND").accessLog).toHaveLength(1);
    expect(r.warningMessages).toEqual(["mesh.yaml:1: warning: rootNamespace: rootNamespace cfg-root overrides --root-namespace mesh-root"]);
  });

  it("--root-namespace must be a namespace name", () => {
    expect(() => parseRunFlags(["--config", "x", "--root-namespace", "Bad_NS"], { env: {}, cpuCount: () => 1, reusePortBalances: () => true })).toThrow('--root-namespace: "Bad_NS" is not a valid namespace name');
  });

  it("also places the mesh-wide default Sidecar", () => {
    const sidecar = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: mesh-root}
spec:
  ingress: [{port: {number: 9999, protocol: HTTP, name: http}}]
`;
    const base = { namespace: "other", defaultOutbound: null };
    expect(run(sidecar, base).snapshot.listeners.map((l) => l.name)).toEqual([]);
    expect(run(sidecar, { ...base, rootNamespace: "mesh-root" }).snapshot.listeners.map((l) => l.name)).toEqual(["0.0.0.0_9999"]);
  });
});
