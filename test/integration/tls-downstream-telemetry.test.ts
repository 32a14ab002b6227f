// What a terminated mTLS connection tells the rest of the proxy, over real openssl clients:
// x-forwarded-client-cert exactly as Envoy writes it for istiod's inbound config (APPEND_FORWARD +
// subject, dns, uri), sanitized on plaintext and by default; Istio's metrics
// (connection_security_policy, source_principal, destination_principal); the access log's
// DOWNSTREAM_* TLS operators; the TCP proxy's StreamInfo; and the bounded handshake.

import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createHash, X509Certificate } from "node:crypto";
import { connect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { Registry } from "prom-client";
import { HTTP_ROUTER_FILTER, ISTIO_STATS_FILTER, ROOT_CA_SECRET, TLS_TRANSPORT_SOCKET, WORKLOAD_SECRET, type DownstreamTlsContext, type HttpConnectionManager, type Snapshot } from "../../src/config/model/types.js";
import { httpListener } from "../../src/config/model/listener-defaults.js";
import { builtInHttpFilters } from "../../src/http/filters/http-filter-registry.js";
import { istioStatsFactory } from "../../src/observability/metrics/istio-stats-factory.js";
import { nodeIdentity } from "../../src/observability/node-identity.js";
import { TextFormatter } from "../../src/observability/access-log/text-formatter.js";
import { listenerStatName } from "../../src/observability/stats/listener-stats.js";
import { DOWNSTREAM_TLS_HANDSHAKE_TIMEOUT_MS } from "../../src/tls/downstream-tls.js";
import { issueLeaf, makeRootCa, pkiDir, type Ca, type Leaf } from "../helpers/pki.js";
import { cluster, route, startProxy, type TestProxy } from "../helpers/proxy.js";
import { ManualTimers } from "../helpers/manual-timers.js";
import { hcmOfListener } from "../helpers/model.js";
import { sClient } from "../helpers/tls-clients.js";
import { tcpProxyConfig, tcpSnapshot } from "../helpers/tcp.js";
import { freePort, startEchoUpstream, startRawUpstream, type EchoUpstream } from "../helpers/upstreams.js";
import { waitFor } from "../helpers/wait.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let dir: string;
let root: Ca;
let server: Leaf;
let client: Leaf;
let rootFile: string;
const SERVER_ID = "spiffe://cluster.local/ns/shop/sa/reviews";
const CLIENT_ID = "spiffe://cluster.local/ns/shop/sa/productpage";

beforeAll(() => {
  dir = pkiDir();
  root = makeRootCa(dir, "Mesh Root");
  server = issueLeaf(root, { spiffe: SERVER_ID });
  client = issueLeaf(root, { spiffe: CLIENT_ID, dns: ["productpage.shop"] });
  rootFile = join(dir, "root-cert.pem");
  writeFileSync(rootFile, root.rootPem);
});

const reviews = nodeIdentity({ env: { POD_NAME: "reviews-v2-7d4f8b-x2k9z", INSTANCE_IP: "10.1.0.9" }, namespace: "shop", labels: { app: "reviews", version: "v2" }, domainSuffix: "cluster.local" });

const inboundTls: DownstreamTlsContext = {
  commonTlsContext: {
    tlsCertificateSdsSecretConfigs: [{ name: WORKLOAD_SECRET }],
    combinedValidationContext: { defaultValidationContext: {}, validationContextSdsSecretConfig: { name: ROOT_CA_SECRET } },
    alpnProtocols: ["h2", "http/1.1"],
  },
  requireClientCertificate: true,
};

function secrets(): Snapshot["secrets"] {
  return {
    [WORKLOAD_SECRET]: { name: WORKLOAD_SECRET, tlsCertificate: { certificateChain: server.chainPem, privateKey: server.keyPem } },
    [ROOT_CA_SECRET]: { name: ROOT_CA_SECRET, validationContext: { trustedCa: root.rootPem } },
  };
}

const clientHash = (): string => createHash("sha256").update(new X509Certificate(client.certPem).raw).digest("hex");

interface Inbound extends TestProxy {
  app: EchoUpstream;
  registry: Registry;
  timers: ManualTimers;
}

/** An inbound HCM listener; `tls` false = plaintext; `hcm` edits the connection manager. */
async function inbound(o: { tls?: boolean; hcm?: (h: HttpConnectionManager) => void } = {}): Promise<Inbound> {
  const app = await startEchoUpstream("app");
  const port = await freePort();
  const snapshot: Snapshot = {
    version: "t/1",
    listeners: [httpListener({ address: "127.0.0.1", port, direction: "INBOUND", routeConfigName: "rc" })],
    routeConfigs: { rc: { name: "rc", virtualHosts: [{ name: "vh", domains: ["*"], routes: [route("default", { route: { cluster: "inbound|9080||" } })] }] } },
    clusters: { "inbound|9080||": cluster("inbound|9080||", [app.port]) },
    secrets: secrets(),
  };
  const l = snapshot.listeners[0]!;
  if (o.tls !== false) l.filterChains[0]!.transportSocket = { name: TLS_TRANSPORT_SOCKET, typedConfig: inboundTls };
  const hcm = hcmOfListener(l);
  hcm.httpFilters = [{ name: ISTIO_STATS_FILTER }, { name: HTTP_ROUTER_FILTER }];
  o.hcm?.(hcm);
  const registry = new Registry();
  const timers = new ManualTimers();
  const p = await startProxy(snapshot, { timers, clock: timers, runtime: { httpFilters: builtInHttpFilters(reviews), telemetry: { stats: istioStatsFactory({ registry, node: reviews, timers }) } } });
  cleanups.push(() => app.close(), () => p.close());
  return { ...p, app, registry, timers };
}

const istiodXfcc = (h: HttpConnectionManager): void => {
  h.forwardClientCertDetails = "APPEND_FORWARD";
  h.setCurrentClientCertDetails = { subject: true, dns: true, uri: true };
};

const mtls = (port: number, request?: string): ReturnType<typeof sClient> => sClient(port, { cert: client.certFile, key: client.keyFile, caFile: rootFile, ...(request !== undefined ? { request } : {}) });
const get = (extra = ""): string => `GET /x HTTP/1.1\r\nhost: app\r\n${extra}connection: close\r\n\r\n`;

describe("x-forwarded-client-cert", () => {
  it("istiod's inbound config (APPEND_FORWARD; subject, dns, uri): the app sees Envoy's element", async () => {
    const p = await inbound({ hcm: istiodXfcc });
    expect((await mtls(p.port)).response).toMatch(/^HTTP\/1.1 200/);
    expect(p.app.requests[0]!.headers["x-forwarded-client-cert"]).toBe(`By=${SERVER_ID};Hash=${clientHash()};Subject="";URI=${CLIENT_ID};DNS=productpage.shop`);
  });

  it("APPEND_FORWARD appends after an incoming element with ','", async () => {
    const p = await inbound({ hcm: istiodXfcc });
    await mtls(p.port, get("x-forwarded-client-cert: By=spiffe://a;URI=spiffe://b\r\n"));
    expect(p.app.requests[0]!.headers["x-forwarded-client-cert"]).toBe(`By=spiffe://a;URI=spiffe://b,By=${SERVER_ID};Hash=${clientHash()};Subject="";URI=${CLIENT_ID};DNS=productpage.shop`);
  });

  it("SANITIZE_SET replaces; Cert is the URL-encoded PEM", async () => {
    const p = await inbound({ hcm: (h) => ((h.forwardClientCertDetails = "SANITIZE_SET"), (h.setCurrentClientCertDetails = { cert: true, uri: true })) });
    await mtls(p.port, get("x-forwarded-client-cert: By=spiffe://forged\r\n"));
    const pem = new X509Certificate(client.certPem).toString();
    expect(p.app.requests[0]!.headers["x-forwarded-client-cert"]).toBe(`By=${SERVER_ID};Hash=${clientHash()};Cert="${encodeURIComponent(pem)}";URI=${CLIENT_ID}`);
    expect(encodeURIComponent(pem)).toMatch(/^-----BEGIN%20CERTIFICATE-----%0A/);
  });

  it("FORWARD_ONLY and ALWAYS_FORWARD_ONLY keep the incoming header on mTLS", async () => {
    for (const mode of ["FORWARD_ONLY", "ALWAYS_FORWARD_ONLY"] as const) {
      const p = await inbound({ hcm: (h) => (h.forwardClientCertDetails = mode) });
      await mtls(p.port, get("x-forwarded-client-cert: By=spiffe://up\r\n"));
      expect(p.app.requests[0]!.headers["x-forwarded-client-cert"]).toBe("By=spiffe://up");
    }
  });

  it("SANITIZE (the default) removes it; on plaintext every mode but ALWAYS_FORWARD_ONLY removes it", async () => {
    const d = await inbound();
    await mtls(d.port, get("x-forwarded-client-cert: By=spiffe://forged\r\n"));
    expect(d.app.requests[0]!.headers["x-forwarded-client-cert"]).toBeUndefined();
    for (const mode of ["APPEND_FORWARD", "SANITIZE_SET", "FORWARD_ONLY", "ALWAYS_FORWARD_ONLY"] as const) {
      const p = await inbound({ tls: false, hcm: (h) => (h.forwardClientCertDetails = mode) });
      await fetch(`http://127.0.0.1:${p.port}/`, { headers: { "x-forwarded-client-cert": "By=spiffe://forged" } });
      expect(p.app.requests[0]!.headers["x-forwarded-client-cert"]).toBe(mode === "ALWAYS_FORWARD_ONLY" ? "By=spiffe://forged" : undefined);
    }
  });
});

describe("telemetry of an mTLS connection", () => {
  it("istio_requests_total: mutual_tls with both principals inbound; plaintext inbound is none/unknown", async () => {
    const p = await inbound();
    await mtls(p.port);
    await waitFor(() => p.streams.length === 1, 5_000, "the StreamInfo");
    const [l] = (await p.registry.getSingleMetricAsString("istio_requests_total")).split("\n").filter((x) => !x.startsWith("#"));
    expect(l).toContain(`source_principal="${CLIENT_ID}"`);
    expect(l).toContain(`destination_principal="${SERVER_ID}"`);
    expect(l).toContain('connection_security_policy="mutual_tls"');

    const plain = await inbound({ tls: false });
    await fetch(`http://127.0.0.1:${plain.port}/`);
    await waitFor(() => plain.streams.length === 1, 5_000, "the StreamInfo");
    const [pl] = (await plain.registry.getSingleMetricAsString("istio_requests_total")).split("\n").filter((x) => !x.startsWith("#"));
    expect(pl).toContain('source_principal="unknown"');
    expect(pl).toContain('destination_principal="unknown"');
    expect(pl).toContain('connection_security_policy="none"');
  });

  it("access log TLS operators in Envoy's formats; '-' on plaintext", async () => {
    const p = await inbound();
    await mtls(p.port);
    await waitFor(() => p.streams.length === 1, 5_000, "the StreamInfo");
    const f = new TextFormatter("%DOWNSTREAM_PEER_URI_SAN% %DOWNSTREAM_LOCAL_URI_SAN% %DOWNSTREAM_PEER_DNS_SAN% [%DOWNSTREAM_PEER_SUBJECT%] %DOWNSTREAM_TLS_VERSION% %DOWNSTREAM_PEER_FINGERPRINT_256% %DOWNSTREAM_PEER_SERIAL%");
    expect(f.format(p.streams[0]!)).toBe(`${CLIENT_ID} ${SERVER_ID} productpage.shop [-] TLSv1.3 ${clientHash()} ${client.serial}`);
    expect(new TextFormatter("%DOWNSTREAM_TLS_CIPHER%").format(p.streams[0]!)).toMatch(/^TLS_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)$/);
    expect(new TextFormatter("%DOWNSTREAM_PEER_CERT%").format(p.streams[0]!)).toBe(encodeURIComponent(new X509Certificate(client.certPem).toString()));
    const plain = await inbound({ tls: false });
    await fetch(`http://127.0.0.1:${plain.port}/`);
    await waitFor(() => plain.streams.length === 1, 5_000, "the StreamInfo");
    expect(f.format(plain.streams[0]!)).toBe("- - - [-] - - -");
  });

  it("a TCP proxy session over mTLS carries the TLS facts in its StreamInfo", async () => {
    const up = await startRawUpstream((s) => s.on("data", (d: Buffer) => s.write(d)));
    const snap = await tcpSnapshot(tcpProxyConfig({ cluster: "echo" }), [cluster("echo", [up.port])]);
    snap.listeners[0]!.filterChains[0]!.transportSocket = { name: TLS_TRANSPORT_SOCKET, typedConfig: inboundTls };
    snap.secrets = secrets();
    const p = await startProxy(snap);
    cleanups.push(() => up.close(), () => p.close());
    const c = tlsConnect({ host: "127.0.0.1", port: p.port, cert: client.certPem, key: client.keyPem, ca: root.rootPem, checkServerIdentity: () => undefined });
    await new Promise<void>((r, j) => (c.once("secureConnect", () => r()), c.once("error", j)));
    c.write("ping\n");
    const echoed = await new Promise<string>((r) => c.once("data", (d: Buffer) => r(d.toString())));
    expect(echoed).toBe("ping\n");
    c.end();
    await waitFor(() => p.streams.length === 1, 5_000, "the TCP StreamInfo");
    expect(p.streams[0]!.downstreamTls).toMatchObject({ peerPrincipal: "cluster.local/ns/shop/sa/productpage", localUriSans: [SERVER_ID] });
  });
});

describe("handshake bound", () => {
  it(`a client that never finishes the handshake is closed after ${DOWNSTREAM_TLS_HANDSHAKE_TIMEOUT_MS} ms of data-path time, counted as connection_error`, async () => {
    const p = await inbound();
    const s = connect(p.port, "127.0.0.1");
    const closed = new Promise<void>((r) => s.once("close", () => r()));
    s.on("error", () => {});
    await new Promise<void>((r) => s.once("connect", () => r()));
    const prefix = `listener.${listenerStatName("127.0.0.1", p.port)}.ssl.`;
    const stat = (n: string): number => p.runtime.services.stats.snapshot().counters[prefix + n] ?? 0;
    // Wait until the proxy holds the connection in its handshake (the timer is armed).
    await waitFor(() => p.runtime.services.stats.snapshot().counters[`listener.${listenerStatName("127.0.0.1", p.port)}.downstream_cx_total`] === 1, 5_000, "the accepted connection");
    p.timers.advance(DOWNSTREAM_TLS_HANDSHAKE_TIMEOUT_MS - 1);
    expect(s.destroyed).toBe(false);
    p.timers.advance(1);
    await closed;
    expect(stat("connection_error")).toBe(1);
    expect(stat("handshake")).toBe(0);
  });
});
