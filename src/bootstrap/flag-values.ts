// Converters from flag text to typed values. Each throws a usage error naming the flag.

import { isLogLevel } from "../common/logger.js";
import type { LogLevel } from "../common/logger.js";
import { parseDuration } from "./duration.js";
import { usageError } from "./flag-parser.js";

export function intFlag(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw usageError(`--${name}: expected an integer, got "${text}"`);
  const n = Number(text);
  if (n < min || n > max) throw usageError(`--${name}: ${text} is out of range ${min}..${max}`);
  return n;
}

export function portFlag(name: string, text: string): number {
  return intFlag(name, text, 0, 65535);
}

export function durationFlag(name: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw usageError(`--${name}: expected a duration such as 500ms, 5s, 2m or 1h, got "${text}"`);
  return ms;
}

export function logLevelFlag(name: string, text: string): LogLevel {
  if (!isLogLevel(text)) throw usageError(`--${name}: expected one of debug, info, warn, error, off, got "${text}"`);
  return text;
}

/** `k=v,k2=v2` → labels. Empty values are allowed (`k=`), empty keys are not. */
export function labelsFlag(name: string, text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of text.split(",")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    const key = eq === -1 ? "" : part.slice(0, eq).trim();
    if (key === "") throw usageError(`--${name}: expected key=value pairs separated by commas, got "${part}"`);
    labels[key] = part.slice(eq + 1).trim();
  }
  return labels;
}

/** `host:port`, `[v6]:port`, or `off` → null. */
export function addressFlag(name: string, text: string): { address: string; port: number } | null {
  if (text === "off") return null;
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text);
  if (m === null) throw usageError(`--${name}: expected host:port or off, got "${text}"`);
  return { address: (m[1] ?? m[2]) as string, port: portFlag(name, m[3] as string) };
}

export function formatAddress(a: { address: string; port: number }): string {
  return a.address.includes(":") ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
