// The chart's pod, run for real without images or a cluster: `helm template` renders the example
// workload, then its containers run as Kubernetes would start them, in a network namespace (the
// pod) joined to a peer namespace by a veth pair: outrigger-init with the rendered args (root),
// the proxy with the rendered args, uid and gid and its ConfigMap as the config folder, the demo
// app with its rendered command as its own uid. From the peer: the app answers through the proxy
// (it sees the proxy's 127.0.0.6), 15021 /healthz/ready answers 200, 15090 serves the stats the
// scrape annotations point at; from the app: an outbound call is captured and passed through.
//
// Needs build/helm/helm (.ci/run), root, iproute2, iptables, util-linux (setpriv), curl. A missing
// prerequisite FAILS the suite; OUTRIGGER_E2E_NETNS=0 skips it (as the other namespace e2e tests).
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { find, type Manifest, ROOT, template } from "../helpers/helm.js";
import { bash, inNs, must, optedOut, requirePrerequisites, script, Topology } from "../helpers/netns.js";

if (optedOut) console.warn("chart pod e2e skipped: OUTRIGGER_E2E_NETNS=0");

type Container = Record<string, any>;

/** A container's env as the kubelet would set it here (downward API values of this "pod"). */
function containerEnv(c: Container, pod: { name: string; namespace: string; ip: string }): Record<string, string> {
  const field: Record<string, string> = {
    "metadata.name": pod.name,
    "metadata.namespace": pod.namespace,
    "status.podIP": pod.ip,
    "spec.serviceAccountName": "default",
  };
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) env[e.name] = e.value ?? field[e.valueFrom?.fieldRef?.fieldPath] ?? "";
  return env;
}

/** `ip netns exec NS setpriv --reuid U --regid G --clear-groups env -i K=V… CMD…` as a Kubernetes container runs. */
function runAs(ns: string, uid: number, gid: number, env: Record<string, string>, argv: string[]): ChildProcess {
  const envArgs = Object.entries({ PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }).map(([k, v]) => `${k}=${v}`);
  return spawn("ip", ["netns", "exec", ns, "setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "env", "-i", ...envArgs, ...argv], {
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Resolves when `re` shows up in the child's output (stdout or stderr); rejects on exit or after `ms`. */
function waitOutput(child: ChildProcess, re: RegExp, ms: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${what}: no ${re} within ${ms} ms:\n${out}`)), ms);
    const check = (d: Buffer): void => {
      out += d.toString();
      if (re.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    };
    child.stdout!.on("data", check);
    child.stderr!.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}):\n${out}`));
    });
  });
}

