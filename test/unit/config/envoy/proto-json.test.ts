import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { anyToJson, jsonToAny, jsonToBytes, messageToJson, normalizeProtoJson } from "../../../../src/config/envoy/proto-json.js";
import { sharedPath } from "../../../helpers/shared-dir.js";

type J = Record<string, unknown>;
const dump = JSON.parse(readFileSync(sharedPath("envoy-config-dumps", "istio-istioctl-authz-testdata-listeners.configdump.json"), "utf8")) as { configs: J[] };

/** Every Any resource in a ListenersConfigDump (static and dynamic: active, warming, draining). */
function listenerResources(d: J): J[] {
  const out: J[] = [];
  for (const s of (d["static_listeners"] as J[] | undefined) ?? []) out.push(s["listener"] as J);
  for (const dyn of (d["dynamic_listeners"] as J[] | undefined) ?? [])
    for (const state of ["active_state", "warming_state", "draining_state"]) {
      const st = dyn[state] as J | undefined;
      if (st !== undefined) out.push(st["listener"] as J);
    }
  return out;
}

const roundTrip = (json: J): J => {
  const any = jsonToAny(json);
  return anyToJson(any.type_url, any.value);
};

describe("proto JSON: a real istiod sidecar's listeners (2023)", () => {
  const resources = dump.configs.flatMap(listenerResources);

  it("finds the listeners", () => {
    expect(resources.length).toBeGreaterThan(10);
  });

  it("every listener goes JSON → Any bytes → JSON unchanged", () => {
    for (const r of resources) expect(roundTrip(r), String(r["name"])).toEqual(r);
  });

  it("the whole dump (envoy.admin.v3.ListenersConfigDump, Anys inside Anys) normalizes to itself", () => {
    for (const c of dump.configs) expect(roundTrip(c)).toEqual(c);
  });
});

