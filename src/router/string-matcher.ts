// compileStringMatcher: turns a model StringMatcher (Envoy type.matcher.v3.StringMatcher) into a
// plain predicate once per snapshot, so per-request matching is a direct string comparison
// (exact/prefix/suffix/contains never touch a regex engine).

import type { StringMatcher } from "../config/model/types.js";
import { asciiToLower, endsWithIgnoreCase, equalsIgnoreCase, startsWithIgnoreCase } from "./ascii-case.js";
import { compileRegex, fullMatcher } from "./compile-regex.js";

export type StringPredicate = (value: string) => boolean;

/**
 * Compile `m`. `ignoreCase` folds ASCII case for exact/prefix/suffix/contains as Envoy does; for
 * safeRegex it sets RE2's case-insensitive flag (Envoy rejects ignore_case with safe_regex, so
 * this never contradicts a config Envoy would accept). safeRegex is a full match (RE2::FullMatch),
 * like Envoy's safe_regex. A matcher with no kind set throws: validation should have caught it.
 */
export function compileStringMatcher(m: StringMatcher, where = "string matcher"): StringPredicate {
  const ic = m.ignoreCase === true;
  if (m.exact !== undefined) {
    const exact = m.exact;
    return ic ? (v) => equalsIgnoreCase(v, exact) : (v) => v === exact;
  }
  if (m.prefix !== undefined) {
    const prefix = m.prefix;
    return ic ? (v) => startsWithIgnoreCase(v, prefix) : (v) => v.startsWith(prefix);
  }
  if (m.suffix !== undefined) {
    const suffix = m.suffix;
    return ic ? (v) => endsWithIgnoreCase(v, suffix) : (v) => v.endsWith(suffix);
  }
  if (m.contains !== undefined) {
    const needle = ic ? asciiToLower(m.contains) : m.contains;
    return ic ? (v) => asciiToLower(v).includes(needle) : (v) => v.includes(needle);
  }
  if (m.safeRegex !== undefined) {
    const re = compileRegex(m.safeRegex, `${where}: safeRegex`, ic);
    return fullMatcher(re);
  }
  throw new Error(`${where}: no match kind set (exact, prefix, suffix, contains or safeRegex)`);
}
