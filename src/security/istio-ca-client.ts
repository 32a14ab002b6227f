// The Istio CA's CreateCertificate call as istio-agent's citadel client makes it: TLS to the CA
// (verified with --ca-root, else the system roots), `authorization: Bearer <token>` with the token
// file re-read at every call (Kubernetes rotates projected tokens), `ClusterID` metadata, and a
// response of at least two certificates (leaf first, root last).

import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type * as Grpc from "@grpc/grpc-js";
import type * as ProtoLoader from "@grpc/proto-loader";

const require = createRequire(import.meta.url);
// Both are CommonJS: loaded through require so their exports are all there under ESM.
const grpc = require("@grpc/grpc-js") as typeof Grpc;
const protoLoader = require("@grpc/proto-loader") as typeof ProtoLoader;

/** proto/ca.proto, two levels above both src/security and dist/security. */
export const CA_PROTO_PATH = fileURLToPath(new URL("../../proto/ca.proto", import.meta.url));

export interface CaClientOptions {
  /** host:port. */
  address: string;
  /** PEM of the CA's serving root; absent = the system roots. */
  rootPem?: string;
  tokenFile: string;
  clusterId: string;
  /** Per-call deadline, ms. */
  timeoutMs?: number;
}

/** A failed call; `transient` ones (CA unreachable, deadline, token not mounted yet) are worth retrying at start. */
export class CaCallError extends Error {
  constructor(
    message: string,
    readonly transient = false,
  ) {
    super(message);
  }
}

/** gRPC codes a retry may cure (the others are answers: token refused, CSR refused). */
const TRANSIENT_CODES = new Set(["UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED", "INTERNAL", "UNKNOWN"]);

type CreateCertificate = (
  req: { csr: string; validity_duration: number },
  md: Grpc.Metadata,
  opts: Grpc.CallOptions,
  cb: (err: Grpc.ServiceError | null, res?: { cert_chain?: string[] }) => void,
) => void;

/** The service definition from proto/ca.proto (also what the tests' fake CA serves). */
export function caServiceDefinition(): Grpc.ServiceDefinition {
  const def = protoLoader.loadSync(CA_PROTO_PATH, { keepCase: true, longs: Number, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { istio: { v1: { auth: { IstioCertificateService: { service: Grpc.ServiceDefinition } } } } };
  return pkg.istio.v1.auth.IstioCertificateService.service;
}

export class IstioCaClient {
  private readonly client: Grpc.Client;

  constructor(private readonly opts: CaClientOptions) {
    const Ctor = grpc.makeGenericClientConstructor(caServiceDefinition(), "IstioCertificateService");
    const creds = grpc.credentials.createSsl(opts.rootPem !== undefined ? Buffer.from(opts.rootPem) : null);
    this.client = new Ctor(opts.address, creds);
  }

  /** Signs `csrPem`; resolves with the PEM chain (leaf first, root last). */
  async createCertificate(csrPem: string, validitySeconds: number): Promise<string[]> {
    let token: string;
    try {
      token = (await readFile(this.opts.tokenFile, "utf8")).trim();
    } catch (e) {
      throw new CaCallError(`--ca-token-file ${this.opts.tokenFile}: ${(e as Error).message}`, true);
    }
    const md = new grpc.Metadata();
    md.set("authorization", `Bearer ${token}`);
    md.set("ClusterID", this.opts.clusterId);
    const call = (this.client as unknown as { CreateCertificate: CreateCertificate }).CreateCertificate.bind(this.client);
    const chain = await new Promise<string[]>((resolve, reject) => {
      call({ csr: csrPem, validity_duration: validitySeconds }, md, { deadline: Date.now() + (this.opts.timeoutMs ?? 10_000) }, (err, res) => {
        if (err !== null) {
          const code = String(grpc.status[err.code] ?? err.code);
          return reject(new CaCallError(`CreateCertificate on ${this.opts.address} failed: ${code}: ${err.details}`, TRANSIENT_CODES.has(code)));
        }
        resolve(res?.cert_chain ?? []);
      });
    });
    // istio-agent: "invalid empty CertChain" unless there is a leaf and a root.
    if (chain.length < 2) throw new CaCallError(`CreateCertificate on ${this.opts.address}: invalid CertChain of ${chain.length} certificate(s), expected the leaf and the root`);
    return chain;
  }

  close(): void {
    this.client.close();
  }
}
