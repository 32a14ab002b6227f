import { describe, expect, it } from "vitest";
import type { RedirectAction, RouteMatch } from "../../../src/config/model/types.js";
import { Redirect } from "../../../src/router/redirect.js";
import { match, req } from "./fixtures.js";

function location(
  action: Partial<RedirectAction>,
  path: string,
  opts: { authority?: string; scheme?: "http" | "https"; match?: Partial<RouteMatch> } = {},
): string {
  const r = Redirect.compile({ responseCode: 301, ...action }, match(opts.match ?? { prefix: "/" }));
  const v = req(path, {
    ...(opts.authority !== undefined ? { authority: opts.authority } : {}),
    ...(opts.scheme !== undefined ? { scheme: opts.scheme } : {}),
  });
  return r.build(v).location;
}

describe("redirect", () => {
  it("returns the configured status", () => {
    for (const code of [301, 302, 303, 307, 308] as const) {
      expect(Redirect.compile({ responseCode: code }, match()).build(req("/")).status).toBe(code);
    }
  });

  it("no fields: same URI, authority as sent", () => {
    expect(location({}, "/a?b=1", { authority: "Foo:8080" })).toBe("http://Foo:8080/a?b=1");
  });

  it("hostRedirect replaces host and drops the request port", () => {
    expect(location({ hostRedirect: "new.com" }, "/p", { authority: "old.com:8080" })).toBe("http://new.com/p");
  });

  it("portRedirect replaces the authority's port", () => {
    expect(location({ portRedirect: 8443 }, "/p", { authority: "foo.com:8080" })).toBe("http://foo.com:8443/p");
    expect(location({ portRedirect: 8443 }, "/p", { authority: "foo.com" })).toBe("http://foo.com:8443/p");
    expect(location({ portRedirect: 9000, hostRedirect: "bar.com" }, "/p", { authority: "foo.com:1" })).toBe(
      "http://bar.com:9000/p",
    );
    expect(location({ portRedirect: 8443 }, "/", { authority: "[::1]:8080" })).toBe("http://[::1]:8443/");
  });

  it("schemeRedirect http→https drops a default :80 and keeps other ports", () => {
    expect(location({ schemeRedirect: "https" }, "/p?q", { authority: "foo.com:80" })).toBe("https://foo.com/p?q");
    expect(location({ schemeRedirect: "https" }, "/p", { authority: "foo.com" })).toBe("https://foo.com/p");
    expect(location({ schemeRedirect: "https" }, "/p", { authority: "foo.com:8080" })).toBe("https://foo.com:8080/p");
    expect(location({ schemeRedirect: "http" }, "/p", { authority: "foo.com:443", scheme: "https" })).toBe(
      "http://foo.com/p",
    );
    expect(location({ schemeRedirect: "https" }, "/p", { authority: "[::1]:80" })).toBe("https://[::1]/p");
  });

  it("same scheme keeps an explicit default port (Envoy only strips on a scheme change)", () => {
    expect(location({ pathRedirect: "/x" }, "/p", { authority: "foo.com:80" })).toBe("http://foo.com:80/x");
  });

  it("derivePort FROM_PROTOCOL_DEFAULT behaves like Envoy's default", () => {
    const a = { derivePort: "FROM_PROTOCOL_DEFAULT" as const, schemeRedirect: "https" };
    expect(location(a, "/p", { authority: "foo.com:80" })).toBe("https://foo.com/p");
    expect(location({ ...a, hostRedirect: "bar.com" }, "/p", { authority: "foo.com:8080" })).toBe("https://bar.com/p");
  });

  it("derivePort FROM_REQUEST_PORT keeps the request's port", () => {
    const a = { derivePort: "FROM_REQUEST_PORT" as const };
    expect(location({ ...a, schemeRedirect: "https" }, "/p", { authority: "foo.com:80" })).toBe("https://foo.com:80/p");
    expect(location({ ...a, hostRedirect: "bar.com" }, "/p", { authority: "foo.com:9080" })).toBe("http://bar.com:9080/p");
    expect(location({ ...a, hostRedirect: "bar.com" }, "/p", { authority: "foo.com" })).toBe("http://bar.com/p");
    // an explicit portRedirect still wins
    expect(location({ ...a, portRedirect: 1234 }, "/p", { authority: "foo.com:9080" })).toBe("http://foo.com:1234/p");
  });

  it("pathRedirect keeps the request query unless it has its own", () => {
    expect(location({ pathRedirect: "/new" }, "/old?a=1")).toBe("http://example.com/new?a=1");
    expect(location({ pathRedirect: "/new" }, "/old")).toBe("http://example.com/new");
    expect(location({ pathRedirect: "/new?b=2" }, "/old?a=1")).toBe("http://example.com/new?b=2");
    expect(location({ pathRedirect: "new" }, "/old")).toBe("http://example.com/new");
  });

  it("prefixRewrite replaces the matched prefix, query kept", () => {
    expect(location({ prefixRewrite: "/v2" }, "/v1/users?x", { match: { prefix: "/v1" } })).toBe(
      "http://example.com/v2/users?x",
    );
    expect(location({ prefixRewrite: "/b" }, "/a?x", { match: { path: "/a" } })).toBe("http://example.com/b?x");
    expect(location({ prefixRewrite: "" }, "/a?x", { match: { path: "/a" } })).toBe("http://example.com/a?x");
  });

  it("all fields together", () => {
    expect(
      location(
        { schemeRedirect: "https", hostRedirect: "www.example.org", portRedirect: 8443, pathRedirect: "/landing" },
        "/anything?utm=1",
        { authority: "old:80" },
      ),
    ).toBe("https://www.example.org:8443/landing?utm=1");
  });
});
