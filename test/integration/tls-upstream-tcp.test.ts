// tcp_proxy over upstream TLS: bytes relayed through an mTLS connection (ALPN `istio` only, never
// `istio-peer-exchange`), and a failed handshake closing the downstream as a connect failure (UF).

import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { StatsStore } from "../../src/observability/stats/stats-store.js";
import { TLS_CERTIFICATE_VERIFY_FAILED } from "../../src/tls/tls-context.js";
import { issueLeaf, makeRootCa, pkiDir, type Ca, type Leaf } from "../helpers/pki.js";
import { cluster, startProxy, type TestProxy } from "../helpers/proxy.js";
import { tcpProxyConfig, tcpSnapshot, TcpTestClient } from "../helpers/tcp.js";
import { istioMutualContext, istioSecrets, startTlsEcho, tlsSocketConfig } from "../helpers/tls-upstreams.js";
import { waitFor } from "../helpers/wait.js";

const SERVER_SA = "spiffe://cluster.local/ns/db/sa/mysql";
let ca: Ca;
let client: Leaf;
let server: Leaf;
let impostor: Leaf;

beforeAll(() => {
  const dir = pkiDir();
  ca = makeRootCa(dir);
  const other = makeRootCa(dir, "Other");
  client = issueLeaf(ca, { spiffe: "spiffe://cluster.local/ns/default/sa/app" });
  server = issueLeaf(ca, { spiffe: SERVER_SA });
  impostor = issueLeaf(other, { spiffe: SERVER_SA });
});

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tlsProxy(port: number, stats: StatsStore): Promise<TestProxy> {
  const snap = await tcpSnapshot(tcpProxyConfig(), [cluster("backend", [port], { transportSocket: tlsSocketConfig(istioMutualContext({ sni: "outbound_.3306_._.mysql.db.svc.cluster.local", san: SERVER_SA })) })]);
  snap.secrets = istioSecrets(client, ca);
  const p = await startProxy(snap, { runtime: { stats } });
  cleanups.push(() => p.close());
  return p;
}

describe("tcp_proxy over upstream mTLS", () => {
  it("relays bytes both ways over mTLS, offering ALPN `istio` without `istio-peer-exchange`", async () => {
    const up = await startTlsEcho(server, { alpn: ["istio"] });
    cleanups.push(() => up.close());
    const stats = new StatsStore();
    const p = await tlsProxy(up.port, stats);
    const c = new TcpTestClient(p.port);
    cleanups.push(() => void c.socket.destroy());
    c.socket.write("ping over mtls");
    await c.received("ping over mtls");
    expect(up.alpnOffered).toEqual([["istio"]]);
    expect(up.handshakes[0]!.alpnProtocol).toBe("istio");
    expect(stats.counter("cluster.backend.ssl.handshake").value).toBe(1);
    c.socket.end();
    await c.closed;
  });

  it("a server failing verification: the downstream is closed without a byte, UF with the reason, and the server reads nothing", async () => {
    const up = await startTlsEcho(impostor, { alpn: ["istio"] });
    cleanups.push(() => up.close());
    const stats = new StatsStore();
    const p = await tlsProxy(up.port, stats);
    const c = new TcpTestClient(p.port);
    cleanups.push(() => void c.socket.destroy());
    await c.connected;
    c.socket.write("must not arrive");
    await c.closed;
    expect(c.data).toBe("");
    await waitFor(() => p.streams.length === 1);
    expect(p.streams[0]).toMatchObject({ kind: "tcp", responseFlags: ["UF"], upstreamTransportFailureReason: TLS_CERTIFICATE_VERIFY_FAILED, bytesSent: 0 });
    expect(up.received()).toBe(0);
    expect(stats.counter("cluster.backend.ssl.fail_verify_error").value).toBe(1);
    expect(stats.counter("cluster.backend.upstream_cx_connect_fail").value).toBe(1);
  });

  it("a server that accepts none of the offered ALPN values: its no_application_protocol alert is the reason", async () => {
    const up = await startTlsEcho(server, { alpn: ["istio-peer-exchange"] });
    cleanups.push(() => up.close());
    const stats = new StatsStore();
    const p = await tlsProxy(up.port, stats);
    const c = new TcpTestClient(p.port);
    cleanups.push(() => void c.socket.destroy());
    await c.closed;
    await waitFor(() => p.streams.length === 1);
    expect(p.streams[0]).toMatchObject({
      responseFlags: ["UF"],
      upstreamTransportFailureReason: "TLS_error:|268436576:SSL routines:OPENSSL_internal:TLSV1_ALERT_NO_APPLICATION_PROTOCOL:TLS_error_end",
    });
    expect(stats.counter("cluster.backend.ssl.connection_error").value).toBe(1);
  });
});
