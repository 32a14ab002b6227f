// Envoy's Pipe endpoints (the bootstrap's xds-grpc / sds-grpc clusters): a static cluster whose
// host is a Unix socket path, proxied over HTTP and TCP, and shown in /clusters by its path.

import { afterEach, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import { createServer as createNetServer, type Server as NetServer } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Cluster } from "../../src/config/model/types.js";
import { clusterStatus, clustersJson, formatClusters } from "../../src/admin/cluster-status.js";
import { cluster, route, snapshotWith, startProxy } from "../helpers/proxy.js";
import { readUntilEnd, tcpProxyConfig, tcpSnapshot, TcpTestClient } from "../helpers/tcp.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function socketDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "outrigger-pipe-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function listen(server: Server | NetServer, path: string): Promise<void> {
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return new Promise((resolve) => server.listen(path, resolve));
}

function pipeCluster(name: string, path: string): Cluster {
  const c = cluster(name, []);
  c.loadAssignment.endpoints[0]!.lbEndpoints.push({ address: "", port: 0, pipe: path, weight: 1, labels: {}, healthStatus: "HEALTHY" });
  return c;
}

describe("pipe endpoints", () => {
  it("proxies an HTTP request to a Unix socket upstream and names the host by its path", async () => {
    const path = join(await socketDir(), "agent.sock");
    const server = createServer((req, res) => {
      res.setHeader("x-upstream", "unix");
      res.end(`${req.method} ${req.url}`);
    });
    await listen(server, path);
    const snapshot = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "agent" } })] }], [pipeCluster("agent", path)]);
    const p = await startProxy(snapshot);
    cleanups.push(() => p.close());
    const res = await fetch(p.url("/healthz/ready"));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-upstream")).toBe("unix");
    expect(await res.text()).toBe("GET /healthz/ready");
    expect(p.streams[0]?.upstreamHost).toBe(path);
    const status = clusterStatus(snapshot.clusters.agent!, undefined);
    expect(status.hosts[0]).toMatchObject({ address: path, pipe: path, port: 0 });
    expect(formatClusters([status])).toContain(`agent::${path}::health_flags::healthy`);
    const json = clustersJson([status]) as { cluster_statuses: Array<{ host_statuses: Array<{ address: unknown }> }> };
    expect(json.cluster_statuses[0]!.host_statuses[0]!.address).toEqual({ pipe: { path } });
  });

  it("relays TCP to a Unix socket upstream", async () => {
    const path = join(await socketDir(), "echo.sock");
    await listen(createNetServer({ allowHalfOpen: true }, (s) => s.pipe(s)), path);
    const p = await startProxy(await tcpSnapshot(tcpProxyConfig(), [pipeCluster("backend", path)]));
    cleanups.push(() => p.close());
    const c = new TcpTestClient(p.port);
    cleanups.push(() => void c.socket.destroy());
    const all = readUntilEnd(c.socket);
    c.socket.write("over a pipe");
    c.socket.end();
    expect(await all).toBe("over a pipe");
  });

  it("answers 503 UF when nothing listens on the path", async () => {
    const path = join(await socketDir(), "missing.sock");
    const snapshot = await snapshotWith([{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "agent" } })] }], [pipeCluster("agent", path)]);
    const p = await startProxy(snapshot);
    cleanups.push(() => p.close());
    const res = await fetch(p.url("/"));
    expect(res.status).toBe(503);
    expect(p.streams[0]?.responseFlags).toContain("UF");
  });
});
