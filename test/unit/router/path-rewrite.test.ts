import { describe, expect, it } from "vitest";
import type { RouteAction, RouteMatch } from "../../../src/config/model/types.js";
import { PathRewrite } from "../../../src/router/path-rewrite.js";
import { RegexRewriter } from "../../../src/router/regex-rewriter.js";
import { match } from "./fixtures.js";

function rewrite(action: RouteAction, m: Partial<RouteMatch>, path: string): string | undefined {
  return PathRewrite.compile(action, match(m))?.rewritePath(path)?.path;
}

describe("prefixRewrite", () => {
  it("replaces the matched prefix and keeps the query", () => {
    expect(rewrite({ prefixRewrite: "/v2" }, { prefix: "/v1" }, "/v1/users?id=3")).toBe("/v2/users?id=3");
    expect(rewrite({ prefixRewrite: "/" }, { prefix: "/api/" }, "/api/users")).toBe("/users");
  });

  it("Envoy does no slash fix-up: '/prefix' → '/' gives '//etc'", () => {
    expect(rewrite({ prefixRewrite: "/" }, { prefix: "/prefix" }, "/prefix/etc")).toBe("//etc");
    expect(rewrite({ prefixRewrite: "/" }, { prefix: "/prefix" }, "/prefix")).toBe("/");
    expect(rewrite({ prefixRewrite: "/" }, { prefix: "/prefix" }, "/prefix?a=1")).toBe("/?a=1");
    expect(rewrite({ prefixRewrite: "/new/" }, { prefix: "/old" }, "/oldfoo")).toBe("/new/foo");
  });

  it("with an exact path match the whole path is replaced, query kept", () => {
    expect(rewrite({ prefixRewrite: "/new" }, { path: "/old" }, "/old")).toBe("/new");
    expect(rewrite({ prefixRewrite: "/new" }, { path: "/old" }, "/old?x=1")).toBe("/new?x=1");
  });

  it("case-insensitive prefix match replaces the same length", () => {
    expect(rewrite({ prefixRewrite: "/b" }, { prefix: "/a", caseSensitive: false }, "/A/x")).toBe("/b/x");
  });

  it("with a regex match the whole path without query is replaced", () => {
    expect(rewrite({ prefixRewrite: "/fixed" }, { safeRegex: "/a/.*" }, "/a/b/c?q")).toBe("/fixed?q");
  });

  it("reports the original path", () => {
    const r = PathRewrite.compile({ prefixRewrite: "/v2" }, match({ prefix: "/v1" }))!.rewritePath("/v1?a");
    expect(r).toEqual({ path: "/v2?a", originalPath: "/v1?a" });
  });
});

describe("regexRewrite", () => {
  it("substitutes groups on the path without query, query kept", () => {
    const action: RouteAction = {
      regexRewrite: { pattern: "^/service/([^/]+)(/.*)$", substitution: "\\2/instance/\\1" },
    };
    expect(rewrite(action, { prefix: "/" }, "/service/foo/v1/api?x=1")).toBe("/v1/api/instance/foo?x=1");
  });

  it("replaces every match (RE2 GlobalReplace)", () => {
    expect(rewrite({ regexRewrite: { pattern: "o", substitution: "0" } }, {}, "/foo/boo")).toBe("/f00/b00");
    expect(rewrite({ regexRewrite: { pattern: "/+", substitution: "/" } }, {}, "//a///b?x=//")).toBe("/a/b?x=//");
  });

  it("\\0 is the whole match and \\\\ a backslash", () => {
    expect(rewrite({ regexRewrite: { pattern: "b+", substitution: "[\\0]\\\\" } }, {}, "/abbc")).toBe("/a[bb]\\c");
  });

  it("no match leaves the path unchanged", () => {
    expect(rewrite({ regexRewrite: { pattern: "zzz", substitution: "y" } }, {}, "/abc?q")).toBe("/abc?q");
  });

  it("an empty result leaves the path alone (Envoy)", () => {
    expect(rewrite({ regexRewrite: { pattern: ".*", substitution: "" } }, {}, "/abc")).toBeUndefined();
  });

  it("empty matches follow RE2 (not JavaScript) rules", () => {
    expect(RegexRewriter.compile("a*", "-").replaceAll("baaa")).toBe("-b-");
    expect(RegexRewriter.compile("x*", "-").replaceAll("abc")).toBe("-a-b-c-");
    expect(RegexRewriter.compile("x*", "-").replaceAll("")).toBe("-");
    expect(RegexRewriter.compile("^", "/p").replaceAll("/x")).toBe("/p/x");
  });

  it("rejects bad substitutions and patterns at compile time", () => {
    expect(() => RegexRewriter.compile("(a)", "\\2")).toThrow(/refers to group \\2 but the pattern has 1/);
    expect(() => RegexRewriter.compile("a", "\\n")).toThrow(/invalid rewrite/);
    expect(() => RegexRewriter.compile("(", "x")).toThrow(/invalid RE2 regex/);
  });
});

describe("hostRewriteLiteral", () => {
  it("exposes the host and leaves the path alone", () => {
    const rw = PathRewrite.compile({ hostRewriteLiteral: "internal.svc" }, match({ prefix: "/" }))!;
    expect(rw.hostRewrite).toBe("internal.svc");
    expect(rw.rewritesPath).toBe(false);
    expect(rw.rewritePath("/a")).toBeUndefined();
  });

  it("no rewrite configured compiles to undefined", () => {
    expect(PathRewrite.compile({ cluster: "c" }, match({ prefix: "/" }))).toBeUndefined();
    expect(PathRewrite.compile({ cluster: "c", prefixRewrite: "" }, match({ prefix: "/" }))).toBeUndefined();
  });
});
