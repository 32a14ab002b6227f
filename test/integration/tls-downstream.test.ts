// Downstream TLS on a filter chain, against real clients (openssl s_client, curl): mTLS with the
// workload certificate and ROOTCA from the snapshot's secrets, every refusal Envoy makes (no
// certificate, wrong CA, SAN mismatch) counted under listener.<addr>_<port>.ssl.*, intermediates
// and whole chains, ALPN selection as Envoy's server, session resumption, and rotation by snapshot.

import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { join } from "node:path";
import { readFileSync, writeFileSync } from "node:fs";
import { ROOT_CA_SECRET, TLS_TRANSPORT_SOCKET, WORKLOAD_SECRET, type DownstreamTlsContext, type Snapshot } from "../../src/config/model/types.js";
import { listenerStatName } from "../../src/observability/stats/listener-stats.js";
import { issueLeaf, makeIntermediateCa, makeRootCa, pkiDir, type Ca, type Leaf } from "../helpers/pki.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { curlTls, sClient } from "../helpers/tls-clients.js";
import { startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let dir: string;
let root: Ca;
let otherRoot: Ca;
let inter: Ca;
let server: Leaf;
let client: Leaf;
let interClient: Leaf;
let strangerClient: Leaf;
let dnsOnlyClient: Leaf;
let noSanClient: Leaf;
let rootFile: string;

beforeAll(() => {
  dir = pkiDir();
  root = makeRootCa(dir, "Mesh Root");
  otherRoot = makeRootCa(dir, "Other Root");
  inter = makeIntermediateCa(root, "Mesh Intermediate");
  server = issueLeaf(root, { spiffe: "spiffe://cluster.local/ns/shop/sa/reviews", dns: ["localhost"] });
  client = issueLeaf(root, { spiffe: "spiffe://cluster.local/ns/shop/sa/productpage" });
  interClient = issueLeaf(inter, { spiffe: "spiffe://cluster.local/ns/shop/sa/ratings" });
  strangerClient = issueLeaf(otherRoot, { spiffe: "spiffe://cluster.local/ns/shop/sa/productpage" });
  dnsOnlyClient = issueLeaf(root, { dns: ["client.example"] });
  noSanClient = issueLeaf(root, { cn: "nosan" });
  rootFile = join(dir, "root-cert.pem");
  writeFileSync(rootFile, root.rootPem);
});

/** File with the certificates after the leaf in its cert-chain.pem (intermediates, then root). */
function chainFile(leaf: Leaf, name: string): string {
  const f = join(dir, name);
  writeFileSync(f, leaf.chainPem.slice(leaf.certPem.length));
  return f;
}

/** istiod's inbound mTLS context (SDS `default` + `ROOTCA`, ALPN h2,http/1.1, client cert required). */
function istioInboundTls(o: { sanPrefix?: string; require?: boolean; alpn?: string[] } = {}): DownstreamTlsContext {
  return {
    commonTlsContext: {
      tlsCertificateSdsSecretConfigs: [{ name: WORKLOAD_SECRET }],
      combinedValidationContext: {
        defaultValidationContext: o.sanPrefix !== undefined ? { matchTypedSubjectAltNames: [{ sanType: "URI", matcher: { prefix: o.sanPrefix } }] } : {},
        validationContextSdsSecretConfig: { name: ROOT_CA_SECRET },
      },
      alpnProtocols: o.alpn ?? ["h2", "http/1.1"],
    },
    requireClientCertificate: o.require ?? true,
  };
}

function secrets(leaf: Leaf, ca: Ca): Snapshot["secrets"] {
  return {
    [WORKLOAD_SECRET]: { name: WORKLOAD_SECRET, tlsCertificate: { certificateChain: leaf.chainPem, privateKey: leaf.keyPem } },
    [ROOT_CA_SECRET]: { name: ROOT_CA_SECRET, validationContext: { trustedCa: ca.rootPem } },
  };
}

async function tlsProxy(tls: DownstreamTlsContext, app?: EchoUpstream): Promise<{ proxy: TestProxy; app: EchoUpstream; snapshot: Snapshot; ssl(stat: string): number }> {
  const upstream = app ?? (await startEchoUpstream("app"));
  const snapshot = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "app" } })] }], [cluster("app", [upstream.port])]);
  snapshot.listeners[0]!.filterChains[0]!.transportSocket = { name: TLS_TRANSPORT_SOCKET, typedConfig: tls };
  // As istiod: tls_inspector on every listener with TLS chains (it reads the client's ALPN).
  snapshot.listeners[0]!.listenerFilters = [{ name: "envoy.filters.listener.tls_inspector" }];
  snapshot.secrets = secrets(server, root);
  const proxy = await startProxy(snapshot);
  cleanups.push(() => upstream.close(), () => proxy.close());
  const prefix = `listener.${listenerStatName("127.0.0.1", proxy.port)}.ssl.`;
  return { proxy, app: upstream, snapshot, ssl: (stat) => proxy.runtime.services.stats.snapshot().counters[prefix + stat] ?? 0 };
}