describe("proto JSON: input forms", () => {
  it("accepts lowerCamelCase names and prints snake_case", () => {
    const out = normalizeProtoJson("envoy.config.cluster.v3.Cluster", {
      name: "c",
      connectTimeout: "1.5s",
      type: "STRICT_DNS",
      perConnectionBufferLimitBytes: 1024,
      commonLbConfig: { healthyPanicThreshold: { value: 50 } },
    });
    expect(out).toEqual({ name: "c", type: "STRICT_DNS", connect_timeout: "1.500s", per_connection_buffer_limit_bytes: 1024, common_lb_config: { healthy_panic_threshold: { value: 50 } } });
  });

  it("enums by name or number in, names out; defaults omitted; oneofs without discriminators", () => {
    expect(normalizeProtoJson("envoy.config.cluster.v3.Cluster", { name: "c", type: 1, lb_policy: "ROUND_ROBIN" })).toEqual({ name: "c", type: "STRICT_DNS" });
  });

  it("wrappers are plain values, 64-bit integers strings, bytes base64", () => {
    const out = normalizeProtoJson("envoy.config.cluster.v3.Cluster", {
      name: "c",
      per_connection_buffer_limit_bytes: "70000",
      lrs_server: { self: {} },
      max_requests_per_connection: 0,
    });
    expect(out["per_connection_buffer_limit_bytes"]).toBe(70000);
    expect(out["max_requests_per_connection"]).toBe(0);
    const sec = normalizeProtoJson("envoy.extensions.transport_sockets.tls.v3.Secret", {
      name: "s",
      tls_certificate: { certificate_chain: { inline_bytes: Buffer.from("PEM\n").toString("base64") } },
    });
    expect(sec).toEqual({ name: "s", tls_certificate: { certificate_chain: { inline_bytes: "UEVNCg==" } } });
    const hc = normalizeProtoJson("envoy.config.core.v3.HealthCheck", { timeout: "1s", interval: "2s", event_log_path: "x" });
    expect(hc).toEqual({ timeout: "1s", interval: "2s", event_log_path: "x" });
    const ns = normalizeProtoJson("envoy.type.v3.FractionalPercent", { numerator: 5, denominator: "TEN_THOUSAND" });
    expect(ns).toEqual({ numerator: 5, denominator: "TEN_THOUSAND" });
    const rl = normalizeProtoJson("envoy.config.cluster.v3.CircuitBreakers.Thresholds", { max_connections: 4294967295 });
    expect(rl).toEqual({ max_connections: 4294967295 });
    const u64 = normalizeProtoJson("envoy.admin.v3.SimpleMetric", { value: "18446744073709551615", name: "x" });
    expect(u64).toEqual({ value: "18446744073709551615", name: "x" });
    expect(normalizeProtoJson("envoy.admin.v3.SimpleMetric", { value: 12 })).toEqual({ value: "12" });
  });

  it("durations: canonical 0/3/6/9 fraction digits, negative, zero kept when set in a message field", () => {
    const d = (s: string) => normalizeProtoJson("envoy.config.cluster.v3.Cluster", { name: "c", connect_timeout: s })["connect_timeout"];
    expect(d("1s")).toBe("1s");
    expect(d("0.25s")).toBe("0.250s");
    expect(d("0.000001s")).toBe("0.000001s");
    expect(d("1.000000001s")).toBe("1.000000001s");
    expect(d("0s")).toBe("0s");
    expect(d("-1.5s")).toBe("-1.500s");
  });

  it("Struct / Value / ListValue as plain JSON (node metadata), nested and inside an Any", () => {
    const meta = { ISTIO_VERSION: "1.24.0", LABELS: { app: "x" }, n: 3.5, t: true, nothing: null, list: [1, "a", { b: [] }] };
    expect(normalizeProtoJson("envoy.config.core.v3.Node", { id: "sidecar~1", metadata: meta })).toEqual({ id: "sidecar~1", metadata: meta });
    const any = { "@type": "type.googleapis.com/google.protobuf.Struct", value: meta };
    expect(roundTrip(any)).toEqual(any);
    const v = { "@type": "type.googleapis.com/google.protobuf.Value", value: [null, 1] };
    expect(roundTrip(v)).toEqual(v);
  });

  it("Any holding wrappers, Duration, Timestamp, FieldMask, Empty", () => {
    for (const j of [
      { "@type": "type.googleapis.com/google.protobuf.UInt32Value", value: 7 },
      { "@type": "type.googleapis.com/google.protobuf.StringValue", value: "" },
      { "@type": "type.googleapis.com/google.protobuf.Int64Value", value: "-9007199254740993" },
      { "@type": "type.googleapis.com/google.protobuf.BytesValue", value: "AAE=" },
      { "@type": "type.googleapis.com/google.protobuf.Duration", value: "3.100s" },
      { "@type": "type.googleapis.com/google.protobuf.Timestamp", value: "2023-06-20T09:08:58.123Z" },
      { "@type": "type.googleapis.com/google.protobuf.FieldMask", value: "staticResources.listeners,node" },
      { "@type": "type.googleapis.com/google.protobuf.Empty" },
    ])
      expect(roundTrip(j)).toEqual(j);
    expect(roundTrip({ "@type": "type.googleapis.com/google.protobuf.Timestamp", value: "2023-06-20T11:08:58+02:00" })).toEqual({
      "@type": "type.googleapis.com/google.protobuf.Timestamp",
      value: "2023-06-20T09:08:58Z",
    });
  });

  it("TypedStruct (udpa and xds) keeps its Struct value as plain JSON", () => {
    const ts = {
      "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
      type_url: "type.googleapis.com/io.istio.http.peer_metadata.Config",
      value: { upstream_discovery: [{ istio_headers: {} }, { workload_discovery: {} }] },
    };
    expect(roundTrip(ts)).toEqual(ts);
    const xs = { ...ts, "@type": "type.googleapis.com/xds.type.v3.TypedStruct" };
    expect(roundTrip(xs)).toEqual(xs);
  });

  it("Istio's own typed configs encode (istio.alpn, stats)", () => {
    const alpn = {
      "@type": "type.googleapis.com/istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig",
      alpn_override: [{ alpn_override: ["istio-http/1.0", "istio", "http/1.0"] }, { upstream_protocol: "HTTP11", alpn_override: ["istio-http/1.1", "istio", "http/1.1"] }],
    };
    expect(roundTrip(alpn)).toEqual(alpn);
    const stats = { "@type": "type.googleapis.com/stats.PluginConfig", disable_host_header_fallback: true };
    expect(roundTrip(stats)).toEqual(stats);
  });

  it("floats print in their shortest form; NaN and Infinity as strings", () => {
    const out = normalizeProtoJson("envoy.config.core.v3.RuntimeFractionalPercent", { default_value: { numerator: 1 } });
    expect(out).toEqual({ default_value: { numerator: 1 } });
    const w = normalizeProtoJson("google.protobuf.FloatValue", 0.1 as unknown as J);
    expect(w).toBe(0.1);
    expect(messageToJson("google.protobuf.DoubleValue", jsonToBytes("google.protobuf.DoubleValue", "NaN"))).toBe("NaN");
    expect(messageToJson("google.protobuf.DoubleValue", jsonToBytes("google.protobuf.DoubleValue", "-Infinity"))).toBe("-Infinity");
  });

  it("maps with message values", () => {
    const j = { typed_per_filter_config: { "envoy.filters.http.fault": { "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault", max_active_faults: 3 } }, name: "v", domains: ["*"] };
    expect(normalizeProtoJson("envoy.config.route.v3.VirtualHost", j)).toEqual(j);
  });
});

