// Shared pieces of every Envoy resource decoder: one DecodeState that collects errors and notes with
// their dotted path, and readers for the proto-JSON value forms (decoded.ts) — durations, uint32s
// given as strings, string/header matchers, CIDR ranges, socket addresses, TypedStruct unwrapping.
// Readers never throw: a bad value is an error at its path and the reader returns undefined.

import { resolve } from "node:path";
import type { CidrRange, DataSource, FractionalPercent, HeaderMatcher, StringMatcher } from "../model/types.js";
import type { DecodeContext, DecodeNote, Decoded, Json } from "./decoded.js";

export const TYPED_STRUCT_TYPES = new Set(["type.googleapis.com/udpa.type.v1.TypedStruct", "type.googleapis.com/xds.type.v3.TypedStruct"]);

/** Errors and notes of one resource's decoding, each with its dotted path. */
export class DecodeState {
  readonly errors: string[] = [];
  readonly notes: DecodeNote[] = [];
  constructor(readonly ctx: DecodeContext) {}

  error(path: string, message: string): undefined {
    this.errors.push(`${path}: ${message}`);
    return undefined;
  }

  note(path: string, message: string): void {
    this.notes.push({ path, message });
  }

  /** The Decoded form: the value when nothing failed, else every error. */
  result<T>(value: T | undefined): Decoded<T> {
    if (this.errors.length > 0 || value === undefined) return { ok: false, errors: this.errors.length > 0 ? [...this.errors] : ["nothing decoded"] };
    return { ok: true, value, notes: [...this.notes] };
  }
}

/** `a.b` + `c` → `a.b.c`; the root is "". */
export function at(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return path === "" ? key : `${path}.${key}`;
}

export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A message field: absent → undefined; not an object → error. */
export function obj(v: unknown, path: string, st: DecodeState): Json | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) return st.error(path, `expected an object, got ${JSON.stringify(v)}`);
  return v;
}

/** A repeated field: absent → []; not an array → error and []. */
export function list(v: unknown, path: string, st: DecodeState): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    st.error(path, `expected a list, got ${JSON.stringify(v)}`);
    return [];
  }
  return v;
}

export function str(v: unknown, path: string, st: DecodeState): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") return st.error(path, `expected a string, got ${JSON.stringify(v)}`);
  return v;
}

export function strList(v: unknown, path: string, st: DecodeState): string[] {
  const out: string[] = [];
  list(v, path, st).forEach((s, i) => {
    const x = str(s, at(path, i), st);
    if (x !== undefined) out.push(x);
  });
  return out;
}