describe("downstream mTLS with openssl s_client", () => {
  it("a client certificate from the mesh root gets through; the app answers over the TLS connection", async () => {
    const { proxy, app, ssl } = await tlsProxy(istioInboundTls());
    const r = await sClient(proxy.port, { cert: client.certFile, key: client.keyFile, caFile: rootFile, alpn: "istio-http/1.1,istio,http/1.1" });
    expect(r.response).toMatch(/^HTTP\/1.1 200 OK/);
    expect(r.out).toMatch(/Verify return code: 0 \(ok\)/);
    expect(r.alpn).toBe("http/1.1");
    expect(app.requests).toHaveLength(1);
    expect(ssl("handshake")).toBe(1);
    expect(ssl("connection_error")).toBe(0);
    expect(ssl("no_certificate")).toBe(0);
    expect(ssl("versions.TLSv1.3")).toBe(1);
    expect(ssl("ciphers.TLS_AES_256_GCM_SHA384") + ssl("ciphers.TLS_AES_128_GCM_SHA256") + ssl("ciphers.TLS_CHACHA20_POLY1305_SHA256")).toBe(1);
    const info = proxy.streams[0]!.downstreamTls!;
    expect(info).toMatchObject({ version: "TLSv1.3", alpn: "http/1.1", sessionReused: false, localUriSans: ["spiffe://cluster.local/ns/shop/sa/reviews"], peerPrincipal: "cluster.local/ns/shop/sa/productpage" });
    expect(info.peerCertificate!.serial).toBe(client.serial);
  });

  it("TLS 1.2 works too and is counted under its version", async () => {
    const { proxy, ssl } = await tlsProxy(istioInboundTls());
    const r = await sClient(proxy.port, { cert: client.certFile, key: client.keyFile, caFile: rootFile, tls12: true });
    expect(r.response).toMatch(/^HTTP\/1.1 200 OK/);
    expect(ssl("versions.TLSv1.2")).toBe(1);
  });

  it("no client certificate when one is required: closed without a response, fail_verify_no_cert", async () => {
    const { proxy, app, ssl } = await tlsProxy(istioInboundTls());
    const r = await sClient(proxy.port, { caFile: rootFile });
    expect(r.response).toBe("");
    expect(app.requests).toHaveLength(0);
    expect(ssl("fail_verify_no_cert")).toBe(1);
    expect(ssl("connection_error")).toBe(1);
    expect(ssl("handshake")).toBe(0);
  });

  it("no client certificate when none is required: served, counted as no_certificate, no principal", async () => {
    const { proxy, ssl } = await tlsProxy(istioInboundTls({ require: false }));
    const r = await sClient(proxy.port, { caFile: rootFile });
    expect(r.response).toMatch(/^HTTP\/1.1 200 OK/);
    expect(ssl("no_certificate")).toBe(1);
    expect(proxy.streams[0]!.downstreamTls!.peerPrincipal).toBeUndefined();
    expect(proxy.streams[0]!.downstreamTls!.peerCertificate).toBeUndefined();
  });

  it("a certificate from another root is refused: fail_verify_error", async () => {
    const { proxy, app, ssl } = await tlsProxy(istioInboundTls());
    const r = await sClient(proxy.port, { cert: strangerClient.certFile, key: strangerClient.keyFile, caFile: rootFile });
    expect(r.response).toBe("");
    expect(app.requests).toHaveLength(0);
    expect(ssl("fail_verify_error")).toBe(1);
    expect(ssl("connection_error")).toBe(1);
  });

  it("SAN matchers: a matching SPIFFE SAN passes; another namespace, a DNS-only and a SAN-less certificate fail with fail_verify_san", async () => {
    const { proxy, app, ssl } = await tlsProxy(istioInboundTls({ sanPrefix: "spiffe://cluster.local/ns/shop/" }));
    expect((await sClient(proxy.port, { cert: client.certFile, key: client.keyFile, caFile: rootFile })).response).toMatch(/^HTTP\/1.1 200/);
    const other = issueLeaf(root, { spiffe: "spiffe://cluster.local/ns/other/sa/productpage" });
    for (const leaf of [other, dnsOnlyClient, noSanClient]) {
      expect((await sClient(proxy.port, { cert: leaf.certFile, key: leaf.keyFile, caFile: rootFile })).response).toBe("");
    }
    expect(app.requests).toHaveLength(1);
    expect(ssl("fail_verify_san")).toBe(3);
    expect(ssl("handshake")).toBe(1);
  });

  it("ACCEPT_UNTRUSTED skips the chain check but not the SAN matchers; a validation context without a trusted CA verifies nothing", async () => {
    const tls = istioInboundTls({ sanPrefix: "spiffe://cluster.local/ns/shop/" });
    tls.commonTlsContext.combinedValidationContext!.defaultValidationContext.trustChainVerification = "ACCEPT_UNTRUSTED";
    const { proxy, ssl } = await tlsProxy(tls);
    expect((await sClient(proxy.port, { cert: strangerClient.certFile, key: strangerClient.keyFile, caFile: rootFile })).response).toMatch(/^HTTP\/1.1 200/);
    const strangerElsewhere = issueLeaf(otherRoot, { spiffe: "spiffe://cluster.local/ns/other/sa/x" });
    expect((await sClient(proxy.port, { cert: strangerElsewhere.certFile, key: strangerElsewhere.keyFile, caFile: rootFile })).response).toBe("");
    expect(ssl("fail_verify_san")).toBe(1);

    const noCa: DownstreamTlsContext = { commonTlsContext: { tlsCertificateSdsSecretConfigs: [{ name: WORKLOAD_SECRET }], validationContext: {} }, requireClientCertificate: true };
    const b = await tlsProxy(noCa);
    expect((await sClient(b.proxy.port, { cert: client.certFile, key: client.keyFile, caFile: rootFile })).response).toBe("");
    expect(b.ssl("fail_verify_error")).toBe(1);
  });

  it("a leaf under an intermediate verifies when the client sends the intermediate, or the whole chain with the root", async () => {
    const { proxy, ssl } = await tlsProxy(istioInboundTls());
    const withInter = chainFile(interClient, "inter-chain.pem");
    const r1 = await sClient(proxy.port, { cert: interClient.certFile, key: interClient.keyFile, chain: withInter, caFile: rootFile });
    expect(r1.response).toMatch(/^HTTP\/1.1 200/);
    // Without the intermediate there is no path to the root.
    const r2 = await sClient(proxy.port, { cert: interClient.certFile, key: interClient.keyFile, caFile: rootFile });
    expect(r2.response).toBe("");
    expect(ssl("fail_verify_error")).toBe(1);
    // Istio's cert-chain.pem: leaf, then the root appended.
    const whole = chainFile(client, "whole-chain.pem");
    expect(readFileSync(whole, "utf8")).toContain(root.rootPem.trim());
    const r3 = await sClient(proxy.port, { cert: client.certFile, key: client.keyFile, chain: whole, caFile: rootFile });
    expect(r3.response).toMatch(/^HTTP\/1.1 200/);
    expect(proxy.streams.map((s) => s.downstreamTls!.peerPrincipal)).toEqual(["cluster.local/ns/shop/sa/ratings", "cluster.local/ns/shop/sa/productpage"]);
  });
});

