// Dockerfile.istio-proxy, built for real on a stand-in for Istio's proxyv2 (no registry here, so
// the real one cannot be pulled): the stand-in has proxyv2's layout — /usr/local/bin/envoy,
// /usr/local/bin/pilot-agent as the entrypoint, the istio-proxy user — and its "pilot-agent" does
// what the real one does to start the proxy: exec ProxyConfig.binaryPath (from $PROXY_CONFIG, as the
// injector passes it; default /usr/local/bin/envoy) in / with Envoy's command line on
// ./etc/istio/proxy/envoy-rev.json. The bootstrap is pilot-agent's golden one.
//
// Needs the proxy image that .ci/run builds (scripts/containers/build-images.sh) and podman (as
// root), ip and curl; a missing one FAILS the suite naming it.

import { mkdtempSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/cli-process.js";
import { pilotAgentBootstrap } from "../helpers/pilot-agent-bootstrap.js";
import { missingContainerTools, podman, run, type Run } from "../helpers/podman-pod.js";

const OUTRIGGER_IMAGE = "localhost/outrigger:dev";
const BASE = "localhost/outrigger-base:bookworm";
const STANDIN = "localhost/proxyv2:standin";
const id = `${process.pid.toString(36)}`;
const IMAGE = `localhost/outrigger-proxyv2:test-${id}`;
const IMAGE_REPLACED = `localhost/outrigger-proxyv2:test-replaced-${id}`;
const NETNS = `oi-ip-${id}`;

/** pilot-agent's proxy start, reduced to what matters here (pkg/envoy/proxy.go args, agent.go BinaryPath). */
const PILOT_AGENT = `#!/bin/sh
# stand-in: exec ProxyConfig.binaryPath as pilot-agent does
bin=$(printf '%s' "$PROXY_CONFIG" | sed -n 's/.*"binaryPath" *: *"\\([^"]*\\)".*/\\1/p')
cd /
exec "\${bin:-/usr/local/bin/envoy}" -c ./etc/istio/proxy/envoy-rev.json --drain-time-s 45 --drain-strategy immediate \\
  --local-address-ip-version v4 --file-flush-interval-msec 1000 --disable-hot-restart --allow-unknown-static-fields \\
  -l warning --component-log-level misc:error --concurrency 2
`;

const STANDIN_DOCKERFILE = `FROM ${BASE}
RUN useradd -m --uid 1337 istio-proxy && mkdir -p /var/lib/istio/envoy /etc/istio/proxy && chown 1337:1337 /etc/istio/proxy
COPY --chmod=0755 pilot-agent /usr/local/bin/pilot-agent
RUN printf '#!/bin/sh\\necho "the real envoy: $*"\\n' >/usr/local/bin/envoy && chmod 0755 /usr/local/bin/envoy
ENTRYPOINT ["/usr/local/bin/pilot-agent"]
`;

let work = "";
const containers: string[] = [];

const ok = (r: Run, what: string): string => {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr.trim().slice(-3000)}`);
  return r.stdout;
};

/** Runs `image` as the injector runs istio-proxy (uid 1337, read-only root) and returns /server_info once the admin answers. */
async function startAndServerInfo(name: string, image: string, env: string[]): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const full = `oi-ip-${name}-${id}`;
  containers.push(full);
  ok(await podman(["run", "-d", "--name", full, "--network", `ns:/run/netns/${NETNS}`, "--user", "1337:1337", "--cap-drop", "all",
    "--read-only", "--read-only-tmpfs=false", "-v", `${join(work, "proxy")}:/etc/istio/proxy:ro`, ...env, image]), `podman run ${image}`);
  const deadline = Date.now() + 30_000;
  let last = "";
  while (Date.now() < deadline) {
    const r = await run("ip", ["netns", "exec", NETNS, "curl", "-sS", "--max-time", "2", "http://127.0.0.1:15000/server_info"]);
    if (r.code === 0 && r.stdout.startsWith("{")) return JSON.parse(r.stdout) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    last = r.stderr;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${image}: admin 127.0.0.1:15000 did not answer within 30 s (${last.trim()}); logs:\n${(await podman(["logs", full])).stderr}`);
}