/** bool, also a BoolValue wrapper given as `{value}`. */
export function bool(v: unknown, path: string, st: DecodeState): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (isObject(v) && "value" in v) return bool(v.value, path, st);
  if (typeof v !== "boolean") return st.error(path, `expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** A non-negative integer no larger than `max` (uint32 by default); 64-bit ones arrive as strings; wrappers as `{value}`. */
export function uint(v: unknown, path: string, st: DecodeState, max = 4_294_967_295): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (isObject(v) && "value" in v) return uint(v.value, path, st, max);
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > max) return st.error(path, `expected an integer between 0 and ${max}, got ${JSON.stringify(v)}`);
  return n;
}

/** A number (double); wrappers as `{value}`. */
export function num(v: unknown, path: string, st: DecodeState): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (isObject(v) && "value" in v) return num(v.value, path, st);
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n)) return st.error(path, `expected a number, got ${JSON.stringify(v)}`);
  return n;
}

/** One of an enum's names (proto JSON may also give the number: `numbers[i]` is names[i]). */
export function enumOf<T extends string>(v: unknown, names: readonly T[], path: string, st: DecodeState): T | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v < names.length) return names[v];
  if (typeof v === "string" && (names as readonly string[]).includes(v)) return v as T;
  return st.error(path, `expected one of ${names.join(", ")}, got ${JSON.stringify(v)}`);
}

/** google.protobuf.Duration ("1.5s", "-0.1s" refused; `{seconds, nanos}` also accepted) → whole ms (rounded up from sub-ms). */
export function durationMs(v: unknown, path: string, st: DecodeState): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") {
    const m = /^(\d+)(?:\.(\d{1,9}))?s$/.exec(v);
    if (m === null) return st.error(path, `expected a duration such as "1.5s", got ${JSON.stringify(v)}`);
    const nanos = Number((m[2] ?? "").padEnd(9, "0"));
    return Number(m[1]) * 1000 + Math.ceil(nanos / 1e6);
  }
  if (isObject(v)) {
    const s = uint(v.seconds ?? 0, at(path, "seconds"), st, Number.MAX_SAFE_INTEGER);
    const n = uint(v.nanos ?? 0, at(path, "nanos"), st, 999_999_999);
    if (s === undefined || n === undefined) return undefined;
    return s * 1000 + Math.ceil(n / 1e6);
  }
  return st.error(path, `expected a duration such as "1.5s", got ${JSON.stringify(v)}`);
}

/**
 * Fields present in `o` that the decoder does not read: `fatal` ones (behaviour that matters and
 * that Outrigger does not have) are errors with the reason given; every other one is a note.
 */
export function checkFields(o: Json, path: string, st: DecodeState, handled: readonly string[], fatal: Readonly<Record<string, string>> = {}, ignored: Readonly<Record<string, string>> = {}): void {
  for (const k of Object.keys(o)) {
    if (k === "@type" || handled.includes(k)) continue;
    const reason = fatal[k];
    if (reason !== undefined) st.error(at(path, k), reason);
    else st.note(at(path, k), ignored[k] ?? "not supported by Outrigger; ignored");
  }
}

/** `type.googleapis.com/a.b.C` → `a.b.C`. */
export function typeName(url: string): string {
  const i = url.lastIndexOf("/");
  return i < 0 ? url : url.slice(i + 1);
}

/**
 * An Any-typed config: its message type name and its fields. A TypedStruct (udpa / xds) is
 * unwrapped: the type is its `type_url`, the fields its `value`. Absent → undefined.
 */
export function typedConfig(v: unknown, path: string, st: DecodeState): { type: string; fields: Json; typedStruct: boolean } | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  const t = str(o["@type"], at(path, "@type"), st);
  if (t === undefined) return st.error(path, "typed_config has no @type");
  if (TYPED_STRUCT_TYPES.has(t)) {
    const inner = str(o.type_url, at(path, "type_url"), st) ?? "";
    return { type: typeName(inner), fields: obj(o.value, at(path, "value"), st) ?? {}, typedStruct: true };
  }
  const { "@type": _t, ...fields } = o;
  return { type: typeName(t), fields, typedStruct: false };
}

const STRING_MATCHER_FIELDS = ["exact", "prefix", "suffix", "contains", "safe_regex", "ignore_case"];

/** envoy.type.matcher.v3.StringMatcher (and the 1.4-era `regex` field, taken as RE2). */
export function stringMatcher(v: unknown, path: string, st: DecodeState): StringMatcher | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return st.error(path, "a string matcher is required");
  const m: StringMatcher = {};
  let kinds = 0;
  for (const k of ["exact", "prefix", "suffix", "contains"] as const) {
    if (o[k] === undefined) continue;
    const s = str(o[k], at(path, k), st);
    if (s !== undefined) m[k] = s;
    kinds++;
  }
  if (o.safe_regex !== undefined) {
    const r = regexOf(o.safe_regex, at(path, "safe_regex"), st);
    if (r !== undefined) m.safeRegex = r;
    kinds++;
  }
  if (o.regex !== undefined) {
    const r = str(o.regex, at(path, "regex"), st);
    if (r !== undefined) m.safeRegex = r;
    st.note(at(path, "regex"), "deprecated regex (std::regex) matched as RE2");
    kinds++;
  }
  if (kinds !== 1) return st.error(path, `exactly one of exact, prefix, suffix, contains, safe_regex must be set (got ${kinds})`);
  if (bool(o.ignore_case, at(path, "ignore_case"), st) === true) m.ignoreCase = true;
  checkFields(o, path, st, [...STRING_MATCHER_FIELDS, "regex"]);
  return m;
}

/** envoy.type.matcher.v3.RegexMatcher → its RE2 text (google_re2 is the only engine). */
export function regexOf(v: unknown, path: string, st: DecodeState): string | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["regex", "google_re2"]);
  const r = str(o.regex, at(path, "regex"), st);
  if (r === undefined) return st.error(at(path, "regex"), "a regex is required");
  return r;
}

/**
 * envoy.config.route.v3.HeaderMatcher: string_match, or the older exact_match / prefix_match /
 * suffix_match / contains_match / safe_regex_match (istiod's RBAC still writes exact_match),
 * present_match, invert_match. range_match → error (not in the model).
 */
export function headerMatcher(v: unknown, path: string, st: DecodeState): HeaderMatcher | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  const name = str(o.name, at(path, "name"), st);
  if (name === undefined || name === "") return st.error(at(path, "name"), "a header name is required");
  const h: HeaderMatcher = { name: name.toLowerCase() };
  const legacy: Record<string, keyof StringMatcher> = { exact_match: "exact", prefix_match: "prefix", suffix_match: "suffix", contains_match: "contains" };
  for (const [f, k] of Object.entries(legacy)) {
    if (o[f] === undefined) continue;
    const s = str(o[f], at(path, f), st);
    if (s !== undefined) h.stringMatch = { [k]: s } as StringMatcher;
  }
  if (o.safe_regex_match !== undefined) {
    const r = regexOf(o.safe_regex_match, at(path, "safe_regex_match"), st);
    if (r !== undefined) h.stringMatch = { safeRegex: r };
  }
  if (o.string_match !== undefined) h.stringMatch = stringMatcher(o.string_match, at(path, "string_match"), st);
  const present = bool(o.present_match, at(path, "present_match"), st);
  if (present !== undefined) h.presentMatch = present;
  if (bool(o.invert_match, at(path, "invert_match"), st) === true) h.invertMatch = true;
  checkFields(o, path, st, ["name", "string_match", "present_match", "invert_match", "safe_regex_match", ...Object.keys(legacy)], {
    range_match: "header range_match is not supported by Outrigger",
    treat_missing_header_as_empty: "treat_missing_header_as_empty is not supported by Outrigger",
  });
  return h;
}

/** envoy.config.core.v3.CidrRange. */
export function cidrRange(v: unknown, path: string, st: DecodeState): CidrRange | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  const addressPrefix = str(o.address_prefix, at(path, "address_prefix"), st);
  if (addressPrefix === undefined) return st.error(at(path, "address_prefix"), "an address prefix is required");
  const v6 = addressPrefix.includes(":");
  const prefixLen = uint(o.prefix_len ?? 0, at(path, "prefix_len"), st, v6 ? 128 : 32);
  if (prefixLen === undefined) return undefined;
  checkFields(o, path, st, ["address_prefix", "prefix_len"]);
  return { addressPrefix, prefixLen };
}

/** envoy.type.v3.FractionalPercent. */
export function fractionalPercent(v: unknown, path: string, st: DecodeState): FractionalPercent | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  const numerator = uint(o.numerator ?? 0, at(path, "numerator"), st);
  const denominator = enumOf(o.denominator ?? "HUNDRED", ["HUNDRED", "TEN_THOUSAND", "MILLION"] as const, at(path, "denominator"), st);
  if (numerator === undefined || denominator === undefined) return undefined;
  return { numerator, denominator };
}

/**
 * envoy.config.core.v3.Address with a socket_address (TCP): address and port_value. A named port,
 * a UDP address or a pipe / envoy_internal_address is an error here (the caller may handle pipes).
 */
export function socketAddress(v: unknown, path: string, st: DecodeState): { address: string; port: number } | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return st.error(path, "an address is required");
  const sa = obj(o.socket_address, at(path, "socket_address"), st);
  if (sa === undefined) {
    if (o.pipe !== undefined) return st.error(at(path, "pipe"), "a Unix socket (pipe) address is not supported here");
    if (o.envoy_internal_address !== undefined) return st.error(at(path, "envoy_internal_address"), "internal addresses are not supported here");
    return st.error(path, "a socket_address is required");
  }
  const p = at(path, "socket_address");
  const address = str(sa.address, at(p, "address"), st);
  if (address === undefined) return st.error(at(p, "address"), "an address is required");
  if (sa.protocol !== undefined && sa.protocol !== "TCP" && sa.protocol !== 0) return st.error(at(p, "protocol"), `only TCP is supported, got ${JSON.stringify(sa.protocol)}`);
  if (sa.named_port !== undefined) return st.error(at(p, "named_port"), "named ports are not supported; use port_value");
  const port = uint(sa.port_value ?? 0, at(p, "port_value"), st, 65535);
  if (port === undefined) return undefined;
  checkFields(sa, p, st, ["address", "port_value", "protocol"], {}, { ipv4_compat: "ipv4_compat is not supported: IPv6 sockets are bound v6-only", resolver_name: "custom resolvers are not supported; ignored" });
  return { address, port };
}

/**
 * envoy.config.core.v3.DataSource: filename (resolved against ctx.cwd, as Envoy resolves it against
 * its working directory), inline_string, inline_bytes (base64). environment_variable → error.
 */
export function dataSource(v: unknown, path: string, st: DecodeState): DataSource | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["filename", "inline_string", "inline_bytes", "watched_directory"], { environment_variable: "a DataSource from an environment variable is not supported by Outrigger" });
  if (o.filename !== undefined) {
    const f = str(o.filename, at(path, "filename"), st);
    return f === undefined ? undefined : { filename: resolve(st.ctx.cwd ?? process.cwd(), f) };
  }
  if (o.inline_string !== undefined) {
    const s = str(o.inline_string, at(path, "inline_string"), st);
    return s === undefined ? undefined : { inlineString: s };
  }
  if (o.inline_bytes !== undefined) {
    const b = str(o.inline_bytes, at(path, "inline_bytes"), st);
    return b === undefined ? undefined : { inlineString: Buffer.from(b, "base64").toString("utf8") };
  }
  return st.error(path, "one of filename, inline_string, inline_bytes is required");
}
