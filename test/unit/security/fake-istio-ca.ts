// A fake Istio CA in-process: IstioCertificateService/CreateCertificate over grpc-js with TLS,
// checking the bearer token and ClusterID as istiod does, signing the CSR with a test root.
// It can be told to fail, to sign for a short TTL, or to answer with a broken chain.

import { createRequire } from "node:module";
import type * as Grpc from "@grpc/grpc-js";
import { caServiceDefinition } from "../../../src/security/istio-ca-client.js";
import { createRootCa, signWorkload, type LocalCa } from "../../../src/security/local-ca.js";
import { parseCsr } from "../../../src/security/x509-der.js";
import { issueLeaf, makeRootCa, pkiDir } from "../../helpers/pki.js";
import { readFileSync } from "node:fs";

const grpc = createRequire(import.meta.url)("@grpc/grpc-js") as typeof Grpc;

export interface CaRequestSeen {
  token: string | undefined;
  clusterId: string | undefined;
  uris: string[];
  validityDuration: number;
}

export class FakeIstioCa {
  readonly requests: CaRequestSeen[] = [];
  /** The signing root (its PEM is what clients get as the last element). */
  signing: LocalCa = createRootCa({ org: "cluster.local", keyType: "ec", now: Date.now() });
  /** The root of the CA's own serving certificate (what --ca-root points at). */
  servingRootPem = "";
  port = 0;
  expectedToken = "token-1";
  expectedClusterId = "Kubernetes";
  /** Next answers fail with this gRPC status (then it is cleared when `failTimes` reaches 0). */
  failWith: { code: Grpc.status; details: string } | undefined;
  failTimes = 0;
  /** Overrides the validity the client asked for, seconds. */
  ttlSeconds: number | undefined;
  /** Answer with the leaf only (istio-agent refuses chains shorter than 2). */
  leafOnly = false;
  private server = new grpc.Server();

  async start(): Promise<void> {
    const dir = pkiDir("fake-ca-");
    const root = makeRootCa(dir, "Fake CA serving root");
    const serving = issueLeaf(root, { dns: ["localhost"], cn: "istiod" });
    this.servingRootPem = root.rootPem;
    this.server.addService(caServiceDefinition(), { CreateCertificate: (call: Grpc.ServerUnaryCall<{ csr: string; validity_duration: number }, unknown>, cb: Grpc.sendUnaryData<unknown>) => this.handle(call, cb) });
    const creds = grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(serving.certPem), private_key: Buffer.from(readFileSync(serving.keyFile, "utf8")) }]);
    this.port = await new Promise<number>((res, rej) => this.server.bindAsync("localhost:0", creds, (e, p) => (e ? rej(e) : res(p))));
  }

  get address(): string {
    return `localhost:${this.port}`;
  }

  private handle(call: Grpc.ServerUnaryCall<{ csr: string; validity_duration: number }, unknown>, cb: Grpc.sendUnaryData<unknown>): void {
    const auth = call.metadata.get("authorization")[0];
    const token = typeof auth === "string" && auth.startsWith("Bearer ") ? auth.slice(7) : undefined;
    const clusterId = call.metadata.get("clusterid")[0] as string | undefined;
    let uris: string[] = [];
    try {
      const der = Buffer.from(call.request.csr.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
      const csr = parseCsr(der);
      uris = csr.uris;
      this.requests.push({ token, clusterId, uris, validityDuration: Number(call.request.validity_duration) });
      if (token !== this.expectedToken) return cb({ code: grpc.status.UNAUTHENTICATED, details: "authenticate failure: token rejected" });
      if (clusterId !== this.expectedClusterId) return cb({ code: grpc.status.UNAUTHENTICATED, details: `unknown ClusterID ${clusterId}` });
      if (this.failWith !== undefined && this.failTimes > 0) {
        this.failTimes--;
        return cb(this.failWith);
      }
      const ttl = this.ttlSeconds ?? Number(call.request.validity_duration);
      const leaf = signWorkload(this.signing, { subjectKey: csr.publicKey, uris, ttlMs: ttl * 1000, now: Date.now() });
      cb(null, { cert_chain: this.leafOnly ? [leaf] : [leaf, this.signing.certPem] });
    } catch (e) {
      cb({ code: grpc.status.INVALID_ARGUMENT, details: (e as Error).message });
    }
  }

  close(): Promise<void> {
    return new Promise((res) => this.server.tryShutdown(() => res()));
  }
}
