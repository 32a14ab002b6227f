// TLS upstreams for upstream-TLS tests: the real `openssl s_server` (its stdout shows the SNI, ALPN
// and client certificate it saw, and "Reused" sessions) and node:https / node:tls servers that
// record every byte they receive. Contexts in the shapes istiod writes (ISTIO_MUTUAL) and a test
// PKI from test/helpers/pki.ts.

import { spawn, type ChildProcess } from "node:child_process";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from "node:tls";
import { ROOT_CA_SECRET, TLS_TRANSPORT_SOCKET, WORKLOAD_SECRET, type Secret, type TransportSocketConfig, type UpstreamTlsContext } from "../../src/config/model/types.js";
import type { Ca, Leaf } from "./pki.js";
import { freePort } from "./upstreams.js";

/** The snapshot secrets istio-agent would serve for this workload certificate. */
export function istioSecrets(leaf: Leaf, ca: Ca): Record<string, Secret> {
  return {
    [WORKLOAD_SECRET]: { name: WORKLOAD_SECRET, tlsCertificate: { certificateChain: leaf.chainPem, privateKey: leaf.keyPem } },
    [ROOT_CA_SECRET]: { name: ROOT_CA_SECRET, validationContext: { trustedCa: ca.rootPem } },
  };
}

/** An UpstreamTlsContext as istiod writes ISTIO_MUTUAL (workload cert, ROOTCA, exact SPIFFE SAN). */
export function istioMutualContext(opts: { sni?: string; san?: string; alpn?: string[]; acceptUntrusted?: boolean }): UpstreamTlsContext {
  return {
    ...(opts.sni !== undefined ? { sni: opts.sni } : {}),
    commonTlsContext: {
      tlsParams: { tlsMinimumProtocolVersion: "TLSv1_2", tlsMaximumProtocolVersion: "TLSv1_3" },
      alpnProtocols: opts.alpn ?? ["istio-peer-exchange", "istio"],
      tlsCertificateSdsSecretConfigs: [{ name: WORKLOAD_SECRET }],
      combinedValidationContext: {
        defaultValidationContext: {
          ...(opts.san !== undefined ? { matchTypedSubjectAltNames: [{ sanType: "URI" as const, matcher: { exact: opts.san } }] } : {}),
          ...(opts.acceptUntrusted === true ? { trustChainVerification: "ACCEPT_UNTRUSTED" as const } : {}),
        },
        validationContextSdsSecretConfig: { name: ROOT_CA_SECRET },
      },
    },
  };
}

export function tlsSocketConfig(ctx: UpstreamTlsContext): TransportSocketConfig {
  return { name: TLS_TRANSPORT_SOCKET, typedConfig: ctx };
}

export interface OpensslServer {
  port: number;
  /** Everything s_server printed so far. */
  output(): string;
  /** Resolves once `text` appears in the output. */
  printed(text: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * `openssl s_server` (with `-www` it answers each GET with its status page, which shows the client
 * certificate and whether the session was reused). Line-buffered so its log is read as it happens.
 * It prints the client's SNI only when given `-servername`.
 */
export async function startOpensslServer(args: string[]): Promise<OpensslServer> {
  const port = await freePort();
  const child: ChildProcess = spawn("stdbuf", ["-oL", "openssl", "s_server", "-accept", String(port), "-4", ...args], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  const onData = (c: Buffer): void => {
    out += c.toString("latin1");
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (out.includes(waiters[i]!.text)) waiters.splice(i, 1)[0]!.resolve();
    }
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const printed = (text: string): Promise<void> => (out.includes(text) ? Promise.resolve() : new Promise((resolve) => waiters.push({ text, resolve })));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  await Promise.race([printed("ACCEPT"), exited.then(() => Promise.reject(new Error(`openssl s_server exited: ${out}`)))]);
  return {
    port,
    output: () => out,
    printed,
    close: async () => {
      child.kill();
      await exited;
    },
  };
}

export interface RecordingTlsServer {
  port: number;
  /** Bytes of application data received over all connections. */
  received(): number;
  /** TLS connections that completed their handshake on the server's side. */
  handshakes: TLSSocket[];
  close(): Promise<void>;
  server: TlsServer | HttpsServer;
}

/** An HTTPS server (HTTP/1.1) with this certificate, answering 200 `hello over tls`, counting every byte it reads. */
export async function startHttpsUpstream(
  cert: { certPem: string; keyPem: string; chainPem?: string },
  opts: { ca?: string; requestCert?: boolean; alpn?: string[] } = {},
): Promise<RecordingTlsServer & { peerCerts: string[]; alpn: Array<string | false | null>; requests(): number; tcpOpened(): number; tcpClosed(): number }> {
  let bytes = 0;
  let requests = 0;
  let opened = 0;
  let closed = 0;
  const handshakes: TLSSocket[] = [];
  const peerCerts: string[] = [];
  const alpn: Array<string | false | null> = [];
  const server = createHttpsServer(
    {
      cert: cert.chainPem ?? cert.certPem,
      key: cert.keyPem,
      ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
      requestCert: opts.requestCert ?? false,
      rejectUnauthorized: false,
      ...(opts.alpn !== undefined ? { ALPNProtocols: opts.alpn } : {}),
    },
    (req, res) => {
      requests++;
      req.resume();
      req.on("end", () => res.end("hello over tls"));
    },
  );
  server.on("secureConnection", (s: TLSSocket) => {
    handshakes.push(s);
    alpn.push(s.alpnProtocol);
    const peer = s.getPeerX509Certificate();
    peerCerts.push(peer?.subjectAltName ?? "");
    s.on("data", (c: Buffer) => (bytes += c.length));
  });
  server.on("tlsClientError", () => {});
  server.on("connection", (s: Socket) => {
    opened++;
    s.once("close", () => closed++);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    received: () => bytes,
    requests: () => requests,
    tcpOpened: () => opened,
    tcpClosed: () => closed,
    handshakes,
    peerCerts,
    alpn,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A TLS echo server (for tcp_proxy): echoes what it reads; records ALPN and received bytes. */
export async function startTlsEcho(cert: { certPem: string; keyPem: string }, opts: { alpn?: string[] } = {}): Promise<RecordingTlsServer & { alpnOffered: string[][] }> {
  let bytes = 0;
  const handshakes: TLSSocket[] = [];
  const alpnOffered: string[][] = [];
  const server = createTlsServer({
    cert: cert.certPem,
    key: cert.keyPem,
    ALPNCallback: ({ protocols }) => {
      alpnOffered.push(protocols);
      return opts.alpn?.find((p) => protocols.includes(p));
    },
  }, (s) => {
    handshakes.push(s);
    s.on("data", (c: Buffer) => {
      bytes += c.length;
      s.write(c);
    });
    s.on("end", () => s.end());
    s.on("error", () => {});
  });
  server.on("tlsClientError", () => {});
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    received: () => bytes,
    handshakes,
    alpnOffered,
    server,
    close: () =>
      new Promise<void>((r) => {
        for (const s of handshakes) s.destroy();
        server.close(() => r());
      }),
  };
}
