import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfigSources, parseConfigText } from "../../../src/config/load/load-sources.js";
import { formatConfigError } from "../../../src/config/model/config-error.js";

const fixtures = fileURLToPath(new URL("../../fixtures/config", import.meta.url));

describe("loadConfigSources", () => {
  it("reads a folder recursively, sorted, yaml/yml only, skipping empty documents and expanding List", async () => {
    const dir = join(fixtures, "folder");
    const { documents, errors } = await loadConfigSources([dir]);
    expect(errors).toEqual([]);
    expect(documents.map((d) => `${d.file.slice(dir.length + 1)}#${d.index} ${d.kind}/${d.metadata.name}`)).toEqual([
      "a-list.yml#0 DestinationRule/a",
      "a-list.yml#0 Service/svc",
      "b-services.yaml#0 ServiceEntry/b",
      "b-services.yaml#2 ServiceEntry/c",
      "nested/z.yaml#0 Sidecar/z",
    ]);
    const dr = documents[0];
    expect(dr?.metadata.namespace).toBe("other");
    expect(dr?.file).toBe(join(dir, "a-list.yml"));
    // lineOf inside a List item is relative to the item.
    expect(dr?.lineOf(["spec", "host"])).toBe(10);
  });

  it("reports a missing path as an error and keeps going", async () => {
    const { documents, errors } = await loadConfigSources([join(fixtures, "nope.yaml"), join(fixtures, "folder", "nested", "z.yaml")]);
    expect(documents).toHaveLength(1);
    expect(errors).toHaveLength(1);
    expect(formatConfigError(errors[0]!)).toMatch(/nope\.yaml: no such file or directory/);
  });

  it("reports YAML syntax errors with file and line", async () => {
    const file = join(fixtures, "syntax-error.yaml");
    const { documents, errors } = await loadConfigSources([file]);
    expect(documents).toEqual([]);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ file, severity: "error" });
    expect(errors[0]!.line).toBeGreaterThanOrEqual(6);
    expect(errors[0]!.message).toMatch(/YAML syntax error/);
  });

  it("lineOf resolves nested paths and falls back to the nearest ancestor, then the document start", () => {
    const text = [
      "# comment", // 1
      "apiVersion: networking.istio.io/v1", // 2
      "kind: VirtualService", // 3
      "metadata:", // 4
      "  name: r", // 5
      "spec:", // 6
      "  hosts: [r]", // 7
      "  http:", // 8
      "  - route:", // 9
      "    - destination:", // 10
      "        host: r", // 11
      "      weight: 10", // 12
      "    - destination:", // 13
      "        host: s", // 14
      "      weight: 90", // 15
      "---", // 16
      "apiVersion: v1", // 17
      "kind: Service", // 18
      "metadata: {name: x}", // 19
    ].join("\n");
    const { documents, errors } = parseConfigText(text, "mesh/vs.yaml");
    expect(errors).toEqual([]);
    const vs = documents[0]!;
    expect(vs.lineOf(["spec", "http", 0, "route", 1, "weight"])).toBe(15);
    expect(vs.lineOf(["spec", "http", 0, "route", 1, "destination", "host"])).toBe(14);
    expect(vs.lineOf(["spec", "http", 0, "route", 1, "headers", "request"])).toBe(13);
    expect(vs.lineOf(["spec", "http", 5])).toBe(8);
    expect(vs.lineOf([])).toBe(2);
    expect(documents[1]!.lineOf(["spec"])).toBe(17);
    expect(documents[1]!.index).toBe(1);
  });

  it("warns about documents without a kind, errors on non-mapping documents", () => {
    const { documents, errors } = parseConfigText("spec:\n  x: 1\n---\n- a\n- b\n", "f.yaml");
    expect(documents).toEqual([]);
    expect(errors.map((e) => `${e.severity} ${e.line} ${e.message}`)).toEqual(["warning 1 document has no kind; ignored", "error 4 document must be a mapping with apiVersion, kind and metadata"]);
  });
});
