// SIGTERM as a sidecar sees it in Kubernetes: clients keep sending for seconds. The real CLI with
// 2 workers, an inbound (Sidecar ingress → the app) and an outbound (Sidecar egress → a service)
// listener under keep-alive load. Istio drains inbound listeners gracefully (connection: close,
// still accepting) while outbound keeps serving, for terminationDrainDuration, then exits; with
// EXIT_ON_ZERO_ACTIVE_CONNECTIONS it exits once no connection is left.

import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent, request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { startCli, tempDir, writeConfig, type CliProcess } from "../helpers/cli-process.js";
import { openSocket, parseResponses } from "../helpers/raw-client.js";
import { freePort, startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";
import { waitFor } from "../helpers/wait.js";

const NS = "drain";
let cli: CliProcess | undefined;
const ups: EchoUpstream[] = [];

afterEach(async () => {
  if (cli && cli.child.exitCode === null) {
    cli.kill("SIGKILL");
    await cli.exited;
  }
  cli = undefined;
  await Promise.all(ups.splice(0).map((u) => u.close()));
});

function meshWithIngressYaml(inboundPort: number, appPort: number, outboundPort: number, svcPort: number): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc, namespace: ${NS}}
spec:
  hosts: [svc.${NS}.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: ${outboundPort}, name: http, protocol: HTTP}]
  endpoints:
  - address: 127.0.0.1
    ports: {http: ${svcPort}}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: ${NS}}
spec:
  ingress:
  - port: {number: ${inboundPort}, name: http, protocol: HTTP}
    bind: 127.0.0.1
    defaultEndpoint: 127.0.0.1:${appPort}
  egress:
  - port: {number: ${outboundPort}, name: http, protocol: HTTP}
    bind: 127.0.0.1
    hosts: ["./*"]
