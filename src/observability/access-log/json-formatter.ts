// A JSON access-log format compiled once: one object per line, keys in config order (Envoy's
// order is unspecified; config order is stable and readable). A value that is exactly one
// operator keeps its type — numbers for codes, bytes, durations and ports, null when unset —
// and any other value is a string with `-` for unset operators (Envoy's json_format with
// omit_empty_values false).

import type { StreamInfo } from "../stream-info.js";
import type { Operator } from "./command-operators.js";
import { parseFormat, type FormatPart } from "./format-parser.js";
import type { LineFormatter } from "./text-formatter.js";

type Value = { kind: "literal"; json: string } | { kind: "typed"; op: Operator } | { kind: "template"; parts: FormatPart[] };

export class JsonFormatter implements LineFormatter {
  /** `{"key":` / `,"key":` prefixes, pre-escaped. */
  private readonly prefixes: string[] = [];
  private readonly values: Value[] = [];

  constructor(json: Record<string, string>) {
    let first = true;
    for (const [key, format] of Object.entries(json)) {
      if (typeof format !== "string") throw new Error(`access log JSON format: the value of ${JSON.stringify(key)} must be a string`);
      this.prefixes.push((first ? "{" : ",") + JSON.stringify(key) + ":");
      first = false;
      const parts = parseFormat(format);
      if (parts.length === 1 && typeof parts[0] === "function") this.values.push({ kind: "typed", op: parts[0] });
      else if (parts.every((p) => typeof p === "string")) this.values.push({ kind: "literal", json: JSON.stringify(parts.join("")) });
      else this.values.push({ kind: "template", parts });
    }
  }

  format(info: StreamInfo): string {
    const n = this.values.length;
    if (n === 0) return "{}\n";
    let out = "";
    for (let i = 0; i < n; i++) {
      out += this.prefixes[i]!;
      const v = this.values[i]!;
      if (v.kind === "typed") {
        const x = v.op(info);
        out += x === undefined ? "null" : typeof x === "number" ? String(x) : JSON.stringify(x);
      } else if (v.kind === "literal") out += v.json;
      else {
        let s = "";
        const parts = v.parts;
        for (let j = 0; j < parts.length; j++) {
          const p = parts[j]!;
          if (typeof p === "string") s += p;
          else {
            const x = p(info);
            s += x === undefined ? "-" : x;
          }
        }
        out += JSON.stringify(s);
      }
    }
    return out + "}\n";
  }
}
