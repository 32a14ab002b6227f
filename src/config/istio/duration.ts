// Parses Istio/protobuf durations ("10s", "1.5s", "100ms", "1h30m", {seconds, nanos}) into
// milliseconds, with Istio's rule that durations are whole milliseconds and at least 1 ms.

export type DurationResult = { ms: number } | { error: string };

// Go time.ParseDuration units, which is what istiod's YAML→proto path accepts alongside "1.5s".
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

/** Raw parse, no range checks: milliseconds (may be fractional or zero), or undefined. */
export function parseDurationMs(v: unknown): number | undefined {
  if (typeof v === "number") return undefined; // a bare number has no unit; protobuf JSON requires one
  if (typeof v === "object" && v !== null && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.some((k) => k !== "seconds" && k !== "nanos")) return undefined;
    const s = o["seconds"] ?? 0;
    const n = o["nanos"] ?? 0;
    const sec = typeof s === "string" && /^-?\d+$/.test(s) ? Number(s) : s;
    if (typeof sec !== "number" || !Number.isInteger(sec) || typeof n !== "number" || !Number.isInteger(n)) return undefined;
    return sec * 1000 + n / 1e6;
  }
  if (typeof v !== "string" || v === "") return undefined;
  if (v === "0") return 0;
  let i = 0;
  let total = 0;
  PART.lastIndex = 0;
  while (i < v.length) {
    PART.lastIndex = i;
    const m = PART.exec(v);
    if (!m || m.index !== i) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    i = PART.lastIndex;
  }
  return total;
}

/**
 * Istio's ValidateDuration: >= 1 ms and millisecond precision. `allowZero` for fields where 0
 * means "disabled" (VirtualService timeout).
 */
export function parseDuration(v: unknown, opts: { allowZero?: boolean } = {}): DurationResult {
  const ms = parseDurationMs(v);
  if (ms === undefined) return { error: `invalid duration ${JSON.stringify(v)}: use forms like "10s", "1.5s", "100ms", "1h"` };
  if (ms === 0 && opts.allowZero) return { ms: 0 };
  if (ms < 1) return { error: `duration must be at least 1ms, got ${JSON.stringify(v)}` };
  const rounded = Math.round(ms * 1e6) / 1e6;
  if (!Number.isInteger(rounded)) return { error: `only durations to ms precision are supported, got ${JSON.stringify(v)}` };
  return { ms: rounded };
}
