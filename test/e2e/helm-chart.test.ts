// The Helm chart for real: the helm that .ci/run fetched lints it and renders it with its defaults
// and each switch (native sidecar on/off, TPROXY, the Istio injection template, the helpers used
// from a user's own chart); every rendered manifest is checked against the Kubernetes schemas
// (kubernetes-models, plus unknown-field refusal as the API server's strict validation), and the
// fields that make the sidecar work are asserted: uids, capabilities, probes, annotations, the
// init container's args (istio-init's, and outrigger-iptables --dry-run installs the same rules as
// with no flags), the proxy's Istio YAML (`outrigger validate --intercept` accepts it). The Istio
// template is executed by helm's own Go template engine (istiod's language: Go templates + sprig)
// against a pod as istiod's `sidecar` template leaves it, then merged as istiod merges templates.
//
// Needs build/helm/helm (`node scripts/helm/fetch-helm.mjs`, run by .ci/run) and a built dist/
// (npm test builds it); a missing helm FAILS the suite.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { CHART, find, helm, type Manifest, parseManifests, requireHelm, ROOT, setArgs, template, validateManifest } from "../helpers/helm.js";

const work = mkdtempSync(join(tmpdir(), "outrigger-helm-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(() => requireHelm());

const chartYaml = parseYaml(readFileSync(join(CHART, "Chart.yaml"), "utf8"));
const defaults = parseYaml(readFileSync(join(CHART, "values.yaml"), "utf8"));

/** istio-init's arguments as istiod's injection template passes them with Istio's defaults. */
const ISTIO_INIT_ARGS = ["-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*", "-x", "", "-b", "*", "-d", "15090,15021,15020"];

type Container = Record<string, any>;
const podSpec = (ms: Manifest[]): Record<string, any> => find(ms, "Deployment").spec.template.spec;
const byName = (cs: Container[] | undefined, name: string): Container | undefined => (cs ?? []).find((c) => c.name === name);

function validateAll(ms: Manifest[]): void {
  expect(ms.length).toBeGreaterThan(0);
  for (const m of ms) validateManifest(m);
}

function runCli(args: string[]): { status: number; out: string } {
  const r = spawnSync(process.execPath, [join(ROOT, "bin", "outrigger.js"), ...args], { encoding: "utf8", timeout: 60_000 });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function dryRun(args: string[]): string {
  const r = spawnSync("bash", [join(ROOT, "init-container", "outrigger-iptables"), "--dry-run", "--ipv6", "false", ...args], { encoding: "utf8", timeout: 30_000 });
  if (r.status !== 0) throw new Error(`outrigger-iptables --dry-run ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

describe("helm lint", () => {
  for (const [label, values] of [
    ["defaults", {}],
    ["regular container, TPROXY", { "sidecar.native": false, "sidecar.interception.mode": "TPROXY" }],
    ["Istio template only", { "istio.injectionTemplate.enabled": true, "example.enabled": false }],
  ] as Array<[string, Record<string, unknown>]>) {
    it(`--strict is clean: ${label}`, () => {
      const r = helm(["lint", "--strict", CHART, ...setArgs(values)]);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain("1 chart(s) linted, 0 chart(s) failed");
      expect(r.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    });
  }
});

describe("default values: a working example workload", () => {
  let ms: Manifest[];
  beforeAll(() => {
    ms = template();
  });

  it("renders a ConfigMap, a Service and a Deployment, all valid Kubernetes objects", () => {
    expect(ms.map((m) => m.kind).sort()).toEqual(["ConfigMap", "Deployment", "Service"]);
    validateAll(ms);
    const svc = find(ms, "Service", "demo");
    expect(svc.spec.selector).toEqual(find(ms, "Deployment").spec.template.metadata.labels);
    expect(svc.spec.ports[0]).toMatchObject({ port: 8080, targetPort: "http" });
  });

  it("the images default to the chart's appVersion", () => {
    const spec = podSpec(ms);
    expect(defaults.image.tag).toBe(chartYaml.appVersion);
    expect(defaults.initImage.tag).toBe(chartYaml.appVersion);
    expect(defaults.istio.injectionTemplate.image.tag).toBe(chartYaml.appVersion);
    expect(byName(spec.initContainers, "outrigger-init")!.image).toBe(`outrigger-init:${chartYaml.appVersion}`);
    expect(byName(spec.initContainers, "outrigger")!.image).toBe(`outrigger:${chartYaml.appVersion}`);
  });

  it("outrigger-init: istio-init's args, root with only NET_ADMIN and NET_RAW", () => {
    const spec = podSpec(ms);
    const init = spec.initContainers[0];
    expect(init.name).toBe("outrigger-init");
    expect(init.args).toEqual(ISTIO_INIT_ARGS);
    expect(init.command).toBeUndefined(); // the image's entrypoint is outrigger-iptables
    expect(init.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] },
      readOnlyRootFilesystem: false,
      runAsGroup: 0,
      runAsNonRoot: false,
      runAsUser: 0,
    });
  });

  it("those args install exactly what outrigger-iptables installs with no flags (Istio's defaults)", () => {
    const init = podSpec(ms).initContainers[0];
    const rules = dryRun(init.args);
    expect(rules).toContain("-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN");
    expect(rules).toContain("-A ISTIO_INBOUND -p tcp --dport 15021 -j RETURN");
    expect(rules).toBe(dryRun([]));
  });

  it("the proxy: a native sidecar after the init container, uid/gid 1337, read-only root, drop ALL", () => {
    const spec = podSpec(ms);
    expect(spec.initContainers.map((c: Container) => c.name)).toEqual(["outrigger-init", "outrigger"]);
    expect(spec.containers.map((c: Container) => c.name)).toEqual(["app"]);
    const proxy = byName(spec.initContainers, "outrigger")!;
    expect(proxy.restartPolicy).toBe("Always");
    expect(proxy.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ["ALL"] },
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 1337,
      runAsGroup: 1337,
    });
    expect(proxy.args).toEqual([
      "run", "--intercept", "--config", "/etc/outrigger/config", "--interception-mode", "REDIRECT", "--proxy-uid", "1337",
      "--workers", "2", "--drain-timeout", "5s", "--log-level", "info", "--labels", "app=demo",
    ]);
    expect(proxy.resources).toEqual({ requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "2000m", memory: "1024Mi" } });
    expect(proxy.ports).toEqual([{ containerPort: 15090, protocol: "TCP", name: "http-envoy-prom" }]);
    const env = Object.fromEntries(proxy.env.map((e: any) => [e.name, e.value ?? e.valueFrom.fieldRef.fieldPath]));
    expect(env).toMatchObject({ POD_NAMESPACE: "metadata.namespace", POD_NAME: "metadata.name", ISTIO_META_INTERCEPTION_MODE: "REDIRECT" });
  });

  it("probes on 15021 /healthz/ready with Istio's timings", () => {
    const proxy = byName(podSpec(ms).initContainers, "outrigger")!;
    expect(proxy.readinessProbe).toEqual({ httpGet: { path: "/healthz/ready", port: 15021 }, initialDelaySeconds: 0, periodSeconds: 15, timeoutSeconds: 3, failureThreshold: 4 });
    expect(proxy.startupProbe).toEqual({ httpGet: { path: "/healthz/ready", port: 15021 }, initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 3, failureThreshold: 600 });
  });

  it("writable only where the proxy writes: emptyDirs, the config read-only", () => {
    const spec = podSpec(ms);
    const proxy = byName(spec.initContainers, "outrigger")!;
    expect(proxy.volumeMounts).toEqual([
      { name: "outrigger-config", mountPath: "/etc/outrigger/config", readOnly: true },
      { name: "istio-envoy", mountPath: "/etc/istio/proxy" },
      { name: "istio-data", mountPath: "/var/lib/istio/data" },
    ]);
    expect(spec.volumes).toEqual([
      { name: "outrigger-config", configMap: { name: "demo-outrigger-config" } },
      { name: "istio-envoy", emptyDir: { medium: "Memory" } },
      { name: "istio-data", emptyDir: {} },
    ]);
  });

  it("pod annotations: Prometheus scrapes 15090 /stats/prometheus; Istio does not inject a second proxy", () => {
    const ann = find(ms, "Deployment").spec.template.metadata.annotations;
    expect(ann).toMatchObject({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": "15090",
      "prometheus.io/path": "/stats/prometheus",
      "sidecar.istio.io/inject": "false",
      "kubectl.kubernetes.io/default-container": "app",
    });
  });

  it("the app runs as another uid than the proxy's, non-root, read-only", () => {
    const app = byName(podSpec(ms).containers, "app")!;
    expect(app.securityContext.runAsUser).toBe(1000);
    expect(app.securityContext.runAsUser).not.toBe(1337);
    expect(app.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(app.command.slice(0, 2)).toEqual(["node", "-e"]);
  });

  it("the demo app's command serves HTTP (run here with node, on a free port)", async () => {
    const app = byName(podSpec(ms).containers, "app")!;
    const child = spawn(process.execPath, app.command.slice(1), { env: { ...process.env, PORT: "0" }, stdio: ["ignore", "pipe", "inherit"] });
    try {
      const port = await new Promise<number>((resolvePort, reject) => {
        const timer = setTimeout(() => reject(new Error("the demo app did not start within 10 s")), 10_000);
        let out = "";
        child.stdout!.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          const m = /example app on :(\d+)/.exec(out);
          if (m) { clearTimeout(timer); resolvePort(Number(m[1])); }
        });
        child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`the demo app exited (${code})`)); });
      });
      const res = await fetch(`http://127.0.0.1:${port}/hello?x=1`, { headers: { "x-probe": "chart" } });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, any>;
      expect(body).toMatchObject({ method: "GET", url: "/hello?x=1", headers: { "x-probe": "chart" } });
    } finally {
      child.kill();
    }
  });

  it("the ConfigMap's Istio YAML passes `outrigger validate --intercept` for this workload", () => {
    const cm = find(ms, "ConfigMap", "demo-outrigger-config");
    const dir = join(work, "default-config");
    mkdirSync(dir, { recursive: true });
    for (const [file, text] of Object.entries(cm.data as Record<string, string>)) writeFileSync(join(dir, file), text);
    const proxy = byName(podSpec(ms).initContainers, "outrigger")!;
    const labels = proxy.args[proxy.args.indexOf("--labels") + 1];
    const r = runCli(["validate", "--config", dir, "--intercept", "--namespace", "shop", "--labels", labels]);
    expect(r.out).toMatch(/: OK$/m);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain("interception REDIRECT");
    expect(r.out).toContain("demo.shop.svc.cluster.local");
  });
});