describe("per-certificate verification cache", () => {
  it("connections presenting the same certificate share its facts; another certificate gets its own; a refused one is refused and counted every time", async () => {
    const { proxy, app, ssl } = await tlsProxy(istioInboundTls({ sanPrefix: "spiffe://cluster.local/ns/shop/" }));
    const ok = { cert: client.certFile, key: client.keyFile, caFile: rootFile };
    for (let i = 0; i < 2; i++) expect((await sClient(proxy.port, ok)).response).toMatch(/^HTTP\/1.1 200/);
    expect((await sClient(proxy.port, { cert: interClient.certFile, key: interClient.keyFile, caFile: rootFile, chain: chainFile(interClient, "cache-inter-chain.pem") })).response).toMatch(/^HTTP\/1.1 200/);
    const [a, b, c] = proxy.streams.map((s) => s.downstreamTls!);
    // Shared, not recomputed: the very same object, with the facts of that certificate.
    expect(b!.peerCertificate).toBe(a!.peerCertificate);
    expect(a!.peerCertificate!.serial).toBe(client.serial);
    expect(a!.peerPrincipal).toBe("cluster.local/ns/shop/sa/productpage");
    expect(c!.peerCertificate).not.toBe(a!.peerCertificate);
    expect(c!.peerCertificate!.serial).toBe(interClient.serial);
    expect(c!.peerPrincipal).toBe("cluster.local/ns/shop/sa/ratings");
    const other = issueLeaf(root, { spiffe: "spiffe://cluster.local/ns/other/sa/productpage" });
    for (let i = 0; i < 2; i++) expect((await sClient(proxy.port, { cert: other.certFile, key: other.keyFile, caFile: rootFile })).response).toBe("");
    expect(ssl("fail_verify_san")).toBe(2);
    // The chain check is never cached: a certificate from another root with the same SAN is refused.
    expect((await sClient(proxy.port, { cert: strangerClient.certFile, key: strangerClient.keyFile, caFile: rootFile })).response).toBe("");
    expect(ssl("fail_verify_error")).toBe(1);
    expect(app.requests).toHaveLength(3);
  });
});