describe.skipIf(optedOut)("the chart's example pod, run in a network namespace", () => {
  const t = new Topology("chart");
  const dir = mkdtempSync(join(tmpdir(), "outrigger-chart-pod-"));
  const children: ChildProcess[] = [];
  let ms: Manifest[];
  let spec: Record<string, any>;
  let proxyOut = "";

  beforeAll(async () => {
    requirePrerequisites("chart pod e2e", [["curl", "curl"]]);
    ms = template({}, []);
    spec = find(ms, "Deployment").spec.template.spec;
    await t.create();
    chmodSync(dir, 0o755);
    const pod = { name: "demo-0", namespace: "shop", ip: t.podIp };

    // 1. init containers in order: outrigger-init (runs to completion), then the native sidecar
    const init = spec.initContainers[0];
    expect(init.securityContext.runAsUser).toBe(0);
    await must("ip", ["netns", "exec", t.pod, bash, script, "--ipv6", "false", ...init.args]);

    const proxy = spec.initContainers.find((c: Container) => c.name === "outrigger");
    const configMap = find(ms, "ConfigMap", spec.volumes.find((v: any) => v.name === "outrigger-config").configMap.name);
    const configDir = join(dir, "config");
    mkdirSync(configDir);
    chmodSync(configDir, 0o755);
    for (const [file, text] of Object.entries(configMap.data as Record<string, string>)) writeFileSync(join(configDir, file), text);
    const args = proxy.args.map((a: string) => (a === "/etc/outrigger/config" ? configDir : a));
    const p = runAs(t.pod, proxy.securityContext.runAsUser, proxy.securityContext.runAsGroup, containerEnv(proxy, pod), [process.execPath, join(ROOT, "bin", "outrigger.js"), ...args]);
    children.push(p);
    p.stdout!.on("data", (d: Buffer) => (proxyOut += d.toString()));
    p.stderr!.on("data", (d: Buffer) => (proxyOut += d.toString()));
    await waitOutput(p, /^outrigger ready: /m, 30_000, "the proxy");

    // 2. the app container, with its rendered command, uid and env
    const app = spec.containers.find((c: Container) => c.name === "app");
    const a = runAs(t.pod, app.securityContext.runAsUser, app.securityContext.runAsGroup, containerEnv(app, pod), app.command.map((x: string) => (x === "node" ? process.execPath : x)));
    children.push(a);
    await waitOutput(a, /example app on :8080/, 10_000, "the demo app");

    await t.serve(t.peer, [[80, "peer80"]]);
  }, 90_000);

  afterAll(async () => {
    for (const c of children) c.kill("SIGKILL");
    await t.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const curl = async (ns: string, url: string): Promise<{ status: number; body: string }> => {
    const r = await inNs(ns, ["curl", "-sS", "--max-time", "5", "-o", "-", "-w", "\n%{http_code}", url]);
    const i = r.stdout.lastIndexOf("\n");
    return { status: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i) };
  };

  it("the probe the chart declares (15021 /healthz/ready) answers 200 from outside the pod", async () => {
    const probe = spec.initContainers.find((c: Container) => c.name === "outrigger").readinessProbe.httpGet;
    const r = await curl(t.peer, `http://${t.podIp}:${probe.port}${probe.path}`);
    expect(r.status, proxyOut).toBe(200);
  });

  it("an inbound request reaches the app through the proxy (the app sees 127.0.0.6)", async () => {
    const r = await curl(t.peer, `http://${t.podIp}:8080/via-proxy`);
    expect(r.status, proxyOut).toBe(200);
    const seen = JSON.parse(r.body);
    expect(seen).toMatchObject({ method: "GET", url: "/via-proxy" });
    expect(String(seen.peer).replace(/^::ffff:/, "")).toBe("127.0.0.6");
    expect(seen.headers["x-request-id"]).toBeTruthy(); // added by the proxy's HTTP connection manager
  });

  it("the scrape annotations' port and path serve the proxy's stats, inbound counted", async () => {
    const ann = find(ms, "Deployment").spec.template.metadata.annotations;
    const r = await curl(t.peer, `http://${t.podIp}:${ann["prometheus.io/port"]}${ann["prometheus.io/path"]}`);
    expect(r.status).toBe(200);
    // Istio's standard metric for the inbound request of the test above, as the app's proxy reports it
    const inbound = /^istio_requests_total\{reporter="destination"[^}]*destination_workload_namespace="shop"[^}]*destination_app="demo"[^}]*response_code="200"[^}]*\} [1-9]/m;
    expect(inbound.test(r.body), r.body.split("\n").filter((l) => l.startsWith("istio_requests_total")).join("\n")).toBe(true);
    expect(r.body).toMatch(/^envoy_server_state 0$/m);
  });

  it("holdApplicationUntilProxyStarts' postStart hook (regular-container mode) returns 0 against the ready proxy", async () => {
    const held = find(template({ "sidecar.native": false, "sidecar.holdApplicationUntilProxyStarts": true }), "Deployment").spec.template.spec;
    const proxy = held.containers[0];
    const hook = proxy.lifecycle.postStart.exec.command.map((x: string) => (x === "node" ? process.execPath : x));
    const r = await inNs(t.pod, ["setpriv", `--reuid=${proxy.securityContext.runAsUser}`, `--regid=${proxy.securityContext.runAsGroup}`, "--clear-groups", "timeout", "70", ...hook]);
    expect(r.code, r.stderr).toBe(0);
  });

  it("the app's outbound call is captured and passed through (the proxy's uid is not)", async () => {
    const app = spec.containers.find((c: Container) => c.name === "app");
    const before = await inNs(t.pod, ["curl", "-sS", "--max-time", "5", "http://127.0.0.1:15000/stats?filter=^cluster\\.PassthroughCluster\\.upstream_cx_total$"]);
    const line = await t.dial(t.pod, "10.77.1.1", 80, app.securityContext.runAsUser);
    expect(line).toBe("peer80 10.77.1.1:80 from 10.77.1.2");
    const after = await inNs(t.pod, ["curl", "-sS", "--max-time", "5", "http://127.0.0.1:15000/stats?filter=^cluster\\.PassthroughCluster\\.upstream_cx_total$"]);
    const n = (s: string): number => Number(/: (\d+)/.exec(s)?.[1] ?? 0);
    expect(n(after.stdout), `${before.stdout} → ${after.stdout}`).toBe(n(before.stdout) + 1);
  });
});
