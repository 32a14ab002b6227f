import { describe, expect, it } from "vitest";
import type { QueryParameterMatcher } from "../../../src/config/model/types.js";
import { parseQueryString } from "../../../src/router/query-string.js";
import { RouteTable } from "../../../src/router/route-table.js";
import { req, route, single } from "./fixtures.js";

function matches(q: QueryParameterMatcher | QueryParameterMatcher[], path: string): boolean {
  const queryParameters = Array.isArray(q) ? q : [q];
  return RouteTable.compile(single(route("r", { prefix: "/", queryParameters }))).match(req(path)) !== undefined;
}

describe("parseQueryString (Envoy parseQueryString: raw, first value wins)", () => {
  it("parses names, values, valueless names and ignores the fragment", () => {
    const q = parseQueryString("/p?a=1&b=&c&a=2&d=x=y#frag=1");
    expect([...q]).toEqual([
      ["a", "1"],
      ["b", ""],
      ["c", ""],
      ["d", "x=y"],
    ]);
  });

  it("does not percent-decode", () => {
    expect(parseQueryString("/?na%20me=a%2Fb").get("na%20me")).toBe("a%2Fb");
  });

  it("no query, empty query, empty segments", () => {
    expect(parseQueryString("/p").size).toBe(0);
    expect(parseQueryString("/p?").size).toBe(0);
    expect([...parseQueryString("/p?&&a=1&")]).toEqual([
      ["", ""],
      ["a", "1"],
    ]);
  });
});

describe("query parameter matchers", () => {
  it("presence (no string matcher, or presentMatch)", () => {
    expect(matches({ name: "debug" }, "/?debug")).toBe(true);
    expect(matches({ name: "debug" }, "/?debug=0")).toBe(true);
    expect(matches({ name: "debug", presentMatch: true }, "/?x=1&debug=")).toBe(true);
    expect(matches({ name: "debug" }, "/?debugger=1")).toBe(false);
    expect(matches({ name: "debug" }, "/")).toBe(false);
  });

  it("string match on the first value", () => {
    const m: QueryParameterMatcher = { name: "v", stringMatch: { exact: "2" } };
    expect(matches(m, "/?v=2")).toBe(true);
    expect(matches(m, "/?v=1&v=2")).toBe(false);
    expect(matches(m, "/?v=2&v=1")).toBe(true);
    expect(matches({ name: "v", stringMatch: { prefix: "be" } }, "/?v=beta")).toBe(true);
    expect(matches({ name: "v", stringMatch: { safeRegex: "v[0-9]+" } }, "/?v=v12")).toBe(true);
    expect(matches({ name: "v", stringMatch: { safeRegex: "v[0-9]+" } }, "/?v=xv12")).toBe(false);
  });

  it("matches the raw (undecoded) value, like Envoy", () => {
    expect(matches({ name: "q", stringMatch: { exact: "a b" } }, "/?q=a%20b")).toBe(false);
    expect(matches({ name: "q", stringMatch: { exact: "a%20b" } }, "/?q=a%20b")).toBe(true);
  });

  it("absent parameter never matches a string matcher", () => {
    expect(matches({ name: "v", stringMatch: { exact: "" } }, "/?w=1")).toBe(false);
    expect(matches({ name: "v", stringMatch: { exact: "" } }, "/?v")).toBe(true);
  });

  it("multiple query matchers are AND'd", () => {
    const qs: QueryParameterMatcher[] = [{ name: "a", stringMatch: { exact: "1" } }, { name: "b" }];
    expect(matches(qs, "/?a=1&b")).toBe(true);
    expect(matches(qs, "/?a=1")).toBe(false);
    expect(matches(qs, "/?b&a=2")).toBe(false);
  });

  it("the query is parsed per request, not carried over between matches", () => {
    const t = RouteTable.compile(single(route("r", { prefix: "/", queryParameters: [{ name: "a" }] })));
    expect(t.match(req("/?a"))).toBeDefined();
    expect(t.match(req("/?b"))).toBeUndefined();
    expect(t.match(req("/?a"))).toBeDefined();
  });
});
