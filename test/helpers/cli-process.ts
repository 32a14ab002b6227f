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
  /** Resolves once the start-up line is out and `GET /ready` answers 200 (rejects on exit or after `timeoutMs`). */
  waitReady(adminPort: number, timeoutMs?: number): Promise<void>;
  waitForLog(re: RegExp, timeoutMs?: number): Promise<string>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * `wrap` runs the CLI under another command (e.g. `ip netns exec NS setpriv --reuid=1337 …`), which
 * execs node in the end; then `waitReady` cannot reach the admin port from here: use `waitForLog`.
 */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}, wrap: string[] = []): CliProcess {
  // `run` binds the stats port (15090) and the health port (15021) on every address: parallel
  // tests would fight over them, so unless a test names one, a free port is picked.
  let argv = args;
  for (const flag of ["--stats-port", "--health-port"]) {
    if (argv[0] === "run" && !argv.some((a) => a.startsWith(flag))) argv = ["run", flag, "0", ...argv.slice(1)];
  }
  const [cmd, ...cmdArgs] = [...wrap, process.execPath, binPath, ...argv];
  const child = spawn(cmd!, cmdArgs, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  // Output waiters are woken by the child's own output (and its exit), never by a timer.
  const wake = new Set<() => void>();
  const notify = (): void => {
    for (const w of [...wake]) w();
  };
  child.stdout!.on("data", (c: Buffer) => ((out += c.toString()), notify()));
  child.stderr!.on("data", (c: Buffer) => ((err += c.toString()), notify()));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => (r(code), notify())));
  /** Resolves with the first match in stderr or stdout; rejects on exit or after `timeoutMs`. */
  const waitForOutput = (re: RegExp, timeoutMs: number): Promise<string> =>
    new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        wake.delete(check);
      };
      const timer = setTimeout(() => (done(), reject(new Error(`no output matching ${re} after ${timeoutMs} ms:\n${err}`))), timeoutMs);
      const check = (): void => {
        const m = re.exec(err) ?? re.exec(out);
        if (m) return void (done(), resolve(m[0]));
        if (child.exitCode !== null) return void (done(), reject(new Error(`outrigger exited (${child.exitCode}) before printing ${re}:\n${err}`)));
      };
      wake.add(check);
      check();
    });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitReady(adminPort, timeoutMs = 15_000) {
      // The start-up line is printed once every worker has bound every listener.
      await waitForOutput(/^outrigger ready: /m, timeoutMs);
      const r = await fetch(`http://127.0.0.1:${adminPort}/ready`);
      if (r.status !== 200) throw new Error(`outrigger printed its ready line but /ready answers ${r.status}:\n${err}`);
    },
    waitForLog(re, timeoutMs = 10_000) {
      return waitForOutput(re, timeoutMs);
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
