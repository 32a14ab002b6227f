import { describe, expect, it } from "vitest";
import { RouteTable } from "../../../src/router/route-table.js";
import { VirtualHostSelector } from "../../../src/router/virtual-host-selector.js";
import { config, req, route, vhost } from "./fixtures.js";

function table() {
  return RouteTable.compile(
    config(
      vhost("exact", ["reviews.shop.svc.cluster.local", "reviews.shop.svc.cluster.local:9080", "reviews", "reviews:9080"], [route("r")]),
      vhost("suffix-short", ["*.foo.com"], [route("r")]),
      vhost("suffix-long", ["*-bar.foo.com"], [route("r")]),
      vhost("prefix-short", ["api.*"], [route("r")]),
      vhost("prefix-long", ["api.foo.*"], [route("r")]),
      vhost("exact-in-wildcard-zone", ["www.foo.com"], [route("r")]),
      vhost("default", ["*"], [route("r")]),
    ),
  );
}

describe("virtual host selection", () => {
  const t = table();
  const pick = (a: string) => t.selectVirtualHost(a)?.name;

  it("matches exact domains, with and without port, case-insensitively", () => {
    expect(pick("reviews")).toBe("exact");
    expect(pick("reviews:9080")).toBe("exact");
    expect(pick("Reviews:9080")).toBe("exact");
    expect(pick("REVIEWS.shop.svc.cluster.local:9080")).toBe("exact");
  });

  it("a port that is not listed does not match the exact domain", () => {
    expect(pick("reviews:8080")).toBe("default");
  });

  it("exact beats wildcards", () => {
    expect(pick("www.foo.com")).toBe("exact-in-wildcard-zone");
  });

  it("longest suffix wildcard wins", () => {
    expect(pick("a.foo.com")).toBe("suffix-short");
    expect(pick("x-bar.foo.com")).toBe("suffix-long");
    expect(pick("X-BAR.foo.com")).toBe("suffix-long");
  });

  it("a suffix wildcard needs at least one character for the *", () => {
    expect(pick(".foo.com")).toBe("default");
    expect(pick("-bar.foo.com")).toBe("suffix-short");
  });

  it("suffix wildcards beat prefix wildcards; longest prefix wins", () => {
    expect(pick("api.foo.com")).toBe("suffix-short");
    expect(pick("api.foo.org")).toBe("prefix-long");
    expect(pick("api.bar")).toBe("prefix-short");
    expect(pick("api.")).toBe("default");
  });

  it("the authority is matched as sent: a port defeats a suffix wildcard", () => {
    // "*.foo.com" does not match "a.foo.com:80"; Istio lists "*.foo.com:80" separately.
    expect(pick("a.foo.com:80")).toBe("default");
    // but a prefix wildcard still matches with a port
    expect(pick("api.bar:8080")).toBe("prefix-short");
  });

  it("falls back to * and returns undefined without one", () => {
    expect(pick("unknown")).toBe("default");
    expect(pick("")).toBe("default");
    const noDefault = RouteTable.compile(config(vhost("only", ["a.com"], [route("r")])));
    expect(noDefault.selectVirtualHost("b.com")).toBeUndefined();
    expect(noDefault.match(req("/", { authority: "b.com" }))).toBeUndefined();
  });

  it("only-default tables take the fast path for any authority", () => {
    const t2 = RouteTable.compile(config(vhost("d", ["*"], [route("r")])));
    expect(t2.selectVirtualHost("Whatever:1")?.name).toBe("d");
  });

  it("rejects duplicate domains and mid-string wildcards", () => {
    expect(() => RouteTable.compile(config(vhost("a", ["x.com"], []), vhost("b", ["X.com"], [])))).toThrow(
      /duplicate domain/,
    );
    expect(() => RouteTable.compile(config(vhost("a", ["*"], []), vhost("b", ["*"], [])))).toThrow(/duplicate domain/);
    const s = new VirtualHostSelector<string>();
    expect(() => s.add("a.*.com", "x")).toThrow(/leading or trailing/);
  });
});
