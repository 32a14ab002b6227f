import { describe, expect, it } from "vitest";
import { defaultInterception } from "../../../src/config/istio/interception.js";
import { translateWith } from "./telemetry-helpers.js";

const SE = `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: sniffed-db, namespace: shop}
spec:
  hosts: [sniffed.shop.svc.cluster.local]
  addresses: [10.96.0.30]
  ports: [{number: 3306, name: db}]
  resolution: STATIC
  endpoints: [{address: 10.1.0.9}]
`;

const timeouts = (mesh?: string): Record<string, number | undefined> => {
  const r = translateWith({ extra: SE, intercept: defaultInterception(), ...(mesh !== undefined ? { mesh } : {}) });
  expect(r.messages).toEqual([]);
  return Object.fromEntries(r.snapshot.listeners.filter((l) => l.listenerFilters.length > 0).map((l) => [l.name, l.listenerFiltersTimeoutMs]));
};

describe("protocol detection timeout (sniffed listeners)", () => {
  it("100 ms by default, so a server-first client on a port without a declared protocol is not held for ever", () => {
    expect(timeouts()).toEqual({ virtualInbound: 100, "10.96.0.30_3306": 100 });
  });

  it("MeshConfig protocolDetectionTimeout sets it; 0s is istiod's default (no timeout)", () => {
    expect(timeouts("protocolDetectionTimeout: 250ms\n")).toEqual({ virtualInbound: 250, "10.96.0.30_3306": 250 });
    expect(timeouts("protocolDetectionTimeout: 0s\n")).toEqual({ virtualInbound: 0, "10.96.0.30_3306": 0 });
  });

  it("a value below 1 ms or not a duration is refused with its field", () => {
    for (const bad of ["500us", "soon", "-1s"]) {
      const r = translateWith({ extra: SE, intercept: defaultInterception(), mesh: `protocolDetectionTimeout: ${bad}\n` });
      expect(r.messages.join("\n")).toMatch(/protocolDetectionTimeout: .* is not a duration of at least 1ms \(or 0s for none\)/);
    }
  });
});
