// Every Istio sample YAML with a kind we support must load and translate without errors.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadConfigSources } from "../../../src/config/load/load-sources.js";
import { translate } from "../../../src/config/istio/translate.js";
import { formatConfigError } from "../../../src/config/model/config-error.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const samplesDir = join(repoRoot, "..", "shared", "istio-samples");
const SUPPORTED = new Set(["VirtualService", "DestinationRule", "ServiceEntry", "WorkloadEntry", "Sidecar"]);

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...yamlFiles(full));
    else if (/\.ya?ml$/.test(name)) out.push(full);
  }
  return out;
}

// CI always has ../shared beside the clone: a missing corpus is a broken checkout, and must fail
// rather than quietly turn the conformance run into zero tests.
const present = existsSync(samplesDir);

describe("Istio sample corpus conformance", () => {
  const files = present ? yamlFiles(samplesDir) : [];
  it("finds sample files in ../shared/istio-samples", () => {
    expect(present, `istio samples not found at ${samplesDir}`).toBe(true);
    expect(files.length).toBeGreaterThan(0);
  });
  for (const file of files) {
    it(`translates ${relative(samplesDir, file)} without errors`, async () => {
      const { documents, errors } = await loadConfigSources([file]);
      expect(errors.filter((e) => e.severity === "error").map(formatConfigError)).toEqual([]);
      if (!documents.some((d) => SUPPORTED.has(d.kind))) return;
      const r = translate(documents, { namespace: "default", proxyLabels: { app: "sleep" }, domainSuffix: "cluster.local", defaultOutbound: { address: "127.0.0.1", port: 15001 }, security: { trustDomain: "cluster.local", hasIdentity: true } });
      expect(r.errors.map(formatConfigError)).toEqual([]);
    });
  }
});
