// Upstream TLS end to end: the proxy originates TLS/mTLS to real servers (openssl s_server and
// node:https), and a failed handshake is Envoy's 503 UF with the transport failure reason.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Cluster, Snapshot } from "../../src/config/model/types.js";
import { StatsStore } from "../../src/observability/stats/stats-store.js";
import { TLS_CERTIFICATE_VERIFY_FAILED } from "../../src/tls/tls-context.js";
import { TLS_WRONG_VERSION_NUMBER } from "../../src/tls/upstream-tls-failure.js";
import { issueLeaf, makeRootCa, pkiDir, type Ca, type Leaf } from "../helpers/pki.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { istioMutualContext, istioSecrets, startHttpsUpstream, startOpensslServer, tlsSocketConfig } from "../helpers/tls-upstreams.js";
import { startEchoUpstream, startRawUpstream } from "../helpers/upstreams.js";
import { ManualTimers } from "../helpers/manual-timers.js";
import { waitFor } from "../helpers/wait.js";

const CLIENT_SA = "spiffe://cluster.local/ns/default/sa/sleep";
const SERVER_SA = "spiffe://cluster.local/ns/shop/sa/reviews";
const SNI = "outbound_.9080_._.reviews.shop.svc.cluster.local";

let ca: Ca;
let otherCa: Ca;
let client: Leaf;
let server: Leaf;
let impostor: Leaf;
let wrongSa: Leaf;

beforeAll(() => {
  const dir = pkiDir();
  ca = makeRootCa(dir, "Mesh Root");
  otherCa = makeRootCa(dir, "Other Root");
  client = issueLeaf(ca, { spiffe: CLIENT_SA });
  server = issueLeaf(ca, { spiffe: SERVER_SA });
  impostor = issueLeaf(otherCa, { spiffe: SERVER_SA });
  wrongSa = issueLeaf(ca, { spiffe: "spiffe://cluster.local/ns/shop/sa/ratings" });
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function proxyTo(clusters: Cluster[], opts: { timers?: ManualTimers; secrets?: Snapshot["secrets"] } = {}): Promise<{ proxy: TestProxy; stats: StatsStore }> {
  const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: clusters[0]!.name } })] }], clusters);
  snap.secrets = opts.secrets ?? istioSecrets(client, ca);
  const stats = new StatsStore();
  const proxy = await startProxy(snap, { runtime: { stats }, ...(opts.timers !== undefined ? { timers: opts.timers, clock: opts.timers } : {}) });
  cleanups.push(() => proxy.close());
  applied.set(proxy, snap);
  return { proxy, stats };
}

/** The snapshot the proxy runs, to apply a changed copy of it. */
async function snapshotOf(proxy: TestProxy): Promise<Snapshot> {
  const snap = applied.get(proxy);
  if (snap === undefined) throw new Error("unknown proxy");
  return structuredClone(snap);
}
const applied = new Map<TestProxy, Snapshot>();

const counter = (stats: StatsStore, name: string): number => stats.counter(name).value;

