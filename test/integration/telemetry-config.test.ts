// Telemetry config end to end: MeshConfig and Telemetry files read by the Istio file source (with
// reloads, a refused bad MeshConfig keeping the last good snapshot), compiled by a real worker
// runtime whose telemetry factories record what they were built from, over real sockets.

import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { defaultLimits } from "../../src/bootstrap/bootstrap.js";
import { createLogger } from "../../src/common/logger.js";
import { seededRandom } from "../../src/common/random.js";
import { formatConfigError } from "../../src/config/model/config-error.js";
import type { Snapshot } from "../../src/config/model/types.js";
import { IstioFileSource } from "../../src/config/source/istio-file-source.js";
import type { StreamInfo } from "../../src/observability/stream-info.js";
import type { TelemetryChainConfig } from "../../src/observability/telemetry.js";
import type { TelemetryFactories } from "../../src/observability/worker-telemetry.js";
import { ProxyRuntime } from "../../src/worker/proxy-runtime.js";
import { tempDir, writeConfig } from "../helpers/cli-process.js";
import { storeSink } from "../helpers/memory-source.js";
import { freePort, startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";

function sidecarYaml(port: number, appPort: number): string {
  return `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: shop}
spec:
  ingress:
  - port: {number: ${port}, protocol: HTTP, name: http}
    bind: 127.0.0.1
    defaultEndpoint: 127.0.0.1:${appPort}
`;
}

const MESH = `defaultProviders: {metrics: [prometheus]}
accessLogFile: /dev/stdout
extensionProviders:
- name: otel
  opentelemetry: {service: otel.obs.svc, port: 4318, http: {path: /v1/traces}}
`;

const TRACING = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  tracing: [{providers: [{name: otel}], randomSamplingPercentage: 100}]
`;

function fileSource(dir: string, mesh: string): IstioFileSource {
  return new IstioFileSource([join(dir, "config")], { namespace: "shop", proxyLabels: { app: "web" }, domainSuffix: "cluster.local", defaultOutbound: null }, createLogger("off"), mesh);
}

describe("MeshConfig and Telemetry through the file source", () => {
  it("reads them, reloads a changed MeshConfig, refuses a bad one (file, line, field) and keeps serving the last good snapshot", async () => {
    const dir = await tempDir();
    const mesh = join(dir, "mesh.yaml");
    await mkdir(join(dir, "config"));
    await writeConfig(join(dir, "config"), "sidecar.yaml", sidecarYaml(18080, 19080) + "---\n" + TRACING);
    await writeFile(mesh, MESH);
    const source = fileSource(dir, mesh);
    const { store, sink } = storeSink();
    expect((await source.start(sink)).accepted).toBe(true);
    const first = store.snapshot!;
    const hcm = (s: Snapshot) => {
      const f = s.listeners[0]!.filterChains[0]!.filters[0]!;
      if (f.name !== "envoy.filters.network.http_connection_manager") throw new Error("not an HCM");
      return f.typedConfig;
    };
    expect(hcm(first).accessLog![0]).toMatchObject({ path: "/dev/stdout", format: { kind: "text" } });
    expect(hcm(first).tracing).toMatchObject({ provider: { endpoint: "http://otel.obs.svc:4318/v1/traces" }, randomSamplingPercentage: 100 });

    await writeFile(mesh, MESH.replace("accessLogFile: /dev/stdout", "accessLogFile: /dev/stderr\naccessLogEncoding: JSON"));
    expect((await source.refresh("test")).accepted).toBe(true);
    const second = store.snapshot!;
    expect(hcm(second).accessLog![0]).toMatchObject({ path: "/dev/stderr", format: { kind: "json" } });

    await writeFile(mesh, MESH + "accessLogEncoding: YAML\n");
    const bad = await source.refresh("test");
    expect(bad.accepted).toBe(false);
    expect(bad.errors.map(formatConfigError)).toEqual([`${mesh}:6: accessLogEncoding: unsupported value string "YAML", must be TEXT or JSON`]);
    expect(store.snapshot).toBe(second);

    await rm(mesh);
    const gone = await source.refresh("test");
    expect(gone.accepted).toBe(false);
    expect(gone.errors.map(formatConfigError)).toEqual([`${mesh}: cannot read the mesh config: no such file`]);
    expect(store.snapshot).toBe(second);
  });
});

describe("a worker compiles what translation wrote", () => {
  let runtime: ProxyRuntime | undefined;
  let app: EchoUpstream | undefined;
  afterEach(async () => {
    await runtime?.close();
    await app?.close();
    runtime = app = undefined;
  });

  async function snapshotFor(mesh: string, extra = ""): Promise<{ snapshot: Snapshot; port: number }> {
    const dir = await tempDir();
    app = await startEchoUpstream("app");
    const port = await freePort();
    await mkdir(join(dir, "config"));
    await writeConfig(join(dir, "config"), "sidecar.yaml", sidecarYaml(port, app.port) + extra);
    await writeFile(join(dir, "mesh.yaml"), mesh);
    const { store, sink } = storeSink();
    const r = await fileSource(dir, join(dir, "mesh.yaml")).start(sink);
    if (!r.accepted) throw new Error(r.errors.map(formatConfigError).join("\n"));
    return { snapshot: store.snapshot!, port };
  }

  function recordingFactories(chains: TelemetryChainConfig[], onLog: (info: StreamInfo) => void): TelemetryFactories {
    return {
      accessLogs: (configs, chain) => {
        chains.push(chain);
        return configs.map(() => ({ log: onLog }));
      },
      tracer: () => ({ startSpan: () => undefined }),
      stats: () => ({ record: () => {} }),
    };
  }

  it("hands the access log and tracing config to the worker's factories, and every finished request to the logger", async () => {
    const { snapshot, port } = await snapshotFor(MESH, "---\n" + TRACING);
    const chains: TelemetryChainConfig[] = [];
    let onLog: (info: StreamInfo) => void = () => {};
    const logged = new Promise<StreamInfo>((resolve) => (onLog = resolve));
    runtime = new ProxyRuntime({ limits: defaultLimits, random: seededRandom(1), log: createLogger("off"), telemetry: recordingFactories(chains, (info) => onLog(info)) });
    const applied = await runtime.apply(snapshot);
    expect(applied.errors).toEqual([]);
    expect(chains).toHaveLength(1);
    expect(chains[0]).toMatchObject({ direction: "INBOUND", kind: "http", statPrefix: `inbound_127.0.0.1_${port}` });
    expect(chains[0]!.accessLog![0]!.format).toMatchObject({ kind: "text" });
    expect(chains[0]!.tracing).toMatchObject({ randomSamplingPercentage: 100, provider: { serviceName: "web.shop" } });

    const res = await fetch(`http://127.0.0.1:${port}/hello`);
    expect(res.status).toBe(200);
    await res.text();
    const info = await logged;
    expect(info.direction).toBe("INBOUND");
    expect(info.responseCode).toBe(200);
  });

  it("a worker without an access logger refuses such a snapshot; the production factories take the default config", async () => {
    const { snapshot } = await snapshotFor(MESH);
    runtime = new ProxyRuntime({ limits: defaultLimits, random: seededRandom(1), log: createLogger("off"), telemetry: {} });
    const refused = await runtime.apply(snapshot);
    expect(refused.ok).toBe(false);
    expect(refused.errors.join("\n")).toMatch(/access logs are not available in this worker/);
    await runtime.close();

    const plain = await snapshotFor("defaultProviders: {metrics: [prometheus]}\n");
    runtime = new ProxyRuntime({ limits: defaultLimits, random: seededRandom(1), log: createLogger("off") });
    expect((await runtime.apply(plain.snapshot)).ok).toBe(true);
  });
});
