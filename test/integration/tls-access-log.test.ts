// The access log's TLS operators Envoy has beyond the basic ones, over real openssl clients and an
// openssl s_server upstream: our certificate's subject and DNS SANs, the peer's issuer and validity
// (Envoy's START_TIME formats), the session id (as s_client prints it), and the UPSTREAM_* set from
// the pooled upstream connection; `-` on plaintext. Read after the connection closed, as a log
// written at the end of a stream is.

import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { HTTP_ROUTER_FILTER, ROOT_CA_SECRET, TLS_TRANSPORT_SOCKET, WORKLOAD_SECRET, type DownstreamTlsContext, type Snapshot } from "../../src/config/model/types.js";
import { httpListener } from "../../src/config/model/listener-defaults.js";
import { TextFormatter } from "../../src/observability/access-log/text-formatter.js";
import { compileStartTimeFormat } from "../../src/observability/access-log/start-time-format.js";
import { issueLeaf, makeIntermediateCa, makeRootCa, pkiDir, type Ca, type Leaf } from "../helpers/pki.js";
import { cluster, route, snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { istioMutualContext, istioSecrets, startOpensslServer, startTlsEcho, tlsSocketConfig } from "../helpers/tls-upstreams.js";
import { tcpProxyConfig, tcpSnapshot, TcpTestClient } from "../helpers/tcp.js";
import { hcmOfListener } from "../helpers/model.js";
import { sClient } from "../helpers/tls-clients.js";
import { freePort, startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";
import { waitFor } from "../helpers/wait.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let dir: string;
let root: Ca;
let inter: Ca;
let server: Leaf;
let client: Leaf;
let rootFile: string;
let chainFile: string;
const SERVER_ID = "spiffe://cluster.local/ns/shop/sa/reviews";
const CLIENT_ID = "spiffe://cluster.local/ns/shop/sa/productpage";

beforeAll(() => {
  dir = pkiDir();
  root = makeRootCa(dir, "Mesh Root");
  inter = makeIntermediateCa(root, "Mesh Intermediate");
  server = issueLeaf(root, { spiffe: SERVER_ID, dns: ["reviews.shop", "reviews"], cn: "reviews" });
  client = issueLeaf(inter, { spiffe: CLIENT_ID, cn: "productpage", days: 30 });
  rootFile = join(dir, "root-cert.pem");
  writeFileSync(rootFile, root.rootPem);
  chainFile = join(dir, "client-chain.pem");
  writeFileSync(chainFile, inter.certPem);
});

const inboundTls: DownstreamTlsContext = {
  commonTlsContext: {
    tlsCertificateSdsSecretConfigs: [{ name: WORKLOAD_SECRET }],
    combinedValidationContext: { defaultValidationContext: {}, validationContextSdsSecretConfig: { name: ROOT_CA_SECRET } },
    alpnProtocols: ["http/1.1"],
  },
  requireClientCertificate: true,
};

interface Inbound extends TestProxy {
  app: EchoUpstream;
}

async function inbound(o: { tls?: boolean; chainXfcc?: boolean } = {}): Promise<Inbound> {
  const app = await startEchoUpstream("app");
  const port = await freePort();
  const snapshot: Snapshot = {
    version: "t/1",
    listeners: [httpListener({ address: "127.0.0.1", port, direction: "INBOUND", routeConfigName: "rc" })],
    routeConfigs: { rc: { name: "rc", virtualHosts: [{ name: "vh", domains: ["*"], routes: [route("default", { route: { cluster: "app" } })] }] } },
    clusters: { app: cluster("app", [app.port]) },
    secrets: {
      [WORKLOAD_SECRET]: { name: WORKLOAD_SECRET, tlsCertificate: { certificateChain: server.chainPem, privateKey: server.keyPem } },
      [ROOT_CA_SECRET]: { name: ROOT_CA_SECRET, validationContext: { trustedCa: root.rootPem } },
    },
  };
  const l = snapshot.listeners[0]!;
  if (o.tls !== false) l.filterChains[0]!.transportSocket = { name: TLS_TRANSPORT_SOCKET, typedConfig: inboundTls };
  const hcm = hcmOfListener(l);
  hcm.httpFilters = [{ name: HTTP_ROUTER_FILTER }];
  if (o.chainXfcc === true) {
    hcm.forwardClientCertDetails = "SANITIZE_SET";
    hcm.setCurrentClientCertDetails = { chain: true, uri: true };
  }
  const p = await startProxy(snapshot);
  cleanups.push(() => app.close(), () => p.close());
  return { ...p, app };
}

const mtls = (port: number, o: { tls12?: boolean } = {}): ReturnType<typeof sClient> =>
  sClient(port, { cert: client.certFile, key: client.keyFile, chain: chainFile, caFile: rootFile, ...(o.tls12 === true ? { tls12: true, noTicket: true } : {}) });

describe("downstream TLS operators", () => {
  it("local subject and DNS SANs, peer issuer, validity in Envoy's default and custom formats", async () => {
    const p = await inbound();
    expect((await mtls(p.port)).response).toMatch(/^HTTP\/1.1 200/);
    await waitFor(() => p.streams.length === 1, 5_000, "the StreamInfo");
    const x = new X509Certificate(client.certPem);
    const f = new TextFormatter("[%DOWNSTREAM_LOCAL_SUBJECT%] [%DOWNSTREAM_LOCAL_DNS_SAN%] [%DOWNSTREAM_PEER_ISSUER%] [%DOWNSTREAM_PEER_SUBJECT%] %DOWNSTREAM_PEER_CERT_V_START% %DOWNSTREAM_PEER_CERT_V_END%");
    const start = new Date(x.validFrom).toISOString();
    const end = new Date(x.validTo).toISOString();
    expect(start).toMatch(/\.000Z$/);
    expect(f.format(p.streams[0]!)).toBe(`[CN=reviews] [reviews.shop,reviews] [CN=Mesh Intermediate,O=cluster.local] [CN=productpage] ${start} ${end}`);
    const custom = new TextFormatter("%DOWNSTREAM_PEER_CERT_V_END(%Y/%m/%d %H:%M:%S)%");
    expect(custom.format(p.streams[0]!)).toBe(compileStartTimeFormat("%Y/%m/%d %H:%M:%S")(Date.parse(x.validTo)));
  });

  it("%DOWNSTREAM_TLS_SESSION_ID% is the session id s_client was given (TLS 1.2 without tickets), lower-case hex", async () => {
    const p = await inbound();
    const r = await mtls(p.port, { tls12: true });
    expect(r.response).toMatch(/^HTTP\/1.1 200/);
    const sid = /Session-ID: ([0-9A-F]+)/.exec(r.out)?.[1];
    expect(sid).toMatch(/^[0-9A-F]{64}$/);
    await waitFor(() => p.streams.length === 1, 5_000, "the StreamInfo");
    expect(new TextFormatter("%DOWNSTREAM_TLS_SESSION_ID% %DOWNSTREAM_TLS_VERSION%").format(p.streams[0]!)).toBe(`${sid!.toLowerCase()} TLSv1.2`);
  });

  it("every one is '-' on a plaintext connection", async () => {
    const p = await inbound({ tls: false });
    await fetch(`http://127.0.0.1:${p.port}/`);
    await waitFor(() => p.streams.length === 1, 5_000, "the StreamInfo");
    const ops = ["LOCAL_SUBJECT", "LOCAL_DNS_SAN", "PEER_ISSUER", "TLS_SESSION_ID", "PEER_CERT_V_START", "PEER_CERT_V_END"];
    const f = new TextFormatter(ops.map((o) => `%DOWNSTREAM_${o}%`).join(" "));
    expect(f.format(p.streams[0]!)).toBe(ops.map(() => "-").join(" "));
  });
});

describe("XFCC Chain=", () => {
  it("starts with the client's leaf and holds only certificates of the chain it sent, in order", async () => {
    const p = await inbound({ chainXfcc: true });
    expect((await mtls(p.port)).response).toMatch(/^HTTP\/1.1 200/);
    const pem = (s: string): string => new X509Certificate(s).toString();
    const sent = [pem(client.certPem), pem(inter.certPem), pem(root.rootPem)];
    const xfcc = p.app.requests[0]!.headers["x-forwarded-client-cert"] as string;
    const m = /^By=([^;]+);Hash=([0-9a-f]{64});Chain="([^"]+)";URI=(.+)$/.exec(xfcc);
    expect(m?.slice(1, 3)).toEqual([SERVER_ID, new X509Certificate(client.certPem).fingerprint256.replace(/:/g, "").toLowerCase()]);
    expect(m![4]).toBe(CLIENT_ID);
    const chain = decodeURIComponent(m![3]!);
    const certs = chain.split(/(?<=-----END CERTIFICATE-----\n)/).filter((c) => c !== "");
    // Node 24.21 returns the leaf alone on the server side (nodejs/node#65579); the whole chain
    // wherever the runtime exposes it (Node 20/22).
    expect(certs.length).toBeGreaterThanOrEqual(1);
    expect(certs).toEqual(sent.slice(0, certs.length));
  });
});