describe("switches", () => {
  it("sidecar.native=false: the proxy is a regular container beside the app, without restartPolicy", () => {
    const ms = template({ "sidecar.native": false });
    validateAll(ms);
    const spec = podSpec(ms);
    expect(spec.initContainers.map((c: Container) => c.name)).toEqual(["outrigger-init"]);
    expect(spec.containers.map((c: Container) => c.name)).toEqual(["app", "outrigger"]);
    expect(byName(spec.containers, "outrigger")!.restartPolicy).toBeUndefined();
    expect(byName(spec.containers, "outrigger")!.securityContext.runAsUser).toBe(1337);
  });

  it("holdApplicationUntilProxyStarts: a regular proxy container comes first with a postStart wait; a native sidecar needs none", () => {
    const ms = template({ "sidecar.native": false, "sidecar.holdApplicationUntilProxyStarts": true });
    validateAll(ms);
    const spec = podSpec(ms);
    expect(spec.containers.map((c: Container) => c.name)).toEqual(["outrigger", "app"]);
    const cmd = spec.containers[0].lifecycle.postStart.exec.command;
    expect(cmd.slice(0, 2)).toEqual(["node", "-e"]);
    expect(cmd[2]).toContain("http://127.0.0.1:15021/healthz/ready");
    const native = podSpec(template({ "sidecar.holdApplicationUntilProxyStarts": true }));
    expect(byName(native.initContainers, "outrigger")!.lifecycle).toBeUndefined();
    expect(byName(podSpec(template({ "sidecar.native": false })).containers, "outrigger")!.lifecycle).toBeUndefined();
  });

  it("native sidecars need Kubernetes 1.29: refused on 1.28 with the way out, regular container accepted", () => {
    const r = helm(["template", "demo", CHART, "--kube-version", "1.28.0"]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("sidecar.native=true needs Kubernetes >= 1.29");
    expect(r.stderr).toContain("set sidecar.native=false");
    expect(() => template({ "sidecar.native": false }, ["--kube-version", "1.28.0"])).not.toThrow();
    expect(() => template({}, ["--kube-version", "1.29.0"])).not.toThrow();
  });

  it("TPROXY: the init container gets -m TPROXY and -u 1337, the proxy runs as root with NET_ADMIN (as Istio's)", () => {
    const ms = template({ "sidecar.interception.mode": "TPROXY", "proxy.uid": 1400, "proxy.gid": 1400 });
    validateAll(ms);
    const spec = podSpec(ms);
    const init = spec.initContainers[0];
    expect(init.args.slice(init.args.indexOf("-u"), init.args.indexOf("-u") + 4)).toEqual(["-u", "1337", "-m", "TPROXY"]);
    const proxy = byName(spec.initContainers, "outrigger")!;
    expect(proxy.securityContext).toMatchObject({ runAsUser: 0, runAsGroup: 1337, runAsNonRoot: false, capabilities: { add: ["NET_ADMIN"], drop: ["ALL"] } });
    expect(proxy.args).toContain("TPROXY");
    expect(proxy.env).toContainEqual({ name: "ISTIO_META_INTERCEPTION_MODE", value: "TPROXY" });
  });

  it("interception values become istio-iptables flags; outrigger-iptables accepts them", () => {
    const ms = template({
      "sidecar.interception.excludeInboundPorts": "9000,9001",
      "sidecar.interception.excludeOutboundIPRanges": "10.96.0.1/32",
      "sidecar.interception.includeOutboundPorts": "5432",
      "sidecar.interception.excludeOutboundPorts": "25",
      "sidecar.interception.excludeInterfaces": "eth1",
      "proxy.uid": 1400,
      "proxy.gid": 1400,
    });
    const spec = podSpec(ms);
    const args = spec.initContainers[0].args;
    expect(args).toEqual([
      "-p", "15001", "-z", "15006", "-u", "1400", "-m", "REDIRECT", "-i", "*", "-x", "10.96.0.1/32", "-b", "*",
      "-d", "15090,15021,15020,9000,9001", "-q", "5432", "-o", "25", "-c", "eth1",
    ]);
    const rules = dryRun(args);
    expect(rules).toContain("--dport 9001 -j RETURN");
    expect(rules).toContain("--uid-owner 1400");
    expect(byName(spec.initContainers, "outrigger")!.securityContext).toMatchObject({ runAsUser: 1400, runAsGroup: 1400 });
  });

  it("your own Istio YAML, or an existing ConfigMap", () => {
    const own = template({ "sidecar.config": { "routes.yaml": "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: x}\nspec: {hosts: [x.example.com], ports: [{number: 80, name: http, protocol: HTTP}], resolution: DNS}\n" } });
    validateAll(own);
    expect(Object.keys(find(own, "ConfigMap").data)).toEqual(["routes.yaml"]);
    const existing = template({ "sidecar.existingConfigMap": "mesh-config" });
    validateAll(existing);
    expect(existing.some((m) => m.kind === "ConfigMap")).toBe(false);
    expect(podSpec(existing).volumes[0]).toEqual({ name: "outrigger-config", configMap: { name: "mesh-config" } });
  });

  it("concurrency null leaves --workers to Outrigger; no scrape annotations when turned off", () => {
    const ms = template({ "proxy.concurrency": null, "sidecar.prometheusScrape": false, "sidecar.startupProbe.enabled": false });
    validateAll(ms);
    const proxy = byName(podSpec(ms).initContainers, "outrigger")!;
    expect(proxy.args).not.toContain("--workers");
    expect(proxy.startupProbe).toBeUndefined();
    expect(Object.keys(find(ms, "Deployment").spec.template.metadata.annotations)).not.toContain("prometheus.io/scrape");
  });
});

describe("values.schema.json refuses bad values with a clear message", () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ["an unknown key", { bogus: 1 }, /Additional property bogus is not allowed/],
    ["an unknown interception mode", { "sidecar.interception.mode": "NONE" }, /sidecar\.interception\.mode must be one of the following: "REDIRECT", "TPROXY"/],
    ["native as a string", { "sidecar.native": "yes" }, /sidecar\.native: Invalid type\. Expected: boolean, given: string/],
    ["a bad duration", { "proxy.terminationDrainDuration": "5 seconds" }, /proxy\.terminationDrainDuration: Does not match pattern/],
    ["a negative uid", { "proxy.uid": -1 }, /proxy\.uid: Must be greater than or equal to 0/],
    ["a port list with words", { "sidecar.interception.excludeInboundPorts": "http" }, /sidecar\.interception\.excludeInboundPorts: Does not match pattern/],
    ["a config file that outrigger would not read", { "sidecar.config": { "mesh.json": "{}" } }, /sidecar\.config: .*mesh\.json|Does not match pattern/],
    ["a bad pull policy", { "image.pullPolicy": "Sometimes" }, /image\.pullPolicy must be one of the following/],
    ["concurrency beyond the proxy's range", { "proxy.concurrency": 1000 }, /proxy\.concurrency: Must be less than or equal to 256/],
  ];
  for (const [label, values, message] of cases) {
    it(label, () => {
      const r = helm(["template", "demo", CHART, ...setArgs(values)]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain("values don't meet the specifications of the schema");
      expect(r.stderr).toMatch(message);
    });
  }

  it("the app as the proxy's uid or on a proxy port is refused by the chart, saying why", () => {
    let r = helm(["template", "demo", CHART, ...setArgs({ "example.app.uid": 1337 })]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("the app runs as uid 1337, the proxy's uid");
    r = helm(["template", "demo", CHART, ...setArgs({ "example.port": 15006 })]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("port 15006 is the proxy's own");
  });
});

/** Leaf key paths of a values tree (a map of user-named entries counts as one leaf). */
function leafPaths(obj: Record<string, any>, prefix = ""): string[] {
  return Object.entries(obj).flatMap(([k, v]) => {
    const path = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 0 && !["resources"].includes(k)) return [path, ...leafPaths(v, path)];
    return [path];
  });
}

describe("documentation", () => {
  it("every key of values.yaml is in the chart README and typed in values.schema.json", () => {
    const readme = readFileSync(join(CHART, "README.md"), "utf8");
    const schema = JSON.parse(readFileSync(join(CHART, "values.schema.json"), "utf8"));
    const missingDoc: string[] = [];
    const missingSchema: string[] = [];
    for (const path of leafPaths(defaults)) {
      if (!readme.includes(`\`${path}\``)) missingDoc.push(path);
      let node = schema;
      for (const part of path.split(".")) node = node?.properties?.[part];
      if (!node || !(node.type || node.$ref || node.allOf || node.enum)) missingSchema.push(path);
    }
    expect(missingDoc, "values missing from charts/outrigger/README.md").toEqual([]);
    expect(missingSchema, "values without a type in values.schema.json").toEqual([]);
  });

  it("NOTES.txt renders for each use", () => {
    const copy = join(work, "notes-chart");
    cpSync(CHART, copy, { recursive: true });
    // helm template leaves NOTES.txt out: render the same text as a named template in a copy
    const text = readFileSync(join(copy, "templates", "NOTES.txt"), "utf8");
    writeFileSync(join(copy, "templates", "notes-as-manifest.yaml"), `{{- define "notes" }}${text}{{- end }}\nnotes: {{ include "notes" . | toJson }}\n`);
    const notes = (values: Record<string, unknown>): string => {
      const r = helm(["template", "demo", copy, "--namespace", "shop", "--show-only", "templates/notes-as-manifest.yaml", ...setArgs(values)]);
      if (r.status !== 0) throw new Error(r.stderr);
      return parseManifests(r.stdout)[0]!.notes;
    };
    expect(notes({})).toContain("kubectl -n shop rollout status deployment/demo");
    expect(notes({})).toContain("a native sidecar");
    expect(notes({ "sidecar.native": false })).toContain("a regular container");
    const istio = notes({ "istio.injectionTemplate.enabled": true, "example.enabled": false });
    expect(istio).toContain("inject.istio.io/templates: sidecar,outrigger");
    expect(istio).toContain("helm upgrade istiod istio/istiod -n istio-system --reuse-values -f outrigger-istiod-values.yaml");
  });
});

// ---------------------------------------------------------------------------------------------
// The Istio injection template

/** Minimal strategic merge patch, as istiod applies template overlays (lists merged by key). */
const MERGE_KEYS: Record<string, string> = { containers: "name", initContainers: "name", env: "name", volumes: "name", volumeMounts: "mountPath", ports: "containerPort" };
function strategicMerge(base: any, patch: any, key?: string): any {
  if (Array.isArray(patch) && Array.isArray(base) && key && MERGE_KEYS[key]) {
    const k = MERGE_KEYS[key]!;
    const out = base.map((b) => ({ ...b }));
    for (const p of patch) {
      const i = out.findIndex((b) => b[k] === p[k]);
      if (i >= 0) out[i] = strategicMerge(out[i], p);
      else out.push(p);
    }
    return out;
  }
  if (patch && typeof patch === "object" && !Array.isArray(patch) && base && typeof base === "object" && !Array.isArray(base)) {
    const out = { ...base };
    for (const [k, v] of Object.entries(patch)) out[k] = k in base ? strategicMerge(base[k], v, k) : v;
    return out;
  }
  return patch;
}

/** A pod as istiod's `sidecar` template leaves it (the parts the overlay touches, Istio 1.28 defaults). */
function sidecarInjectedPod(native: boolean, proxyConfig: Record<string, unknown>): Manifest {
  const proxy = {
    name: "istio-proxy",
    image: "docker.io/istio/proxyv2:1.28.0",
    ...(native ? { restartPolicy: "Always" } : {}),
    args: ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local", "--proxyLogLevel=warning", "--proxyComponentLogLevel=misc:error", "--log_output_level=default:info"],
    ports: [{ containerPort: 15090, protocol: "TCP", name: "http-envoy-prom" }],
    env: [
      { name: "PILOT_CERT_PROVIDER", value: "istiod" },
      { name: "CA_ADDR", value: "istiod.istio-system.svc:15012" },
      { name: "PROXY_CONFIG", value: `${JSON.stringify(proxyConfig)}\n` },
      { name: "ISTIO_META_APP_CONTAINERS", value: "app" },
      { name: "ISTIO_META_INTERCEPTION_MODE", value: "REDIRECT" },
    ],
    readinessProbe: { httpGet: { path: "/healthz/ready", port: 15021 }, initialDelaySeconds: 0, periodSeconds: 15, timeoutSeconds: 3, failureThreshold: 4 },
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "2000m", memory: "1024Mi" } },
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, privileged: false, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 1337, runAsGroup: 1337 },
    volumeMounts: [{ name: "istio-envoy", mountPath: "/etc/istio/proxy" }, { name: "istio-data", mountPath: "/var/lib/istio/data" }],
  };
  const init = {
    name: "istio-init",
    image: "docker.io/istio/proxyv2:1.28.0",
    args: ["istio-iptables", ...ISTIO_INIT_ARGS, "--log_output_level=default:info"],
    securityContext: { allowPrivilegeEscalation: false, privileged: false, capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] }, readOnlyRootFilesystem: false, runAsGroup: 0, runAsNonRoot: false, runAsUser: 0 },
  };
  const app = { name: "app", image: "registry.example/shop/app:1", ports: [{ containerPort: 8080 }] };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "app-1", namespace: "shop", labels: { app: "app" }, annotations: { "inject.istio.io/templates": "sidecar,outrigger" } },
    spec: {
      initContainers: native ? [init, proxy] : [init],
      containers: native ? [app] : [app, proxy],
      volumes: [{ name: "istio-envoy", emptyDir: { medium: "Memory" } }, { name: "istio-data", emptyDir: {} }],
    },
  };
}

