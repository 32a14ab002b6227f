// The Telemetry API with istiod's precedence: which Telemetry resources apply (root namespace <
// namespace < workload selector, oldest namespace-wide one per namespace), and how tracing,
// access logging and metrics merge across levels into each direction's connection managers.

import { describe, expect, it } from "vitest";
import { ISTIO_STATS_FILTER, type IstioStatsConfig } from "../../../src/config/model/types.js";
import { celSyntaxProblem } from "../../../src/config/istio/telemetry-api.js";
import { hcm, tcp, telemetry, translateWith, type Translated } from "./telemetry-helpers.js";

const MESH = `defaultProviders: {metrics: [prometheus]}
extensionProviders:
- name: otel
  opentelemetry:
    service: otel-collector.observability.svc.cluster.local
    port: 4318
    http: {path: /v1/traces}
- name: otel2
  opentelemetry: {service: other.observability.svc, port: 4318, http: {path: /custom}}
- name: json-log
  envoyFileAccessLog:
    path: /var/log/json.log
    logFormat:
      labels: {status: "%RESPONSE_CODE%", authority: "%REQ(:AUTHORITY)%"}
- name: text-log
  envoyFileAccessLog: {path: /var/log/text.log, logFormat: {text: "%RESPONSE_CODE%"}}
- name: plain-log
  envoyFileAccessLog: {}
`;

const tr = (extra: string, opts: Parameters<typeof translateWith>[0] = {}): Translated => translateWith({ mesh: MESH, extra, telemetryFilters: true, proxyLabels: { app: "web", version: "v1" }, ...opts });
const stats = (r: Translated, d: "INBOUND" | "OUTBOUND"): IstioStatsConfig | undefined => hcm(r, d).httpFilters.find((f) => f.name === ISTIO_STATS_FILTER)?.typedConfig as IstioStatsConfig | undefined;
const paths = (r: Translated, d: "INBOUND" | "OUTBOUND"): string[] | undefined => hcm(r, d).accessLog?.map((l) => l.path);

describe("which Telemetry resources apply", () => {
  it("root namespace, then the proxy's namespace, then matching workload selectors; others never", () => {
    const r = tr(
      telemetry("root", "istio-system", "  tracing: [{providers: [{name: otel}], randomSamplingPercentage: 10}]") +
        telemetry("ns", "shop", "  tracing: [{randomSamplingPercentage: 20}]") +
        telemetry("web", "shop", "  selector: {matchLabels: {app: web}}\n  tracing: [{randomSamplingPercentage: 30}]") +
        telemetry("api", "shop", "  selector: {matchLabels: {app: api}}\n  tracing: [{randomSamplingPercentage: 40}]") +
        telemetry("elsewhere", "billing", "  tracing: [{randomSamplingPercentage: 50}]") +
        telemetry("root-selector", "istio-system", "  selector: {matchLabels: {app: web}}\n  tracing: [{randomSamplingPercentage: 60}]"),
    );
    expect(r.messages).toEqual([]);
    expect(hcm(r, "OUTBOUND").tracing!.randomSamplingPercentage).toBe(30);
    expect(r.summary.filter((l) => l.startsWith("Telemetry"))).toEqual([
      "Telemetry istio-system/root: 1 tracing, 0 accessLogging, 0 metrics (applies to this proxy)",
      "Telemetry shop/ns: 1 tracing, 0 accessLogging, 0 metrics (applies to this proxy)",
      "Telemetry shop/web: 1 tracing, 0 accessLogging, 0 metrics (applies to this proxy)",
      "Telemetry shop/api: 1 tracing, 0 accessLogging, 0 metrics (does not apply to this proxy)",
      "Telemetry billing/elsewhere: 1 tracing, 0 accessLogging, 0 metrics (does not apply to this proxy)",
      "Telemetry istio-system/root-selector: 1 tracing, 0 accessLogging, 0 metrics (does not apply to this proxy)",
    ]);
  });

  it("a root-namespace selector applies to proxies of the root namespace only", () => {
    const t = telemetry("root-selector", "istio-system", "  selector: {matchLabels: {app: web}}\n  tracing: [{providers: [{name: otel}]}]");
    expect(hcm(tr(t), "OUTBOUND").tracing).toBeUndefined();
    expect(hcm(tr(t, { namespace: "istio-system" }), "OUTBOUND").tracing).toBeDefined();
  });

  it("among namespace-wide Telemetries of one namespace the oldest applies (then the name), and the others are reported", () => {
    const old = "\n  creationTimestamp: \"2024-01-01T00:00:00Z\"";
    const young = "\n  creationTimestamp: \"2025-01-01T00:00:00Z\"";
    let r = tr(telemetry("a-young", "shop", "  accessLogging: [{providers: [{name: text-log}]}]", young) + telemetry("z-old", "shop", "  accessLogging: [{providers: [{name: json-log}]}]", old));
    expect(paths(r, "INBOUND")).toEqual(["/var/log/json.log"]);
    expect(r.warningMessages).toEqual(["mesh/config.yaml:25: warning: ignored: Telemetry shop/z-old is older and also applies to the whole namespace (istiod uses the oldest; give this one a selector or merge them)"]);
    r = tr(telemetry("b", "shop", "  accessLogging: [{providers: [{name: text-log}]}]") + telemetry("a", "shop", "  accessLogging: [{providers: [{name: json-log}]}]"));
    expect(paths(r, "INBOUND")).toEqual(["/var/log/json.log"]);
  });

  it("targetRefs are for gateways and waypoints: such a Telemetry never applies to a sidecar", () => {
    const r = tr(telemetry("gw", "shop", "  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: gw}]\n  accessLogging: [{providers: [{name: text-log}]}]"));
    expect(paths(r, "INBOUND")).toBeUndefined();
    expect(r.warningMessages).toEqual(["mesh/config.yaml:31: warning: spec.targetRefs: targetRefs select gateways and waypoints; istiod never applies them to sidecars, so this Telemetry does not apply to this proxy"]);
  });
});