describe("ALPN as Envoy's server", () => {
  const creds = (): { cert: string; key: string; caFile: string } => ({ cert: client.certFile, key: client.keyFile, caFile: rootFile });

  it("no overlap: the handshake succeeds without ALPN (istio values only)", async () => {
    const { proxy } = await tlsProxy(istioInboundTls());
    const r = await sClient(proxy.port, { ...creds(), alpn: "istio-http/1.1,istio" });
    expect(r.response).toMatch(/^HTTP\/1.1 200/);
    expect(r.alpn).toBeUndefined();
    expect(r.out).toMatch(/No ALPN negotiated/);
    expect(proxy.streams[0]!.downstreamTls!.alpn).toBe("");
  });

  it("the context's order wins: h2 before http/1.1 on an HTTP connection manager chain; http/1.1 alone stays HTTP/1", async () => {
    const { proxy } = await tlsProxy(istioInboundTls({ alpn: ["h2", "http/1.1"] }));
    const r = await sClient(proxy.port, { ...creds(), alpn: "http/1.1,h2" });
    expect(r.alpn).toBe("h2");
    // An HTTP/1 request on a connection that negotiated h2 is not answered as HTTP/1.
    expect(r.response).toBe("");
    const r1 = await sClient(proxy.port, { ...creds(), alpn: "http/1.1" });
    expect(r1.alpn).toBe("http/1.1");
    expect(r1.response).toMatch(/^HTTP\/1.1 200/);
  });

  it("istio-peer-exchange is never selected (no metadata exchange preamble is read)", async () => {
    const { proxy } = await tlsProxy(istioInboundTls({ alpn: ["istio-peer-exchange", "http/1.1"] }));
    const r = await sClient(proxy.port, { ...creds(), alpn: "istio-peer-exchange,istio,http/1.1" });
    expect(r.alpn).toBe("http/1.1");
    const r2 = await sClient(proxy.port, { ...creds(), alpn: "istio-peer-exchange,istio" });
    expect(r2.alpn).toBeUndefined();
    expect(r2.response).toMatch(/^HTTP\/1.1 200/);
  });
});

