// gRPC between two Outrigger sidecars over Istio mTLS, through the real CLI: grpc-js client →
// client sidecar (outbound GRPC port, auto mTLS: HTTP/2 with ALPN istio-h2) → server sidecar
// (STRICT, inbound GRPC port, AuthorizationPolicy by the caller's principal) → grpc-js server.
// Certificates are made with the openssl CLI (test/helpers/pki.ts).

import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCli, tempDir, writeConfig, type CliProcess } from "../helpers/cli-process.js";
import { echoClient, grpc, startEchoServer, unary, type EchoClientT, type EchoServer } from "../helpers/grpc-fixtures.js";
import { adminStats } from "../helpers/h2-mesh.js";
import { curl } from "../helpers/h2-peers.js";
import { issueLeaf, makeRootCa, pkiDir, writeIstioCerts, type Leaf } from "../helpers/pki.js";
import { writeFile } from "node:fs/promises";
import { freePort } from "../helpers/upstreams.js";
import { within } from "../helpers/wait.js";

const FRONTEND = "spiffe://cluster.local/ns/shop/sa/frontend";
const ECHO = "spiffe://cluster.local/ns/shop/sa/echo";
const HOST = "echo.shop.svc.cluster.local";

let app: EchoServer;
let client: CliProcess;
let server: CliProcess;
let c: EchoClientT;
let frontendLeaf: Leaf;
let pki = "";
const ports = { clientAdmin: 0, serverAdmin: 0, egress: 0, ingress: 0, serverStats: 0 };

beforeAll(async () => {
  app = await startEchoServer();
  for (const k of Object.keys(ports) as Array<keyof typeof ports>) ports[k] = await freePort();
  pki = pkiDir();
  const ca = makeRootCa(pki);
  frontendLeaf = issueLeaf(ca, { spiffe: FRONTEND, name: "frontend" });
  const clientCerts = writeIstioCerts(join(pki, "frontend-certs"), frontendLeaf, ca);
  const serverCerts = writeIstioCerts(join(pki, "echo-certs"), issueLeaf(ca, { spiffe: ECHO, name: "echo" }), ca);

  const serverDir = await tempDir();
  await writeConfig(
    serverDir,
    "echo.yaml",
    `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: shop}
spec:
  ingress:
  - port: {number: ${ports.ingress}, name: grpc, protocol: GRPC}
    defaultEndpoint: 127.0.0.1:${app.port}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: frontend-echoes, namespace: shop}
spec:
  action: ALLOW
  rules:
  - from: [{source: {principals: ["cluster.local/ns/shop/sa/frontend"]}}]
    to: [{operation: {paths: ["/outrigger.test.Echo/Unary", "/outrigger.test.Echo/ServerStream", "/outrigger.test.Echo/Bidi"]}}]
`,
  );
  server = startCli(["run", "--config", serverDir, "--certs", serverCerts.dir, "--namespace", "shop", "--workers", "1", "--outbound", "off", "--admin-port", String(ports.serverAdmin), "--stats-port", String(ports.serverStats), "--no-watch"]);

  const clientDir = await tempDir();
  await writeConfig(
    clientDir,
    "frontend.yaml",
    `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: echo, namespace: shop}
spec:
  hosts: [${HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: ${ports.egress}, name: grpc, protocol: GRPC}]
  subjectAltNames: ["${ECHO}"]
  endpoints:
  - address: 127.0.0.1
    ports: {grpc: ${ports.ingress}}
    labels: {security.istio.io/tlsMode: istio}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: shop}
spec:
  egress:
  - port: {number: ${ports.egress}, name: grpc, protocol: GRPC}
    bind: 127.0.0.1
    hosts: ["./*"]
`,
  );
  client = startCli(["run", "--config", clientDir, "--certs", clientCerts.dir, "--namespace", "shop", "--workers", "1", "--outbound", "off", "--admin-port", String(ports.clientAdmin), "--no-watch"]);
  await Promise.all([server.waitReady(ports.serverAdmin), client.waitReady(ports.clientAdmin)]);
  c = echoClient(ports.egress, `${HOST}:${ports.egress}`);
}, 40_000);

afterAll(async () => {
  c?.close();
  for (const p of [client, server]) {
    if (p && p.child.exitCode === null) {
      p.kill("SIGKILL");
      await p.exited;
    }
  }
  await app?.close();
});