`;
}

interface Ports {
  inbound: number;
  outbound: number;
  admin: number;
}

/** Starts the app and the service upstreams and the CLI; resolves once /ready says 200. */
async function start(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Ports> {
  const app = await startEchoUpstream("app");
  const svc = await startEchoUpstream("svc");
  ups.push(app, svc);
  const dir = await tempDir();
  const ports: Ports = { inbound: await freePort(), outbound: await freePort(), admin: await freePort() };
  await writeConfig(dir, "mesh.yaml", meshWithIngressYaml(ports.inbound, app.port, ports.outbound, svc.port));
  cli = startCli(["run", "--config", dir, "--workers", "2", "--admin-port", String(ports.admin), "--health-port", "0", "--namespace", NS, "--outbound", "off", "--no-watch", ...args], env);
  await cli.waitReady(ports.admin);
  return ports;
}

interface Outcome {
  listener: "inbound" | "outbound";
  startedAt: number;
  finishedAt: number;
  status: number | undefined;
  connection: string | undefined;
  error: string | undefined;
}

/** One keep-alive request on a new client connection; resolves with status and Connection. */
function freshGet(port: number, host: string): Promise<{ status: number; connection: string | undefined }> {
  // A keep-alive agent of its own: a new connection that does not itself ask for close.
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  return new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path: "/fresh", agent, headers: { host } }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode!, connection: res.headers["connection"] }));
    });
    req.on("error", reject);
    req.end();
  }).finally(() => agent.destroy());
}

describe("SIGTERM drain (CLI process)", () => {
  it("keep-alive load across SIGTERM: zero failed requests, inbound answers connection: close and still accepts, outbound keeps serving, exit after the drain duration", async () => {
    const drainMs = 3_000;
    const p = await start(["--drain-timeout", `${drainMs}ms`]);
    // 20 keep-alive connections: 10 per listener.
    const agent = new Agent({ connections: 10, pipelining: 1 });
    const outcomes: Outcome[] = [];
    let stopAt = Number.POSITIVE_INFINITY;
    const loop = async (listener: "inbound" | "outbound"): Promise<void> => {
      const port = listener === "inbound" ? p.inbound : p.outbound;
      const host = listener === "inbound" ? `app:${port}` : `svc:${port}`;
      while (Date.now() < stopAt) {
        const o: Outcome = { listener, startedAt: Date.now(), finishedAt: 0, status: undefined, connection: undefined, error: undefined };
        try {
          const r = await request(`http://127.0.0.1:${port}/`, { dispatcher: agent, headers: { host } });
          await r.body.text();
          o.status = r.statusCode;
          o.connection = r.headers["connection"] as string | undefined;
        } catch (e) {
          o.error = (e as Error).message;
        }
        o.finishedAt = Date.now();
        outcomes.push(o);
      }
    };
    const loops = [...Array.from({ length: 10 }, () => loop("inbound")), ...Array.from({ length: 10 }, () => loop("outbound"))];
    await waitFor(() => outcomes.filter((o) => o.status === 200).length >= 200, 10_000, "load under way");

    const sigtermAt = Date.now();
    cli!.kill("SIGTERM");
    // Stop the load well before the deadline: requests after it may fail, as in Istio.
    stopAt = sigtermAt + drainMs - 800;
    // Logged once every worker has marked its inbound listeners draining.
    await cli!.waitForLog(/draining inbound listeners for 3000 ms/);
    const drainingAt = Date.now();
    expect(cli!.child.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${p.admin}/ready`)).status).toBe(503);

    // A new inbound connection during the drain is accepted and answered, with connection: close.
    expect(await freshGet(p.inbound, `app:${p.inbound}`)).toEqual({ status: 200, connection: "close" });
    expect(await freshGet(p.outbound, `svc:${p.outbound}`)).toEqual({ status: 200, connection: undefined });

    await Promise.all(loops);
    const failed = outcomes.filter((o) => o.error !== undefined || o.status !== 200);
    expect(failed).toEqual([]);
    const afterDrain = outcomes.filter((o) => o.startedAt >= drainingAt);
    const inboundAfter = afterDrain.filter((o) => o.listener === "inbound");
    const outboundAfter = afterDrain.filter((o) => o.listener === "outbound");
    expect(inboundAfter.length).toBeGreaterThan(20);
    expect(outboundAfter.length).toBeGreaterThan(20);
    // Every inbound response of the drain says close; outbound keeps its connections alive.
    expect(inboundAfter.filter((o) => o.connection !== "close")).toEqual([]);
    expect(outboundAfter.filter((o) => o.connection === "close")).toEqual([]);
    // Before SIGTERM nothing said close.
    expect(outcomes.filter((o) => o.finishedAt < sigtermAt && o.connection === "close")).toEqual([]);

    expect(await cli!.exited).toBe(0);
    const ranFor = Date.now() - sigtermAt;
    expect(ranFor).toBeGreaterThanOrEqual(drainMs - 100);
    expect(ranFor).toBeLessThan(drainMs + 4_000);
    expect(cli!.stderr()).toMatch(/drained; exiting/);
    await agent.close();
  });

  it("EXIT_ON_ZERO_ACTIVE_CONNECTIONS (istio-agent's environment): waits while a connection is open, exits once it closes, long before the drain duration", async () => {
    const p = await start([], { EXIT_ON_ZERO_ACTIVE_CONNECTIONS: "true", MINIMUM_DRAIN_DURATION: "200ms", TERMINATION_DRAIN_DURATION_SECONDS: "120" });
    const s = await openSocket(p.outbound);
    let out = "";
    s.on("data", (d: Buffer) => (out += d.toString("latin1")));
    s.write(`GET / HTTP/1.1\r\nHost: svc:${p.outbound}\r\n\r\n`);
    await waitFor(() => parseResponses(out).length === 1, 5_000, "response on the held connection");
    const sigtermAt = Date.now();
    cli!.kill("SIGTERM");
    // The poll sees the held connection and keeps the proxy up.
    await cli!.waitForLog(/draining: still 1 active connection/);
    expect(cli!.child.exitCode).toBeNull();
    // Outbound still serves on it meanwhile.
    s.write(`GET /again HTTP/1.1\r\nHost: svc:${p.outbound}\r\n\r\n`);
    await waitFor(() => parseResponses(out).length === 2, 5_000, "second response during the drain");
    expect(parseResponses(out).map((r) => [r.status, r.headers["connection"]])).toEqual([
      [200, undefined],
      [200, undefined],
    ]);
    s.destroy();
    expect(await cli!.exited).toBe(0);
    expect(Date.now() - sigtermAt).toBeLessThan(15_000);
    expect(cli!.stderr()).toMatch(/no active connection left/);
  });

  it("a second SIGINT exits at once (130) instead of waiting out the drain", async () => {
    await start(["--drain-timeout", "120s"]);
    const t0 = Date.now();
    cli!.kill("SIGINT");
    await cli!.waitForLog(/draining inbound listeners for 120000 ms/);
    cli!.kill("SIGINT");
    expect(await cli!.exited).toBe(130);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(cli!.stderr()).toMatch(/second SIGINT/);
  });
});