describe("upstream TLS against openssl s_server", () => {
  it("ISTIO_MUTUAL: istio.alpn's ALPN as offered, the workload certificate presented, the server's SPIFFE SAN checked", async () => {
    const s = await startOpensslServer(["-cert", server.certFile, "-key", server.keyFile, "-CAfile", ca.certFile, "-Verify", "1", "-alpn", "istio-http/1.1,istio", "-www"]);
    cleanups.push(() => s.close());
    const { proxy, stats } = await proxyTo([cluster("reviews", [s.port], { transportSocket: tlsSocketConfig(istioMutualContext({ sni: SNI, san: SERVER_SA })) })]);
    const res = await fetch(proxy.url("/"));
    const body = await res.text();
    expect(res.status).toBe(200);
    // s_server's status page prints the client certificate it verified.
    expect(body).toContain(`URI:${CLIENT_SA}`);
    await s.printed("ALPN protocols advertised by the client");
    expect(s.output()).toContain("ALPN protocols advertised by the client: istio-http/1.1, istio, http/1.1");
    expect(s.output()).toContain("ALPN protocols selected: istio-http/1.1");
    expect(counter(stats, "cluster.reviews.ssl.handshake")).toBe(1);
    expect(counter(stats, "cluster.reviews.upstream_cx_connect_fail")).toBe(0);
    // Connection bytes count on TLS connections too.
    expect(counter(stats, "cluster.reviews.upstream_cx_tx_bytes_total")).toBeGreaterThan(0);
  });

  it("sends the context's SNI exactly (s_server -servername_fatal refuses any other name)", async () => {
    const s = await startOpensslServer(["-cert", server.certFile, "-key", server.keyFile, "-servername", SNI, "-cert2", server.certFile, "-key2", server.keyFile, "-servername_fatal", "-www"]);
    cleanups.push(() => s.close());
    const { proxy } = await proxyTo([cluster("reviews", [s.port], { transportSocket: tlsSocketConfig(istioMutualContext({ sni: SNI, san: SERVER_SA })) })]);
    const res = await fetch(proxy.url("/"));
    expect(res.status).toBe(200);
    await res.text();
    expect(s.output()).toContain(`Hostname in TLS extension: "${SNI}"`);
  });

  it("sends no SNI when the context sets none", async () => {
    const s = await startOpensslServer(["-cert", server.certFile, "-key", server.keyFile, "-servername", "any.name", "-cert2", server.certFile, "-key2", server.keyFile, "-www"]);
    cleanups.push(() => s.close());
    const { proxy } = await proxyTo([cluster("no-sni", [s.port], { transportSocket: tlsSocketConfig(istioMutualContext({ san: SERVER_SA })) })]);
    const res = await fetch(proxy.url("/"));
    expect(res.status).toBe(200);
    await res.text();
    expect(s.output()).not.toContain("Hostname in TLS extension");
  });

  it("offers the context's own ALPN when it is not Istio's", async () => {
    const s = await startOpensslServer(["-cert", server.certFile, "-key", server.keyFile, "-alpn", "http/1.1", "-www"]);
    cleanups.push(() => s.close());
    const { proxy } = await proxyTo([cluster("own-alpn", [s.port], { transportSocket: tlsSocketConfig(istioMutualContext({ san: SERVER_SA, alpn: ["h2", "http/1.1"] })) })]);
    const res = await fetch(proxy.url("/"));
    expect(res.status).toBe(200);
    await res.text();
    await s.printed("ALPN protocols advertised by the client");
    expect(s.output()).toContain("ALPN protocols advertised by the client: h2, http/1.1");
  });

  it("resumes the TLS session on the next connection (ssl.session_reused, s_server sees a reused session)", async () => {
    const s = await startOpensslServer(["-cert", server.certFile, "-key", server.keyFile, "-www"]);
    cleanups.push(() => s.close());
    const { proxy, stats } = await proxyTo([cluster("reviews", [s.port], { transportSocket: tlsSocketConfig(istioMutualContext({ sni: SNI, san: SERVER_SA })) })]);
    // s_server -www closes after each answer: every request is a new connection.
    for (let i = 0; i < 2; i++) {
      const res = await fetch(proxy.url("/"));
      const body = await res.text();
      expect(res.status, body).toBe(200);
      if (i === 1) expect(body).toContain("Reused, TLSv1.3");
    }
    expect(counter(stats, "cluster.reviews.ssl.handshake")).toBe(2);
    expect(counter(stats, "cluster.reviews.ssl.session_reused")).toBe(1);
  });

  it("keeps resuming across a snapshot that rebuilds the cluster with the same TLS context", async () => {
    const s = await startOpensslServer(["-cert", server.certFile, "-key", server.keyFile, "-www"]);
    cleanups.push(() => s.close());
    const tls = tlsSocketConfig(istioMutualContext({ sni: SNI, san: SERVER_SA }));
    const { proxy, stats } = await proxyTo([cluster("reviews", [s.port], { transportSocket: tls })]);
    expect((await (await fetch(proxy.url("/"))).text())).toContain("New, TLSv1.3");
    const next = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "reviews" } })] }], [cluster("reviews", [s.port], { transportSocket: tls, connectTimeoutMs: 2_000 })]);
    next.listeners = (await snapshotOf(proxy)).listeners;
    next.version = "test/2";
    next.secrets = istioSecrets(client, ca);
    const r = await proxy.runtime.apply(next);
    expect(r.ok).toBe(true);
    expect((await (await fetch(proxy.url("/"))).text())).toContain("Reused, TLSv1.3");
    expect(counter(stats, "cluster.reviews.ssl.session_reused")).toBe(1);
  });

  it("a rotated workload certificate makes new connections present it (new pool key, no resumption of the old session)", async () => {
    const s = await startOpensslServer(["-cert", server.certFile, "-key", server.keyFile, "-CAfile", ca.certFile, "-Verify", "1", "-www"]);
    cleanups.push(() => s.close());
    const tls = tlsSocketConfig(istioMutualContext({ sni: SNI, san: SERVER_SA }));
    const { proxy } = await proxyTo([cluster("reviews", [s.port], { transportSocket: tls })]);
    const first = await (await fetch(proxy.url("/"))).text();
    expect(first).toContain(`URI:${CLIENT_SA}`);
    const rotated = issueLeaf(ca, { spiffe: "spiffe://cluster.local/ns/default/sa/sleep-rotated" });
    const next = await snapshotOf(proxy);
    next.version = "test/rotated";
    next.secrets = istioSecrets(rotated, ca);
    expect((await proxy.runtime.apply(next)).ok).toBe(true);
    const second = await (await fetch(proxy.url("/"))).text();
    expect(second).toContain("New, TLSv1.3");
    expect(second).toContain("URI:spiffe://cluster.local/ns/default/sa/sleep-rotated");
  });

  it("a fatal alert from the server (unrecognized_name for a wrong SNI) is 503 UF with BoringSSL's alert reason", async () => {
    const s = await startOpensslServer(["-cert", server.certFile, "-key", server.keyFile, "-servername", "only.this.name", "-cert2", server.certFile, "-key2", server.keyFile, "-servername_fatal", "-www"]);
    cleanups.push(() => s.close());
    const { proxy, stats } = await proxyTo([cluster("reviews", [s.port], { transportSocket: tlsSocketConfig(istioMutualContext({ sni: SNI, san: SERVER_SA })) })]);
    const res = await fetch(proxy.url("/"));
    const reason = "TLS_error:|268436568:SSL routines:OPENSSL_internal:TLSV1_ALERT_UNRECOGNIZED_NAME:TLS_error_end";
    expect(res.status).toBe(503);
    expect(await res.text()).toBe(`upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: ${reason}`);
    const si = await waitFor(() => proxy.streams[0]);
    expect(si.upstreamTransportFailureReason).toBe(reason);
    expect(counter(stats, "cluster.reviews.ssl.connection_error")).toBe(1);
    expect(counter(stats, "cluster.reviews.upstream_cx_connect_fail")).toBe(1);
  });
});

