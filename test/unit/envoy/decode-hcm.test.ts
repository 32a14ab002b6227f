// The HTTP connection manager and its HTTP filters as istiod writes them, in each form (typed,
// TypedStruct, null-VM Wasm, 1.4-era names), the no-op rules, and the refusals.
import { describe, expect, it } from "vitest";
import { decodeListener } from "../../../src/config/envoy/decode-listener.js";
import type { Json } from "../../../src/config/envoy/decoded.js";
import { listenerJson } from "../../../src/admin/config-dump/listener-json.js";
import type { HttpConnectionManager, Listener } from "../../../src/config/model/types.js";

const T = (t: string): string => `type.googleapis.com/${t}`;
const ROUTER = { name: "envoy.filters.http.router", typed_config: { "@type": T("envoy.extensions.filters.http.router.v3.Router") } };

function decode(hcmFields: Json, filters: Json[] = [ROUTER], direction = "INBOUND") {
  return decodeListener(
    {
      name: "l",
      address: { socket_address: { address: "0.0.0.0", port_value: 15006 } },
      traffic_direction: direction,
      filter_chains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: { "@type": T("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"), stat_prefix: "inbound_0.0.0.0_8080", rds: { route_config_name: "inbound|8080||", config_source: { ads: {} } }, http_filters: filters, ...hcmFields } }] }],
    },
    { origin: "xds" },
  );
}
function hcm(hcmFields: Json = {}, filters?: Json[], direction?: string): { value: HttpConnectionManager; notes: Array<{ path: string; message: string }> } {
  const r = decode(hcmFields, filters, direction);
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return { value: (r.value.filterChains[0]!.filters[0] as { typedConfig: HttpConnectionManager }).typedConfig, notes: r.notes };
}
function errs(hcmFields: Json = {}, filters?: Json[]): string[] {
  const r = decode(hcmFields, filters);
  if (r.ok) throw new Error("decoded, expected errors");
  return r.errors;
}
const P = "filter_chains[0].filters[0].typed_config";

