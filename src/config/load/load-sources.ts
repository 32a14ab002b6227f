// Reads Istio-style YAML from files and folders into SourceDocuments that remember where each
// field came from, so later validation can point at `file:line`. No Istio semantics here.

import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { LineCounter, parseAllDocuments, isMap, isSeq, isScalar, isPair } from "yaml";
import type { Node as YamlNode } from "yaml";
import type { ConfigError } from "../model/config-error.js";

export interface SourceDocument {
  /** Path as the user gave it (joined with the folder for folder inputs). */
  file: string;
  /** Document index within the file (0-based, counting `---` separated documents). */
  index: number;
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: string };
  spec: unknown;
  /** A ConfigMap's `data` (the `istio` ConfigMap carries the MeshConfig under `data.mesh`). */
  data?: unknown;
  /**
   * 1-based line of a field path such as ["spec","http",0,"route",1,"weight"]; falls back to the
   * nearest existing ancestor, then the document start.
   */
  lineOf(path: Array<string | number>): number;
}

export interface LoadResult {
  documents: SourceDocument[];
  /** Problems found while reading; check `severity` (documents without a kind are only warnings). */
  errors: ConfigError[];
}

const YAML_FILE = /\.ya?ml$/i;

export async function loadConfigSources(paths: string[]): Promise<LoadResult> {
  const documents: SourceDocument[] = [];
  const errors: ConfigError[] = [];
  for (const p of paths) {
    let files: string[];
    try {
      files = await expandPath(p);
    } catch (e) {
      errors.push(fileError(p, describeFsError(e, p)));
      continue;
    }
    for (const f of files) {
      let text: string;
      try {
        text = await readFile(f, "utf8");
      } catch (e) {
        errors.push(fileError(f, describeFsError(e, f)));
        continue;
      }
      const parsed = parseConfigText(text, f);
      documents.push(...parsed.documents);
      errors.push(...parsed.errors);
    }
  }
  return { documents, errors };
}

/** Parse one YAML text (possibly multi-document) as if read from `file`. Exposed for tests and xDS-less tools. */
export function parseConfigText(text: string, file: string): LoadResult {
  const documents: SourceDocument[] = [];
  const errors: ConfigError[] = [];
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: true });
  // parseAllDocuments returns an EmptyStream (array-like, no documents) for empty input.
  const list = Array.isArray(docs) ? docs : [];
  list.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        const line = err.linePos?.[0]?.line ?? lineCounter.linePos(err.pos[0]).line;
        const msg = err.message.split("\n")[0] ?? err.message;
        errors.push({ file, line, path: "", message: `YAML syntax error: ${msg}`, severity: "error" });
      }
      return;
    }
    const root = doc.contents;
    if (root === null || (isScalar(root) && (root.value === null || root.value === undefined))) return; // empty document
    const startLine = lineOf(root as YamlNode, [], lineCounter, 1);
    const value: unknown = doc.toJS();
    if (!isPlainObject(value)) {
      errors.push({ file, line: startLine, path: "", message: "document must be a mapping with apiVersion, kind and metadata", severity: "error" });
      return;
    }
    const base = (prefix: Array<string | number>) => (path: Array<string | number>) =>
      lineOf(root as YamlNode, [...prefix, ...path], lineCounter, startLine);
    if (value["kind"] === "List" && Array.isArray(value["items"])) {
      value["items"].forEach((item: unknown, i: number) => {
        const at = base(["items", i]);
        const d = toDocument(item, file, index, at, errors, `items[${i}]`);
        if (d) documents.push(d);
      });
      return;
    }
    const d = toDocument(value, file, index, base([]), errors, "");
    if (d) documents.push(d);
  });
  return { documents, errors };
}