describe("server verification: nothing of the request reaches a refused server", () => {
  it("a server certificate from another CA: 503 UF, CERTIFICATE_VERIFY_FAILED, Envoy's details, no request byte at the server", async () => {
    const up = await startHttpsUpstream(impostor);
    cleanups.push(() => up.close());
    const { proxy, stats } = await proxyTo([cluster("reviews", [up.port], { transportSocket: tlsSocketConfig(istioMutualContext({ sni: SNI, san: SERVER_SA })) })]);
    const res = await fetch(proxy.url("/secret"), { method: "POST", body: "password=hunter2" });
    expect(res.status).toBe(503);
    expect(await res.text()).toBe(`upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: ${TLS_CERTIFICATE_VERIFY_FAILED}`);
    const si = await waitFor(() => proxy.streams[0]);
    expect(si.responseFlags).toContain("UF");
    // Envoy's details replace spaces with underscores.
    expect(si.responseCodeDetails).toBe(`upstream_reset_before_response_started{connection_failure,${TLS_CERTIFICATE_VERIFY_FAILED.replaceAll(" ", "_")}}`);
    expect(si.upstreamTransportFailureReason).toBe(TLS_CERTIFICATE_VERIFY_FAILED);
    // The server's side of the connection is gone, and it never read a byte of the request.
    await waitFor(() => up.tcpOpened() === 1 && up.tcpClosed() === 1);
    expect(up.received()).toBe(0);
    expect(up.requests()).toBe(0);
    expect(counter(stats, "cluster.reviews.ssl.fail_verify_error")).toBe(1);
    expect(counter(stats, "cluster.reviews.upstream_cx_connect_fail")).toBe(1);
  });

  it("retried on connect-failure: the answer says so, each attempt failed verification", async () => {
    const up = await startHttpsUpstream(impostor);
    cleanups.push(() => up.close());
    const c = cluster("reviews", [up.port], { transportSocket: tlsSocketConfig(istioMutualContext({ sni: SNI, san: SERVER_SA })) });
    const snap = await snapshotWith(
      [{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "reviews", retryPolicy: { retryOn: ["connect-failure"], numRetries: 1, retriableStatusCodes: [], retriableHeaders: [], retryHostPredicatePreviousHosts: false, hostSelectionRetryMaxAttempts: 1, backoffBaseMs: 1, backoffMaxMs: 2 } } })] }],
      [c],
    );
    snap.secrets = istioSecrets(client, ca);
    const stats = new StatsStore();
    const proxy = await startProxy(snap, { runtime: { stats } });
    cleanups.push(() => proxy.close());
    const res = await fetch(proxy.url("/"));
    expect(res.status).toBe(503);
    expect(await res.text()).toBe(`upstream connect error or disconnect/reset before headers. retried and the latest reset reason: connection failure, transport failure reason: ${TLS_CERTIFICATE_VERIFY_FAILED}`);
    expect(counter(stats, "cluster.reviews.ssl.fail_verify_error")).toBe(2);
    expect(counter(stats, "cluster.reviews.upstream_cx_connect_fail")).toBe(2);
    expect(up.requests()).toBe(0);
  });

  it("a server of the mesh with another identity: 503 UF (SAN mismatch), ssl.fail_verify_san, no request byte", async () => {
    const up = await startHttpsUpstream(wrongSa);
    cleanups.push(() => up.close());
    const { proxy, stats } = await proxyTo([cluster("reviews", [up.port], { transportSocket: tlsSocketConfig(istioMutualContext({ sni: SNI, san: SERVER_SA })) })]);
    const res = await fetch(proxy.url("/"));
    expect(res.status).toBe(503);
    expect(await res.text()).toContain(`transport failure reason: ${TLS_CERTIFICATE_VERIFY_FAILED}`);
    expect(counter(stats, "cluster.reviews.ssl.fail_verify_san")).toBe(1);
    await waitFor(() => up.tcpOpened() === 1 && up.tcpClosed() === 1);
    expect(up.received()).toBe(0);
    expect(up.requests()).toBe(0);
  });

  it("ACCEPT_UNTRUSTED (insecureSkipVerify) accepts a server from another CA", async () => {
    const up = await startHttpsUpstream(impostor);
    cleanups.push(() => up.close());
    const { proxy } = await proxyTo([cluster("reviews", [up.port], { transportSocket: tlsSocketConfig(istioMutualContext({ sni: SNI, acceptUntrusted: true })) })]);
    const res = await fetch(proxy.url("/"));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("hello over tls");
  });

  it("no validation context: the server is not checked (SIMPLE without a CA)", async () => {
    const up = await startHttpsUpstream(impostor);
    cleanups.push(() => up.close());
    const { proxy } = await proxyTo([cluster("simple", [up.port], { transportSocket: tlsSocketConfig({ commonTlsContext: {} }) })], { secrets: {} });
    const res = await fetch(proxy.url("/"));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("hello over tls");
  });

  it("a validation context without a trusted CA checks the SANs only (Envoy: the chain is not verified then)", async () => {
    const up = await startHttpsUpstream(impostor);
    const other = await startHttpsUpstream(wrongSa);
    cleanups.push(() => up.close(), () => other.close());
    const ctx = { commonTlsContext: { validationContext: { matchTypedSubjectAltNames: [{ sanType: "URI" as const, matcher: { exact: SERVER_SA } }] } } };
    const { proxy } = await proxyTo([cluster("san-only", [up.port], { transportSocket: tlsSocketConfig(ctx) })], { secrets: {} });
    const res = await fetch(proxy.url("/"));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("hello over tls");
    const wrong = await proxyTo([cluster("san-only", [other.port], { transportSocket: tlsSocketConfig(ctx) })], { secrets: {} });
    const refused = await fetch(wrong.proxy.url("/"));
    expect(refused.status).toBe(503);
    expect(await refused.text()).toContain(TLS_CERTIFICATE_VERIFY_FAILED);
    expect(counter(wrong.stats, "cluster.san-only.ssl.fail_verify_san")).toBe(1);
  });

  it("MUTUAL with file certificates presents that certificate", async () => {
    const up = await startHttpsUpstream(server, { ca: ca.rootPem, requestCert: true, alpn: ["http/1.1"] });
    cleanups.push(() => up.close());
    const ctx = {
      commonTlsContext: {
        tlsCertificates: [{ certificateChain: { filename: client.certFile }, privateKey: { filename: client.keyFile } }],
        validationContext: { trustedCa: { filename: ca.certFile }, matchTypedSubjectAltNames: [{ sanType: "URI" as const, matcher: { prefix: "spiffe://cluster.local/ns/shop/" } }] },
        alpnProtocols: ["http/1.1"],
      },
    };
    const { proxy } = await proxyTo([cluster("mutual", [up.port], { transportSocket: tlsSocketConfig(ctx) })], { secrets: {} });
    const res = await fetch(proxy.url("/"));
    expect(res.status).toBe(200);
    await res.text();
    expect(up.peerCerts).toEqual([`URI:${CLIENT_SA}`]);
    expect(up.alpn).toEqual(["http/1.1"]);
  });
});

