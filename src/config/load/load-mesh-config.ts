// Reads a MeshConfig as Istio keeps it: either a bare MeshConfig YAML document (what the `mesh`
// key of the `istio` ConfigMap holds) or that ConfigMap itself, whose `data.mesh` is a YAML string.
// Remembers where each field came from so MeshConfig errors point at `file:line` too.

import { readFile } from "node:fs/promises";
import { LineCounter, parseAllDocuments, isScalar } from "yaml";
import type { Node as YamlNode } from "yaml";
import type { ConfigError } from "../model/config-error.js";
import { lineOf, type SourceDocument } from "./load-sources.js";

/** A MeshConfig ready for validation, with line lookup into the file it came from. */
export interface MeshConfigDocument {
  file: string;
  /** The MeshConfig object (undefined for an empty `mesh`). */
  value: unknown;
  /** Where it came from, for messages: `mesh.yaml` or `mesh.yaml (ConfigMap istio-system/istio)`. */
  origin: string;
  /** 1-based line of a MeshConfig field path (falls back to the nearest ancestor). */
  lineOf(path: Array<string | number>): number;
}

export interface MeshConfigLoad {
  doc?: MeshConfigDocument;
  errors: ConfigError[];
}

function err(file: string, line: number, path: string, message: string): ConfigError {
  return { file, line, path, message, severity: "error" };
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `--mesh-config FILE`: read and parse it. A missing or unreadable file is an error, never a crash. */
export async function loadMeshConfigFile(path: string): Promise<MeshConfigLoad> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory, expected a file" : code === "EACCES" ? "permission denied" : (e as Error).message;
    return { errors: [err(path, 0, "", `cannot read the mesh config: ${why}`)] };
  }
  return parseMeshConfigText(text, path);
}

/** Parse a mesh config file's text: a bare MeshConfig or the `istio` ConfigMap. */
export function parseMeshConfigText(text: string, file: string): MeshConfigLoad {
  const lc = new LineCounter();
  const all = parseAllDocuments(text, { lineCounter: lc, prettyErrors: true });
  const docs = (Array.isArray(all) ? all : []).filter((d) => !(d.contents === null || (isScalar(d.contents) && (d.contents.value === null || d.contents.value === undefined))) || d.errors.length > 0);
  const errors: ConfigError[] = [];
  for (const d of docs) {
    for (const e of d.errors) errors.push(err(file, e.linePos?.[0]?.line ?? lc.linePos(e.pos[0]).line, "", `YAML syntax error: ${e.message.split("\n")[0] ?? e.message}`));
  }
  if (errors.length > 0) return { errors };
  if (docs.length === 0) return { doc: { file, value: undefined, origin: file, lineOf: () => 1 }, errors };
  if (docs.length > 1) return { errors: [err(file, lc.linePos(docs[1]!.contents!.range![0]).line, "", "the mesh config file must hold one document (a MeshConfig or the istio ConfigMap), found " + docs.length)] };
  const root = docs[0]!.contents as YamlNode;
  const value: unknown = docs[0]!.toJS();
  const at = (path: Array<string | number>): number => lineOf(root, path, lc, 1);
  if (!isObj(value)) return { errors: [err(file, at([]), "", "the mesh config must be a mapping (MeshConfig fields, or a ConfigMap with data.mesh)")] };
  const kind = value["kind"];
  // The ConfigMap's data alone (`mesh: |-` …), as Istio's docs show it: MeshConfig has no `mesh` field.
  if (kind === undefined && typeof value["mesh"] === "string") return meshConfigFromConfigMap({ file, name: "data", data: value, lineOf: (p) => at(p.slice(1)) });
  if (kind === undefined) return { doc: { file, value, origin: file, lineOf: at }, errors };
  if (kind !== "ConfigMap") return { errors: [err(file, at(["kind"]), "kind", `expected a MeshConfig document or the istio ConfigMap, got kind ${JSON.stringify(kind)}`)] };
  const meta = isObj(value["metadata"]) ? value["metadata"] : {};
  const name = typeof meta["name"] === "string" ? meta["name"] : "";
  const ns = typeof meta["namespace"] === "string" ? `${meta["namespace"]}/` : "";
  return meshConfigFromConfigMap({ file, name: `${ns}${name}`, data: value["data"], lineOf: at });
}

/**
 * The MeshConfig inside a ConfigMap's `data.mesh` string. Lines inside it are counted from the
 * `mesh:` key, which is exact for the block scalar (`mesh: |-`) kubectl and Helm write.
 */
export function meshConfigFromConfigMap(cm: { file: string; name: string; data: unknown; lineOf(path: Array<string | number>): number }): MeshConfigLoad {
  const origin = `${cm.file} (ConfigMap ${cm.name} data.mesh)`;
  if (!isObj(cm.data) || cm.data["mesh"] === undefined || cm.data["mesh"] === null) {
    return { errors: [err(cm.file, cm.lineOf(["data"]), "data.mesh", `ConfigMap ${cm.name} has no data.mesh: it must hold the MeshConfig as a YAML string`)] };
  }
  const mesh = cm.data["mesh"];
  if (typeof mesh !== "string") return { errors: [err(cm.file, cm.lineOf(["data", "mesh"]), "data.mesh", `must be a string holding the MeshConfig YAML, got ${Array.isArray(mesh) ? "a list" : typeof mesh}`)] };
  const base = cm.lineOf(["data", "mesh"]);
  const lc = new LineCounter();
  const docs = parseAllDocuments(mesh, { lineCounter: lc, prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [];
  const errors: ConfigError[] = [];
  for (const d of list) {
    for (const e of d.errors) errors.push(err(cm.file, base + (e.linePos?.[0]?.line ?? lc.linePos(e.pos[0]).line), "data.mesh", `YAML syntax error in the MeshConfig: ${e.message.split("\n")[0] ?? e.message}`));
  }
  if (errors.length > 0) return { errors };
  const first = list[0];
  if (first === undefined || first.contents === null) return { doc: { file: cm.file, value: undefined, origin, lineOf: () => base }, errors };
  const root = first.contents as YamlNode;
  const value: unknown = first.toJS();
  if (!isObj(value) && value !== null && value !== undefined) return { errors: [err(cm.file, base + 1, "data.mesh", "the MeshConfig must be a mapping")] };
  return { doc: { file: cm.file, value, origin, lineOf: (path) => base + lineOf(root, path, lc, 1) }, errors };
}

/** A ConfigMap among the `--config` documents as a MeshConfig (`data.mesh`). */
export function meshConfigFromSourceDocument(doc: SourceDocument): MeshConfigLoad {
  const ns = doc.metadata.namespace !== undefined ? `${doc.metadata.namespace}/` : "";
  return meshConfigFromConfigMap({ file: doc.file, name: `${ns}${doc.metadata.name}`, data: doc.data, lineOf: (p) => doc.lineOf(p) });
}