function toDocument(
  value: unknown,
  file: string,
  index: number,
  at: (path: Array<string | number>) => number,
  errors: ConfigError[],
  prefix: string,
): SourceDocument | undefined {
  const p = (s: string): string => (prefix === "" ? s : `${prefix}.${s}`);
  if (!isPlainObject(value)) {
    errors.push({ file, line: at([]), path: prefix, message: "document must be a mapping with apiVersion, kind and metadata", severity: "error" });
    return undefined;
  }
  const kind = value["kind"];
  const apiVersion = value["apiVersion"];
  if (typeof kind !== "string" || kind === "") {
    // Not a Kubernetes resource (e.g. an IstioOperator values fragment): nothing to translate.
    errors.push({ file, line: at(["kind"]), path: p("kind"), message: "document has no kind; ignored", severity: "warning" });
    return undefined;
  }
  if (typeof apiVersion !== "string" || apiVersion === "") {
    errors.push({ file, line: at(["apiVersion"]), path: p("apiVersion"), message: "document has no apiVersion; ignored", severity: "warning" });
    return undefined;
  }
  const meta = isPlainObject(value["metadata"]) ? value["metadata"] : {};
  const metadata: SourceDocument["metadata"] = { name: typeof meta["name"] === "string" ? meta["name"] : "" };
  if (typeof meta["namespace"] === "string" && meta["namespace"] !== "") metadata.namespace = meta["namespace"];
  // Telemetry precedence among resources of one namespace: oldest first (istiod sortConfigByCreationTime).
  const created = meta["creationTimestamp"];
  if (typeof created === "string" && created !== "") metadata.creationTimestamp = created;
  else if (created instanceof Date) metadata.creationTimestamp = created.toISOString();
  if (isPlainObject(meta["labels"])) {
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(meta["labels"])) labels[k] = String(v);
    metadata.labels = labels;
  }
  // Annotations that change behaviour (AuthorizationPolicy `istio.io/dry-run`).
  if (isPlainObject(meta["annotations"])) {
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(meta["annotations"])) annotations[k] = String(v);
    metadata.annotations = annotations;
  }
  const doc: SourceDocument = { file, index, apiVersion, kind, metadata, spec: value["spec"], lineOf: at };
  if (value["data"] !== undefined) doc.data = value["data"];
  return doc;
}

/** Walk the YAML node tree along `path`; the line of the deepest node reached (keys point at the key). */
export function lineOf(root: YamlNode, path: Array<string | number>, lc: LineCounter, fallback: number): number {
  let node: unknown = root;
  let line = rangeLine(root, lc) ?? fallback;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && keyOf(it.key) === String(seg));
      if (!pair) break;
      line = rangeLine(pair.key as YamlNode, lc) ?? line;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === "number") {
      const item = node.items[seg];
      if (item === undefined || item === null) break;
      line = rangeLine(item as YamlNode, lc) ?? line;
      node = item;
    } else break;
  }
  return line;
}

function keyOf(k: unknown): string | undefined {
  if (isScalar(k)) return String(k.value);
  return typeof k === "string" ? k : undefined;
}

function rangeLine(n: YamlNode | null | undefined, lc: LineCounter): number | undefined {
  const r = (n as { range?: [number, number, number] } | null | undefined)?.range;
  return r ? lc.linePos(r[0]).line : undefined;
}

async function expandPath(p: string): Promise<string[]> {
  const st = await stat(p);
  if (!st.isDirectory()) return [p];
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile() && YAML_FILE.test(e.name)) out.push(full);
    }
  };
  await walk(p);
  return out;
}

function describeFsError(e: unknown, p: string): string {
  const code = (e as { code?: string }).code;
  if (code === "ENOENT") return `no such file or directory: ${p}`;
  if (code === "EACCES") return `permission denied: ${p}`;
  if (code === "EISDIR") return `is a directory: ${p}`;
  return `cannot read ${p}: ${(e as Error).message}`;
}

function fileError(file: string, message: string): ConfigError {
  return { file, line: 0, path: "", message, severity: "error" };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
