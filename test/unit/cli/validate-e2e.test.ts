// validate / config-dump end to end through main() with the real loader and translator.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dumpParts } from "../../helpers/config-dump.js";
import { harness } from "./cli-harness.js";

const serviceEntry = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: reviews
  namespace: shop
spec:
  hosts: [reviews.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 9080, name: http, protocol: HTTP}
  endpoints:
  - {address: 127.0.0.1, ports: {http: 19081}, labels: {version: v1}}
  - {address: 127.0.0.1, ports: {http: 19082}, labels: {version: v2}}
`;

const destinationRule = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
  namespace: shop
spec:
  host: reviews.shop.svc.cluster.local
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`;

const virtualService = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: shop
spec:
  hosts: [reviews.shop.svc.cluster.local]
  http:
  - match:
    - headers: {end-user: {exact: jason}}
    route:
    - destination: {host: reviews.shop.svc.cluster.local, subset: v2}
  - route:
    - destination: {host: reviews.shop.svc.cluster.local, subset: v1}
      weight: 80
    - destination: {host: reviews.shop.svc.cluster.local, subset: v2}
      weight: 20
`;

function dir(contents: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), "outrigger-e2e-"));
  for (const [name, text] of Object.entries(contents)) writeFileSync(join(d, name), text);
  return d;
}

describe("outrigger validate (real translator)", () => {
  it("a good config: one line per resource, counts, OK, exit 0", async () => {
    const d = dir({ "se.yaml": serviceEntry, "dr.yaml": destinationRule, "vs.yaml": virtualService });
    const r = await harness().run(["validate", "--config", d, "--namespace", "shop"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.at(-1)).toMatch(/^3 resources, [1-9]\d* listeners?, [1-9]\d* routes?, [1-9]\d* clusters?: OK$/);
    expect(lines.length).toBeGreaterThanOrEqual(4);
  });

  it("a bad config: file:line: path: message on stderr, the count, exit 1", async () => {
    const d = dir({
      "se.yaml": serviceEntry.replace("  hosts: [reviews.shop.svc.cluster.local]\n", ""),
      "vs.yaml": virtualService.replace("weight: 80", "weight: -5"),
    });
    const r = await harness().run(["validate", "--config", d]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(new RegExp(`^${escape(join(d, "se.yaml"))}:\\d+: spec\\.hosts: `, "m"));
    expect(r.stderr).toMatch(new RegExp(`^${escape(join(d, "vs.yaml"))}:15: spec\\.http\\[1\\]\\.route\\[0\\]\\.weight: `, "m"));
    expect(r.stderr).toMatch(/^\d+ errors?(, \d+ warnings?)?\n$/m);
  });

  it("a missing file: exit 1 naming it", async () => {
    const r = await harness().run(["validate", "--config", "/nonexistent/reviews.yaml"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("/nonexistent/reviews.yaml");
  });

  it("unreadable YAML: exit 1 with file and line", async () => {
    const d = dir({ "bad.yaml": "apiVersion: networking.istio.io/v1\nkind: VirtualService\nspec: {hosts: [a\n" });
    const r = await harness().run(["validate", "--config", d]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${escape(join(d, "bad.yaml"))}:\\d+: YAML syntax error`, "m"));
  });
});

describe("outrigger config-dump (real translator)", () => {
  it("prints the snapshot JSON with listeners, routes and clusters", async () => {
    const d = dir({ "se.yaml": serviceEntry, "dr.yaml": destinationRule, "vs.yaml": virtualService });
    const r = await harness().run(["config-dump", "--config", d, "--namespace", "shop"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const dump = dumpParts(JSON.parse(r.stdout));
    expect(dump.bootstrap.node.metadata.NAMESPACE).toBe("shop");
    expect(Object.keys(dump.listeners).length).toBeGreaterThan(0);
    expect(Object.keys(dump.clusters).some((c) => c.includes("|v2|reviews.shop.svc.cluster.local"))).toBe(true);
  });

  it("config errors: exit 1, nothing on stdout", async () => {
    const d = dir({ "se.yaml": serviceEntry.replace("  hosts: [reviews.shop.svc.cluster.local]\n", "") });
    const r = await harness().run(["config-dump", "--config", d]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("spec.hosts");
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
