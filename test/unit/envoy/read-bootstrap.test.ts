// Reading Envoy's bootstrap: JSON or YAML (by extension, else content), --config-yaml merged with
// proto MergeFrom semantics, paths against the working directory, the proto check (injected here:
// the real one is proto-json.ts' normalizeProtoJson) and errors that name the file or field.

import { afterEach, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Json } from "../../../src/config/envoy/decoded.js";
import { mergeProtoJson } from "../../../src/envoy/merge-proto-json.js";
import { BOOTSTRAP_TYPE, readBootstrap } from "../../../src/envoy/read-bootstrap.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function dir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "outrigger-bootstrap-"));
  dirs.push(d);
  return d;
}

/** Records what it was asked, and refuses a top-level field the Bootstrap proto does not have. */
function recordingNormalize(calls: Array<{ type: string; allow: boolean }>) {
  const known = new Set(["node", "admin", "static_resources", "dynamic_resources", "stats_config", "layered_runtime"]);
  return (type: string, json: Json, opts: { allowUnknownFields: boolean }): Json => {
    calls.push({ type, allow: opts.allowUnknownFields });
    const out: Json = {};
    for (const [k, v] of Object.entries(json)) {
      if (known.has(k)) out[k] = v;
      else if (!opts.allowUnknownFields) throw new Error(`${k}: Cannot find field`);
    }
    return out;
  };
}

describe("mergeProtoJson", () => {
  it("merges messages field by field, appends repeated fields, replaces scalars", () => {
    const base = { node: { id: "a", cluster: "c", metadata: { A: "1" } }, static_resources: { clusters: [{ name: "x" }] }, admin: { address: { socket_address: { address: "127.0.0.1", port_value: 15000 } } } };
    const over = { node: { cluster: "d", metadata: { B: "2" } }, static_resources: { clusters: [{ name: "y" }] }, admin: { address: { socket_address: { port_value: 15001 } } } };
    expect(mergeProtoJson(base, over)).toEqual({
      node: { id: "a", cluster: "d", metadata: { A: "1", B: "2" } },
      static_resources: { clusters: [{ name: "x" }, { name: "y" }] },
      admin: { address: { socket_address: { address: "127.0.0.1", port_value: 15001 } } },
    });
  });

  it("replaces map entries (node.metadata is a Struct) key by key instead of merging into them", () => {
    const base = { node: { metadata: { LABELS: { app: "a", version: "v1" }, NAME: "p" } }, static_resources: { clusters: [] }, x: { typed_extension_protocol_options: { k: { "@type": "T", a: 1 } } } };
    const over = { node: { metadata: { LABELS: { app: "b" } } }, x: { typed_extension_protocol_options: { k: { "@type": "T", b: 2 } } } };
    expect(mergeProtoJson(base, over)).toEqual({ node: { metadata: { LABELS: { app: "b" }, NAME: "p" } }, static_resources: { clusters: [] }, x: { typed_extension_protocol_options: { k: { "@type": "T", b: 2 } } } });
  });

  it("replaces an Any of another type instead of merging it", () => {
    const merged = mergeProtoJson({ t: { "@type": "A", a: 1 } }, { t: { "@type": "B", b: 2 } });
    expect(merged).toEqual({ t: { "@type": "B", b: 2 } });
    expect(mergeProtoJson({ t: { "@type": "A", a: 1 } }, { t: { "@type": "A", b: 2 } })).toEqual({ t: { "@type": "A", a: 1, b: 2 } });
  });
});

