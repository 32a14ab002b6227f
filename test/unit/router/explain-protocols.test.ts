// `outrigger explain` and `outrigger validate` say which protocol each cluster speaks upstream and
// why (port protocol, DestinationRule, MeshConfig, detection), and the gRPC timeout rule of the
// route taken (istiod's max_grpc_timeout on sidecar routes, max_stream_duration on inbound ones).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { explainRequest, type Explanation } from "../../../src/router/explain.js";
import type { Snapshot } from "../../../src/config/model/types.js";
import { httpListener } from "../../../src/config/model/listener-defaults.js";
import { harness } from "../cli/cli-harness.js";

const CONFIG = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: shop}
spec:
  hosts: [api.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 7070, name: grpc, protocol: GRPC}
  - {number: 8080, name: http, protocol: HTTP}
  - {number: 8081, name: sniffed}
  - {number: 8082, name: plain, protocol: HTTP}
  endpoints: [{address: 10.0.0.9}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api, namespace: shop}
spec:
  hosts: [api.shop.svc.cluster.local]
  http:
  - timeout: 2s
    route: [{destination: {host: api.shop.svc.cluster.local}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api, namespace: shop}
spec:
  host: api.shop.svc.cluster.local
  trafficPolicy:
    portLevelSettings:
    - port: {number: 8080}
      connectionPool: {http: {h2UpgradePolicy: UPGRADE, maxConcurrentStreams: 50}}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: shop}
spec:
  ingress:
  - port: {number: 9000, protocol: GRPC, name: grpc}
    defaultEndpoint: 127.0.0.1:19000
`;

function configDir(): string {
  const d = mkdtempSync(join(tmpdir(), "outrigger-explain-h2-"));
  writeFileSync(join(d, "api.yaml"), CONFIG);
  return d;
}

async function explainJson(args: string[]): Promise<Explanation> {
  const r = await harness().run(["explain", "--config", configDir(), "--namespace", "shop", "--format", "json", ...args]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Explanation;
}

describe("explain: upstream protocol and gRPC timeouts", () => {
  it("each cluster's upstream protocol with the reason the translation had", async () => {
    const cases: Array<[number, string]> = [
      [7070, "HTTP/2 (port protocol GRPC)"],
      [8080, "HTTP/2, max concurrent streams 50 (DestinationRule h2UpgradePolicy UPGRADE)"],
      [8081, "downstream's protocol (port protocol unset: detected)"],
      [8082, "HTTP/1.1 (port protocol HTTP)"],
    ];
    for (const [port, text] of cases) {
      const x = await explainJson(["--authority", `api.shop.svc.cluster.local:${port}`, "--port", "15001"]);
      expect(x.clusters.map((c) => [c.name, c.upstreamProtocol])).toEqual([[`outbound|${port}||api.shop.svc.cluster.local`, text]]);
    }
  });

  it("the text form: an `upstream protocol` line per cluster and the route's gRPC timeout rule (max_grpc_timeout = the VirtualService timeout)", async () => {
    const r = await harness().run(["explain", "--config", configDir(), "--namespace", "shop", "--authority", "api.shop.svc.cluster.local:7070", "--port", "15001"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("    upstream protocol HTTP/2 (port protocol GRPC)\n");
    expect(r.stdout).toContain("  grpc timeout      gRPC requests: grpc-timeout replaces the route timeout, capped at 2s; without the header 2s (max_grpc_timeout)\n");
  });

  it("inbound: the app's gRPC port is reached over HTTP/2; the route bounds streams by grpc-timeout, uncapped (max_stream_duration)", async () => {
    const x = await explainJson(["--authority", "anything", "--port", "9000"]);
    expect(x.clusters.map((c) => c.upstreamProtocol)).toEqual(["HTTP/2 (port protocol GRPC)"]);
    expect(x.action?.grpcTimeout).toBe("gRPC requests: grpc-timeout bounds the stream, uncapped, the route timeout still applies (max_stream_duration.grpc_timeout_header_max)");
    expect(x.action?.retries).toBeUndefined();
  });

  it("validate lists the clusters that do not speak HTTP/1.1 upstream", async () => {
    const r = await harness().run(["validate", "--config", configDir(), "--namespace", "shop"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split("\n").filter((l) => l.startsWith("cluster "));
    expect(lines).toEqual([
      "cluster inbound|9000|| upstream protocol: HTTP/2 (port protocol GRPC)",
      "cluster outbound|7070||api.shop.svc.cluster.local upstream protocol: HTTP/2 (port protocol GRPC)",
      "cluster outbound|8080||api.shop.svc.cluster.local upstream protocol: HTTP/2, max concurrent streams 50 (DestinationRule h2UpgradePolicy UPGRADE)",
      "cluster outbound|8081||api.shop.svc.cluster.local upstream protocol: downstream's protocol (port protocol unset: detected)",
    ]);
  });

  it("without the translation's reasons (Envoy resources, /explain): the protocol options alone, and max_stream_duration's own bound", () => {
    const l = httpListener({ address: "127.0.0.1", port: 8000, direction: "OUTBOUND", routeConfigName: "rc" });
    const route = (cluster: string, extra: object) => ({ name: cluster, match: { prefix: `/${cluster}`, caseSensitive: true, headers: [], queryParameters: [] }, route: { cluster, timeoutMs: 0, ...extra }, requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] });
    const cluster = (name: string, httpProtocolOptions?: object) => ({ name, type: "STATIC" as const, lbPolicy: "ROUND_ROBIN" as const, connectTimeoutMs: 1000, loadAssignment: { endpoints: [] }, ...(httpProtocolOptions ? { httpProtocolOptions } : {}) });
    const s: Snapshot = {
      version: "t",
      listeners: [l],
      routeConfigs: {
        rc: {
          name: "rc",
          virtualHosts: [{ name: "vh", domains: ["*"], routes: [
            route("h2", { maxStreamDuration: { maxStreamDurationMs: 30_000, grpcTimeoutHeaderMaxMs: 5000, grpcTimeoutHeaderOffsetMs: 100 } }),
            route("down", { maxGrpcTimeoutMs: 0 }),
            route("h1", {}),
          ] }],
        },
      },
      clusters: {
        h2: cluster("h2", { explicitHttpConfig: { http2ProtocolOptions: { maxConcurrentStreams: 7 } } }),
        down: cluster("down", { useDownstreamProtocolConfig: { httpProtocolOptions: {}, http2ProtocolOptions: {} } }),
        h1: cluster("h1"),
      },
    };
    const h2 = explainRequest(s, { authority: "x", path: "/h2", port: 8000 });
    expect(h2.clusters[0]!.upstreamProtocol).toBe("HTTP/2 (explicit_http_config), max concurrent streams 7");
    expect(h2.action).toMatchObject({ maxStreamDurationMs: 30_000, grpcTimeout: "gRPC requests: grpc-timeout bounds the stream, capped at 5s, less 100ms, the route timeout still applies (max_stream_duration.grpc_timeout_header_max)" });
    const down = explainRequest(s, { authority: "x", path: "/down", port: 8000 });
    expect(down.clusters[0]!.upstreamProtocol).toBe("downstream's protocol (use_downstream_protocol_config)");
    expect(down.action?.grpcTimeout).toBe("gRPC requests: grpc-timeout replaces the route timeout, uncapped; without the header no timeout (max_grpc_timeout)");
    const h1 = explainRequest(s, { authority: "x", path: "/h1", port: 8000 });
    expect(h1.clusters[0]!.upstreamProtocol).toBe("HTTP/1.1");
    expect(h1.action?.grpcTimeout).toBeUndefined();
  });
});
