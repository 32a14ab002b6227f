// HTTP/2 test upstreams: real node:http2 servers (cleartext prior-knowledge or TLS with ALPN h2)
// on 127.0.0.1:0 that record sessions and streams and answer through a handler (default: echo
// JSON of what arrived, with the body's length and sha256).

import { createHash } from "node:crypto";
import { createSecureServer, createServer, type Http2Server, type Http2SecureServer, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream, type Settings } from "node:http2";
import type { AddressInfo, Socket } from "node:net";

export type H2Handler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, body: Buffer) => void;

export interface H2Upstream {
  port: number;
  /** Sessions (connections) accepted so far. */
  sessions: ServerHttp2Session[];
  /** Request headers of every stream, in arrival order. */
  requests: IncomingHttpHeaders[];
  /** Streams open right now, and the most ever open at once. */
  inFlight(): number;
  maxInFlight(): number;
  /** The accepted TCP sockets (to drop a connection without GOAWAY or RST_STREAM). */
  sockets: Socket[];
  /** ALPN protocols the clients offered (TLS only). */
  alpnOffered: string[][];
  close(): Promise<void>;
}

export interface H2UpstreamOptions {
  settings?: Settings;
  /** Answer as soon as the headers arrive (do not wait for the body). */
  onHeaders?: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;
  tls?: { certPem: string; keyPem: string };
}

/** Default handler: 200 JSON {path, method, authority, headers, bodyLength, sha256}. */
export const echoH2: H2Handler = (stream, headers, body) => {
  const out = JSON.stringify({
    path: headers[":path"],
    method: headers[":method"],
    authority: headers[":authority"],
    scheme: headers[":scheme"],
    headers,
    bodyLength: body.length,
    sha256: createHash("sha256").update(body).digest("hex"),
  });
  if (stream.destroyed) return;
  stream.respond({ ":status": 200, "content-type": "application/json", "content-length": Buffer.byteLength(out) });
  stream.end(out);
};

export async function startH2Upstream(handler: H2Handler = echoH2, opts: H2UpstreamOptions = {}): Promise<H2Upstream> {
  const sessions: ServerHttp2Session[] = [];
  const requests: IncomingHttpHeaders[] = [];
  const alpnOffered: string[][] = [];
  let inFlight = 0;
  let max = 0;
  const server: Http2Server | Http2SecureServer =
    opts.tls !== undefined
      ? createSecureServer({ cert: opts.tls.certPem, key: opts.tls.keyPem, ALPNCallback: ({ protocols }) => (alpnOffered.push(protocols), protocols.includes("h2") ? "h2" : undefined), ...(opts.settings ? { settings: opts.settings } : {}) })
      : createServer(opts.settings ? { settings: opts.settings } : {});
  const sockets: Socket[] = [];
  server.on(opts.tls !== undefined ? "secureConnection" : "connection", (sock: Socket) => sockets.push(sock));
  server.on("session", (s: ServerHttp2Session) => {
    sessions.push(s);
    s.on("error", () => {});
  });
  server.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    requests.push(headers);
    inFlight++;
    max = Math.max(max, inFlight);
    stream.on("close", () => inFlight--);
    stream.on("error", () => {});
    if (opts.onHeaders !== undefined) {
      opts.onHeaders(stream, headers);
      return;
    }
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => handler(stream, headers, Buffer.concat(chunks)));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    sessions,
    sockets,
    requests,
    inFlight: () => inFlight,
    maxInFlight: () => max,
    alpnOffered,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sessions) s.destroy();
        server.close(() => r());
      }),
  };
}
