import { describe, expect, it } from "vitest";
import { RouteTable } from "../../../src/router/route-table.js";
import { config, req, route, single, vhost } from "./fixtures.js";

const name = (t: RouteTable, r: Parameters<RouteTable["match"]>[0]) => t.match(r)?.route.name;

describe("path matching", () => {
  it("prefix matches on the path without query string", () => {
    const t = RouteTable.compile(single(route("api", { prefix: "/api" })));
    expect(name(t, req("/api"))).toBe("api");
    expect(name(t, req("/api/v1?x=1"))).toBe("api");
    expect(name(t, req("/apiary"))).toBe("api"); // Envoy prefix is a plain string prefix
    expect(name(t, req("/ap?i"))).toBeUndefined();
    expect(name(t, req("/API"))).toBeUndefined();
  });

  it("exact path ignores the query string and the fragment", () => {
    const t = RouteTable.compile(single(route("exact", { path: "/login" })));
    expect(name(t, req("/login"))).toBe("exact");
    expect(name(t, req("/login?next=/home"))).toBe("exact");
    expect(name(t, req("/login#frag"))).toBe("exact");
    expect(name(t, req("/login/"))).toBeUndefined();
    expect(name(t, req("/Login"))).toBeUndefined();
  });

  it("caseSensitive=false folds case for prefix and exact path", () => {
    const t = RouteTable.compile(
      single(route("p", { prefix: "/Api", caseSensitive: false }), route("e", { path: "/Exact", caseSensitive: false })),
    );
    expect(name(t, req("/aPI/x"))).toBe("p");
    expect(name(t, req("/EXACT"))).toBe("e");
    expect(name(t, req("/exact?Q"))).toBe("e");
  });

  it("safeRegex is a full match on the path without query", () => {
    const t = RouteTable.compile(single(route("re", { safeRegex: "/a.*" })));
    expect(name(t, req("/abc"))).toBe("re");
    expect(name(t, req("/abc?z=1"))).toBe("re");
    expect(name(t, req("/x/abc"))).toBeUndefined();
    const t2 = RouteTable.compile(single(route("re", { safeRegex: "/users/[0-9]+" })));
    expect(name(t2, req("/users/42"))).toBe("re");
    expect(name(t2, req("/users/42/edit"))).toBeUndefined();
    expect(name(t2, req("/v1/users/42"))).toBeUndefined();
  });

  it("safeRegex ignores caseSensitive (Envoy)", () => {
    const t = RouteTable.compile(single(route("re", { safeRegex: "/abc", caseSensitive: false })));
    expect(name(t, req("/ABC"))).toBeUndefined();
    const t2 = RouteTable.compile(single(route("re", { safeRegex: "(?i)/abc" })));
    expect(name(t2, req("/ABC"))).toBe("re");
  });

  it("catastrophic-backtracking path regex returns promptly with no match", () => {
    const t = RouteTable.compile(single(route("re", { safeRegex: "(a+)+$" })));
    expect(name(t, req("a".repeat(30) + "!"))).toBeUndefined();
  });

  it("no path specifier and prefix '' match everything", () => {
    const t = RouteTable.compile(single(route("all", {})));
    expect(name(t, req("/anything?x"))).toBe("all");
    const t2 = RouteTable.compile(single(route("all", { prefix: "" })));
    expect(name(t2, req("*"))).toBe("all");
  });

  it("a bad regex fails compile with a clear, located error", () => {
    expect(() => RouteTable.compile(single(route("bad", { safeRegex: "(" })))).toThrow(
      /route configuration "test": virtual host "vh": route "bad" \[0\]: match: safeRegex: invalid RE2 regex/,
    );
    expect(() =>
      RouteTable.compile(single(route("bad", { headers: [{ name: "x", stringMatch: { safeRegex: "[" } }] }))),
    ).toThrow(/match\.headers\[0\] "x": safeRegex: invalid RE2 regex/);
  });
});

describe("route order and combination", () => {
  it("first match wins", () => {
    const t = RouteTable.compile(single(route("first", { prefix: "/" }), route("second", { prefix: "/api" })));
    expect(name(t, req("/api"))).toBe("first");
  });

  it("conditions AND within a route, routes OR across", () => {
    const t = RouteTable.compile(
      single(
        route("both", {
          prefix: "/api",
          headers: [{ name: "x-user", stringMatch: { exact: "jason" } }],
          queryParameters: [{ name: "debug" }],
        }),
        route("header-only", { headers: [{ name: "x-user", stringMatch: { exact: "jason" } }] }),
        route("fallback", { prefix: "/" }),
      ),
    );
    const h: Array<[string, string]> = [["x-user", "jason"]];
    expect(name(t, req("/api?debug", { headers: h }))).toBe("both");
    expect(name(t, req("/api", { headers: h }))).toBe("header-only");
    expect(name(t, req("/api?debug"))).toBe("fallback");
    expect(name(t, req("/other?debug", { headers: h }))).toBe("header-only");
  });

  it("returns the route's vhost name and precompiled helpers", () => {
    const t = RouteTable.compile(
      config(
        vhost("reviews:9080", ["reviews:9080"], [
          route("split", { prefix: "/" }, {
            route: {
              weightedClusters: [
                { name: "v1", weight: 1, requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] },
              ],
              prefixRewrite: "/new",
            },
          }),
        ]),
        vhost("redir", ["old.example.com"], [
          route("r", { prefix: "/" }, { route: undefined, redirect: { hostRedirect: "new.example.com", responseCode: 301 } }),
        ]),
      ),
    );
    const m = t.match(req("/x", { authority: "reviews:9080" }))!;
    expect(m.virtualHostName).toBe("reviews:9080");
    expect(m.clusterPicker?.totalWeight).toBe(1);
    expect(m.rewrite?.rewritePath("/x")?.path).toBe("/newx");
    expect(m.redirect).toBeUndefined();
    const r = t.match(req("/a?b", { authority: "old.example.com" }))!;
    expect(r.redirect?.build(req("/a?b", { authority: "old.example.com" }))).toEqual({
      status: 301,
      location: "http://new.example.com/a?b",
    });
    expect(r.clusterPicker).toBeUndefined();
    expect(r.rewrite).toBeUndefined();
  });

  it("matchInVirtualHost matches within an already selected vhost", () => {
    const t = RouteTable.compile(config(vhost("a", ["a"], [route("ra", { prefix: "/" })])));
    const vh = t.selectVirtualHost("A")!;
    expect(t.matchInVirtualHost(vh, req("/"))?.route.name).toBe("ra");
  });
});
