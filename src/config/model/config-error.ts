// One configuration problem with its place: file, line and field path. Both config sources
// (Istio YAML, xDS) report through this shape so the CLI and logs print them the same way.

export type ConfigErrorSeverity = "error" | "warning";

export interface ConfigError {
  /** File as the user named it (or an xDS resource name). */
  file: string;
  /** 1-based line; 0 when unknown. */
  line: number;
  /** Field path such as `spec.http[0].route[1].weight`; "" for the whole document. */
  path: string;
  message: string;
  severity: ConfigErrorSeverity;
}

/** `file:line: path: message`, warnings prefixed `warning: ` after the location. */
export function formatConfigError(e: ConfigError): string {
  const where = e.line > 0 ? `${e.file}:${e.line}: ` : `${e.file}: `;
  const sev = e.severity === "warning" ? "warning: " : "";
  const path = e.path !== "" ? `${e.path}: ` : "";
  return `${where}${sev}${path}${e.message}`;
}

/** Render a path array (`["spec","http",0]`) the way errors show it (`spec.http[0]`). */
export function formatFieldPath(path: ReadonlyArray<string | number>): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}
