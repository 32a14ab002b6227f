// Envoy's uri_template path matcher as the RBAC engine compiles it: `*` one non-empty segment,
// `**` the rest (slashes included), literals exact, templates Envoy refuses are refused.

import { describe, expect, it } from "vitest";
import { compileUriTemplate, uriTemplateRegex } from "../../../src/http/filters/rbac/uri-template.js";

describe("uri_template matcher", () => {
  it("`*` is exactly one non-empty segment", () => {
    const m = compileUriTemplate("/api/*/info", "t");
    expect(m("/api/v1/info")).toBe(true);
    expect(m("/api/v1.2_~x/info")).toBe(true);
    expect(m("/api//info")).toBe(false);
    expect(m("/api/v1/v2/info")).toBe(false);
    expect(m("/api/v1/info/")).toBe(false);
    expect(m("/API/v1/info")).toBe(false);
  });

  it("`**` is zero or more characters, slashes included, and must be last", () => {
    const m = compileUriTemplate("/api/**", "t");
    expect(m("/api/")).toBe(true);
    expect(m("/api/a/b/c")).toBe(true);
    expect(m("/api")).toBe(false);
    expect(m("/apix/a")).toBe(false);
    const mid = compileUriTemplate("/**/path/template", "t");
    expect(mid("/a/b/path/template")).toBe(true);
    expect(mid("//path/template")).toBe(true);
    expect(mid("/path/template")).toBe(false);
    expect(() => compileUriTemplate("/**/*", "rbac policy p uri_template")).toThrow('rbac policy p uri_template: invalid path template "/**/*": no operator may follow "**"');
  });

  it("literals are matched exactly (regex characters are not special); a trailing slash is kept; suffix form in the last segment", () => {
    const m = compileUriTemplate("/a.b/*/c+d/", "t");
    expect(m("/a.b/x/c+d/")).toBe(true);
    expect(m("/aXb/x/c+d/")).toBe(false);
    expect(m("/a.b/x/c+d")).toBe(false);
    const suffix = compileUriTemplate("/videos/**.m4s", "t");
    expect(suffix("/videos/a/b.m4s")).toBe(true);
    expect(suffix("/videos/a/b.mp4")).toBe(false);
  });

  it("refuses what Envoy refuses", () => {
    expect(uriTemplateRegex("api/*")).toEqual({ error: 'invalid path template "api/*": must start with "/" and hold printable characters only' });
    expect(uriTemplateRegex("/a=b/*")).toEqual({ error: 'invalid path template "/a=b/*": segment "a=b" is not a valid literal' });
    expect(uriTemplateRegex("/a//*")).toEqual({ error: 'invalid path template "/a//*": empty segment' });
    expect(uriTemplateRegex("/*.x/b")).toEqual({ error: 'invalid path template "/*.x/b": text after an operator is only allowed in the last segment' });
  });
});
