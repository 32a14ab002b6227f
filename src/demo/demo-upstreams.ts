// Demo upstreams for `outrigger demo`: tiny bookinfo-like HTTP servers that echo what they received
// (method, path, headers) as JSON, so a curl through the proxy shows its rewrites and added headers.

import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface DemoUpstreamSpec {
  service: string;
  version: string;
  port: number;
}

/** Ports the demo config (examples/demo/) points at. */
export const demoUpstreamSpecs: readonly DemoUpstreamSpec[] = [
  { service: "productpage", version: "v1", port: 19080 },
  { service: "reviews", version: "v1", port: 19081 },
  { service: "reviews", version: "v2", port: 19082 },
  { service: "reviews", version: "v3", port: 19083 },
  { service: "ratings", version: "v1", port: 19091 },
];

export interface RunningDemoUpstream extends DemoUpstreamSpec {
  /** The bound port (differs from the spec only when the spec asked for 0). */
  port: number;
}

export interface DemoUpstreams {
  host: string;
  upstreams: RunningDemoUpstream[];
  close(): Promise<void>;
}

export interface DemoUpstreamOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default demoUpstreamSpecs; tests pass port 0. */
  specs?: readonly DemoUpstreamSpec[];
}

/** What every demo upstream answers. */
export interface DemoEcho {
  service: string;
  version: string;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
}

export async function startDemoUpstreams(opts: DemoUpstreamOptions = {}): Promise<DemoUpstreams> {
  const host = opts.host ?? "127.0.0.1";
  const specs = opts.specs ?? demoUpstreamSpecs;
  const servers: Server[] = [];
  const upstreams: RunningDemoUpstream[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  };
  try {
    for (const spec of specs) {
      const server = echoServer(spec);
      await listen(server, spec, host);
      servers.push(server);
      upstreams.push({ ...spec, port: (server.address() as AddressInfo).port });
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { host, upstreams, close };
}

function echoServer(spec: DemoUpstreamSpec): Server {
  return createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const echo: DemoEcho = { service: spec.service, version: spec.version, method: req.method ?? "", path: req.url ?? "", headers: req.headers };
      const body = JSON.stringify(echo, null, 2) + "\n";
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body), "x-demo-upstream": `${spec.service}-${spec.version}` });
      res.end(body);
    });
  });
}

function listen(server: Server, spec: DemoUpstreamSpec, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const why = err.code === "EADDRINUSE" ? "address already in use (is another demo running?)" : err.message;
      reject(new Error(`demo upstream ${spec.service} ${spec.version} cannot listen on ${host}:${spec.port}: ${why}`));
    };
    server.once("error", onError);
    server.listen(spec.port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}