describe("HTTP connection manager", () => {
  it("maps istiod's inbound settings: RDS name, XFCC, and the settings Outrigger already does pass without a note", () => {
    const { value, notes } = hcm({
      forward_client_cert_details: "APPEND_FORWARD",
      set_current_client_cert_details: { subject: true, dns: true, uri: true },
      codec_type: "AUTO",
      normalize_path: true,
      use_remote_address: false,
      stream_idle_timeout: "0s",
      request_id_extension: { typed_config: { "@type": T("envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig"), use_request_id_for_trace_sampling: true } },
    });
    expect(notes).toEqual([]);
    expect(value).toEqual({
      statPrefix: "inbound_0.0.0.0_8080",
      routeConfigName: "inbound|8080||",
      httpFilters: [{ name: "envoy.filters.http.router" }],
      forwardClientCertDetails: "APPEND_FORWARD",
      setCurrentClientCertDetails: { subject: true, dns: true, uri: true },
    });
  });

  it("notes settings it does not honour", () => {
    const { notes } = hcm({ use_remote_address: true, merge_slashes: true, codec_type: "HTTP3", upgrade_configs: [{ upgrade_type: "websocket" }], internal_address_config: {}, path_with_escaped_slashes_action: "UNESCAPE_AND_REDIRECT" });
    expect(notes.map((n) => n.path)).toEqual([
      `${P}.codec_type`,
      `${P}.merge_slashes`,
      `${P}.path_with_escaped_slashes_action`,
      `${P}.use_remote_address`,
      `${P}.internal_address_config`,
    ]);
  });

  it("refuses scoped routes, both or neither route source, a missing or misplaced router", () => {
    expect(errs({ scoped_routes: {} })).toContain(`${P}.scoped_routes: scoped routes (SRDS) are not supported by Outrigger`);
    expect(errs({ rds: undefined })).toEqual([`${P}: exactly one of rds, route_config must be set`]);
    expect(errs({}, [])).toEqual([`${P}.http_filters: at least envoy.filters.http.router is required`]);
    expect(errs({}, [ROUTER, { name: "envoy.filters.http.fault", typed_config: { "@type": T("envoy.extensions.filters.http.fault.v3.HTTPFault") } }])).toEqual([
      `${P}.http_filters: envoy.filters.http.router must be the last http filter (got envoy.filters.http.router, envoy.filters.http.fault)`,
    ]);
    expect(errs({ forward_client_cert_details: "SOMETIMES" })).toEqual([`${P}.forward_client_cert_details: expected one of SANITIZE, FORWARD_ONLY, APPEND_FORWARD, SANITIZE_SET, ALWAYS_FORWARD_ONLY, got "SOMETIMES"`]);
  });

  it("access logs: TEXT and JSON formats, CEL filter, stdout logger; other loggers and filters are notes", () => {
    const { value, notes } = hcm({
      access_log: [
        { name: "envoy.access_loggers.file", typed_config: { "@type": T("envoy.extensions.access_loggers.file.v3.FileAccessLog"), path: "/dev/stdout", log_format: { text_format_source: { inline_string: "%RESPONSE_CODE%\n" } } } },
        {
          name: "envoy.access_loggers.file",
          filter: { extension_filter: { name: "envoy.access_loggers.extension_filters.cel", typed_config: { "@type": T("envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter"), expression: "response.code >= 400" } } },
          typed_config: { "@type": T("envoy.extensions.access_loggers.file.v3.FileAccessLog"), path: "/var/log/a.json", log_format: { json_format: { code: "%RESPONSE_CODE%", nested: { x: 1 } } } },
        },
        { name: "envoy.access_loggers.stdout", typed_config: { "@type": T("envoy.extensions.access_loggers.stream.v3.StdoutAccessLog") } },
        { name: "envoy.access_loggers.file", filter: { response_flag_filter: { flags: ["NR"] } }, typed_config: { "@type": T("envoy.extensions.access_loggers.file.v3.FileAccessLog"), path: "/dev/stdout", log_format: { text_format: "%RESPONSE_FLAGS%" } } },
        { name: "envoy.access_loggers.open_telemetry", typed_config: { "@type": T("envoy.extensions.access_loggers.open_telemetry.v3.OpenTelemetryAccessLogConfig") } },
      ],
    });
    expect(value.accessLog).toEqual([
      { name: "envoy.access_loggers.file", path: "/dev/stdout", format: { kind: "text", text: "%RESPONSE_CODE%\n" } },
      { name: "envoy.access_loggers.file", path: "/var/log/a.json", format: { kind: "json", json: { code: "%RESPONSE_CODE%" } }, filter: { expression: "response.code >= 400" } },
      { name: "envoy.access_loggers.file", path: "/dev/stdout", format: { kind: "text", text: expect.stringContaining("%UPSTREAM_HOST%") } },
      { name: "envoy.access_loggers.file", path: "/dev/stdout", format: { kind: "text", text: "%RESPONSE_FLAGS%" } },
    ]);
    expect(notes.map((n) => n.path)).toEqual([`${P}.access_log[1].typed_config.log_format.json_format.nested`, `${P}.access_log[3].filter`, `${P}.access_log[4]`]);
  });

  it("tracing: OpenTelemetry over HTTP with sampling, custom tags, path length; other providers are a note", () => {
    const { value } = hcm({
      tracing: {
        random_sampling: { value: 2.5 },
        max_path_tag_length: 128,
        custom_tags: [{ tag: "team", literal: { value: "shop" } }, { tag: "ua", request_header: { name: "user-agent", default_value: "-" } }, { tag: "pod", environment: { name: "POD_NAME" } }],
        provider: { name: "envoy.tracers.opentelemetry", typed_config: { "@type": T("envoy.config.trace.v3.OpenTelemetryConfig"), service_name: "web.shop", http_service: { http_uri: { uri: "http://otel:4318/v1/traces", timeout: "0.250s" }, request_headers_to_add: [{ header: { key: "x-tenant", value: "shop" } }] } } },
      },
    });
    expect(value.tracing).toEqual({
      provider: { name: "envoy.tracers.opentelemetry", serviceName: "web.shop", endpoint: "http://otel:4318/v1/traces", headers: { "x-tenant": "shop" }, timeoutMs: 250 },
      randomSamplingPercentage: 2.5,
      customTags: [{ tag: "team", literal: "shop" }, { tag: "ua", requestHeader: { name: "user-agent", defaultValue: "-" } }, { tag: "pod", environment: { name: "POD_NAME" } }],
      maxPathTagLength: 128,
    });
    const zipkin = hcm({ tracing: { provider: { name: "envoy.tracers.zipkin", typed_config: { "@type": T("envoy.config.trace.v3.ZipkinConfig") } } } });
    expect(zipkin.value.tracing).toBeUndefined();
    expect(zipkin.notes).toEqual([{ path: `${P}.tracing.provider`, message: "tracing provider envoy.tracers.zipkin (envoy.config.trace.v3.ZipkinConfig) is not supported (only envoy.tracers.opentelemetry over HTTP): no spans are exported" }]);
  });
});

