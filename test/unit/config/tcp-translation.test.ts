import { istioTcpStats } from "../../helpers/model.js";
// Istio → model for TCP: clusters for TCP-family ports with DestinationRule policies, Sidecar
// egress TCP listeners (one service per port), VirtualService tcp[] routing and its validation.

import { describe, expect, it } from "vitest";
import { TCP_PROXY, type Listener, type TcpProxy } from "../../../src/config/model/types.js";
import { doc, run, se } from "./helpers.js";

const mysql = se("mysql", "db", "  hosts: [mysql.db.svc.cluster.local]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: [{number: 3306, name: tcp-mysql, protocol: MYSQL}]\n  endpoints: [{address: 10.4.0.1, labels: {version: v1}}, {address: 10.4.0.2, labels: {version: v2}}]");
const redis = se("redis", "db", "  hosts: [redis.db.svc.cluster.local]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: [{number: 6379, name: redis, protocol: REDIS}, {number: 9121, name: http-metrics}]\n  endpoints: [{address: 10.5.0.1}]");
const egress = (port: number, hosts: string, protocol = "TCP"): string => doc("Sidecar", "default", "shop", `  egress:\n  - port: {number: ${port}, protocol: ${protocol}, name: tcp-x}\n    hosts: [${hosts}]`);

function tcpOf(l: Listener | undefined): TcpProxy {
  const f = l?.filterChains[0]?.filters[0];
  if (f?.name !== TCP_PROXY) throw new Error(`listener ${l?.name} has no tcp_proxy`);
  return f.typedConfig;
}

describe("TCP clusters", () => {
  it("TCP-family ports get outbound clusters with connectionPool.tcp, outlierDetection and loadBalancer from the DestinationRule", () => {
    const r = run(
      mysql +
        doc(
          "DestinationRule",
          "mysql",
          "db",
          "  host: mysql.db.svc.cluster.local\n  trafficPolicy:\n    loadBalancer: {simple: ROUND_ROBIN}\n    connectionPool:\n      tcp: {maxConnections: 7, connectTimeout: 250ms, idleTimeout: 30s}\n    outlierDetection: {consecutive5xxErrors: 2, interval: 1s, baseEjectionTime: 5s}\n  subsets:\n  - name: v2\n    labels: {version: v2}",
        ),
    );
    expect(r.messages).toEqual([]);
    const c = r.snapshot.clusters["outbound|3306||mysql.db.svc.cluster.local"]!;
    expect(c).toMatchObject({ type: "STATIC", lbPolicy: "ROUND_ROBIN", connectTimeoutMs: 250, circuitBreakers: { maxConnections: 7 }, outlierDetection: { consecutive5xx: 2, intervalMs: 1000, baseEjectionTimeMs: 5000 } });
    const v2 = r.snapshot.clusters["outbound|3306|v2|mysql.db.svc.cluster.local"]!;
    expect(v2.loadAssignment.endpoints.flatMap((g) => g.lbEndpoints.map((e) => e.address))).toEqual(["10.4.0.2"]);
  });
});

