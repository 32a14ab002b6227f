// A TEXT access-log format compiled once: literals and operators concatenated, unset values as
// `-` (Envoy's FormatterImpl without omit_empty_values).

import type { StreamInfo } from "../stream-info.js";
import { parseFormat, type FormatPart } from "./format-parser.js";

export interface LineFormatter {
  /** One whole log record (Istio's formats end with `\n`; a TEXT format is written as given). */
  format(info: StreamInfo): string;
}

export class TextFormatter implements LineFormatter {
  private readonly parts: FormatPart[];

  constructor(format: string) {
    this.parts = parseFormat(format);
  }

  format(info: StreamInfo): string {
    const parts = this.parts;
    let out = "";
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (typeof p === "string") out += p;
      else {
        const v = p(info);
        out += v === undefined ? "-" : v;
      }
    }
    return out;
  }
}
