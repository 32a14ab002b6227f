// Envoy's ignore_port_in_host_matching: the :authority's port is dropped before the virtual host is
// chosen, so `reviews:9080` lands on the portless domain `reviews` (istiod >= 1.28's form) — only
// when the route configuration sets it.
import { describe, expect, it } from "vitest";
import { RouteTable } from "../../../src/router/route-table.js";
import { stripPort } from "../../../src/router/virtual-host-selector.js";
import { config, route, vhost } from "./fixtures.js";

function table(ignorePort: boolean): RouteTable {
  const rc = config(vhost("reviews", ["reviews", "reviews.shop.svc.cluster.local"], [route("r")]), vhost("v6", ["[::1]"], [route("r")]), vhost("default", ["*"], [route("r")]));
  return RouteTable.compile(ignorePort ? { ...rc, ignorePortInHostMatching: true } : rc);
}

describe("ignore_port_in_host_matching", () => {
  it("set: reviews:9080 matches the portless domain reviews", () => {
    const t = table(true);
    expect(t.selectVirtualHost("reviews:9080")?.name).toBe("reviews");
    expect(t.selectVirtualHost("Reviews.Shop.svc.cluster.local:80")?.name).toBe("reviews");
    expect(t.selectVirtualHost("reviews")?.name).toBe("reviews");
    expect(t.selectVirtualHost("[::1]:8080")?.name).toBe("v6");
    expect(t.selectVirtualHost("ratings:9080")?.name).toBe("default");
  });

  it("unset: the port takes part, so reviews:9080 falls to the default virtual host", () => {
    const t = table(false);
    expect(t.selectVirtualHost("reviews:9080")?.name).toBe("default");
    expect(t.selectVirtualHost("reviews")?.name).toBe("reviews");
  });

  it("strips only a numeric port after the host, never an IPv6 literal's colons", () => {
    expect(stripPort("a:80")).toBe("a");
    expect(stripPort("[::1]")).toBe("[::1]");
    expect(stripPort("[::1]:443")).toBe("[::1]");
    expect(stripPort("a:http")).toBe("a:http");
    expect(stripPort("a")).toBe("a");
  });
});
