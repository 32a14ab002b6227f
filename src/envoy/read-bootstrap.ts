// Reads Envoy's bootstrap as Envoy does: the `-c` file (JSON or YAML: by extension, else by
// content), `--config-yaml` merged over it, then checked against envoy.config.bootstrap.v3.Bootstrap
// (unknown fields refused unless --allow-unknown-static-fields). Errors read like Envoy's and name
// the file and the field.

import { readFile } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import type { Json } from "../config/envoy/decoded.js";
import { normalizeProtoJson } from "../config/envoy/proto-json.js";
import { mergeProtoJson } from "./merge-proto-json.js";

export const BOOTSTRAP_TYPE = "envoy.config.bootstrap.v3.Bootstrap";

/** A bootstrap that cannot be used: the message says which file or field, and why. */
export class BootstrapError extends Error {
  readonly code = "BootstrapError";
}

export interface ReadBootstrapOptions {
  configPath?: string | undefined;
  configYaml?: string | undefined;
  allowUnknownStaticFields: boolean;
  /** Relative paths resolve against it (Envoy: the process' working directory). */
  cwd: string;
  /** Checks the merged document against the Bootstrap proto; default normalizeProtoJson. */
  normalize?: (typeName: string, json: Json, opts: { allowUnknownFields: boolean }) => Json;
}

function parseDocument(text: string, where: string, yamlByName: boolean | undefined): Json {
  const asYaml = yamlByName ?? !/^\s*[{[]/.test(text);
  let doc: unknown;
  try {
    doc = asYaml ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new BootstrapError(`unable to parse ${asYaml ? "YAML" : "JSON"} as proto (${where}): ${(e as Error).message.split("\n")[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new BootstrapError(`${where}: the bootstrap must be an object (envoy.config.bootstrap.v3.Bootstrap), got ${Array.isArray(doc) ? "a list" : typeof doc}`);
  return doc as Json;
}

/** The bootstrap as proto JSON (decoded.ts' form), validated. */
export async function readBootstrap(o: ReadBootstrapOptions): Promise<Json> {
  let doc: Json = {};
  if (o.configPath !== undefined && o.configPath !== "") {
    const abs = resolve(o.cwd, o.configPath);
    let text: string;
    try {
      text = await readFile(abs, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new BootstrapError(`unable to read file: ${abs}${code === "ENOENT" ? " (no such file)" : code !== undefined ? ` (${code})` : ""}`);
    }
    const ext = extname(abs).toLowerCase();
    doc = parseDocument(text, abs, ext === ".yaml" || ext === ".yml" ? true : ext === ".json" ? false : undefined);
  }
  if (o.configYaml !== undefined && o.configYaml !== "") doc = mergeProtoJson(doc, parseDocument(o.configYaml, "--config-yaml", true));
  const normalize = o.normalize ?? ((t, j, opts) => normalizeProtoJson(t, j, opts));
  try {
    return normalize(BOOTSTRAP_TYPE, doc, { allowUnknownFields: o.allowUnknownStaticFields });
  } catch (e) {
    // Envoy: "Protobuf message (type envoy.config.bootstrap.v3.Bootstrap reason …) has unknown fields"
    throw new BootstrapError(`invalid bootstrap (${BOOTSTRAP_TYPE}): ${(e as Error).message}`);
  }
}
