// The real `outrigger` CLI with --mesh-config: a bad MeshConfig is a clear error (file, line,
// field) from validate and a clean start-up failure from run, never a crash; a bad OTEL_* value
// is a usage error naming it; the shipped examples validate.

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot, startCli, tempDir } from "../helpers/cli-process.js";

const SIDECAR = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: shop}
spec:
  ingress:
  - port: {number: 18089, protocol: HTTP, name: http}
    bind: 127.0.0.1
`;

async function files(mesh: string): Promise<{ config: string; mesh: string }> {
  const dir = await tempDir();
  await writeFile(join(dir, "sidecar.yaml"), SIDECAR);
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
    const cli = startCli(["run", "--config", f.config, "--mesh-config", missing, "--namespace", "shop", "--admin-port", "0", "--workers", "1"]);
    expect(await cli.exited).toBe(1);
    expect(cli.stderr()).toContain(`${missing}: cannot read the mesh config: no such file`);
    expect(cli.stderr()).not.toMatch(/\n\s+at /);
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
    const dump = JSON.parse(d.stdout()) as { snapshot: { listeners: Array<{ filterChains: Array<{ filters: Array<{ typedConfig: { tracing?: { provider: { endpoint: string } } } }> }> }> } };
    const tracing = dump.snapshot.listeners.flatMap((l) => l.filterChains.flatMap((c) => c.filters.map((x) => x.typedConfig.tracing?.provider.endpoint)));
    expect(tracing).toContain("http://opentelemetry-collector.observability.svc.cluster.local:4318/v1/traces");
  });
});
