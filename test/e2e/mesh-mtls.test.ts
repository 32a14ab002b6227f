// Two Outrigger sidecars through the real CLI, as two pods of one mesh: the client sidecar's
// outbound call to `reviews` is ISTIO_MUTUAL by auto mTLS (the endpoint is labelled
// `security.istio.io/tlsMode: istio`), the server sidecar requires mTLS (STRICT) and authorizes by
// the caller's SPIFFE principal; the app sees Envoy's x-forwarded-client-cert. Peers nobody here
// wrote check the server side: curl with and without a client certificate, openssl s_client.
// Certificates are made with the openssl CLI.

import { execFile } from "node:child_process";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCli, tempDir, writeConfig, type CliProcess } from "../helpers/cli-process.js";
import { issueLeaf, makeRootCa, pkiDir, writeIstioCerts, type Ca, type Leaf } from "../helpers/pki.js";
import { freePort } from "../helpers/upstreams.js";

const run = promisify(execFile);
const FRONTEND = "spiffe://cluster.local/ns/shop/sa/frontend";
const REVIEWS = "spiffe://cluster.local/ns/shop/sa/reviews";

let app: Server;
let appPort = 0;
let client: CliProcess;
let server: CliProcess;
let ca: Ca;
let frontendLeaf: Leaf;
const ports = { clientAdmin: 0, serverAdmin: 0, egress: 0, ingress: 0, serverStats: 0 };

beforeAll(async () => {
  app = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ path: req.url, headers: req.headers }));
  });
  await new Promise<void>((r) => app.listen(0, "127.0.0.1", r));
  appPort = (app.address() as AddressInfo).port;
  for (const k of Object.keys(ports) as Array<keyof typeof ports>) ports[k] = await freePort();

  const pki = pkiDir();
  ca = makeRootCa(pki);
  frontendLeaf = issueLeaf(ca, { spiffe: FRONTEND, name: "frontend" });
  const reviewsLeaf = issueLeaf(ca, { spiffe: REVIEWS, name: "reviews" });
  const clientCerts = writeIstioCerts(join(pki, "frontend-certs"), frontendLeaf, ca);
  const serverCerts = writeIstioCerts(join(pki, "reviews-certs"), reviewsLeaf, ca);

  const serverDir = await tempDir();
  await writeConfig(
    serverDir,
    "reviews.yaml",
    `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: shop}
spec:
  ingress:
  - port: {number: ${ports.ingress}, name: http, protocol: HTTP}
    defaultEndpoint: 127.0.0.1:${appPort}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: shop}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: frontend-reads, namespace: shop}
spec:
  action: ALLOW
  rules:
  - from: [{source: {principals: ["cluster.local/ns/shop/sa/frontend"]}}]
    to: [{operation: {methods: ["GET"], paths: ["/reviews/*"]}}]
`,
  );
  server = startCli(["run", "--config", serverDir, "--certs", serverCerts.dir, "--namespace", "shop", "--workers", "1", "--outbound", "off", "--admin-port", String(ports.serverAdmin), "--stats-port", String(ports.serverStats), "--no-watch"]);

  const clientDir = await tempDir();
  await writeConfig(
    clientDir,
    "frontend.yaml",
    `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: ${ports.egress}, name: http, protocol: HTTP}]
  subjectAltNames: ["${REVIEWS}"]
  endpoints:
  - address: 127.0.0.1
    ports: {http: ${ports.ingress}}
    labels: {security.istio.io/tlsMode: istio}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: shop}
spec:
  egress:
  - port: {number: ${ports.egress}, name: http, protocol: HTTP}
    bind: 127.0.0.1
    hosts: ["./*"]
`,
  );
  client = startCli(["run", "--config", clientDir, "--certs", clientCerts.dir, "--namespace", "shop", "--workers", "1", "--outbound", "off", "--admin-port", String(ports.clientAdmin), "--no-watch"]);
  await Promise.all([server.waitReady(ports.serverAdmin), client.waitReady(ports.clientAdmin)]);
}, 30_000);