describe("Dockerfile.istio-proxy on a proxyv2 stand-in: pilot-agent starts outrigger-envoy", () => {
  beforeAll(async () => {
    const missing = missingContainerTools();
    if (missing.length > 0) throw new Error(`container e2e cannot run, missing: ${missing.join("; ")}. .ci/run installs them.`);
    if ((await podman(["image", "exists", OUTRIGGER_IMAGE])).code !== 0) {
      throw new Error(`${OUTRIGGER_IMAGE} is missing: .ci/run builds it with scripts/containers/build-images.sh (run that first)`);
    }
    work = mkdtempSync(join(tmpdir(), "outrigger-istio-proxy-"));
    chmodSync(work, 0o755);
    writeFileSync(join(work, "pilot-agent"), PILOT_AGENT);
    writeFileSync(join(work, "Dockerfile"), STANDIN_DOCKERFILE);
    ok(await podman(["build", "--network", "host", "-t", STANDIN, work], 300_000), "building the proxyv2 stand-in");
    const args = ["--build-arg", "ISTIO_HUB=localhost", "--build-arg", "ISTIO_VERSION=standin", "--build-arg", `OUTRIGGER_IMAGE=${OUTRIGGER_IMAGE}`, "-f", join(repoRoot, "Dockerfile.istio-proxy")];
    ok(await podman(["build", "--network", "host", ...args, "-t", IMAGE, work], 300_000), "building Dockerfile.istio-proxy");
    ok(await podman(["build", "--network", "host", ...args, "--build-arg", "REPLACE_ENVOY=true", "-t", IMAGE_REPLACED, work], 300_000), "building Dockerfile.istio-proxy REPLACE_ENVOY=true");

    // pilot-agent's bootstrap as it writes it into the emptyDir /etc/istio/proxy (the real ports: the container has its own namespace).
    const json = await pilotAgentBootstrap({ admin: 15000, health: 15021, stats: 15090, agent: 15020 });
    const { mkdirSync } = await import("node:fs");
    mkdirSync(join(work, "proxy"));
    writeFileSync(join(work, "proxy/envoy-rev.json"), JSON.stringify(json));
    chmodSync(join(work, "proxy"), 0o755);
    ok(await run("ip", ["netns", "add", NETNS]), "ip netns add");
    ok(await run("ip", ["-n", NETNS, "link", "set", "lo", "up"]), "ip link set lo up");
  }, 10 * 60_000);

  afterAll(async () => {
    for (const c of containers) await podman(["rm", "--force", "--time", "0", c], 30_000);
    for (const i of [IMAGE, IMAGE_REPLACED]) await podman(["rmi", "--force", i], 60_000);
    await run("ip", ["netns", "del", NETNS]);
    if (work !== "") rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it("binaryPath /usr/local/bin/outrigger-envoy (proxy.istio.io/config → $PROXY_CONFIG): Outrigger runs pilot-agent's command line as uid 1337", async () => {
    const info = await startAndServerInfo("bp", IMAGE, ["-e", 'PROXY_CONFIG={"binaryPath":"/usr/local/bin/outrigger-envoy","concurrency":2}']);
    expect(String(info.version)).toMatch(/^outrigger\//);
    expect(info.command_line_options).toMatchObject({ concurrency: 2, drain_time: "45s", disable_hot_restart: true });
    const c = `oi-ip-bp-${id}`;
    const cmdline = ok(await podman(["exec", c, "cat", "/proc/1/cmdline"]), "podman exec").split("\0");
    // pilot-agent exec'd it: pid 1 is node running the launcher, with Envoy's flags
    expect(cmdline.slice(0, 4)).toEqual(["/usr/local/bin/node", "/usr/local/bin/outrigger-envoy", "-c", "./etc/istio/proxy/envoy-rev.json"]);
    expect(ok(await podman(["exec", c, "cat", "/proc/1/status"]), "podman exec")).toMatch(/^Uid:\s+1337\s/m);
  });

  it("without binaryPath the image still starts Istio's own proxy (/usr/local/bin/envoy)", async () => {
    const full = `oi-ip-default-${id}`;
    containers.push(full);
    const out = ok(await podman(["run", "--name", full, "--network", "none", "--user", "1337:1337", IMAGE], 60_000), "podman run");
    expect(out).toMatch(/^the real envoy: -c \.\/etc\/istio\/proxy\/envoy-rev\.json --drain-time-s 45/);
  });

  it("REPLACE_ENVOY=true: /usr/local/bin/envoy is Outrigger, no binaryPath needed", async () => {
    const info = await startAndServerInfo("replaced", IMAGE_REPLACED, []);
    expect(String(info.version)).toMatch(/^outrigger\//);
    const real = ok(await podman(["run", "--rm", "--network", "none", "--entrypoint", "/usr/local/bin/envoy.real", IMAGE_REPLACED, "x"], 60_000), "podman run envoy.real");
    expect(real).toMatch(/^the real envoy: x/);
  });
});
