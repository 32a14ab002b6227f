// outrigger-envoy as pilot-agent runs it: the real binary, started with the exact command line
// pilot-agent passes (istio pkg/envoy/proxy.go) from a working directory laid out as the
// istio-proxy container's (`./etc/istio/proxy/envoy-rev.json`, the XDS socket beside it, relative
// paths as pilot-agent writes them), pilot-agent's rendered bootstrap (istio's default golden, fixed
// ports rewritten to free ones) and a fake istiod on the Unix socket serving, over delta ADS (the
// bootstrap's DELTA_GRPC), the Envoy resources of an Istio YAML mesh. Then pilot-agent's
// readiness probes (its four stat queries, sent unescaped), traffic through the pushed listener,
// `POST /drain_listeners?inboundonly&graceful` (the static 15021 health listener stays up) and the
// SIGKILL pilot-agent ends it with.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, relative } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { envoyResources } from "../../src/admin/config-dump/envoy-resources.js";
import { createLogger } from "../../src/common/logger.js";
import type { Json } from "../../src/config/envoy/decoded.js";
import { resourceTypeOfUrl } from "../../src/config/envoy/type-urls.js";
import type { ResourceType } from "../../src/config/source/config-source.js";
import { IstioFileSource } from "../../src/config/source/istio-file-source.js";
import { FakeXdsServer } from "../helpers/fake-xds-server.js";
import { pilotAgentBootstrap } from "../helpers/pilot-agent-bootstrap.js";
import { meshYaml, repoRoot, tempDir, writeConfig } from "../helpers/cli-process.js";
import { rawExchange } from "../helpers/raw-client.js";
import { freePort, startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";
import { waitForAsync } from "../helpers/wait.js";

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The Envoy resources (proto JSON with @type) istiod would push for `meshYaml`, by xDS type. */
async function meshResources(port: number, upstream: number): Promise<Map<ResourceType, Json[]>> {
  const dir = await tempDir();
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await writeConfig(dir, "mesh.yaml", meshYaml("shop", port, [upstream]));
  const files = new IstioFileSource([dir], { namespace: "shop", proxyLabels: { app: "client" }, domainSuffix: "cluster.local", defaultOutbound: { address: "127.0.0.1", port: await freePort() } }, createLogger("off"));
  const update = await files.read();
  expect(update.errors ?? []).toEqual([]);
  const parts = { version: "1", listeners: [] as J[], routeConfigs: {} as J, clusters: {} as J };
  for (const u of update.updates) {
    if (u.kind !== "state-of-the-world") continue;
    if (u.type === "listener") parts.listeners = Object.values(u.resources);
    if (u.type === "routeConfiguration") parts.routeConfigs = u.resources;
    if (u.type === "cluster") parts.clusters = u.resources;
  }
  const byType = new Map<ResourceType, Json[]>();
  for (const r of envoyResources(parts as never)) {
    const t = resourceTypeOfUrl(String(r["@type"]))!;
    byType.set(t, [...(byType.get(t) ?? []), r]);
  }
  return byType;
}

async function fakeAgent(): Promise<{ port: number; seen: string[] }> {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req.url ?? "");
    res.end("agent ok");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as AddressInfo).port, seen };
}