afterAll(async () => {
  for (const c of [client, server]) {
    if (c && c.child.exitCode === null) {
      c.kill("SIGKILL");
      await c.exited;
    }
  }
  await new Promise<void>((r) => app?.close(() => r()));
});

/** A request to the client sidecar's egress port for `reviews` (fetch cannot set Host). */
function viaClientSidecar(path: string, method = "GET"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: ports.egress, path, method, headers: { host: `reviews.shop.svc.cluster.local:${ports.egress}` } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("two sidecars, mTLS between them", () => {
  it("the call goes over mTLS (auto mTLS) and the app sees Envoy's x-forwarded-client-cert", async () => {
    const r = await viaClientSidecar("/reviews/1");
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body) as { headers: Record<string, string> };
    expect(seen.headers["x-forwarded-client-cert"]).toMatch(new RegExp(`^By=${REVIEWS};Hash=[0-9a-f]{64};Subject="";URI=${FRONTEND}$`));
  });

  it("the server sidecar authorizes by the caller's principal: 403 RBAC: access denied elsewhere", async () => {
    expect(await viaClientSidecar("/admin")).toEqual({ status: 403, body: "RBAC: access denied" });
    expect((await viaClientSidecar("/reviews/1", "POST")).status).toBe(403);
  });

  it("STRICT: plaintext gets no HTTP response at all (curl sees the connection closed)", async () => {
    const r = await run("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${ports.ingress}/reviews/1`]).catch((e: { code: number; stdout: string }) => e);
    expect("code" in r ? r.code : 0).not.toBe(0);
    expect(r.stdout).toBe("000");
  });

  it("curl with the frontend's certificate is let in; without one the handshake fails", async () => {
    const ok = await run("curl", ["-sS", "--http1.1", "--cacert", ca.certFile, "--cert", frontendLeaf.certFile, "--key", frontendLeaf.keyFile, "-k", `https://127.0.0.1:${ports.ingress}/reviews/2`]);
    expect(JSON.parse(ok.stdout)).toMatchObject({ path: "/reviews/2" });
    const noCert = await run("curl", ["-sS", "--http1.1", "-k", `https://127.0.0.1:${ports.ingress}/reviews/2`]).catch((e: { code: number }) => e);
    expect("code" in noCert ? noCert.code : 0).not.toBe(0);
  });

  it("openssl s_client: the server presents the reviews identity and asks for a client certificate", async () => {
    const r = await run("sh", ["-c", `openssl s_client -connect 127.0.0.1:${ports.ingress} -alpn istio-http/1.1,istio,http/1.1 -cert ${frontendLeaf.certFile} -key ${frontendLeaf.keyFile} -CAfile ${ca.certFile} </dev/null 2>&1; true`]);
    expect(r.stdout).toMatch(/Verify return code: 0 \(ok\)/);
    expect(r.stdout).toContain("Acceptable client certificate CA names");
    const text = await run("sh", ["-c", `openssl s_client -connect 127.0.0.1:${ports.ingress} -alpn istio-http/1.1 -cert ${frontendLeaf.certFile} -key ${frontendLeaf.keyFile} -showcerts </dev/null 2>/dev/null | openssl x509 -noout -ext subjectAltName`]);
    expect(text.stdout).toContain(`URI:${REVIEWS}`);
  });

  it("the server sidecar's Istio metrics carry the caller's principal and mutual_tls", async () => {
    await viaClientSidecar("/reviews/3");
    const text = await (await fetch(`http://127.0.0.1:${ports.serverStats}/stats/prometheus`)).text();
    const line = text.split("\n").find((l) => l.startsWith("istio_requests_total{") && l.includes('response_code="200"') && l.includes('reporter="destination"'));
    expect(line).toBeDefined();
    expect(line).toContain('connection_security_policy="mutual_tls"');
    expect(line).toContain(`source_principal="${FRONTEND}"`);
    expect(line).toContain(`destination_principal="${REVIEWS}"`);
  });
});