describe("gRPC between two sidecars over mTLS", () => {
  it("unary with metadata both ways; the app sees Envoy's x-forwarded-client-cert naming the caller", async () => {
    const r = await unary(c, { text: "hi" }, { metadata: { "x-client-a": "1", "x-echo-b": "2" } });
    expect(r.error).toBeUndefined();
    const md = r.response!.metadata as Record<string, string>;
    expect(md).toMatchObject({ "x-client-a": "1", "x-echo-b": "2" });
    expect(md["x-forwarded-client-cert"]).toMatch(new RegExp(`^By=${ECHO};Hash=[0-9a-f]{64};Subject="";URI=${FRONTEND}$`));
    expect(r.initial).toMatchObject({ "x-initial": "yes" });
    expect(r.trailers).toMatchObject({ "x-trailer": "yes", "x-echo-b": "2" });
  });

  it("server streaming and bidi streaming cross both sidecars", async () => {
    const call = c.makeServerStreamRequest("/outrigger.test.Echo/ServerStream", (v: unknown) => Buffer.from(JSON.stringify(v)), (b: Buffer) => JSON.parse(b.toString()) as { i: number }, { count: 500, text: "s" }, new grpc.Metadata(), {});
    const seen: number[] = [];
    call.on("data", (m: { i: number }) => seen.push(m.i));
    const st = await within(new Promise<grpc.StatusObject>((r) => call.on("status", r)), 10_000, "the stream's end");
    expect(st.code).toBe(grpc.status.OK);
    expect(seen).toEqual(Array.from({ length: 500 }, (_, i) => i));

    const bidi = c.makeBidiStreamRequest("/outrigger.test.Echo/Bidi", (v: unknown) => Buffer.from(JSON.stringify(v)), (b: Buffer) => JSON.parse(b.toString()) as { text: string }, new grpc.Metadata(), {});
    const back: string[] = [];
    bidi.on("data", (m: { text: string }) => back.push(m.text));
    const bst = new Promise<grpc.StatusObject>((r) => bidi.on("status", r));
    for (let i = 0; i < 50; i++) bidi.write({ text: `b${i}` });
    bidi.end();
    expect((await within(bst, 10_000, "bidi's end")).code).toBe(grpc.status.OK);
    expect(back).toEqual(Array.from({ length: 50 }, (_, i) => `b${i}`));
  });

  it("the server sidecar's AuthorizationPolicy refuses a method it does not allow: PERMISSION_DENIED 'RBAC: access denied'", async () => {
    const done = new Promise<grpc.ServiceError | null>((resolve) => {
      const call = c.makeClientStreamRequest("/outrigger.test.Echo/ClientStream", (v: unknown) => Buffer.from(JSON.stringify(v)), (b: Buffer) => JSON.parse(b.toString()) as never, new grpc.Metadata(), {}, (e: grpc.ServiceError | null) => resolve(e));
      call.write({ text: "x" });
      call.end();
    });
    const e = await within(done, 10_000, "the refusal");
    expect(e?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(e?.details).toBe("RBAC: access denied");
  });

  it("the server sidecar's Istio metrics: request_protocol grpc, grpc_response_status, mutual_tls, the caller's principal", async () => {
    await unary(c, { text: "m" });
    const text = await (await fetch(`http://127.0.0.1:${ports.serverStats}/stats/prometheus`)).text();
    const ok = text.split("\n").find((l) => l.startsWith("istio_requests_total{") && l.includes('reporter="destination"') && l.includes('grpc_response_status="0"'));
    expect(ok).toBeDefined();
    expect(ok).toContain('request_protocol="grpc"');
    expect(ok).toContain('response_code="200"');
    expect(ok).toContain('connection_security_policy="mutual_tls"');
    expect(ok).toContain(`source_principal="${FRONTEND}"`);
    const denied = text.split("\n").find((l) => l.startsWith("istio_requests_total{") && l.includes('reporter="destination"') && l.includes('grpc_response_status="7"'));
    // The refusal went out as a trailers-only answer: HTTP 200, gRPC 7.
    expect(denied).toContain('response_code="200"');
  });

  it("curl with the frontend's certificate negotiates h2 by ALPN on the STRICT inbound listener and gets a gRPC answer", async () => {
    const msg = Buffer.from(JSON.stringify({ text: "from curl" }));
    const frame = Buffer.alloc(5 + msg.length);
    frame.writeUInt32BE(msg.length, 1);
    msg.copy(frame, 5);
    const file = join(pki, "unary.bin");
    await writeFile(file, frame);
    const r = await curl(`https://127.0.0.1:${ports.ingress}/outrigger.test.Echo/Unary`, ["--http2", "-k", "--cert", frontendLeaf.certFile, "--key", frontendLeaf.keyFile, "-H", "content-type: application/grpc", "-H", "te: trailers", "--data-binary", `@${file}`]);
    expect(r.httpVersion).toBe("2");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toMatch(/^application\/grpc/);
    // One length-prefixed message (curl -i then prints the trailers after it).
    const len = r.body.readUInt32BE(1);
    expect(JSON.parse(r.body.subarray(5, 5 + len).toString())).toMatchObject({ text: "from curl" });
    expect(r.body.subarray(5 + len).toString()).toMatch(/grpc-status: 0/);
  });

  it("the client sidecar's upstream connection is HTTP/2 (one connection carries the calls)", async () => {
    const stats = await adminStats(ports.clientAdmin);
    const cluster = `cluster.outbound|${ports.egress}||${HOST}`;
    expect(stats.get(`${cluster}.upstream_cx_http2_total`)).toBeGreaterThanOrEqual(1);
    expect(stats.get(`${cluster}.upstream_cx_total`)).toBe(stats.get(`${cluster}.upstream_cx_http2_total`));
    expect(stats.get(`${cluster}.upstream_rq_total`)).toBeGreaterThanOrEqual(4);
  });
});
