// The proto-JSON readers every decoder shares: each accepted form and each refusal with its path.
import { describe, expect, it } from "vitest";
import { cidrRange, DecodeState, durationMs, enumOf, headerMatcher, socketAddress, stringMatcher, typedConfig, uint } from "../../../src/config/envoy/decode-common.js";

const st = (): DecodeState => new DecodeState({ origin: "xds" });

describe("decode-common", () => {
  it("durations: proto JSON strings and {seconds, nanos}, sub-millisecond rounded up; malformed refused", () => {
    const s = st();
    expect([durationMs("15s", "d", s), durationMs("0.250s", "d", s), durationMs("0.0001s", "d", s), durationMs({ seconds: "2", nanos: 500_000_000 }, "d", s), durationMs(undefined, "d", s)]).toEqual([15000, 250, 1, 2500, undefined]);
    expect(s.errors).toEqual([]);
    durationMs("-1s", "a.timeout", s);
    durationMs(5, "b", s);
    expect(s.errors).toEqual(['a.timeout: expected a duration such as "1.5s", got "-1s"', 'b: expected a duration such as "1.5s", got 5']);
  });

  it("integers from numbers, strings (uint64) and wrappers; enums by name or number", () => {
    const s = st();
    expect([uint("42", "n", s), uint({ value: 7 }, "n", s), enumOf(2, ["A", "B", "C"] as const, "e", s)]).toEqual([42, 7, "C"]);
    uint(-1, "n", s);
    uint(1.5, "m", s);
    expect(s.errors).toEqual(["n: expected an integer between 0 and 4294967295, got -1", "m: expected an integer between 0 and 4294967295, got 1.5"]);
  });

  it("string matchers: exactly one kind, safe_regex, ignore_case; the 1.4 regex with a note", () => {
    const s = st();
    expect(stringMatcher({ safe_regex: { google_re2: {}, regex: ".*" }, ignore_case: true }, "m", s)).toEqual({ safeRegex: ".*", ignoreCase: true });
    expect(stringMatcher({ regex: "a.*" }, "m", s)).toEqual({ safeRegex: "a.*" });
    expect(s.notes).toEqual([{ path: "m.regex", message: "deprecated regex (std::regex) matched as RE2" }]);
    stringMatcher({ exact: "a", prefix: "b" }, "x", s);
    expect(s.errors).toEqual(["x: exactly one of exact, prefix, suffix, contains, safe_regex must be set (got 2)"]);
  });

  it("header matchers: legacy exact_match, present, invert, lower-cased names; range_match refused", () => {
    const s = st();
    expect(headerMatcher({ name: ":Method", exact_match: "GET" }, "h", s)).toEqual({ name: ":method", stringMatch: { exact: "GET" } });
    expect(headerMatcher({ name: "x", present_match: true, invert_match: true }, "h", s)).toEqual({ name: "x", presentMatch: true, invertMatch: true });
    headerMatcher({ name: "x", range_match: { start: 1, end: 2 } }, "h", s);
    expect(s.errors).toEqual(["h.range_match: header range_match is not supported by Outrigger"]);
  });

  it("CIDR ranges by family; socket addresses; TypedStruct unwrapped", () => {
    const s = st();
    expect(cidrRange({ address_prefix: "::", prefix_len: 0 }, "c", s)).toEqual({ addressPrefix: "::", prefixLen: 0 });
    expect(cidrRange({ address_prefix: "fd00::", prefix_len: 100 }, "c", s)).toEqual({ addressPrefix: "fd00::", prefixLen: 100 });
    expect(socketAddress({ socket_address: { address: "10.0.0.1", port_value: 8080 } }, "a", s)).toEqual({ address: "10.0.0.1", port: 8080 });
    expect(typedConfig({ "@type": "type.googleapis.com/udpa.type.v1.TypedStruct", type_url: "type.googleapis.com/stats.PluginConfig", value: { a: 1 } }, "t", s)).toEqual({ type: "stats.PluginConfig", fields: { a: 1 }, typedStruct: true });
    expect(s.errors).toEqual([]);
    socketAddress({ socket_address: { address: "0.0.0.0", port_value: 53, protocol: "UDP" } }, "a", s);
    socketAddress({ socket_address: { address: "0.0.0.0", named_port: "http" } }, "b", s);
    typedConfig({ value: 1 }, "t", s);
    expect(s.errors).toEqual(['a.socket_address.protocol: only TCP is supported, got "UDP"', "b.socket_address.named_port: named ports are not supported; use port_value", "t: typed_config has no @type"]);
  });
});