describe("proto JSON: errors name the field's path and the reason", () => {
  const bootstrap = (listener: J): J => ({ static_resources: { listeners: [{ name: "ok" }, listener] } });
  const err = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as Error).message;
    }
    return "no error";
  };

  it("an unknown field, with its full path; allowed when asked", () => {
    expect(err(() => normalizeProtoJson("envoy.config.bootstrap.v3.Bootstrap", bootstrap({ name: "l", foo: 1 })))).toBe(
      'static_resources.listeners[1].foo: unknown field (envoy.config.listener.v3.Listener has no field "foo")',
    );
    expect(normalizeProtoJson("envoy.config.bootstrap.v3.Bootstrap", bootstrap({ name: "l", foo: 1 }), { allowUnknownFields: true })).toEqual({
      static_resources: { listeners: [{ name: "ok" }, { name: "l" }] },
    });
  });

  it("an unknown field inside an Any's typed config", () => {
    const l = { name: "l", filter_chains: [{ filters: [{ name: "hcm", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", stat_prefix: "x", bogus: true } }] }] };
    expect(err(() => normalizeProtoJson("envoy.config.bootstrap.v3.Bootstrap", bootstrap(l)))).toBe(
      "static_resources.listeners[1].filter_chains[0].filters[0].typed_config.bogus: unknown field (envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager has no field \"bogus\")",
    );
  });

  it("wrong types", () => {
    expect(err(() => normalizeProtoJson("envoy.config.listener.v3.Listener", { name: 3 }))).toBe("name: expected a string, got number 3");
    expect(err(() => normalizeProtoJson("envoy.config.listener.v3.Listener", { filter_chains: {} }))).toBe("filter_chains: expected an array, got an object");
    expect(err(() => normalizeProtoJson("envoy.config.listener.v3.Listener", { address: "0.0.0.0" }))).toBe(
      'address: expected an object (envoy.config.core.v3.Address), got string "0.0.0.0"',
    );
    expect(err(() => normalizeProtoJson("envoy.config.listener.v3.Listener", { address: { socket_address: { port_value: -1 } } }))).toBe(
      "address.socket_address.port_value: -1 is out of range for uint32",
    );
    expect(err(() => normalizeProtoJson("envoy.config.listener.v3.Listener", { use_original_dst: "yes" }))).toBe('use_original_dst: expected true or false, got string "yes"');
    expect(err(() => normalizeProtoJson("envoy.admin.v3.SimpleMetric", { value: "1.5" }))).toBe('value: expected an integer (uint64), as a number or a string, got string "1.5"');
    expect(err(() => normalizeProtoJson("envoy.admin.v3.SimpleMetric", { value: "-1" }))).toBe("value: -1 is out of range for uint64");
    expect(err(() => normalizeProtoJson("envoy.config.core.v3.DataSource", { inline_bytes: "not base64!" }))).toBe('inline_bytes: expected base64 bytes, got string "not base64!"');
    expect(err(() => normalizeProtoJson("envoy.config.core.v3.DataSource", { inline_bytes: "QQ==", inline_string: "a" }))).toBe(
      'inline_string: "inline_string" and "inline_bytes" are both set, but only one of oneof "specifier" may be',
    );
    expect(err(() => normalizeProtoJson("envoy.config.listener.v3.Listener", { name: "a", name_: 1 }))).toMatch(/^name_: unknown field/);
    expect(err(() => normalizeProtoJson("envoy.config.cluster.v3.Cluster", { name: "a", connectTimeout: "1s", connect_timeout: "2s" }))).toBe(
      'connect_timeout: field "connect_timeout" is given twice (as its proto and its JSON name)',
    );
  });

  it("bad durations and timestamps", () => {
    for (const bad of ["1", "1.5", "1m", "s", "1.1234567891s", 5])
      expect(err(() => normalizeProtoJson("envoy.config.cluster.v3.Cluster", { connect_timeout: bad }))).toBe(
        `connect_timeout: expected a duration such as "1.5s" (google.protobuf.Duration), got ${typeof bad === "string" ? `string "${bad}"` : "number 5"}`,
      );
    expect(err(() => normalizeProtoJson("envoy.config.cluster.v3.Cluster", { connect_timeout: "315576000001s" }))).toMatch(/^connect_timeout: duration 315576000001s is out of range/);
    expect(err(() => jsonToAny({ "@type": "type.googleapis.com/google.protobuf.Timestamp", value: "2023-02-30T00:00:00Z" }))).toBe(
      "value: invalid date or time in timestamp 2023-02-30T00:00:00Z",
    );
  });

  it("an unknown enum name lists the valid ones", () => {
    expect(err(() => normalizeProtoJson("envoy.config.cluster.v3.Cluster", { type: "DNS" }))).toBe(
      'type: unknown enum value "DNS" of envoy.config.cluster.v3.Cluster.DiscoveryType (one of STATIC, STRICT_DNS, LOGICAL_DNS, EDS, ORIGINAL_DST)',
    );
    expect(err(() => normalizeProtoJson("envoy.config.cluster.v3.Cluster", { type: true }))).toBe(
      "type: expected an enum name of envoy.config.cluster.v3.Cluster.DiscoveryType, got boolean true",
    );
  });

  it("an Any: unknown type URL (v2 names included), missing @type, missing value of a WKT, bytes that do not decode", () => {
    const l = { name: "l", filter_chains: [{ filters: [{ name: "envoy.http_connection_manager", typed_config: { "@type": "type.googleapis.com/envoy.config.filter.network.http_connection_manager.v2.HttpConnectionManager" } }] }] };
    expect(err(() => normalizeProtoJson("envoy.config.listener.v3.Listener", l))).toBe(
      'filter_chains[0].filters[0].typed_config.@type: unknown Any type "type.googleapis.com/envoy.config.filter.network.http_connection_manager.v2.HttpConnectionManager" (its proto is not loaded)',
    );
    expect(err(() => jsonToAny({ name: "x" }))).toBe('google.protobuf.Any needs "@type"');
    expect(err(() => jsonToAny({ "@type": "type.googleapis.com/google.protobuf.Duration" }))).toBe('an Any holding google.protobuf.Duration needs "value"');
    expect(err(() => anyToJson("type.googleapis.com/no.such.Type", new Uint8Array()))).toBe('unknown Any type "type.googleapis.com/no.such.Type" (its proto is not loaded)');
    expect(err(() => anyToJson("type.googleapis.com/envoy.config.listener.v3.Listener", Uint8Array.from([0x0a, 0x05, 0x61])))).toMatch(
      /^cannot decode type.googleapis.com\/envoy.config.listener.v3.Listener: /,
    );
    expect(err(() => normalizeProtoJson("no.such.Type", {}))).toBe('unknown message type "no.such.Type" (its proto is not loaded)');
  });
});