describe("readBootstrap", () => {
  it("reads JSON relative to the working directory and checks it against the Bootstrap proto", async () => {
    const d = await dir();
    await writeFile(join(d, "envoy-rev.json"), JSON.stringify({ node: { id: "n" } }));
    const calls: Array<{ type: string; allow: boolean }> = [];
    const json = await readBootstrap({ configPath: "envoy-rev.json", allowUnknownStaticFields: false, cwd: d, normalize: recordingNormalize(calls) });
    expect(json).toEqual({ node: { id: "n" } });
    expect(calls).toEqual([{ type: BOOTSTRAP_TYPE, allow: false }]);
  });

  it("reads YAML by extension, and by content when the extension says nothing", async () => {
    const d = await dir();
    await writeFile(join(d, "b.yaml"), "node:\n  id: y\n");
    await writeFile(join(d, "b.conf"), "node:\n  id: z\n");
    await writeFile(join(d, "j.conf"), '{"node": {"id": "j"}}');
    const n = recordingNormalize([]);
    expect(await readBootstrap({ configPath: join(d, "b.yaml"), allowUnknownStaticFields: false, cwd: "/", normalize: n })).toEqual({ node: { id: "y" } });
    expect(await readBootstrap({ configPath: "b.conf", allowUnknownStaticFields: false, cwd: d, normalize: n })).toEqual({ node: { id: "z" } });
    expect(await readBootstrap({ configPath: "j.conf", allowUnknownStaticFields: false, cwd: d, normalize: n })).toEqual({ node: { id: "j" } });
  });

  it("merges --config-yaml over -c, and runs from --config-yaml alone", async () => {
    const d = await dir();
    await writeFile(join(d, "b.json"), JSON.stringify({ node: { id: "n", metadata: { A: "1" } }, static_resources: { clusters: [{ name: "a" }] } }));
    const n = recordingNormalize([]);
    const json = await readBootstrap({ configPath: "b.json", configYaml: '{"node": {"metadata": {"B": "2"}}, "static_resources": {"clusters": [{"name": "b"}]}}', allowUnknownStaticFields: false, cwd: d, normalize: n });
    expect(json).toEqual({ node: { id: "n", metadata: { A: "1", B: "2" } }, static_resources: { clusters: [{ name: "a" }, { name: "b" }] } });
    expect(await readBootstrap({ configYaml: "node: {id: only}", allowUnknownStaticFields: false, cwd: d, normalize: n })).toEqual({ node: { id: "only" } });
  });

  it("refuses unknown fields naming them, and drops them with --allow-unknown-static-fields", async () => {
    const d = await dir();
    await writeFile(join(d, "b.json"), JSON.stringify({ node: { id: "n" }, frobnicate: true }));
    await expect(readBootstrap({ configPath: "b.json", allowUnknownStaticFields: false, cwd: d, normalize: recordingNormalize([]) })).rejects.toThrow(
      "invalid bootstrap (envoy.config.bootstrap.v3.Bootstrap): frobnicate: Cannot find field",
    );
    const calls: Array<{ type: string; allow: boolean }> = [];
    expect(await readBootstrap({ configPath: "b.json", allowUnknownStaticFields: true, cwd: d, normalize: recordingNormalize(calls) })).toEqual({ node: { id: "n" } });
    expect(calls[0]?.allow).toBe(true);
  });

  it("says which file is missing or does not parse", async () => {
    const d = await dir();
    await expect(readBootstrap({ configPath: "nope.json", allowUnknownStaticFields: false, cwd: d })).rejects.toThrow(`unable to read file: ${join(d, "nope.json")} (no such file)`);
    await writeFile(join(d, "bad.json"), "{ node: ");
    await expect(readBootstrap({ configPath: "bad.json", allowUnknownStaticFields: false, cwd: d })).rejects.toThrow(`unable to parse JSON as proto (${join(d, "bad.json")})`);
    await writeFile(join(d, "bad.yaml"), "node: [a\n");
    await expect(readBootstrap({ configPath: "bad.yaml", allowUnknownStaticFields: false, cwd: d })).rejects.toThrow(`unable to parse YAML as proto (${join(d, "bad.yaml")})`);
    await writeFile(join(d, "list.yaml"), "- a\n");
    await expect(readBootstrap({ configPath: "list.yaml", allowUnknownStaticFields: false, cwd: d })).rejects.toThrow("the bootstrap must be an object (envoy.config.bootstrap.v3.Bootstrap), got a list");
    await expect(readBootstrap({ configYaml: "node: [", allowUnknownStaticFields: false, cwd: d })).rejects.toThrow("unable to parse YAML as proto (--config-yaml)");
  });

  it("checks against the real Bootstrap proto: pilot-agent's bootstrap passes; unknown fields are refused with their path, or dropped", async () => {
    const golden = new URL("../../fixtures/istio-dumps/bootstrap-default-golden.json", import.meta.url).pathname;
    const json = await readBootstrap({ configPath: golden, allowUnknownStaticFields: false, cwd: "/" });
    expect((json.node as Json).id).toBe("sidecar~1.2.3.4~foo~bar");
    expect(((json.dynamic_resources as Json).ads_config as Json).api_type).toBe("DELTA_GRPC");
    await expect(readBootstrap({ configYaml: "static_resources: {clusters: [{name: a, bogus: 2}]}", allowUnknownStaticFields: false, cwd: "/" })).rejects.toThrow(
      'invalid bootstrap (envoy.config.bootstrap.v3.Bootstrap): static_resources.clusters[0].bogus: unknown field (envoy.config.cluster.v3.Cluster has no field "bogus")',
    );
    expect(await readBootstrap({ configYaml: "node: {id: x}\nfrobnicate: 1", allowUnknownStaticFields: true, cwd: "/" })).toEqual({ node: { id: "x" } });
    await expect(readBootstrap({ configYaml: "admin: {address: {socket_address: {port_value: notaport}}}", allowUnknownStaticFields: false, cwd: "/" })).rejects.toThrow(
      "admin.address.socket_address.port_value: expected an integer (uint32)",
    );
  });
});
