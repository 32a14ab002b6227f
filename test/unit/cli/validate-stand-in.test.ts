// validate / config-dump output and exit codes, with the real loader and a small stand-in
// translator (so these tests pin the CLI's behaviour independent of translation rules).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { TranslateOptions, TranslateResult } from "../../../src/cli/cli-context.js";
import { loadConfigSources } from "../../../src/config/load/load-sources.js";
import type { SourceDocument } from "../../../src/config/load/load-sources.js";
import type { ConfigError } from "../../../src/config/model/config-error.js";
import { harness } from "./cli-harness.js";
import { dumpParts } from "../../helpers/config-dump.js";
import { httpListener } from "../../../src/config/model/listener-defaults.js";

function standInTranslate(seen: TranslateOptions[] = []) {
  return (documents: SourceDocument[], opts: TranslateOptions): TranslateResult => {
    seen.push(opts);
    const errors: ConfigError[] = [];
    const warnings: ConfigError[] = [];
    const snapshot: TranslateResult["snapshot"] = { listeners: [], routeConfigs: {}, clusters: {} };
    for (const d of documents) {
      const spec = (d.spec ?? {}) as { hosts?: string[]; port?: number; deprecated?: boolean };
      if (spec.hosts === undefined) errors.push({ file: d.file, line: d.lineOf(["spec"]), path: "spec.hosts", message: "at least one host is required", severity: "error" });
      if (spec.deprecated === true) warnings.push({ file: d.file, line: d.lineOf(["spec", "deprecated"]), path: "spec.deprecated", message: "deprecated field", severity: "warning" });
      for (const h of spec.hosts ?? []) {
        snapshot.clusters[`outbound|80||${h}`] = { name: `outbound|80||${h}`, type: "STRICT_DNS", lbPolicy: "LEAST_REQUEST", connectTimeoutMs: 10_000, loadAssignment: { endpoints: [] } };
        const route = { name: "default", match: { prefix: "/", caseSensitive: true, headers: [], queryParameters: [] }, route: { cluster: `outbound|80||${h}` }, requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] };
        snapshot.routeConfigs["80"] ??= { name: "80", virtualHosts: [] };
        snapshot.routeConfigs["80"].virtualHosts.push({ name: h, domains: [h], routes: [route] });
      }
    }
    snapshot.listeners.push(httpListener({ address: "0.0.0.0", port: 80, direction: "OUTBOUND", routeConfigName: "80" }));
    const summary = documents.map((d) => `${d.kind} ${d.metadata.namespace ?? opts.namespace}/${d.metadata.name}`);
    return { snapshot, errors, warnings, summary };
  };
}

function files(contents: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "outrigger-validate-"));
  for (const [name, text] of Object.entries(contents)) writeFileSync(join(dir, name), text);
  return dir;
}

const se = (name: string, spec: string) => `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: ${name}\nspec:\n${spec}`;

function cli(seen?: TranslateOptions[]) {
  return harness({ deps: { loadConfigSources, translate: standInTranslate(seen) } });
}

describe("outrigger validate (stand-in translator)", () => {
  it("OK: one line per resource and the counts on stdout, exit 0", async () => {
    const dir = files({ "a.yaml": se("a", "  hosts: [a.example.com]\n"), "b.yaml": se("b", "  hosts: [b.example.com, c.example.com]\n") });
    const seen: TranslateOptions[] = [];
    const r = await cli(seen).run(["validate", "--config", dir, "--namespace", "shop", "--labels", "app=x"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("ServiceEntry shop/a\nServiceEntry shop/b\n2 resources, 1 listener, 3 routes, 3 clusters: OK\n");
    expect(seen[0]).toEqual({
      namespace: "shop",
      proxyLabels: { app: "x" },
      domainSuffix: "cluster.local",
      defaultOutbound: { address: "127.0.0.1", port: 15001 },
      proxyLocality: {},
      mirrorShadowSuffix: false,
      otel: { tracesDisabled: false, headers: {} },
      node: expect.objectContaining({ namespace: "shop", app: "x" }),
      env: {},
    });
  });

  it("validate and config-dump pass --locality and --mirror-shadow-suffix to the translator", async () => {
    const dir = files({ "a.yaml": se("a", "  hosts: [a.example.com]\n") });
    for (const cmd of ["validate", "config-dump"]) {
      const seen: TranslateOptions[] = [];
      const r = await cli(seen).run([cmd, "--config", dir, "--locality", "us-east1/us-east1-b", "--mirror-shadow-suffix"]);
      expect(r.code).toBe(0);
      expect(seen[0]).toMatchObject({ proxyLocality: { region: "us-east1", zone: "us-east1-b" }, mirrorShadowSuffix: true });
    }
  });

  it("errors: every one as file:line: path: message in file order, then the count, exit 1", async () => {
    const dir = files({ "b.yaml": se("b", "  ports: []\n"), "a.yaml": "# comment\n" + se("a", "  location: MESH_EXTERNAL\n") });
    const r = await cli().run(["validate", "--config", dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      `${join(dir, "a.yaml")}:6: spec.hosts: at least one host is required\n` +
        `${join(dir, "b.yaml")}:5: spec.hosts: at least one host is required\n` +
        "2 errors\n",
    );
  });

  it("warnings alone: printed on stderr, still OK and exit 0", async () => {
    const dir = files({ "a.yaml": se("a", "  hosts: [a]\n  deprecated: true\n") });
    const r = await cli().run(["validate", "--config", join(dir, "a.yaml")]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`${join(dir, "a.yaml")}:7: warning: spec.deprecated: deprecated field\n1 warning\n`);
    expect(r.stdout).toContain(": OK\n");
  });

  it("a missing file: exit 1 naming the path", async () => {
    const r = await cli().run(["validate", "--config", "/nonexistent/vs.yaml"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("/nonexistent/vs.yaml: no such file or directory: /nonexistent/vs.yaml");
    expect(r.stderr).toContain("1 error\n");
  });

  it("unparsable YAML: exit 1 with file and line", async () => {
    const dir = files({ "bad.yaml": "apiVersion: v1\nkind: [unclosed\nmetadata: {}\n" });
    const r = await cli().run(["validate", "--config", dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${join(dir, "bad.yaml").replace(/[.]/g, "\\.")}:\\d+: YAML syntax error`, "m"));
  });
});

describe("outrigger config-dump (stand-in translator)", () => {
  it("prints Envoy's ConfigDump (bootstrap, clusters, endpoints, listeners, routes) as JSON, exit 0", async () => {
    const dir = files({ "a.yaml": se("a", "  hosts: [a.example.com]\n") });
    const r = await cli().run(["config-dump", "--config", dir, "--namespace", "shop", "--outbound", "off"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const dump = dumpParts(JSON.parse(r.stdout));
    expect(dump.lastReloadError).toBeNull();
    expect(dump.bootstrap.node.metadata).toMatchObject({ NAMESPACE: "shop", outrigger: { configPaths: [dir], outbound: null } });
    expect(dump.bootstrap.admin).toEqual({ address: { socket_address: { address: "127.0.0.1", port_value: 15000 } } });
    expect(Object.keys(dump.clusters)).toEqual(["outbound|80||a.example.com"]);
    expect(Object.keys(dump.endpoints)).toEqual(["outbound|80||a.example.com"]);
    expect(dump.version).toBe("offline");
  });

  it("config errors: on stderr, nothing on stdout, exit 1", async () => {
    const dir = files({ "a.yaml": se("a", "  ports: []\n") });
    const r = await cli().run(["config-dump", "--config", dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("a.yaml:5: spec.hosts: at least one host is required\n1 error\n");
  });
});