/** pilot-agent's stat query, unescaped on a raw socket as its Go client sends it; each line split on ':' in exactly 2 parts. */
async function agentStats(adminPort: number, filter: string): Promise<Map<string, number>> {
  const text = await rawExchange(adminPort, `GET /stats?usedonly&filter=${filter} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  const body = text.slice(text.indexOf("\r\n\r\n") + 4);
  const out = new Map<string, number>();
  for (const line of body.split("\n").filter((l) => l !== "")) {
    const parts = line.split(":");
    expect(parts).toHaveLength(2);
    out.set(parts[0]!.trim(), Number(parts[1]!.trim()));
  }
  return out;
}

describe("outrigger-envoy under pilot-agent's lifecycle", () => {
  it("starts from pilot-agent's bootstrap and argv, gets ready on delta ADS, routes, drains inbound only, dies by SIGKILL", async () => {
    const upstream: EchoUpstream = await startEchoUpstream("reviews");
    cleanups.push(() => upstream.close());
    const agent = await fakeAgent();
    const ports = { admin: await freePort(), health: await freePort(), stats: await freePort(), mesh: await freePort() };

    // The container's working directory: ./etc/istio/proxy/{envoy-rev.json, XDS}.
    const cwd = await tempDir("outrigger-pod-");
    cleanups.push(() => rm(cwd, { recursive: true, force: true }));
    await mkdir(join(cwd, "etc/istio/proxy"), { recursive: true });
    const istiod = await FakeXdsServer.start();
    cleanups.push(() => istiod.close());

    const json = await pilotAgentBootstrap({ admin: ports.admin, health: ports.health, stats: ports.stats, agent: agent.port });
    for (const c of json.static_resources.clusters) {
      // Relative to the working directory, as pilot-agent writes ./etc/istio/proxy/XDS.
      if (c.name === "xds-grpc" || c.name === "sds-grpc") c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.pipe.path = `./${relative(cwd, istiod.socketPath)}`;
    }
    expect(json.dynamic_resources.ads_config.api_type).toBe("DELTA_GRPC");
    await writeFile(join(cwd, "etc/istio/proxy/envoy-rev.json"), JSON.stringify(json));

    for (const [type, resources] of await meshResources(ports.mesh, upstream.port)) istiod.set(type, resources);

    const argv = ["-c", "./etc/istio/proxy/envoy-rev.json", "--drain-time-s", "45", "--drain-strategy", "immediate", "--local-address-ip-version", "v4", "--file-flush-interval-msec", "1000", "--disable-hot-restart", "--allow-unknown-static-fields", "-l", "warning", "--component-log-level", "misc:error", "--concurrency", "2"];
    const child: ChildProcess = spawn(process.execPath, [join(repoRoot, "bin/outrigger-envoy.js"), ...argv], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<NodeJS.Signals | number | null>((r) => child.on("exit", (code, signal) => r(signal ?? code)));
    cleanups.push(() => void (child.exitCode === null && child.signalCode === null && child.kill("SIGKILL")));

    // The node is echoed verbatim on the first request; LDS is asked for without waiting for clusters.
    const first = await istiod.waitFor((r) => r.service === "ads" && r.node !== undefined);
    expect(first.mode).toBe("delta");
    expect((first.node as J).id).toBe(json.node.id);
    expect((first.node as J).metadata.ISTIO_VERSION).toBe(json.node.metadata.ISTIO_VERSION);
    await istiod.waitFor((r) => r.type === "listener");

    // pilot-agent's readiness: config received (CDS/LDS success, nothing rejected), then live.
    const config = await waitForAsync(
      async () => {
        const s = await agentStats(ports.admin, "^(cluster_manager\\.cds|listener_manager\\.lds)\\.(update_success|update_rejected)$").catch(() => undefined);
        return s !== undefined && (s.get("cluster_manager.cds.update_success") ?? 0) > 0 && (s.get("listener_manager.lds.update_success") ?? 0) > 0 ? s : undefined;
      },
      20_000,
      `CDS and LDS accepted (stderr: ${stderr})`,
    );
    expect(config.get("cluster_manager.cds.update_rejected")).toBe(0);
    expect(config.get("listener_manager.lds.update_rejected")).toBe(0);
    const live = await waitForAsync(async () => {
      const s = await agentStats(ports.admin, "^(server\\.state|listener_manager\\.workers_started)");
      return s.get("server.state") === 0 && s.get("listener_manager.workers_started") === 1 ? s : undefined;
    }, 10_000, "server LIVE with workers started");
    expect([...live.keys()].sort()).toEqual(["listener_manager.workers_started", "server.state"]);
    expect(istiod.nacks("cluster")).toEqual([]);
    expect(istiod.nacks("listener")).toEqual([]);

    // Through the kubelet's probe path: :15021/healthz/ready → the agent; Prometheus on :15090.
    expect(await (await fetch(`http://127.0.0.1:${ports.health}/healthz/ready`)).text()).toBe("agent ok");
    expect(agent.seen).toContain("/healthz/ready");
    expect(await (await fetch(`http://127.0.0.1:${ports.stats}/stats/prometheus`)).text()).toMatch(/^envoy_server_state\b/m);

    // The pushed listener routes to the mesh service.
    const meshGet = (path: string): Promise<string> => rawExchange(ports.mesh, `GET ${path} HTTP/1.1\r\nHost: svc.shop.svc.cluster.local:${ports.mesh}\r\nConnection: close\r\n\r\n`);
    const r = await meshGet("/hello");
    expect(r).toMatch(/^HTTP\/1.1 200/);
    expect(r).toMatch(/\r\nx-upstream: reviews\r\n/i);

    // pilot-agent on SIGTERM: drain inbound listeners gracefully; the static health listener stays up.
    const drain = await fetch(`http://127.0.0.1:${ports.admin}/drain_listeners?inboundonly&graceful`, { method: "POST" });
    expect(drain.status).toBe(200);
    expect(await (await fetch(`http://127.0.0.1:${ports.health}/healthz/ready`)).text()).toBe("agent ok");
    expect(await meshGet("/again")).toMatch(/^HTTP\/1.1 200/);

    // … then, terminationDrainDuration later, SIGKILL.
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
  }, 60_000);
});
