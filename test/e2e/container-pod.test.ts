// The images for real (issue 12's proof): scripts/containers/build-images.sh builds the proxy and
// init images with podman on a debootstrap base, then a podman pod runs them as Kubernetes would
// run the chart's pod: the init container with only NET_ADMIN installs Istio's capture rules, the
// proxy runs as uid/gid 1337 on a read-only root filesystem with the Istio YAML mounted as a
// ConfigMap would be, and a demo app runs as uid 1000 beside it. From outside the pod (a peer
// network namespace) a request reaches the app through the proxy; from inside the pod the app's
// plain call to a service VIP is captured and routed to the right upstream.
//
// Needs what .ci/run installs: podman, runc, catatonit, debootstrap, iproute2, curl (run as root).
// A missing tool FAILS the suite naming it. The images are rebuilt in beforeAll (cached layers:
// seconds when nothing changed), so the test always runs the current tree.

import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/cli-process.js";
import { missingContainerTools, podman, podmanEnv, PodmanPod, type Run } from "../helpers/podman-pod.js";

const PROXY_IMAGE = "localhost/outrigger:dev";
const INIT_IMAGE = "localhost/outrigger-init:dev";
const NS = "shop";
const VIP = "10.96.0.10";
const APP_UID = 1000;
/** Both servers put it in their answers: an answer without it came from something else on this network. */
const TOKEN = randomBytes(6).toString("hex");

const pod = new PodmanPod("cp");

/** The mesh, as the chart's ConfigMap holds it: the upstream service (VIP → the peer) and the pod's own inbound port. */
const meshYaml = (): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web, namespace: ${NS}}
spec:
  hosts: [web.${NS}.svc.cluster.local]
  addresses: [${VIP}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}]
  endpoints: [{address: ${pod.peerIp}, ports: {http: 8081}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: shop-app, namespace: ${NS}}
spec:
  hosts: [shop-app.${NS}.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 8080, name: http, protocol: HTTP}]
  workloadSelector: {labels: {app: shop}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    accessLogFile: /dev/stdout
    accessLogEncoding: JSON
    defaultProviders: {metrics: [prometheus]}
`;

/** The demo app (uid 1000): /whoami says who it is and what it saw; /call makes a plain call to the web service's VIP. */
const APP_JS = `const http = require("node:http");
const token = process.env.TOKEN;
http.createServer((req, res) => {
  if (req.url === "/call") {
    http.get({ host: "${VIP}", port: 80, path: "/", headers: { host: "web.${NS}.svc.cluster.local" } }, (up) => {
      let body = ""; up.on("data", (d) => (body += d)); up.on("end", () => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ app: "shop", token, upstreamStatus: up.statusCode, upstream: JSON.parse(body) }));
      });
    }).on("error", (e) => { res.statusCode = 502; res.end(JSON.stringify({ app: "shop", error: e.message })); });
    return;
  }
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ app: "shop", token, uid: process.getuid(), remote: req.socket.remoteAddress, local: req.socket.localAddress + ":" + req.socket.localPort, headers: req.headers }));
}).listen(8080, "0.0.0.0", () => console.log("app ready"));
`;

/** The web service's endpoint, in the peer namespace. */
const WEB_JS = `require("node:http").createServer((req, res) => {
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ server: "web-v1", token: process.argv[1], remote: req.socket.remoteAddress.replace(/^::ffff:/, ""), headers: req.headers }));
}).listen(8081, "${"0.0.0.0"}", () => console.log("ready"));`;

let workDir = "";
let proxy = "";
let app = "";
let readyMs = 0;

async function accessLogEntry(match: (e: Record<string, unknown>) => boolean, timeoutMs = 5_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  let entries: Array<Record<string, unknown>> = [];
  while (Date.now() < deadline) {
    const out = (await pod.logs("proxy")).stdout;
    entries = out
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const hit = entries.find(match);
    if (hit !== undefined) return hit;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no matching access log entry in the proxy container's stdout; got:\n${entries.map((e) => JSON.stringify(e)).join("\n")}`);
}

const ok = (r: Run, what: string): string => {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
};