describe("tracing", () => {
  it("writes the OpenTelemetry provider's endpoint, the node's service name and Istio's span tags", () => {
    const r = tr(telemetry("root", "istio-system", "  tracing: [{providers: [{name: otel}]}]"), { proxyLabels: { app: "web", "service.istio.io/canonical-name": "web", "service.istio.io/canonical-revision": "v1" } });
    expect(hcm(r, "INBOUND").tracing).toEqual({
      provider: { name: "envoy.tracers.opentelemetry", serviceName: "web.shop", endpoint: "http://otel-collector.observability.svc.cluster.local:4318/v1/traces", headers: {}, timeoutMs: 10_000 },
      randomSamplingPercentage: 1,
      customTags: [
        { tag: "istio.canonical_revision", literal: "v1" },
        { tag: "istio.canonical_service", literal: "web" },
        { tag: "istio.cluster_id", literal: "Kubernetes" },
        { tag: "istio.mesh_id", literal: "cluster.local" },
        { tag: "istio.namespace", literal: "shop" },
      ],
      maxPathTagLength: 256,
    });
    expect(hcm(r, "OUTBOUND").tracing).toEqual(hcm(r, "INBOUND").tracing);
  });

  it("match.mode splits client (outbound) and server (inbound); disableSpanReporting turns one side off", () => {
    const r = tr(
      telemetry("root", "istio-system", "  tracing: [{providers: [{name: otel}], randomSamplingPercentage: 5}]") +
        telemetry("ns", "shop", "  tracing:\n  - {match: {mode: SERVER}, disableSpanReporting: true}\n  - {match: {mode: CLIENT}, providers: [{name: otel2}], randomSamplingPercentage: 50}"),
    );
    expect(hcm(r, "INBOUND").tracing).toBeUndefined();
    expect(hcm(r, "OUTBOUND").tracing).toMatchObject({ provider: { endpoint: "http://other.observability.svc:4318/custom" }, randomSamplingPercentage: 50 });
  });

  it("custom tags replace the parent's (a shallow merge); enableIstioTags false drops Istio's", () => {
    const r = tr(
      telemetry("root", "istio-system", "  tracing: [{providers: [{name: otel}], customTags: {team: {literal: {value: core}}}}]") +
        telemetry("ns", "shop", "  tracing:\n  - enableIstioTags: false\n    customTags:\n      user: {header: {name: x-user, defaultValue: anon}}\n      pod: {environment: {name: POD_NAME}}"),
    );
    expect(hcm(r, "INBOUND").tracing!.customTags).toEqual([
      { tag: "pod", environment: { name: "POD_NAME" } },
      { tag: "user", requestHeader: { name: "x-user", defaultValue: "anon" } },
    ]);
  });

  it("sampling: Telemetry > defaultConfig.tracing.sampling > 1%; mesh sampling 0 means unset; defaultConfig custom tags apply when Telemetry sets none", () => {
    const mesh = MESH + "defaultConfig:\n  tracing:\n    sampling: 25\n    max_path_tag_length: 99\n    custom_tags: {env: {literal: {value: prod}}}\n";
    let r = translateWith({ mesh, extra: telemetry("root", "istio-system", "  tracing: [{providers: [{name: otel}]}]") });
    expect(hcm(r, "INBOUND").tracing).toMatchObject({ randomSamplingPercentage: 25, maxPathTagLength: 99 });
    expect(hcm(r, "INBOUND").tracing!.customTags.map((t) => t.tag)).toEqual(["env", "istio.canonical_revision", "istio.canonical_service", "istio.cluster_id", "istio.mesh_id", "istio.namespace"]);
    r = translateWith({ mesh, extra: telemetry("root", "istio-system", "  tracing: [{providers: [{name: otel}], randomSamplingPercentage: 0}]") });
    expect(hcm(r, "INBOUND").tracing!.randomSamplingPercentage).toBe(0);
    r = translateWith({ mesh: MESH + "defaultConfig: {tracing: {sampling: 0}}\n", extra: telemetry("root", "istio-system", "  tracing: [{providers: [{name: otel}]}]") });
    expect(hcm(r, "INBOUND").tracing!.randomSamplingPercentage).toBe(1);
    r = translateWith({ mesh: MESH + "defaultConfig: {tracing: {sampling: 150}}\n", extra: telemetry("root", "istio-system", "  tracing: [{providers: [{name: otel}]}]") });
    expect(hcm(r, "INBOUND").tracing!.randomSamplingPercentage).toBe(1);
    expect(r.warningMessages).toEqual(["mesh.yaml:19: warning: defaultConfig.tracing.sampling: 150 is above 100: istiod uses 1% instead"]);
  });

  it("defaultProviders.tracing turns tracing on without any Telemetry; an unsupported or unknown provider means none, with a warning", () => {
    let r = translateWith({ mesh: MESH.replace("defaultProviders: {metrics: [prometheus]}", "defaultProviders: {metrics: [prometheus], tracing: [otel]}") });
    expect(hcm(r, "INBOUND").tracing!.provider.endpoint).toBe("http://otel-collector.observability.svc.cluster.local:4318/v1/traces");
    r = tr(telemetry("root", "istio-system", "  tracing: [{providers: [{name: json-log}]}]") + telemetry("ns", "shop", "  tracing: [{match: {mode: CLIENT}, providers: [{name: missing}]}]"));
    expect(hcm(r, "INBOUND").tracing).toBeUndefined();
    expect(hcm(r, "OUTBOUND").tracing).toBeUndefined();
    expect(r.warningMessages).toEqual([
      'mesh.yaml: warning: tracing provider "missing" is not defined in the mesh config\'s extensionProviders: no tracing',
      'mesh.yaml: warning: tracing provider "json-log" (envoyFileAccessLog) is not supported by outrigger (opentelemetry only): no tracing',
    ]);
  });

  it("provider headers (literal or from the environment), timeout and max tag length", () => {
    const mesh = `defaultProviders: {metrics: [prometheus], tracing: [otel]}
extensionProviders:
- name: otel
  opentelemetry:
    service: observability/otel.example.com
    port: 4318
    maxTagLength: 64
    http:
      path: v1/traces
      timeout: 2s
      headers: [{name: x-tenant, value: shop}, {name: authorization, envName: OTEL_TOKEN}]
`;
    const r = translateWith({ mesh, env: { OTEL_TOKEN: "Bearer s3cret" } });
    expect(hcm(r, "INBOUND").tracing).toMatchObject({
      provider: { endpoint: "http://otel.example.com:4318/v1/traces", timeoutMs: 2000, headers: { "x-tenant": "shop", authorization: "Bearer s3cret" } },
      maxPathTagLength: 64,
    });
  });

  it("names spans as istio-agent's service cluster does: app label, else workload; tracingServiceName and serviceCluster change it", () => {
    const base = (extra: string, labels: Record<string, string>): string => translateWith({ mesh: MESH.replace("metrics: [prometheus]", "metrics: [prometheus], tracing: [otel]") + extra, proxyLabels: labels }).snapshot.listeners.flatMap((l) => l.filterChains.flatMap((c) => c.filters.map((f) => (f.typedConfig !== undefined && "tracing" in f.typedConfig ? (f.typedConfig.tracing?.provider.serviceName ?? "") : ""))))
      .find((n) => n !== "")!;
    expect(base("", { app: "reviews" })).toBe("reviews.shop");
    expect(base("", {})).toBe("outrigger.shop");
    expect(base("defaultConfig: {tracingServiceName: CANONICAL_NAME_ONLY}\n", { "service.istio.io/canonical-name": "reviews-canonical", app: "reviews" })).toBe("reviews-canonical");
    expect(base("defaultConfig: {tracingServiceName: CANONICAL_NAME_AND_NAMESPACE}\n", { "service.istio.io/canonical-name": "rc" })).toBe("rc.shop");
    expect(base("defaultConfig: {serviceCluster: my-cluster}\n", { app: "reviews" })).toBe("my-cluster");
  });
});

