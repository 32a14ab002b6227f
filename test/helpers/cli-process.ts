// Runs the real `outrigger` CLI as a child process (the built dist), with helpers to wait for
// readiness and collect its output.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
export const binPath = join(repoRoot, "bin/outrigger.js");

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
  /** Resolves once `GET /ready` answers 200 (or rejects after `timeoutMs`). */
  waitReady(adminPort: number, timeoutMs?: number): Promise<void>;
  waitForLog(re: RegExp, timeoutMs?: number): Promise<string>;
  kill(signal?: NodeJS.Signals): void;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(process.execPath, [binPath, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitReady(adminPort, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`outrigger exited (${child.exitCode}):\n${err}`);
        try {
          const r = await fetch(`http://127.0.0.1:${adminPort}/ready`);
          if (r.status === 200) return;
        } catch {
          /* not up yet */
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`outrigger not ready after ${timeoutMs} ms:\n${err}`);
    },
    async waitForLog(re, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const m = re.exec(err) ?? re.exec(out);
        if (m) return m[0];
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`no log line matching ${re} after ${timeoutMs} ms:\n${err}`);
    },
    kill(signal = "SIGTERM") {
      child.kill(signal);
    },
  };
}

export async function tempDir(prefix = "outrigger-test-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/**
 * A one-service mesh: ServiceEntry `svc.<ns>.svc.cluster.local` on `port` with one endpoint per
 * upstream port (labelled version v1, v2, …) and a Sidecar egress listener on 127.0.0.1:`port`.
 */
export function meshYaml(ns: string, port: number, upstreamPorts: number[]): string {
  const eps = upstreamPorts.map((p, i) => `  - address: 127.0.0.1\n    ports: {http: ${p}}\n    labels: {version: v${i + 1}}`).join("\n");
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc, namespace: ${ns}}
spec:
  hosts: [svc.${ns}.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: ${port}, name: http, protocol: HTTP}]
  endpoints:
${eps}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: ${ns}}
spec:
  egress:
  - port: {number: ${port}, name: http, protocol: HTTP}
    bind: 127.0.0.1
    hosts: ["./*"]
`;
}

export function subsetRouteYaml(ns: string, subset: string, count: number): string {
  const subsets = Array.from({ length: count }, (_, i) => `  - name: v${i + 1}\n    labels: {version: v${i + 1}}`).join("\n");
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc, namespace: ${ns}}
spec:
  host: svc
  subsets:
${subsets}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc, namespace: ${ns}}
spec:
  hosts: [svc]
  http:
  - route:
    - destination: {host: svc, subset: ${subset}}
`;
}

export async function writeConfig(dir: string, name: string, text: string): Promise<void> {
  await writeFile(join(dir, name), text);
}