describe("HTTP filters", () => {
  const wasm = (code: string, configuration?: Json): Json => ({ "@type": T("envoy.extensions.filters.http.wasm.v3.Wasm"), config: { vm_config: { runtime: "envoy.wasm.runtime.null", code: { local: { inline_string: code } } }, ...(configuration ? { configuration } : {}) } });

  it("Istio's filters in every form become the native ones; the router stays last", () => {
    const { value } = hcm({}, [
      { name: "istio.metadata_exchange", typed_config: { "@type": T("udpa.type.v1.TypedStruct"), type_url: T("io.istio.http.peer_metadata.Config"), value: { upstream_discovery: [{ istio_headers: {} }] } } },
      { name: "istio.alpn", typed_config: { "@type": T("istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig"), alpn_override: [{ alpn_override: ["istio-http/1.0", "istio"] }, { upstream_protocol: "HTTP2", alpn_override: ["istio-h2"] }] } },
      { name: "envoy.filters.http.cors", typed_config: { "@type": T("envoy.extensions.filters.http.cors.v3.Cors") } },
      { name: "envoy.filters.http.fault", typed_config: { "@type": T("envoy.extensions.filters.http.fault.v3.HTTPFault") } },
      { name: "istio.stats", typed_config: wasm("envoy.wasm.stats", { "@type": T("google.protobuf.StringValue"), value: JSON.stringify({ metrics: [{ name: "requests_total", dimensions: { team: "'shop'" }, tags_to_remove: ["request_protocol"] }] }) }) },
      ROUTER,
    ]);
    expect(value.httpFilters).toEqual([
      { name: "istio.metadata_exchange", typedConfig: { removeHeaders: true } },
      { name: "istio.alpn", typedConfig: { alpnOverride: [{ upstreamProtocol: "HTTP10", alpnOverride: ["istio-http/1.0", "istio"] }, { upstreamProtocol: "HTTP2", alpnOverride: ["istio-h2"] }] } },
      { name: "envoy.filters.http.cors" },
      { name: "envoy.filters.http.fault" },
      { name: "istio.stats", typedConfig: { reporter: "destination", metrics: [{ name: "requests_total", dimensions: { team: "'shop'" }, tagsToRemove: ["request_protocol"] }] } },
      { name: "envoy.filters.http.router" },
    ]);
    const mx = hcm({}, [{ name: "istio.metadata_exchange", typed_config: wasm("envoy.wasm.metadata_exchange", { "@type": T("envoy.tcp.metadataexchange.config.MetadataExchange") }) }, ROUTER]);
    expect(mx.value.httpFilters[0]).toEqual({ name: "istio.metadata_exchange", typedConfig: { removeHeaders: true } });
  });

  it("jwt_authn with local JWKS and remote JWKS; rbac with shadow rules and metadata matchers", () => {
    const { value } = hcm({}, [
      {
        name: "envoy.filters.http.jwt_authn",
        typed_config: {
          "@type": T("envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication"),
          providers: {
            "origins-0": { issuer: "https://a", local_jwks: { inline_string: '{"keys":[]}' }, forward: true, payload_in_metadata: "https://a", normalize_payload_in_metadata: { space_delimited_claims: ["scope"] }, from_headers: [{ name: "authorization", value_prefix: "Bearer " }] },
            "origins-1": { issuer: "https://b", audiences: ["x"], remote_jwks: { http_uri: { uri: "https://b/jwks", cluster: "outbound|443||b", timeout: "5s" }, cache_duration: "300s", async_fetch: {} } },
          },
          rules: [{ match: { prefix: "/" }, requires: { requires_any: { requirements: [{ provider_name: "origins-0" }, { allow_missing: {} }] } } }],
          bypass_cors_preflight: true,
        },
      },
      {
        name: "envoy.filters.http.rbac",
        typed_config: {
          "@type": T("envoy.extensions.filters.http.rbac.v3.RBAC"),
          shadow_rules: { action: "DENY", policies: { p: { permissions: [{ url_path: { path: { prefix: "/admin" } } }], principals: [{ metadata: { filter: "istio_authn", path: [{ key: "request.auth.claims" }, { key: "iss" }], value: { list_match: { one_of: { string_match: { exact: "https://a" } } } } } }] } } },
          shadow_rules_stat_prefix: "istio_dry_run_deny_",
        },
      },
      ROUTER,
    ]);
    expect(value.httpFilters[0]).toEqual({
      name: "envoy.filters.http.jwt_authn",
      typedConfig: {
        providers: {
          "origins-0": { issuer: "https://a", localJwks: { inlineString: '{"keys":[]}' }, forward: true, payloadInMetadata: "https://a", normalizePayloadInMetadata: { spaceDelimitedClaims: ["scope"] }, fromHeaders: [{ name: "authorization", valuePrefix: "Bearer " }] },
          "origins-1": { issuer: "https://b", audiences: ["x"], remoteJwks: { httpUri: { uri: "https://b/jwks", cluster: "outbound|443||b", timeoutMs: 5000 }, cacheDurationMs: 300000, asyncFetch: {} } },
        },
        rules: [{ match: { prefix: "/" }, requires: { requiresAny: { requirements: [{ providerName: "origins-0" }, { allowMissing: {} }] } } }],
        bypassCorsPreflight: true,
      },
    });
    expect(value.httpFilters[1]).toEqual({
      name: "envoy.filters.http.rbac",
      typedConfig: {
        shadowRules: { action: "DENY", policies: { p: { permissions: [{ urlPath: { path: { prefix: "/admin" } } }], principals: [{ metadata: { filter: "istio_authn", path: ["request.auth.claims", "iss"], value: { listMatch: { oneOf: { stringMatch: { exact: "https://a" } } } } } }] } } },
        shadowRulesStatPrefix: "istio_dry_run_deny_",
      },
    });
  });

  it("carries grpc_stats, disabled filters, optional unknown filters and Istio internals as no-ops with their config", () => {
    const grpc = { name: "envoy.filters.http.grpc_stats", typed_config: { "@type": T("envoy.extensions.filters.http.grpc_stats.v3.FilterConfig"), emit_filter_state: true } };
    const lua = { name: "envoy.filters.http.lua", is_optional: true, typed_config: { "@type": T("envoy.extensions.filters.http.lua.v3.Lua") } };
    const off = { name: "envoy.filters.http.fault", disabled: true, typed_config: { "@type": T("envoy.extensions.filters.http.fault.v3.HTTPFault") } };
    const authn = { name: "istio_authn", typed_config: { "@type": T("istio.envoy.config.filter.http.authn.v2alpha1.FilterConfig"), policy: {} } };
    const v8 = { name: "my-optional-plugin", is_optional: true, typed_config: { "@type": T("envoy.extensions.filters.http.wasm.v3.Wasm"), config: { vm_config: { runtime: "envoy.wasm.runtime.v8" } } } };
    const { value, notes } = hcm({}, [grpc, lua, off, authn, v8, ROUTER]);
    expect(value.httpFilters).toEqual([
      { name: "envoy.filters.http.grpc_stats", noop: { typedConfig: grpc.typed_config, reason: "gRPC statistics (grpc_stats counters) are not collected" } },
      { name: "envoy.filters.http.lua", noop: { typedConfig: lua.typed_config, reason: "envoy.extensions.filters.http.lua.v3.Lua is not supported by Outrigger (is_optional)", isOptional: true } },
      { name: "envoy.filters.http.fault", noop: { typedConfig: off.typed_config, reason: "disabled by default (enabled per route), and per-route enabling is not supported", disabled: true } },
      { name: "istio_authn", noop: { typedConfig: authn.typed_config, reason: "istio_authn: the peer identity comes from the TLS handshake and request.auth.* from jwt_authn" } },
      { name: "my-optional-plugin", noop: { typedConfig: v8.typed_config, reason: "a Wasm filter (Outrigger runs no Wasm)", isOptional: true } },
      { name: "envoy.filters.http.router" },
    ]);
    expect(notes).toHaveLength(5);
    // /config_dump writes them back as received, and they decode to the same no-ops.
    const model: Listener = { name: "l", address: "0.0.0.0", port: 15006, trafficDirection: "INBOUND", listenerFilters: [], filterChains: [{ name: "c", filterChainMatch: {}, filters: [{ name: "envoy.filters.network.http_connection_manager", typedConfig: value }] }] };
    const json = listenerJson(model) as { filter_chains: Array<{ filters: Array<{ typed_config: { http_filters: Json[] } }> }> };
    expect(json.filter_chains[0]!.filters[0]!.typed_config.http_filters.slice(0, 5)).toEqual([grpc, lua, off, authn, v8].map((f) => ({ name: f.name, ...(f.typed_config ? { typed_config: f.typed_config } : {}), ...("is_optional" in f ? { is_optional: true } : {}), ...("disabled" in f ? { disabled: true } : {}) })));
    const again = decodeListener(json as Json, { origin: "xds" });
    expect(again.ok && (again.value.filterChains[0]!.filters[0]!.typedConfig as HttpConnectionManager).httpFilters).toEqual(value.httpFilters);
  });

  it("refuses filters it cannot run: ext_authz forms it cannot scope, a real Wasm VM, ECDS, filter-level faults, remote-only JWT features", () => {
    const p = `${P}.http_filters[0]`;
    const ext = (extra: Record<string, unknown>) => [{ name: "envoy.filters.http.ext_authz", typed_config: { "@type": T("envoy.extensions.filters.http.ext_authz.v3.ExtAuthz"), ...extra } }, ROUTER];
    expect(errs({}, ext({ filter_enabled_metadata: { filter: "envoy.filters.http.rbac", path: [{ key: "a" }, { key: "b" }], value: { string_match: { prefix: "x" } } } }))).toEqual([
      `${p}.typed_config.filter_enabled_metadata: filter_enabled_metadata: only a string match on one key of a filter's metadata (istiod's form) is supported`,
    ]);
    expect(errs({}, ext({ status_on_error: { code: "Teapot" } }))).toEqual([`${p}.typed_config.status_on_error.code: status_on_error code "Teapot" is not an HTTP status Outrigger knows`]);
    expect(errs({}, ext({ filter_enabled: { default_value: { numerator: 50 } } }))).toEqual([`${p}.typed_config: ext_authz filter_enabled / deny_at_disable runtime fractions are not supported by Outrigger`]);
    expect(errs({}, [{ name: "envoy.filters.http.ext_authz", disabled: true, typed_config: { "@type": T("envoy.extensions.filters.http.ext_authz.v3.ExtAuthz") } }, ROUTER])).toEqual([
      `${p}.disabled: http filter envoy.filters.http.ext_authz: a filter disabled by default and enabled per route is not supported by Outrigger`,
    ]);
    expect(errs({}, [{ name: "my-plugin", typed_config: { "@type": T("envoy.extensions.filters.http.wasm.v3.Wasm"), config: { vm_config: { runtime: "envoy.wasm.runtime.v8", code: { remote: {} } } } } }, ROUTER])).toEqual([
      `${p}.typed_config: Wasm filters are not supported by Outrigger (runtime envoy.wasm.runtime.v8); only Istio's null-VM plugins envoy.wasm.stats, envoy.wasm.metadata_exchange are understood`,
    ]);
    expect(errs({}, [{ name: "envoy.filters.http.rbac", disabled: true, typed_config: { "@type": T("envoy.extensions.filters.http.rbac.v3.RBAC") } }, ROUTER])).toEqual([
      `${p}.disabled: http filter envoy.filters.http.rbac: a filter disabled by default and enabled per route is not supported by Outrigger`,
    ]);
    expect(errs({}, [{ name: "istio_authn", typed_config: { "@type": T("istio.envoy.config.filter.http.authn.v2alpha1.FilterConfig"), policy: { origins: [{ jwt: { issuer: "https://a" } }], principal_binding: "USE_ORIGIN" } } }, ROUTER])).toEqual([
      `${p}.typed_config.policy.origins: istio_authn origin (JWT) authentication of Istio <= 1.5 is not supported by Outrigger`,
    ]);
    expect(errs({}, [{ name: "mixer", typed_config: { "@type": T("istio.mixer.v1.config.client.HttpClientConfig"), service_configs: { default: {} } } }, ROUTER])).toEqual([
      `${p}.typed_config.service_configs: Mixer policy checks (service configs default without disable_check_calls) are not supported by Outrigger`,
    ]);
    expect(errs({}, [{ name: "ecds", config_discovery: { config_source: { ads: {} } } }, ROUTER])).toEqual([`${p}.config_discovery: http filter ecds: extension config discovery (ECDS) is not supported by Outrigger`]);
    expect(errs({}, [{ name: "envoy.filters.http.fault", typed_config: { "@type": T("envoy.extensions.filters.http.fault.v3.HTTPFault"), abort: { http_status: 503 } } }, ROUTER])).toEqual([
      `${p}.typed_config.abort: filter-level fault abort is not supported (faults are per route: typed_per_filter_config)`,
    ]);
    expect(errs({}, [{ name: "envoy.filters.http.jwt_authn", typed_config: { "@type": T("envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication"), providers: { a: { issuer: "i", local_jwks: { inline_string: "{}" }, subjects: { prefix: "x" } } } } }, ROUTER])).toEqual([
      `${p}.typed_config.providers.a.subjects: JWT subject constraints are not supported by Outrigger`,
    ]);
    expect(errs({}, [{ name: "envoy.filters.http.jwt_authn", typed_config: { "@type": T("envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication"), providers: { a: { issuer: "i", remote_jwks: { http_uri: { uri: "https://i/jwks" } } } } } }, ROUTER])).toEqual([
      `${p}.typed_config.providers.a.remote_jwks.http_uri.timeout: required`,
    ]);
    expect(errs({ tracing: { provider: { name: "envoy.tracers.opentelemetry", typed_config: { "@type": T("envoy.config.trace.v3.OpenTelemetryConfig"), http_service: { http_uri: { uri: "http://otel:4318/v1/traces" } } } } } })).toEqual([
      `${P}.tracing.provider.typed_config.http_service.http_uri.timeout: required`,
    ]);
    expect(errs({}, [{ name: "envoy.filters.http.jwt_authn", typed_config: { "@type": T("envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication"), providers: { a: { issuer: "i", local_jwks: { filename: "/jwks.json" } } } } }, ROUTER])).toEqual([
      `${p}.typed_config.providers.a.local_jwks: only an inline_string local JWKS is supported`,
    ]);
  });
});
