// Which MeshConfig this translation uses: `--mesh-config FILE` when given, else an `istio` (or
// `istio-<rev>` with a `mesh` key) ConfigMap among the `--config` documents, else the mesh config
// of a standard Istio install. Its problems are reported like any other document's.

import type { SourceDocument } from "../load/load-sources.js";
import { meshConfigFromSourceDocument, type MeshConfigDocument } from "../load/load-mesh-config.js";
import type { ConfigError } from "../model/config-error.js";
import { DocIssues } from "./doc-issues.js";
import { DEFAULT_ROOT_NAMESPACE, parseMeshConfig, standardInstallMeshConfig, type ParsedMeshConfig } from "./mesh-config.js";
import { isObj } from "./spec-reader.js";

/** The `istio` ConfigMap, or an `istio-<rev>` one that carries a MeshConfig (not istio-ca-root-cert & co). */
export function isMeshConfigMap(doc: SourceDocument): boolean {
  if (doc.kind !== "ConfigMap" || doc.apiVersion !== "v1") return false;
  const name = doc.metadata.name;
  return name === "istio" || (name.startsWith("istio-") && isObj(doc.data) && doc.data["mesh"] !== undefined);
}

export interface MeshConfigChoice {
  mesh: ParsedMeshConfig;
  /** The document it came from; undefined = the standard install's defaults. */
  doc?: MeshConfigDocument;
  rootNamespace: string;
}

/** A MeshConfigDocument as a SourceDocument, so DocIssues can place its problems. */
function asSourceDocument(d: MeshConfigDocument): SourceDocument {
  return { file: d.file, index: 0, apiVersion: "v1", kind: "MeshConfig", metadata: { name: "mesh" }, spec: d.value, lineOf: (p) => d.lineOf(p) };
}

export function chooseMeshConfig(
  configMaps: SourceDocument[],
  fromFlag: MeshConfigDocument | undefined,
  flagRootNamespace: string | undefined,
  errors: ConfigError[],
  warnings: ConfigError[],
): MeshConfigChoice {
  let doc = fromFlag;
  const sorted = [...configMaps].sort((a, b) => (a.metadata.name === "istio" ? -1 : b.metadata.name === "istio" ? 1 : a.metadata.name < b.metadata.name ? -1 : 1));
  const chosen = doc === undefined ? sorted[0] : undefined;
  for (const cm of sorted) {
    if (cm === chosen) continue;
    const why = doc !== undefined ? `--mesh-config ${doc.file} is used instead` : `ConfigMap ${chosen!.metadata.name} (${chosen!.file}:${chosen!.lineOf([])}) is used instead`;
    new DocIssues(cm, errors, warnings).warn([], `ConfigMap ${cm.metadata.name} is not used as the mesh config: ${why}`);
  }
  if (chosen !== undefined) {
    const loaded = meshConfigFromSourceDocument(chosen);
    errors.push(...loaded.errors);
    doc = loaded.doc;
  }
  if (doc === undefined) return { mesh: standardInstallMeshConfig(), rootNamespace: flagRootNamespace ?? DEFAULT_ROOT_NAMESPACE };
  const issues = new DocIssues(asSourceDocument(doc), errors, warnings);
  const mesh = parseMeshConfig(issues, doc.value);
  if (mesh.defaultProviders.metrics.length === 0) {
    issues.warn(["defaultProviders", "metrics"], "no default metrics provider: Istio's standard metrics are off unless a Telemetry resource names one (Istio's Helm install sets defaultProviders.metrics: [prometheus])");
  }
  // istiod reads rootNamespace from the MeshConfig alone; --root-namespace stands in when it is unset.
  if (mesh.rootNamespace !== undefined && flagRootNamespace !== undefined && flagRootNamespace !== mesh.rootNamespace) {
    issues.warn(["rootNamespace"], `rootNamespace ${mesh.rootNamespace} overrides --root-namespace ${flagRootNamespace}`);
  }
  return { mesh, doc, rootNamespace: mesh.rootNamespace ?? flagRootNamespace ?? DEFAULT_ROOT_NAMESPACE };
}

/** One summary line for the mesh config in use. */
export function meshConfigSummary(c: MeshConfigChoice): string {
  const m = c.mesh;
  const log = m.accessLogFile === "" ? "off" : `${m.accessLogFile} (${m.accessLogEncoding})`;
  const dp = (xs: string[]): string => (xs.length > 0 ? xs.join(",") : "-");
  const providers = m.extensionProviders.map((p) => `${p.name}(${p.kind === "unsupported" ? `${p.type}, ignored` : p.kind})`).join(", ");
  return `MeshConfig ${c.doc?.origin ?? "(standard install defaults)"}: root namespace ${c.rootNamespace}, access log file ${log}, tracing ${m.enableTracing ? "enabled" : "disabled"}, default providers tracing ${dp(m.defaultProviders.tracing)} metrics ${dp(m.defaultProviders.metrics)} access logging ${dp(m.defaultProviders.accessLogging)}, extension providers ${providers}`;
}