describe("handshake failures and timeouts", () => {
  it("a plaintext server answering a ClientHello: WRONG_VERSION_NUMBER", async () => {
    const up = await startEchoUpstream("plain");
    cleanups.push(() => up.close());
    const { proxy } = await proxyTo([cluster("reviews", [up.port], { transportSocket: tlsSocketConfig(istioMutualContext({ sni: SNI, san: SERVER_SA })) })]);
    const res = await fetch(proxy.url("/"));
    expect(res.status).toBe(503);
    expect(await res.text()).toContain(`transport failure reason: ${TLS_WRONG_VERSION_NUMBER}`);
  });

  it("a server that closes during the handshake: 503 UF with no transport failure reason (BoringSSL's empty queue)", async () => {
    const up = await startRawUpstream((s) => s.once("data", () => s.end()));
    cleanups.push(() => up.close());
    const { proxy, stats } = await proxyTo([cluster("reviews", [up.port], { transportSocket: tlsSocketConfig(istioMutualContext({ sni: SNI, san: SERVER_SA })) })]);
    const res = await fetch(proxy.url("/"));
    expect(res.status).toBe(503);
    expect(await res.text()).toBe("upstream connect error or disconnect/reset before headers. reset reason: connection failure");
    const si = await waitFor(() => proxy.streams[0]);
    expect(si.responseCodeDetails).toBe("upstream_reset_before_response_started{connection_failure}");
    expect(si.upstreamTransportFailureReason).toBeUndefined();
    expect(counter(stats, "cluster.reviews.ssl.connection_error")).toBe(0);
  });

  it("a stalled handshake is cut by the cluster's connect timeout (injected clock)", async () => {
    let helloSeen = false;
    let upstreamClosed = false;
    const up = await startRawUpstream((s) => {
      s.once("data", () => (helloSeen = true));
      s.once("close", () => (upstreamClosed = true));
    });
    cleanups.push(() => up.close());
    const timers = new ManualTimers();
    const { proxy, stats } = await proxyTo([cluster("reviews", [up.port], { connectTimeoutMs: 250, transportSocket: tlsSocketConfig(istioMutualContext({ sni: SNI, san: SERVER_SA })) })], { timers });
    const pending = fetch(proxy.url("/"));
    // TCP connected and the ClientHello sent: the connect timeout is still armed.
    await waitFor(() => helloSeen);
    expect(timers.waiting()).toContain(250);
    timers.advance(250);
    const res = await pending;
    expect(res.status).toBe(503);
    expect(await res.text()).toBe("upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: connection timeout");
    expect(counter(stats, "cluster.reviews.upstream_cx_connect_timeout")).toBe(1);
    // The half-done TLS connection is closed, not left behind.
    await waitFor(() => upstreamClosed);
  });
});