describe("access logging", () => {
  it("providers: the built-in envoy one follows MeshConfig's encoding; others use their own format; logs are sorted by provider name", () => {
    const mesh = MESH + "accessLogEncoding: JSON\n";
    const r = translateWith({ mesh, extra: telemetry("root", "istio-system", "  accessLogging: [{providers: [{name: text-log}, {name: envoy}, {name: json-log}, {name: plain-log}]}]") });
    const logs = hcm(r, "INBOUND").accessLog!;
    expect(logs.map((l) => [l.path, l.format.kind])).toEqual([
      ["/dev/stdout", "json"],
      ["/var/log/json.log", "json"],
      ["/dev/stdout", "text"],
      ["/var/log/text.log", "text"],
    ]);
    expect(logs[1]!.format).toEqual({ kind: "json", json: { authority: "%REQ(:AUTHORITY)%", status: "%RESPONSE_CODE%" } });
    expect(logs[3]!.format).toEqual({ kind: "text", text: "%RESPONSE_CODE%\n" });
    expect(tcp(r, "OUTBOUND").accessLog).toEqual(logs);
  });

  it("mode, filter and disabled merge across levels as istiod's mergeLogs does", () => {
    const r = tr(
      telemetry("root", "istio-system", "  accessLogging: [{providers: [{name: text-log}], filter: {expression: 'response.code >= 400'}}]") +
        telemetry("web", "shop", "  selector: {matchLabels: {app: web}}\n  accessLogging: [{match: {mode: SERVER}, disabled: true}]"),
    );
    expect(hcm(r, "INBOUND").accessLog).toBeUndefined();
    expect(hcm(r, "OUTBOUND").accessLog).toEqual([{ name: "envoy.access_loggers.file", path: "/var/log/text.log", format: { kind: "text", text: "%RESPONSE_CODE%\n" }, filter: { expression: "response.code >= 400" } }]);
  });

  it("a level naming providers replaces the parent's set", () => {
    const r = tr(telemetry("root", "istio-system", "  accessLogging: [{providers: [{name: text-log}]}]") + telemetry("ns", "shop", "  accessLogging: [{providers: [{name: json-log}]}]"));
    expect(paths(r, "INBOUND")).toEqual(["/var/log/json.log"]);
  });

  it("falls back to MeshConfig's accessLogFile when no provider outrigger can write is configured, and warns", () => {
    const r = translateWith({ mesh: MESH + "- name: otel-als\n  envoyOtelAls: {service: otel.obs.svc, port: 4317}\naccessLogFile: /dev/stderr\n", extra: telemetry("root", "istio-system", "  accessLogging: [{providers: [{name: otel-als}, {name: nope}]}]") });
    expect(paths(r, "INBOUND")).toEqual(["/dev/stderr"]);
    expect(r.warningMessages).toEqual([
      "mesh.yaml:20: warning: extensionProviders[5].envoyOtelAls: extension provider otel-als: envoyOtelAls is not supported by outrigger; ignored",
      'mesh.yaml: warning: access logging provider "otel-als" (envoyOtelAls) is not supported by outrigger: ignored',
      'mesh.yaml: warning: access logging provider "nope" is not defined in the mesh config\'s extensionProviders: ignored',
    ]);
  });

  it("defaultProviders.accessLogging applies without Telemetry; a Telemetry disabling it wins over accessLogFile", () => {
    const mesh = MESH.replace("metrics: [prometheus]", "metrics: [prometheus], accessLogging: [text-log]") + "accessLogFile: /dev/stdout\n";
    expect(paths(translateWith({ mesh }), "INBOUND")).toEqual(["/var/log/text.log"]);
    expect(paths(translateWith({ mesh, extra: telemetry("ns", "shop", "  accessLogging: [{disabled: true}]") }), "INBOUND")).toBeUndefined();
  });
});

