// Load + translate for the offline commands (validate, config-dump), and the one way they print
// config problems: `file:line: path: message` on stderr, sorted by place, then a count.

import type { ConfigError } from "../config/model/config-error.js";
import { formatConfigError } from "../config/model/config-error.js";
import type { CliContext, TranslateOptions, TranslateResult } from "./cli-context.js";
import { loadMeshConfigFile } from "../config/load/load-mesh-config.js";

export interface OfflineTranslation {
  /** Undefined when loading failed (translation is skipped so errors are not doubled by knock-on ones). */
  result: TranslateResult | undefined;
  documentCount: number;
  errors: ConfigError[];
  warnings: ConfigError[];
}

/** Loads `paths` (and `meshConfigPath`, the --mesh-config file) and translates them. */
export async function translateConfig(ctx: CliContext, paths: string[], opts: TranslateOptions, meshConfigPath?: string): Promise<OfflineTranslation> {
  const loaded = await ctx.deps.loadConfigSources(paths);
  const mesh = meshConfigPath !== undefined ? await loadMeshConfigFile(meshConfigPath) : undefined;
  const allErrors = [...loaded.errors, ...(mesh?.errors ?? [])];
  const loadErrors = allErrors.filter((e) => e.severity !== "warning");
  const loadWarnings = allErrors.filter((e) => e.severity === "warning");
  if (loadErrors.length > 0) return { result: undefined, documentCount: loaded.documents.length, errors: loadErrors, warnings: loadWarnings };
  const result = await ctx.deps.translate(loaded.documents, mesh?.doc !== undefined ? { ...opts, meshConfig: mesh.doc } : opts);
  return {
    result,
    documentCount: loaded.documents.length,
    errors: result.errors,
    warnings: [...loadWarnings, ...result.warnings],
  };
}

/** Print errors and warnings in file/line order, then `N errors` (and warnings) when any. */
export function reportProblems(ctx: CliContext, t: OfflineTranslation): void {
  const all = [...t.errors, ...t.warnings].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
  for (const e of all) ctx.stderr(formatConfigError(e) + "\n");
  const counts: string[] = [];
  if (t.errors.length > 0) counts.push(plural(t.errors.length, "error"));
  if (t.warnings.length > 0) counts.push(plural(t.warnings.length, "warning"));
  if (counts.length > 0) ctx.stderr(counts.join(", ") + "\n");
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