describe("the images in a podman pod: init (NET_ADMIN only), Outrigger (uid 1337, read-only root), an app", () => {
  beforeAll(async () => {
    const missing = missingContainerTools();
    if (missing.length > 0) {
      throw new Error(`container e2e cannot run, missing: ${missing.join("; ")}. .ci/run installs them (apt-get install podman runc catatonit debootstrap iproute2 curl).`);
    }
    // The images of the current tree (each step is cached: seconds when nothing changed).
    const build = spawnSync("bash", [join(repoRoot, "scripts/containers/build-images.sh")], { encoding: "utf8", env: podmanEnv, timeout: 15 * 60_000, maxBuffer: 256 << 20 });
    if (build.status !== 0) throw new Error(`scripts/containers/build-images.sh failed (${build.status ?? build.signal}):\n${(build.stdout + build.stderr).slice(-4000)}`);

    workDir = mkdtempSync(join(tmpdir(), "outrigger-pod-"));
    mkdirSync(join(workDir, "config"));
    writeFileSync(join(workDir, "config/mesh.yaml"), meshYaml());
    writeFileSync(join(workDir, "app.js"), APP_JS);
    chmodSync(workDir, 0o755); // the containers' uids (1337, 1000) read the mounts

    await pod.create();
    await pod.serveInPeer([process.execPath, "-e", WEB_JS, TOKEN]);

    // The init container: root with NET_ADMIN only, the injector's istio-iptables arguments.
    const init = await pod.runToEnd("init", [
      "--user", "0", "--cap-drop", "all", "--cap-add", "net_admin", INIT_IMAGE,
      "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*", "-x", "", "-b", "*", "-d", "15090,15021,15020",
    ]);
    if (init.code !== 0) throw new Error(`init container exited ${init.code}: ${init.stdout}${init.stderr}`);
    expect(init.stdout + init.stderr).toMatch(/nf_tables/);

    // The proxy: uid/gid 1337, no capabilities, read-only root; only Istio's emptyDir paths writable.
    proxy = await pod.start("proxy", [
      "--user", "1337:1337", "--cap-drop", "all", "--read-only", "--read-only-tmpfs=false",
      "--tmpfs", "/etc/istio/proxy", "--tmpfs", "/var/lib/istio/data",
      "-v", `${join(workDir, "config")}:/etc/outrigger/config:ro`,
      "-e", "ISTIO_META_INTERCEPTION_MODE=REDIRECT", "-e", `POD_NAMESPACE=${NS}`,
      PROXY_IMAGE, "run", "--intercept", "--config", "/etc/outrigger/config", "--labels", "app=shop", "--workers", "2",
    ]);
    readyMs = await pod.waitFor200(`http://${pod.podIp}:15021/healthz/ready`, 30_000, "the proxy's readiness");

    // The app: another uid, the same image's Node (any image with Node would do).
    app = await pod.start("app", [
      "--user", `${APP_UID}:${APP_UID}`, "--cap-drop", "all", "--read-only", "-e", `TOKEN=${TOKEN}`,
      "-v", `${join(workDir, "app.js")}:/app/app.js:ro`, "--entrypoint", "/usr/local/bin/node", PROXY_IMAGE, "/app/app.js",
    ]);
    await pod.waitFor200(`http://${pod.podIp}:8080/whoami`, 30_000, "the app");
  }, 20 * 60_000);

  afterAll(async () => {
    await pod.destroy();
    if (workDir !== "") rmSync(workDir, { recursive: true, force: true });
  }, 120_000);

  it("15021 /healthz/ready answers 200 from outside the pod (the port istio-iptables leaves uncaptured)", async () => {
    expect(readyMs).toBeGreaterThanOrEqual(0);
    const r = await pod.curlFromPeer(`http://${pod.podIp}:15021/healthz/ready`);
    expect(r.status).toBe(200);
  });

  it("an inbound request from outside the pod reaches the app through the proxy (virtualInbound, inbound|8080||)", async () => {
    const r = await pod.curlFromPeer(`http://${pod.podIp}:8080/whoami`);
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body) as { app: string; token: string; uid: number; remote: string; headers: Record<string, string> };
    expect(seen).toMatchObject({ app: "shop", token: TOKEN, uid: APP_UID });
    // the app was dialled by the proxy from 127.0.0.6 (InboundPassthrough's bind address), not by the client
    expect(seen.remote).toBe("127.0.0.6");
    expect(seen.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    // the proxy's access log has this very request (the request id the app was given)
    const log = await accessLogEntry((l) => l.request_id === seen.headers["x-request-id"]);
    expect(log).toMatchObject({ response_code: 200, upstream_cluster: "inbound|8080||", path: "/whoami", downstream_local_address: `${pod.podIp}:8080` });
  });

  it("the app's plain call to the service VIP is captured inside the pod and routed to the service's endpoint", async () => {
    const r = await pod.curlFromPeer(`http://${pod.podIp}:8080/call`);
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body) as { app: string; token: string; upstreamStatus: number; upstream: { server: string; token: string; remote: string; headers: Record<string, string> } };
    expect(seen).toMatchObject({ app: "shop", token: TOKEN, upstreamStatus: 200 });
    // the web endpoint's own answer (its token), reached from the pod's address by the proxy
    expect(seen.upstream).toMatchObject({ server: "web-v1", token: TOKEN, remote: pod.podIp });
    expect(seen.upstream.headers["x-envoy-attempt-count"]).toBe("1");
    const log = await accessLogEntry((l) => l.request_id === seen.upstream.headers["x-request-id"]);
    expect(log).toMatchObject({ response_code: 200, upstream_cluster: `outbound|80||web.${NS}.svc.cluster.local`, downstream_local_address: `${VIP}:80`, authority: `web.${NS}.svc.cluster.local` });
  });

  it("a call made inside the app's container (podman exec, uid 1000) is captured too", async () => {
    const code = `require("node:http").get({host:"${VIP}",port:80,path:"/x",headers:{host:"web.${NS}.svc.cluster.local"}},(r)=>{let b="";r.on("data",(d)=>b+=d);r.on("end",()=>console.log(b))})`;
    const out = ok(await podman(["exec", "--user", String(APP_UID), app, "/usr/local/bin/node", "-e", code]), "podman exec app");
    const seen = JSON.parse(out) as { server: string; token: string; headers: Record<string, string> };
    expect(seen).toMatchObject({ server: "web-v1", token: TOKEN });
    expect(seen.headers["x-envoy-upstream-service-time"] ?? seen.headers["x-request-id"]).toBeDefined();
  });

  it("the proxy is node itself as pid 1, uid/gid 1337, on a read-only root with no capabilities", async () => {
    const inspect = JSON.parse(ok(await podman(["inspect", proxy]), "podman inspect")) as Array<{ HostConfig: { ReadonlyRootfs: boolean }; Config: { User: string } }>;
    expect(inspect[0]!.HostConfig.ReadonlyRootfs).toBe(true);
    const status = ok(await podman(["exec", proxy, "cat", "/proc/1/status"]), "podman exec proxy");
    expect(status).toMatch(/^Uid:\s+1337\s+1337\s+1337\s+1337$/m);
    expect(status).toMatch(/^Gid:\s+1337\s+1337\s+1337\s+1337$/m);
    expect(status).toMatch(/^CapEff:\s+0+$/m);
    const cmdline = ok(await podman(["exec", proxy, "cat", "/proc/1/cmdline"]), "podman exec proxy").split("\0");
    expect(cmdline.slice(0, 3)).toEqual(["/usr/local/bin/node", "/usr/local/lib/outrigger/bin/outrigger.js", "run"]);
    const write = await podman(["exec", proxy, "touch", "/usr/local/lib/outrigger/x"]);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
  });

  it("the init image in TPROXY mode works with NET_ADMIN and NET_RAW (in a container of its own, network none)", async () => {
    const r = await podman(["run", "--rm", "--network", "none", "--user", "0", "--cap-drop", "all", "--cap-add", "net_admin", "--cap-add", "net_raw", INIT_IMAGE, "-m", "TPROXY"], 60_000);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/ISTIO_TPROXY/);
    expect(r.stdout + r.stderr).toMatch(/capture rules installed \(TPROXY/);
  });

  it("SIGTERM reaches the proxy: it drains and exits 0 by itself (podman stop does not need SIGKILL)", async () => {
    const start = Date.now();
    ok(await podman(["stop", "--time", "20", proxy], 40_000), "podman stop");
    const elapsed = Date.now() - start;
    const state = JSON.parse(ok(await podman(["inspect", proxy]), "podman inspect")) as Array<{ State: { ExitCode: number } }>;
    expect(state[0]!.State.ExitCode).toBe(0);
    expect(elapsed).toBeLessThan(20_000);
    expect((await pod.logs("proxy")).stderr + (await pod.logs("proxy")).stdout).toMatch(/drain/i);
  }, 60_000);
});