describe("Sidecar egress TCP listeners", () => {
  it("a TCP egress port proxies to the one imported service, with Envoy's 1 h idle timeout and one connect attempt", () => {
    const r = run(mysql + egress(3306, "db/mysql.db.svc.cluster.local"));
    expect(r.messages).toEqual([]);
    expect(r.warningMessages).toEqual([]);
    const l = r.snapshot.listeners.find((x) => x.port === 3306)!;
    expect(l).toMatchObject({ name: "127.0.0.1_3306", address: "127.0.0.1", trafficDirection: "OUTBOUND", listenerFilters: [] });
    expect(l.filterChains[0]!.name).toBe("outbound_127.0.0.1_3306");
    expect(tcpOf(l)).toEqual({ statPrefix: "outbound|3306||mysql.db.svc.cluster.local", cluster: "outbound|3306||mysql.db.svc.cluster.local", idleTimeoutMs: 3_600_000, maxConnectAttempts: 1, istioStats: istioTcpStats("OUTBOUND") });
  });

  it("idle timeout comes from the DestinationRule's connectionPool.tcp.idleTimeout (0s = never)", () => {
    const dr = (t: string): string => doc("DestinationRule", "mysql", "db", `  host: mysql.db.svc.cluster.local\n  trafficPolicy:\n    connectionPool:\n      tcp: {idleTimeout: ${t}}`);
    expect(tcpOf(run(mysql + dr("90s") + egress(3306, "db/*")).snapshot.listeners[0]).idleTimeoutMs).toBe(90_000);
    const off = run(mysql + dr("0s") + egress(3306, "db/*"));
    expect(off.messages).toEqual([]);
    expect(tcpOf(off.snapshot.listeners[0]).idleTimeoutMs).toBe(0);
  });

  it("a port other than the service's only port still goes to that port (istiod); two services on one port: the first wins, with a warning", () => {
    const one = run(mysql + egress(13306, "db/mysql.db.svc.cluster.local"));
    expect(tcpOf(one.snapshot.listeners[0]).cluster).toBe("outbound|3306||mysql.db.svc.cluster.local");
    const two = run(mysql + redis + egress(3306, "db/*"));
    expect(tcpOf(two.snapshot.listeners[0]).cluster).toBe("outbound|3306||mysql.db.svc.cluster.local");
    expect(two.warningMessages).toEqual([
      "mesh/config.yaml:32: warning: spec.egress[0].port: egress TCP port 3306: redis.db.svc.cluster.local is not reachable on this listener, it proxies to mysql.db.svc.cluster.local (one service per TCP port until traffic interception brings the original destination)",
    ]);
  });

  it("an egress port that imports nothing, or whose protocol is TLS or unset, gets no listener and a warning", () => {
    const none = run(mysql + egress(3306, "other/*"));
    expect(none.snapshot.listeners).toEqual([]);
    expect(none.warningMessages).toEqual(["mesh/config.yaml:20: warning: spec.egress[0].port: egress TCP port 3306 imports no service: no listener"]);
    const tls = run(mysql + egress(3306, "db/*", "TLS"));
    expect(tls.snapshot.listeners).toEqual([]);
    expect(tls.warningMessages).toEqual(["mesh/config.yaml:20: warning: spec.egress[0].port: egress port 3306 (TLS) is skipped: TLS passthrough by SNI needs --intercept"]);
  });
});