describe("metrics", () => {
  it("disabling ALL_METRICS for CLIENT removes istio.stats from outbound only, on HTTP and TCP", () => {
    const r = tr(telemetry("ns", "shop", "  metrics:\n  - providers: [{name: prometheus}]\n    overrides: [{match: {metric: ALL_METRICS, mode: CLIENT}, disabled: true}]"));
    expect(stats(r, "OUTBOUND")).toBeUndefined();
    expect(tcp(r, "OUTBOUND").istioStats).toBeUndefined();
    expect(stats(r, "INBOUND")).toEqual({ reporter: "destination", metrics: [] });
    expect(tcp(r, "INBOUND").istioStats).toEqual({ reporter: "destination", metrics: [] });
  });

  it("tag overrides and drops become istio.stats metric configs with Istio's names, sorted", () => {
    const r = tr(
      telemetry(
        "ns",
        "shop",
        `  metrics:
  - overrides:
    - match: {metric: REQUEST_COUNT, mode: SERVER}
      tagOverrides:
        request_protocol: {operation: REMOVE}
        route: {value: "request.url_path"}
    - match: {metric: REQUEST_DURATION}
      disabled: true
    - match: {customMetric: my_metric}
      tagOverrides: {a: {operation: UPSERT, value: "'x'"}}
    reportingInterval: 15s`,
      ),
    );
    expect(stats(r, "INBOUND")).toEqual({
      reporter: "destination",
      metrics: [
        { name: "requests_total", tagsToRemove: ["request_protocol"], dimensions: { route: "request.url_path" } },
        { name: "request_duration_milliseconds", drop: true },
        { name: "my_metric", dimensions: { a: "'x'" } },
      ],
      tcpReportingDurationMs: 15_000,
    });
    expect(stats(r, "OUTBOUND")!.metrics.map((m) => m.name)).toEqual(["request_duration_milliseconds", "my_metric"]);
  });

  it("a tag override without a metric applies to every metric (istiod flattens ALL_METRICS)", () => {
    const r = tr(telemetry("ns", "shop", "  metrics: [{overrides: [{tagOverrides: {source_cluster: {operation: REMOVE}}}]}]"));
    expect(stats(r, "INBOUND")!.metrics.map((m) => m.name)).toEqual([
      "request_messages_total",
      "response_messages_total",
      "requests_total",
      "request_duration_milliseconds",
      "request_bytes",
      "response_bytes",
      "tcp_connections_closed_total",
      "tcp_connections_opened_total",
      "tcp_received_bytes_total",
      "tcp_sent_bytes_total",
    ]);
    expect(stats(r, "INBOUND")!.metrics.every((m) => m.tagsToRemove?.[0] === "source_cluster")).toBe(true);
  });

  it("the root namespace disables everything and a namespace enables some again", () => {
    const r = tr(
      telemetry("root", "istio-system", "  metrics: [{overrides: [{disabled: true}]}]") +
        telemetry("ns", "shop", "  metrics: [{overrides: [{match: {metric: REQUEST_COUNT, mode: SERVER}, disabled: false}]}]"),
    );
    expect(stats(r, "OUTBOUND")).toBeUndefined();
    expect(stats(r, "INBOUND")).toEqual({ reporter: "destination", metrics: [{ name: "requests_total" }] });
  });

  it("providers without prometheus mean no istio.stats; a later level may bring it back", () => {
    const mesh = MESH + "";
    let r = translateWith({ mesh, telemetryFilters: true, extra: telemetry("ns", "shop", "  metrics: [{providers: [{name: otel}]}]") });
    expect(stats(r, "INBOUND")).toBeUndefined();
    r = translateWith({ mesh, telemetryFilters: true, extra: telemetry("root", "istio-system", "  metrics: [{providers: [{name: otel}]}]") + telemetry("ns", "shop", "  metrics: [{providers: [{name: prometheus}]}]") });
    expect(stats(r, "INBOUND")).toEqual({ reporter: "destination", metrics: [] });
  });
});

