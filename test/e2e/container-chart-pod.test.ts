// The chart's default example pod, run from the images: `helm template` renders charts/outrigger
// with its default values, and each rendered container runs in a podman pod as the kubelet would
// start it — the same image names (outrigger:VERSION, outrigger-init:VERSION, which
// scripts/containers/build-images.sh tags), args, command, env, securityContext (user, groups,
// capabilities, read-only root, no privilege escalation), the ConfigMap mounted where the pod mounts
// it and the emptyDirs as tmpfs. Init containers run to completion in order; the native sidecar
// (restartPolicy: Always) starts and must pass its startupProbe before the app starts.
//
// Needs what .ci/run installs: podman, runc, catatonit, debootstrap, iproute2, curl, and helm
// (build/helm/helm, scripts/helm/fetch-helm.mjs). A missing one FAILS the suite naming it.

import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/cli-process.js";
import { find, requireHelm, template, type Manifest } from "../helpers/helm.js";
import { missingContainerTools, podman, podmanEnv, PodmanPod, type Run } from "../helpers/podman-pod.js";

type Container = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const pod = new PodmanPod("chart");
const TOKEN = randomBytes(6).toString("hex");
const POD_NAME = "demo-0";
const NAMESPACE = "shop";
let workDir = "";
let spec: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
let configMap: Manifest;
const started = new Map<string, string>();