describe("VirtualService tcp routes", () => {
  const vs = (body: string): string => doc("VirtualService", "mysql-vs", "db", `  hosts: [mysql.db.svc.cluster.local]\n${body}`);
  const drSubsets = doc("DestinationRule", "mysql", "db", "  host: mysql.db.svc.cluster.local\n  subsets:\n  - {name: v1, labels: {version: v1}}\n  - {name: v2, labels: {version: v2}}");

  it("weighted tcp routes become weighted clusters (zero weights dropped) with the VirtualService's stat prefix", () => {
    const r = run(
      mysql + drSubsets + egress(3306, "db/*") +
        vs("  tcp:\n  - match: [{port: 3306}]\n    route:\n    - {destination: {host: mysql.db.svc.cluster.local, subset: v1}, weight: 80}\n    - {destination: {host: mysql.db.svc.cluster.local, subset: v2}, weight: 20}\n    - {destination: {host: mysql.db.svc.cluster.local, subset: v2}, weight: 0}"),
    );
    expect(r.messages).toEqual([]);
    expect(tcpOf(r.snapshot.listeners[0])).toEqual({
      statPrefix: "mysql-vs.db",
      weightedClusters: [
        { name: "outbound|3306|v1|mysql.db.svc.cluster.local", weight: 80 },
        { name: "outbound|3306|v2|mysql.db.svc.cluster.local", weight: 20 },
      ],
      idleTimeoutMs: 3_600_000,
      maxConnectAttempts: 1,
      istioStats: istioTcpStats("OUTBOUND"),
    });
  });

  it("the first rule whose match applies wins: match.port, sourceLabels; a single destination is a plain cluster", () => {
    const r = run(
      mysql + drSubsets + egress(3306, "db/*") +
        vs("  tcp:\n  - match: [{port: 9999}]\n    route: [{destination: {host: mysql.db.svc.cluster.local, subset: v1}}]\n  - match: [{sourceLabels: {app: other}}]\n    route: [{destination: {host: mysql.db.svc.cluster.local, subset: v1}}]\n  - match: [{port: 3306, sourceLabels: {app: web}}]\n    route: [{destination: {host: mysql.db.svc.cluster.local, subset: v2}}]"),
    );
    expect(r.messages).toEqual([]);
    expect(tcpOf(r.snapshot.listeners[0])).toMatchObject({ cluster: "outbound|3306|v2|mysql.db.svc.cluster.local", statPrefix: "outbound|3306|v2|mysql.db.svc.cluster.local" });
  });

  it("rules that need the original destination (destinationSubnets) are not applied, with a warning", () => {
    const r = run(mysql + drSubsets + egress(3306, "db/*") + vs("  tcp:\n  - match: [{destinationSubnets: [10.0.0.0/8]}]\n    route: [{destination: {host: mysql.db.svc.cluster.local, subset: v1}}]"));
    expect(tcpOf(r.snapshot.listeners[0]).cluster).toBe("outbound|3306||mysql.db.svc.cluster.local");
    expect(r.warningMessages.some((m) => m.includes("db/mysql-vs tcp[0] matches only by destinationSubnets"))).toBe(true);
  });

  it("tcp routes of an HTTP port are ignored (that port is served by HTTP routes)", () => {
    const r = run(redis + doc("Sidecar", "default", "shop", "  egress:\n  - port: {number: 9121, protocol: HTTP, name: http}\n    hosts: [db/*]") + doc("VirtualService", "r", "db", "  hosts: [redis.db.svc.cluster.local]\n  tcp:\n  - route: [{destination: {host: redis.db.svc.cluster.local, port: {number: 6379}}}]"));
    expect(r.messages).toEqual([]);
    const l = r.snapshot.listeners[0]!;
    expect(l.filterChains[0]!.filters[0]!.name).toBe("envoy.filters.network.http_connection_manager");
  });

  it("validates tcp rules as istiod does, every error with file:line and path", () => {
    const r = run(
      doc(
        "VirtualService",
        "bad",
        "db",
        [
          "  hosts: [mysql.db.svc.cluster.local]", // 7
          "  tcp:", // 8
          "  - match:", // 9
          "    - {port: 70000, destinationSubnets: [10.0.0.0/99], sourceLabels: {'-bad': x}}", // 10
          "    route: []", // 11
          "  - route:", // 12
          "    - {destination: {host: a}, weight: -1}", // 13
          "    - {destination: {host: b}, weight: 0}", // 14
          "  - route:", // 15
          "    - {weight: 10}", // 16
        ].join("\n"),
      ),
    );
    expect(r.messages).toEqual([
      "mesh/config.yaml:10: spec.tcp[0].match[0].destinationSubnets[0]: " + r.errors.find((e) => e.path.endsWith("destinationSubnets[0]"))!.message,
      "mesh/config.yaml:10: spec.tcp[0].match[0].port: port number 70000 must be in the range 1..65535",
      "mesh/config.yaml:10: spec.tcp[0].match[0].sourceLabels: " + r.errors.find((e) => e.path.endsWith("sourceLabels"))!.message,
      "mesh/config.yaml:11: spec.tcp[0].route: TCP route is required",
      "mesh/config.yaml:13: spec.tcp[1].route[0].weight: weight -1 < 0",
      "mesh/config.yaml:12: spec.tcp[1].route: total destination weight = 0",
      "mesh/config.yaml:16: spec.tcp[2].route[0].destination: destination is required",
      "mesh/config.yaml:16: spec.tcp[2].route[0].destination: " + r.errors.find((e) => e.path === "spec.tcp[2].route[0].destination" && e.message !== "destination is required")?.message,
    ].filter((m) => !m.endsWith("undefined")));
  });
});
