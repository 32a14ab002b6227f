// One Outrigger sidecar through the real CLI for the HTTP/2 and gRPC e2e tests: outbound services
// (a ServiceEntry per service, a Sidecar egress listener per port on 127.0.0.1) and inbound ports
// (Sidecar ingress → the app), each with the port protocol under test (HTTP, HTTP2, GRPC or none:
// detected), plus extra Istio YAML (VirtualService, DestinationRule, …).

import { readFile } from "node:fs/promises";
import { startCli, tempDir, writeConfig, type CliProcess } from "./cli-process.js";
import { freePort } from "./upstreams.js";

export type PortProtocol = "HTTP" | "HTTP2" | "GRPC" | undefined;

export interface OutboundService {
  /** Short name: the host is `<name>.<ns>.svc.cluster.local`. */
  name: string;
  protocol: PortProtocol;
  /** Endpoints' port (127.0.0.1). */
  endpointPort: number;
  /** The service (= egress listener) port; a free one when unset. */
  port?: number;
}

export interface InboundPort {
  protocol: PortProtocol;
  /** The app's port (127.0.0.1), Sidecar ingress defaultEndpoint. */
  appPort: number;
  port?: number;
}

export interface H2Mesh {
  cli: CliProcess;
  admin: number;
  ns: string;
  /** Listener port by outbound service name. */
  outbound: Record<string, number>;
  /** Inbound listener ports, in the order given. */
  inbound: number[];
  /** `<name>.<ns>.svc.cluster.local:<port>`: the authority a mesh client uses for service `name`. */
  authority(name: string): string;
  /** Envoy's cluster name of outbound service `name`. */
  cluster(name: string): string;
  stop(): Promise<void>;
}

// A port without protocol gets a name with no protocol prefix: Sidecar ports infer one from it.
const portName = (p: PortProtocol): string => (p === undefined ? "undeclared" : p.toLowerCase());
const portSpec = (n: number, p: PortProtocol): string => `{number: ${n}, name: ${portName(p)}${p ? `, protocol: ${p}` : ""}}`;

/**
 * An outbound service without protocol still gets an HTTP egress listener (detection needs
 * --intercept); its cluster then speaks the downstream's protocol, as istiod builds it.
 */
export function h2MeshYaml(ns: string, outbound: Array<Required<OutboundService>>, inbound: Array<Required<InboundPort>>): string {
  const docs: string[] = [];
  for (const s of outbound) {
    docs.push(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${s.name}, namespace: ${ns}}
spec:
  hosts: [${s.name}.${ns}.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [${portSpec(s.port, s.protocol)}]
  endpoints:
  - address: 127.0.0.1
    ports: {${portName(s.protocol)}: ${s.endpointPort}}
`);
  }
  const egress = outbound.map((s) => `  - port: ${portSpec(s.port, s.protocol ?? "HTTP")}\n    bind: 127.0.0.1\n    hosts: ["./*"]\n`).join("");
  const ingress = inbound.map((i) => `  - port: ${portSpec(i.port, i.protocol)}\n    bind: 127.0.0.1\n    defaultEndpoint: 127.0.0.1:${i.appPort}\n`).join("");
  docs.push(`apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: ${ns}}
spec:
${ingress ? `  ingress:\n${ingress}` : ""}${egress ? `  egress:\n${egress}` : ""}`);
  return docs.join("---\n");
}

export interface StartH2MeshOptions {
  ns?: string;
  outbound?: OutboundService[];
  inbound?: InboundPort[];
  /** More Istio YAML documents (VirtualService, DestinationRule, …), in the namespace `ns`. */
  extraYaml?: string;
  workers?: number;
  args?: string[];
  env?: NodeJS.ProcessEnv;
}

/** Writes the YAML, starts `outrigger run` and resolves once /ready answers 200. */
export async function startH2Mesh(opts: StartH2MeshOptions): Promise<H2Mesh> {
  const ns = opts.ns ?? "h2";
  const outbound: Array<Required<OutboundService>> = [];
  for (const s of opts.outbound ?? []) outbound.push({ ...s, port: s.port ?? (await freePort()) });
  const inbound: Array<Required<InboundPort>> = [];
  for (const i of opts.inbound ?? []) inbound.push({ ...i, port: i.port ?? (await freePort()) });
  const admin = await freePort();
  const dir = await tempDir("outrigger-h2-");
  await writeConfig(dir, "mesh.yaml", h2MeshYaml(ns, outbound, inbound) + (opts.extraYaml ? `---\n${opts.extraYaml}` : ""));
  const cli = startCli(
    ["run", "--config", dir, "--namespace", ns, "--workers", String(opts.workers ?? 2), "--admin-port", String(admin), "--outbound", "off", "--no-watch", ...(opts.args ?? [])],
    opts.env,
  );
  await cli.waitReady(admin, 20_000);
  const host = (name: string): string => `${name}.${ns}.svc.cluster.local`;
  const portOf = (name: string): number => {
    const s = outbound.find((x) => x.name === name);
    if (!s) throw new Error(`no outbound service ${name}`);
    return s.port;
  };
  return {
    cli,
    admin,
    ns,
    outbound: Object.fromEntries(outbound.map((s) => [s.name, s.port])),
    inbound: inbound.map((i) => i.port),
    authority: (name) => `${host(name)}:${portOf(name)}`,
    cluster: (name) => `outbound|${portOf(name)}||${host(name)}`,
    stop: async () => {
      if (cli.child.exitCode === null) {
        cli.kill("SIGKILL");
        await cli.exited;
      }
    },
  };
}

/** The proxy's Envoy-style counters and gauges from the admin `/stats`, by name. */
export async function adminStats(admin: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${admin}/stats`)).text();
  const m = new Map<string, number>();
  for (const line of text.split("\n")) {
    const hit = /^(\S+): (\d+)$/.exec(line);
    if (hit) m.set(hit[1]!, Number(hit[2]));
  }
  return m;
}

/** VmRSS of a process, in bytes (Linux /proc). */
/** The proxy's live memory from the admin `/memory` (`allocated`: JS heaps and off-heap buffers of every thread), bytes. */
export async function allocatedBytes(admin: number): Promise<number> {
  const j = (await (await fetch(`http://127.0.0.1:${admin}/memory`)).json()) as { allocated: string };
  return Number(j.allocated);
}

export async function rssBytes(pid: number): Promise<number> {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}