describe("pools and transport socket matches", () => {
  it("auto mTLS: a tlsMode=istio endpoint gets mTLS, a plain one plaintext, in one cluster", async () => {
    const tlsUp = await startHttpsUpstream(server, { ca: ca.rootPem, requestCert: true });
    const plain = await startEchoUpstream("plain");
    cleanups.push(() => tlsUp.close(), () => plain.close());
    const c = cluster("reviews", [tlsUp.port, plain.port], {
      transportSocketMatches: [
        { name: "tlsMode-istio", match: { tlsMode: "istio" }, transportSocket: tlsSocketConfig(istioMutualContext({ sni: SNI, san: SERVER_SA })) },
        { name: "tlsMode-disabled", match: {}, transportSocket: { name: "envoy.transport_sockets.raw_buffer" } },
      ],
    });
    c.loadAssignment.endpoints[0]!.lbEndpoints[0]!.labels = { tlsMode: "istio", app: "reviews" };
    const { proxy, stats } = await proxyTo([c]);
    const bodies: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(proxy.url("/"));
      expect(res.status).toBe(200);
      bodies.push(await res.text());
    }
    expect(bodies.filter((b) => b === "hello over tls").length).toBe(2);
    expect(bodies.filter((b) => b.includes('"name":"plain"')).length).toBe(2);
    expect(tlsUp.peerCerts[0]).toBe(`URI:${CLIENT_SA}`);
    // Keep-alive reuse on the TLS host: one handshake for two requests.
    expect(counter(stats, "cluster.reviews.ssl.handshake")).toBe(1);
  });

  it("a plaintext and an mTLS cluster to the same address never share a connection", async () => {
    const tlsUp = await startHttpsUpstream(server);
    cleanups.push(() => tlsUp.close());
    const tlsCluster = cluster("a-tls", [tlsUp.port], { transportSocket: tlsSocketConfig(istioMutualContext({ sni: SNI, san: SERVER_SA })) });
    const plainCluster = cluster("b-plain", [tlsUp.port]);
    const snap = await snapshotWith(
      [{ name: "vh", domains: ["*"], routes: [route("p", { route: { cluster: "b-plain" } }, { prefix: "/plain" }), route("t", { route: { cluster: "a-tls" } })] }],
      [tlsCluster, plainCluster],
    );
    snap.secrets = istioSecrets(client, ca);
    const proxy = await startProxy(snap);
    cleanups.push(() => proxy.close());
    expect((await fetch(proxy.url("/tls"))).status).toBe(200);
    // The plaintext cluster dials its own connection (the TLS server refuses plaintext: 503), not the TLS one.
    const res = await fetch(proxy.url("/plain"));
    expect(res.status).toBe(503);
    expect((await fetch(proxy.url("/tls"))).status).toBe(200);
  });
});
