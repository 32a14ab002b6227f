// The upstream protocol per request (UpstreamHost.httpPool), fixed per snapshot from the cluster's
// httpProtocolOptions: explicit HTTP/2, the downstream's protocol, or HTTP/1.1; upgrades always
// HTTP/1.1. HTTP/2 pools are per host × http2 × transport socket, kept across snapshots while the
// endpoint stays, closed when no cluster uses them.

import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../src/common/logger.js";
import { seededRandom } from "../../../src/common/random.js";
import type { Cluster, HttpProtocolOptions } from "../../../src/config/model/types.js";
import { HeaderList } from "../../../src/http/header-list.js";
import type { HttpProtocol, RequestHeaders } from "../../../src/http/http-message.js";
import { ClusterManager, upstreamProtocolOf } from "../../../src/upstream/cluster-manager.js";
import { FakeClock } from "./shared/helpers.js";

function cluster(name: string, opts: HttpProtocolOptions | undefined, ip = "10.0.0.1"): Cluster {
  return {
    name,
    type: "STATIC",
    lbPolicy: "ROUND_ROBIN",
    connectTimeoutMs: 1000,
    loadAssignment: { endpoints: [{ locality: {}, priority: 0, lbEndpoints: [{ address: ip, port: 80, weight: 1, labels: {}, healthStatus: "HEALTHY" }] }] },
    ...(opts !== undefined ? { httpProtocolOptions: opts } : {}),
  };
}

function req(protocol: HttpProtocol, upgrade = false): RequestHeaders {
  return { method: "GET", path: "/", authority: "svc", scheme: "http", protocol, headers: new HeaderList(), upgrade };
}

let cm: ClusterManager | undefined;
afterEach(() => cm?.close());

function manager(): ClusterManager {
  cm = new ClusterManager(seededRandom(1), createLogger("off"), 0, new FakeClock());
  return cm;
}

describe("upstream protocol choice", () => {
  it("reads the cluster's options as Envoy does", () => {
    expect(upstreamProtocolOf(cluster("a", undefined))).toBe("http1");
    expect(upstreamProtocolOf(cluster("a", { explicitHttpConfig: { httpProtocolOptions: {} } }))).toBe("http1");
    expect(upstreamProtocolOf(cluster("a", { explicitHttpConfig: { http2ProtocolOptions: {} } }))).toBe("http2");
    expect(upstreamProtocolOf(cluster("a", { useDownstreamProtocolConfig: { httpProtocolOptions: {}, http2ProtocolOptions: {} } }))).toBe("downstream");
    // Envoy: with use_downstream_protocol_config an HTTP/2 request goes upstream as HTTP/2 whichever option is set.
    expect(upstreamProtocolOf(cluster("a", { useDownstreamProtocolConfig: { httpProtocolOptions: {} } }))).toBe("downstream");
    expect(upstreamProtocolOf(cluster("a", { commonHttpProtocolOptions: { idleTimeoutMs: 5 } }))).toBe("http1");
  });

  it("explicit HTTP/2: every request on the HTTP/2 pool except upgrades", () => {
    const m = manager();
    m.update({ a: cluster("a", { explicitHttpConfig: { http2ProtocolOptions: {} } }) });
    const h = m.get("a")!.hosts[0]!;
    expect(h.httpPool(req("HTTP/1.1")).protocol).toBe("http2");
    expect(h.httpPool(req("HTTP/2")).protocol).toBe("http2");
    expect(h.httpPool(req("HTTP/1.1", true))).toBe(h.pool);
    expect(h.httpPool(req("HTTP/1.1", true)).protocol).toBe("http1");
  });

  it("the downstream's protocol: HTTP/2 for an HTTP/2 request, HTTP/1.1 for HTTP/1.x", () => {
    const m = manager();
    m.update({ a: cluster("a", { useDownstreamProtocolConfig: { httpProtocolOptions: {}, http2ProtocolOptions: {} } }) });
    const h = m.get("a")!.hosts[0]!;
    expect(h.httpPool(req("HTTP/2")).protocol).toBe("http2");
    expect(h.httpPool(req("HTTP/1.1")).protocol).toBe("http1");
    expect(h.httpPool(req("HTTP/1.0")).protocol).toBe("http1");
    expect(h.httpPool(req("HTTP/2", true)).protocol).toBe("http1");
  });

  it("HTTP/1.1 clusters have no HTTP/2 pool", () => {
    const m = manager();
    m.update({ a: cluster("a", undefined) });
    const h = m.get("a")!.hosts[0]!;
    expect(h.http2Pool).toBeUndefined();
    expect(h.httpPool(req("HTTP/2"))).toBe(h.pool);
  });

  it("keeps a host's HTTP/2 pool across snapshots and shares it per endpoint; drops it when unused", () => {
    const m = manager();
    const h2 = { explicitHttpConfig: { http2ProtocolOptions: {} } };
    m.update({ a: cluster("a", h2), b: cluster("b", h2) });
    const pa = m.get("a")!.hosts[0]!.http2Pool!;
    // Unlimited clusters with the same endpoint share pools (as HTTP/1 pools do).
    expect(m.get("b")!.hosts[0]!.http2Pool).toBe(pa);
    // A changed cluster keeps the endpoint's pool, with the new options.
    m.update({ a: cluster("a", { explicitHttpConfig: { http2ProtocolOptions: { maxConcurrentStreams: 7 } } }), b: cluster("b", h2) });
    expect(m.get("a")!.hosts[0]!.http2Pool).toBe(pa);
    // The HTTP/1 and HTTP/2 pools of one endpoint are different pools.
    expect(m.get("a")!.hosts[0]!.pool).not.toBe(pa);
    // No cluster speaks HTTP/2 to the endpoint any more: the pool is closed (new streams are refused).
    m.update({ a: cluster("a", undefined) });
    let failed = "";
    pa.newStream(
      { onUpstreamHeaders() {}, onUpstreamData() {}, onUpstreamTrailers() {}, onUpstreamReset() {}, onUpstreamWritable() {} },
      { onPoolReady: () => (failed = "ready"), onPoolFailure: (e) => (failed = e.detail ?? "") },
    );
    expect(failed).toBe("overflow");
  });

  it("ORIGINAL_DST (PassthroughCluster) hosts follow the cluster's protocol too", () => {
    const m = manager();
    const c: Cluster = {
      name: "PassthroughCluster",
      type: "ORIGINAL_DST",
      lbPolicy: "CLUSTER_PROVIDED",
      connectTimeoutMs: 1000,
      loadAssignment: { endpoints: [] },
      httpProtocolOptions: { useDownstreamProtocolConfig: { httpProtocolOptions: {}, http2ProtocolOptions: {} } },
    };
    m.update({ PassthroughCluster: c });
    const h = m.get("PassthroughCluster")!.chooseHost({ originalDst: { ip: "10.1.2.3", port: 8080 } } as never)!;
    expect(h.httpPool(req("HTTP/2")).protocol).toBe("http2");
    expect(h.httpPool(req("HTTP/1.1")).protocol).toBe("http1");
  });
});
