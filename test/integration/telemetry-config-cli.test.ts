// The real `outrigger` CLI with --mesh-config: a bad MeshConfig is a clear error (file, line,
// field) from validate and a clean start-up failure from run, never a crash; a bad OTEL_* value
// is a usage error naming it; the shipped examples validate.

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot, startCli, tempDir } from "../helpers/cli-process.js";
import { dumpParts } from "../helpers/config-dump.js";
import { freePort } from "../helpers/upstreams.js";

const SIDECAR = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: shop}
spec:
  ingress:
  - port: {number: 18089, protocol: HTTP, name: http}
    bind: 127.0.0.1
`;

async function files(mesh: string, port = 18089): Promise<{ config: string; mesh: string }> {
  const dir = await tempDir();
  await writeFile(join(dir, "sidecar.yaml"), SIDECAR.replace("number: 18089", `number: ${port}`));
  await writeFile(join(dir, "mesh.yaml"), mesh);
  return { config: join(dir, "sidecar.yaml"), mesh: join(dir, "mesh.yaml") };
}

describe("outrigger --mesh-config", () => {
  it("validate names the file, line and field of a bad MeshConfig and exits 1", async () => {
    const f = await files("defaultProviders: {metrics: [prometheus]}\naccessLogEncoding: CSV\n");
    const cli = startCli(["validate", "--config", f.config, "--mesh-config", f.mesh, "--namespace", "shop"]);
    expect(await cli.exited).toBe(1);
    expect(cli.stderr()).toBe(`${f.mesh}:2: accessLogEncoding: unsupported value string "CSV", must be TEXT or JSON\n1 error\n`);
  });

  it("run fails to start with the reason when the mesh config file is missing, and exits 1 without a stack trace", async () => {
    const f = await files("");
    const missing = join(f.mesh, "..", "nope.yaml");
    const cli = startCli(["run", "--config", f.config, "--mesh-config", missing, "--namespace", "shop", "--admin-port", "0", "--workers", "1", "--outbound", "off"]);
    expect(await cli.exited).toBe(1);
    expect(cli.stderr()).toContain(`${missing}: cannot read the mesh config: no such file`);
    expect(cli.stderr()).not.toMatch(/\n\s+at /);
  });

  it("run follows the mesh config file: a bad edit is refused with file and line while the proxy keeps serving, a fixed one is applied", async () => {
    const f = await files("defaultProviders: {metrics: [prometheus]}\n", await freePort());
    const admin = await freePort();
    const cli = startCli(["run", "--config", f.config, "--mesh-config", f.mesh, "--namespace", "shop", "--admin-port", String(admin), "--workers", "1", "--outbound", "off"]);
    try {
      await cli.waitReady(admin);
      await writeFile(f.mesh, "defaultProviders: {metrics: [prometheus]}\nenableTracing: maybe\n");
      await cli.waitForLog(/reload \(config change\) refused; still serving/);
      expect(cli.stderr()).toContain(`${f.mesh}:2: enableTracing: must be true or false, got string "maybe"`);
      expect((await fetch(`http://127.0.0.1:${admin}/ready`)).status).toBe(200);
      await writeFile(f.mesh, "defaultProviders: {metrics: [prometheus]}\nenableTracing: false\n");
      await cli.waitForLog(/reload \(config change\): now serving snapshot/);
    } finally {
      cli.kill("SIGINT");
      cli.kill("SIGINT");
      await cli.exited;
    }
  });

  it("a bad OTEL_* variable is a usage error naming it", async () => {
    const f = await files("");
    const cli = startCli(["validate", "--config", f.config, "--mesh-config", f.mesh], { OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" });
    expect(await cli.exited).toBe(2);
    expect(cli.stderr()).toContain('$OTEL_EXPORTER_OTLP_ENDPOINT: expected an http:// or https:// URL, got "collector:4318"');
  });

  it("the demo config with examples/telemetry validates cleanly, and config-dump shows the telemetry", async () => {
    const args = ["--config", join(repoRoot, "examples/demo"), "--config", join(repoRoot, "examples/telemetry/telemetry.yaml"), "--mesh-config", join(repoRoot, "examples/telemetry/mesh-config.yaml")];
    const v = startCli(["validate", ...args]);
    expect(await v.exited).toBe(0);
    expect(v.stdout()).toContain("MeshConfig ");
    expect(v.stdout()).toContain("Telemetry istio-system/mesh-default: 1 tracing, 1 accessLogging, 0 metrics (applies to this proxy)");
    const d = startCli(["config-dump", ...args]);
    expect(await d.exited).toBe(0);
    // Envoy's ConfigDump: the HCM's tracing provider has the OTLP endpoint as its http_service URI.
    const listeners = Object.values(dumpParts(JSON.parse(d.stdout())).listeners);
    const tracing = listeners.flatMap((l) => (l.filter_chains ?? []).flatMap((c: { filters: Array<{ typed_config: { tracing?: { provider: { typed_config: { http_service: { http_uri: { uri: string } } } } } } }> }) => c.filters.map((x) => x.typed_config.tracing?.provider.typed_config.http_service.http_uri.uri)));
    expect(tracing).toContain("http://opentelemetry-collector.observability.svc.cluster.local:4318/v1/traces");
  });
});
