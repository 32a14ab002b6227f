// compileRegex: the one place RE2 patterns are compiled, so every caller gets RE2 semantics
// (linear time, no backtracking: a hostile pattern or input cannot stall a worker) and a clear
// error naming the config field when a pattern slips past validation.

import type { RE2JS } from "re2js";
import { re2js } from "../common/re2.js";

export type Regex = RE2JS;

/**
 * Compile an RE2 pattern. `where` names the config field for the error message, e.g.
 * `route "r1": match.safeRegex`. Throws Error on a pattern RE2 rejects.
 */
export function compileRegex(pattern: string, where: string, ignoreCase = false): Regex {
  try {
    const R = re2js();
    return R.compile(pattern, ignoreCase ? R.CASE_INSENSITIVE : 0);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`${where}: invalid RE2 regex ${JSON.stringify(pattern)}: ${msg}`);
  }
}

/**
 * A full-match predicate (Envoy safe_regex semantics: RE2::FullMatch). Any full match must start
 * with the program's literal prefix (e.g. "/api/v" for "/api/v[0-9]+"), so inputs without it are
 * rejected by one startsWith instead of a run of the RE2 engine: most routes tried on a request
 * are not the one that matches.
 */
export function fullMatcher(re: Regex): (value: string) => boolean {
  const prefix: unknown = re.re2Input.prefix;
  if (typeof prefix === "string" && prefix !== "") return (v) => v.startsWith(prefix) && re.matches(v);
  return (v) => re.matches(v);
}
