import { describe, expect, it } from "vitest";
import { formatGrpcTimeout, parseGrpcTimeout } from "../../../src/http/grpc/grpc-timeout.js";

describe("grpc-timeout parsing (Envoy's getGrpcTimeout)", () => {
  it.each([
    ["1H", 3_600_000],
    ["2M", 120_000],
    ["3S", 3000],
    ["250m", 250],
    ["1500u", 2],
    ["1u", 1],
    ["1000u", 1],
    ["1n", 1],
    ["2000001n", 3],
    ["0m", 0],
    ["99999999m", 99_999_999],
  ])("%s → %i ms", (v, ms) => {
    expect(parseGrpcTimeout(v)).toBe(ms);
  });

  it.each([[undefined], [""], ["m"], ["10"], ["10x"], ["-1m"], ["1.5S"], ["100000000m"], [" 5m"], ["5 m"]])("%j is ignored", (v) => {
    expect(parseGrpcTimeout(v)).toBeUndefined();
  });
});

describe("grpc-timeout writing (Envoy's toGrpcTimeout)", () => {
  it.each([
    [0, "0m"],
    [1500, "1500m"],
    [99_999_999, "99999999m"],
    [100_000_000, "100000S"],
    [99_999_999_000 * 60, "99999999M"],
    [Number.MAX_SAFE_INTEGER, "99999999H"],
  ])("%i ms → %s", (ms, v) => {
    expect(formatGrpcTimeout(ms)).toBe(v);
  });
});
