import { describe, expect, it } from "vitest";
import { doc, reviewsSE, run } from "./helpers.js";

describe("fields that parse but are not enforced yet", () => {
  it("warn, naming each field, and never refuse the config", () => {
    const r = run(
      reviewsSE +
        doc(
          "DestinationRule",
          "d",
          "shop",
          [
            "  host: reviews",
            "  trafficPolicy:",
            "    loadBalancer: {simple: ROUND_ROBIN, localityLbSetting: {enabled: true}}",
            "    connectionPool: {tcp: {maxConnections: 10, connectTimeout: 2s}, http: {http1MaxPendingRequests: 5, idleTimeout: 30s}}",
            "    outlierDetection: {consecutive5xxErrors: 3}",
          ].join("\n"),
        ),
    );
    expect(r.errors).toEqual([]);
    const paths = r.warnings.map((w) => w.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "spec.trafficPolicy.loadBalancer.localityLbSetting",
        "spec.trafficPolicy.connectionPool.tcp.maxConnections",
        "spec.trafficPolicy.connectionPool.http.http1MaxPendingRequests",
        "spec.trafficPolicy.outlierDetection",
      ]),
    );
    // Enforced today: simple LB, connect timeout and HTTP idle timeout.
    expect(paths).not.toContain("spec.trafficPolicy.loadBalancer.simple");
    expect(paths).not.toContain("spec.trafficPolicy.connectionPool.tcp.connectTimeout");
    expect(paths).not.toContain("spec.trafficPolicy.connectionPool.http.idleTimeout");
  });
});
