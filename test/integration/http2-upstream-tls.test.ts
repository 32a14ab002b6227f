// HTTP/2 upstream over TLS to a real node:http2 secure server: a plain TLS context (DestinationRule
// SIMPLE, no ALPN configured) offers `h2` as Envoy's HTTP/2 pool does; an Istio mTLS context offers
// istio.alpn's `istio-h2, istio, h2`; the stream's TLS facts reach the access log; a server that
// refuses h2 is a connect failure.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { request as httpRequest } from "node:http";
import type { Cluster } from "../../src/config/model/types.js";
import { StatsStore } from "../../src/observability/stats/stats-store.js";
import { issueLeaf, makeRootCa, pkiDir, type Ca, type Leaf } from "../helpers/pki.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { istioMutualContext, istioSecrets, tlsSocketConfig } from "../helpers/tls-upstreams.js";
import { startH2Upstream } from "../helpers/h2-upstreams.js";

const CLIENT_SA = "spiffe://cluster.local/ns/default/sa/sleep";
const SERVER_SA = "spiffe://cluster.local/ns/shop/sa/reviews";

let ca: Ca;
let client: Leaf;
let server: Leaf;
beforeAll(() => {
  const dir = pkiDir();
  ca = makeRootCa(dir, "Mesh Root");
  client = issueLeaf(ca, { spiffe: CLIENT_SA });
  server = issueLeaf(ca, { spiffe: SERVER_SA });
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const H2: Partial<Cluster> = { httpProtocolOptions: { explicitHttpConfig: { http2ProtocolOptions: {} } } };

async function proxyTo(c: Cluster): Promise<{ proxy: TestProxy; stats: StatsStore }> {
  const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: c.name } })] }], [c]);
  snap.secrets = istioSecrets(client, ca);
  const stats = new StatsStore();
  const proxy = await startProxy(snap, { runtime: { stats } });
  cleanups.push(() => proxy.close());
  return { proxy, stats };
}

function get(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path: "/x", agent: false, headers: { host: "reviews" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("HTTP/2 upstream over TLS", () => {
  it("plain TLS without configured ALPN offers h2 (Envoy's HTTP/2 pool fallback) and speaks HTTP/2", async () => {
    const up = await startH2Upstream(undefined, { tls: { certPem: server.certPem, keyPem: server.keyPem } });
    cleanups.push(() => up.close());
    const { proxy, stats } = await proxyTo(cluster("simple", [up.port], { ...H2, transportSocket: tlsSocketConfig({ commonTlsContext: {} }) }));
    const r = await get(proxy.port);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ path: "/x", scheme: "http", authority: "reviews" });
    expect(up.alpnOffered).toEqual([["h2"]]);
    expect(stats.snapshot().counters["cluster.simple.ssl.handshake"]).toBe(1);
    expect(stats.snapshot().counters["cluster.simple.upstream_cx_http2_total"]).toBe(1);
    expect(proxy.streams[0]!.upstreamTls).toBeDefined();
  });

  it("Istio mTLS offers istio.alpn's istio-h2, istio, h2 on HTTP/2 connections, verifies the server's SAN, and reuses the connection", async () => {
    const up = await startH2Upstream(undefined, { tls: { certPem: server.certPem, keyPem: server.keyPem } });
    cleanups.push(() => up.close());
    const { proxy } = await proxyTo(cluster("mutual", [up.port], { ...H2, transportSocket: tlsSocketConfig(istioMutualContext({ san: SERVER_SA })) }));
    expect((await get(proxy.port)).status).toBe(200);
    expect((await get(proxy.port)).status).toBe(200);
    expect(up.alpnOffered).toEqual([["istio-h2", "istio", "h2"]]);
    expect(up.sessions).toHaveLength(1);
  });

  it("a server certificate whose SAN does not match is 503 UF (CERTIFICATE_VERIFY_FAILED), as for HTTP/1", async () => {
    const up = await startH2Upstream(undefined, { tls: { certPem: server.certPem, keyPem: server.keyPem } });
    cleanups.push(() => up.close());
    const { proxy } = await proxyTo(cluster("mutual", [up.port], { ...H2, transportSocket: tlsSocketConfig(istioMutualContext({ san: "spiffe://cluster.local/ns/shop/sa/other" })) }));
    const r = await get(proxy.port);
    expect(r.status).toBe(503);
    expect(r.body).toContain("CERTIFICATE_VERIFY_FAILED");
    expect(proxy.streams[0]!.responseFlags).toContain("UF");
    expect(up.requests).toHaveLength(0);
  });
});
