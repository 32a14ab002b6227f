// A podman pod on this machine, wired as a Kubernetes pod is: the pod is created with no network
// of its own, its network namespace (held by podman's infra container) is named with
// `ip netns attach` and joined by a veth pair to a "peer" namespace of the test's (the rest of the
// cluster). Nothing touches the host's own network: no CNI bridge, no host iptables rules.
//   pod  10.77.2.2/24  <-veth->  peer 10.77.2.1/24
// podman uses the configuration and store scripts/containers/env.sh points at (build/containers/).

import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./cli-process.js";

export const containersDir = process.env.OUTRIGGER_CONTAINERS_DIR ?? join(repoRoot, "build/containers");
/** podman's environment: what scripts/containers/env.sh exports (it also writes the two files). */
export const podmanEnv = {
  ...process.env,
  CONTAINERS_CONF: join(containersDir, "containers.conf"),
  CONTAINERS_STORAGE_CONF: join(containersDir, "storage.conf"),
};

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], timeoutMs = 30_000, env: NodeJS.ProcessEnv = podmanEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: "utf8", timeout: timeoutMs, env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const status = (err as { code?: unknown } | null)?.code;
      const code = err === null ? 0 : typeof status === "number" ? status : 127;
      resolve({ code, stdout, stderr: code === 127 ? `${stderr}${err!.message}` : stderr });
    });
  });
}

export async function must(cmd: string, args: string[], timeoutMs = 30_000): Promise<string> {
  const r = await run(cmd, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

export const podman = (args: string[], timeoutMs = 30_000): Promise<Run> => run("podman", args, timeoutMs);

/** What .ci/run should have installed and this machine lacks. */
export function missingContainerTools(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root (podman here runs rootful, and the pod's network is plumbed with ip netns)");
  const tools: Array<[string, string]> = [
    ["podman", "podman"],
    ["runc", "runc"],
    ["debootstrap", "debootstrap"],
    ["ip", "iproute2"],
    ["curl", "curl"],
  ];
  for (const [tool, pkg] of tools) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) missing.push(`${tool} (apt-get install ${pkg})`);
  }
  // podman 4 builds its pod infra ("pause") image from catatonit when no registry is reachable
  if (!existsSync("/usr/libexec/podman/catatonit") && spawnSync("sh", ["-c", "command -v catatonit"]).status !== 0) {
    missing.push("catatonit (apt-get install catatonit)");
  }
  return missing;
}

let pods = 0;

export class PodmanPod {
  readonly name: string;
  /** The pod's network namespace, named for `ip netns exec`. */
  readonly netns: string;
  /** The test's "rest of the cluster": upstream servers live here and outside clients dial from here. */
  readonly peer: string;
  readonly podIp = "10.77.2.2";
  readonly peerIp = "10.77.2.1";
  private readonly podIf: string;
  private readonly peerIf: string;
  private readonly children: ChildProcess[] = [];
  private readonly containers: string[] = [];

  constructor(tag: string) {
    const id = `${process.pid.toString(36)}${++pods}`;
    this.name = `oi-${tag}-${id}`;
    this.netns = `oi-${tag}-podns-${id}`;
    this.peer = `oi-${tag}-peer-${id}`;
    this.podIf = `oic${id}`.slice(0, 15);
    this.peerIf = `oid${id}`.slice(0, 15);
  }

  /** `hostname`: the pod's (Kubernetes sets it to the pod's name). */
  async create(hostname?: string): Promise<void> {
    const host = hostname !== undefined ? ["--hostname", hostname] : [];
    await must("podman", ["pod", "create", "--name", this.name, "--network", "none", ...host], 120_000);
    await must("podman", ["pod", "start", this.name], 60_000);
    const infra = (await must("podman", ["pod", "inspect", "--format", "{{.InfraContainerID}}", this.name])).trim();
    const pid = (await must("podman", ["inspect", "--format", "{{.State.Pid}}", infra])).trim();
    await must("ip", ["netns", "attach", this.netns, pid]);
    await must("ip", ["netns", "add", this.peer]);
    await must("ip", ["link", "add", this.podIf, "netns", this.netns, "type", "veth", "peer", "name", this.peerIf, "netns", this.peer]);
    const steps: Array<[string, string[]]> = [
      [this.peer, ["link", "set", "lo", "up"]],
      [this.netns, ["addr", "add", `${this.podIp}/24`, "dev", this.podIf]],
      [this.peer, ["addr", "add", `${this.peerIp}/24`, "dev", this.peerIf]],
      [this.netns, ["link", "set", this.podIf, "up"]],
      [this.peer, ["link", "set", this.peerIf, "up"]],
      [this.netns, ["route", "add", "default", "via", this.peerIp]],
    ];
    for (const [ns, args] of steps) await must("ip", ["-n", ns, ...args]);
  }

  /** `podman run --pod` in the foreground (an init container): resolves with its exit. */
  runToEnd(name: string, args: string[], timeoutMs = 60_000): Promise<Run> {
    this.containers.push(`${this.name}-${name}`);
    return podman(["run", "--pod", this.name, "--name", `${this.name}-${name}`, ...args], timeoutMs);
  }

  /** `podman run -d --pod`: a long-running container of the pod. */
  async start(name: string, args: string[]): Promise<string> {
    const full = `${this.name}-${name}`;
    this.containers.push(full);
    await must("podman", ["run", "-d", "--pod", this.name, "--name", full, ...args], 60_000);
    return full;
  }

  /** A process in the peer namespace, resolved once it prints `ready`. */
  async serveInPeer(args: string[]): Promise<void> {
    const child = spawn("ip", ["netns", "exec", this.peer, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    this.children.push(child);
    await new Promise<void>((resolve, reject) => {
      let out = "";
      const check = (d: Buffer): void => {
        out += d.toString();
        if (/ready/.test(out)) resolve();
      };
      child.stdout!.on("data", check);
      child.stderr!.on("data", check);
      child.on("exit", (code) => reject(new Error(`peer server exited ${code} before it was ready: ${out}`)));
    });
  }

  /** curl from the peer namespace (outside the pod): status and body. */
  async curlFromPeer(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    const h = Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]);
    const r = await run("ip", ["netns", "exec", this.peer, "curl", "-sS", "--max-time", "5", "-o", "-", "-w", "\n%{http_code}", ...h, url], 10_000);
    const cut = r.stdout.lastIndexOf("\n");
    const status = Number(r.stdout.slice(cut + 1)) || 0;
    return { status, body: r.code === 0 ? r.stdout.slice(0, cut) : `curl exit ${r.code}: ${r.stderr.trim()}` };
  }

  /** Polls `url` from the peer until it answers 200, within `timeoutMs`. */
  async waitFor200(url: string, timeoutMs: number, what: string): Promise<number> {
    const start = Date.now();
    let last = "";
    while (Date.now() - start < timeoutMs) {
      const r = await this.curlFromPeer(url);
      if (r.status === 200) return Date.now() - start;
      last = `${r.status} ${r.body.slice(0, 200)}`;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${what}: ${url} did not answer 200 within ${timeoutMs} ms (last: ${last})`);
  }

  logs(container: string): Promise<Run> {
    return podman(["logs", `${this.name}-${container}`]);
  }

  async destroy(): Promise<void> {
    for (const c of this.children) c.kill("SIGKILL");
    await podman(["pod", "rm", "--force", "--time", "0", this.name], 60_000);
    for (const c of this.containers) await podman(["rm", "--force", "--time", "0", c], 30_000);
    await run("ip", ["netns", "del", this.netns]);
    await run("ip", ["netns", "del", this.peer]);
  }
}
