// Collects errors and warnings for one source document, turning field paths into `file:line`.
// Validation never throws: every problem is recorded and parsing carries on.

import type { ConfigError } from "../model/config-error.js";
import { formatFieldPath } from "../model/config-error.js";
import type { SourceDocument } from "../load/load-sources.js";

export type FieldPath = Array<string | number>;

export class DocIssues {
  constructor(
    readonly doc: SourceDocument,
    private readonly errors: ConfigError[],
    private readonly warnings: ConfigError[],
  ) {}

  error(path: FieldPath, message: string): void {
    this.errors.push(this.make(path, message, "error"));
  }

  warn(path: FieldPath, message: string): void {
    this.warnings.push(this.make(path, message, "warning"));
  }

  /** Number of errors recorded so far (all documents); lets callers tell if a part was clean. */
  get errorCount(): number {
    return this.errors.length;
  }

  private make(path: FieldPath, message: string, severity: ConfigError["severity"]): ConfigError {
    return { file: this.doc.file, line: this.doc.lineOf(path), path: formatFieldPath(path), message, severity };
  }
}