describe("sessions and rotation", () => {
  it("a returning client resumes its session (-sess_out / -sess_in), counted as session_reused", async () => {
    const { proxy, ssl } = await tlsProxy(istioInboundTls());
    const sess = join(dir, `sess-${proxy.port}.pem`);
    const first = await sClient(proxy.port, { cert: client.certFile, key: client.keyFile, caFile: rootFile, sessOut: sess });
    expect(first.reused).toBe(false);
    const second = await sClient(proxy.port, { cert: client.certFile, key: client.keyFile, caFile: rootFile, sessIn: sess });
    expect(second.reused).toBe(true);
    expect(second.response).toMatch(/^HTTP\/1.1 200/);
    expect(ssl("session_reused")).toBe(1);
    expect(proxy.streams[1]!.downstreamTls).toMatchObject({ sessionReused: true, peerPrincipal: "cluster.local/ns/shop/sa/productpage" });
  });

  it("a ticket from one worker resumes on another with the same secrets (ticket keys derive from the workload key)", async () => {
    const a = await tlsProxy(istioInboundTls());
    const b = await tlsProxy(istioInboundTls());
    const sess = join(dir, `sess-ab-${a.proxy.port}.pem`);
    const creds = { cert: client.certFile, key: client.keyFile, caFile: rootFile };
    expect((await sClient(a.proxy.port, { ...creds, sessOut: sess })).reused).toBe(false);
    const other = await sClient(b.proxy.port, { ...creds, sessIn: sess });
    expect(other.reused).toBe(true);
    expect(b.ssl("session_reused")).toBe(1);
  });

  it("TLS 1.2 session ids resume too", async () => {
    const { proxy, ssl } = await tlsProxy(istioInboundTls());
    const sess = join(dir, `sess12-${proxy.port}.pem`);
    const creds = { cert: client.certFile, key: client.keyFile, caFile: rootFile, tls12: true };
    expect((await sClient(proxy.port, { ...creds, sessOut: sess })).reused).toBe(false);
    const second = await sClient(proxy.port, { ...creds, sessIn: sess });
    expect(second.reused).toBe(true);
    expect(second.response).toMatch(/^HTTP\/1.1 200/);
    expect(ssl("session_reused")).toBe(1);
    expect(proxy.streams[1]!.downstreamTls!.peerPrincipal).toBe("cluster.local/ns/shop/sa/productpage");
  });

  it("a snapshot with a new certificate serves new connections with it; an open keep-alive connection keeps going", async () => {
    const { proxy, snapshot } = await tlsProxy(istioInboundTls());
    const keep = await nodeMtlsClient(proxy.port);
    cleanups.push(() => void keep.socket.destroy());
    expect(await keep.get()).toMatch(/^HTTP\/1.1 200/);
    expect(keep.socket.getPeerX509Certificate()!.serialNumber.toLowerCase()).toBe(server.serial);

    const rotated = issueLeaf(root, { spiffe: "spiffe://cluster.local/ns/shop/sa/reviews", dns: ["localhost"] });
    const r = await proxy.runtime.apply({ ...snapshot, version: "test/2", secrets: secrets(rotated, root) });
    expect(r.ok).toBe(true);

    expect(await keep.get()).toMatch(/^HTTP\/1.1 200/);
    const fresh = await sClient(proxy.port, { cert: client.certFile, key: client.keyFile, caFile: rootFile });
    expect(fresh.response).toMatch(/^HTTP\/1.1 200/);
    const fresh2 = await nodeMtlsClient(proxy.port);
    cleanups.push(() => void fresh2.socket.destroy());
    expect(fresh2.socket.getPeerX509Certificate()!.serialNumber.toLowerCase()).toBe(rotated.serial);
  });
});

