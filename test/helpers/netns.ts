// Network-namespace plumbing for the e2e tests that run things behind real iptables rules (the
// iptables script's own tests and the sidecar capture tests): prerequisites, a "pod"/"peer" pair
// of namespaces joined by a veth pair, servers and clients run inside them as chosen uids.

import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { repoRoot } from "./cli-process.js";

export const script = join(repoRoot, "init-container/outrigger-iptables");
export const bash = spawnSync("bash", ["-c", "command -v bash"], { encoding: "utf8" }).stdout.trim() || "/bin/bash";
export const optedOut = process.env.OUTRIGGER_E2E_NETNS === "0";

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function sh(cmd: string, args: string[], input?: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { encoding: "utf8", timeout: 20_000 }, (err, stdout, stderr) => {
      // a non-zero exit carries its status in err.code; anything else (not found, killed) is 127
      const status = (err as { code?: unknown } | null)?.code;
      const code = err === null ? 0 : typeof status === "number" ? status : 127;
      resolve({ code, stdout, stderr: code === 127 ? `${stderr}${err!.message}` : stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

export async function must(cmd: string, args: string[]): Promise<string> {
  const r = await sh(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

export const inNs = (ns: string, args: string[]): Promise<Result> => sh("ip", ["netns", "exec", ns, ...args]);

/** What this machine lacks for these tests, each with what provides it. */
export function missingPrerequisites(extra: Array<[string, string]> = []): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root (these tests create network namespaces and iptables rules)");
  const tools: Array<[string, string]> = [
    ["ip", "iproute2"],
    ["iptables", "iptables"],
    ["ip6tables", "iptables"],
    ["iptables-nft", "iptables"],
    ["iptables-legacy", "iptables"],
    ["setpriv", "util-linux"],
    ["socat", "socat"],
    ["timeout", "coreutils"],
    ...extra,
  ];
  for (const [tool, pkg] of tools) {
    if (spawnSync(bash, ["-c", `command -v ${tool}`]).status !== 0) missing.push(`${tool} (apt-get install ${pkg})`);
  }
  if (missing.length === 0) {
    const probe = `oiprobe${process.pid}`;
    const add = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
    if (add.status !== 0) missing.push(`network namespaces (ip netns add: ${add.stderr.trim()})`);
    else spawnSync("ip", ["netns", "del", probe]);
  }
  return missing;
}

/** Throws naming what is missing (and how to opt out); the suites call it in beforeAll so they fail, never skip silently. */
export function requirePrerequisites(what: string, extra: Array<[string, string]> = []): void {
  const missing = missingPrerequisites(extra);
  if (missing.length > 0) {
    throw new Error(`${what} cannot run, missing: ${missing.join("; ")}. Install them, or set OUTRIGGER_E2E_NETNS=0 to skip these tests.`);
  }
  reachableByOtherUsers(repoRoot);
}

/**
 * These tests run the checkout's own files as other uids (the proxy as 1337, apps as 1000, the
 * iptables script as nobody). A checkout under a private directory (`mktemp -d` makes 0700 ones)
 * is out of their reach: give every directory from `/` down to it the search bit for others —
 * the tests run as root — and nothing more (no listing, no reading of other files).
 */
function reachableByOtherUsers(path: string): void {
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    const mode = statSync(dir).mode & 0o7777;
    if ((mode & 0o001) === 0) chmodSync(dir, mode | 0o001);
    if (dir === dirname(dir)) return;
  }
}

// ------------------------------------------------------------------ topology

let topologies = 0;

/** pod (10.77.1.2, fd77:1::2) <-veth-> peer (10.77.1.1, fd77:1::1; also 10.99.0.1, 10.98.0.1, fd99::1, fd98::1 on lo). */
export class Topology {
  readonly pod: string;
  readonly peer: string;
  readonly podIp = "10.77.1.2";
  readonly podIp6 = "fd77:1::2";
  /** The pod's end of the veth pair. */
  readonly podIf: string;
  private readonly peerIf: string;
  protected readonly children: ChildProcess[] = [];

  constructor(tag: string) {
    const n = ++topologies;
    const id = `${process.pid.toString(36)}${n}`;
    this.pod = `oi-${tag}-pod-${id}`;
    this.peer = `oi-${tag}-peer-${id}`;
    this.podIf = `oip${id}`.slice(0, 15);
    this.peerIf = `oiq${id}`.slice(0, 15);
  }

  async create(): Promise<void> {
    const vPod = this.podIf;
    const vPeer = this.peerIf;
    await must("ip", ["netns", "add", this.pod]);
    await must("ip", ["netns", "add", this.peer]);
    await must("ip", ["link", "add", vPod, "netns", this.pod, "type", "veth", "peer", "name", vPeer, "netns", this.peer]);
    const steps: Array<[string, string[]]> = [
      [this.pod, ["link", "set", "lo", "up"]],
      [this.peer, ["link", "set", "lo", "up"]],
      [this.pod, ["addr", "add", "10.77.1.2/24", "dev", vPod]],
      [this.peer, ["addr", "add", "10.77.1.1/24", "dev", vPeer]],
      [this.pod, ["-6", "addr", "add", "fd77:1::2/64", "dev", vPod, "nodad"]],
      [this.peer, ["-6", "addr", "add", "fd77:1::1/64", "dev", vPeer, "nodad"]],
      [this.pod, ["link", "set", vPod, "up"]],
      [this.peer, ["link", "set", vPeer, "up"]],
      [this.pod, ["route", "add", "default", "via", "10.77.1.1"]],
      [this.pod, ["-6", "route", "add", "default", "via", "fd77:1::1"]],
      [this.peer, ["addr", "add", "10.99.0.1/32", "dev", "lo"]],
      [this.peer, ["addr", "add", "10.98.0.1/32", "dev", "lo"]],
      [this.peer, ["-6", "addr", "add", "fd99::1/128", "dev", "lo", "nodad"]],
      [this.peer, ["-6", "addr", "add", "fd98::1/128", "dev", "lo", "nodad"]],
    ];
    for (const [ns, args] of steps) await must("ip", ["-n", ns, ...args]);
  }

  /** TCP servers in `ns` on [port, label] pairs (IPv4 and IPv6): each answers one line, "label local:port from remote". */
  async serve(ns: string, specs: Array<[number, string]>): Promise<void> {
    const code = `const net=require("node:net");const specs=JSON.parse(process.argv[1]);let up=0;
const a=(s)=>String(s).replace(/^::ffff:/,"");
for(const [port,label] of specs){net.createServer((c)=>{c.on("error",()=>{});c.end(label+" "+a(c.localAddress)+":"+c.localPort+" from "+a(c.remoteAddress)+"\\n")})
.listen({port,host:"::",ipv6Only:false},()=>{if(++up===specs.length)console.log("ready")});}`;
    await this.started(spawn("ip", ["netns", "exec", ns, process.execPath, "-e", code, JSON.stringify(specs)], { stdio: ["ignore", "pipe", "pipe"] }));
  }

  /** A transparent (IP_TRANSPARENT) listener, as TPROXY requires, answering "label local port P from remote". */
  async serveTransparent(ns: string, port: number, label: string): Promise<void> {
    // (":" and "," separate socat options, so the reply avoids them)
    const reply = `SYSTEM:echo ${label} \\$SOCAT_SOCKADDR port \\$SOCAT_SOCKPORT from \\$SOCAT_PEERADDR`;
    const child = spawn("ip", ["netns", "exec", ns, "socat", "-d", "-d", `TCP4-LISTEN:${port},ip-transparent,reuseaddr,fork`, reply], { stdio: ["ignore", "pipe", "pipe"] });
    await this.started(child, /listening on/);
  }

  started(child: ChildProcess, ready = /ready/): Promise<void> {
    this.children.push(child);
    return new Promise((resolve, reject) => {
      let out = "";
      const check = (d: Buffer): void => {
        out += d.toString();
        if (ready.test(out)) resolve();
      };
      child.stdout!.on("data", check);
      child.stderr!.on("data", check);
      child.on("exit", (code) => reject(new Error(`server exited ${code} before it was ready: ${out}`)));
    });
  }

  /** Connects from `ns` as uid:gid and returns the one line the server answered (or why not). */
  async dial(ns: string, host: string, port: number, uid = 1000, gid = uid): Promise<string> {
    const r = await inNs(ns, [
      "setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups",
      "timeout", "5", bash, "-c", 'exec 3<>"/dev/tcp/$0/$1" && IFS= read -r -t 4 line <&3; printf "%s" "$line"', host, String(port),
    ]);
    return r.code === 0 ? r.stdout : `no answer (exit ${r.code}) ${r.stderr.trim()}`;
  }

  iptables(ns: string, args: string[]): Promise<Result> {
    return inNs(ns, [bash, script, ...args]);
  }

  /** iptables-save without its timestamped comments and packet counters. */
  async save(ns: string, bin = "iptables-save"): Promise<string> {
    const out = await must("ip", ["netns", "exec", ns, bin]);
    return out
      .split("\n")
      .filter((l) => !l.startsWith("#"))
      .map((l) => l.replace(/ \[\d+:\d+\]$/, ""))
      .join("\n");
  }

  async destroy(): Promise<void> {
    for (const c of this.children) c.kill("SIGKILL");
    await Promise.all(this.children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once("exit", r)))));
    for (const ns of [this.pod, this.peer]) await sh("ip", ["netns", "del", ns]);
  }
}