describe("upstream TLS operators", () => {
  it("from the pooled upstream connection: versions, cipher, both certificates, session id as s_server prints it", async () => {
    const up = issueLeaf(root, { spiffe: SERVER_ID, cn: "reviews-upstream", dns: ["reviews.shop"], name: "upstream" });
    const s = await startOpensslServer(["-cert", up.certFile, "-key", up.keyFile, "-tls1_2", "-no_ticket", "-www"]);
    cleanups.push(() => s.close());
    const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "reviews" } })] }], [
      cluster("reviews", [s.port], { transportSocket: tlsSocketConfig(istioMutualContext({ san: SERVER_ID })) }),
    ]);
    // Our side presents `server` (CN=reviews, DNS SANs) as the workload certificate.
    snap.secrets = istioSecrets(server, root);
    const p = await startProxy(snap);
    cleanups.push(() => p.close());
    const res = await fetch(p.url("/"));
    const body = await res.text();
    expect(res.status).toBe(200);
    const sid = /Session-ID: ([0-9A-F]+)/.exec(body)?.[1];
    expect(sid).toMatch(/^[0-9A-F]{64}$/);
    const cipher = /Cipher is (\S+)/.exec(body)?.[1];
    await waitFor(() => p.streams.length === 1, 5_000, "the StreamInfo");
    const x = new X509Certificate(up.certPem);
    const f = new TextFormatter(
      "%UPSTREAM_TLS_VERSION% %UPSTREAM_TLS_CIPHER% %UPSTREAM_TLS_SESSION_ID% %UPSTREAM_PEER_URI_SAN% %UPSTREAM_PEER_DNS_SAN% [%UPSTREAM_PEER_SUBJECT%] [%UPSTREAM_PEER_ISSUER%] %UPSTREAM_LOCAL_URI_SAN% %UPSTREAM_LOCAL_DNS_SAN% [%UPSTREAM_LOCAL_SUBJECT%] %UPSTREAM_PEER_CERT_V_START% %UPSTREAM_PEER_CERT_V_END%",
    );
    expect(f.format(p.streams[0]!)).toBe(
      `TLSv1.2 ${cipher} ${sid!.toLowerCase()} ${SERVER_ID} reviews.shop [CN=reviews-upstream] [CN=Mesh Root,O=cluster.local] ${SERVER_ID} reviews.shop,reviews [CN=reviews] ${new Date(x.validFrom).toISOString()} ${new Date(x.validTo).toISOString()}`,
    );
    expect(new TextFormatter("%UPSTREAM_PEER_CERT%").format(p.streams[0]!)).toBe(encodeURIComponent(x.toString()));
  });

  it("every one is '-' on a plaintext upstream", async () => {
    const app = await startEchoUpstream("app");
    const snap = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "app" } })] }], [cluster("app", [app.port])]);
    const p = await startProxy(snap);
    cleanups.push(() => app.close(), () => p.close());
    await (await fetch(p.url("/"))).text();
    await waitFor(() => p.streams.length === 1, 5_000, "the StreamInfo");
    const ops = ["TLS_VERSION", "TLS_CIPHER", "TLS_SESSION_ID", "PEER_URI_SAN", "PEER_DNS_SAN", "PEER_SUBJECT", "PEER_ISSUER", "LOCAL_URI_SAN", "LOCAL_DNS_SAN", "LOCAL_SUBJECT", "PEER_CERT", "PEER_CERT_V_START", "PEER_CERT_V_END"];
    expect(new TextFormatter(ops.map((o) => `%UPSTREAM_${o}%`).join(" ")).format(p.streams[0]!)).toBe(ops.map(() => "-").join(" "));
  });

  it("a TCP proxy session over upstream mTLS carries the upstream connection's facts, logged after the close", async () => {
    const up = await startTlsEcho(server, { alpn: ["istio"] });
    const snap = await tcpSnapshot(tcpProxyConfig(), [cluster("backend", [up.port], { transportSocket: tlsSocketConfig(istioMutualContext({ san: SERVER_ID })) })]);
    snap.secrets = istioSecrets(server, root);
    const p = await startProxy(snap);
    cleanups.push(() => up.close(), () => p.close());
    const c = new TcpTestClient(p.port);
    c.socket.write("ping");
    await c.received("ping");
    c.socket.end();
    await c.closed;
    await waitFor(() => p.streams.length === 1, 5_000, "the TCP StreamInfo");
    expect(new TextFormatter("%UPSTREAM_TLS_VERSION% %UPSTREAM_PEER_URI_SAN% [%UPSTREAM_PEER_SUBJECT%] %UPSTREAM_LOCAL_URI_SAN%").format(p.streams[0]!)).toBe(`TLSv1.3 ${SERVER_ID} [CN=reviews] ${SERVER_ID}`);
  });
});