const ok = (r: Run, what: string): string => {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${(r.stdout + r.stderr).trim().slice(-3000)}`);
  return r.stdout;
};

/** `podman run` options for a rendered container, as the kubelet would run it in this pod. */
function podmanOptions(c: Container): string[] {
  const a: string[] = [];
  const sc = c.securityContext ?? {};
  if (sc.runAsUser !== undefined) a.push("--user", `${sc.runAsUser}:${sc.runAsGroup ?? sc.runAsUser}`);
  if (sc.privileged === true) a.push("--privileged");
  if ((sc.capabilities?.drop ?? []).includes("ALL")) a.push("--cap-drop", "all");
  for (const cap of sc.capabilities?.add ?? []) a.push("--cap-add", String(cap));
  if (sc.readOnlyRootFilesystem === true) a.push("--read-only", "--read-only-tmpfs=false");
  if (sc.allowPrivilegeEscalation === false) a.push("--security-opt", "no-new-privileges");
  const field: Record<string, string> = {
    "metadata.name": POD_NAME,
    "metadata.namespace": NAMESPACE,
    "status.podIP": pod.podIp,
    "spec.serviceAccountName": "default",
  };
  for (const e of c.env ?? []) a.push("-e", `${e.name}=${e.value ?? field[e.valueFrom?.fieldRef?.fieldPath] ?? ""}`);
  for (const m of c.volumeMounts ?? []) {
    const v = (spec.volumes ?? []).find((x: Container) => x.name === m.name);
    if (v === undefined) throw new Error(`${c.name}: volumeMount ${m.name} has no volume`);
    if (v.configMap !== undefined) {
      if (v.configMap.name !== configMap.metadata.name) throw new Error(`${c.name}: ConfigMap ${v.configMap.name} is not the rendered one`);
      a.push("-v", `${join(workDir, "configmap")}:${m.mountPath}:ro`);
    } else if (v.emptyDir !== undefined) {
      a.push("--tmpfs", `${m.mountPath}:rw,mode=1777`);
    } else {
      throw new Error(`${c.name}: volume ${m.name} is neither a ConfigMap nor an emptyDir`);
    }
  }
  if (c.command !== undefined) a.push("--entrypoint", JSON.stringify(c.command));
  a.push(String(c.image), ...(c.args ?? []).map(String));
  return a;
}

async function adminStats(filter: string): Promise<Map<string, number>> {
  const proxy = started.get("outrigger")!;
  const code = `fetch("http://127.0.0.1:15000/stats?filter=${filter}").then((r)=>r.text()).then((t)=>process.stdout.write(t))`;
  const out = ok(await podman(["exec", proxy, "/usr/local/bin/node", "-e", code]), "admin /stats");
  const m = new Map<string, number>();
  for (const line of out.split("\n")) {
    const [k, v] = line.split(": ");
    if (k && v !== undefined && /^\d+$/.test(v)) m.set(k, Number(v));
  }
  return m;
}

describe("the chart's default example pod, from the images, in a podman pod", () => {
  beforeAll(async () => {
    const missing = missingContainerTools();
    if (missing.length > 0) throw new Error(`container e2e cannot run, missing: ${missing.join("; ")}. .ci/run installs them.`);
    requireHelm();
    const ms = template({}, []);
    spec = find(ms, "Deployment").spec.template.spec;
    configMap = find(ms, "ConfigMap");
    // The images the chart names (built and tagged by the script; cached: seconds when nothing changed).
    const build = spawnSync("bash", [join(repoRoot, "scripts/containers/build-images.sh")], { encoding: "utf8", env: podmanEnv, timeout: 15 * 60_000, maxBuffer: 256 << 20 });
    if (build.status !== 0) throw new Error(`scripts/containers/build-images.sh failed (${build.status ?? build.signal}):\n${(build.stdout + build.stderr).slice(-4000)}`);
    for (const c of [...spec.initContainers, ...spec.containers] as Container[]) {
      if ((await podman(["image", "exists", String(c.image)])).code !== 0) throw new Error(`${c.name}: image ${c.image} is not in podman's store (scripts/containers/build-images.sh tags it)`);
    }

    workDir = mkdtempSync(join(tmpdir(), "outrigger-chart-pod-"));
    mkdirSync(join(workDir, "configmap"));
    for (const [file, text] of Object.entries(configMap.data as Record<string, string>)) writeFileSync(join(workDir, "configmap", file), text);
    chmodSync(workDir, 0o755);

    await pod.create(POD_NAME);
    // the rest of the cluster: a server the app calls (not in the mesh: passthrough)
    const web = `require("node:http").createServer((q,s)=>s.end(JSON.stringify({server:"peer-web",token:process.argv[1],remote:q.socket.remoteAddress.replace(/^::ffff:/,"")}))).listen(8081,"0.0.0.0",()=>console.log("ready"))`;
    await pod.serveInPeer([process.execPath, "-e", web, TOKEN]);

    for (const c of spec.initContainers as Container[]) {
      if (c.restartPolicy === "Always") {
        // a native sidecar: started, and its startupProbe passes before the next container starts
        started.set(c.name, await pod.start(c.name, podmanOptions(c)));
        const probe = c.startupProbe?.httpGet;
        if (probe === undefined) throw new Error(`${c.name}: a native sidecar without a startupProbe`);
        await pod.waitFor200(`http://${pod.podIp}:${probe.port}${probe.path}`, 30_000, `${c.name}'s startupProbe`);
      } else {
        const r = await pod.runToEnd(c.name, podmanOptions(c));
        if (r.code !== 0) throw new Error(`init container ${c.name} exited ${r.code}: ${r.stdout}${r.stderr}`);
      }
    }
    for (const c of spec.containers as Container[]) started.set(c.name, await pod.start(c.name, podmanOptions(c)));
    const app = (spec.containers as Container[]).find((c) => c.name === "app")!;
    await pod.waitFor200(`http://${pod.podIp}:${app.readinessProbe.httpGet.port}${app.readinessProbe.httpGet.path}`, 30_000, "the app's readinessProbe");
  }, 20 * 60_000);

  afterAll(async () => {
    await pod.destroy();
    if (workDir !== "") rmSync(workDir, { recursive: true, force: true });
  }, 120_000);

  it("renders the pod the proof expects: init with istio-init's args, the proxy a native sidecar as 1337 on a read-only root", () => {
    expect((spec.initContainers as Container[]).map((c) => c.name)).toEqual(["outrigger-init", "outrigger"]);
    const proxy = (spec.initContainers as Container[])[1]!;
    expect(proxy).toMatchObject({ restartPolicy: "Always", securityContext: { runAsUser: 1337, runAsGroup: 1337, readOnlyRootFilesystem: true } });
  });

  it("the proxy's 15021 /healthz/ready and 15090 /stats/prometheus answer from outside the pod, as the probes and scrape annotations say", async () => {
    expect((await pod.curlFromPeer(`http://${pod.podIp}:15021/healthz/ready`)).status).toBe(200);
    const ann = find(template({}, []), "Deployment").spec.template.metadata.annotations as Record<string, string>;
    const stats = await pod.curlFromPeer(`http://${pod.podIp}:${ann["prometheus.io/port"]}${ann["prometheus.io/path"]}`);
    expect(stats.status).toBe(200);
    expect(stats.body).toMatch(/^envoy_server_state(\{[^}]*\})? 0$/m);
  });

  it("a request from outside reaches the chart's demo app through the proxy", async () => {
    const r = await pod.curlFromPeer(`http://${pod.podIp}:8080/hello`);
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body) as { app: string; url: string; peer: string; headers: Record<string, string> };
    expect(seen).toMatchObject({ app: POD_NAME, url: "/hello" });
    // dialled by the proxy from 127.0.0.6 (the app listens dual-stack, so IPv4-mapped)
    expect(seen.peer).toMatch(/^(::ffff:)?127\.0\.0\.6$/);
    expect(seen.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("the app's own outbound call is captured (PassthroughCluster) and reaches the server it dialled", async () => {
    const before = await adminStats("PassthroughCluster");
    const code = `require("node:http").get("http://${pod.peerIp}:8081/",(r)=>{let b="";r.on("data",(d)=>b+=d);r.on("end",()=>console.log(b))})`;
    const out = ok(await podman(["exec", started.get("app")!, "node", "-e", code]), "podman exec app");
    expect(JSON.parse(out)).toEqual({ server: "peer-web", token: TOKEN, remote: pod.podIp });
    const after = await adminStats("PassthroughCluster");
    const cx = (m: Map<string, number>): number => m.get("cluster.PassthroughCluster.upstream_cx_total") ?? 0;
    expect(cx(after) - cx(before)).toBe(1);
  });
});
