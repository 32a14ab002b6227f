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
            "    connectionPool: {tcp: {maxConnections: 10, connectTimeout: 2s, tcpKeepalive: {time: 10s, probes: 3}}, http: {http1MaxPendingRequests: 5, idleTimeout: 30s, h2UpgradePolicy: UPGRADE, maxConcurrentStreams: 10}}",
            "    outlierDetection: {consecutive5xxErrors: 3}",
            "    tls: {mode: ISTIO_MUTUAL}",
          ].join("\n"),
        ),
      { security: { trustDomain: "cluster.local", hasIdentity: true } },
    );
    expect(r.errors).toEqual([]);
    const paths = r.warnings.map((w) => w.path);
    expect(paths).toEqual(
      expect.arrayContaining(["spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.probes"]),
    );
    // Enforced: load balancing incl. locality, circuit breakers, timeouts, outlier detection, the upstream protocol.
    for (const p of [
      "spec.trafficPolicy.loadBalancer.simple",
      "spec.trafficPolicy.loadBalancer.localityLbSetting",
      "spec.trafficPolicy.connectionPool.tcp.maxConnections",
      "spec.trafficPolicy.connectionPool.tcp.connectTimeout",
      "spec.trafficPolicy.connectionPool.tcp.tcpKeepalive",
      "spec.trafficPolicy.connectionPool.http.http1MaxPendingRequests",
      "spec.trafficPolicy.connectionPool.http.idleTimeout",
      "spec.trafficPolicy.connectionPool.http.h2UpgradePolicy",
      "spec.trafficPolicy.connectionPool.http.maxConcurrentStreams",
      "spec.trafficPolicy.outlierDetection",
      "spec.trafficPolicy.tls",
    ]) {
      expect(paths).not.toContain(p);
    }
  });
});
