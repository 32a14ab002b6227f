// Command-line flags: a tiny parser (`--flag value`, `--flag=value`, repeatable flags, switches,
// `-h/--help`) and the help renderer, both driven by one FlagSpec table per command so the help
// text can never forget a flag the parser accepts.

import { ErrorCode, ProxyError } from "../common/errors.js";

export interface FlagSpec {
  /** Without dashes: "config" is `--config`. */
  name: string;
  /** Placeholder shown in help (`<file|dir>`); absent means a switch that takes no value. */
  value?: string;
  repeatable?: boolean;
  /** Must be given at least once (the parser does not enforce it; the command does). */
  required?: boolean;
  /** What applies when the flag is absent, as the help shows it. */
  default?: string;
  help: string;
}

export interface CommandSpec {
  name: string;
  /** One line: `outrigger run --config <file|dir> [flags]`. */
  usage: string;
  /** A few lines on what the command does. */
  description: string;
  flags: FlagSpec[];
  /** Optional trailing text (examples). */
  footer?: string;
}

export interface ParsedFlags {
  help: boolean;
  /** Values by flag name, in the order given. */
  values: Map<string, string[]>;
  /** Switches present. */
  switches: Set<string>;
}

export function usageError(message: string): ProxyError {
  return new ProxyError(ErrorCode.Usage, message);
}

export function parseFlags(spec: CommandSpec, argv: readonly string[]): ParsedFlags {
  const out: ParsedFlags = { help: false, values: new Map(), switches: new Set() };
  // Help wins wherever it appears, even after a bad flag: asking for help is never an error.
  if (argv.some((a) => a === "-h" || a === "--help")) {
    out.help = true;
    return out;
  }
  const byName = new Map(spec.flags.map((f) => [f.name, f]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith("-") || arg === "-") throw usageError(`unexpected argument "${arg}"`);
    if (!arg.startsWith("--")) throw usageError(`unknown flag ${arg}`);
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const flag = byName.get(name);
    if (flag === undefined) throw usageError(`unknown flag --${name}`);
    if (flag.value === undefined) {
      if (eq !== -1) throw usageError(`flag --${name} takes no value`);
      out.switches.add(name);
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next !== undefined && !(next.startsWith("-") && next.length > 1)) {
        value = next;
        i++;
      }
    }
    if (value === undefined || value === "") throw usageError(`flag --${name} needs a value ${flag.value}`);
    const list = out.values.get(name);
    if (list === undefined) out.values.set(name, [value]);
    else if (flag.repeatable === true) list.push(value);
    else throw usageError(`flag --${name} given more than once`);
  }
  return out;
}

/** The single value of a non-repeatable flag. */
export function flagValue(parsed: ParsedFlags, name: string): string | undefined {
  return parsed.values.get(name)?.[0];
}

export const helpFlag: FlagSpec = { name: "help", help: "show this help" };

export function renderHelp(spec: CommandSpec): string {
  const rows = spec.flags.map((f) => {
    const left = `--${f.name}${f.value !== undefined ? ` ${f.value}` : ""}`;
    const notes = [f.repeatable === true ? "repeatable" : "", f.required === true ? "required" : "", f.default !== undefined ? `default: ${f.default}` : ""].filter((s) => s !== "");
    return [left, notes.length > 0 ? `${f.help} (${notes.join("; ")})` : f.help] as const;
  });
  rows.push(["-h, --help", helpFlag.help]);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  const lines = [`Usage: ${spec.usage}`, "", spec.description, "", "Flags:"];
  for (const [l, r] of rows) lines.push(`  ${l.padEnd(width)}${r}`);
  if (spec.footer !== undefined) lines.push("", spec.footer);
  return lines.join("\n") + "\n";
}
