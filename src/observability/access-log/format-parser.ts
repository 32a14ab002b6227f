// Parses an Envoy substitution format string once into literal text and compiled operators, with
// Envoy's rules: `%%` is a literal `%`; every other `%` must start a command
// `%NAME(arg):len%` (NAME of A-Z, 0-9 and _), else the format is refused with the position.

import { compileOperator, type Operator } from "./command-operators.js";

export type FormatPart = string | Operator;

// Envoy's command regex (substitution_formatter.h): the argument is lazy, so `)` ends it unless a
// later `)` is followed by the rest of the command.
const COMMAND = /%([A-Z]|[A-Z][A-Z0-9_]*[A-Z0-9])(?:\((.*?)\))?(?::(\d+))?%/y;

export function parseFormat(format: string): FormatPart[] {
  const parts: FormatPart[] = [];
  let lit = "";
  let pos = 0;
  while (pos < format.length) {
    const c = format[pos]!;
    if (c !== "%") {
      lit += c;
      pos++;
      continue;
    }
    if (format[pos + 1] === "%") {
      lit += "%";
      pos += 2;
      continue;
    }
    COMMAND.lastIndex = pos;
    const m = COMMAND.exec(format);
    if (m === null) throw new Error(`access log format ${JSON.stringify(format)}: no valid command operator at position ${pos} (write %% for a literal %)`);
    const [whole, name, arg, len] = m;
    let op: Operator;
    try {
      op = compileOperator(name!, arg, len === undefined ? undefined : Number(len));
    } catch (e) {
      throw new Error(`access log format ${JSON.stringify(format)}: ${(e as Error).message}`);
    }
    if (lit !== "") parts.push(lit);
    lit = "";
    parts.push(op);
    pos += whole!.length;
  }
  if (lit !== "") parts.push(lit);
  return parts;
}
