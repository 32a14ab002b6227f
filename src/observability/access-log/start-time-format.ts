// %START_TIME(<format>)%: Envoy's strftime dialect (absl::FormatTime in UTC plus Envoy's own `%s`
// and `%f`/`%<n>f`), compiled once per snapshot into a list of parts. Times are ms since the
// epoch, so sub-millisecond digits render as zeros.

type Part = string | ((t: TimeFields) => string);

interface TimeFields {
  ms: number;
  d: Date;
}

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

const pad2 = (n: number): string => (n < 10 ? "0" + n : String(n));
const pad3 = (n: number): string => (n < 10 ? "00" + n : n < 100 ? "0" + n : String(n));

/** Fractional seconds with `digits` digits (1..9), from a ms timestamp. */
function fraction(ms: number, digits: number): string {
  const milli = pad3(((ms % 1000) + 1000) % 1000);
  const nine = milli + "000000";
  return nine.slice(0, digits);
}

const SPECIFIERS: Record<string, (t: TimeFields) => string> = {
  Y: (t) => String(t.d.getUTCFullYear()),
  y: (t) => pad2(t.d.getUTCFullYear() % 100),
  C: (t) => pad2(Math.floor(t.d.getUTCFullYear() / 100)),
  m: (t) => pad2(t.d.getUTCMonth() + 1),
  d: (t) => pad2(t.d.getUTCDate()),
  e: (t) => String(t.d.getUTCDate()).padStart(2, " "),
  H: (t) => pad2(t.d.getUTCHours()),
  I: (t) => pad2(((t.d.getUTCHours() + 11) % 12) + 1),
  M: (t) => pad2(t.d.getUTCMinutes()),
  S: (t) => pad2(t.d.getUTCSeconds()),
  p: (t) => (t.d.getUTCHours() < 12 ? "AM" : "PM"),
  j: (t) => pad3(Math.floor((t.ms - Date.UTC(t.d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1),
  a: (t) => DAYS[t.d.getUTCDay()]!.slice(0, 3),
  A: (t) => DAYS[t.d.getUTCDay()]!,
  b: (t) => MONTHS[t.d.getUTCMonth()]!.slice(0, 3),
  h: (t) => MONTHS[t.d.getUTCMonth()]!.slice(0, 3),
  B: (t) => MONTHS[t.d.getUTCMonth()]!,
  u: (t) => String(t.d.getUTCDay() === 0 ? 7 : t.d.getUTCDay()),
  w: (t) => String(t.d.getUTCDay()),
  z: () => "+0000",
  Z: () => "UTC",
  s: (t) => String(Math.floor(t.ms / 1000)),
  F: (t) => `${t.d.getUTCFullYear()}-${pad2(t.d.getUTCMonth() + 1)}-${pad2(t.d.getUTCDate())}`,
  T: (t) => `${pad2(t.d.getUTCHours())}:${pad2(t.d.getUTCMinutes())}:${pad2(t.d.getUTCSeconds())}`,
  R: (t) => `${pad2(t.d.getUTCHours())}:${pad2(t.d.getUTCMinutes())}`,
  D: (t) => `${pad2(t.d.getUTCMonth() + 1)}/${pad2(t.d.getUTCDate())}/${pad2(t.d.getUTCFullYear() % 100)}`,
  t: () => "\t",
  "%": () => "%",
};

/** Envoy's default START_TIME rendering: `%Y-%m-%dT%H:%M:%E3SZ`, e.g. `2026-11-30T17:00:00.123Z`. */
export function defaultStartTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Compiles a START_TIME format; throws a clear error for a specifier it does not know. */
export function compileStartTimeFormat(format: string): (ms: number) => string {
  if (format === "") return defaultStartTime;
  const parts: Part[] = [];
  let lit = "";
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c !== "%") {
      lit += c;
      continue;
    }
    const rest = format.slice(i + 1);
    let m: RegExpExecArray | null;
    let fn: ((t: TimeFields) => string) | undefined;
    let len = 1;
    if ((m = /^([1-9]?)f/.exec(rest)) !== null) {
      const digits = m[1] === "" ? 9 : Number(m[1]);
      fn = (t) => fraction(t.ms, digits);
      len = m[0].length;
    } else if ((m = /^E([0-9]|\*)S/.exec(rest)) !== null) {
      const digits = m[1] === "*" ? -1 : Number(m[1]);
      fn = (t) => {
        const s = pad2(t.d.getUTCSeconds());
        if (digits === 0) return s;
        if (digits > 0) return s + "." + fraction(t.ms, digits);
        // %E*S: as many digits as needed, none for whole seconds.
        const f = fraction(t.ms, 3).replace(/0+$/, "");
        return f === "" ? s : s + "." + f;
      };
      len = m[0].length;
    } else if (rest.startsWith("Ez")) {
      fn = () => "+00:00";
      len = 2;
    } else if (rest.startsWith("E4Y")) {
      fn = (t) => String(t.d.getUTCFullYear()).padStart(4, "0");
      len = 3;
    } else if (rest[0] === "n") {
      throw new Error(`START_TIME format "${format}" contains a newline`);
    } else if (rest.length > 0 && SPECIFIERS[rest[0]!] !== undefined) {
      fn = SPECIFIERS[rest[0]!];
    } else {
      throw new Error(`START_TIME format "${format}": unsupported specifier %${rest[0] ?? ""}`);
    }
    if (lit !== "") parts.push(lit);
    lit = "";
    parts.push(fn!);
    i += len;
  }
  if (lit !== "") parts.push(lit);
  return (ms: number) => {
    const t: TimeFields = { ms, d: new Date(ms) };
    let out = "";
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      out += typeof p === "string" ? p : p(t);
    }
    return out;
  };
}