describe("with Istio: the injection template", () => {
  let cm: Manifest;
  let tmpl: string;
  beforeAll(() => {
    const ms = template({ "istio.injectionTemplate.enabled": true, "example.enabled": false });
    expect(ms.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual(["ConfigMap/demo-istio-injection-template"]);
    cm = ms[0]!;
    tmpl = cm.data["outrigger.tmpl"];
  });

  it("is a valid ConfigMap in istiod's namespace, with the template in the forms istiod's installers take", () => {
    validateManifest(cm);
    expect(cm.metadata.namespace).toBe("istio-system");
    expect(Object.keys(cm.data).sort()).toEqual(["istio-operator.yaml", "istiod-values.yaml", "outrigger.tmpl"]);
    const values = parseYaml(cm.data["istiod-values.yaml"]);
    expect(values.sidecarInjectorWebhook.templates.outrigger).toBe(tmpl);
    const op = parseYaml(cm.data["istio-operator.yaml"]);
    expect(op).toMatchObject({ apiVersion: "install.istio.io/v1alpha1", kind: "IstioOperator" });
    expect(op.spec.values.sidecarInjectorWebhook.templates.outrigger).toBe(tmpl);
    expect(tmpl.split("\n")[0]).toMatch(/^\{\{- \$o := fromJSON ".*" \}\}$/);
    expect(tmpl).toContain("- name: istio-proxy");
  });

  it("the template name and image follow the values", () => {
    const [m] = template({ "istio.injectionTemplate.enabled": true, "example.enabled": false, "istio.injectionTemplate.name": "outrigger-canary", "istio.injectionTemplate.image.repository": "registry.example/mesh/outrigger-proxyv2", "istio.injectionTemplate.image.tag": "0.2.0" });
    expect(Object.keys(m!.data)).toContain("outrigger-canary.tmpl");
    expect(parseYaml(m!.data["istiod-values.yaml"]).sidecarInjectorWebhook.templates["outrigger-canary"]).toContain("registry.example/mesh/outrigger-proxyv2:0.2.0");
  });

  /**
   * Executes the template with helm's Go template engine (sprig included, as in istiod). The few
   * istiod-only functions it uses are swapped for their sprig equivalents: fromJSON → fromJson,
   * protoToJSON → toJson (ProxyConfig as protojson), isset → hasKey; istiod's environment
   * (`env`, which helm leaves out) comes from `IstiodEnv`.
   */
  function runIstioTemplate(data: Record<string, unknown>): Manifest {
    const dir = join(work, `istiod-shim-${Math.random().toString(36).slice(2)}`);
    mkdirSync(join(dir, "templates"), { recursive: true });
    writeFileSync(join(dir, "Chart.yaml"), "apiVersion: v2\nname: istiod-shim\nversion: 0.0.0\n");
    const body = tmpl
      .replaceAll("fromJSON", "fromJson")
      .replaceAll("protoToJSON .ProxyConfig", "toJson .ProxyConfig")
      .replaceAll("isset .ObjectMeta", "hasKey .ObjectMeta")
      .replaceAll('(env "ENABLE_NATIVE_SIDECARS" "false")', '(.IstiodEnv.ENABLE_NATIVE_SIDECARS | default "false")'); // helm has no env
    writeFileSync(join(dir, "templates", "overlay.yaml"), `{{- with .Values }}\n${body}\n{{- end }}\n`);
    writeFileSync(join(dir, "values.json"), JSON.stringify(data));
    const r = helm(["template", "x", dir, "-f", join(dir, "values.json")]);
    if (r.status !== 0) throw new Error(`istiod template failed: ${r.stderr}`);
    const [overlay] = parseManifests(r.stdout);
    return overlay!;
  }

  const meshProxyConfig = { discoveryAddress: "istiod.istio-system.svc:15012", tracing: {}, proxyMetadata: { ISTIO_META_DNS_CAPTURE: "false" } };

  for (const native of [true, false]) {
    it(`${native ? "native sidecar" : "regular container"}: the proxy image swaps, pilot-agent execs outrigger-envoy, the rest stays istiod's`, () => {
      const overlay = runIstioTemplate({ ObjectMeta: { Annotations: { "inject.istio.io/templates": "sidecar,outrigger" }, Labels: { app: "app" } }, NativeSidecars: native, ProxyConfig: meshProxyConfig });
      const list = native ? "initContainers" : "containers";
      expect(Object.keys(overlay.spec)).toEqual([list]);
      const pod = strategicMerge(sidecarInjectedPod(native, meshProxyConfig), overlay);
      validateManifest(pod);
      const spec = pod.spec;
      expect(spec.initContainers.map((c: Container) => c.name)).toEqual(native ? ["istio-init", "istio-proxy"] : ["istio-init"]);
      expect(spec.containers.map((c: Container) => c.name)).toEqual(native ? ["app"] : ["app", "istio-proxy"]);
      const proxy = byName(spec[list], "istio-proxy")!;
      expect(proxy.image).toBe(`outrigger-proxyv2:${chartYaml.appVersion}`);
      expect(proxy.args.slice(0, 2)).toEqual(["proxy", "sidecar"]); // pilot-agent stays the entrypoint
      expect(proxy.securityContext).toMatchObject({ runAsUser: 1337, runAsGroup: 1337, readOnlyRootFilesystem: true });
      expect(proxy.readinessProbe.httpGet).toEqual({ path: "/healthz/ready", port: 15021 });
      expect(proxy.env.map((e: any) => e.name)).toEqual(["PILOT_CERT_PROVIDER", "CA_ADDR", "PROXY_CONFIG", "ISTIO_META_APP_CONTAINERS", "ISTIO_META_INTERCEPTION_MODE"]);
      const pc = JSON.parse(proxy.env.find((e: any) => e.name === "PROXY_CONFIG").value);
      expect(pc).toEqual({ ...meshProxyConfig, binaryPath: "/usr/local/bin/outrigger-envoy", concurrency: 2, drainDuration: "45s", terminationDrainDuration: "5s" });
      expect(proxy.resources).toEqual({ requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "2000m", memory: "1024Mi" } });
      expect(pod.metadata.labels["outrigger.io/proxy"]).toBe("true");
    });
  }

  it("the pod's own choices win: nativeSidecar annotation, proxyImage, resource annotations, proxy.istio.io/config", () => {
    const own = { ...meshProxyConfig, concurrency: 4, terminationDrainDuration: "20s" };
    const overlay = runIstioTemplate({
      ObjectMeta: {
        Annotations: { "sidecar.istio.io/nativeSidecar": "false", "sidecar.istio.io/proxyImage": "registry.example/custom:1", "sidecar.istio.io/proxyCPU": "300m" },
        Labels: {},
      },
      NativeSidecars: true,
      ProxyConfig: own,
    });
    expect(Object.keys(overlay.spec)).toEqual(["containers"]);
    const proxy = overlay.spec.containers[0];
    expect(proxy.image).toBeUndefined(); // what istiod's `sidecar` made of the annotation stays
    expect(proxy.resources).toBeUndefined();
    expect(JSON.parse(proxy.env[0].value)).toEqual({ ...own, binaryPath: "/usr/local/bin/outrigger-envoy", drainDuration: "45s" });
  });

  it("legacyNativeSidecarEnv (Istio < 1.27): native from istiod's ENABLE_NATIVE_SIDECARS and the pod's annotation, as those versions' template", () => {
    const [m] = template({ "istio.injectionTemplate.enabled": true, "example.enabled": false, "istio.injectionTemplate.legacyNativeSidecarEnv": true });
    const saved = tmpl;
    tmpl = m!.data["outrigger.tmpl"];
    try {
      const where = (env: Record<string, string>, annotations: Record<string, string>): string[] =>
        Object.keys(runIstioTemplate({ ObjectMeta: { Annotations: annotations, Labels: {} }, IstiodEnv: env, ProxyConfig: {} }).spec);
      expect(where({}, {})).toEqual(["containers"]);
      expect(where({ ENABLE_NATIVE_SIDECARS: "true" }, {})).toEqual(["initContainers"]);
      expect(where({ ENABLE_NATIVE_SIDECARS: "true" }, { "sidecar.istio.io/nativeSidecar": "false" })).toEqual(["containers"]);
      expect(where({}, { "sidecar.istio.io/nativeSidecar": "true" })).toEqual(["initContainers"]);
    } finally {
      tmpl = saved;
    }
  });

  it("setResources=false and concurrency null leave istiod's", () => {
    const [m] = template({ "istio.injectionTemplate.enabled": true, "example.enabled": false, "istio.injectionTemplate.setResources": false, "proxy.concurrency": null });
    tmpl = m!.data["outrigger.tmpl"];
    const overlay = runIstioTemplate({ ObjectMeta: { Annotations: {}, Labels: {} }, NativeSidecars: true, ProxyConfig: {} });
    const proxy = overlay.spec.initContainers[0];
    expect(proxy.resources).toBeUndefined();
    expect(JSON.parse(proxy.env[0].value)).toEqual({ binaryPath: "/usr/local/bin/outrigger-envoy", drainDuration: "45s", terminationDrainDuration: "5s" });
  });
});

