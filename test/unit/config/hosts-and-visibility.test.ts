import { describe, expect, it } from "vitest";
import { isExportedTo } from "../../../src/config/istio/export-to.js";
import { hostCoveredBy, resolveShortName } from "../../../src/config/istio/host-name.js";
import { parseDuration } from "../../../src/config/istio/duration.js";
import { doc, run, se } from "./helpers.js";

describe("host resolution", () => {
  it("expands short names relative to the config namespace; keeps dotted names and wildcards", () => {
    expect(resolveShortName("reviews", "shop", "cluster.local")).toBe("reviews.shop.svc.cluster.local");
    expect(resolveShortName("Reviews", "shop", "cluster.local")).toBe("reviews.shop.svc.cluster.local");
    expect(resolveShortName("reviews.prod", "shop", "cluster.local")).toBe("reviews.prod");
    expect(resolveShortName("*.example.com", "shop", "cluster.local")).toBe("*.example.com");
    expect(resolveShortName("*", "shop", "cluster.local")).toBe("*");
    expect(hostCoveredBy("a.example.com", "*.example.com")).toBe(true);
    expect(hostCoveredBy("example.com", "*.example.com")).toBe(false);
  });

  it("exportTo: * . ~ and namespace names", () => {
    expect(isExportedTo([], "a", "b")).toBe(true);
    expect(isExportedTo(["*"], "a", "b")).toBe(true);
    expect(isExportedTo(["."], "a", "b")).toBe(false);
    expect(isExportedTo(["."], "a", "a")).toBe(true);
    expect(isExportedTo(["~"], "a", "a")).toBe(false);
    expect(isExportedTo(["c", "b"], "a", "b")).toBe(true);
  });

  it("exportTo decides what the proxy sees; VS bound only to gateways does not apply to sidecars", () => {
    const r = run(
      se("hidden", "prod", "  hosts: [hidden.prod.svc.cluster.local]\n  exportTo: ['.']\n  resolution: STATIC\n  ports: [{number: 80, name: http}]\n  endpoints: [{address: 10.0.0.1}]") +
        se("shared", "prod", "  hosts: [shared.prod.svc.cluster.local]\n  exportTo: [shop]\n  resolution: STATIC\n  ports: [{number: 80, name: http}]\n  endpoints: [{address: 10.0.0.2}]") +
        doc("VirtualService", "gw-only", "shop", "  hosts: [shared.prod.svc.cluster.local]\n  gateways: [istio-system/ingress]\n  http:\n  - route:\n    - destination: {host: shared.prod.svc.cluster.local}\n      headers: {request: {set: {x-gw: '1'}}}") +
        doc("VirtualService", "private", "prod", "  hosts: [shared.prod.svc.cluster.local]\n  exportTo: ['.']\n  http:\n  - directResponse: {status: 418}"),
    );
    expect(r.errors).toEqual([]);
    expect(Object.keys(r.snapshot.clusters)).toEqual(["outbound|80||shared.prod.svc.cluster.local"]);
    const vh = r.snapshot.routeConfigs["80"]!.virtualHosts;
    expect(vh.map((v) => v.name)).toEqual(["shared.prod.svc.cluster.local:80"]);
    expect(vh[0]!.routes.map((x) => x.name)).toEqual(["default"]);
    expect(r.summary).toContain("VirtualService shop/gw-only: hosts shared.prod.svc.cluster.local, 1 http rules (gateways istio-system/ingress only: does not apply to sidecars)");
    expect(r.summary).toContain("VirtualService prod/private: hosts shared.prod.svc.cluster.local, 1 http rules (not exported to namespace shop)");
    expect(r.summary).toContain("ServiceEntry prod/hidden: hosts hidden.prod.svc.cluster.local, ports 80/auto, STATIC, 1 endpoints (not exported to namespace shop)");
  });
});

describe("durations", () => {
  it("parses Istio and protobuf duration forms into ms", () => {
    expect(parseDuration("10s")).toEqual({ ms: 10000 });
    expect(parseDuration("1.5s")).toEqual({ ms: 1500 });
    expect(parseDuration("100ms")).toEqual({ ms: 100 });
    expect(parseDuration("1h")).toEqual({ ms: 3600000 });
    expect(parseDuration("1m30s")).toEqual({ ms: 90000 });
    expect(parseDuration({ seconds: 2, nanos: 500000000 })).toEqual({ ms: 2500 });
    expect(parseDuration("0s", { allowZero: true })).toEqual({ ms: 0 });
    expect(parseDuration("0s")).toHaveProperty("error");
    expect(parseDuration("1500us")).toHaveProperty("error");
    expect(parseDuration(10)).toHaveProperty("error");
    expect(parseDuration("ten")).toHaveProperty("error");
  });
});
