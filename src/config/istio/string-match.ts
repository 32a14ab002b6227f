// Istio StringMatch (exact | prefix | regex) → the model's StringMatcher, with the regex checked
// as RE2 (what Envoy's safe_regex runs) using re2js.

import { re2js } from "../../common/re2.js";
import type { StringMatcher } from "../model/types.js";
import type { FieldPath } from "./doc-issues.js";
import type { SpecReader } from "./spec-reader.js";

/** Envoy rejects regexes whose RE2 program is too large; istiod approximates with length. */
const MAX_REGEX_LENGTH = 1024;

export function checkRegex(re: string): string | undefined {
  if (re === "") return "regex string match should not be empty";
  if (re.length > MAX_REGEX_LENGTH) return `regex is too large, max length allowed is ${MAX_REGEX_LENGTH}`;
  try {
    re2js().compile(re);
    return undefined;
  } catch (e) {
    return `${(e as Error).message}; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)`;
  }
}

export interface StringMatchResult {
  /** undefined when the match is a presence match (`{}` or regex `*`). */
  matcher?: StringMatcher;
  presence: boolean;
  ok: boolean;
}

/**
 * Parse one StringMatch. `allowPresence`: headers/query params accept `{}` (any value), and
 * istiod turns regex `*` into a presence match.
 */
export function parseStringMatch(r: SpecReader, v: unknown, path: FieldPath, allowPresence: boolean): StringMatchResult {
  const o = r.obj(v, path, ["exact", "prefix", "regex"]);
  if (v === null || v === undefined) {
    if (allowPresence) return { presence: true, ok: true };
    r.issues.error(path, "string match cannot be null");
    return { presence: false, ok: false };
  }
  if (!o) return { presence: false, ok: false };
  const set = ["exact", "prefix", "regex"].filter((k) => o[k] !== undefined && o[k] !== null);
  if (set.length === 0) {
    if (allowPresence) return { presence: true, ok: true };
    r.issues.error(path, "string match must set one of exact, prefix or regex");
    return { presence: false, ok: false };
  }
  if (set.length > 1) {
    r.issues.error(path, `string match must set only one of exact, prefix or regex, got ${set.join(" and ")}`);
    return { presence: false, ok: false };
  }
  const key = set[0] as "exact" | "prefix" | "regex";
  const s = r.str(o, key, path);
  if (s === undefined) return { presence: false, ok: false };
  if (key === "exact") return { matcher: { exact: s }, presence: false, ok: true };
  if (key === "prefix") return { matcher: { prefix: s }, presence: false, ok: true };
  if (allowPresence && s === "*") return { presence: true, ok: true };
  const err = checkRegex(s);
  if (err) {
    r.issues.error([...path, "regex"], err);
    return { presence: false, ok: false };
  }
  return { matcher: { safeRegex: s }, presence: false, ok: true };
}