// ---------------------------------------------------------------------------------------------
// The helpers in a user's own chart

describe("your own Deployment: the chart as a dependency and its named templates", () => {
  let userChart: string;
  beforeAll(() => {
    userChart = join(work, "shop");
    mkdirSync(join(userChart, "templates"), { recursive: true });
    mkdirSync(join(userChart, "charts"), { recursive: true });
    cpSync(CHART, join(userChart, "charts", "outrigger"), { recursive: true });
    writeFileSync(join(userChart, "Chart.yaml"), `apiVersion: v2\nname: shop\nversion: 1.0.0\ndependencies:\n  - name: outrigger\n    version: ${chartYaml.version}\n`);
    writeFileSync(join(userChart, "values.yaml"), readFileSync(join(ROOT, "charts", "outrigger", "README.md"), "utf8").split("<!-- user-values -->")[1]!.split("```yaml")[1]!.split("```")[0]!);
    writeFileSync(join(userChart, "templates", "deployment.yaml"), readFileSync(join(ROOT, "charts", "outrigger", "README.md"), "utf8").split("<!-- user-deployment -->")[1]!.split("```yaml")[1]!.split("```")[0]!);
  });

  it("the README's example renders a valid Deployment with the init container and the sidecar", () => {
    const r = helm(["template", "shop", userChart, "--namespace", "shop"]);
    expect(r.status, r.stderr).toBe(0);
    const ms = parseManifests(r.stdout);
    validateAll(ms);
    expect(ms.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual(["ConfigMap/reviews-outrigger-config", "Deployment/reviews"]);
    const spec = podSpec(ms);
    expect(spec.initContainers.map((c: Container) => c.name)).toEqual(["outrigger-init", "outrigger"]);
    expect(spec.initContainers[0].args).toEqual(ISTIO_INIT_ARGS);
    expect(spec.containers.map((c: Container) => c.name)).toEqual(["reviews"]);
    expect(byName(spec.initContainers, "outrigger")!.args).toContain("app=reviews,version=v1");
    expect(spec.volumes.map((v: any) => v.name)).toEqual(["outrigger-config", "istio-envoy", "istio-data"]);
    expect(find(ms, "Deployment").spec.template.metadata.annotations["prometheus.io/port"]).toBe("15090");
  });

  it("--set outrigger.sidecar.native=false moves the proxy to containers; bad values are refused by the chart's schema", () => {
    const r = helm(["template", "shop", userChart, "--set", "outrigger.sidecar.native=false"]);
    expect(r.status, r.stderr).toBe(0);
    const spec = podSpec(parseManifests(r.stdout));
    expect(spec.containers.map((c: Container) => c.name)).toEqual(["reviews", "outrigger"]);
    const bad = helm(["template", "shop", userChart, "--set", "outrigger.sidecar.interception.mode=IPVS"]);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/^outrigger:\n- sidecar\.interception\.mode: sidecar\.interception\.mode must be one of the following/m);
  });
});