describe("configuration errors", () => {
  it("a chain whose secrets are missing, or whose key does not match its certificate, is refused with the reason", async () => {
    const app = await startEchoUpstream("app");
    cleanups.push(() => app.close());
    const { proxy, snapshot } = await tlsProxy(istioInboundTls(), app);
    const r1 = await proxy.runtime.apply({ ...snapshot, version: "test/2", secrets: {} });
    expect(r1.ok).toBe(false);
    expect(r1.ok ? "" : r1.errors.join("\n")).toMatch(/filter chain .*: DownstreamTlsContext: secret "default" is not available/);
    const other = issueLeaf(root, { spiffe: "spiffe://cluster.local/ns/shop/sa/x" });
    const bad = secrets(server, root)!;
    bad[WORKLOAD_SECRET] = { name: WORKLOAD_SECRET, tlsCertificate: { certificateChain: server.chainPem, privateKey: other.keyPem } };
    const r2 = await proxy.runtime.apply({ ...snapshot, version: "test/3", secrets: bad });
    expect(r2.ok).toBe(false);
    expect(r2.ok ? "" : r2.errors.join("\n")).toMatch(/DownstreamTlsContext: .*key values mismatch/);
    // The running snapshot keeps serving.
    expect((await sClient(proxy.port, { cert: client.certFile, key: client.keyFile, caFile: rootFile })).response).toMatch(/^HTTP\/1.1 200/);
  });
});

describe("curl with client certificates", () => {
  it("curl --cert/--key --cacert gets the app's answer; without --cert it fails", async () => {
    const { proxy } = await tlsProxy(istioInboundTls());
    const ok = await curlTls(`https://localhost:${proxy.port}/curl`, { cert: client.certFile, key: client.keyFile, caFile: rootFile });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.body)).toMatchObject({ name: "app", url: "/curl" });
    const refused = await curlTls(`https://localhost:${proxy.port}/curl`, { caFile: rootFile });
    expect(refused.code).not.toBe(0);
  });
});

/** A Node TLS client with the mesh certificate holding one keep-alive connection. */
async function nodeMtlsClient(port: number): Promise<{ socket: TLSSocket; get(): Promise<string> }> {
  const socket = tlsConnect({ host: "127.0.0.1", port, servername: "localhost", cert: client.certPem, key: client.keyPem, ca: root.rootPem });
  await new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", resolve);
    socket.once("error", reject);
  });
  let buf = "";
  socket.on("data", (d: Buffer) => (buf += d.toString("latin1")));
  return {
    socket,
    get: async () => {
      buf = "";
      socket.write("GET /keep HTTP/1.1\r\nhost: app\r\n\r\n");
      for (let i = 0; i < 500; i++) {
        const m = /content-length: (\d+)\r\n/i.exec(buf);
        const end = buf.indexOf("\r\n\r\n");
        if (m !== null && end >= 0 && buf.length >= end + 4 + Number(m[1])) return buf;
        await new Promise<void>((r) => socket.once("data", () => r()));
      }
      throw new Error("no response");
    },
  };
}