describe("invalid Telemetry resources", () => {
  it("reports every error with its line and field, as istiod's validation does", () => {
    const r = tr(
      telemetry(
        "bad",
        "shop",
        `  selector: {matchLabels: {app: web}}
  targetRefs: [{kind: Service, name: x}]
  tracing:
  - providers: [{name: ""}]
    randomSamplingPercentage: 150
    customTags:
      empty: {literal: {value: ""}}
      nothing: {}
      two: {literal: {value: a}, header: {name: b}}
  accessLogging:
  - filter: {expression: "response.code >= (400"}
    match: {mode: BOTH}
  metrics:
  - overrides:
    - match: {metric: REQUEST_TOTAL}
    - match: {customMetric: ""}
    - tagOverrides:
        a: {operation: UPSERT}
        b: {operation: REMOVE, value: x}
        c: {operation: DELETE}
    reportingInterval: soon`,
      ),
    );
    expect(r.messages).toEqual([
      "mesh/config.yaml:30: spec: only one of targetRefs or workloadSelector can be set",
      "mesh/config.yaml:34: spec.tracing[0].providers[0]: providers.name may not be empty",
      "mesh/config.yaml:35: spec.tracing[0].randomSamplingPercentage: randomSamplingPercentage must be in range [0.0, 100.0], got 150",
      "mesh/config.yaml:37: spec.tracing[0].customTags.empty.literal.value: literal tag value may not be empty",
      "mesh/config.yaml:38: spec.tracing[0].customTags.nothing: tag 'nothing' must set one of literal, environment, header, formatter",
      "mesh/config.yaml:39: spec.tracing[0].customTags.two: tag 'two' sets literal and header: only one is allowed",
      "mesh/config.yaml:42: spec.accessLogging[0].match.mode: unsupported value \"BOTH\", must be one of CLIENT_AND_SERVER, CLIENT, SERVER",
      "mesh/config.yaml:41: spec.accessLogging[0].filter.expression: must be a valid CEL expression: unclosed (",
      "mesh/config.yaml:45: spec.metrics[0].overrides[0].match.metric: unsupported value \"REQUEST_TOTAL\", must be one of ALL_METRICS, REQUEST_COUNT, REQUEST_DURATION, REQUEST_SIZE, RESPONSE_SIZE, TCP_OPENED_CONNECTIONS, TCP_CLOSED_CONNECTIONS, TCP_SENT_BYTES, TCP_RECEIVED_BYTES, GRPC_REQUEST_MESSAGES, GRPC_RESPONSE_MESSAGES",
      "mesh/config.yaml:46: spec.metrics[0].overrides[1].match.customMetric: customMetric may not be empty",
      "mesh/config.yaml:48: spec.metrics[0].overrides[2].tagOverrides.a.value: tagOverrides.value must be set when operation is UPSERT",
      "mesh/config.yaml:49: spec.metrics[0].overrides[2].tagOverrides.b.value: tagOverrides.value may only be set when operation is UPSERT",
      "mesh/config.yaml:50: spec.metrics[0].overrides[2].tagOverrides.c.operation: unsupported value \"DELETE\", must be one of UPSERT, REMOVE",
      "mesh/config.yaml:51: spec.metrics[0].reportingInterval: invalid duration \"soon\": use forms like \"10s\", \"1.5s\", \"100ms\", \"1h\"",
    ]);
  });

  it("warns about what outrigger does not run: formatter tags, several providers, several tracing entries, unknown fields", () => {
    const r = tr(
      telemetry(
        "warn",
        "shop",
        `  tracing:
  - providers: [{name: otel}, {name: otel2}]
    customTags: {fmt: {formatter: {value: "%REQ(:PATH)%"}}}
    useRequestIdForTraceSampling: false
  - randomSamplingPercentage: 5
  logging: []`,
      ),
    );
    expect(r.messages).toEqual([]);
    expect(r.warningMessages).toEqual([
      'mesh/config.yaml:36: warning: spec.logging: unknown field "logging" ignored',
      "mesh/config.yaml:32: warning: spec.tracing[0].providers: multiple providers is not currently supported: only otel is used",
      "mesh/config.yaml:33: warning: spec.tracing[0].customTags.fmt.formatter: formatter custom tags (Envoy substitution formats) are not supported by outrigger; tag ignored",
      "mesh/config.yaml:34: warning: spec.tracing[0].useRequestIdForTraceSampling: useRequestIdForTraceSampling is not supported by outrigger; ignored",
      "mesh/config.yaml:31: warning: spec.tracing: multiple tracing is not currently supported (istiod warns too); later entries override earlier ones field by field",
    ]);
    expect(hcm(r, "INBOUND").tracing).toMatchObject({ randomSamplingPercentage: 5, provider: { endpoint: "http://otel-collector.observability.svc.cluster.local:4318/v1/traces" } });
  });

  it("checks access log filter expressions for what a CEL parser would refuse first", () => {
    expect(celSyntaxProblem('response.code >= 400 && request.headers["x-debug"] == "a\\"b"')).toBeUndefined();
    expect(celSyntaxProblem("  ")).toBe("the expression is empty");
    expect(celSyntaxProblem("request.path == 'abc")).toBe("unterminated string starting at column 17");
    expect(celSyntaxProblem("size(request.path))")).toBe("unbalanced ) at column 19");
    expect(celSyntaxProblem("[1, 2")).toBe("unclosed [");
    expect(celSyntaxProblem("response.code >=")).toBe("the expression ends with an operator");
  });

  it("accepts v1alpha1 and refuses a duplicate name", () => {
    const doc = (v: string): string => `apiVersion: telemetry.istio.io/${v}\nkind: Telemetry\nmetadata: {name: t, namespace: shop}\nspec: {accessLogging: [{providers: [{name: text-log}]}]}\n---\n`;
    expect(paths(tr(doc("v1alpha1")), "INBOUND")).toEqual(["/var/log/text.log"]);
    expect(tr(doc("v1") + doc("v1alpha1")).messages).toEqual([expect.stringMatching(/^mesh\/config\.yaml:\d+: metadata\.name: duplicate Telemetry shop\/t \(first defined at mesh\/config\.yaml:\d+\)$/)]);
  });
});
