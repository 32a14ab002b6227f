import { describe, expect, it } from "vitest";
import type { HeaderMatcher } from "../../../src/config/model/types.js";
import { RouteTable } from "../../../src/router/route-table.js";
import type { RequestView } from "../../../src/router/request-view.js";
import { req, route, single } from "./fixtures.js";

function matches(h: HeaderMatcher, r: RequestView): boolean {
  return RouteTable.compile(single(route("r", { prefix: "/", headers: [h] }))).match(r) !== undefined;
}
const withHeaders = (...headers: Array<[string, string]>) => req("/", { headers });

describe("header matchers", () => {
  it("each string match kind", () => {
    const r = withHeaders(["x-v", "canary-2"]);
    expect(matches({ name: "x-v", stringMatch: { exact: "canary-2" } }, r)).toBe(true);
    expect(matches({ name: "x-v", stringMatch: { exact: "canary" } }, r)).toBe(false);
    expect(matches({ name: "x-v", stringMatch: { prefix: "can" } }, r)).toBe(true);
    expect(matches({ name: "x-v", stringMatch: { suffix: "-2" } }, r)).toBe(true);
    expect(matches({ name: "x-v", stringMatch: { contains: "nary" } }, r)).toBe(true);
    expect(matches({ name: "x-v", stringMatch: { safeRegex: "canary-\\d" } }, r)).toBe(true);
    expect(matches({ name: "x-v", stringMatch: { safeRegex: "canary" } }, r)).toBe(false);
    expect(matches({ name: "x-v", stringMatch: { exact: "CANARY-2", ignoreCase: true } }, r)).toBe(true);
  });

  it("header names are case-insensitive", () => {
    expect(matches({ name: "x-v", stringMatch: { exact: "1" } }, withHeaders(["X-V", "1"]))).toBe(true);
    expect(matches({ name: "X-V", stringMatch: { exact: "1" } }, withHeaders(["x-v", "1"]))).toBe(true);
  });

  it("repeated headers are joined with ',' before matching", () => {
    const r = withHeaders(["x-tag", "a"], ["other", "z"], ["x-tag", "b"]);
    expect(matches({ name: "x-tag", stringMatch: { exact: "a,b" } }, r)).toBe(true);
    expect(matches({ name: "x-tag", stringMatch: { exact: "a" } }, r)).toBe(false);
    expect(matches({ name: "x-tag", stringMatch: { safeRegex: "a,b" } }, r)).toBe(true);
  });

  it("presence: neither set, presentMatch true, presentMatch false", () => {
    const has = withHeaders(["x-debug", ""]);
    const lacks = withHeaders(["x-other", "1"]);
    expect(matches({ name: "x-debug" }, has)).toBe(true);
    expect(matches({ name: "x-debug" }, lacks)).toBe(false);
    expect(matches({ name: "x-debug", presentMatch: true }, has)).toBe(true);
    expect(matches({ name: "x-debug", presentMatch: true }, lacks)).toBe(false);
    expect(matches({ name: "x-debug", presentMatch: false }, has)).toBe(false);
    expect(matches({ name: "x-debug", presentMatch: false }, lacks)).toBe(true);
  });

  it("invertMatch on presence matchers", () => {
    const has = withHeaders(["x-debug", "1"]);
    const lacks = withHeaders();
    expect(matches({ name: "x-debug", presentMatch: true, invertMatch: true }, has)).toBe(false);
    expect(matches({ name: "x-debug", presentMatch: true, invertMatch: true }, lacks)).toBe(true);
    expect(matches({ name: "x-debug", presentMatch: false, invertMatch: true }, has)).toBe(true);
    expect(matches({ name: "x-debug", presentMatch: false, invertMatch: true }, lacks)).toBe(false);
  });

  it("invertMatch on a string match when the header is present", () => {
    const m: HeaderMatcher = { name: "x-user", stringMatch: { exact: "jason" }, invertMatch: true };
    expect(matches(m, withHeaders(["x-user", "jason"]))).toBe(false);
    expect(matches(m, withHeaders(["x-user", "mary"]))).toBe(true);
  });

  it("absent header: a string match is false, inverted or not (Envoy since envoy#21828)", () => {
    const lacks = withHeaders(["x-other", "1"]);
    expect(matches({ name: "x-user", stringMatch: { exact: "jason" } }, lacks)).toBe(false);
    expect(matches({ name: "x-user", stringMatch: { exact: "jason" }, invertMatch: true }, lacks)).toBe(false);
  });

  it("pseudo-headers read the request view", () => {
    const r = req("/p?q=1", { method: "POST", authority: "Reviews:9080", scheme: "https" });
    expect(matches({ name: ":method", stringMatch: { exact: "POST" } }, r)).toBe(true);
    expect(matches({ name: ":method", stringMatch: { exact: "GET" } }, r)).toBe(false);
    expect(matches({ name: ":authority", stringMatch: { exact: "Reviews:9080" } }, r)).toBe(true);
    expect(matches({ name: ":authority", stringMatch: { prefix: "reviews", ignoreCase: true } }, r)).toBe(true);
    expect(matches({ name: ":scheme", stringMatch: { exact: "https" } }, r)).toBe(true);
    expect(matches({ name: ":scheme", stringMatch: { exact: "http" } }, r)).toBe(false);
    expect(matches({ name: ":path", stringMatch: { exact: "/p?q=1" } }, r)).toBe(true);
    expect(matches({ name: ":method" }, r)).toBe(true);
    expect(matches({ name: ":method", stringMatch: { exact: "POST" }, invertMatch: true }, r)).toBe(false);
  });

  it("all header matchers of a route are AND'd", () => {
    const t = RouteTable.compile(
      single(
        route("r", {
          prefix: "/",
          headers: [
            { name: "a", stringMatch: { exact: "1" } },
            { name: "b", presentMatch: true },
            { name: "c", presentMatch: false },
          ],
        }),
      ),
    );
    expect(t.match(withHeaders(["a", "1"], ["b", "x"]))).toBeDefined();
    expect(t.match(withHeaders(["a", "1"]))).toBeUndefined();
    expect(t.match(withHeaders(["a", "1"], ["b", "x"], ["c", "y"]))).toBeUndefined();
    expect(t.match(withHeaders(["a", "2"], ["b", "x"]))).toBeUndefined();
  });
});
